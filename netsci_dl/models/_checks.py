"""Checks shared by the trainers: device, threads, memory, and reading their own files safely.

Every function raises :class:`~netsci_dl.errors.InputError` (one line naming the offending value
or file) for bad input, so nothing the trainers read from a user's folder lets a
``SafetensorError``, ``KeyError`` or ``RuntimeError`` escape.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.models._rbm_math import SPARSITY_RULES, VISIBLE_KINDS

__all__ = [
    "check_rbm_settings",
    "check_memory",
    "read_safetensors",
    "regular_file",
]

_MAX_HEADER = 100 * 2**20  # our headers hold a config and a history: far below this


def check_memory(n_bytes: int, device: Any, *, what: str) -> None:
    """Refuse a job whose arrays alone need more than the device's total memory.

    Examples
    --------
    >>> check_memory(10**6, "cpu", what="a test")
    """
    import torch

    dev = torch.device(device)
    total = None
    if dev.type == "cuda":
        with contextlib.suppress(RuntimeError):
            total = int(torch.cuda.mem_get_info(dev)[1])
    else:
        with contextlib.suppress(ValueError, OSError, AttributeError):
            total = int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    if total and n_bytes > total:
        raise InputError(
            f"{what} needs at least {n_bytes / 2**30:.1f} GiB of {dev.type} memory; the machine "
            f"has {total / 2**30:.1f} GiB: use smaller layers or a smaller batch size"
        )


def regular_file(path: str | os.PathLike, *, what: str) -> Path:
    """``path`` if it is a regular file (symlinks followed), else InputError (a FIFO never blocks)."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputError(f"{what} {p} is missing") from None
    except OSError as e:
        raise InputError(f"{what} {p} cannot be read: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{what} {p} is not a regular file")
    return p


def read_safetensors(
    path: str | os.PathLike, *, what: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The tensors and the header metadata of a ``.safetensors`` file, or one InputError.

    The file is opened through a handle (any path works, a FIFO is refused first), its header
    length checked against the file size before anything is parsed, and every failure of the
    format (empty, truncated, bad JSON, offsets out of range) becomes an InputError naming
    ``what`` and the file.

    Examples
    --------
    >>> import tempfile, torch, safetensors.torch as st
    >>> p = tempfile.mktemp(suffix=".safetensors")
    >>> st.save_file({"a": torch.ones(2)}, p, metadata={"k": "v"})
    >>> t, m = read_safetensors(p, what="test file")
    >>> t["a"].tolist(), m
    ([1.0, 1.0], {'k': 'v'})
    """
    import safetensors.torch as st

    p = regular_file(path, what=what)
    try:
        with open(p, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(f"{what} {p} cannot be read: {e.strerror or e}") from None
    if len(data) < 8:
        raise InputError(f"{what} {p} is empty or truncated ({len(data)} bytes)")
    n = int.from_bytes(data[:8], "little")
    if n > len(data) - 8 or n > _MAX_HEADER:
        raise InputError(
            f"{what} {p} is truncated or not a safetensors file (header of {n} bytes, file of "
            f"{len(data)})"
        )
    try:
        header = json.loads(data[8 : 8 + n])
        meta = header.get("__metadata__") or {} if isinstance(header, dict) else None
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise ValueError("bad metadata")
        tensors = st.load(data)
    except Exception as e:  # noqa: BLE001  (SafetensorError, ValueError, ... : all mean "broken file")
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"{what} {p} is not a readable safetensors file: {msg}") from None
    return tensors, dict(meta)


def _bad(where: str, name: str, value: Any, expected: str) -> InputError:
    return InputError(f"{where}{name}={value!r}: {expected}")


def check_rbm_settings(settings: dict[str, Any], *, where: str = "") -> None:
    """Raise :class:`~netsci_dl.errors.InputError` for any bad RBM hyper-parameter in ``settings``.

    Checks the keys present (any subset of :class:`RBM`'s parameters except ``device`` and
    ``dtype``): integers where integers are needed, finite numbers in their ranges, booleans,
    known names. ``where`` prefixes the message (e.g. ``"RBM 1: "``).

    Examples
    --------
    >>> check_rbm_settings({"learning_rate": 0.1, "batch_size": 10})
    >>> try:
    ...     check_rbm_settings({"learning_rate": float("inf")})
    ... except ValueError as e:
    ...     print(e)
    learning_rate=inf: expected a finite number > 0
    """
    import math

    def number(name: str) -> float | None:
        v = settings[name]
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            return None
        return float(v) if math.isfinite(float(v)) else None

    for name, lo in (
        ("n_hidden", 1),
        ("batch_size", 1),
        ("cd_k", 1),
        ("n_epochs", 0),
        ("momentum_epochs", 0),
    ):
        if name in settings:
            v = settings[name]
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise _bad(where, name, v, f"expected an integer >= {lo}")
    if "learning_rate" in settings:
        v = number("learning_rate")
        if v is None or not v > 0:
            raise _bad(
                where, "learning_rate", settings["learning_rate"], "expected a finite number > 0"
            )
    for name in ("momentum", "final_momentum"):
        if name in settings:
            v = number(name)
            if v is None or not 0 <= v < 1:
                raise _bad(where, name, settings[name], "expected a number in [0, 1)")
    for name in ("weight_decay", "init_std", "sparsity_cost"):
        if name in settings:
            v = number(name)
            if v is None or not v >= 0:
                raise _bad(where, name, settings[name], "expected a finite number >= 0")
    if settings.get("sparsity_target") is not None:
        v = number("sparsity_target")
        if v is None or not 0 < v < 1:
            raise _bad(
                where,
                "sparsity_target",
                settings["sparsity_target"],
                "expected a number in (0, 1) or None",
            )
    for name in ("persistent", "sample_visible"):
        if name in settings and not isinstance(settings[name], (bool, np.bool_)):
            raise _bad(where, name, settings[name], "expected True or False")
    if "visible" in settings and settings["visible"] not in VISIBLE_KINDS:
        raise _bad(where, "visible", settings["visible"], f"expected one of {VISIBLE_KINDS}")
    if "sparsity_rule" in settings and settings["sparsity_rule"] not in SPARSITY_RULES:
        raise _bad(
            where, "sparsity_rule", settings["sparsity_rule"], f"expected one of {SPARSITY_RULES}"
        )
    seed = settings.get("seed")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0
    ):
        raise _bad(where, "seed", seed, "expected an integer >= 0 or None")


def _checked(state: dict[str, Any], key: str, shape: tuple[int, ...], where: str) -> Any:
    """``state[key]``, a finite floating tensor of ``shape``, or an InputError."""
    import torch

    t = state.get(key)
    if not isinstance(t, torch.Tensor):
        raise InputError(f"{where}: {key!r} is missing")
    if tuple(t.shape) != shape or not t.dtype.is_floating_point:
        raise InputError(
            f"{where}: {key!r} is {t.dtype} {tuple(t.shape)}; expected floating {shape}"
        )
    if not bool(torch.isfinite(t).all()):
        raise InputError(f"{where}: {key!r} contains NaN or Inf")
    return t
