"""Read ``.safetensors`` files with numpy only, checking the header against the file first.

The format: 8 bytes (little-endian ``uint64``) giving the header length ``N``, ``N`` bytes of
JSON (``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}``),
then the byte buffer. Before anything is mapped, :func:`read_safetensors` checks what the
reference implementation checks (header length within the file and at most 100 MB, a JSON
object, known dtypes, every tensor's byte count equal to its shape times its item size, the
tensors tiling the buffer exactly) and raises :class:`~netsci_dl.errors.InputError` otherwise.
The tensors are read-only views of a memory map (the file is not read into memory);
``F16``/``BF16`` become float32 (exact). Float8 and other dtypes numpy cannot hold are named
and refused. The file is opened through a file handle, so any path Python can open works
(also one that is not valid UTF-8).
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

import numpy as np

from netsci_dl.errors import InputError

__all__ = ["read_safetensors", "open_safetensors", "LazyTensor", "HEADER_LIMIT"]

#: the reference implementation's limit on the JSON header (bytes)
HEADER_LIMIT = 100_000_000

_DTYPES = {
    "BOOL": np.dtype("?"),
    "U8": np.dtype("u1"),
    "I8": np.dtype("i1"),
    "U16": np.dtype("<u2"),
    "I16": np.dtype("<i2"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # converted to float32 below
    "U32": np.dtype("<u4"),
    "I32": np.dtype("<i4"),
    "F32": np.dtype("<f4"),
    "U64": np.dtype("<u8"),
    "I64": np.dtype("<i8"),
    "F64": np.dtype("<f8"),
}


def _bf16_to_f32(a: np.ndarray) -> np.ndarray:
    """bfloat16 bits (uint16) -> float32: bf16 is the top half of a float32, so exact."""
    return (a.astype(np.uint32) << 16).view(np.float32)


_ENTRY_KEYS = frozenset(("dtype", "shape", "data_offsets"))


def _compact(pairs: list[tuple[str, Any]]) -> Any:
    """json object hook: a tensor entry becomes a small tuple (a dict per key of a 10^6-key
    header costs hundreds of MB)."""
    if len(pairs) == 3 and {k for k, _ in pairs} == _ENTRY_KEYS:
        d = dict(pairs)
        if isinstance(d["shape"], list) and isinstance(d["data_offsets"], list):
            return (d["dtype"], tuple(d["shape"]), tuple(d["data_offsets"]))
    return dict(pairs)


def _check_entry(where: str, name: str, info: Any, buf_len: int) -> tuple[np.dtype, tuple, int]:
    if not isinstance(info, tuple):
        raise InputError(
            f"{where}: header entry {name!r} is not an object of dtype, shape, data_offsets"
        )
    dt, shape, offs = info
    if not isinstance(dt, str):
        raise InputError(f"{where}: tensor {name!r} has no dtype")
    if dt not in _DTYPES:
        plain = "float8" if dt.startswith("F8") else dt
        raise InputError(
            f"{where}: tensor {name!r} has dtype {plain} ({dt}), which netsci_dl does not "
            "support; convert the checkpoint to float32, float16 or bfloat16"
        )
    if not all(type(s) is int and s >= 0 for s in shape):
        raise InputError(f"{where}: tensor {name!r} has an invalid shape {shape!r}")
    if not (
        len(offs) == 2
        and type(offs[0]) is int
        and type(offs[1]) is int
        and 0 <= offs[0] <= offs[1] <= buf_len
    ):
        raise InputError(
            f"{where}: tensor {name!r} has data_offsets {offs!r} outside the file's "
            f"{buf_len}-byte buffer (truncated or forged)"
        )
    dtype = _DTYPES[dt]
    count = 1
    for s in shape:
        count *= s
    if count * dtype.itemsize != offs[1] - offs[0]:
        raise InputError(
            f"{where}: tensor {name!r} declares shape {tuple(shape)} {dt} "
            f"({count * dtype.itemsize} bytes) but holds {offs[1] - offs[0]} bytes"
        )
    return dtype, shape, count


def _read_header(fh: Any, where: str) -> tuple[dict[str, Any], dict[str, str], int, int]:
    """The checked header of an open file: ``(entries, metadata, header length, buffer
    length)``; each entry ``(dtype, shape, (begin, end))`` relative to the buffer."""
    size = os.fstat(fh.fileno()).st_size
    if size < 8:
        raise InputError(
            f"{where}: {'empty' if size == 0 else f'{size} bytes'}: not a safetensors file"
        )
    (n,) = struct.unpack("<Q", fh.read(8))
    if n > HEADER_LIMIT:
        raise InputError(
            f"{where}: its header declares {n} bytes (more than the format's limit of "
            f"{HEADER_LIMIT}): not a safetensors file, or forged"
        )
    if 8 + n > size:
        raise InputError(
            f"{where}: its header declares {n} bytes but the file holds {size - 8} after "
            "the length (truncated, or not a safetensors file)"
        )
    raw = fh.read(n)
    if len(raw) != n:
        raise InputError(f"{where}: the header is truncated")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_compact)
    except (UnicodeDecodeError, ValueError) as e:
        raise InputError(f"{where}: the header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise InputError(f"{where}: the header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in meta.items()
    ):
        raise InputError(f"{where}: __metadata__ must map strings to strings")
    del raw
    buf_len = size - 8 - n
    for name, info in header.items():
        if any(0xD800 <= ord(c) <= 0xDFFF for c in name):
            raise InputError(f"{where}: a tensor name is not valid UTF-8")
        _check_entry(where, name, info, buf_len)
    # the tensors must tile the buffer: no gaps, no overlaps (as the reference requires)
    spans = np.array([v[2] for v in header.values()], dtype=np.int64).reshape(-1, 2)
    spans = spans[np.lexsort((spans[:, 1], spans[:, 0]))]
    if len(spans) and (spans[0, 0] != 0 or (spans[1:, 0] != spans[:-1, 1]).any()):
        raise InputError(f"{where}: the tensors' data_offsets leave a gap or overlap")
    pos = int(spans[-1, 1]) if len(spans) else 0
    if pos != buf_len:
        raise InputError(
            f"{where}: the tensors cover {pos} bytes but the buffer holds {buf_len} "
            "(truncated, or extra data)"
        )
    return header, dict(meta), n, buf_len


def read_safetensors(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The tensors (in the order ``safetensors``' ``keys()`` gives: sorted by name) and the
    string metadata of a ``.safetensors`` file.

    Raises
    ------
    InputError
        Empty, truncated or forged files, unsupported dtypes (float8 is named plainly), or a
        header that does not match the data.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> from safetensors.numpy import save_file
    >>> p = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    >>> save_file({"b": np.ones((2, 3), np.float32), "a": np.zeros(2, np.float64)}, p)
    >>> t, meta = read_safetensors(p)
    >>> list(t), t["b"].shape, t["a"].dtype.name
    (['a', 'b'], (2, 3), 'float64')
    """
    where = os.fsdecode(path)
    with open(path, "rb") as fh:
        header, meta, n, buf_len = _read_header(fh, where)
        if not header:
            return {}, dict(meta)
        mm = (
            np.memmap(fh, dtype=np.uint8, mode="r", offset=8 + n, shape=(buf_len,))
            if buf_len
            else np.zeros(0, np.uint8)
        )
    tensors: dict[str, np.ndarray] = {}
    for name in sorted(header):
        dt, shape, (b, _e) = header[name]
        a = np.ndarray(shape, dtype=_DTYPES[dt], buffer=mm, offset=b)  # a read-only view
        if dt == "BF16":
            a = _bf16_to_f32(a)
        elif dt == "F16":
            a = a.astype(np.float32)
        tensors[name] = a
    return tensors, dict(meta)


# ---- lazy: the header now, one tensor at a time later -----------------------------------------
#: bytes decoded per step when a tensor is read (bounds the transient mapped pages)
_CHUNK = 32 << 20


class LazyTensor:
    """One tensor of a ``.safetensors`` file, checked but not read: :meth:`read` (or
    ``numpy.asarray``) maps its bytes, decodes them in chunks into a fresh array and unmaps them.

    Holds only the path, the name, the stored dtype, the shape and the byte offset, so it
    pickles in a few hundred bytes (a task sent to another process or a Dask worker reads the
    tensor there, from the same path). Nothing is cached: each read is a new array, and the
    memory it takes is freed with it.

    Attributes
    ----------
    path : str
    name : str
    stored : str
        The file's dtype (``"BF16"``, ``"F16"``, ``"F32"``, ...).
    shape : tuple of int
    offset : int
        Where its bytes begin in the file.
    """

    __slots__ = ("path", "name", "stored", "shape", "offset")

    def __init__(self, path: str, name: str, stored: str, shape: tuple, offset: int) -> None:
        self.path, self.name, self.stored = path, name, stored
        self.shape, self.offset = tuple(int(s) for s in shape), int(offset)

    def __getstate__(self) -> tuple:
        return (self.path, self.name, self.stored, self.shape, self.offset)

    def __setstate__(self, state: tuple) -> None:
        self.path, self.name, self.stored, self.shape, self.offset = state

    @property
    def dtype(self) -> np.dtype:
        """The dtype :meth:`read` gives by default: the stored one; float32 for ``BF16``
        (numpy has no bfloat16; the conversion is exact)."""
        return np.dtype(np.float32) if self.stored == "BF16" else _DTYPES[self.stored]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        out = 1
        for s in self.shape:
            out *= s
        return out

    @property
    def stored_bytes(self) -> int:
        """Bytes on disk."""
        return self.size * _DTYPES[self.stored].itemsize

    def read(self, dtype: Any = None) -> np.ndarray:
        """The tensor as a new, writable array of ``dtype`` (default :attr:`dtype`), decoded
        chunk by chunk from a memory map of its bytes alone (``BF16`` -> float32 exactly, then
        cast once to ``dtype``); the map is closed before returning."""
        out = np.empty(self.shape, self.dtype if dtype is None else np.dtype(dtype))
        self._decode(0, out.reshape(-1))
        return out

    def read_rows(self, start: int, stop: int, dtype: Any = None) -> np.ndarray:
        """Rows ``start:stop`` (along the first axis) as a new array of ``dtype``: only their
        bytes are mapped and decoded, as :meth:`read` does for the whole tensor.

        Examples
        --------
        >>> import tempfile, os
        >>> from safetensors.numpy import save_file
        >>> p = os.path.join(tempfile.mkdtemp(), "m.safetensors")
        >>> save_file({"w": np.arange(12, dtype=np.float16).reshape(4, 3)}, p)
        >>> open_safetensors(p)[0]["w"].read_rows(1, 3, np.float64).tolist()
        [[3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]
        """
        if not self.shape:
            raise InputError(f"{self.name}: a scalar has no rows")
        start, stop, _ = slice(start, stop).indices(self.shape[0])
        stop = max(start, stop)
        out = np.empty((stop - start, *self.shape[1:]), self.dtype if dtype is None else dtype)
        self._decode(start * (out[0].size if len(out) else 0), out.reshape(-1))
        return out

    def _decode(self, first: int, flat: np.ndarray) -> None:
        """Entries ``first : first + len(flat)`` (C order) decoded into ``flat``, through a
        memory map of their bytes alone, the pages dropped as they are done."""
        import mmap

        size = flat.size
        if size == 0:
            return
        raw = _DTYPES[self.stored]
        begin = self.offset + first * raw.itemsize
        start = begin - begin % mmap.ALLOCATIONGRANULARITY
        skip = begin - start
        step = max(1, _CHUNK // raw.itemsize)
        with open(self.path, "rb") as fh:
            m = mmap.mmap(fh.fileno(), skip + size * raw.itemsize, offset=start,
                          access=mmap.ACCESS_READ)  # fmt: skip
            try:
                for i in range(0, size, step):
                    k = min(step, size - i)
                    part = np.frombuffer(m, raw, count=k, offset=skip + i * raw.itemsize)
                    if self.stored == "BF16" and flat.dtype == np.float32:
                        u = flat[i : i + k].view(np.uint32)  # decoded in place: no temporary
                        np.copyto(u, part)
                        u <<= 16
                    else:
                        flat[i : i + k] = _bf16_to_f32(part) if self.stored == "BF16" else part
                    del part
                    done = (skip + (i + k) * raw.itemsize) // mmap.PAGESIZE * mmap.PAGESIZE
                    if hasattr(m, "madvise") and done:  # drop the pages just decoded
                        m.madvise(mmap.MADV_DONTNEED, 0, done)
            finally:
                m.close()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.read(dtype)

    def __repr__(self) -> str:
        return f"LazyTensor({self.name!r}, {self.stored}, shape={self.shape})"


def open_safetensors(path: str | os.PathLike) -> tuple[dict[str, LazyTensor], dict[str, str]]:
    """The tensors of a ``.safetensors`` file as :class:`LazyTensor` (sorted by name, as
    :func:`read_safetensors`) and its string metadata; only the header is read (and checked
    as :func:`read_safetensors` checks it).

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> from safetensors.numpy import save_file
    >>> p = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    >>> save_file({"w": np.arange(6, dtype=np.float16).reshape(2, 3)}, p)
    >>> t, _ = open_safetensors(p)
    >>> t["w"], t["w"].read(np.float64).sum()
    (LazyTensor('w', F16, shape=(2, 3)), 15.0)
    """
    where = os.fsdecode(path)
    with open(path, "rb") as fh:
        header, meta, n, _buf_len = _read_header(fh, where)
    full = os.path.abspath(where)
    return {
        name: LazyTensor(full, name, header[name][0], header[name][1], 8 + n + header[name][2][0])
        for name in sorted(header)
    }, meta
