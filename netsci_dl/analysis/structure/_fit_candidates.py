"""The candidates of :mod:`netsci_dl.analysis.structure.fits`: KS distances, per-candidate maximum-likelihood
fits (log-likelihood per value, KS distance, flag) and the CSN scan for ``xmin``."""

from __future__ import annotations

from typing import Any

import numpy as np

#: a lognormal whose fitted mass above xmin is below this is degenerate
MIN_TAIL_MASS = 1e-8


# ---- KS distances ---------------------------------------------------------------------------
def _ks_continuous(xs: np.ndarray, cdf: np.ndarray) -> float:
    """``sup |F_n - F|`` for a sorted sample ``xs`` and the model CDF at it."""
    n = len(xs)
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - cdf), np.max(cdf - (i - 1) / n)))


def _ks_discrete(x: np.ndarray, xmin: float, cdf_at: Any) -> float:
    """``max |F_n(k) - F(k)|`` over every integer ``k`` from ``xmin`` to ``max(x)``.

    Exact from the observed values ``v_j`` and the integers ``v_{j+1} - 1`` before the next
    one (and ``v_0 - 1`` when the tail starts above ``xmin``): ``F_n`` is flat in each gap and
    ``F`` increasing, so the largest gap deviation sits at one of those two ends.
    """
    vals, counts = np.unique(x, return_counts=True)
    emp = np.cumsum(counts) / len(x)
    d = float(np.max(np.abs(emp - cdf_at(vals))))
    ends = vals[1:] - 1
    gap = ends > vals[:-1]
    if gap.any():
        d = max(d, float(np.max(np.abs(cdf_at(ends[gap]) - emp[:-1][gap]))))
    if vals[0] - 1 >= xmin:  # F_n = 0 on xmin .. v_0 - 1
        d = max(d, float(np.max(cdf_at(np.array([vals[0] - 1.0])))))
    return d


# ---- per-candidate likelihoods and CDFs -----------------------------------------------------
def _pl_alpha(x: np.ndarray, xmin: float, discrete: bool) -> float:
    s = np.sum(np.log(x / (xmin - 0.5 if discrete else xmin)))
    return float(1 + len(x) / s) if s > 0 else np.nan


def _zeta_cdf(alpha: float, xmin: float) -> Any:
    from scipy.special import zeta

    z0 = zeta(alpha, xmin)
    return lambda v: 1 - zeta(alpha, np.asarray(v, np.float64) + 1) / z0


def _power_law(x: np.ndarray, xmin: float, discrete: bool, exact: bool = True):
    from scipy.special import zeta

    alpha = _pl_alpha(x, xmin, discrete)
    if not np.isfinite(alpha):
        return None
    flag = ""
    if discrete:
        if exact:
            from scipy.optimize import minimize_scalar

            slx = np.sum(np.log(x))
            lo, hi = 1.0 + 1e-6, max(alpha * 2, 6.0)
            nll = lambda a: a * slx + len(x) * np.log(zeta(a, xmin))  # noqa: E731
            r = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-8})
            alpha = float(r.x)
            if min(alpha - lo, hi - alpha) < 1e-4:
                flag = f"alpha = {alpha:.4g} sits at a bound of its search [{lo:.6g}, {hi:.4g}]"
        ll = -alpha * np.log(x) - np.log(zeta(alpha, xmin))
        ks = _ks_discrete(x, xmin, _zeta_cdf(alpha, xmin))
    else:
        ll = np.log(alpha - 1) - np.log(xmin) - alpha * np.log(x / xmin)
        xs = np.sort(x)
        ks = _ks_continuous(xs, 1 - (xs / xmin) ** (1 - alpha))
    return {"alpha": alpha}, ll, ks, flag


def _exponential(x: np.ndarray, xmin: float, discrete: bool):
    m = float(np.mean(x)) - xmin
    if m <= 0:
        return None
    if discrete:
        lam = float(np.log1p(1 / m))
        ll = np.log(-np.expm1(-lam)) - lam * (x - xmin)
        ks = _ks_discrete(x, xmin, lambda v: -np.expm1(-lam * (v - xmin + 1)))
    else:
        lam = 1 / m
        ll = np.log(lam) - lam * (x - xmin)
        xs = np.sort(x)
        ks = _ks_continuous(xs, -np.expm1(-lam * (xs - xmin)))
    return {"lambda": lam}, ll, ks, ""


def _lognormal(x: np.ndarray, xmin: float, discrete: bool):
    from scipy.optimize import minimize
    from scipy.special import log_ndtr, ndtr

    lx = np.log(x)
    if np.std(lx) == 0:
        return None
    lo = np.log(xmin - 0.5) if discrete else np.log(xmin)
    if discrete:
        lxm, lxp = np.log(x - 0.5), np.log(x + 0.5)
    log_sqrt_2pi = 0.5 * np.log(2 * np.pi)

    def loglik(theta: np.ndarray) -> np.ndarray:
        mu, sig = theta[0], np.exp(theta[1])
        log_norm = log_ndtr(-(lo - mu) / sig)  # log P(X >= xmin)
        if discrete:  # P(x - 1/2 < X < x + 1/2) from upper tails, accurate far out
            a = ndtr(-(lxm - mu) / sig) - ndtr(-(lxp - mu) / sig)
            return np.log(np.maximum(a, 1e-300)) - log_norm
        z = (lx - mu) / sig
        return -0.5 * z * z - log_sqrt_2pi - np.log(sig) - lx - log_norm

    theta0 = np.array([lx.mean(), np.log(lx.std())])
    r = minimize(
        lambda t: -np.sum(loglik(t)),
        theta0,
        method="L-BFGS-B",
        options={"ftol": 1e-12, "gtol": 1e-8, "maxiter": 500},
    )
    mu, sig = float(r.x[0]), float(np.exp(r.x[1]))
    ll = loglik(r.x)
    sf0 = ndtr(-(lo - mu) / sig)
    log_mass = float(log_ndtr(-(lo - mu) / sig))
    flag = ""
    if log_mass < np.log(MIN_TAIL_MASS):
        flag = (
            f"degenerate: mu = {mu:.3g} lies {(lo - mu) / sig:.1f} sigma below ln xmin = "
            f"{lo:.3g}, fitted mass above xmin 10^{log_mass / np.log(10):.0f}: the far tail of a "
            "lognormal, a power law in disguise"
        )
    elif not r.success and r.nit >= 500:
        flag = f"the optimiser stopped at its iteration limit ({r.nit})"
    if discrete:
        ks = _ks_discrete(x, xmin, lambda v: 1 - ndtr(-(np.log(v + 0.5) - mu) / sig) / sf0)
    else:
        xs = np.sort(x)
        ks = _ks_continuous(xs, 1 - ndtr(-(np.log(xs) - mu) / sig) / sf0)
    return {"mu": mu, "sigma": sig}, ll, ks, flag


FITTERS = {"power_law": _power_law, "exponential": _exponential, "lognormal": _lognormal}


def scan_xmin(
    x: np.ndarray,
    discrete: bool,
    min_tail: int,
    max_candidates: int | None,
    xmin_range: tuple[float, float] | None = None,
) -> tuple[float, int, int]:
    """The xmin minimising the KS distance of the power-law fit (CSN): ``(xmin, tried,
    distinct)``. Ties go to the smallest xmin. ``xmin_range = (lo, hi)``: only values with
    ``lo <= x <= hi`` are candidates (``distinct`` counts those); none gives ``xmin = nan``."""
    xs = np.sort(x)
    n = len(xs)
    cands, first = np.unique(xs[: n - min_tail + 1], return_index=True)
    if xmin_range is not None:
        keep = (cands >= xmin_range[0]) & (cands <= xmin_range[1])
        cands, first = cands[keep], first[keep]
        if not len(cands):
            return float("nan"), 0, 0
    distinct = len(cands)
    if max_candidates is not None and distinct > max_candidates:
        pick = np.unique(np.round(np.linspace(0, distinct - 1, max_candidates)).astype(np.int64))
        cands, first = cands[pick], first[pick]
    best, best_d = float(cands[0]), np.inf
    for c, i in zip(cands, first):
        tail = xs[i:]
        if tail[-1] == tail[0]:
            continue
        r = _power_law(tail, float(c), discrete, exact=False)
        if r is not None and r[2] < best_d:
            best, best_d = float(c), r[2]
    return best, len(cands), distinct
