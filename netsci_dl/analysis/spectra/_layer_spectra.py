"""Spectra of every weight matrix of a model: ESD, power-law alpha, norms, MP bulk, traps.

See :func:`layer_spectra`; the per-matrix work runs as tasks through
:func:`netsci_dl.parallel.map_tasks`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl import _args
from netsci_dl._array import torch_threads
from netsci_dl.analysis.spectra._esd import (
    COMPAT,
    ESD,
    METHODS,
    MPFit,
    esd,
    fitted_eigenvalues,
    mp_fit,
    peak_window,
)
from netsci_dl.errors import InputError

__all__ = ["MatrixSpectrum", "LayerSpectra", "layer_spectra"]

#: smallest tail the xmin scan may choose (as :func:`fit_distributions`)
MIN_TAIL = 10


def _finite(x: Any) -> Any:
    return float(x) if np.isfinite(x) else None


@dataclass(frozen=True, eq=False)
class MatrixSpectrum:
    """The spectrum of one weight matrix (or the change of one) and what is measured on it.

    Attributes
    ----------
    name : str
    esd : ESD
        The eigenvalues of ``W^T W`` (:func:`esd`).
    alpha, alpha_stderr, ks, xmin, n_tail :
        The power law ``p(lambda) ~ lambda^-alpha`` fitted by maximum likelihood to the
        ``n_tail`` eigenvalues ``>= xmin`` (Clauset-Shalizi-Newman), its standard error
        ``(alpha - 1) / sqrt(n_tail)`` and its KS distance. NaN (and ``n_tail = 0``) when no
        fit could be made; :attr:`note` says why.
    xmin_rule : {"ks", "peak", "given"}
    peak, xmin_lo, xmin_hi : float
        ``xmin_rule="peak"``: the ESD's peak and the closed range scanned (else NaN).
    mp : MPFit
        The Marchenko-Pastur bulk and its spikes.
    traps : MPFit or None
        The MP fit of the same matrix with its entries shuffled (within each kernel slice);
        its spikes are correlation traps. None when not asked for.
    note : str
    """

    name: str
    esd: ESD
    alpha: float
    alpha_stderr: float
    ks: float
    xmin: float
    n_tail: int
    xmin_rule: str
    peak: float
    xmin_lo: float
    xmin_hi: float
    mp: MPFit
    traps: MPFit | None = None
    note: str = ""

    @property
    def lambda_max(self) -> float:
        return self.esd.lambda_max

    @property
    def alpha_weighted(self) -> float:
        """``alpha * log10(lambda_max)``."""
        return self.alpha * self.log_spectral_norm

    @property
    def log_spectral_norm(self) -> float:
        """``log10(lambda_max)`` (the squared spectral norm; ``-inf`` for a zero matrix)."""
        with np.errstate(divide="ignore"):
            return float(np.log10(self.lambda_max))

    @property
    def log_frobenius_norm(self) -> float:
        """``log10(sum lambda)`` (the squared Frobenius norm, all slices)."""
        with np.errstate(divide="ignore"):
            return float(np.log10(np.sum(self.esd.eigenvalues)))

    @property
    def stable_rank(self) -> float:
        """``sum lambda / lambda_max`` (NaN for a zero matrix)."""
        top = self.lambda_max
        return float(np.sum(self.esd.eigenvalues) / top) if top > 0 else float("nan")

    @property
    def n_traps(self) -> int | None:
        return None if self.traps is None else self.traps.n_spikes

    def row(self) -> dict[str, Any]:
        """One flat row: the table's columns (floats may be NaN or infinite)."""
        e, mp = self.esd, self.mp
        return {
            "name": self.name,
            "shape": "x".join(str(d) for d in e.shape),
            "n": e.n,
            "m": e.m,
            "q": e.q,
            "n_slices": e.n_slices,
            "n_eigenvalues": len(e.eigenvalues),
            "method": e.method,
            "lambda_max": self.lambda_max,
            "alpha": self.alpha,
            "alpha_stderr": self.alpha_stderr,
            "ks": self.ks,
            "xmin": self.xmin,
            "n_tail": self.n_tail,
            "xmin_rule": self.xmin_rule,
            "peak": self.peak,
            "alpha_weighted": self.alpha_weighted,
            "log_spectral_norm": self.log_spectral_norm,
            "log_frobenius_norm": self.log_frobenius_norm,
            "stable_rank": self.stable_rank,
            "mp_sigma": mp.sigma,
            "mp_lambda_plus": mp.lambda_plus,
            "mp_threshold": mp.threshold,
            "n_spikes": mp.n_spikes,
            "n_above_edge": mp.n_above_edge,
            "n_traps": self.n_traps,
            "note": self.note,
        }

    def to_dict(self, *, eigenvalues: bool = False) -> dict[str, Any]:
        """The row (non-finite floats as None), the MP fits, and the eigenvalues if asked."""
        d = {k: (_finite(v) if isinstance(v, float) else v) for k, v in self.row().items()}
        d["shape"] = list(self.esd.shape)
        d["xmin_range"] = [_finite(self.xmin_lo), _finite(self.xmin_hi)]
        d["mp"] = {k: _finite(v) for k, v in self.mp.to_dict().items()}
        d["traps"] = None if self.traps is None else self.traps.to_dict()
        if eigenvalues:
            d["eigenvalues"] = self.esd.eigenvalues.tolist()
        return d

    def __repr__(self) -> str:
        return (
            f"MatrixSpectrum({self.name!r}, shape={self.esd.shape}, alpha={self.alpha:.3g} "
            f"+- {self.alpha_stderr:.2g}, lambda_max={self.lambda_max:.4g}, "
            f"spikes={self.mp.n_spikes}, traps={self.n_traps})"
        )


@dataclass(frozen=True, eq=False)
class LayerSpectra:
    """The spectra of a model's weight matrices, in input order (see :func:`layer_spectra`)."""

    matrices: tuple[MatrixSpectrum, ...]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.matrices)

    @property
    def alpha(self) -> np.ndarray:
        return np.array([s.alpha for s in self.matrices], dtype=np.float64)

    def __len__(self) -> int:
        return len(self.matrices)

    def __iter__(self) -> Any:
        return iter(self.matrices)

    def __getitem__(self, key: int | str) -> MatrixSpectrum:
        if isinstance(key, str):
            for s in self.matrices:
                if s.name == key:
                    return s
            raise KeyError(f"no matrix named {key!r}; have {list(self.names)}")
        return self.matrices[key]

    def to_frame(self) -> Any:
        """One row per matrix (the columns of :meth:`MatrixSpectrum.row`)."""
        import pandas as pd

        rows = [s.row() for s in self.matrices]
        return pd.DataFrame(rows, columns=list(rows[0]) if rows else None)

    def to_dict(self, *, eigenvalues: bool = False) -> dict[str, Any]:
        return {
            "settings": dict(self.settings),
            "matrices": [s.to_dict(eigenvalues=eigenvalues) for s in self.matrices],
        }

    def __repr__(self) -> str:
        a = self.alpha[np.isfinite(self.alpha)]
        spread = f"alpha median {np.median(a):.3g} [{a.min():.3g}, {a.max():.3g}]" if len(a) else ""
        spikes = sum(s.mp.n_spikes for s in self.matrices)
        traps = [s.n_traps for s in self.matrices if s.n_traps is not None]
        what = "changes" if self.settings.get("delta") else "matrices"
        return (
            f"LayerSpectra({len(self)} {what}; {spread or 'no alpha'}; {spikes} spikes"
            + (f", {sum(traps)} traps" if traps else "")
            + f"; xmin={self.settings.get('xmin')})"
        )


# ---- inputs ----------------------------------------------------------------------------------
def _named(weights: Any, what: str) -> list[tuple[str, Any]]:
    """``(name, array)`` pairs from an array, a mapping, a sequence of arrays or of pairs, or a
    LayeredGraph (its ``weight`` blocks, named as the graph names them)."""
    from netsci_dl.graph import LayeredGraph

    if isinstance(weights, LayeredGraph):
        return [
            (weights.block_names[b], weights.dense_block(b))
            for b in range(weights.n_blocks)
            if weights.block_kinds[b] == "weight"
        ]
    if isinstance(weights, np.ndarray) or hasattr(weights, "__array__"):
        return [("0", weights)]
    if isinstance(weights, Mapping):
        return [(str(k), v) for k, v in weights.items()]
    if isinstance(weights, Sequence) and not isinstance(weights, str):
        items = list(weights)
        if all(isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str) for x in items):
            return [(k, v) for k, v in items]
        return [(str(i), v) for i, v in enumerate(items)]
    raise InputError(
        f"{what}: expected an array, a mapping or sequence of (name, array), or a LayeredGraph; "
        f"got {type(weights).__name__}"
    )


def _pair(pairs: list[tuple[str, Any]], ref: Any) -> list[tuple[str, Any]]:
    """``(name, W - W_ref)`` for every name, the reference paired by name."""
    refs = dict(_named(ref, "reference"))
    missing = [k for k, _ in pairs if k not in refs]
    if missing:
        raise InputError(f"reference has no matrix named {missing}; it has {list(refs)}")
    out = []
    for k, w in pairs:
        if tuple(np.shape(w)) != tuple(np.shape(refs[k])):
            raise InputError(
                f"{k}: shape {tuple(np.shape(w))} but the reference's is {np.shape(refs[k])}"
            )
        out.append((k, _Difference(w, refs[k])))
    return out


class _Difference:
    """``W - W_ref`` in float64, computed when a task asks (``np.asarray``), so that lazily
    read checkpoints stay on disk until then."""

    def __init__(self, a: Any, b: Any) -> None:
        self.a, self.b = a, b
        self.shape = tuple(np.shape(a))
        self.dtype = np.dtype(np.float64)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        d = np.asarray(self.a, dtype=np.float64) - np.asarray(self.b, dtype=np.float64)
        return d if dtype is None else d.astype(dtype, copy=False)

    def read_rows(self, start: int, stop: int, dtype: Any = None) -> np.ndarray:
        """Rows ``start:stop`` of ``W - W_ref`` in float64 (each side read by rows when it
        can be), so that a large difference is never held whole."""
        d = _rows(self.a, start, stop) - _rows(self.b, start, stop)
        return d if dtype is None else d.astype(dtype, copy=False)


def _rows(a: Any, start: int, stop: int) -> np.ndarray:
    if hasattr(a, "read_rows"):
        return a.read_rows(start, stop, np.float64)
    return np.asarray(a[start:stop], dtype=np.float64)


# ---- one matrix ------------------------------------------------------------------------------
def _tail_fit(e: ESD, xmin: Any, compat: str | None) -> dict[str, Any]:
    from netsci_dl.analysis.structure.fits import fit_distributions

    lam = fitted_eigenvalues(e, compat)
    out = {"peak": np.nan, "xmin_lo": np.nan, "xmin_hi": np.nan, "note": ""}
    kw: dict[str, Any] = {"candidates": ("power_law",), "min_tail": MIN_TAIL}
    if xmin == "peak":
        if len(lam) < MIN_TAIL:
            out["note"] = f"{len(lam)} nonzero eigenvalues: too few for a tail fit"
            return out
        out["peak"], out["xmin_lo"], out["xmin_hi"] = peak_window(lam, compat)
        kw["xmin_range"] = (out["xmin_lo"], out["xmin_hi"])
    elif xmin is not None:
        kw["xmin"] = float(xmin)
    elif compat == "weightwatcher" and len(lam) >= _WW_SMALL_N:
        return {**out, **_ww_scan(lam)}
    r = fit_distributions(lam, **kw)
    if not r.fits:
        out["note"] = r.note or "no power law could be fitted"
        return out
    a, n_tail = r.fits[0].params["alpha"], r.n_tail
    out.update(alpha=a, alpha_stderr=(a - 1) / np.sqrt(n_tail), ks=r.fits[0].ks)
    out.update(xmin=r.xmin, n_tail=n_tail)
    return out


#: below this many eigenvalues the peer switches to another estimator (WW_powerlaw's SMALL_N_CUTOFF)
_WW_SMALL_N = 20


def _ww_scan(lam: np.ndarray) -> dict[str, Any]:
    """The peer's default xmin scan (WeightWatcher's ``WWFit``, ``fix_fingers=False``): every
    eigenvalue but the largest is a candidate xmin (tails down to 2 values, where the KS
    distance is small by construction: the source of its spuriously large alphas), the
    maximum-likelihood alpha of each tail, its one-sided KS distance
    ``max_{j>=i} |1 - (x_j/x_i)^(1-alpha_i) - (j-i)/n_i| = |(N-j)/(N-i) - exp((1-alpha_i)
    (log x_j - log x_i))|``, the first minimum. Vectorised over blocks of candidates, each
    against its tail only (the upper triangle), in place."""
    x = np.sort(np.asarray(lam, dtype=np.float64))
    N = len(x)
    logx = np.log(x)
    i = np.arange(N - 1)
    n = (N - i).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        alphas = 1 + n / (np.cumsum(logx[::-1])[::-1][:-1] - n * logx[:-1])
    D = np.ones(N - 1)
    left = (N - np.arange(N)).astype(np.float64)  # N - j
    step = max(1, (1 << 21) // N)
    for a in range(0, N - 1, step):
        rows = i[a : a + step]
        rows = rows[alphas[rows] > 1]
        if not len(rows):
            continue
        with np.errstate(invalid="ignore", over="ignore"):
            g = np.subtract.outer(-logx[rows], -logx[a:])  # log x_j - log x_i, j >= a
            g *= (1 - alphas[rows])[:, None]
            np.exp(g, out=g)  # (x_j / x_i)^(1 - alpha_i)
            np.subtract(left[None, a:] / n[rows][:, None], g, out=g)
            np.abs(g, out=g)
        g[np.arange(a, N)[None, :] < rows[:, None]] = 0.0  # j < i: not in the tail
        D[rows] = g.max(axis=1)
    best = int(np.argmin(D))
    a = float(alphas[best])
    return {"alpha": a, "alpha_stderr": (a - 1) / np.sqrt(n[best]), "ks": float(D[best]),
            "xmin": float(x[best]), "n_tail": int(N - best),
            "note": "xmin by the peer's scan (compat='weightwatcher')"}  # fmt: skip


def _shuffled(W: Any, rng: np.random.Generator) -> np.ndarray:
    """``W`` with its entries permuted at random within each kernel slice (a matrix: all),
    in the dtype it is read in (bf16 as float32: exact; the permutation depends on the shape
    alone), so that a large matrix is not held in float64."""
    a = np.asarray(W)
    if a.ndim == 2:
        return rng.permutation(a.ravel()).reshape(a.shape)
    s = a.reshape(a.shape[0] * a.shape[1], -1)
    return rng.permuted(s, axis=0).reshape(a.shape)


def _one(i: int, shared: tuple[Any, ...]) -> MatrixSpectrum:
    """The task of one matrix, on one BLAS and one torch thread (so that ``n_jobs`` never
    changes a bit)."""
    pairs, opts = shared
    name, W = pairs[i]
    limit: Any = contextlib.nullcontext()
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_limits

        limit = threadpool_limits(1)
    with limit, torch_threads(1):
        e = esd(W, method=opts["method"], name=name)
        fit = {"alpha": np.nan, "alpha_stderr": np.nan, "ks": np.nan, "xmin": np.nan, "n_tail": 0}
        fit.update(_tail_fit(e, opts["xmin"], opts["compat"]))
        traps = None
        if opts["traps"]:
            rng = np.random.default_rng([opts["seed"], i])
            t = esd(_shuffled(W, rng), method=opts["method"], name=name)
            traps = mp_fit(t.eigenvalues, t.n, t.m)
    rule = "ks" if opts["xmin"] is None else ("peak" if opts["xmin"] == "peak" else "given")
    return MatrixSpectrum(
        name=name, esd=e, xmin_rule=rule, mp=mp_fit(e.eigenvalues, e.n, e.m), traps=traps, **fit
    )


def _check(xmin: Any, compat: Any, method: str) -> None:
    if method not in METHODS:
        raise InputError(f"method={method!r}: expected one of {METHODS}")
    if compat not in COMPAT:
        raise InputError(f"compat={compat!r}: expected None or 'weightwatcher'")
    if xmin is None or xmin == "peak":
        return
    if isinstance(xmin, str) or not np.isfinite(float(xmin)) or float(xmin) <= 0:
        raise InputError(f"xmin={xmin!r}: expected None (KS scan), 'peak' or a positive number")


def layer_spectra(
    weights: Any,
    *,
    reference: Any = None,
    xmin: float | str | None = None,
    compat: str | None = None,
    traps: bool = True,
    seed: int = 0,
    method: str = "auto",
    n_jobs: int | None = 1,
    progress: bool | None = None,
) -> LayerSpectra:
    """Spectra of every weight matrix: ESD, alpha, norms, Marchenko-Pastur bulk, traps.

    Parameters
    ----------
    weights : array, mapping, sequence or LayeredGraph
        One matrix or kernel; a mapping ``{name: array}``; a sequence of arrays (named
        ``"0", "1", ...``) or of ``(name, array)`` pairs; or a LayeredGraph (its ``weight``
        blocks, ``(n_src, n_dst)``). Matrices in either orientation, kernels ``(out, in, k...)``
        (see :func:`esd`). A graph's convolution blocks are *reduced* kernels (one number per
        channel pair): for kernel spectra pass the raw tensors, e.g. the arrays of
        :func:`netsci_dl.export.weight_tensors`.
    reference : same kinds, optional
        Spectra of the change ``W - W_ref`` instead (Delta W: a snapshot against the
        initialisation, or two models), paired by name; shapes must agree.
    xmin : None, "peak" or float
        The tail's lower bound. None: the Clauset-Shalizi-Newman scan over every eigenvalue
        (minimal KS distance; tails of at least 10). ``"peak"``: the same scan restricted to
        ``[0.95 peak, 1.5 peak]``, where the peak is the mode of a 100-bin histogram of
        ``log10`` eigenvalues (:func:`peak_window`). A number: that bound.
    compat : None or "weightwatcher"
        ``"weightwatcher"`` reproduces the peer's choice of eigenvalues and window: only
        eigenvalues above ``1e-5`` are fitted, and under ``xmin="peak"`` the lower bound is
        ``log10(0.95 peak)``, a log-unit number compared with linear eigenvalues (WeightWatcher's
        ``fix_fingers="xmin_peak"``; see :func:`peak_window`); with ``xmin=None`` the
        peer's own scan (every eigenvalue but the largest a candidate, tails down to 2, its
        one-sided KS distance; 20 eigenvalues or more), so alphas equal its ``analyze()``.
        Otherwise the fit is this package's. Default: eigenvalues above the numerical zero,
        the bounds in linear units.
    traps : bool
        Also the MP fit of each matrix with its entries shuffled (seeded): its spikes are
        correlation traps.
    seed : int
        Seeds the shuffles (matrix ``i`` uses ``default_rng([seed, i])``).
    method : {"auto", "gram", "svd"}
        How eigenvalues are computed (:func:`esd`).
    n_jobs : int, optional
        Matrices run as tasks of :func:`netsci_dl.parallel.map_tasks`; every task uses one
        BLAS thread, so the results are bit-identical for every ``n_jobs`` in worker
        processes (the default). Workers that are threads of one process share the BLAS
        thread count: there the eigenvalues may differ in the last bits (1e-14 relative).
    progress : bool, optional
        False: no progress bar.

    Returns
    -------
    LayerSpectra
        One :class:`MatrixSpectrum` per matrix, in input order; ``to_frame()`` has one row each.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> S = layer_spectra({"fc1": rng.normal(size=(60, 40)), "fc2": rng.normal(size=(40, 5))})
    >>> S.names, [s.mp.n_spikes for s in S], S["fc1"].esd.method
    (('fc1', 'fc2'), [0, 0], 'gram')
    """
    seed = _args.seed("seed", seed, none=False)
    from netsci_dl.parallel import map_tasks

    _check(xmin, compat, method)
    pairs = _named(weights, "weights")
    if not pairs:
        raise InputError("weights: no matrix given")
    if reference is not None:
        pairs = _pair(pairs, reference)
    opts = {"xmin": xmin, "compat": compat, "traps": bool(traps), "seed": int(seed)}
    opts["method"] = method
    out = map_tasks(
        _one,
        range(len(pairs)),
        shared=(pairs, opts),
        n_jobs=n_jobs,
        desc="spectra",
        progress=progress,
        unit="matrix",
    )
    settings = {**opts, "xmin": xmin if xmin is None or xmin == "peak" else float(xmin)}
    settings["delta"] = reference is not None
    return LayerSpectra(tuple(out), settings)
