"""Layer EI settings and results, and the parsing of a layer (``W``, ``b``, activation).

Private: the public names are re-exported by :mod:`netsci_dl.analysis.information.causal_plane`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl import _args
from netsci_dl._array import to_numpy
from netsci_dl.errors import InputError

__all__ = [
    "ACTIVATION_RANGES",
    "LayerEIOptions",
    "LayerEI",
    "as_layer",
    "act_name",
    "identity_range",
    "check_range",
]

#: default output range of each activation: deep-ei's table (sigmoid, tanh, relu); the ReLU
#: family takes relu's upper bound (our choice); "identity" is computed per layer
ACTIVATION_RANGES: dict[str, tuple[float, float] | None] = {
    "sigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "relu": (0.0, 10.0),
    "leaky_relu": (-1.0, 10.0),
    "elu": (-1.0, 10.0),
    "gelu": (-0.2, 10.0),
    "silu": (-0.3, 10.0),
    "softplus": (0.0, 10.0),
    "identity": None,
}
_ALIASES = {"linear": "identity", "none": "identity", "logistic": "sigmoid", "swish": "silu"}


@dataclass(frozen=True)
class LayerEIOptions:
    """The estimator settings of layer EI, one default for every entry point (the report, the
    CLI, :func:`layer_causal_plane`, :func:`netsci_dl.runs.ei_trajectory`).

    Parameters
    ----------
    bins : int
        Bins for inputs and outputs (the paper: 8; deep-ei's default: 64).
    n_samples : int
        Noise samples for EI_parts / EI_whole (the paper: 1e7; the plug-in estimate is biased
        upward with few samples, by about ``(bins-1)**2 / (2 n_samples ln 2)`` bits per pair:
        compare numbers only at the same settings).
    sensitivity_samples : int
        Fresh samples per input for the sensitivity (the paper's 5000).
    sensitivity : bool
        Compute the sensitivity.
    in_range : (low, high), optional
        Input noise range of a layer fed by the model's input (default (0, 1)); later layers
        take the output range of the activation feeding them.
    out_range : (low, high), optional
        Output binning range; default from the activation (see :func:`layer_ei`).
    whole : bool, optional
        EI_whole: None computes it when ``bins**n_in <= max_states``.
    max_states : int
    clamp : bool
        deep-ei's clamp of EI_parts below 0.01 bits to 0.
    seed : int
    device : str, optional
        None: CUDA when present, else the CPU.
    batch_bytes : int
        Approximate memory for one batch of samples.

    Examples
    --------
    >>> LayerEIOptions().n_samples, LayerEIOptions(bins=4).bins
    (100000, 4)
    """

    bins: int = 8
    n_samples: int = 100_000
    sensitivity_samples: int = 5000
    sensitivity: bool = True
    in_range: tuple[float, float] | None = None
    out_range: tuple[float, float] | None = None
    whole: bool | None = None
    max_states: int = 2**20
    clamp: bool = False
    seed: int = 0
    device: str | None = None
    batch_bytes: int = 256 << 20

    def __post_init__(self) -> None:
        _args.check_fields(
            self,
            counts={
                "bins": (1, 1_000_000),
                "n_samples": (1, 10**10),
                "sensitivity_samples": (1, 10**9),
                "max_states": (1, 2**40),
                "batch_bytes": (1, 2**40),
            },
            seeds=("seed",),
            devices=("device",),
        )

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        d = asdict(self)
        for k in ("in_range", "out_range"):
            d[k] = None if d[k] is None else list(d[k])
        return d

    def __repr__(self) -> str:
        from netsci_dl._results import changed_only

        return changed_only(self)


@dataclass(frozen=True, eq=False)
class LayerEI:
    """EI of one layer and its place in the causal plane (bits). See :func:`layer_ei`.

    Attributes
    ----------
    ei_parts : float
        ``sum_{A,B} I(x_A; y_B)`` under uniform noise on all inputs.
    ei_whole : float or None
        ``I(x; y)`` of the binned vectors (None when not computed).
    sensitivity : float or None
        ``sum_{A,B} I(x_A; y_B)`` with only input A noised, the others 0 (None when not computed).
    pairs : (n_in, n_out) ndarray
        ``I(x_A; y_B)`` per pair (the terms of ``ei_parts``).
    n_in, n_out, activation, bins, in_range, out_range, n_samples, sensitivity_samples, seed,
    device, clamp : the settings used.
    name : str
        The block this layer is (``"src->dst"``), when it comes from a graph.
    """

    ei_parts: float
    ei_whole: float | None
    sensitivity: float | None
    n_in: int
    n_out: int
    activation: str
    bins: int
    in_range: tuple[float, float]
    out_range: tuple[float, float]
    n_samples: int
    sensitivity_samples: int
    seed: int
    device: str
    clamp: bool
    pairs: np.ndarray = field(repr=False)
    name: str = ""

    def degeneracy(self, kind: str = "parts") -> float:
        """``sensitivity - EI``, with ``EI = ei_parts`` (``kind="parts"``) or ``ei_whole``."""
        if self.sensitivity is None:
            raise InputError("sensitivity was not computed (sensitivity=False)")
        if kind == "parts":
            return self.sensitivity - self.ei_parts
        if kind == "whole":
            if self.ei_whole is None:
                raise InputError("ei_whole was not computed: pass whole=True (small layers only)")
            return self.sensitivity - self.ei_whole
        raise InputError(f"kind must be 'parts' or 'whole', got {kind!r}")

    @property
    def phi_ff(self) -> float | None:
        """``EI_whole - EI_parts`` (can be negative); None when ``ei_whole`` was not computed."""
        return None if self.ei_whole is None else self.ei_whole - self.ei_parts

    def to_dict(self) -> dict[str, Any]:
        """JSON-able scalars and settings (``pairs`` left out)."""
        d = {
            k: getattr(self, k)
            for k in (
                "name ei_parts ei_whole sensitivity n_in n_out activation bins n_samples "
                "sensitivity_samples seed device clamp"
            ).split()
        }
        d["in_range"] = list(self.in_range)
        d["out_range"] = list(self.out_range)
        d["degeneracy"] = None if self.sensitivity is None else self.degeneracy("parts")
        d["phi_ff"] = self.phi_ff
        d["units"] = "bits"
        return d

    def __repr__(self) -> str:
        from netsci_dl._results import short, summary

        return summary(
            "LayerEI",
            *([short(self.name)] if self.name else []),
            shape=(self.n_in, self.n_out),
            activation=self.activation,
            ei_parts=self.ei_parts,
            ei_whole=self.ei_whole,
            sensitivity=self.sensitivity,
            bins=self.bins,
            n_samples=self.n_samples,
        )


# ---- layer parsing --------------------------------------------------------------------------
def act_name(act: Any) -> str:
    if act is None:
        return "identity"
    if isinstance(act, str):
        name = _ALIASES.get(act.lower(), act.lower())
    else:
        name = type(act).__name__.lower()
    if name not in ACTIVATION_RANGES:
        raise InputError(
            f"activation {act!r} not supported: use one of {', '.join(ACTIVATION_RANGES)}"
        )
    return name


def as_layer(layer: Any, bias: Any, activation: Any) -> tuple[np.ndarray, np.ndarray, str]:
    """``(W (n_in, n_out) float32, b (n_out,) float32, activation name)``: from arrays, a
    tuple ``(W[, b[, activation]])``, or a torch layer read by
    :func:`netsci_dl.export.layers.linear_layer` (the parameter layout is export's)."""
    from netsci_dl.export.layers import linear_layer

    act = activation
    read = linear_layer(layer)
    if read is not None:
        W, b, module_act = read
        if activation is None and module_act is not None:
            act = module_act
    elif isinstance(layer, tuple | list):
        if not 1 <= len(layer) <= 3:
            raise TypeError("layer as a tuple must be (W,), (W, b) or (W, b, activation)")
        W = to_numpy(layer[0])
        b = to_numpy(layer[1]) if len(layer) > 1 and layer[1] is not None else None
        if len(layer) == 3 and activation is None:
            act = layer[2]
    else:
        W = to_numpy(layer)
        b = None
    if bias is not None:
        b = to_numpy(bias)
    W = np.asarray(W, dtype=np.float32)
    if W.ndim != 2 or 0 in W.shape:
        raise InputError(
            f"layer weights must be a non-empty (n_in, n_out) matrix, got shape {W.shape}"
        )
    b = np.zeros(W.shape[1], np.float32) if b is None else np.asarray(b, np.float32).reshape(-1)
    if b.shape != (W.shape[1],):
        raise InputError(
            f"bias has shape {b.shape}, expected ({W.shape[1]},) for W of shape {W.shape}"
        )
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
        raise InputError("layer weights or bias contain NaN or Inf")
    return W, b, act_name(act)


def identity_range(
    W: np.ndarray, b: np.ndarray, in_range: tuple[float, float]
) -> tuple[float, float]:
    """Smallest interval holding every output of ``x @ W + b`` for ``x`` in ``in_range``."""
    lo_in, hi_in = in_range
    Wd = W.astype(np.float64)
    lo = b + np.minimum(Wd * lo_in, Wd * hi_in).sum(0)
    hi = b + np.maximum(Wd * lo_in, Wd * hi_in).sum(0)
    lo_, hi_ = float(lo.min()), float(hi.max())
    if hi_ <= lo_:
        lo_, hi_ = lo_ - 0.5, hi_ + 0.5
    return lo_, hi_


def check_range(r: Any, name: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in r)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a pair (low, high), got {r!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise InputError(f"{name} must have finite low < high, got {r!r}")
    return lo, hi
