"""Result objects of :mod:`netsci_dl.activations._curvature` (frozen, with long tables)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl._tables import long_rows as _long_rows

__all__ = ["TopEigenvalue", "TraceEstimate", "GradientCovariance"]


def _ro(a: Any, dtype: Any = np.float64) -> np.ndarray:
    a = np.array(a, dtype=dtype)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class TopEigenvalue:
    """The top eigenvalue of a symmetric operator and the quality of its eigenpair.

    Attributes
    ----------
    eigenvalue : float
    residual : float
        ``||A v - eigenvalue v||`` for the returned unit vector ``v``.
    converged : bool
        ``residual <= tol * |eigenvalue|``.
    n_iter : int
        Operator applications used (the residual check included).
    method : {"lanczos", "power"}
    quantity : str
        What the operator is (``"hessian"``; ``"operator"`` for :func:`top_eigenvalue`).
    settings : dict
    """

    eigenvalue: float
    residual: float
    converged: bool
    n_iter: int
    method: str
    quantity: str = "operator"
    settings: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "eigenvalue": self.eigenvalue,
            "residual": self.residual,
            "converged": self.converged,
            "n_iter": self.n_iter,
            "method": self.method,
            "quantity": self.quantity,
            "settings": dict(self.settings),
        }

    def to_frame(self, *, snapshot: Any = None, step: Any = None, epoch: Any = None) -> Any:
        """Long table: layer ``"all"``, metrics ``{q}_top_eigenvalue`` and ``..._residual``."""
        q = self.quantity
        rows = [
            ("all", f"{q}_top_eigenvalue", self.eigenvalue),
            ("all", f"{q}_top_eigenvalue_residual", self.residual),
        ]
        return _long_rows(rows, snapshot, step, epoch)


@dataclass(frozen=True, eq=False)
class TraceEstimate:
    """A Hutchinson trace estimate, overall and per group (layer).

    Attributes
    ----------
    trace, stderr : float
        Mean of ``v^T A v`` over the probes and its standard error (``std(ddof=1)/sqrt(m)``).
    samples : (n_probes,) float64 ndarray
        ``v^T A v`` of each probe.
    layers : tuple of str
    layer_traces, layer_stderrs : (n_layers,) float64 ndarray
    quantity : str
    settings : dict
    """

    trace: float
    stderr: float
    samples: np.ndarray = field(repr=False)
    layers: tuple[str, ...] = ()
    layer_traces: np.ndarray = field(default_factory=lambda: _ro([]), repr=False)
    layer_stderrs: np.ndarray = field(default_factory=lambda: _ro([]), repr=False)
    quantity: str = "operator"
    settings: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for k in ("samples", "layer_traces", "layer_stderrs"):
            object.__setattr__(self, k, _ro(getattr(self, k)))

    @property
    def n_probes(self) -> int:
        return int(self.samples.shape[0])

    @property
    def per_layer(self) -> dict[str, float]:
        return dict(zip(self.layers, self.layer_traces.tolist()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace": self.trace,
            "stderr": self.stderr,
            "n_probes": self.n_probes,
            "per_layer": self.per_layer,
            "layer_stderr": dict(zip(self.layers, self.layer_stderrs.tolist())),
            "quantity": self.quantity,
            "settings": dict(self.settings),
        }

    def to_frame(self, *, snapshot: Any = None, step: Any = None, epoch: Any = None) -> Any:
        """Long table: ``{q}_trace`` and ``{q}_trace_stderr`` per layer and for ``"all"``."""
        q = self.quantity
        rows = []
        for i, name in enumerate(self.layers):
            rows += [
                (name, f"{q}_trace", self.layer_traces[i]),
                (name, f"{q}_trace_stderr", self.layer_stderrs[i]),
            ]
        rows += [("all", f"{q}_trace", self.trace), ("all", f"{q}_trace_stderr", self.stderr)]
        return _long_rows(rows, snapshot, step, epoch)

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        return summary(
            "TraceEstimate",
            repr(self.quantity),
            trace=self.trace,
            stderr=self.stderr,
            n_probes=self.n_probes,
            layers=len(self.layers),
        )


@dataclass(frozen=True, eq=False)
class GradientCovariance:
    """Spectrum summary of the per-example gradient covariance ``K`` (JB20).

    Attributes
    ----------
    top_eigenvalue, trace : float
        Of ``K = (1/M) sum_i (g_i - g)(g_i - g)^T``.
    eigenvalues : (k,) float64 ndarray
        The ``k`` largest eigenvalues of ``K``, descending.
    layers : tuple of str
    layer_top_eigenvalues, layer_traces : (n_layers,) float64 ndarray
        Of the diagonal block ``K_ll`` of each layer.
    n_examples : int
    settings : dict
    """

    top_eigenvalue: float
    trace: float
    eigenvalues: np.ndarray = field(repr=False)
    layers: tuple[str, ...] = ()
    layer_top_eigenvalues: np.ndarray = field(default_factory=lambda: _ro([]), repr=False)
    layer_traces: np.ndarray = field(default_factory=lambda: _ro([]), repr=False)
    n_examples: int = 0
    settings: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for k in ("eigenvalues", "layer_top_eigenvalues", "layer_traces"):
            object.__setattr__(self, k, _ro(getattr(self, k)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "top_eigenvalue": self.top_eigenvalue,
            "trace": self.trace,
            "eigenvalues": self.eigenvalues.tolist(),
            "per_layer_top_eigenvalue": dict(zip(self.layers, self.layer_top_eigenvalues.tolist())),
            "per_layer_trace": dict(zip(self.layers, self.layer_traces.tolist())),
            "n_examples": self.n_examples,
            "settings": dict(self.settings),
        }

    def to_frame(self, *, snapshot: Any = None, step: Any = None, epoch: Any = None) -> Any:
        """Long table: ``gradcov_top_eigenvalue`` and ``gradcov_trace`` per layer and ``"all"``."""
        rows = []
        for i, name in enumerate(self.layers):
            rows += [
                (name, "gradcov_top_eigenvalue", self.layer_top_eigenvalues[i]),
                (name, "gradcov_trace", self.layer_traces[i]),
            ]
        rows += [
            ("all", "gradcov_top_eigenvalue", self.top_eigenvalue),
            ("all", "gradcov_trace", self.trace),
        ]
        return _long_rows(rows, snapshot, step, epoch)

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        return summary(
            "GradientCovariance",
            top_eigenvalue=self.top_eigenvalue,
            trace=self.trace,
            n_eigenvalues=int(self.eigenvalues.size),
            layers=len(self.layers),
            n_examples=self.n_examples,
        )
