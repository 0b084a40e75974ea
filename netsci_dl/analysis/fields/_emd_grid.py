"""Per-pair EMD solvers for fields on an h x w pixel grid (private; see emd.py).

- ``GridSolver``: uncapacitated min-cost flow (transshipment) on a sparse grid graph, solved by
  LEMON's network simplex (``pylmcf``). With the 4 axis moves and unit costs it is EMD with the
  Manhattan ground distance, exactly (Ling & Okada 2007). With all primitive moves ``(i, j)``,
  ``gcd(i, j) = 1``, ``max(|i|, |j|) <= L`` and costs ``|step|`` it is an upper bound of the
  Euclidean EMD, at most ``1 / cos(theta / 2) - 1`` too large, ``theta`` the largest angle
  between neighbouring moves (Bassetti, Gualandi & Veneroni, arXiv:1804.00445).
- ``ExactSolver``: POT's network simplex on the dense Euclidean cost restricted to the reduced
  support ``(a - b)+ -> (a - b)-`` (exact for any metric ground cost).
- ``SinkhornSolver``: POT's entropic ``sinkhorn2`` on the dense cost (approximate).

Masses are scaled to integers: each field is rounded once to ``S`` units (largest remainder)
so that supplies balance exactly; arc costs are ``ceil(K * |step|)`` (``K = 1`` for unit
costs, ``1e6`` otherwise), so rounding can only add to the Euclidean upper bound. ``S`` is the
largest power of ten (at most 1e15) with ``S * K * (h + w) <= 1e18`` (int64 headroom).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from netsci_dl.errors import InputError

__all__ = [
    "Spec",
    "directions",
    "neighbourhood_to_L",
    "direction_bound",
    "round_to_units",
    "make_solver",
]

_MAX_L = 12


def directions(L: int) -> np.ndarray:
    """Primitive grid moves ``(di, dj)``, ``gcd = 1``, ``max(|di|, |dj|) <= L``; L=0: 4 axis moves."""
    if L == 0:
        return np.array([(0, 1), (1, 0), (0, -1), (-1, 0)], dtype=np.int64)
    r = np.arange(-L, L + 1)
    di, dj = np.meshgrid(r, r, indexing="ij")
    di, dj = di.ravel(), dj.ravel()
    keep = np.gcd(di, dj) == 1
    return np.stack([di[keep], dj[keep]], axis=1).astype(np.int64)


def neighbourhood_to_L(neighbourhood: int) -> int:
    """The L whose direction set has ``neighbourhood`` moves (4 -> 0, 8 -> 1, ..., 48 -> 4)."""
    counts = {len(directions(L)): L for L in range(_MAX_L + 1)}
    if neighbourhood not in counts:
        raise InputError(
            f"neighbourhood={neighbourhood} is not the size of a direction set; "
            f"use one of {sorted(counts)}"
        )
    return counts[neighbourhood]


def direction_bound(L: int) -> float:
    """Largest relative overestimate of the Euclidean EMD by the L-direction grid graph."""
    d = directions(L)
    ang = np.sort(np.arctan2(d[:, 0], d[:, 1]))
    gaps = np.diff(np.concatenate([ang, ang[:1] + 2 * np.pi]))
    return float(1.0 / np.cos(gaps.max() / 2) - 1.0)


def round_to_units(F: np.ndarray, S: int) -> np.ndarray:
    """Rows of non-negative ``F`` (any positive sums) -> int64 rows summing exactly to ``S``.

    Largest-remainder rounding: each entry is within one unit of ``S * F / F.sum()``.
    """
    F = np.atleast_2d(np.asarray(F, dtype=np.float64))
    x = F * (S / F.sum(axis=1, keepdims=True))
    f = np.floor(x)
    frac = x - f
    f = f.astype(np.int64)
    r = S - f.sum(axis=1)
    m = F.shape[1]
    order = np.argsort(-frac, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(m)[None, :].repeat(len(F), 0), axis=1)
    f += (rank < np.clip(r, 0, m)[:, None]).astype(np.int64)
    # float noise can leave a few units over or under: the largest bin absorbs them
    rest = S - f.sum(axis=1)
    if np.any(rest):
        rows = np.flatnonzero(rest)
        f[rows, f[rows].argmax(axis=1)] += rest[rows]
    return f


@dataclass(frozen=True)
class Spec:
    """What to compute per pair; picklable, the same in every worker."""

    kind: str  # "grid" | "exact" | "sinkhorn"
    grid_shape: tuple[int, int]
    L: int = 0  # grid: 0 = 4 axis moves (Manhattan or Euclidean-4), >= 1 the BGV sets
    ground: str = "euclidean"
    signed: bool = False
    reg: float = 0.05
    sinkhorn_iter: int = 1000
    exact_iter: int = 10_000_000

    @property
    def unit_costs(self) -> bool:
        return self.L == 0

    @property
    def K(self) -> int:
        return 1 if self.unit_costs else 1_000_000

    @property
    def S(self) -> int:
        h, w = self.grid_shape
        budget = 1e18 / (self.K * (h + w))
        return int(min(10**15, 10 ** math.floor(math.log10(budget))))


def _grid_arcs(h: int, w: int, L: int, K: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ii, jj = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    starts, ends, costs = [], [], []
    for di, dj in directions(L):
        ni, nj = ii + di, jj + dj
        ok = (ni >= 0) & (ni < h) & (nj >= 0) & (nj < w)
        starts.append((ii * w + jj)[ok])
        ends.append((ni * w + nj)[ok])
        c = 1 if L == 0 else math.ceil(K * math.hypot(di, dj))
        costs.append(np.full(int(ok.sum()), c, dtype=np.int64))
    s, e, c = np.concatenate(starts), np.concatenate(ends), np.concatenate(costs)
    o = np.lexsort((e, s))
    return s[o].astype(np.int32), e[o].astype(np.int32), c[o]


def _coords(h: int, w: int) -> np.ndarray:
    ii, jj = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    return np.stack([ii.ravel(), jj.ravel()], axis=1).astype(np.float64)


class _Base:
    """Holds the fields; ``pair_masses(i, j)`` gives the two sides of the transport."""

    def __init__(self, spec: Spec, data: tuple[np.ndarray, ...]) -> None:
        self.spec = spec
        self.data = data

    def pair_masses(self, i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
        if self.spec.signed:
            pos, neg = self.data
            u = pos[i] + neg[j]
            v = pos[j] + neg[i]
            return u / u.sum(), v / v.sum()
        F = self.data[0]
        return F[i], F[j]

    def pair_supply(self, i: int, j: int) -> np.ndarray:
        """The integer supply of the pair (``units[i] - units[j]``): the masses rounded to
        ``S`` units once per field (unsigned), or per pair (signed). Needs ``self.S`` and
        ``self.units`` (the integer engines set them)."""
        if self.units is not None:
            return self.units[i] - self.units[j]
        u, v = self.pair_masses(i, j)
        return round_to_units(u, self.S)[0] - round_to_units(v, self.S)[0]

    def __call__(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        out = np.empty(len(rows), dtype=np.float64)
        for k, (i, j) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True)):
            out[k] = 0.0 if i == j else self.one(i, j)
        return out

    def one(self, i: int, j: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


class GridSolver(_Base):
    def __init__(self, spec: Spec, data: tuple[np.ndarray, ...]) -> None:
        super().__init__(spec, data)
        import pylmcf

        h, w = spec.grid_shape
        self.S, self.K = spec.S, spec.K
        s, e, c = _grid_arcs(h, w, spec.L, self.K)
        self.n_arcs = len(s)
        self.G = None
        if self.n_arcs:
            self.G = pylmcf.Graph(h * w, s, e)
            self.G.set_edge_costs(c)
            self.G.set_edge_capacities(np.full(len(s), self.S, dtype=np.int64))
            self.G.set_warm_repair("repair_only")
        # integer masses, rounded once per field (unsigned case)
        self.units = None if spec.signed else round_to_units(data[0], self.S)

    def one(self, i: int, j: int) -> float:
        sup = self.pair_supply(i, j)
        if not sup.any() or self.G is None:
            return 0.0
        self.G.set_node_supply(sup)
        self.G.solve()
        return self.G.total_cost() / (self.S * self.K)


class ExactSolver(_Base):
    def __init__(self, spec: Spec, data: tuple[np.ndarray, ...]) -> None:
        super().__init__(spec, data)
        import ot
        from scipy.spatial.distance import cdist

        self.ot, self.cdist = ot, cdist
        self.X = _coords(*spec.grid_shape)
        self.metric = "cityblock" if spec.ground == "manhattan" else "euclidean"

    def one(self, i: int, j: int) -> float:
        a, b = self.pair_masses(i, j)
        d = a - b
        p, n = np.flatnonzero(d > 0), np.flatnonzero(d < 0)
        if p.size == 0 or n.size == 0:
            return 0.0
        dp, dn = d[p], -d[n]
        dn = dn * (dp.sum() / dn.sum())
        M = self.cdist(self.X[p], self.X[n], metric=self.metric)
        cost, log = self.ot.emd2(dp, dn, M, numItermax=self.spec.exact_iter, log=True)
        if log.get("result_code", 1) != 1:
            raise RuntimeError(
                f"POT emd2 did not reach the optimum for pair ({i}, {j}): {log.get('warning')}"
            )
        return float(cost)


class SinkhornSolver(_Base):
    def __init__(self, spec: Spec, data: tuple[np.ndarray, ...]) -> None:
        super().__init__(spec, data)
        import ot
        from scipy.spatial.distance import cdist

        self.ot = ot
        X = _coords(*spec.grid_shape)
        self.M = cdist(X, X, metric="cityblock" if spec.ground == "manhattan" else "euclidean")

    def one(self, i: int, j: int) -> float:
        a, b = self.pair_masses(i, j)
        p, q = np.flatnonzero(a > 0), np.flatnonzero(b > 0)  # POT divides by the masses
        M = self.M[np.ix_(p, q)]
        v = float(
            self.ot.sinkhorn2(a[p], b[q], M, self.spec.reg, numItermax=self.spec.sinkhorn_iter)
        )
        if not np.isfinite(v):
            raise RuntimeError(
                f"Sinkhorn failed numerically on pair ({i}, {j}) at reg={self.spec.reg}: "
                "use a larger sinkhorn_reg or an exact method"
            )
        return v


ENGINES = ("auto", "simplex-l1", "lemon")


def make_solver(spec: Spec, data: tuple[np.ndarray, ...], engine: str = "auto") -> _Base:
    """The per-pair solver for ``spec`` over ``data`` (``(F,)`` or ``(pos, neg)``, (n, h*w)).

    ``engine`` (4-neighbour grid only): ``"simplex-l1"`` the compiled EMD-L1 simplex of
    ``_emd_l1`` (needs numba), ``"lemon"`` LEMON through pylmcf (the round-2 engine),
    ``"auto"`` the first when numba imports. Both give the same integer optimum."""
    if engine not in ENGINES:
        raise InputError(f"engine={engine!r} is not one of {ENGINES}")
    if spec.kind == "grid" and spec.unit_costs and engine != "lemon":
        from netsci_dl.analysis.fields import _emd_l1

        if engine == "simplex-l1" or _emd_l1.available():
            return _emd_l1.L1Solver(spec, data)
    cls = {"grid": GridSolver, "exact": ExactSolver, "sinkhorn": SinkhornSolver}[spec.kind]
    return cls(spec, data)
