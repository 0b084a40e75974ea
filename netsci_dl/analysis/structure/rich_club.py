"""Rich-club coefficients, unweighted and weighted (Opsahl et al. 2008), against layered nulls.

The graph is **undirected** (every block's edges, identity blocks left out unless asked; two
blocks over the same pair of nodes make one edge, their weights added). For a richness
threshold ``r`` the club is the set of nodes with richness ``> r``:

* unweighted (Zhou & Mondragon 2004; networkx ``rich_club_coefficient(normalized=False)``):
  richness = degree, ``phi(r) = 2 E_{>r} / (N_{>r} (N_{>r} - 1))`` with ``E_{>r}`` the edges
  inside the club, for ``r = 0, 1, ...`` while ``N_{>r} > 1``. Needs a thresholded graph.
* weighted (Opsahl, Colizza, Panzarasa & Ramasco 2008): richness = degree or strength (sum of
  ``|w|``), ``phi_w(r) = W_{>r} / sum_{l <= E_{>r}} w_l^rank``: the weight inside the club over
  the sum of the ``E_{>r}`` largest weights of the whole graph. Weights are ``|w|`` (on a
  thresholded graph, the original weights it keeps in ``edge_attrs["weight"]``).

:func:`rich_club` divides by the mean of the same coefficient on null models that keep the
layers (SCIENCE.md, "Rich club"): degree-preserving rewiring within each block
(``null="rewire"``, default) or the layered random replica (``"replica"``) for the unweighted
coefficient; for the weighted one, the weights shuffled over the edges of each block (the
topology kept, Opsahl's null, within blocks).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl import _args
from netsci_dl.analysis.structure._graphs import _weight_graph
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = ["rich_club_coefficient", "RichClub", "rich_club"]


def _edges(G: LayeredGraph, include_identity: bool) -> tuple[np.ndarray, ...]:
    """Unique undirected edges ``(u < v)``, their ``|w|`` and their block (the first block that
    holds the pair)."""
    H = _weight_graph(G, include_identity)
    src, dst, w = H.edges()
    if not H.weighted and "weight" in H.edge_attrs:
        w = H.edge_values("weight")
    blk = H.edge_block()
    n = H.n_nodes
    key = src.astype(np.int64) * n + dst
    uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
    wsum = np.bincount(inv, weights=w.astype(np.float64), minlength=len(uniq))
    return (uniq // n).astype(np.int64), (uniq % n).astype(np.int64), np.abs(wsum), blk[first], n


def _grid_degree(k: np.ndarray) -> np.ndarray:
    ks = np.sort(k)
    r = np.arange(int(ks[-1]) + 1 if ks.size else 0, dtype=np.float64)
    n_club = ks.size - np.searchsorted(ks, r, side="right")
    return r[n_club > 1]


def _phi(u, v, w, n, rich, grid, weighted) -> np.ndarray:
    """The coefficient at each threshold of ``grid`` (NaN where the club has < 2 nodes)."""
    rs = np.sort(rich)
    n_club = (n - np.searchsorted(rs, grid, side="right")).astype(np.float64)
    m = np.minimum(rich[u], rich[v])
    order = np.argsort(m, kind="stable")
    ms = m[order]
    idx = np.searchsorted(ms, grid, side="right")
    e_club = (len(m) - idx).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if not weighted:
            out = 2.0 * e_club / (n_club * (n_club - 1.0))
        else:
            suffix = np.concatenate([np.cumsum(w[order][::-1])[::-1], [0.0]])
            top = np.concatenate([[0.0], np.cumsum(np.sort(w)[::-1])])
            out = suffix[idx] / top[e_club.astype(np.int64)]
    out[n_club < 2] = np.nan
    return out


def _richness(u, v, w, n, richness) -> np.ndarray:
    if richness == "degree":
        return np.bincount(np.concatenate([u, v]), minlength=n).astype(np.float64)
    return np.bincount(np.concatenate([u, v]), weights=np.concatenate([w, w]), minlength=n)


def _weighted(weights: str | None) -> bool:
    """True for Opsahl's weighted coefficient (``weights="abs"``), False for ``None``."""
    if weights not in (None, "abs"):
        raise InputError(f"weights must be None (unweighted) or 'abs' (Opsahl), got {weights!r}")
    return weights == "abs"


def rich_club_coefficient(
    G: LayeredGraph,
    *,
    weights: str | None = None,
    richness: str = "degree",
    include_identity: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The rich-club coefficient over richness thresholds (module docstring).

    Parameters
    ----------
    G : LayeredGraph
        Thresholded (sparse blocks) for ``weights=None``.
    weights : {None, "abs"}
        None: the unweighted coefficient; ``"abs"``: Opsahl's weighted coefficient on ``|w|``.
    richness : {"degree", "strength"}
        Node richness (``"strength"``: the sum of ``|w|``; weighted only).
    include_identity : bool

    Returns
    -------
    r : (m,) float64
        The thresholds: unweighted, ``0, 1, ...`` while the club has at least 2 nodes (the keys
        of networkx's dict); weighted, the distinct richness values with a club of >= 2 nodes.
    phi : (m,) float64

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from netsci_dl import LayeredGraph
    >>> B = sp.csr_array(np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))
    >>> r, phi = rich_club_coefficient(LayeredGraph((2, 3), (B,)))
    >>> r.tolist(), phi.round(3).tolist()
    ([0.0, 1.0], [0.5, 1.0])
    """
    from netsci_dl.analysis.structure.distributions import require_thresholded

    weighted = _weighted(weights)
    if richness not in ("degree", "strength"):
        raise InputError(f"richness must be 'degree' or 'strength', got {richness!r}")
    if not weighted:
        if richness != "degree":
            raise InputError("the unweighted rich club ranks nodes by degree: richness='degree'")
        require_thresholded(_weight_graph(G, include_identity), "the unweighted rich club")
    u, v, w, _, n = _edges(G, include_identity)
    rich = _richness(u, v, w, n, richness)
    if not weighted:
        grid = _grid_degree(rich)
    else:
        vals = np.unique(rich)
        grid = vals[(n - np.searchsorted(np.sort(rich), vals, side="right")) > 1]
    return grid, _phi(u, v, w, n, rich, grid, weighted)


@dataclass(frozen=True)
class RichClub:
    """A rich-club curve normalised by null models.

    Attributes
    ----------
    r : (m,) float64
        Richness thresholds (the club: richness ``> r``).
    phi : (m,) float64
        The net's coefficient.
    null : (n_null, m) float64
        The coefficient of each null graph at the same thresholds (NaN where its club has
        fewer than 2 nodes).
    n_club : (m,) int64
        Nodes in the net's club.
    weighted : bool
    richness : str
    params : dict
    """

    r: np.ndarray
    phi: np.ndarray
    null: np.ndarray
    n_club: np.ndarray
    weighted: bool
    richness: str
    params: dict = field(default_factory=dict)

    @property
    def null_mean(self) -> np.ndarray:
        if not self.null.size:
            return np.full(len(self.r), np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a column of NaN: no club there
            return np.nanmean(self.null, axis=0)

    @property
    def normalized(self) -> np.ndarray:
        """``phi / mean(null)``: above 1, a rich club beyond what the null explains."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.phi / self.null_mean

    def to_frame(self) -> Any:
        import pandas as pd

        sd = np.full(len(self.r), np.nan)
        if self.null.shape[0] > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                sd = np.nanstd(self.null, axis=0, ddof=1)
        return pd.DataFrame(
            {
                "r": self.r,
                "n_club": self.n_club,
                "phi": self.phi,
                "null_mean": self.null_mean,
                "null_sd": sd,
                "normalized": self.normalized,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        def clean(x: np.ndarray) -> list:
            return [float(a) if np.isfinite(a) else None for a in x]

        return {
            "r": self.r.tolist(),
            "n_club": self.n_club.tolist(),
            "phi": clean(self.phi),
            "null_mean": clean(self.null_mean),
            "normalized": clean(self.normalized),
            "weighted": self.weighted,
            "richness": self.richness,
            "params": dict(self.params),
        }

    def __repr__(self) -> str:
        rho = self.normalized
        top = f"{np.nanmax(rho):.3g}" if np.isfinite(rho).any() else "nan"
        return (
            f"RichClub({'weighted' if self.weighted else 'unweighted'}, {len(self.r)} thresholds, "
            f"max normalized {top}, {self.null.shape[0]} nulls)"
        )


def _null_phi(task: int, shared: tuple) -> np.ndarray:
    """The coefficient of null graph ``task`` at the net's thresholds."""
    G, weighted, richness, null, seed, grid, include_identity = shared
    rng = np.random.default_rng([seed, task])
    if weighted:
        u, v, w, blk, n = _edges(G, include_identity)
        perm = np.lexsort((rng.random(len(w)), blk))  # a permutation within each block
        order = np.argsort(blk, kind="stable")
        w2 = np.empty_like(w)
        w2[order] = w[perm]
        return _phi(u, v, w2, n, _richness(u, v, w2, n, richness), grid, True)
    from netsci_dl.analysis.structure.null_models import layered_replica, rewire_blocks

    H = _weight_graph(G, include_identity)
    R = rewire_blocks(H, seed=rng) if null == "rewire" else layered_replica(H, seed=rng)
    u, v, w, _, n = _edges(R, True)
    return _phi(u, v, w, n, _richness(u, v, w, n, "degree"), grid, False)


def rich_club(
    G: LayeredGraph,
    *,
    weights: str | None = None,
    richness: str = "degree",
    null: str = "rewire",
    n_null: int = 20,
    seed: int = 0,
    include_identity: bool = False,
    n_jobs: int | None = None,
) -> RichClub:
    """The rich-club coefficient of the net and of ``n_null`` layered null graphs.

    Parameters
    ----------
    G : LayeredGraph
        Thresholded for the unweighted coefficient.
    weights, richness, include_identity
        As in :func:`rich_club_coefficient`.
    null : {"rewire", "replica"}
        Unweighted only: degree-preserving rewiring within each block (default) or the layered
        random replica. The weighted coefficient always uses the weights shuffled over each
        block's edges.
    n_null : int
    seed : int
        Null graph ``i`` is seeded by ``(seed, i)``; the result does not depend on ``n_jobs``.
    n_jobs : int, optional
        Null graphs in parallel (:func:`netsci_dl.parallel.map_tasks`).

    Returns
    -------
    RichClub

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from netsci_dl import LayeredGraph
    >>> B = sp.random(30, 30, density=0.2, format="csr", random_state=0)
    >>> rc = rich_club(LayeredGraph((30, 30), (B,)), n_null=5)
    >>> rc.phi.shape == rc.normalized.shape == (len(rc.r),), rc.null.shape[0]
    (True, 5)
    """
    n_null = _args.count("n_null", n_null, lo=0, hi=100_000)
    seed = _args.seed("seed", seed, none=False)
    from netsci_dl.parallel import map_tasks

    if null not in ("rewire", "replica"):
        raise InputError(f"null must be 'rewire' or 'replica', got {null!r}")
    if n_null < 0:
        raise InputError(f"n_null must be >= 0, got {n_null}")
    weighted = _weighted(weights)
    r, phi = rich_club_coefficient(
        G, weights=weights, richness=richness, include_identity=include_identity
    )
    u, v, w, _, n = _edges(G, include_identity)
    rich = _richness(u, v, w, n, richness)
    n_club = n - np.searchsorted(np.sort(rich), r, side="right")
    shared = (G, weighted, richness, null, int(seed), r, include_identity)
    rows = map_tasks(_null_phi, list(range(n_null)), shared=shared, n_jobs=n_jobs)
    nulls = np.array(rows, dtype=np.float64).reshape(n_null, len(r))
    return RichClub(
        r,
        phi,
        nulls,
        n_club.astype(np.int64),
        weighted,
        richness,
        {
            "null": "weights shuffled within blocks" if weighted else null,
            "n_null": n_null,
            "seed": seed,
            "include_identity": include_identity,
        },
    )
