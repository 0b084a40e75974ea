"""Tiled, parallel, resumable evaluation of all pairs (private; see emd.py).

Pairs ``(i, j)``, ``i < j``, are numbered in condensed (``scipy.spatial.distance.pdist``)
order. The pending pairs are cut into *tiles*: runs of consecutive pending pairs, i.e. bands of
the upper triangle in row-major order, sized to about 0.1-2 s of work each (timed on a few pairs
first). The tiles are tasks of :func:`netsci_dl.parallel.imap_tasks`: in this process, on loky
processes or on a Dask cluster. The fields and settings are its ``shared`` inputs (sent once
per worker); each worker builds its solver once (:func:`~netsci_dl.parallel.worker_cache`).

Without a checkpoint a tile's values come back with its record. With a checkpoint folder
(``values.npy`` and ``done.npy``, memory maps, and ``meta.json``) the worker writes each
finished tile to ``tiles/<run>-<tile>.npz`` (atomically; the folder must be visible to the
workers, a shared file system on a cluster) and returns only a small record; this process
copies the tile into ``values.npy``, flushes it, then sets its ``done`` flags, then deletes
the tile file. A run that stops (Ctrl-C, a crash, a raising callback, a closed Dask client, a
killed worker) leaves a consistent folder; the next call first merges any tile files that
finished after the stop, then computes only the pairs still missing.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import numpy as np

from netsci_dl.analysis.fields._emd_grid import Spec, make_solver
from netsci_dl.errors import InputError

__all__ = ["pair_index", "Store", "run_pairs", "settings_dict", "tiles"]

log = logging.getLogger("netsci_dl.analysis.fields.emd")

_TILE_MIN_S, _TILE_MAX_S = 0.1, 2.0  # seconds of work per tile
_TILES_PER_WORKER = 16
_CALIBRATE_S, _CALIBRATE_MAX = 0.05, 32


def pair_index(n: int, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Condensed indices ``k`` -> ``(i, j)`` with ``i < j`` (pdist order)."""
    k = np.asarray(k, dtype=np.int64)
    i_ = np.arange(n, dtype=np.int64)
    start = i_ * n - i_ * (i_ + 1) // 2  # condensed index of (i, i+1)
    i = np.searchsorted(start, k, side="right") - 1
    j = k - start[i] + i + 1
    return i, j


def tiles(pending: np.ndarray, size: int) -> list[np.ndarray]:
    """Cut the pending condensed indices into tiles of ``size`` consecutive pending pairs."""
    if size < 1:
        raise InputError(f"chunk_size must be >= 1, got {size}")
    return [pending[s : s + size] for s in range(0, len(pending), size)]


class Store:
    """Values + done mask, in memory or as memory-mapped ``.npy`` files in a folder."""

    def __init__(self, n_pairs: int, path: str | os.PathLike | None, settings: dict) -> None:
        self.path = None if path is None else Path(path).absolute()
        if self.path is None:
            self.values = np.full(n_pairs, np.nan)
            self.done = np.zeros(n_pairs, dtype=bool)
            return
        if not self.path.exists():
            self._create(n_pairs, settings)
        self._open(n_pairs, settings)

    @property
    def tile_dir(self) -> Path | None:
        return None if self.path is None else self.path / "tiles"

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
            (tmp / "tiles").mkdir()
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
        (p / "tiles").mkdir(exist_ok=True)  # folders of the first format had none

    def put(self, idx: np.ndarray, vals: np.ndarray) -> None:
        self.values[idx] = vals
        if self.path is not None:
            self.values.flush()  # values reach the disk before their done flags
        self.done[idx] = True
        if self.path is not None:
            self.done.flush()

    def merge_tiles(self) -> int:
        """Copy tile files left by an earlier run into the store; the number of pairs."""
        if self.tile_dir is None:
            return 0
        n_pairs, got = len(self.done), 0
        for f in sorted(self.tile_dir.glob("*.npz")):
            try:
                with np.load(f, allow_pickle=False) as z:
                    idx, vals = np.asarray(z["idx"], np.int64), np.asarray(z["values"], np.float64)
            except (OSError, ValueError, KeyError) as e:
                log.warning("EMD checkpoint: ignoring unreadable tile %s (%s)", f, e)
                continue
            if idx.shape != vals.shape or idx.size and (idx.min() < 0 or idx.max() >= n_pairs):
                log.warning("EMD checkpoint: ignoring tile %s of another shape", f)
                continue
            self.put(idx, vals)
            f.unlink()
            got += idx.size
        return got

    def result(self) -> np.ndarray:
        return np.array(self.values, dtype=np.float64)


# ---- one tile (runs in a worker, or in this process) ---------------------------------------
@dataclass(frozen=True)
class _Tile:
    number: int
    idx: np.ndarray  # condensed pair indices, ascending
    folder: str | None  # checkpoint/tiles, or None: the values come back in the record
    run: str  # names this run's tile files


@dataclass(frozen=True)
class TileRecord:
    """What a tile task returns: small unless the values come back in memory."""

    number: int
    n_pairs: int
    seconds: float
    worker: str
    path: str | None
    values: np.ndarray | None


def _tile_task(tile: _Tile, shared: tuple) -> TileRecord:
    from netsci_dl.parallel import worker_cache

    spec, data, n, key = shared
    solver = worker_cache(("emd", key), lambda: make_solver(spec, data))
    t0 = time.perf_counter()
    vals = solver(*pair_index(n, tile.idx))
    dt = time.perf_counter() - t0
    worker = f"{socket.gethostname()}:{os.getpid()}"
    if tile.folder is None:
        return TileRecord(tile.number, len(tile.idx), dt, worker, None, vals)
    path = os.path.join(tile.folder, f"{tile.run}-{tile.number:07d}.npz")
    tmp = f"{path}.{os.getpid()}.part"
    with open(tmp, "wb") as fh:
        np.savez(fh, idx=tile.idx, values=vals)
    os.replace(tmp, path)
    return TileRecord(tile.number, len(tile.idx), dt, worker, path, None)


def _auto_size(per_pair: float, pending: int, workers: int) -> int:
    """Pairs per tile: 0.1-2 s of work, at least 16 tiles per worker when the job allows."""
    total = per_pair * pending
    target = min(max(total / (workers * _TILES_PER_WORKER), _TILE_MIN_S), _TILE_MAX_S)
    return int(min(max(round(target / max(per_pair, 1e-9)), 1), max(pending, 1)))


def run_pairs(
    spec: Spec,
    data: tuple[np.ndarray, ...],
    n: int,
    store: Store,
    *,
    key: str,
    n_jobs: int | None,
    chunk_size: int | None,
    progress: bool,
    callback: Callable[[int, int], Any] | None,
) -> tuple[int, dict]:
    """Evaluate every pending pair into ``store``: (pairs computed now, tiling info)."""
    from tqdm.auto import tqdm

    from netsci_dl.parallel import effective_n_jobs, imap_tasks

    n_pairs = len(store.done)
    if chunk_size is not None and chunk_size < 1:
        raise InputError(f"chunk_size must be >= 1, got {chunk_size}")
    store.merge_tiles()
    workers = effective_n_jobs(n_jobs)
    pending = np.flatnonzero(~np.asarray(store.done))
    info = {"n_workers": workers, "tile_pairs": chunk_size, "n_tiles": 0}
    if pending.size == 0:
        return 0, info
    bar = tqdm(
        total=n_pairs,
        initial=n_pairs - pending.size,
        unit="pair",
        desc=f"EMD {spec.kind}",
        disable=None if progress else True,
        smoothing=0.05,
    )
    computed = 0

    def stored(idx: np.ndarray, vals: np.ndarray, path: str | None = None) -> None:
        nonlocal computed
        store.put(idx, vals)
        if path is not None:
            os.unlink(path)  # merged: before the callback, which may stop the run
        computed += len(idx)
        bar.update(len(idx))
        if callback is not None:
            callback(int(np.count_nonzero(store.done)), n_pairs)

    try:
        if chunk_size is None:  # compute a few pairs here, timed (values kept); size the tiles
            solver = make_solver(spec, data)
            vals_cal: list[float] = []
            t0 = time.perf_counter()
            while len(vals_cal) < min(_CALIBRATE_MAX, pending.size):
                m = len(vals_cal)
                vals_cal.append(float(solver(*pair_index(n, pending[m : m + 1]))[0]))
                if time.perf_counter() - t0 >= _CALIBRATE_S:
                    break
            m = len(vals_cal)
            per_pair = (time.perf_counter() - t0) / m
            del solver
            stored(pending[:m], np.array(vals_cal, dtype=np.float64))
            pending = pending[m:]
            chunk_size = _auto_size(per_pair, pending.size, workers)
            info["tile_pairs"] = chunk_size
        todo = tiles(pending, chunk_size)
        info["n_tiles"] = len(todo)
        folder = None if store.tile_dir is None else str(store.tile_dir)
        run = uuid4().hex[:12]
        tasks = [_Tile(k, idx, folder, run) for k, idx in enumerate(todo)]
        results = imap_tasks(
            _tile_task, tasks, shared=(spec, data, n, key), n_jobs=n_jobs, progress=False
        )
        try:
            for k, rec in results:
                idx = todo[k]
                if rec.path is None:
                    vals = rec.values
                else:
                    with np.load(rec.path, allow_pickle=False) as z:
                        if not np.array_equal(z["idx"], idx):
                            raise RuntimeError(f"EMD tile file {rec.path} holds other pairs")
                        vals = z["values"]
                stored(idx, vals, rec.path)
        finally:
            results.close()
    except BaseException:
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
    return computed, info


def settings_dict(spec: Spec, n: int, fingerprint: str) -> dict:
    d = asdict(spec)
    d["grid_shape"] = list(spec.grid_shape)
    d.update(n=n, fingerprint=fingerprint, format=1)
    return d
