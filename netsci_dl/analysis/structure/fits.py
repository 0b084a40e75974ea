"""Maximum-likelihood fits of heavy-tailed candidates to a positive sample, with goodness of fit.

Method (Clauset, Shalizi & Newman 2009, "Power-law distributions in empirical data"; the
reference code ``plfit``):

1. ``xmin`` is the value that minimises the Kolmogorov-Smirnov distance ``D`` between the tail
   ``x >= xmin`` and its fitted power law (continuous: closed-form MLE
   ``alpha = 1 + n / sum ln(x / xmin)``; discrete: the CSN approximation
   ``alpha = 1 + n / sum ln(x / (xmin - 1/2))`` during the scan, then the exact MLE with the
   Hurwitz zeta normalisation at the chosen ``xmin``). Every distinct value that leaves at least
   ``min_tail`` values in the tail is tried (no cap unless ``max_xmin_candidates`` is given; the
   result says how many were tried, :attr:`FitResult.xmin_scanned` of
   :attr:`FitResult.xmin_distinct`).
2. ``D`` is the supremum of ``|F_n - F|``. Continuous data: over the real line (both sides of
   every step of the empirical CDF). Discrete data: the two CDFs are compared at **every
   integer** from ``xmin`` to the largest value, as ``plfit`` does (not only at the observed
   values, which misses the gaps of a sparse degree tail); it is computed exactly from the
   observed values and the integer before each (the empirical CDF is flat in between, the
   model's increasing).
3. On that same tail, every candidate (power law, exponential, lognormal; their discrete forms
   for integer data: zeta, geometric, discretised lognormal) is fitted by maximum likelihood and
   scored by ``D``.
4. A fit whose parameters sit at a bound of their search or are degenerate is **flagged**
   (:attr:`DistributionFit.flag` says why) and takes no part in choosing the best: a discrete
   power law whose ``alpha`` ends on the bound of its search; a lognormal whose optimiser stopped
   at its iteration limit, or whose fitted mass above ``xmin`` is below ``1e-8`` (``mu`` far below
   ``ln xmin``, e.g. ``mu = -66``: the tail is the far end of a lognormal, a power law in
   disguise, and its parameters mean nothing).
5. Candidates are compared pairwise by **Vuong's normalised log-likelihood ratio** test:
   ``R = sum (l_a - l_b)``, ``z = R / (sigma sqrt(n))``, two-sided ``p = erfc(|z| / sqrt 2)``;
   ``R > 0`` favours ``a``, and the sign is significant when ``p < 0.1`` (CSN's level).
   :attr:`FitResult.best` is the one unflagged candidate that no other beats and that beats at
   least one; :attr:`FitResult.verdict` states in words which case holds.

The CSN bootstrap p-value of the power law is not computed (it costs hundreds of refits).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl._args import count
from netsci_dl.analysis.structure._fit_candidates import FITTERS, scan_xmin
from netsci_dl.errors import InputError

__all__ = ["DistributionFit", "VuongTest", "FitResult", "fit_distributions", "CANDIDATES"]

CANDIDATES = ("power_law", "exponential", "lognormal")

#: significance level of the Vuong test (CSN)
_LEVEL = 0.1


@dataclass(frozen=True)
class DistributionFit:
    """One candidate fitted to the tail ``x >= xmin``: parameters, log-likelihood, KS distance.

    ``flag`` is empty for a usable fit; otherwise a sentence saying why the fit is at a bound
    or degenerate (such a fit is never :attr:`FitResult.best`).
    """

    name: str
    params: dict[str, float]
    loglik: float
    ks: float
    flag: str = ""

    @property
    def ok(self) -> bool:
        """True when the fit is not flagged."""
        return not self.flag

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "params": dict(self.params),
            "loglik": self.loglik,
            "ks": self.ks,
            "flag": self.flag,
        }


@dataclass(frozen=True)
class VuongTest:
    """Vuong's likelihood-ratio test of ``a`` against ``b`` on the same tail."""

    a: str
    b: str
    R: float
    z: float
    p: float

    @property
    def favoured(self) -> str | None:
        """``a`` or ``b`` when the sign of ``R`` is significant (``p < 0.1``), else None."""
        if not np.isfinite(self.p) or self.p >= _LEVEL:
            return None
        return self.a if self.R > 0 else self.b

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "R": self.R,
            "z": self.z,
            "p": self.p,
            "favoured": self.favoured,
        }


@dataclass(frozen=True)
class FitResult:
    """Fits of every candidate on the tail ``x >= xmin`` and their pairwise comparisons.

    ``xmin_scanned`` of ``xmin_distinct`` distinct values were tried as ``xmin`` (both 0 when
    ``xmin`` was given).
    """

    xmin: float
    n_tail: int
    n: int
    discrete: bool
    fits: tuple[DistributionFit, ...] = ()
    tests: tuple[VuongTest, ...] = ()
    method: str = "MLE; xmin by KS (Clauset-Shalizi-Newman); Vuong LR test"
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    xmin_scanned: int = 0
    xmin_distinct: int = 0

    def _standing(self) -> tuple[list[str], dict[str, list[VuongTest]], dict[str, int]]:
        """Unflagged names, the significant wins of each, and the significant losses of each,
        counting only tests between unflagged fits."""
        usable = [f.name for f in self.fits if f.ok]
        wins: dict[str, list[VuongTest]] = {n: [] for n in usable}
        losses = dict.fromkeys(usable, 0)
        for t in self.tests:
            w = t.favoured
            if w is None or t.a not in wins or t.b not in wins:
                continue
            wins[w].append(t)
            losses[t.b if w == t.a else t.a] += 1
        return usable, wins, losses

    @property
    def best(self) -> str | None:
        """The one unflagged candidate that no other beats significantly and that beats at least
        one; None when there is none or more than one (see :attr:`verdict`)."""
        usable, wins, losses = self._standing()
        undefeated = [n for n in usable if losses[n] == 0]
        if len(undefeated) == 1 and wins[undefeated[0]]:
            return undefeated[0]
        return None

    @property
    def verdict(self) -> str:
        """One or two sentences stating which case holds (the best candidate and what it beat,
        or why there is none), naming any flagged fit."""
        if not self.fits:
            return self.note or "no candidate could be fitted"
        flagged = [f"{f.name} is left out ({f.flag})" for f in self.fits if not f.ok]
        tail = (" " + "; ".join(flagged) + ".") if flagged else ""
        usable, wins, losses = self._standing()

        def p_of(a: str, b: str) -> float:
            for t in self.tests:
                if {t.a, t.b} == {a, b}:
                    return t.p
            return float("nan")

        best = self.best
        if best is not None:
            beaten = [t.b if t.a == best else t.a for t in wins[best]]
            tied = [n for n in usable if n != best and n not in beaten]
            s = f"{best} is favoured: it beats " + ", ".join(
                f"{n} (p = {p_of(best, n):.2g})" for n in beaten
            )
            if tied:
                s += " and is not distinguished from " + ", ".join(
                    f"{n} (p = {p_of(best, n):.2g})" for n in tied
                )
            return s + "; no candidate beats it." + tail
        if len(usable) < 2:
            only = f"only {usable[0]} gives a usable fit" if usable else "no fit is usable"
            return f"no candidate is favoured: {only}, nothing to compare it with." + tail
        if not any(wins.values()):
            return (
                "no candidate is favoured: no likelihood-ratio test between the usable fits is "
                f"significant (every p >= {_LEVEL:g})." + tail
            )
        undefeated = [n for n in usable if losses[n] == 0]
        if len(undefeated) > 1:
            pairs = ", ".join(
                f"{a} vs {b} p = {p_of(a, b):.2g}"
                for i, a in enumerate(undefeated)
                for b in undefeated[i + 1 :]
            )
            return (
                f"no single candidate is favoured: {' and '.join(undefeated)} are not "
                f"distinguished ({pairs}), and no candidate beats them." + tail
            )
        return "no candidate is favoured: every usable fit loses a significant comparison." + tail

    def fit(self, name: str) -> DistributionFit:
        """The fit of one candidate by name."""
        for f in self.fits:
            if f.name == name:
                return f
        raise KeyError(f"no fit named {name!r}; have {[f.name for f in self.fits]}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "xmin": self.xmin,
            "n_tail": self.n_tail,
            "n": self.n,
            "discrete": self.discrete,
            "method": self.method,
            "note": self.note,
            "xmin_scanned": self.xmin_scanned,
            "xmin_distinct": self.xmin_distinct,
            "best": self.best,
            "verdict": self.verdict,
            "fits": [f.to_dict() for f in self.fits],
            "tests": [t.to_dict() for t in self.tests],
        }

    def to_frame(self) -> Any:
        """One row per candidate: parameters, log-likelihood, KS distance, flag."""
        import pandas as pd

        rows = [
            dict(name=f.name, loglik=f.loglik, ks=f.ks, **f.params, flag=f.flag) for f in self.fits
        ]
        return pd.DataFrame(rows).set_index("name") if rows else pd.DataFrame()

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        return summary(
            "FitResult",
            xmin=self.xmin,
            n_tail=self.n_tail,
            n=self.n,
            discrete=self.discrete,
            best=self.best or "none",
            fits=tuple(f.name for f in self.fits),
        )


def fit_distributions(
    x: np.ndarray,
    *,
    discrete: bool | None = None,
    xmin: float | None = None,
    candidates: tuple[str, ...] = CANDIDATES,
    min_tail: int = 10,
    max_xmin_candidates: int | None = None,
    xmin_range: tuple[float, float] | None = None,
) -> FitResult:
    """Fit power law, exponential and lognormal to the tail of ``x`` and compare them.

    Parameters
    ----------
    x : array
        Sample; only positive finite values are used (degrees of 0 drop out).
    discrete : bool, optional
        Integer data (zeta / geometric / discretised lognormal). Default: integer dtype.
    xmin : float, optional
        Lower bound of the tail; default chosen by the KS scan (see the module docstring).
    candidates : tuple of str
        Any of ``"power_law"``, ``"exponential"``, ``"lognormal"``.
    min_tail : int
        Smallest tail the scan may choose; fewer positive values give an empty result with a note.
    max_xmin_candidates : int, optional
        Default None: every distinct value is tried as ``xmin`` (cost about ``n`` times the
        number of distinct values). An int caps the scan at that many values, evenly spaced in
        rank; the result's ``method`` and ``xmin_scanned`` / ``xmin_distinct`` say so.
    xmin_range : (float, float), optional
        Scan only the values ``x`` with ``lo <= x <= hi`` as ``xmin`` (the rest of the tail
        rule unchanged: at least ``min_tail`` values at or above it). No value there gives an
        empty result with a note. Not with a given ``xmin``.

    Returns
    -------
    FitResult
        ``fits`` (parameters, log-likelihood, KS distance ``D``, flag), ``tests`` (Vuong),
        ``best`` and ``verdict``.

    References
    ----------
    .. [1] A. Clauset, C. R. Shalizi, M. E. J. Newman, SIAM Review 51, 661 (2009).
    .. [2] Q. H. Vuong, Econometrica 57, 307 (1989).

    Examples
    --------
    >>> import numpy as np
    >>> x = (1 - np.random.default_rng(0).random(2000)) ** (-1 / 1.5)   # Pareto, alpha = 2.5
    >>> r = fit_distributions(x, xmin=1.0)
    >>> round(r.fit("power_law").params["alpha"], 1), r.best
    (2.5, 'power_law')
    """
    x = np.asarray(x)
    if x.dtype.kind not in "iubf" and x.size:
        raise InputError(f"x: expected an array of numbers, got {x.dtype}")
    min_tail = count("min_tail", min_tail, lo=2, hi=10**9)
    if discrete is None:
        discrete = x.dtype.kind in "iub"
    unknown = set(candidates) - set(FITTERS)
    if unknown:
        raise InputError(f"unknown candidates {sorted(unknown)}; choose from {CANDIDATES}")
    if max_xmin_candidates is not None and int(max_xmin_candidates) < 1:
        raise InputError(f"max_xmin_candidates={max_xmin_candidates} must be >= 1 (or None: all)")
    v = (
        x[np.isfinite(x) & (x > 0)].astype(np.float64)
        if x.dtype.kind == "f"
        else x[x > 0].astype(np.float64)
    )
    n = len(v)
    if n < min_tail or len(np.unique(v)) < 2:
        return FitResult(
            np.nan, 0, n, bool(discrete), note=f"too few positive distinct values ({n})"
        )
    method = FitResult.method
    tried = distinct = 0
    if xmin_range is not None:
        if xmin is not None:
            raise InputError("give xmin or xmin_range, not both")
        lo, hi = (float(b) for b in xmin_range)
        if not lo <= hi:
            raise InputError(f"xmin_range={xmin_range}: expected (lo, hi) with lo <= hi")
        xmin_range = (lo, hi)
    if xmin is None:
        xmin, tried, distinct = scan_xmin(v, discrete, min_tail, max_xmin_candidates, xmin_range)
        if not np.isfinite(xmin):
            return FitResult(
                np.nan,
                0,
                n,
                bool(discrete),
                note=f"no value in xmin_range={xmin_range} leaves {min_tail} values in the tail",
            )
        if xmin_range is not None:
            method += f"; xmin in [{xmin_range[0]:.6g}, {xmin_range[1]:.6g}]"
        if tried < distinct:
            method += (
                f"; xmin scanned over {tried} of {distinct} distinct values "
                f"(cap max_xmin_candidates={max_xmin_candidates})"
            )
        else:
            method += f"; xmin scanned over all {distinct} distinct values"
    else:
        method += "; xmin given"
    xmin = float(xmin)
    if xmin <= 0 or (discrete and xmin < 1):
        raise InputError(f"xmin must be positive (>= 1 for discrete data), got {xmin}")
    tail = v[v >= xmin]
    head = {"method": method, "xmin_scanned": tried, "xmin_distinct": distinct}
    if len(tail) < 2 or len(np.unique(tail)) < 2:
        return FitResult(
            xmin, len(tail), n, bool(discrete), note="tail has fewer than 2 distinct values", **head
        )
    fits, lls = [], {}
    for name in candidates:
        r = FITTERS[name](tail, xmin, discrete)
        if r is None:
            continue
        params, ll, ks, flag = r
        fits.append(DistributionFit(name, params, float(np.sum(ll)), float(ks), flag))
        lls[name] = ll
    tests = []
    names = [f.name for f in fits]
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            from scipy.special import erfc

            d = lls[a] - lls[b]
            R, sd = float(d.sum()), float(d.std())
            z = R / (sd * np.sqrt(len(d))) if sd > 0 else np.nan
            p = float(erfc(abs(z) / np.sqrt(2))) if np.isfinite(z) else np.nan
            tests.append(VuongTest(a, b, R, float(z), p))
    return FitResult(xmin, len(tail), n, bool(discrete), tuple(fits), tuple(tests), **head)
