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

__all__ = ["read_safetensors", "HEADER_LIMIT"]

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


def _check_entry(where: str, name: str, info: Any, buf_len: int) -> tuple[np.dtype, tuple, int]:
    if not isinstance(info, dict):
        raise InputError(f"{where}: header entry {name!r} is not an object")
    dt = info.get("dtype")
    shape = info.get("shape")
    offs = info.get("data_offsets")
    if not isinstance(dt, str):
        raise InputError(f"{where}: tensor {name!r} has no dtype")
    if dt not in _DTYPES:
        plain = "float8" if dt.startswith("F8") else dt
        raise InputError(
            f"{where}: tensor {name!r} has dtype {plain} ({dt}), which netsci_dl does not "
            "support; convert the checkpoint to float32, float16 or bfloat16"
        )
    if not (
        isinstance(shape, list)
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
    ):
        raise InputError(f"{where}: tensor {name!r} has an invalid shape {shape!r}")
    if not (
        isinstance(offs, list)
        and len(offs) == 2
        and all(isinstance(o, int) and not isinstance(o, bool) for o in offs)
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
    return dtype, tuple(shape), count


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
        try:
            header = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise InputError(f"{where}: the header is not valid JSON ({e})") from None
        if not isinstance(header, dict):
            raise InputError(f"{where}: the header is not a JSON object")
        meta = header.pop("__metadata__", None) or {}
        if not isinstance(meta, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in meta.items()
        ):
            raise InputError(f"{where}: __metadata__ must map strings to strings")
        buf_len = size - 8 - n
        entries = []
        for name, info in header.items():
            if any(0xD800 <= ord(c) <= 0xDFFF for c in name):
                raise InputError(f"{where}: a tensor name is not valid UTF-8")
            dtype, shape, count = _check_entry(where, name, info, buf_len)
            entries.append((info["data_offsets"][0], info["data_offsets"][1], name, dtype, shape))
        # the tensors must tile the buffer: no gaps, no overlaps (as the reference requires)
        spans = sorted((b, e) for b, e, *_ in entries)
        pos = 0
        for b, e in spans:
            if b != pos:
                raise InputError(
                    f"{where}: the tensors' data_offsets leave a gap or overlap at byte {pos}"
                )
            pos = e
        if pos != buf_len:
            raise InputError(
                f"{where}: the tensors cover {pos} bytes but the buffer holds {buf_len} "
                "(truncated, or extra data)"
            )
        if not entries:
            return {}, dict(meta)
        mm = (
            np.memmap(fh, dtype=np.uint8, mode="r", offset=8 + n, shape=(buf_len,))
            if buf_len
            else np.zeros(0, np.uint8)
        )
    tensors: dict[str, np.ndarray] = {}
    for b, _e, name, dtype, shape, *_ in sorted(entries, key=lambda t: t[2]):
        count = 1
        for s in shape:
            count *= s
        a = np.frombuffer(mm, dtype=dtype, count=count, offset=b).reshape(shape)
        if header[name]["dtype"] == "BF16":
            a = _bf16_to_f32(a)
        elif header[name]["dtype"] == "F16":
            a = a.astype(np.float32)
        tensors[name] = a
    return tensors, dict(meta)
