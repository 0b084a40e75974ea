"""Data sets: scikit-learn's 8x8 digits (embedded default) and MNIST from local files.

Nothing is downloaded: digits ship inside scikit-learn; MNIST is read from the standard IDX
files (raw or ``.gz``) or an ``.npz`` the user already has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Dataset", "load_digits"]


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
