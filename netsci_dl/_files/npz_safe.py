"""Read ``.npz`` members safely: no pickle, and no allocation larger than the member's bytes.

``numpy.load`` trusts the shape an ``.npy`` header declares and allocates it before reading, so
a small hostile file can ask for gigabytes. :func:`read_npz` reads each member's header first
and refuses a member whose declared size does not match the bytes stored for it.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Iterable
from typing import Any

import numpy as np

from netsci_dl.errors import InputError

__all__ = ["read_npz", "npz_names"]


def npz_names(path: str | os.PathLike | Any) -> list[str]:
    """Member names (without ``.npy``) of an ``.npz``; raises InputError if it is not a zip."""
    try:
        with zipfile.ZipFile(path) as zf:
            return [n[:-4] if n.endswith(".npy") else n for n in zf.namelist()]
    except (zipfile.BadZipFile, EOFError) as e:
        raise InputError(f"{path}: not a readable .npz file ({e})") from None


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> np.ndarray:
    fmt = np.lib.format
    with zf.open(info) as fh:
        try:
            version = fmt.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(fh)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = fmt.read_array_header_2_0(fh)
            else:
                raise ValueError(f"unknown .npy version {version}")
        except ValueError as e:
            raise InputError(f"{where}: not an .npy array ({e})") from None
        if dtype.hasobject:
            raise InputError(
                f"{where} is an object array, which needs unpickling: refused. "
                "Store plain numeric arrays."
            )
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        need = count * dtype.itemsize
        have = info.file_size - fh.tell()
        if need != have:
            raise InputError(
                f"{where}: its header declares shape {shape} ({need} bytes) but the file holds "
                f"{have} bytes for it (truncated or forged)"
            )
        data = fh.read(need)
    arr = np.frombuffer(data, dtype=dtype, count=count)
    arr = arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)
    return arr.copy()  # own, writeable memory


def read_npz(
    path: str | os.PathLike | Any, names: Iterable[str] | None = None
) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` (all, or those in ``names``), checked before allocation.

    Parameters
    ----------
    path : path or binary file object
    names : iterable of str, optional
        Members to read (without ``.npy``); default every member, in file order.

    Raises
    ------
    InputError
        Not a zip, a member that is not an ``.npy`` array, an object array, a declared size
        that does not match the stored bytes, or a requested member that is missing.

    Examples
    --------
    >>> import io, numpy as np
    >>> buf = io.BytesIO(); np.savez(buf, a=np.arange(3)); _ = buf.seek(0)
    >>> read_npz(buf)["a"].tolist()
    [0, 1, 2]
    """
    where = getattr(path, "name", path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError) as e:
        raise InputError(f"{where}: not a readable .npz file ({e})") from None
    with zf:
        infos = {
            (i.filename[:-4] if i.filename.endswith(".npy") else i.filename): i
            for i in zf.infolist()
        }
        wanted = list(infos) if names is None else list(names)
        missing = [n for n in wanted if n not in infos]
        if missing:
            raise InputError(f"{where}: missing entries {missing}")
        out = {}
        for n in wanted:
            try:
                out[n] = _read_member(zf, infos[n], f"{where}: entry {n!r}")
            except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as e:
                raise InputError(f"{where}: entry {n!r} is unreadable ({e})") from None
        return out
