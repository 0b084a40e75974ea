"""3- and 4-node motifs of the layered DAG by matrix products, with z-scores against layered nulls.

The graph is **directed** (``src -> dst``, the feed-forward direction) and unweighted: every
edge of a thresholded graph (identity blocks left out unless asked; for the motifs of one sign,
threshold with ``weights="pos"`` or ``"neg"``, :func:`netsci_dl.threshold.by_value`). Counts are of
subgraphs, not induced ones: every set of edges forming the pattern counts, whatever other
edges join its nodes (a feed-forward loop also holds a chain). With ``A`` the 0/1 adjacency
(``A[i, j] = 1`` for an edge ``i -> j``), ``k_in``/``k_out`` the in/out-degrees:

================  ==============================  ==========================================
motif             pattern                         count
================  ==============================  ==========================================
``chain``         ``i -> j -> k``                 ``sum(A @ A)``
``fan_in``        ``i -> k <- j``                 ``sum C(k_in, 2)``
``fan_out``       ``j <- i -> k``                 ``sum C(k_out, 2)``
``ffl``           chain plus ``i -> k``           ``sum((A @ A) * A)`` (0 on a chain of layers)
``chain4``        ``i -> j -> k -> l``            ``sum(A @ A @ A)``
``bi_fan``        ``i, j -> k, l`` (4 edges)      ``sum_{i<j} C((A A^T)_ij, 2)``
``diamond``       ``i -> j, k -> l``              ``sum_{i, l} C((A @ A)_il, 2)``
================  ==============================  ==========================================

:func:`motif_counts` compares the counts with the same counts on layered null graphs
(degree-preserving rewiring within each block, or the layered random replica; Zambra, Maritan &
Testolin 2020): z-score ``(count - mean) / sd``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl import _args
from netsci_dl.analysis.structure._graphs import _weight_graph
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = ["MOTIFS", "count_motifs", "MotifCounts", "motif_counts"]

#: the motifs counted, in this order
MOTIFS = ("chain", "fan_in", "fan_out", "ffl", "chain4", "bi_fan", "diamond")


def _pairs(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(np.sum(x * (x - 1.0) / 2.0))


def _dag(G: LayeredGraph, include_identity: bool) -> sp.csr_array:
    from netsci_dl.analysis.structure.distributions import require_thresholded

    H = _weight_graph(G, include_identity)
    require_thresholded(H, "motif counts")
    src, dst, _ = H.edges()
    n = H.n_nodes
    A = sp.csr_array((np.ones(len(src)), (src, dst)), shape=(n, n))
    A.sum_duplicates()
    A.data[:] = 1.0
    return A


def count_motifs(G: LayeredGraph, *, include_identity: bool = False) -> dict[str, float]:
    """Counts of the motifs of :data:`MOTIFS` in the thresholded DAG (module docstring).

    Parameters
    ----------
    G : LayeredGraph
        Thresholded (sparse blocks).
    include_identity : bool

    Returns
    -------
    dict of str to float
        Motif name -> count (float: the counts outgrow int64 on dense graphs).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from netsci_dl import LayeredGraph
    >>> ones = sp.csr_array(np.ones((2, 2)))
    >>> c = count_motifs(LayeredGraph((2, 2, 2), (ones, ones)))
    >>> c["chain"], c["bi_fan"], c["diamond"], c["chain4"]
    (8.0, 2.0, 4.0, 0.0)
    """
    A = _dag(G, include_identity)
    A2 = sp.csr_array(A @ A)
    AAt = sp.triu(sp.csr_array(A @ A.T), k=1)
    return {
        "chain": float(A2.sum()),
        "fan_in": _pairs(np.asarray(A.sum(axis=0)).ravel()),
        "fan_out": _pairs(np.asarray(A.sum(axis=1)).ravel()),
        "ffl": float((A2 * A).sum()),
        "chain4": float((A2 @ A).sum()),
        "bi_fan": _pairs(AAt.data),
        "diamond": _pairs(A2.data),
    }


@dataclass(frozen=True)
class MotifCounts:
    """Motif counts of the net against layered null graphs.

    Attributes
    ----------
    names : tuple of str
    counts : (m,) float64
    null : (n_null, m) float64
    z : (m,) float64
        ``(count - mean(null)) / sd(null)`` (``ddof=1``; NaN where the null does not vary).
    params : dict
    """

    names: tuple[str, ...]
    counts: np.ndarray
    null: np.ndarray
    z: np.ndarray
    params: dict = field(default_factory=dict)

    def to_frame(self) -> Any:
        import pandas as pd

        n = self.null.shape[0]
        return pd.DataFrame(
            {
                "motif": list(self.names),
                "count": self.counts,
                "null_mean": self.null.mean(axis=0) if n else np.nan,
                "null_sd": self.null.std(axis=0, ddof=1) if n > 1 else np.nan,
                "z": self.z,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "motifs": {
                name: {
                    "count": float(c),
                    "null_mean": float(self.null[:, i].mean()) if self.null.shape[0] else None,
                    "z": float(z) if np.isfinite(z) else None,
                }
                for i, (name, c, z) in enumerate(zip(self.names, self.counts, self.z))
            },
            "params": dict(self.params),
        }

    def __repr__(self) -> str:
        zs = ", ".join(f"{n} {z:+.2g}" for n, z in zip(self.names, self.z))
        return f"MotifCounts(z: {zs}; {self.null.shape[0]} nulls)"[:300]


def _null_counts(task: int, shared: tuple) -> list[float]:
    G, null, seed, include_identity = shared
    from netsci_dl.analysis.structure.null_models import layered_replica, rewire_blocks

    rng = np.random.default_rng([seed, task])
    H = _weight_graph(G, include_identity)
    R = rewire_blocks(H, seed=rng) if null == "rewire" else layered_replica(H, seed=rng)
    c = count_motifs(R, include_identity=True)
    return [c[m] for m in MOTIFS]


def motif_counts(
    G: LayeredGraph,
    *,
    null: str = "rewire",
    n_null: int = 20,
    seed: int = 0,
    include_identity: bool = False,
    n_jobs: int | None = None,
) -> MotifCounts:
    """Motif counts of the thresholded DAG and their z-scores against layered null graphs.

    Parameters
    ----------
    G : LayeredGraph
        Thresholded (sparse blocks).
    null : {"rewire", "replica"}
        Degree-preserving rewiring within each block (default: keeps fan-in and fan-out counts
        exactly, so their z is NaN) or the layered random replica (keeps each block's density).
    n_null : int
    seed : int
        Null graph ``i`` is seeded by ``(seed, i)``; the result does not depend on ``n_jobs``.
    include_identity : bool
    n_jobs : int, optional
        Null graphs in parallel (:func:`netsci_dl.parallel.map_tasks`).

    Returns
    -------
    MotifCounts

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from netsci_dl import LayeredGraph
    >>> B = [sp.random(20, 20, density=0.2, format="csr", random_state=s) for s in (0, 1)]
    >>> m = motif_counts(LayeredGraph((20, 20, 20), tuple(B)), n_null=5)
    >>> m.names[:3], m.null.shape
    (('chain', 'fan_in', 'fan_out'), (5, 7))
    """
    n_null = _args.count("n_null", n_null, lo=0, hi=100_000)
    seed = _args.seed("seed", seed, none=False)
    from netsci_dl.parallel import map_tasks

    if null not in ("rewire", "replica"):
        raise InputError(f"null must be 'rewire' or 'replica', got {null!r}")
    if n_null < 0:
        raise InputError(f"n_null must be >= 0, got {n_null}")
    c = count_motifs(G, include_identity=include_identity)
    counts = np.array([c[m] for m in MOTIFS])
    rows = map_tasks(
        _null_counts,
        list(range(n_null)),
        shared=(G, null, int(seed), include_identity),
        n_jobs=n_jobs,
    )
    nulls = np.array(rows, dtype=np.float64).reshape(n_null, len(MOTIFS))
    z = np.full(len(MOTIFS), np.nan)
    if n_null > 1:
        sd = nulls.std(axis=0, ddof=1)
        ok = sd > 0
        z[ok] = (counts[ok] - nulls.mean(axis=0)[ok]) / sd[ok]
    return MotifCounts(
        MOTIFS,
        counts,
        nulls,
        z,
        {"null": null, "n_null": n_null, "seed": seed, "include_identity": include_identity},
    )
