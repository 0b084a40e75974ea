"""Chunked, parallel, resumable evaluation of all pairs (private; see emd.py).

Pairs ``(i, j)``, ``i < j``, are numbered in condensed (``scipy.spatial.distance.pdist``)
order. Work is split into chunks of consecutive pending pairs; a pool of processes (one per
core) evaluates them, each worker building its solver once. The parent stores every finished
chunk. With a checkpoint directory the values and a per-pair done mask are ``.npy`` memory
maps: a chunk's values are flushed to disk before its done flags, so an interrupted run (crash,
KeyboardInterrupt, a raising callback) leaves a consistent file that the next call resumes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing as mp
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.analysis._emd_grid import Spec, make_solver
from netsci_dl.errors import InputError

__all__ = ["pair_index", "n_workers", "Store", "run_pairs", "settings_dict"]

log = logging.getLogger("netsci_dl.analysis.emd")


def pair_index(n: int, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Condensed indices ``k`` -> ``(i, j)`` with ``i < j`` (pdist order)."""
    k = np.asarray(k, dtype=np.int64)
    i_ = np.arange(n, dtype=np.int64)
    start = i_ * n - i_ * (i_ + 1) // 2  # condensed index of (i, i+1)
    i = np.searchsorted(start, k, side="right") - 1
    j = k - start[i] + i + 1
    return i, j


def n_workers(n_jobs: int | None) -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    if n_jobs is None or n_jobs == 0:
        return 1
    if n_jobs < 0:
        return max(1, cores + 1 + n_jobs)
    return int(n_jobs)


class Store:
    """Values + done mask, in memory or as memory-mapped ``.npy`` files in a directory."""

    def __init__(self, n_pairs: int, path: str | os.PathLike | None, settings: dict) -> None:
        self.path = None if path is None else Path(path)
        if self.path is None:
            self.values = np.full(n_pairs, np.nan)
            self.done = np.zeros(n_pairs, dtype=bool)
            return
        if not self.path.exists():
            self._create(n_pairs, settings)
        self._open(n_pairs, settings)

    def _create(self, n_pairs: int, settings: dict) -> None:
        p = self.path
        assert p is not None
        if not p.parent.exists():
            raise FileNotFoundError(f"checkpoint folder {p.parent} does not exist")
        tmp = Path(tempfile.mkdtemp(prefix=f".{p.name}.", dir=p.parent))
        try:
            v = np.lib.format.open_memmap(tmp / "values.npy", "w+", np.float64, (n_pairs,))
            v[:] = np.nan
            v.flush()
            d = np.lib.format.open_memmap(tmp / "done.npy", "w+", np.bool_, (n_pairs,))
            d.flush()
            del v, d
            (tmp / "meta.json").write_text(json.dumps(settings, indent=1))
            os.replace(tmp, p)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _open(self, n_pairs: int, settings: dict) -> None:
        p = self.path
        assert p is not None
        meta_file = p / "meta.json"
        if not p.is_dir() or not meta_file.exists():
            raise InputError(f"checkpoint={str(p)!r} exists but is not an EMD checkpoint folder")
        stored = json.loads(meta_file.read_text())
        if stored != settings:
            diff = sorted(
                k for k in set(stored) | set(settings) if stored.get(k) != settings.get(k)
            )
            raise InputError(
                f"checkpoint={str(p)!r} was made for other fields or settings (differs in "
                f"{diff}); use another path or delete it"
            )
        self.values = np.load(p / "values.npy", mmap_mode="r+")
        self.done = np.load(p / "done.npy", mmap_mode="r+")
        if self.values.shape != (n_pairs,) or self.done.shape != (n_pairs,):
            raise InputError(f"checkpoint={str(p)!r} has the wrong size for {n_pairs} pairs")

    def put(self, idx: np.ndarray, vals: np.ndarray) -> None:
        self.values[idx] = vals
        if self.path is not None:
            self.values.flush()  # values reach the disk before their done flags
        self.done[idx] = True
        if self.path is not None:
            self.done.flush()

    def result(self) -> np.ndarray:
        return np.array(self.values, dtype=np.float64)


# ---- worker processes ----------------------------------------------------------------------
_SOLVER: Any = None


def _init_worker(spec: Spec, data: tuple[np.ndarray, ...], n: int) -> None:
    global _SOLVER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _SOLVER = (make_solver(spec, data), n)


def _work(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    solver, n = _SOLVER
    return idx, solver(*pair_index(n, idx))


def _chunks(pending: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for s in range(0, len(pending), size):
        yield pending[s : s + size]


def _context() -> Any:
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


def run_pairs(
    spec: Spec,
    data: tuple[np.ndarray, ...],
    n: int,
    store: Store,
    *,
    n_jobs: int,
    chunk_size: int | None,
    progress: bool,
    callback: Callable[[int, int], Any] | None,
) -> int:
    """Evaluate every pending pair into ``store``; return the number of pairs computed now."""
    n_pairs = len(store.done)
    pending = np.flatnonzero(~np.asarray(store.done))
    if pending.size == 0:
        return 0
    workers = n_workers(n_jobs)
    if chunk_size is None:
        chunk_size = int(np.clip(pending.size // (8 * workers), 16, 1024))
    if chunk_size < 1:
        raise InputError(f"chunk_size must be >= 1, got {chunk_size}")
    n_chunks = -(-pending.size // chunk_size)
    workers = max(1, min(workers, n_chunks))
    from tqdm.auto import tqdm

    bar = tqdm(
        total=n_pairs,
        initial=n_pairs - pending.size,
        unit="pair",
        desc=f"EMD {spec.kind}",
        disable=None if progress else True,
        smoothing=0.05,
    )
    computed = 0
    pool = None
    try:
        if workers == 1:
            solver = make_solver(spec, data)
            results: Iterator[tuple[np.ndarray, np.ndarray]] = (
                (idx, solver(*pair_index(n, idx))) for idx in _chunks(pending, chunk_size)
            )
        else:
            pool = _context().Pool(workers, initializer=_init_worker, initargs=(spec, data, n))
            results = pool.imap_unordered(_work, _chunks(pending, chunk_size), chunksize=1)
        for idx, vals in results:
            store.put(idx, vals)
            computed += len(idx)
            bar.update(len(idx))
            if callback is not None:
                callback(int(np.count_nonzero(store.done)), n_pairs)
    except BaseException:
        if pool is not None:
            pool.terminate()
        if store.path is not None:
            log.warning(
                "EMD interrupted after %d of %d pairs; call again with checkpoint=%r to resume",
                int(np.count_nonzero(store.done)),
                n_pairs,
                str(store.path),
            )
        raise
    finally:
        bar.close()
        if pool is not None:
            with contextlib.suppress(Exception):
                pool.close()
                pool.join()
    return computed


def settings_dict(spec: Spec, n: int, fingerprint: str) -> dict:
    d = asdict(spec)
    d["grid_shape"] = list(spec.grid_shape)
    d.update(n=n, fingerprint=fingerprint, format=1)
    return d
