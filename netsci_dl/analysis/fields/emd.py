"""Pairwise Earth Mover's Distance (Wasserstein-1) between fields on an h x w pixel grid.

The engine behind the functional modules of T18: all pairs of receptive fields, in tiles of
the upper triangle run through :mod:`netsci_dl.parallel` (this process, loky processes, or a
Dask cluster inside ``joblib.parallel_config(backend="dask")``), resumable from disk. Methods, errors and speeds (500 fields of 28x28 on the
2-core machine, shared/bench/EMD.md and benchmarks/bench_emd.py):

- ``ground="euclidean", method="grid"`` (default): min-cost flow on the 48-neighbour grid
  graph; an upper bound, at most 0.755% too large (measured 0.03-0.23% mean, 0.74% max).
- ``ground="manhattan"``: min-cost flow on the 4-neighbour grid graph; exact, the fastest
  (a network simplex compiled with numba, ``_emd_l1``; LEMON when numba is missing).
- ``ground="euclidean", method="exact"``: POT ``emd2`` on the support ``(a-b)+ -> (a-b)-``.
- ``method="sinkhorn"``: POT ``sinkhorn2`` (entropic); only on request, 9% low on average and
  up to 22% off at ``reg=0.05``; no bound.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl import _args
from netsci_dl.errors import InputError

__all__ = ["SignedFields", "EMDOptions", "EMDResult", "emd_matrix", "grid_error_bound"]

_GROUNDS = ("euclidean", "manhattan")
_METHODS = ("grid", "exact", "sinkhorn")


@dataclass(frozen=True)
class EMDOptions:
    """The fine settings of :func:`emd_matrix` (its ``options=``).

    Parameters
    ----------
    neighbourhood : int
        Euclidean grid only: number of moves, 8, 16, 32, 48 (default), 80, 96, 144 (L = 1, 2,
        3, 4, 5, 6, 7); bounds 8.24%, 2.75%, 1.31%, 0.755%, 0.49%, 0.34%, 0.25%
        (:func:`grid_error_bound`). 4 gives the Manhattan graph (bound 41%).
    sinkhorn_reg : float
        Entropic regularisation for ``method="sinkhorn"``, in pixels.
    error_sample : int
        If > 0, also compute the exact Euclidean EMD on that many random pairs (seeded by
        ``seed``) and report the mean and max relative error in ``sample_error``.
    seed : int, optional
        Seed for ``error_sample``; every method itself is deterministic.

    Examples
    --------
    >>> EMDOptions(neighbourhood=16).neighbourhood
    16
    """

    neighbourhood: int = 48
    sinkhorn_reg: float = 0.05
    error_sample: int = 0
    seed: int | None = 0

    def __post_init__(self) -> None:
        _args.check_fields(
            self,
            counts={"error_sample": (0, 10_000_000)},
            reals={"sinkhorn_reg": (0.0, None, True)},
            seeds=("seed",),
        )

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)

    def __repr__(self) -> str:
        from netsci_dl._results import changed_only

        return changed_only(self)


def _options(options: EMDOptions | None) -> EMDOptions:
    opts = options or EMDOptions()
    if not isinstance(opts, EMDOptions):
        raise InputError(f"options must be an EMDOptions, got {type(opts).__name__}")
    return opts


@dataclass(frozen=True)
class SignedFields:
    """Positive and negative parts of signed fields, ``pos, neg >= 0``, same shape.

    Made by ``to_distributions(rfs, "signed")``; :func:`emd_matrix` compares fields ``p`` and
    ``q`` as ``EMD(p+ + q-, q+ + p-)``, both sides normalised to mass 1.
    """

    pos: np.ndarray
    neg: np.ndarray

    def __post_init__(self) -> None:
        if np.shape(self.pos) != np.shape(self.neg):
            raise InputError(
                f"SignedFields: pos {np.shape(self.pos)} and neg {np.shape(self.neg)} differ"
            )

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(np.shape(self.pos))

    def __len__(self) -> int:
        return int(np.shape(self.pos)[0])

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (the fields themselves are in ``pos`` and ``neg``)."""
        return {
            "n": len(self),
            "shape": list(self.shape),
            "mass_pos": float(np.sum(self.pos)),
            "mass_neg": float(np.sum(self.neg)),
        }

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        return summary(
            "SignedFields",
            n=len(self),
            grid_shape=self.shape[1:],
            mass_pos=float(np.sum(self.pos)),
            mass_neg=float(np.sum(self.neg)),
        )


@dataclass(frozen=True)
class EMDResult:
    """All pairwise EMDs of ``n`` fields.

    Attributes
    ----------
    condensed : ndarray
        ``(n * (n - 1) / 2,)`` float64 in ``scipy.spatial.distance.pdist`` order (ready for
        ``scipy.cluster.hierarchy.linkage``); :attr:`matrix` is the square form.
    n, grid_shape, ground, method, neighbourhood, signed
        What was computed. ``neighbourhood`` is the number of grid moves (grid method).
    error_bound : float or None
        Largest relative overestimate vs the exact EMD of the same ground (0.0 for exact
        methods; ``None`` for sinkhorn, which has no bound).
    timings : dict
        ``setup_s``, ``compute_s``, ``total_s``, ``pairs_computed`` (in this call; fewer than
        ``n_pairs`` after a resume), ``ms_per_pair`` (wall clock per computed pair), ``n_jobs`` (tasks run at once),
        ``tile_pairs`` (pairs per tile), ``n_tiles`` (tiles run in this call).
    sample_error : dict or None
        With ``error_sample=m``: mean and max relative error against the exact Euclidean EMD
        on ``m`` random pairs.
    """

    condensed: np.ndarray
    n: int
    grid_shape: tuple[int, int]
    ground: str
    method: str
    neighbourhood: int | None
    error_bound: float | None
    signed: bool
    timings: dict = field(default_factory=dict)
    sample_error: dict | None = None

    @property
    def n_pairs(self) -> int:
        return int(self.n * (self.n - 1) // 2)

    @property
    def matrix(self) -> np.ndarray:
        """The ``(n, n)`` symmetric matrix with a zero diagonal."""
        from scipy.spatial.distance import squareform

        return squareform(self.condensed, checks=False)

    def to_dict(self) -> dict:
        """JSON-able summary (the values themselves are in :attr:`condensed`)."""
        c = self.condensed
        return {
            "n": self.n,
            "n_pairs": self.n_pairs,
            "grid_shape": list(self.grid_shape),
            "ground": self.ground,
            "method": self.method,
            "neighbourhood": self.neighbourhood,
            "error_bound": self.error_bound,
            "signed": self.signed,
            "timings": dict(self.timings),
            "sample_error": self.sample_error,
            "min": float(c.min()) if c.size else None,
            "mean": float(c.mean()) if c.size else None,
            "max": float(c.max()) if c.size else None,
        }

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        c = self.condensed
        return summary(
            "EMDResult",
            n=self.n,
            n_pairs=self.n_pairs,
            grid_shape=self.grid_shape,
            ground=self.ground,
            method=self.method,
            neighbourhood=self.neighbourhood,
            error_bound=self.error_bound,
            signed=self.signed,
            mean=float(c.mean()) if c.size else None,
        )


def grid_error_bound(neighbourhood: int) -> float:
    """Largest relative overestimate of the Euclidean EMD by a grid graph of that many moves.

    ``1 / cos(theta / 2) - 1``, ``theta`` the largest angle between neighbouring moves
    (Bassetti, Gualandi & Veneroni 2018).

    Examples
    --------
    >>> [round(100 * grid_error_bound(k), 3) for k in (8, 16, 32, 48, 80)]
    [8.239, 2.749, 1.308, 0.755, 0.489]
    """
    from netsci_dl.analysis.fields._emd_grid import direction_bound, neighbourhood_to_L

    return direction_bound(neighbourhood_to_L(int(neighbourhood)))


def _as_fields(
    fields: Any, grid_shape: Sequence[int] | None
) -> tuple[tuple[np.ndarray, ...], tuple[int, int], bool]:
    signed = isinstance(fields, SignedFields)
    parts = (fields.pos, fields.neg) if signed else (fields,)
    arrs = [np.asarray(p, dtype=np.float64) for p in parts]
    A = arrs[0]
    if A.ndim == 3:
        shape = (A.shape[1], A.shape[2])
        if grid_shape is not None and tuple(grid_shape) != shape:
            raise InputError(f"grid_shape={tuple(grid_shape)} but fields have shape {A.shape}")
    elif A.ndim == 2:
        if grid_shape is None:
            raise InputError(
                f"fields of shape {A.shape} are flat: give grid_shape=(h, w) with h * w == "
                f"{A.shape[1]}"
            )
        shape = (int(grid_shape[0]), int(grid_shape[1]))
        if shape[0] * shape[1] != A.shape[1]:
            raise InputError(f"grid_shape={shape} does not match {A.shape[1]} values per field")
    else:
        raise InputError(f"fields must have shape (n, h, w) or (n, h*w), got {A.shape}")
    flat = tuple(np.ascontiguousarray(a.reshape(len(a), -1)) for a in arrs)
    for name, a in zip(("pos", "neg") if signed else ("fields",), flat, strict=True):
        bad = ~np.isfinite(a).all(axis=1) | (a < 0).any(axis=1)
        if bad.any():
            raise InputError(
                f"{name}[{int(np.flatnonzero(bad)[0])}] has negative or non-finite values: "
                "EMD needs non-negative masses (see to_distributions)"
            )
    mass = sum(a.sum(axis=1) for a in flat)
    if np.any(mass <= 0):
        raise InputError(
            f"field {int(np.flatnonzero(mass <= 0)[0])} has no mass: every field needs a "
            "positive sum"
        )
    if signed:
        pos, neg = flat
        tot = pos.sum(axis=1) + neg.sum(axis=1)
        pos, neg = pos / tot[:, None], neg / tot[:, None]
        no_pos, no_neg = pos.sum(axis=1) == 0, neg.sum(axis=1) == 0
        if no_pos.any() and no_neg.any():  # then p+ + q- is empty for that pair
            i, j = int(np.flatnonzero(no_pos)[0]), int(np.flatnonzero(no_neg)[0])
            raise InputError(
                f"signed EMD undefined: field {i} has no positive part and field {j} no "
                "negative part, so p+ + q- has no mass"
            )
        return (pos, neg), shape, True
    F = flat[0]
    return (F / F.sum(axis=1, keepdims=True),), shape, False


def _fingerprint(data: tuple[np.ndarray, ...]) -> str:
    h = hashlib.sha256()
    for a in data:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def emd_matrix(
    fields: np.ndarray | SignedFields,
    *,
    grid_shape: Sequence[int] | None = None,
    ground: str = "euclidean",
    method: str = "grid",
    options: EMDOptions | None = None,
    n_jobs: int | None = -1,
    chunk_size: int | None = None,
    progress: bool = True,
    checkpoint: str | None = None,
    callback: Callable[[int, int], Any] | None = None,
) -> EMDResult:
    """Earth Mover's Distance between every pair of fields on an ``h x w`` pixel grid.

    The ground distance is between pixel centres, in pixels. Each field is normalised to mass 1.

    Parameters
    ----------
    fields : ndarray or SignedFields
        ``(n, h, w)``, or ``(n, h * w)`` with ``grid_shape``; non-negative, each with a positive
        sum (use :func:`~netsci_dl.analysis.to_distributions`). A
        :class:`SignedFields` (``method="signed"`` there) gives ``EMD(p+ + q-, q+ + p-)``.
    grid_shape : (h, w), optional
        Needed for flat fields. A ``1 x w`` grid is the 1-D case.
    ground : {"euclidean", "manhattan"}
        Ground distance between pixels.
    method : {"grid", "exact", "sinkhorn"}
        ``"grid"`` (default): uncapacitated min-cost flow on a sparse grid graph.
        Manhattan: the 4-neighbour graph, **exact** (Ling & Okada 2007), by a network
        simplex compiled with numba, coarse to fine (each pair solved first on grids of
        ``2 x 2`` block sums, their optimal trees lifted to first bases of the finer grids;
        LEMON's through ``pylmcf`` when numba is not installed; the same values): about
        0.5 ms a 28x28 pair on noisy fields (1.9x faster than LEMON), 0.2 ms on smooth,
        sparse ones (4.7x).
        Euclidean: LEMON's network simplex (``pylmcf``) on the ``neighbourhood``-move
        graph of Bassetti, Gualandi & Veneroni (``options.neighbourhood`` moves), an **upper
        bound** never more than ``error_bound`` too large (0.755% for 48 moves; measured on
        28x28 receptive-field-like
        data: 0.03-0.23% mean, 0.74% max), about 5 ms a pair.
        ``"exact"``: Euclidean: POT ``ot.emd2`` (network simplex) on the reduced support
        ``(a - b)+ -> (a - b)-``, exact, 13-21 ms a pair; Manhattan: the exact 4-neighbour graph.
        ``"sinkhorn"``: POT ``ot.sinkhorn2`` on the dense cost, ``options.sinkhorn_reg`` pixels,
        1000 iterations. Only on request: on 28x28 |N(0,1)| fields at ``reg=0.05`` it was
        8.6% low on average, up to 22% off, Spearman 0.82 with the exact EMD, and 183 ms a
        pair (slower than exact); at faster regularisations 30-300% off (shared/bench/EMD.md).
    options : EMDOptions, optional
        The grid's neighbourhood, Sinkhorn's regularisation, the error sample
        (:class:`EMDOptions`).
    n_jobs : int, optional
        Worker processes (:func:`netsci_dl.parallel.map_tasks`); -1 (default) = one per core,
        1 = this process, None = as a ``joblib.parallel_config`` says. Inside
        ``joblib.parallel_config(backend="dask")`` (or
        :func:`netsci_dl.parallel.use_scheduler`) the tiles run on the Dask cluster's workers.
        The numbers do not depend on it.
    chunk_size : int, optional
        Pairs per tile (the unit of work of a worker, of progress, checkpoint and interrupt);
        by default sized to 0.1-2 s of work from a few pairs timed first (computed here and
        kept). Tile boundaries never change a value.
    progress : bool
        tqdm progress bar (shown on a terminal only).
    checkpoint : str or path, optional
        A folder holding ``values.npy`` and ``done.npy`` (memory maps), ``meta.json`` and
        ``tiles/``. Created if missing; otherwise the run resumes the pairs not yet done.
        Workers write each finished tile to ``tiles/`` (atomically) and this process copies it
        into ``values.npy`` before marking it done, so an interrupt (Ctrl-C, a crash, a
        raising ``callback``, a closed Dask client, a killed worker) leaves a resumable
        folder, and tiles that finished after the interrupt are picked up by the next call.
        On a cluster it must be on a file system the workers share. Fields and settings must
        match.
    callback : callable, optional
        ``callback(done_pairs, total_pairs)`` after each stored tile; raising stops the run.

    Returns
    -------
    EMDResult
        ``condensed`` values (pdist order), ``matrix`` (square), the method, ``error_bound``
        and timings (with ``n_jobs``, the workers used, ``tile_pairs`` and ``n_tiles``).

    Examples
    --------
    >>> import numpy as np
    >>> f = np.zeros((3, 1, 4)); f[0, 0, 0] = f[1, 0, 3] = 1; f[2, 0, 1:3] = 0.5
    >>> r = emd_matrix(f, ground="manhattan", n_jobs=1, progress=False)
    >>> r.matrix.round(3).tolist()
    [[0.0, 3.0, 1.5], [3.0, 0.0, 1.5], [1.5, 1.5, 0.0]]
    >>> r.error_bound
    0.0
    >>> r2 = emd_matrix(f.reshape(3, 4), grid_shape=(2, 2), n_jobs=1, progress=False)
    >>> round(float(r2.condensed[0]), 4), round(r2.error_bound, 5)
    (1.4142, 0.00755)

    Notes
    -----
    Masses are scaled to integers (each field rounded once to ``S`` units, ``S`` up to 1e15)
    and arc costs to ``ceil(1e6 |step|)``: the relative rounding error is below 1e-9, and the
    Euclidean grid value stays an upper bound. Pairs run in ``pdist`` order, in tiles of
    consecutive pairs (bands of the upper triangle), as tasks of
    :func:`netsci_dl.parallel.imap_tasks`; the fields are sent to each worker once, and each
    worker keeps one solver: the compiled Manhattan simplex solves a tile's pairs in one call,
    each from the same coarsest spanning tree, the LEMON graphs are re-solved with ``repair_only`` warm starts (the
    optimum is unique, so the order does not matter). Memory: the ``n(n-1)/2`` float64
    values plus about 50 MB a worker.

    References
    ----------
    .. [1] H. Ling, K. Okada, "An efficient Earth Mover's Distance algorithm for robust
       histogram comparison", IEEE TPAMI 29(5), 2007.
    .. [2] F. Bassetti, S. Gualandi, M. Veneroni, "On the computation of Kantorovich-Wasserstein
       distances between 2D-histograms by uncapacitated minimum cost flows",
       arXiv:1804.00445, SIAM J. Optim. 2020.
    """
    from netsci_dl.analysis.fields._emd_grid import Spec, direction_bound, neighbourhood_to_L
    from netsci_dl.analysis.fields._emd_workers import Store, run_pairs, settings_dict

    t0 = time.perf_counter()
    opts = _options(options)
    neighbourhood, sinkhorn_reg = opts.neighbourhood, opts.sinkhorn_reg
    error_sample, seed = opts.error_sample, opts.seed
    if ground not in _GROUNDS:
        raise InputError(f"ground={ground!r} is not one of {_GROUNDS}")
    if method not in _METHODS:
        raise InputError(f"method={method!r} is not one of {_METHODS}")
    data, shape, signed = _as_fields(fields, grid_shape)
    n = len(data[0])
    nb: int | None = None
    bound: float | None
    if method == "sinkhorn":
        if not sinkhorn_reg > 0:
            raise InputError(f"sinkhorn_reg must be > 0, got {sinkhorn_reg}")
        spec = Spec("sinkhorn", shape, ground=ground, signed=signed, reg=float(sinkhorn_reg))
        bound = None
    elif ground == "manhattan":
        spec, nb, bound = Spec("grid", shape, L=0, ground=ground, signed=signed), 4, 0.0
    elif method == "exact":
        spec, bound = Spec("exact", shape, ground=ground, signed=signed), 0.0
    else:
        L = neighbourhood_to_L(int(neighbourhood))
        spec = Spec("grid", shape, L=L, ground=ground, signed=signed)
        nb, bound = int(neighbourhood), direction_bound(L)
    n_pairs = n * (n - 1) // 2
    settings = settings_dict(spec, n, _fingerprint(data))
    store = Store(n_pairs, checkpoint, settings)
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    t1 = time.perf_counter()
    computed, tiling = run_pairs(
        spec,
        data,
        n,
        store,
        key=key,
        n_jobs=n_jobs,
        chunk_size=chunk_size,
        progress=progress,
        callback=callback,
    )
    t2 = time.perf_counter()
    values = store.result()
    sample = _sample_error(spec, data, n, values, error_sample, seed) if error_sample else None
    t3 = time.perf_counter()
    timings = {
        "setup_s": t1 - t0,
        "compute_s": t2 - t1,
        "total_s": t3 - t0,
        "pairs_computed": int(computed),
        "ms_per_pair": 1e3 * (t2 - t1) / computed if computed else None,
        "n_jobs": tiling["n_workers"],
        "tile_pairs": tiling["tile_pairs"],
        "n_tiles": tiling["n_tiles"],
    }
    return EMDResult(
        condensed=values,
        n=n,
        grid_shape=shape,
        ground=ground,
        method=method if ground == "euclidean" or method == "sinkhorn" else "exact",
        neighbourhood=nb,
        error_bound=bound,
        signed=signed,
        timings=timings,
        sample_error=sample,
    )


def _sample_error(
    spec: Any, data: tuple[np.ndarray, ...], n: int, values: np.ndarray, m: int, seed: Any
) -> dict | None:
    """Mean / max relative error of ``values`` vs the exact EMD of the same ground on m pairs."""
    from dataclasses import replace

    from netsci_dl.analysis.fields._emd_grid import make_solver
    from netsci_dl.analysis.fields._emd_workers import pair_index

    if len(values) == 0:
        return None
    rng = np.random.default_rng(seed)
    k = np.sort(rng.choice(len(values), size=min(int(m), len(values)), replace=False))
    exact = make_solver(replace(spec, kind="exact"), data)(*pair_index(n, k))
    ok = exact > 0
    rel = (values[k][ok] - exact[ok]) / exact[ok]
    return {
        "pairs": int(k.size),
        "mean_rel_error": float(rel.mean()) if rel.size else 0.0,
        "max_abs_rel_error": float(np.abs(rel).max()) if rel.size else 0.0,
        "reference": f"exact {spec.ground} (POT emd2)",
    }
