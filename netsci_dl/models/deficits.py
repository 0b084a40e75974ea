"""Sensory deficits for critical-period experiments (Achille, Rovere & Soatto, ICLR 2019).

A deficit is a transform of the training data applied during a window of epochs. Epochs are
counted by their index ``i = 0, 1, ..., epochs - 1`` (epoch ``i`` starts after ``i`` completed
epochs); the window ``(start, length)`` covers the epochs ``start <= i < start + length``, so
the deficit is removed after ``end = start + length`` completed epochs (the *removal epoch* of
the study's plots). The test data are never transformed.

Kinds
-----
- ``blur``: each image is downsampled by ``factor`` (area averaging to ``round(H / factor) x
  round(W / factor)``), then upsampled back with bilinear interpolation (``align_corners=False``):
  A19's 32 -> 8 -> 32 is ``factor=4`` (the default); MNIST 28 -> 7 -> 28 is ``factor=4``; on the
  8x8 digits ``factor=4`` leaves 2x2 pixels (8 -> 2 -> 8, the study's ratio) and ``factor=2``
  4x4 (a milder deficit).
- ``vflip``: images flipped upside down (rows reversed).
- ``label_permutation``: every label ``c`` replaced by ``perm[c]``, one fixed random derangement
  of the classes (no class keeps its label) for the whole window, drawn from ``seed``.
- ``noise``: images replaced by i.i.d. uniform noise in [0, 1] (the data range), drawn afresh
  each epoch from ``(seed, epoch)`` so a resumed run sees the same noise.

``lr_reset``: a decaying learning-rate schedule alone makes a late window look worse (the clean
epochs after it run at a smaller rate). With ``lr_reset=True`` the schedule restarts at the
removal epoch; :func:`schedule_epoch` gives the epoch count the schedule sees. The experiment
records which it used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from netsci_dl import _args
from netsci_dl.errors import InputError

__all__ = [
    "DEFICITS",
    "Deficit",
    "blur",
    "vflip",
    "label_permutation",
    "noise_like",
    "schedule_epoch",
]

DEFICITS = ("blur", "vflip", "label_permutation", "noise")


def _images(torch: Any, X: Any, image_shape: tuple[int, ...]) -> tuple[Any, Any]:
    """``X`` as a float tensor of images ``(n, C, H, W)`` and a function putting it back."""
    was_numpy = not isinstance(X, torch.Tensor)
    Xt = torch.as_tensor(np.asarray(X)) if was_numpy else X
    shape = tuple(int(s) for s in image_shape)
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3:
        raise InputError(f"image_shape {image_shape!r}: expected (H, W) or (C, H, W)")
    n = Xt.shape[0]
    if n and Xt[0].numel() != int(np.prod(shape)):
        raise InputError(f"X has shape {tuple(Xt.shape)}; it does not hold images of {shape}")
    orig = tuple(Xt.shape)
    imgs = Xt.reshape(n, *shape)

    def back(out: Any) -> Any:
        out = out.reshape(orig)
        return out.numpy() if was_numpy else out

    return imgs, back


def blur(X: Any, image_shape: tuple[int, ...], factor: float = 4.0) -> Any:
    """Downsample every image by ``factor`` (area averaging), upsample back (bilinear).

    Parameters
    ----------
    X : (n, C*H*W) or (n, C, H, W) array or tensor
    image_shape : (H, W) or (C, H, W)
    factor : float > 1
        The low-resolution image is ``round(H / factor) x round(W / factor)`` (at least 1x1).

    Returns
    -------
    Same type and shape as ``X``. A constant image stays that constant (to rounding).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(16, dtype=np.float32).reshape(1, 16)
    >>> blur(X, (4, 4), 2).reshape(4, 4)[0].round(2).tolist()
    [2.5, 3.0, 4.0, 4.5]
    >>> bool(np.allclose(blur(np.full((1, 64), 0.3, np.float32), (8, 8), 4), 0.3, atol=1e-7))
    True
    """
    from netsci_dl._array import import_torch

    torch = import_torch()
    if not factor > 1:
        raise InputError(f"blur factor {factor}: must be > 1")
    imgs, back = _images(torch, X, image_shape)
    if not imgs.is_floating_point():
        imgs = imgs.float()
    h, w = imgs.shape[-2:]
    small = (max(1, round(h / factor)), max(1, round(w / factor)))
    F = torch.nn.functional
    low = F.adaptive_avg_pool2d(imgs, small)
    return back(F.interpolate(low, size=(h, w), mode="bilinear", align_corners=False))


def vflip(X: Any, image_shape: tuple[int, ...]) -> Any:
    """Flip every image upside down (reverse its rows).

    Examples
    --------
    >>> import numpy as np
    >>> vflip(np.array([[1, 2, 3, 4]]), (2, 2)).tolist()
    [[3, 4, 1, 2]]
    """
    from netsci_dl._array import import_torch

    torch = import_torch()
    imgs, back = _images(torch, X, image_shape)
    return back(torch.flip(imgs, dims=(-2,)))


def label_permutation(n_classes: int, seed: int = 0) -> np.ndarray:
    """A random derangement of ``range(n_classes)``: ``perm[c] != c`` for every class.

    A random cyclic order of the classes, each label mapped to the next one in it.

    Examples
    --------
    >>> p = label_permutation(10, seed=3)
    >>> sorted(p.tolist()) == list(range(10)), bool((p != np.arange(10)).all())
    (True, True)
    """
    n_classes = _args.count("n_classes", n_classes, hi=1_000_000)
    seed = _args.seed("seed", seed, none=False)
    n = int(n_classes)
    if n < 2:
        raise InputError(f"n_classes={n_classes}: a label permutation needs at least 2 classes")
    order = np.random.default_rng(np.random.SeedSequence([int(seed), 0x1AB])).permutation(n)
    perm = np.empty(n, dtype=np.int64)
    perm[order] = np.roll(order, -1)
    return perm


def noise_like(X: Any, *, seed: int = 0, epoch: int = 0) -> Any:
    """I.i.d. uniform noise in [0, 1] with the shape, type and dtype of ``X``.

    Drawn from ``(seed, epoch)``: the same arguments give the same noise.

    Examples
    --------
    >>> import numpy as np
    >>> a = noise_like(np.zeros((2, 3), np.float32), seed=1, epoch=4)
    >>> b = noise_like(np.ones((2, 3), np.float32), seed=1, epoch=4)
    >>> a.shape, a.dtype, bool((a == b).all()), bool(0 <= a.min() and a.max() <= 1)
    ((2, 3), dtype('float32'), True, True)
    """
    seed = _args.seed("seed", seed, none=False)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch), 0x401]))
    shape = tuple(X.shape)
    z = rng.random(shape)
    from netsci_dl._array import is_tensor

    if is_tensor(X):
        import torch

        return torch.as_tensor(z, dtype=X.dtype, device=X.device)
    return z.astype(np.asarray(X).dtype if np.asarray(X).dtype.kind == "f" else np.float64)


@dataclass(frozen=True)
class Deficit:
    """A deficit of kind ``kind`` applied during the epochs ``start <= i < start + length``.

    Parameters
    ----------
    kind : {"blur", "vflip", "label_permutation", "noise"}
    start : int >= 0
        Window onset: completed epochs before the deficit begins.
    length : int >= 0
        Window length in epochs (0: no deficit at all, a control run).
    factor : float
        Blur downsampling factor (``blur`` only; see :func:`blur`).
    seed : int
        Fixes the label permutation and the noise.

    Examples
    --------
    >>> d = Deficit("blur", start=2, length=3, factor=2)
    >>> [i for i in range(8) if d.active(i)], d.end
    ([2, 3, 4], 5)
    """

    kind: str
    start: int = 0
    length: int = 0
    factor: float = 4.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in DEFICITS:
            raise InputError(f"deficit {self.kind!r}: expected one of {', '.join(DEFICITS)}")
        if int(self.start) < 0 or int(self.length) < 0:
            raise InputError(
                f"deficit window (start={self.start}, length={self.length}): both must be >= 0"
            )
        object.__setattr__(self, "start", int(self.start))
        object.__setattr__(self, "length", int(self.length))
        object.__setattr__(self, "factor", float(self.factor))
        if self.kind == "blur" and not self.factor > 1:
            raise InputError(f"blur factor {self.factor}: must be > 1")

    @property
    def end(self) -> int:
        """The removal epoch: completed epochs when the deficit stops (``start + length``)."""
        return self.start + self.length

    def active(self, epoch_index: int) -> bool:
        """Whether epoch ``epoch_index`` (0-based) trains on deficit data."""
        return self.start <= int(epoch_index) < self.end

    @property
    def changes_labels(self) -> bool:
        return self.kind == "label_permutation"

    def apply(
        self,
        X: Any,
        y: Any,
        *,
        image_shape: tuple[int, ...],
        n_classes: int,
        epoch_index: int,
    ) -> tuple[Any, Any]:
        """The training data ``(X, y)`` of epoch ``epoch_index`` (unchanged outside the window).

        Examples
        --------
        >>> import numpy as np
        >>> d = Deficit("label_permutation", start=1, length=1, seed=0)
        >>> y = np.arange(3)
        >>> d.apply(None, y, image_shape=(1, 1), n_classes=3, epoch_index=0)[1].tolist()
        [0, 1, 2]
        >>> sorted(d.apply(None, y, image_shape=(1, 1), n_classes=3, epoch_index=1)[1].tolist())
        [0, 1, 2]
        """
        if not self.active(epoch_index):
            return X, y
        if self.kind == "blur":
            return blur(X, image_shape, self.factor), y
        if self.kind == "vflip":
            return vflip(X, image_shape), y
        if self.kind == "noise":
            return noise_like(X, seed=self.seed, epoch=epoch_index), y
        perm = label_permutation(n_classes, self.seed)
        from netsci_dl._array import is_tensor

        if is_tensor(y):
            import torch

            return X, torch.as_tensor(perm, device=y.device)[y]
        return X, perm[np.asarray(y)]

    def state(self, epochs_done: int) -> dict[str, Any]:
        """JSON-able state after ``epochs_done`` completed epochs (for snapshot sidecars)."""
        last = epochs_done - 1
        return dict(
            self.to_dict(),
            end=self.end,
            active=bool(last >= 0 and self.active(last)),
            removed=bool(self.length and epochs_done >= self.end),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __repr__(self) -> str:
        from netsci_dl._results import changed_only

        return changed_only(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Deficit:
        names = {"kind", "start", "length", "factor", "seed"}
        bad = set(d) - names - {"end", "active", "removed"}
        if bad:
            raise InputError(f"unknown Deficit fields {sorted(bad)}; allowed: {sorted(names)}")
        return cls(**{k: v for k, v in d.items() if k in names})


def schedule_epoch(epoch_index: int, deficit: Deficit | None, *, lr_reset: bool) -> int:
    """The epoch count the learning-rate schedule sees at epoch ``epoch_index``.

    ``epoch_index`` itself, unless ``lr_reset`` and the deficit has been removed: then the epochs
    since removal (the schedule restarts at the removal epoch).

    Examples
    --------
    >>> d = Deficit("blur", start=0, length=3)
    >>> [schedule_epoch(i, d, lr_reset=True) for i in range(5)]
    [0, 1, 2, 0, 1]
    >>> [schedule_epoch(i, d, lr_reset=False) for i in range(5)]
    [0, 1, 2, 3, 4]
    """
    i = int(epoch_index)
    if lr_reset and deficit is not None and deficit.length > 0 and i >= deficit.end:
        return i - deficit.end
    return i
