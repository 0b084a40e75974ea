"""Pruning percolation: the giant component as weights are removed (Pesce, He & Caldarelli 2026).

A fraction ``f`` of the weights is removed, smallest ``|w|`` first (``order="magnitude"``, as
magnitude pruning does) or in a seeded random order (``"random"``), either over all weights of
the net together (``scope="global"``) or the same fraction within each block (``"block"``).
:func:`prune_masks` gives the kept entries of each weight matrix: the graph analysis here and
the accuracy of the pruned model (:func:`netsci_dl.activations.pruning_accuracy`) use the same
masks. :func:`pruning_percolation` follows ``P_inf(f)``, the fraction of all nodes in the
largest connected component of the **undirected** graph of the kept edges (an isolated node is
a component of one), and reports the critical fraction ``f_c``: where ``P_inf`` first falls
below ``level`` (default 0.5) times its unpruned value, interpolated linearly between the two
fractions of the grid around it (NaN if it never does). Identity blocks are never pruned
(they hold no learned weight) and count as edges only with ``include_identity=True``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from netsci_dl import _args
from netsci_dl.analysis.structure._graphs import _weight_graph
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = ["prune_masks", "Percolation", "pruning_percolation"]


def _values(b: Any) -> np.ndarray:
    return np.asarray(b.data if sp.issparse(b) else b).ravel()


def _removal_order(
    blocks: Sequence[Any], order: str, scope: str, seed: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per entry of the concatenated blocks: its position in the removal order of its pool
    (``0`` removed first) and the size of that pool (all entries, or its block). The entry is
    removed at fraction ``f`` when ``position < floor(f * pool)``."""
    if order not in ("magnitude", "random"):
        raise InputError(f"order must be 'magnitude' or 'random', got {order!r}")
    if scope not in ("global", "block"):
        raise InputError(f"scope must be 'global' or 'block', got {scope!r}")
    vals = [_values(b) for b in blocks]
    sizes = np.array([v.size for v in vals], dtype=np.int64)
    blk = np.repeat(np.arange(len(vals)), sizes)
    w = np.concatenate(vals) if vals else np.zeros(0)
    rng = np.random.default_rng(seed)
    key = np.abs(w) if order == "magnitude" else rng.random(w.size)
    tie = rng.random(w.size) if order == "magnitude" else np.zeros(w.size)
    pos = np.empty(w.size, dtype=np.int64)
    if scope == "global":
        pos[np.lexsort((tie, key))] = np.arange(w.size)
        return pos, np.full(w.size, w.size, dtype=np.int64)
    perm = np.lexsort((tie, key, blk))  # by block, then the removal order inside it
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    pos[perm] = np.arange(w.size) - start[blk[perm]]
    return pos, sizes[blk]


def _kept(pos: np.ndarray, pool: np.ndarray, fraction: float) -> np.ndarray:
    return pos >= np.floor(fraction * pool + 1e-9)


def prune_masks(
    blocks: Sequence[Any],
    fraction: float,
    *,
    order: str = "magnitude",
    scope: str = "global",
    seed: int | None = 0,
) -> list[np.ndarray]:
    """Which entries of each weight matrix survive the removal of a fraction of them.

    Parameters
    ----------
    blocks : sequence of arrays
        Weight matrices (dense, or csr whose stored entries are the weights).
    fraction : float in [0, 1]
        Removed: ``floor(fraction * n)`` entries of the pool (all entries, or each block).
    order : {"magnitude", "random"}
        Smallest ``|w|`` first (ties in a seeded random order), or a seeded random order.
    scope : {"global", "block"}
    seed : int, optional

    Returns
    -------
    list of bool ndarrays
        Per block, the kept entries: the block's shape for a dense block, ``(nnz,)`` (over its
        stored entries) for a sparse one.

    Examples
    --------
    >>> import numpy as np
    >>> prune_masks([np.array([[0.1, -2.0], [0.5, 1.0]])], 0.5)[0].tolist()
    [[False, True], [False, True]]
    """
    fraction = _args.real("fraction", fraction, lo=0, hi=1)
    seed = _args.seed("seed", seed)
    if not 0.0 <= fraction <= 1.0:
        raise InputError(f"fraction must be in [0, 1], got {fraction}")
    kept = _kept(*_removal_order(blocks, order, scope, seed), fraction)
    out, at = [], 0
    for b in blocks:
        n = _values(b).size
        keep = kept[at : at + n]
        out.append(keep if sp.issparse(b) else keep.reshape(np.shape(b)))
        at += n
    return out


@dataclass(frozen=True)
class Percolation:
    """The giant component along the pruned fraction.

    Attributes
    ----------
    fractions : (m,) float64
        Fractions of the weights removed.
    giant : (m,) float64
        ``P_inf``: fraction of all nodes in the largest connected component.
    n_components : (m,) int64
    critical_fraction : float
        Where ``P_inf`` first falls below ``level * P_inf(first fraction)`` (interpolated;
        NaN if it never does).
    params : dict
    """

    fractions: np.ndarray
    giant: np.ndarray
    n_components: np.ndarray
    critical_fraction: float
    params: dict = field(default_factory=dict)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(
            {"fraction": self.fractions, "giant": self.giant, "n_components": self.n_components}
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "fractions": self.fractions.tolist(),
            "giant": self.giant.tolist(),
            "n_components": self.n_components.tolist(),
            "critical_fraction": self.critical_fraction,
            "params": dict(self.params),
        }

    def __repr__(self) -> str:
        return (
            f"Percolation({len(self.fractions)} fractions, P_inf {self.giant[0]:.3g} -> "
            f"{self.giant[-1]:.3g}, f_c = {self.critical_fraction:.3g})"
        )


def pruning_percolation(
    G: LayeredGraph,
    fractions: Sequence[float] | None = None,
    *,
    order: str = "magnitude",
    scope: str = "global",
    seed: int | None = 0,
    level: float = 0.5,
    include_identity: bool = False,
) -> Percolation:
    """``P_inf`` of the graph as a growing fraction of its weights is pruned (module docstring).

    Parameters
    ----------
    G : LayeredGraph
        Every stored weight is an edge (a dense block: all entries).
    fractions : sequence of float, optional
        Increasing, in ``[0, 1]``; default 41 points ``0, 0.025, ..., 1``.
    order, scope, seed
        As in :func:`prune_masks` (applied to the weight blocks).
    level : float in (0, 1)
        The critical fraction is where ``P_inf`` falls below this fraction of its first value.
    include_identity : bool
        Identity blocks (never pruned) join the nodes they link.

    Returns
    -------
    Percolation

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> G = from_matrices([np.array([[3.0, 0.1], [0.2, 4.0]])])
    >>> p = pruning_percolation(G, [0.0, 0.5, 1.0])
    >>> p.giant.tolist(), p.critical_fraction  # 1 -> 0.5 at f = 0.5, so below 0.5 just after
    ([1.0, 0.5, 0.25], 0.5)
    """
    level = _args.real("level", level, lo=0, hi=1)
    seed = _args.seed("seed", seed)
    if not isinstance(G, LayeredGraph):
        raise TypeError(f"expected a LayeredGraph, got {type(G).__name__}")
    f = np.linspace(0.0, 1.0, 41) if fractions is None else np.asarray(fractions, np.float64)
    if not 0 < level < 1:
        raise InputError(f"level must be in (0, 1), got {level}")
    if f.ndim != 1 or f.size < 2 or np.any(np.diff(f) <= 0) or f[0] < 0 or f[-1] > 1:
        raise InputError("fractions must be at least 2 increasing values in [0, 1]")
    H = _weight_graph(G, include_identity)
    src, dst, _ = H.edges()
    is_w = np.array([k != "identity" for k in H.block_kinds], dtype=bool)
    wb = [b for b, k in zip(H.blocks, H.block_kinds) if k != "identity"]
    pos, pool = _removal_order(wb, order, scope, seed)
    edge_is_w = np.repeat(is_w, H.block_n_edges)
    n = H.n_nodes
    giant, ncomp = np.empty(f.size), np.empty(f.size, dtype=np.int64)
    for i, frac in enumerate(f):  # a loop over the grid, not over nodes or edges
        keep = np.ones(len(src), dtype=bool)
        keep[edge_is_w] = _kept(pos, pool, frac)
        A = sp.csr_array((np.ones(int(keep.sum())), (src[keep], dst[keep])), shape=(n, n))
        nc, lab = csgraph.connected_components(A, directed=False)
        giant[i] = np.bincount(lab).max() / n if n else 0.0
        ncomp[i] = nc
    return Percolation(
        f,
        giant,
        ncomp,
        first_crossing(f, giant, level * giant[0]),
        {
            "order": order,
            "scope": scope,
            "seed": seed,
            "level": level,
            "include_identity": include_identity,
        },  # fmt: skip
    )


def first_crossing(f: np.ndarray, y: np.ndarray, target: float) -> float:
    """The first ``x`` where the piecewise-linear ``y(f)`` goes below ``target`` (NaN if never).

    Examples
    --------
    >>> first_crossing(np.array([0.0, 0.5, 1.0]), np.array([1.0, 0.8, 0.2]), 0.5)
    0.75
    """
    below = np.flatnonzero(np.asarray(y) < target)
    if not below.size:
        return float("nan")
    j = int(below[0])
    if j == 0:
        return float(f[0])
    t = (y[j - 1] - target) / (y[j - 1] - y[j])
    return float(f[j - 1] + t * (f[j] - f[j - 1]))
