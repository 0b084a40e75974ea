"""The AND-OR split of a set function with learned offsets ``p`` and bounded ``q`` (CH24).

``v_and = (v + q) / 2 + p`` and ``v_or = (v + q) / 2 - p``; ``p`` (free) and ``q`` (bounded,
``|q_S| <= qthres * |v(N) - v(empty)|``) minimise ``sum_S |I_and(S)| + sum_S |I_or(S)|``, where
``I_and`` is the Moebius transform of ``v_and`` and ``I_or`` the OR transform of ``v_or``.

The loss is piecewise linear; we follow its subgradient with momentum SGD (projected on the box
of ``q``), as the original code does, but without its dense ``2**n x 2**n`` matrices: the
subgradient of ``sum |M u|`` is ``M^T sign(M u)``, and ``M^T`` is a butterfly too (over
supersets), so one iteration costs four butterflies, ``O(n 2**n)`` per sample, vectorised over
every sample (and layer) at once.

Step size. The loss is positively homogeneous (scaling ``v`` by ``c`` scales the optimal ``p``,
``q`` by ``c``), so the learning rate is dimensionless: the step of sample ``b`` is
``lr_t * scale_b * buffer`` with ``scale_b = |v(N) - v(empty)|`` (``max |v - v(empty)|`` when that
is 0, 1 when ``v`` is constant) divided by ``2**n`` (the largest entry a subgradient can have).
``lr_t`` decays log-linearly from ``lr`` to ``lr * lr_end`` over the iterations (the original
schedule, ``lr -> lr / 10``). The best iterate (lowest loss) of each sample is returned.

Accuracy. Subgradient descent on this ill-conditioned L1 problem stops short of the optimum.
Measured against the exact optimum (``method="lp"``) with the defaults (2000 iterations,
``lr=0.002``): on games of a digits MLP and CNN (9 players, every layer) the loss ends at
1.4-2.1x the optimum (mean 1.7x; it starts at 1.7-2.9x); on random sparse AND+OR games with
noise at 1.0-1.5x for 6 players and 2-5x for 9. A larger ``lr`` diverges on some games (the
best iterate is then the start, and a warning is logged). The problem gets harder quickly with
``n``: at 12 players (the digits LeNet of ``benchmarks/bench_interactions.py``) 2000 iterations
lower the loss by about 10-20% (22% for one game at the default ``lr``; 12% for 5 of 8 games at
``lr=1e-4``, and not at all for the other 3); CH24 ran 10,000-50,000 iterations there. Lower ``lr`` and raise ``iterations`` beyond 9 players.
``method="lp"`` solves the same problem exactly as a linear program (HiGHS through
:func:`scipy.optimize.linprog`, one game at a time): variables ``I_and``, ``I_or`` (each split in
positive and negative parts), ``q`` in its box and the OR total ``w = sum I_or``; one equality
``zeta(I_and)(S) + w - sum_{T subset N \\ S, T != empty} I_or(T) - q_S = v(S)`` per set, ``3**n``
non-zeros per transform, never a dense matrix. Measured here (a busy machine): 0.2 s per sparse
game and about 1 s per network game at 9 players, 1 s per sparse game at 10; one network game
at 12 players did not finish in 12 minutes.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from netsci_dl._args import count, real
from netsci_dl.analysis.interactions._transform import (
    BIT_ORDER,
    as_set_function,
    moebius_,
    moebius_transpose_,
    zeta_,
)
from netsci_dl.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["SplitOptions", "AndOrSplit", "and_or_split", "or_from_values"]


def or_from_values(u: np.ndarray, n: int) -> np.ndarray:
    """OR interactions of ``u`` (float64, C-contiguous, shape ``(..., 2**n)``); a new array.

    ``I_or(S) = -sum_{L subset S} (-1)^{|S|-|L|} u(N \\ L)`` for S non-empty, ``I_or(empty) =
    u(empty)``: minus the Moebius transform of ``L -> u(N \\ L)``, i.e. of ``u`` reversed along
    its last axis (the index of ``N \\ L`` is ``2**n - 1 - index(L)``).
    """
    out = np.array(u[..., ::-1], order="C", copy=True)
    moebius_(out, n)
    np.subtract(0.0, out, out=out)  # (not negative(): no -0.0)
    out[..., 0] = u[..., 0]
    return out


def _or_grad(s: np.ndarray, n: int) -> np.ndarray:
    """``O^T s`` for the OR operator ``O`` of :func:`or_from_values` (s is overwritten)."""
    s0 = s[..., 0].copy()
    s[..., 0] = 0.0
    moebius_transpose_(s, n)
    g = np.array(s[..., ::-1], order="C", copy=True)
    np.subtract(0.0, g, out=g)
    g[..., 0] += s0
    return g


#: Most SGD iterations of the AND-OR split (CH24 use a few thousand; the learning-rate schedule
#: holds one float per iteration).
MAX_ITERATIONS = 1_000_000


@dataclass(frozen=True)
class SplitOptions:
    """Settings of the AND-OR split (see :func:`and_or_split`).

    Parameters
    ----------
    qthres : float
        Bound of the noise term: ``|q_S| <= qthres * |v(N) - v(empty)|`` (0: no ``q``).
    iterations : int
        SGD iterations.
    lr : float
        Dimensionless initial learning rate (the step is ``lr * |v(N) - v(empty)| / 2**n`` times the
        momentum buffer).
    lr_end : float
        The learning rate decays log-linearly to ``lr * lr_end``.
    momentum : float
    method : {"sgd", "lp"}
        ``"sgd"`` (CH24's optimiser, approximate) or ``"lp"`` (exact optimum, slower; the SGD
        settings are then unused).

    Examples
    --------
    >>> SplitOptions(iterations=100).to_dict()["iterations"]
    100
    """

    qthres: float = 0.02
    iterations: int = 2000
    lr: float = 0.002
    lr_end: float = 0.1
    momentum: float = 0.9
    method: str = "sgd"

    def __post_init__(self) -> None:
        if self.method not in ("sgd", "lp"):
            raise InputError(f"method must be 'sgd' or 'lp', got {self.method!r}")
        real("qthres", self.qthres, lo=0)
        iterations = count("iterations", self.iterations, lo=0, hi=MAX_ITERATIONS)
        real("lr", self.lr, lo=0, lo_open=True)
        real("lr_end", self.lr_end, lo=0, hi=1, lo_open=True)
        real("momentum", self.momentum, lo=0, hi=1)
        if not (self.lr > 0 and 0 < self.lr_end <= 1 and 0 <= self.momentum < 1):
            raise InputError(
                "need lr > 0, 0 < lr_end <= 1 and 0 <= momentum < 1, got "
                f"lr={self.lr!r}, lr_end={self.lr_end!r}, momentum={self.momentum!r}"
            )
        object.__setattr__(self, "iterations", iterations)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.method == "lp":
            d["optimizer"] = "exact linear program (scipy.optimize.linprog, HiGHS)"
        else:
            d["optimizer"] = "SGD with momentum (projected on the |q| bound), best iterate kept"
            d["schedule"] = "log-linear decay from lr to lr * lr_end"
            d["step"] = "lr_t * |v(N) - v(empty)| / 2**n * momentum buffer"
        return d

    def __repr__(self) -> str:
        from netsci_dl._results import changed_only

        return changed_only(self)


@dataclass(frozen=True, eq=False)
class AndOrSplit:
    """AND and OR interactions of ``v = v_and + v_or - q`` (see :func:`and_or_split`).

    Attributes
    ----------
    I_and, I_or : (..., 2**n) float64 ndarray
        AND interactions of ``v_and`` and OR interactions of ``v_or``.
    p, q : (..., 2**n) float64 ndarray
        The learned offsets.
    v : (..., 2**n) float64 ndarray
        The set function that was split.
    loss_start, loss : (...) float64 ndarray
        ``sum |I_and| + sum |I_or|`` at ``p = q = 0`` and at the result.
    loss_history : (n_recorded, ...) float64 ndarray
        The loss every ``record_every`` iterations (iteration 0 first).
    q_bound : (...) float64 ndarray
        The bound ``qthres * |v(N) - v(empty)|`` on ``|q|``.
    n_players : int
    settings : dict
        The options, the schedule, and ``bit_order``.
    """

    I_and: np.ndarray
    I_or: np.ndarray
    p: np.ndarray = field(repr=False)
    q: np.ndarray = field(repr=False)
    v: np.ndarray = field(repr=False)
    loss_start: np.ndarray = field(repr=False)
    loss: np.ndarray = field(repr=False)
    loss_history: np.ndarray = field(repr=False)
    q_bound: np.ndarray = field(repr=False)
    n_players: int = 0
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary: settings, losses (lists), bit order."""
        return {
            "n_players": self.n_players,
            "bit_order": BIT_ORDER,
            "settings": dict(self.settings),
            "loss_start": np.asarray(self.loss_start).tolist(),
            "loss": np.asarray(self.loss).tolist(),
        }

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        return summary(
            "AndOrSplit",
            n_players=self.n_players,
            batch=tuple(self.I_and.shape[:-1]),
            loss_start=float(np.mean(self.loss_start)),
            loss=float(np.mean(self.loss)),
            method=self.settings.get("method"),
        )


def _loss(Ia: np.ndarray, Io: np.ndarray) -> np.ndarray:
    return np.abs(Ia).sum(axis=-1) + np.abs(Io).sum(axis=-1)


def _scale(v: np.ndarray) -> np.ndarray:
    d = np.abs(v[..., -1] - v[..., 0])
    alt = np.abs(v - v[..., :1]).max(axis=-1)
    s = np.where(d > 0, d, alt)
    return np.where(s > 0, s, 1.0)


def _sgd(
    vv: np.ndarray, n: int, bound: np.ndarray, opts: SplitOptions, record_every: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Momentum SGD on (p, q); the best iterate per game, its start loss, the loss history."""
    step = (_scale(vv) / (1 << n))[..., None]
    bnd = bound[..., None]
    p = np.zeros_like(vv)
    q = np.zeros_like(vv)
    bp = np.zeros_like(vv)
    bq = np.zeros_like(vv)
    half = 0.5 * vv
    best_p, best_q = p.copy(), q.copy()
    T = opts.iterations
    etas = opts.lr * np.logspace(0.0, np.log10(opts.lr_end), max(T, 1))
    hist: list[np.ndarray] = []
    best = loss0 = np.zeros(vv.shape[:-1])
    for t in range(T + 1):
        base = half + 0.5 * q
        Ia = moebius_(base + p, n)
        Io = or_from_values(base - p, n)
        loss = _loss(Ia, Io)
        if t == 0:
            loss0, best = loss, loss.copy()
        else:
            better = loss < best
            best = np.where(better, loss, best)
            best_p = np.where(better[..., None], p, best_p)
            best_q = np.where(better[..., None], q, best_q)
        if t % record_every == 0 or t == T:
            hist.append(loss)
        if t == T:
            break
        ga = moebius_transpose_(np.sign(Ia), n)
        go = _or_grad(np.sign(Io), n)
        bp *= opts.momentum
        bp += ga - go
        p -= etas[t] * step * bp
        if opts.qthres > 0:
            bq *= opts.momentum
            bq += 0.5 * (ga + go)
            q -= etas[t] * step * bq
            np.clip(q, -bnd, bnd, out=q)
    return best_p, best_q, loss0, np.asarray(hist)


def _subset_pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """All ``3**n`` pairs ``(S, T)`` with ``T`` a subset of ``S`` (bitmasks), vectorised."""
    d = np.arange(3**n, dtype=np.int64)
    S = np.zeros_like(d)
    T = np.zeros_like(d)
    for i in range(n):
        r = d % 3
        d //= 3
        S |= (r >= 1).astype(np.int64) << i
        T |= (r == 2).astype(np.int64) << i
    return S, T


def _lp_one(v: np.ndarray, bound: float, pairs: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Exact split of one game: ``(I_and, I_or, q)`` stacked, shape ``(3, 2**n)``."""
    import scipy.sparse as sp
    from scipy.optimize import linprog

    N = v.size
    S, T = pairs
    Za = sp.csr_array((np.ones(S.size), (S, T)), shape=(N, N))
    nz = T != 0
    Zo = sp.csr_array((-np.ones(int(nz.sum())), ((N - 1) ^ S[nz], T[nz])), shape=(N, N))
    top = sp.hstack(
        [Za, -Za, Zo, -Zo, -sp.identity(N, format="csr"), sp.csr_array(np.ones((N, 1)))]
    )
    row = np.concatenate([np.zeros(2 * N), -np.ones(N), np.ones(N), np.zeros(N), [1.0]])
    A = sp.vstack([top, sp.csr_array(row[None, :])]).tocsc()
    c = np.concatenate([np.ones(4 * N), np.zeros(N + 1)])
    lo = np.concatenate([np.zeros(4 * N), np.full(N, -bound), [-np.inf]])
    hi = np.concatenate([np.full(4 * N, np.inf), np.full(N, bound), [np.inf]])
    r = linprog(c, A_eq=A, b_eq=np.append(v, 0.0), bounds=np.stack([lo, hi], 1), method="highs")
    if r.status != 0:
        raise RuntimeError(f"the AND-OR linear program did not solve: {r.message}")
    x = r.x
    return np.stack([x[:N] - x[N : 2 * N], x[2 * N : 3 * N] - x[3 * N : 4 * N], x[4 * N : 5 * N]])


def and_or_split(
    v: Any,
    *,
    qthres: float = 0.02,
    iterations: int = 2000,
    lr: float = 0.002,
    lr_end: float = 0.1,
    momentum: float = 0.9,
    method: str = "sgd",
    record_every: int = 100,
) -> AndOrSplit:
    """Split ``v`` into AND and OR parts with the sparsest interactions (CH24).

    ``v_and = (v + q)/2 + p`` and ``v_or = (v + q)/2 - p``, with ``p`` and ``q`` learned to
    minimise ``sum_S |I_and(S)| + sum_S |I_or(S)|`` under ``|q_S| <= qthres |v(N) - v(empty)|``.
    Efficiency: ``sum I_and + sum I_or = v(N) + q_N``.

    Parameters
    ----------
    v : (..., 2**n) array
        Set functions indexed by bitmask, player i at bit i (least significant first); leading
        axes are independent games, optimised together.
    qthres : float
        Bound on ``|q|`` relative to ``|v(N) - v(empty)|`` (0.02 as in CH24; 0: ``q = 0``).
    iterations, lr, lr_end, momentum : SGD settings (see :class:`SplitOptions` and the module
        docstring; the learning rate is dimensionless).
    method : {"sgd", "lp"}
        CH24's momentum SGD (approximate, see the module docstring for the measured gap) or the
        exact linear program.
    record_every : int
        Record the loss every this many iterations in ``loss_history`` (SGD).

    Returns
    -------
    AndOrSplit

    Examples
    --------
    A pure OR game on 2 players (either one suffices) comes out as one OR interaction:

    >>> import numpy as np
    >>> v = np.array([0.0, 1.0, 1.0, 1.0])       # {}, {0}, {1}, {0, 1}
    >>> r = and_or_split(v, qthres=0.0, method="lp")
    >>> np.round(r.I_or, 3) + 0.0, np.round(r.I_and, 3) + 0.0
    (array([0., 0., 0., 1.]), array([0., 0., 0., 0.]))
    >>> r.settings["bit_order"][:37]
    'player i is bit i of the index, least'
    """
    opts = SplitOptions(
        qthres=qthres,
        iterations=iterations,
        lr=lr,
        lr_end=lr_end,
        momentum=momentum,
        method=method,
    )
    vv, n = as_set_function(v)
    record_every = count("record_every", record_every)
    bound = opts.qthres * np.abs(vv[..., -1] - vv[..., 0])
    half = 0.5 * vv
    loss0 = _loss(moebius_(half.copy(), n), or_from_values(half, n))
    if opts.method == "lp":
        flat = vv.reshape(-1, vv.shape[-1])
        pairs = _subset_pairs(n)
        out = np.stack([_lp_one(g, float(b), pairs) for g, b in zip(flat, bound.reshape(-1))])
        Ia = out[:, 0].reshape(vv.shape)
        Io = out[:, 1].reshape(vv.shape)
        q = out[:, 2].reshape(vv.shape)
        p = zeta_(Ia.copy(), n) - 0.5 * (vv + q)
        hist = np.stack([loss0, _loss(Ia, Io)])
    else:
        p, q, _, hist = _sgd(vv, n, bound, opts, record_every)
        base = half + 0.5 * q
        Ia = moebius_(base + p, n)
        Io = or_from_values(base - p, n)
        stuck = (_loss(Ia, Io) >= loss0) & (loss0 > 0)
        if opts.iterations > 0 and stuck.any():
            log.warning(
                "AND-OR split: SGD did not lower the loss of %d of %d games (lr=%g too large?)",
                int(stuck.sum()),
                stuck.size,
                opts.lr,
            )
    settings = opts.to_dict()
    if opts.method == "sgd":
        settings["record_every"] = record_every
    settings["bit_order"] = BIT_ORDER
    return AndOrSplit(
        I_and=Ia,
        I_or=Io,
        p=p,
        q=q,
        v=vv,
        loss_start=loss0,
        loss=_loss(Ia, Io),
        loss_history=hist,
        q_bound=bound,
        n_players=n,
        settings=settings,
    )
