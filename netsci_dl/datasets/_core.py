"""The data set object and the rules every source shares: scaling, normalize, resize, limit.

The scaling rule (one for every source, stated in :meth:`Dataset.describe`): ``uint8`` values
are divided by 255 (to float32 in [0, 1]); other integers are cast to float32 as given; floats
are kept as given (cast to float32): never rescaled, whatever their range. NaN and Inf are
refused. Token ids (``tokens:``) stay integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from netsci_dl._args import count
from netsci_dl.errors import InputError

__all__ = ["Dataset", "PROBE_SIZE", "scale", "finish", "as_arrays"]

#: the size of a probe set (examples drawn once with :meth:`Dataset.subset` and fed to every
#: snapshot of a run): the one default of every entry point that draws one
PROBE_SIZE = 256

#: the rule, as stated in every data set's description
RULE_UINT8 = "uint8 values / 255 (float32 in [0, 1])"
RULE_FLOAT = "floats kept as given (float32)"
RULE_INT = "integers kept as given (float32)"
RULE_TOKENS = "token ids kept as integers (int64)"


@dataclass(frozen=True)
class Dataset:
    """Examples as rows, with their labels and the shape of one example.

    Attributes
    ----------
    X : (n_samples, n_features) ndarray
        One row per example (float32, or int64 token ids); ``X.reshape(len(X), *image_shape)``
        (:meth:`inputs`) gives each example its shape, e.g. ``(C, H, W)``.
    y : (n_samples,) int64 ndarray
        Class labels; -1 where the source has none (:attr:`has_labels`).
    image_shape : tuple of int
        The shape of one example: ``(rows, cols)`` for grey images, ``(C, H, W)`` for colour
        images (channels first), ``(n_features,)`` for tabular data, ``(length,)`` for tokens.
    name : str
        A short name (``digits``, ``mnist-train``, the file's stem).
    spec : str or None
        The spec that loads this set again (:func:`netsci_dl.datasets.load`).
    steps : tuple of str
        What was done to the values, in order: the scaling rule, ``limit``, ``resize``,
        ``normalize`` (:meth:`describe`).
    attention_mask : ndarray or None
        ``(n_samples, length)`` for token data that has one.
    """

    X: np.ndarray
    y: np.ndarray
    image_shape: tuple[int, ...]
    name: str
    spec: str | None = None
    steps: tuple[str, ...] = field(default=())
    attention_mask: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.X)

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, n={len(self)}, shape={tuple(self.image_shape)}, "
            f"dtype={self.X.dtype}, labels={'yes' if self.has_labels else 'no'})"
        )

    @property
    def has_labels(self) -> bool:
        """Whether the source gave labels (else ``y`` is all -1)."""
        return bool(len(self.y)) and bool((self.y >= 0).all())

    def inputs(self) -> np.ndarray:
        """``X`` with each example in its shape: ``(n, *image_shape)``."""
        return self.X.reshape(len(self.X), *self.image_shape)

    def describe(self) -> str:
        """One line: the source, the size, the shape and every step applied to the values.

        Examples
        --------
        >>> from netsci_dl.datasets import load
        >>> print(load("digits", limit=10).describe())
        digits: 10 examples of shape (8, 8), float32, labels; grey levels 0..16 / 16; limit: the first 10
        """
        lab = "labels" if self.has_labels else "no labels"
        head = f"{self.name}: {len(self)} examples of shape {tuple(self.image_shape)}, "
        return head + f"{self.X.dtype}, {lab}; " + "; ".join(self.steps)

    def subset(self, n: int, *, seed: int = 0) -> Dataset:
        """``n`` examples drawn at random without replacement, kept in their original order
        (the whole set when ``n >= len(self)``).

        Examples
        --------
        >>> from netsci_dl.datasets import load_digits
        >>> d = load_digits()
        >>> s = d.subset(100, seed=1)
        >>> len(s), bool((s.y == d.subset(100, seed=1).y).all())
        (100, True)
        """
        seed = count("seed", seed, lo=0)
        if int(n) < 2:
            raise InputError(f"a subset needs at least 2 examples, got {n}")
        if n >= len(self):
            return self
        idx = np.sort(np.random.default_rng(seed).choice(len(self), size=int(n), replace=False))
        return self.take(idx)

    def take(self, idx: Any) -> Dataset:
        """The examples at ``idx`` (an index array or a slice), everything else kept."""
        mask = None if self.attention_mask is None else self.attention_mask[idx]
        return replace(self, X=self.X[idx], y=self.y[idx], attention_mask=mask)


def scale(X: np.ndarray, source: str) -> tuple[np.ndarray, str]:
    """``(values, rule)`` by the scaling rule of this module; NaN/Inf and non-numbers refused."""
    X = np.asarray(X)
    if X.dtype.kind not in "buif":
        raise InputError(f"{source}: values have dtype {X.dtype}; expected numbers")
    if X.dtype == np.uint8:
        return X.astype(np.float32) / np.float32(255.0), RULE_UINT8
    if X.dtype.kind == "f":
        if not np.isfinite(X).all():
            raise InputError(f"{source}: values contain NaN or Inf")
        return X.astype(np.float32, copy=False), RULE_FLOAT
    return X.astype(np.float32), RULE_INT


def labels(y: Any, n: int, source: str) -> np.ndarray:
    """Whole class numbers >= 0 as int64 (``-1`` each when ``y`` is None), else InputError."""
    if y is None:
        return np.full(n, -1, np.int64)
    y = np.asarray(y)
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


def _pair(value: Any, what: str) -> tuple[Any, Any]:
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != 2:
        raise InputError(f"{what}={value!r}: expected a pair")
    return value[0], value[1]


def _linear_axis(a: np.ndarray, axis: int, n_out: int) -> np.ndarray:
    """Linear interpolation of ``a`` along ``axis`` to ``n_out`` samples (pixel centres
    aligned: ``src = (dst + 0.5) * n_in / n_out - 0.5``, clamped at the edges)."""
    n_in = a.shape[axis]
    src = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0.0, n_in - 1)
    i0 = np.floor(src).astype(np.intp)
    i1 = np.minimum(i0 + 1, n_in - 1)
    shape = [1] * a.ndim
    shape[axis] = n_out
    w = (src - i0).astype(np.float32).reshape(shape)
    return np.take(a, i0, axis=axis) * (1 - w) + np.take(a, i1, axis=axis) * w


def _resize(X: np.ndarray, shape: tuple[int, ...], size: Any) -> tuple[np.ndarray, tuple]:
    """Bilinear resize of images ``(n, H, W)`` or ``(n, C, H, W)`` (rows in ``X``), one
    separable pass per axis (no antialiasing: shrinking by more than 2 skips pixels)."""
    h, w = (int(v) for v in _pair(size, "resize"))
    if h < 1 or w < 1:
        raise InputError(f"resize={size!r}: expected a positive height and width")
    if len(shape) not in (2, 3):
        raise InputError(f"resize: examples of shape {shape} are not images (H, W) or (C, H, W)")
    img = X.reshape(len(X), *shape)
    if tuple(shape[-2:]) == (h, w):
        return X, shape
    out = _linear_axis(_linear_axis(img, img.ndim - 2, h), img.ndim - 1, w)
    new = (*shape[:-2], h, w)
    return out.astype(np.float32, copy=False).reshape(len(X), -1), new


def _normalize(X: np.ndarray, shape: tuple[int, ...], norm: Any) -> tuple[np.ndarray, str]:
    """``(x - mean) / std`` per channel (axis 1 of ``(n, C, H, W)``; one channel otherwise)."""
    m, s = _pair(norm, "normalize")
    mean = np.atleast_1d(np.asarray(m, dtype=np.float32))
    std = np.atleast_1d(np.asarray(s, dtype=np.float32))
    c = shape[0] if len(shape) == 3 else 1
    for v, what in ((mean, "mean"), (std, "std")):
        if v.ndim != 1 or len(v) not in (1, c):
            raise InputError(
                f"normalize: {len(v)} {what} values for {c} channel(s) (examples of shape {shape})"
            )
    if not (std > 0).all():
        raise InputError(f"normalize: std must be > 0, got {std.tolist()}")
    img = X.reshape(len(X), c, -1)
    out = (img - mean.reshape(1, -1, 1)) / std.reshape(1, -1, 1)
    fmt = ", ".join
    rule = (
        f"normalize: (x - [{fmt(f'{v:g}' for v in mean.tolist())}]) / "
        f"[{fmt(f'{v:g}' for v in std.tolist())}] per channel"
    )
    return out.reshape(len(X), -1).astype(np.float32), rule + (" (axis 1)" if c > 1 else "")


def finish(
    ds: Dataset,
    *,
    normalize: Any = None,
    resize: Any = None,
    limit: int | None = None,
) -> Dataset:
    """``limit`` (the first N), then ``resize`` (bilinear), then ``normalize``, each recorded."""
    steps = list(ds.steps)
    if limit is not None:
        if int(limit) < 1:
            raise InputError(f"limit={limit}: expected at least 1 example")
        if int(limit) < len(ds):
            ds = ds.take(slice(0, int(limit)))
            steps.append(f"limit: the first {int(limit)}")
    X, shape = ds.X, tuple(ds.image_shape)
    if (resize is not None or normalize is not None) and X.dtype.kind != "f":
        raise InputError(f"{ds.name}: resize/normalize apply to images, not to {X.dtype} ids")
    if resize is not None:
        X, shape = _resize(X, shape, resize)
        steps.append(f"resize: bilinear to {shape[-2]}x{shape[-1]}")
    if normalize is not None:
        X, rule = _normalize(X, shape, normalize)
        steps.append(rule)
    return replace(ds, X=X, image_shape=shape, steps=tuple(steps))


def as_arrays(data: Any) -> tuple[Any, Any]:
    """``(X, y)`` from a :class:`Dataset`, an ``(X, y)`` pair, an array/tensor (``y`` None), a
    torch ``DataLoader`` (its batches, concatenated) or a torch ``Dataset`` (its items).

    Items and batches are a tensor, or a tuple/list whose first entry is the input and second
    the label, or a dict with ``input_ids``/``x``/``input``/``image`` and ``labels``/``label``/``y``.
    Tensors are returned as they are (no copy to numpy).

    Examples
    --------
    >>> import torch
    >>> from torch.utils.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(torch.arange(12.0).reshape(6, 2), torch.arange(6))
    >>> X, y = as_arrays(DataLoader(ds, batch_size=4))
    >>> tuple(X.shape), y.tolist()
    ((6, 2), [0, 1, 2, 3, 4, 5])
    """
    if isinstance(data, Dataset):
        return data.X, (data.y if data.has_labels else None)
    if hasattr(data, "X") and hasattr(data, "y"):
        return data.X, data.y
    if isinstance(data, np.ndarray) or hasattr(data, "__array__") or _is_tensor(data):
        return data, None
    if isinstance(data, tuple) and len(data) == 2:
        return data
    kind = type(data).__name__
    mod = type(data).__module__
    if mod.startswith("torch.utils.data") or _is_torch_data(data):
        return _gather(data, kind)
    return data, None


def _is_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def _is_torch_data(data: Any) -> bool:
    try:
        from torch.utils.data import DataLoader
        from torch.utils.data import Dataset as TorchDataset
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return isinstance(data, DataLoader | TorchDataset)


_X_KEYS = ("input_ids", "x", "X", "input", "inputs", "image", "images", "pixel_values")
_Y_KEYS = ("labels", "label", "y", "target", "targets")


def _split_item(item: Any, kind: str) -> tuple[Any, Any]:
    if isinstance(item, dict):
        xk = next((k for k in _X_KEYS if k in item), None)
        if xk is None:
            raise InputError(f"{kind}: items are dicts without any of {list(_X_KEYS)}")
        yk = next((k for k in _Y_KEYS if k in item), None)
        return item[xk], None if yk is None else item[yk]
    if isinstance(item, tuple | list):
        if not item:
            raise InputError(f"{kind}: empty item")
        return item[0], item[1] if len(item) > 1 else None
    return item, None


def _gather(data: Any, kind: str) -> tuple[Any, Any]:
    """Every batch (DataLoader) or item (Dataset) stacked: ``(X, y or None)`` torch tensors."""
    import torch
    from torch.utils.data import DataLoader

    batched = isinstance(data, DataLoader) and data.batch_size is not None
    xs, ys = [], []
    items = data if isinstance(data, DataLoader) else (data[i] for i in range(len(data)))
    for item in items:
        x, y = _split_item(item, kind)
        xs.append(torch.as_tensor(x))
        ys.append(None if y is None else torch.as_tensor(y))
    if not xs:
        raise InputError(f"{kind}: no examples")
    X = torch.cat(xs) if batched else torch.stack(xs)
    if any(y is None for y in ys):
        return X, None
    Y = torch.cat([y.reshape(-1) for y in ys]) if batched else torch.stack(ys).reshape(-1)
    return X, Y
