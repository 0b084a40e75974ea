"""Shared helpers of the similarity measures: input checks, float64 arrays on numpy or torch.

Every measure works on activation matrices with rows = examples and columns = units. The
computations run in float64, in numpy by default or in torch on ``device=`` (the same code:
only operations that numpy and torch spell alike are used here and in the measures).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from netsci_dl._array import is_tensor
from netsci_dl.errors import InputError

__all__ = ["SimilarityWarning", "as_matrix", "as_pair", "backend_for", "xp_of", "warn"]

#: with ``device=None``, inputs of at least this many elements run on torch's CPU kernels when
#: torch is installed (its MKL GEMM was ~5x numpy's OpenBLAS in float64 on our machines)
TORCH_AUTO_MIN = 1 << 20


class SimilarityWarning(UserWarning):
    """A similarity value that is defined but not meaningful (too few samples, a constant layer)."""


def warn(message: str) -> None:
    warnings.warn(message, SimilarityWarning, stacklevel=3)


def xp_of(a: Any) -> Any:
    """``numpy`` or ``torch``, whichever holds ``a``."""
    if is_tensor(a):
        import torch

        return torch
    return np


def _nelem(a: Any) -> int:
    if is_tensor(a):
        return int(a.numel())
    return int(np.size(a))


def backend_for(device: Any, *arrays: Any) -> Any:
    """None (numpy) or the ``torch.device`` to compute on, for ``device`` and these inputs."""
    if isinstance(device, str) and device == "numpy":
        return None
    if device is None:
        for a in arrays:
            if is_tensor(a) and a.device.type != "cpu":
                return a.device
        if max((_nelem(a) for a in arrays), default=0) < TORCH_AUTO_MIN:
            return None
        try:
            import torch
        except ImportError:
            return None
        return torch.device("cpu")
    from netsci_dl._array import resolve_device

    return resolve_device(device)


def as_pair(X: Any, Y: Any, *, device: Any = None, min_rows: int = 2) -> tuple[Any, Any]:
    """``X`` and ``Y`` as private float64 matrices on one backend (:func:`backend_for`)."""
    backend = backend_for(device, X, Y)
    X = as_matrix(X, "X", device=backend, min_rows=min_rows, private=True)
    Y = as_matrix(Y, "Y", device=backend, min_rows=min_rows, private=True)
    check_rows(X, Y)
    return X, Y


def as_matrix(
    X: Any, name: str, *, device: Any = None, min_rows: int = 2, private: bool = False
) -> Any:
    """``X`` as a 2-D float64 array: numpy when ``device`` is None, else a torch tensor there
    (``device`` is a resolved backend from :func:`backend_for`).

    A 1-D input is one unit (a column). ``private``: never share memory with ``X`` (the
    measures then centre in place). Raises InputError for another shape, too few rows or
    non-finite values.
    """
    if device is None:
        a = X.detach().cpu().numpy() if is_tensor(X) else np.asarray(X)
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2:
            raise InputError(f"{name} has shape {a.shape}; expected (n_samples, n_units)")
        src = a
        a = np.ascontiguousarray(a, dtype=np.float64)
        if private and np.shares_memory(a, src):
            a = a.copy()
        finite = bool(np.isfinite(a).all())
    else:
        import torch

        from netsci_dl._array import resolve_device

        dev = resolve_device(device)
        owned = False
        if not is_tensor(X):
            X = np.asarray(X)
            if not X.flags.writeable:  # torch warns on read-only memory: our own float64 copy
                X, owned = X.astype(np.float64), True
        a = X if is_tensor(X) else torch.as_tensor(X)
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2:
            raise InputError(f"{name} has shape {tuple(a.shape)}; expected (n_samples, n_units)")
        src = a
        a = a.detach().to(device=dev, dtype=torch.float64)
        if private and not owned and a.data_ptr() == src.data_ptr():
            a = a.clone()  # torch.as_tensor shares a caller's numpy array
        a = a.contiguous()
        finite = bool(torch.isfinite(a).all())
    if a.shape[0] < min_rows:
        raise InputError(f"{name} has {a.shape[0]} samples; this measure needs >= {min_rows}")
    if a.shape[1] < 1:
        raise InputError(f"{name} has no units (shape {tuple(a.shape)})")
    if not finite:
        raise InputError(f"{name} contains NaN or Inf")
    return a


def check_rows(X: Any, Y: Any, names: tuple[str, str] = ("X", "Y")) -> int:
    if X.shape[0] != Y.shape[0]:
        raise InputError(
            f"{names[0]} has {X.shape[0]} samples and {names[1]} {Y.shape[0]}: the rows must be "
            "the same examples"
        )
    return int(X.shape[0])


#: A centred column counts as constant when its sum of squares is at most
#: ``(CONST_FACTOR * n * eps)**2`` times the sum of squares of its raw values (float64 ``eps``).
#: Why: the computed mean of ``n`` equal values ``c`` is off by at most about ``n eps |c|``, so
#: each centred entry of a constant column is at most ``n eps |c|`` and their sum of squares at
#: most ``(n eps)**2 * n c**2``; the factor 64 is a margin. A real column is cut only when its
#: standard deviation is below about ``64 n eps`` (1.4e-11 at n = 1000) of its magnitude.
CONST_FACTOR = 64.0


def const_tol(n: int) -> float:
    """Relative tolerance on the centred sum of squares (see :data:`CONST_FACTOR`)."""
    return (CONST_FACTOR * n * float(np.finfo(np.float64).eps)) ** 2


def center(X: Any) -> Any:
    """Subtract each column's mean (``H X`` with ``H = I - 11^T/n``), in place; returns ``X``.

    A column that is constant to rounding (centred sum of squares ``<= const_tol(n)`` times
    its raw sum of squares, e.g. a float64 column of 0.1 or 1/3, whose centred entries are
    about 1e-17 rather than 0) is set to exact zeros, so every measure sees it as constant.
    """
    raw = (X * X).sum(0)
    X -= X.mean(0)
    flat = (X * X).sum(0) <= const_tol(int(X.shape[0])) * raw
    if bool(flat.any()):
        X[:, flat] = 0
    return X


def fro2(A: Any) -> float:
    """Squared Frobenius norm as a Python float (no temporary of A's size)."""
    a = A.reshape(-1)
    return float(a @ a)
