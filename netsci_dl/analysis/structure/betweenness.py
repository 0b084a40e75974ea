"""Betweenness (exact by batched Brandes, or sampled with its standard error), eigenvector and
Katz centrality of the undirected graph over all layers (non-negative weights, where defined)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl import _args
from netsci_dl.analysis.structure._graphs import (
    _BATCH_CELLS,
    _pattern,
    _signed,
)
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

#: patterns denser than this are multiplied as dense arrays (when they fit :data:`_DENSE_BYTES`)
_DENSE_DENSITY = 0.01
_DENSE_BYTES = 1 << 28

__all__ = ["Betweenness", "betweenness_centrality", "eigenvector_centrality", "katz_centrality"]


# ---- betweenness, eigenvector, Katz ----------------------------------------------------------
def _pick(G: LayeredGraph, weights: str | None, include_identity: bool) -> sp.csr_array:
    """The adjacency by the package's ``weights=`` keyword, non-negative values only."""
    A = _signed(G, include_identity)
    if weights == "pos":
        A.data[A.data <= 0] = 0.0
        A.eliminate_zeros()
    elif weights == "abs":
        A.data = np.abs(A.data)
    elif weights is None:
        A.data = np.ones_like(A.data)
    else:
        raise InputError(f"weights must be 'pos', 'abs' or None, got {weights!r}")
    return A


@dataclass(frozen=True)
class Betweenness:
    """Betweenness centrality, exact or estimated from sampled sources.

    Attributes
    ----------
    values : (n_nodes,) float64
        The betweenness (networkx's scaling, see :func:`betweenness_centrality`).
    se : (n_nodes,) float64
        Standard error of the sampled estimate (zeros when exact).
    sources : (k,) int64
        The sampled source nodes (every node when exact).
    exact : bool
    params : dict
    """

    values: np.ndarray
    se: np.ndarray
    sources: np.ndarray
    exact: bool
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "values": self.values.tolist(),
            "se": self.se.tolist(),
            "sources": self.sources.tolist(),
            "exact": self.exact,
            "params": dict(self.params),
        }

    def __repr__(self) -> str:
        how = "exact" if self.exact else f"sampled, {len(self.sources)} sources"
        return (
            f"Betweenness({len(self.values)} nodes, {how}, max {np.max(self.values, initial=0):.4g}, "
            f"max se {np.max(self.se, initial=0):.2g})"
        )


def _brandes_batch(B: Any, src: np.ndarray) -> np.ndarray:
    """Dependencies ``delta_s(v)`` of Brandes's algorithm for a batch of sources, all at once:
    breadth-first levels by sparse products (``(n, b)`` arrays), then the accumulation from the
    deepest level up. ``delta_s(s) = 0``."""
    n, b = B.shape[0], len(src)
    cols = np.arange(b)
    sigma = np.zeros((n, b))
    sigma[src, cols] = 1.0
    depth = np.full((n, b), -1, dtype=np.int32)
    depth[src, cols] = 0
    front = sigma.copy()
    d = 0
    while True:
        nxt = B @ front
        nxt[depth >= 0] = 0.0
        reached = nxt > 0
        if not reached.any():
            break
        d += 1
        depth[reached] = d
        sigma += nxt
        front = nxt
    delta = np.zeros((n, b))
    for level in range(d, 0, -1):
        coef = np.where(depth == level, (1.0 + delta) / np.where(sigma > 0, sigma, 1.0), 0.0)
        up = B @ coef
        delta += np.where(depth == level - 1, sigma * up, 0.0)
    delta[src, cols] = 0.0
    return delta


def betweenness_centrality(
    G: LayeredGraph,
    *,
    weights: str | None = "pos",
    k: int | None = None,
    normalized: bool = True,
    seed: int | None = 0,
    include_identity: bool = False,
) -> Betweenness:
    """Shortest-path betweenness, undirected, distance = number of hops (Brandes 2001).

    ``b(v) = sum_{s != v != t} sigma_st(v) / sigma_st`` over unordered pairs, computed by
    Brandes's accumulation for batches of sources at once (breadth-first levels as sparse
    products). Scaled as networkx ``betweenness_centrality(G, k=k, normalized=normalized)``
    on the unweighted graph (``endpoints=False``): ``normalized`` divides by ``(n-1)(n-2)``
    (ordered pairs), otherwise by 2. Hops, not weights: on a dense MLP every path has the
    same length per layer pair, so use the positive graph or a thresholded one.

    Parameters
    ----------
    G : LayeredGraph
    weights : {"pos", "abs", None}
        Which edges count: ``"pos"`` (default) those with ``w > 0``; ``"abs"`` or None every
        edge (the values are not used: distances are hops).
    k : int, optional
        Sample ``k`` sources uniformly without replacement (Brandes & Pich 2007) instead of all
        ``n``; the estimate is unbiased (networkx's scaling for sampled sources) and ``se``
        holds its standard error from the spread of the per-source dependencies, with the
        finite-population factor ``(1 - k/n)`` (0 when ``k = n``).
    normalized : bool
    seed : int, optional
        Seeds the sample of sources.
    include_identity : bool

    Returns
    -------
    Betweenness

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> G = from_matrices([np.array([[1.0]]), np.array([[1.0]])])
    >>> betweenness_centrality(G).values.tolist()
    [0.0, 1.0, 0.0]
    """
    seed = _args.seed("seed", seed)
    B = _pattern(_pick(G, weights, include_identity))
    n = B.shape[0]
    if k is None or k >= n:
        srcs = np.arange(n)
    else:
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        srcs = np.sort(np.random.default_rng(seed).choice(n, size=int(k), replace=False))
    kk = len(srcs)
    if B.nnz > _DENSE_DENSITY * n * n and n * n * 8 <= _DENSE_BYTES:
        B = B.toarray()  # dense products (BLAS) beat sparse ones on a dense net's pattern
    total = np.zeros(n)
    total_sq = np.zeros(n)
    step = max(1, _BATCH_CELLS // max(n, 1))
    for start in range(0, kk, step):
        delta = _brandes_batch(B, srcs[start : start + step])
        total += delta.sum(axis=1)
        total_sq += (delta**2).sum(axis=1)
    exact = kk == n
    N = n - 1  # endpoints excluded
    in_sample = np.zeros(n, dtype=bool)
    in_sample[srcs] = True
    if N < 2:
        scale = np.ones(n)
    elif exact:
        scale = np.full(n, 1.0 / (N * (N - 1)) if normalized else 0.5)
    else:
        num = 1.0 / (N - 1) if normalized else N / 2.0
        with np.errstate(divide="ignore"):
            scale = np.where(in_sample, num / (kk - 1) if kk > 1 else np.nan, num / kk)
    values = total * scale
    se = np.zeros(n)
    if not exact:
        m = np.where(in_sample, kk - 1, kk).astype(np.float64)  # sources that can reach v
        with np.errstate(invalid="ignore", divide="ignore"):
            var = (total_sq - total**2 / m) / (m - 1)
            se = scale * np.sqrt(np.maximum(var, 0) * m * (1 - kk / n))
    return Betweenness(
        values,
        se,
        srcs.astype(np.int64),
        exact,
        {"weights": weights, "k": k, "normalized": normalized, "seed": seed, "distance": "hops"},
    )


def eigenvector_centrality(
    G: LayeredGraph, *, weights: str | None = "abs", include_identity: bool = False
) -> np.ndarray:
    """Eigenvector centrality: the Perron vector of the undirected non-negative adjacency.

    Undirected; weights as strengths (``"abs"``: ``|w|``, ``"pos"``: ``w > 0`` only, None: 1).
    The leading eigenvector (largest algebraic eigenvalue, ARPACK) with unit Euclidean norm and
    a positive sum: networkx ``eigenvector_centrality_numpy(G, weight="weight")``. Defined
    (unique) on a connected graph; on a disconnected one it lives on one component.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> G = from_matrices([np.array([[1.0, 1.0]])])
    >>> eigenvector_centrality(G).round(4).tolist()
    [0.7071, 0.5, 0.5]
    """
    from scipy.sparse.linalg import eigsh

    A = _pick(G, weights, include_identity)
    n = A.shape[0]
    if n < 3:
        lam, V = np.linalg.eigh(A.toarray())
        x = V[:, -1]
    else:
        _, V = eigsh(A, k=1, which="LA", tol=0)
        x = V[:, 0]
    return x / (np.sign(x.sum()) * np.linalg.norm(x))


def katz_centrality(
    G: LayeredGraph,
    *,
    alpha: float = 0.1,
    beta: float = 1.0,
    weights: str | None = "abs",
    directed: bool = False,
    normalized: bool = True,
    include_identity: bool = False,
) -> np.ndarray:
    """Katz centrality ``x = alpha A^T x + beta`` (networkx ``katz_centrality_numpy``).

    Weights as strengths (``weights`` as in :func:`eigenvector_centrality`). Undirected
    (default): defined for ``alpha < 1 / lambda_max``; directed (``src -> dst``, each unit
    collects from the units below it): the DAG's adjacency is nilpotent, so every ``alpha`` is
    defined. ``normalized`` divides by the Euclidean norm (sign of the sum), as networkx does.

    Raises
    ------
    InputError
        Undirected and ``alpha >= 1 / lambda_max`` (the series diverges).

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> G = from_matrices([np.array([[1.0]])])
    >>> katz_centrality(G, alpha=0.5, normalized=False).tolist()
    [2.0, 2.0]
    """
    from scipy.sparse.linalg import eigsh, spsolve

    A = _pick(G, weights, include_identity)
    n = A.shape[0]
    if directed:
        A = sp.triu(A, format="csr")  # global ids are topological: src < dst
    elif n > 0:
        lam = (
            np.linalg.eigvalsh(A.toarray()).max()
            if n < 3
            else float(eigsh(A, k=1, which="LA", return_eigenvectors=False)[0])
        )
        if alpha * lam >= 1:
            raise InputError(
                f"Katz centrality diverges: alpha = {alpha} >= 1 / lambda_max = {1 / lam:.6g}"
            )
    M = sp.csc_array(sp.identity(n, format="csc") - alpha * A.T)
    x = np.atleast_1d(spsolve(M, np.full(n, float(beta))))
    if normalized and n:
        x = x / (np.sign(x.sum()) * np.linalg.norm(x))
    return x
