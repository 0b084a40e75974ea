"""Agreement between partitions: ARI, NMI and the contingency table; one layer's slice of a
partition. Our own contingency-table code, equal to scikit-learn's ``adjusted_rand_score`` and
``normalized_mutual_info_score`` (arithmetic normalisation).

A partition is an array of labels, or any object with a ``labels`` array (e.g.
:class:`netsci_dl.analysis.Partition`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = ["Agreement", "agreement", "restrict"]


@dataclass(frozen=True)
class Agreement:
    """Agreement between two partitions of the same items.

    Attributes
    ----------
    ari : float
        Adjusted Rand index (1 = identical, ~0 = chance).
    nmi : float
        Normalised mutual information, arithmetic-mean normalisation (scikit-learn's default).
    contingency : (k_a, k_b) int64
        Items in community ``i`` of ``a`` and ``j`` of ``b`` (labels in sorted order).
    labels_a, labels_b : ndarray
        The distinct labels of ``a`` and ``b`` (rows / columns of ``contingency``).
    """

    ari: float
    nmi: float
    contingency: np.ndarray
    labels_a: np.ndarray
    labels_b: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {
            "ari": self.ari,
            "nmi": self.nmi,
            "contingency": self.contingency.tolist(),
            "labels_a": self.labels_a.tolist(),
            "labels_b": self.labels_b.tolist(),
        }

    def to_frame(self) -> Any:
        """The contingency table as a DataFrame (rows: ``a``, columns: ``b``)."""
        import pandas as pd

        return pd.DataFrame(self.contingency, index=self.labels_a, columns=self.labels_b)

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        return summary(
            "Agreement",
            ari=self.ari,
            nmi=self.nmi,
            n=int(self.contingency.sum()),
            communities=(int(self.labels_a.size), int(self.labels_b.size)),
        )


def _comb2(x: np.ndarray) -> float:
    x = x.astype(np.float64)
    return float((x * (x - 1) / 2).sum())


def _entropy(counts: np.ndarray, n: int) -> float:
    p = counts[counts > 0] / n
    return float(-(p * np.log(p)).sum())


def agreement(a: Any, b: Any) -> Agreement:
    """ARI, NMI and the contingency table of two partitions (labels or :class:`Partition`).

    Examples
    --------
    >>> r = agreement([0, 0, 1, 1], [5, 5, 7, 7])
    >>> r.ari, round(r.nmi, 12), r.contingency.tolist()
    (1.0, 1.0, [[2, 0], [0, 2]])
    """
    la = np.asarray(a.labels if hasattr(a, "labels") else a)
    lb = np.asarray(b.labels if hasattr(b, "labels") else b)
    if la.shape != lb.shape or la.ndim != 1:
        raise InputError(
            f"partitions must be 1-D of the same length, got {la.shape} and {lb.shape}"
        )
    n = la.size
    ua, ia = np.unique(la, return_inverse=True)
    ub, ib = np.unique(lb, return_inverse=True)
    C = np.bincount(ia * ub.size + ib, minlength=ua.size * ub.size).reshape(ua.size, ub.size)
    ra, rb = C.sum(axis=1), C.sum(axis=0)
    # ARI (Hubert & Arabie)
    sij, sa, sb = _comb2(C), _comb2(ra), _comb2(rb)
    total = n * (n - 1) / 2
    expected = sa * sb / total if total else 0.0
    mx = (sa + sb) / 2
    if n <= 1 or mx == expected:  # both trivial and identical (sklearn's convention)
        ari = 1.0
    else:
        ari = (sij - expected) / (mx - expected)
    # NMI, arithmetic normalisation
    ha, hb = _entropy(ra, n), _entropy(rb, n)
    nz = C > 0
    if ua.size == ub.size == 1 or n == 0:
        nmi = 1.0
    else:
        pij = C[nz] / n
        mi = float((pij * (np.log(C[nz] * n) - np.log(np.outer(ra, rb)[nz]))).sum())
        den = (ha + hb) / 2
        nmi = max(mi, 0.0) / den if den > 0 else 0.0
    return Agreement(float(ari), float(nmi), C.astype(np.int64), ua, ub)


def restrict(partition: Any, G: LayeredGraph, layer: int) -> np.ndarray:
    """The labels of one layer's units (global node labels sliced to ``G.layer_slice(layer)``),
    e.g. to compare graph communities with the RF modules of that layer via :func:`agreement`.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl.graph import LayeredGraph
    >>> G = LayeredGraph((2, 3), (np.ones((2, 3), np.float32),))
    >>> restrict(np.array([0, 0, 1, 1, 2]), G, 1).tolist()
    [1, 1, 2]
    """
    lab = np.asarray(partition.labels if hasattr(partition, "labels") else partition)
    if lab.shape != (G.n_nodes,):
        raise InputError(f"partition has shape {lab.shape}, expected ({G.n_nodes},)")
    return lab[G.layer_slice(int(layer))]
