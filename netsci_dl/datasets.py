"""Data sets: scikit-learn's 8x8 digits (embedded default) and MNIST from local files.

Nothing is downloaded: digits ship inside scikit-learn; MNIST is read from the standard IDX
files (raw or ``.gz``) or an ``.npz`` the user already has.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from netsci_dl.errors import InputError

__all__ = ["Dataset", "load_digits", "load_mnist", "load_dataset", "read_idx", "PROBE_SIZE"]

#: the size of a probe set (examples drawn once with :meth:`Dataset.subset` and fed to every
#: snapshot of a run): the one default of every entry point that draws one
PROBE_SIZE = 256


@dataclass(frozen=True)
class Dataset:
    """Images as rows in [0, 1] with their labels.

    Attributes
    ----------
    X : (n_samples, n_features) float32 ndarray
    y : (n_samples,) int64 ndarray
    image_shape : tuple of int
    name : str
    """

    X: np.ndarray
    y: np.ndarray
    image_shape: tuple[int, ...]
    name: str

    def __len__(self) -> int:
        return len(self.X)

    def subset(self, n: int, *, seed: int = 0) -> Dataset:
        """``n`` examples drawn at random without replacement, kept in their original order
        (the whole set when ``n >= len(self)``).

        Examples
        --------
        >>> d = load_digits()
        >>> s = d.subset(100, seed=1)
        >>> len(s), bool((s.y == d.subset(100, seed=1).y).all())
        (100, True)
        """
        from netsci_dl.errors import InputError

        if int(n) < 2:
            raise InputError(f"a subset needs at least 2 examples, got {n}")
        if n >= len(self):
            return self
        idx = np.sort(np.random.default_rng(seed).choice(len(self), size=int(n), replace=False))
        return Dataset(self.X[idx], self.y[idx], self.image_shape, self.name)


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
    return Dataset(X, np.asarray(b.target, dtype=np.int64), (8, 8), "digits")


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
    import struct
    import zlib

    p = Path(path)
    if p.exists() and not p.is_file():
        raise InputError(f"{p}: not a regular file")
    opener = gzip.open if p.suffix == ".gz" else open
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
            need = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
            data = f.read(need + 1)  # never more than the header declares (and one byte)
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


def _scaled(images: np.ndarray, source: str) -> np.ndarray:
    """Images ``(n, rows, cols)`` -> rows in [0, 1]: grey levels in [0, 255] are divided by 255.

    Values already in [0, 1] are kept. Anything else (NaN, Inf, negative values, values above
    255, non-numeric arrays) is an InputError naming the file.
    """
    X = np.asarray(images)
    if X.ndim != 3:
        raise InputError(f"{source}: images have shape {X.shape}; expected (n, rows, cols)")
    if X.dtype.kind not in "buif":
        raise InputError(f"{source}: images have dtype {X.dtype}; expected numbers")
    if X.shape[0] == 0 or X.shape[1] == 0 or X.shape[2] == 0:
        raise InputError(f"{source}: images have shape {X.shape}; no pixels to train on")
    X = X.reshape(len(X), -1)
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        raise InputError(f"{source}: images contain NaN or Inf")
    lo, hi = float(X.min()), float(X.max())
    if lo < 0:
        raise InputError(
            f"{source}: images hold negative values (min {lo:g}); expected grey levels in [0, 1] or [0, 255]"
        )
    if hi > 255:
        raise InputError(
            f"{source}: images hold values up to {hi:g}; expected grey levels in [0, 1] or [0, 255]"
        )
    X = X.astype(np.float32)
    return X / np.float32(255.0) if hi > 1.0 else X


def _labels(labels: np.ndarray, n: int, source: str) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != n:
        raise InputError(f"{source}: {n} images but {len(y) if y.ndim else 'no'} labels")
    if y.dtype.kind not in "buif":
        raise InputError(f"{source}: labels have dtype {y.dtype}; expected integers")
    if y.dtype.kind == "f" and (not np.isfinite(y).all() or not (y == np.round(y)).all()):
        raise InputError(f"{source}: labels must be whole numbers (found NaN, Inf or fractions)")
    if len(y) and (y.min() < 0 or y.max() > 2**31):
        raise InputError(
            f"{source}: labels must be class numbers >= 0 (found {y.min()}..{y.max()})"
        )
    return y.astype(np.int64)


def _dataset(images: np.ndarray, labels: np.ndarray | None, source: str, name: str) -> Dataset:
    if labels is not None and len(labels) != len(images):
        raise InputError(f"{source}: {len(images)} images but {len(labels)} labels")
    X = _scaled(images, source)
    y = np.full(len(X), -1, np.int64) if labels is None else _labels(labels, len(X), source)
    return Dataset(X, y, tuple(int(s) for s in images.shape[1:]), name)


def load_mnist(path: str | Path, *, split: str = "train") -> Dataset:
    """MNIST (or any IDX/npz image set) from local files, grey levels scaled to [0, 1].

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
        ``X`` (n, rows*cols) float32 in [0, 1], ``image_shape`` (rows, cols).

    Raises
    ------
    InputError
        Wrong magic number, truncated file, images/labels count mismatch, missing npz keys,
        values that are not grey levels (NaN, Inf, negative, above 255), labels that are not
        whole numbers >= 0.
    FileNotFoundError
        No such file, or no images file in the folder.
    """
    if split not in _SPLIT_PREFIX:
        raise InputError(f"split={split!r}: expected 'train' or 'test'")
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"MNIST path {p} does not exist")
    name = f"mnist-{split}"
    if p.is_file() and p.suffix == ".npz":
        from netsci_dl._files.npz_safe import npz_names, read_npz

        kx, ky = f"x_{split}", f"y_{split}"
        names = npz_names(p)
        if kx not in names:
            raise InputError(f"{p}: no {kx!r} array (has {names})")
        z = read_npz(p, [kx] + ([ky] if ky in names else []))
        return _dataset(z[kx], z.get(ky), str(p), name)
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
    return _dataset(images, labels, str(img), name)


def load_dataset(spec: str) -> Dataset:
    """``"digits"`` or ``"mnist:PATH"`` (``"mnist-test:PATH"`` for the test split) -> Dataset.

    Examples
    --------
    >>> load_dataset("digits").image_shape
    (8, 8)
    """
    if spec == "digits":
        return load_digits()
    kind, sep, rest = spec.partition(":")
    if sep and kind in ("mnist", "mnist-train", "mnist-test") and rest:
        return load_mnist(rest, split="test" if kind == "mnist-test" else "train")
    raise InputError(f"--data {spec!r}: expected 'digits' or 'mnist:PATH'")
