"""Linear probes: a scalar output (log-odds) for a hidden layer, fitted on clean features."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from netsci_dl import _args
from netsci_dl.errors import InputError

__all__ = ["LinearProbe", "fit_probe"]


@dataclass(frozen=True, eq=False)
class LinearProbe:
    """A linear classifier on a layer's features: ``logits = ((F - mean) / scale) @ coef + intercept``.

    Attributes
    ----------
    mean, scale : (d,) float64 ndarray
        Standardisation of the features (fit data; ``scale`` is 1 where a feature is constant).
    coef : (d, K) float64 ndarray
    intercept : (K,) float64 ndarray
    classes : (K,) int64 ndarray
        The class of each logit column (``K = 2`` logits ``[0, z]`` for a binary probe).
    accuracy : float
        Accuracy on the data it was fitted on.
    """

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    classes: np.ndarray
    accuracy: float

    def class_logits(self, F: Any) -> np.ndarray:
        """Logits ``(n, max class + 1)`` whose column ``c`` belongs to class ``c`` (classes the
        probe never saw get ``-inf``)."""
        z = self.logits(F)
        out = np.full((z.shape[0], int(self.classes.max()) + 1), -np.inf)
        out[:, self.classes] = z
        return out

    def logits(self, F: Any) -> np.ndarray:
        """``(b, K)`` logits of features ``F`` of shape ``(b, d)``."""
        F = np.asarray(F, dtype=np.float64).reshape(len(F), -1)
        if F.shape[1] != self.mean.size:
            raise InputError(f"probe expects {self.mean.size} features, got {F.shape[1]}")
        return ((F - self.mean) / self.scale) @ self.coef + self.intercept

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the parameters as lists, the classes and the accuracy."""
        return {
            "n_features": int(self.mean.size),
            "classes": self.classes.tolist(),
            "accuracy": float(self.accuracy),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
        }

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        return summary(
            "LinearProbe",
            n_features=int(self.mean.size),
            classes=tuple(int(c) for c in self.classes),
            accuracy=float(self.accuracy),
        )


def fit_probe(F: Any, y: Any, *, C: float = 1.0, max_iter: int = 500) -> LinearProbe:
    """Fit a :class:`LinearProbe` (scikit-learn's ``LogisticRegression``, L2 penalty ``1 / C``).

    The probe's logit columns follow the classes found in ``y``; every target later passed
    with it must be one of them (the column index of class ``c`` is its rank among them).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> F = rng.normal(size=(60, 3)); y = (F[:, 0] > 0).astype(int)
    >>> pr = fit_probe(F, y)
    >>> pr.logits(F).shape, pr.accuracy > 0.9
    ((60, 2), True)
    """
    C = _args.real("C", C, lo=0, lo_open=True)
    max_iter = _args.count("max_iter", max_iter, hi=1_000_000)
    from netsci_dl._array import require

    lm = require("sklearn.linear_model", "ml", "the layer probes")
    F = np.asarray(F, dtype=np.float64)
    F = F.reshape(F.shape[0], -1)
    y = np.asarray(y).astype(np.int64).reshape(-1)
    if y.size != F.shape[0]:
        raise InputError(f"probe data: {F.shape[0]} feature rows for {y.size} labels")
    classes = np.unique(y)
    if classes.size < 2:
        raise InputError("probe data must hold at least two classes")
    mean = F.mean(axis=0)
    sd = F.std(axis=0)
    scale = np.where(sd > 1e-12, sd, 1.0)
    Z = (F - mean) / scale
    clf = lm.LogisticRegression(C=float(C), max_iter=int(max_iter))
    clf.fit(Z, y)
    coef = np.asarray(clf.coef_, dtype=np.float64).T
    icp = np.asarray(clf.intercept_, dtype=np.float64)
    if classes.size == 2:  # sklearn keeps one logit for the second class
        coef = np.concatenate([np.zeros_like(coef), coef], axis=1)
        icp = np.concatenate([[0.0], icp])
    acc = float((classes[np.argmax(Z @ coef + icp, axis=1)] == y).mean())
    return LinearProbe(mean, scale, coef, icp, classes, acc)
