"""scikit-learn's 8x8 digits (embedded default) and MNIST from local IDX or npz files.

Nothing is downloaded: digits ship inside scikit-learn; MNIST is read from the standard IDX
files (raw or ``.gz``) or an ``.npz`` the user already has.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.datasets._core import Dataset, scale
from netsci_dl.datasets._core import labels as check_labels
from netsci_dl.errors import InputError

__all__ = ["load_digits", "load_mnist", "read_idx"]


def load_digits() -> Dataset:
    """scikit-learn's 8x8 digits (1797 images), grey levels scaled from [0, 16] to [0, 1].

    Examples
    --------
    >>> d = load_digits()
    >>> d.X.shape, d.image_shape, float(d.X.max())
    ((1797, 64), (8, 8), 1.0)
    """
    from sklearn.datasets import load_digits as _sk

    b = _sk()
    X = (np.asarray(b.data, dtype=np.float32) / 16.0).clip(0.0, 1.0)
    y = np.asarray(b.target, dtype=np.int64)
    return Dataset(X, y, (8, 8), "digits", "digits", ("grey levels 0..16 / 16",))


# ---------------------------------------------------------------------- MNIST (local files)
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_SPLIT_PREFIX = {"train": "train", "test": "t10k"}


def read_idx(path: str | Path, *, ndim: int | None = None) -> np.ndarray:
    """Read one IDX file (raw or ``.gz``) into an ndarray.

    The header is two zero bytes, a type code (0x08 = unsigned byte, ...), the number of
    dimensions, then one big-endian int32 per dimension; the data follow in C order.

    Parameters
    ----------
    path : file
    ndim : int, optional
        Expected number of dimensions (3 for images, 1 for labels).

    Raises
    ------
    InputError
        Wrong magic number, wrong number of dimensions, truncated or over-long data, a gzip
        file that does not decompress. Only the bytes the header declares are read.
    """
    import gzip
    import math
    import struct
    import zlib

    p = Path(path)
    if p.exists() and not p.is_file():
        raise InputError(f"{p}: not a regular file")
    gz = p.suffix == ".gz"
    opener = gzip.open if gz else open
    try:
        with opener(p, "rb") as f:
            raw = f.read(4)
            if len(raw) < 4:
                raise InputError(f"{p}: truncated IDX file ({len(raw)} bytes, no header)")
            z0, z1, code, nd = raw[0], raw[1], raw[2], raw[3]
            magic = struct.unpack(">I", raw[:4])[0]
            if z0 != 0 or z1 != 0 or code not in _IDX_TYPES:
                raise InputError(f"{p}: wrong magic number {magic:#010x}; not an IDX file")
            if ndim is not None and nd != ndim:
                expected = {3: 2051, 1: 2049}.get(ndim)
                hint = f" (expected magic {expected})" if expected else ""
                raise InputError(
                    f"{p}: wrong magic number {magic}{hint}: {nd} dimensions, expected {ndim}"
                )
            dims = f.read(4 * nd)
            if len(dims) < 4 * nd:
                raise InputError(
                    f"{p}: truncated IDX header ({4 + len(dims)} bytes, need {4 + 4 * nd})"
                )
            shape = struct.unpack(f">{nd}I", dims)
            dt = np.dtype(_IDX_TYPES[code])
            need = math.prod(shape) * dt.itemsize
            # the declared size is checked against what the file can hold before any of it
            # is allocated: the file's size, or for gzip the bound on its decompressed size
            room = _idx_room(p, gz, 4 + 4 * nd)
            if need > room:
                what = "the file has" if not gz else "a gzip file of this size may hold at most"
                raise InputError(
                    f"{p}: the header declares shape {shape} ({need:,} bytes) but {what} "
                    f"{room:,} bytes of data: truncated or corrupt IDX file"
                )
            data = _read_capped(f, need + 1)  # never more than declared (and one byte)
    except (OSError, EOFError, zlib.error) as e:
        if isinstance(e, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise InputError(f"{p}: not a readable IDX file ({e})") from None
    have = len(data)
    if have < need:
        raise InputError(
            f"{p}: truncated IDX data: header says shape {shape} ({need} bytes), file has {have}"
        )
    if have > need:
        raise InputError(f"{p}: bytes after the data of shape {shape}; corrupt IDX file")
    return np.frombuffer(data, dtype=dt, count=need // dt.itemsize).reshape(shape)


#: a gzip'd IDX file may decompress to at most this many times its own size (at least
#: ``IDX_GZIP_FLOOR`` bytes): MNIST compresses 4-6 fold, only a "gzip bomb" reaches 100
IDX_GZIP_RATIO = 100
IDX_GZIP_FLOOR = 64 << 20


def _idx_room(p: Path, gz: bool, header: int) -> int:
    """The most data bytes ``p`` can hold after its header."""
    size = os.stat(p).st_size
    return max(IDX_GZIP_FLOOR, IDX_GZIP_RATIO * size) if gz else max(0, size - header)


def _read_capped(f: Any, n: int) -> bytes:
    """Up to ``n`` bytes of ``f``, read in chunks: memory follows the data, not ``n``."""
    parts, left = [], n
    while left > 0:
        chunk = f.read(min(left, 1 << 24))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _find(folder: Path, stem: str) -> Path | None:
    for name in (
        stem,
        stem + ".gz",
        stem.replace("-idx", ".idx"),
        stem.replace("-idx", ".idx") + ".gz",
    ):
        if (folder / name).exists():
            return folder / name
    return None


def _dataset(
    images: np.ndarray, lab: np.ndarray | None, source: str, name: str, spec: str
) -> Dataset:
    """Images ``(n, rows, cols)`` -> a Dataset of rows, by the scaling rule of
    :mod:`netsci_dl.datasets._core` (uint8 / 255; floats kept as given)."""
    X = np.asarray(images)
    if X.ndim != 3:
        raise InputError(f"{source}: images have shape {X.shape}; expected (n, rows, cols)")
    if X.shape[0] == 0 or X.shape[1] == 0 or X.shape[2] == 0:
        raise InputError(f"{source}: images have shape {X.shape}; no pixels to train on")
    if lab is not None and len(lab) != len(X):
        raise InputError(f"{source}: {len(X)} images but {len(lab)} labels")
    rows, rule = scale(X.reshape(len(X), -1), source)
    y = check_labels(lab, len(X), source)
    return Dataset(rows, y, tuple(int(s) for s in X.shape[1:]), name, spec, (rule,))


def load_mnist(path: str | Path, *, split: str = "train") -> Dataset:
    """MNIST (or any IDX/npz image set) from local files (uint8 grey levels / 255; float
    values kept as given).

    Parameters
    ----------
    path : folder or file
        - a folder holding ``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte`` (and
          ``t10k-*`` for the test split), raw or ``.gz``;
        - one images IDX file (its labels file is looked for beside it by replacing
          ``images-idx3`` with ``labels-idx1``; labels are -1 when absent);
        - an ``.npz`` with ``x_train``, ``y_train``, ``x_test``, ``y_test`` (keras' mnist.npz).
    split : {"train", "test"}

    Returns
    -------
    Dataset
        ``X`` (n, rows*cols) float32, ``image_shape`` (rows, cols), ``spec``
        ``"mnist:PATH"`` (``"mnist-test:PATH"``) with the absolute path.

    Raises
    ------
    InputError
        Wrong magic number, truncated file, images/labels count mismatch, missing npz keys,
        NaN or Inf values, labels that are not whole numbers >= 0.
    FileNotFoundError
        No such file, or no images file in the folder.
    """
    if split not in _SPLIT_PREFIX:
        raise InputError(f"split={split!r}: expected 'train' or 'test'")
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"MNIST path {p} does not exist")
    name = f"mnist-{split}"
    spec = f"{'mnist-test' if split == 'test' else 'mnist'}:{p.resolve()}"
    if p.is_file() and p.suffix == ".npz":
        from netsci_dl._files.npz_safe import npz_names, read_npz

        kx, ky = f"x_{split}", f"y_{split}"
        names = npz_names(p)
        if kx not in names:
            raise InputError(f"{p}: no {kx!r} array (has {names})")
        z = read_npz(p, [kx] + ([ky] if ky in names else []))
        return _dataset(z[kx], z.get(ky), str(p), name, spec)
    if p.is_dir():
        pre = _SPLIT_PREFIX[split]
        img = _find(p, f"{pre}-images-idx3-ubyte")
        if img is None:
            raise FileNotFoundError(f"{p}: no {pre}-images-idx3-ubyte[.gz] file")
        lab = _find(p, f"{pre}-labels-idx1-ubyte")
    else:
        img = p
        cand = p.with_name(
            p.name.replace("images-idx3", "labels-idx1").replace("images.idx3", "labels.idx1")
        )
        lab = cand if cand != p and cand.exists() else None
    images = read_idx(img, ndim=3)
    labels = read_idx(lab, ndim=1) if lab is not None else None
    return _dataset(images, labels, str(img), name, spec)
