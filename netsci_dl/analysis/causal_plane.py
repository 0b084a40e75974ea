"""Effective information of layers: EI_parts, EI_whole, sensitivity, degeneracy, the causal plane.

Conventions of Marrow, Michaud & Hoel (2020) and their ``deep-ei`` code (see SCIENCE.md). A layer
is ``y = act(x @ W + b)`` with ``W`` of shape ``(n_in, n_out)`` (block orientation; torch's
``nn.Linear.weight`` is its transpose). Inputs are intervened on with maximum entropy (i.i.d.
uniform over ``in_range``), inputs and outputs are binned into ``bins`` equal bins, and mutual
informations are plug-in estimates in bits.

Vectorised: the joint histograms of all ``n_in * n_out`` (input, output) pairs are one integer
matrix product per batch of samples, ``onehot(x_bins).T @ onehot(y_bins)`` (int8 in, exact
int32 counts out; ``torch._int_mm``, float32 fallback), accumulated in int64. Memory is bounded:
the counts take ``8 * n_in * n_out * bins**2`` bytes (128 MB for 500 x 500 at 8 bins) and a batch
of samples about ``batch_bytes``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl._array import import_torch, resolve_device, to_numpy
from netsci_dl.analysis._layer_counts import (
    _act,
    _batch,
    _bin,
    _codes,
    _count_mm,
    _entropy_of_codes,
    _mi_from_counts,
    _onehot,
    _seeds,
)
from netsci_dl.errors import InputError

__all__ = ["LayerEI", "layer_ei", "layer_causal_plane", "ACTIVATION_RANGES"]

#: default output range of each activation (deep-ei's table); "identity" is computed per layer
ACTIVATION_RANGES: dict[str, tuple[float, float] | None] = {
    "sigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "relu": (0.0, 10.0),
    "identity": None,
}
_ALIASES = {"linear": "identity", "none": "identity", "logistic": "sigmoid"}


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
                "ei_parts ei_whole sensitivity n_in n_out activation bins n_samples "
                "sensitivity_samples seed device clamp"
            ).split()
        }
        d["in_range"] = list(self.in_range)
        d["out_range"] = list(self.out_range)
        d["degeneracy"] = None if self.sensitivity is None else self.degeneracy("parts")
        d["phi_ff"] = self.phi_ff
        d["units"] = "bits"
        return d


# ---- layer parsing --------------------------------------------------------------------------
def _act_name(act: Any) -> str:
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


def _as_layer(layer: Any, bias: Any, activation: Any) -> tuple[np.ndarray, np.ndarray, str]:
    """``(W (n_in, n_out) float32, b (n_out,) float32, activation name)``."""
    torch = None
    try:
        import torch
    except ImportError:  # pragma: no cover - raw arrays still work until sampling
        pass
    act = activation
    if torch is not None and isinstance(layer, torch.nn.Sequential):
        mods = list(layer)
        if not mods or not isinstance(mods[0], torch.nn.Linear) or len(mods) > 2:
            raise TypeError("a Sequential layer must be (nn.Linear,) or (nn.Linear, activation)")
        if len(mods) == 2 and activation is None:
            act = mods[1]
        layer = mods[0]
    if torch is not None and isinstance(layer, torch.nn.Linear):
        W = to_numpy(layer.weight).T
        b = to_numpy(layer.bias) if layer.bias is not None else None
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
    return W, b, _act_name(act)


def _identity_range(
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


def _check_range(r: Any, name: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in r)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a pair (low, high), got {r!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise InputError(f"{name} must have finite low < high, got {r!r}")
    return lo, hi


def layer_ei(
    layer: Any,
    *,
    bias: Any = None,
    activation: Any = None,
    bins: int = 8,
    in_range: tuple[float, float] = (0.0, 1.0),
    out_range: tuple[float, float] | None = None,
    n_samples: int = 100_000,
    sensitivity: bool = True,
    sensitivity_samples: int = 5000,
    whole: bool | None = None,
    max_states: int = 2**20,
    clamp: bool = False,
    seed: int = 0,
    device: Any = None,
    batch_bytes: int = 256 << 20,
) -> LayerEI:
    """EI_parts, EI_whole, sensitivity, degeneracy and phi_ff of one layer ``y = act(x @ W + b)``.

    Parameters
    ----------
    layer : nn.Linear, nn.Sequential(nn.Linear, activation), ndarray/tensor W, or tuple
        A torch layer, or raw ``W`` of shape ``(n_in, n_out)`` (block orientation, as in
        ``LayeredGraph.blocks``), or ``(W, b)`` / ``(W, b, activation)``.
    bias : array-like, optional
        ``(n_out,)``; overrides the layer's bias (default: the layer's, else 0).
    activation : {"sigmoid", "tanh", "relu", "identity"} or nn.Module, optional
        Overrides the activation (default: the Sequential's / tuple's, else identity). A DBN
        layer is sigmoid.
    bins : int
        Bins for inputs and outputs (the paper: 8; deep-ei's default: 64).
    in_range : (low, high)
        Range of the uniform input noise: (0, 1) for sigmoid inputs (the paper's first layer too),
        (-1, 1) after tanh.
    out_range : (low, high), optional
        Range binned for the outputs. Default from the activation: sigmoid (0, 1), tanh (-1, 1),
        relu (0, 10) as in deep-ei; identity: **our choice**, the smallest interval holding every
        output reachable from ``in_range`` (deep-ei uses (-10, 10)). Values outside are put in
        the edge bins (our choice; deep-ei's histogram drops them).
    n_samples : int
        Noise samples for EI_parts / EI_whole (the paper: 1e7; the plug-in estimate is biased
        upward with few samples, by about ``(bins-1)**2 / (2 n_samples ln 2)`` bits per pair).
    sensitivity : bool
        Compute the sensitivity (``sensitivity_samples`` fresh samples per input, the paper's 5000).
    whole : bool, optional
        EI_whole = ``I(x; y)`` of the binned vectors. None: computed when
        ``bins**n_in <= max_states``; True: refuse (ValueError) above that; False: skip.
    max_states : int
        Largest number of joint input states for EI_whole (default ``2**20``).
    clamp : bool
        deep-ei's clamp of EI_parts below 0.01 bits to 0 (off by default).
    seed : int
        Same seed, same numbers (on the same device).
    device : str or torch.device, optional
        Where sampling and counting run (None: CUDA when present, else CPU).
    batch_bytes : int
        Approximate memory for one batch of samples.

    Returns
    -------
    LayerEI
        Frozen, with every setting recorded; ``degeneracy(kind)`` and ``phi_ff`` derived.

    Notes
    -----
    ``EI_parts = sum_{A,B} I(x_A; y_B)`` with all inputs noised together (same samples for all
    pairs); ``sensitivity = sum_{A,B} I(x_A; y_B)`` with only input A noised and the others 0;
    ``degeneracy = sensitivity - EI`` (``kind="parts"`` by default); ``phi_ff = EI_whole -
    EI_parts``. Exact checks (SCIENCE.md): a linear layer with ``W = I`` over (0, 1) gives
    ``EI_parts = width * log2(bins)`` (default ranges); ``W = ones((w, w))`` gives
    ``sensitivity = w**2 * log2(bins)`` with ``out_range=(0, 1)`` (the range a single noised input
    reaches; the default identity range (0, w) would merge bins). Both up to the plug-in bias.

    Cost: ``n_samples * n_in * n_out * bins**2`` int8 multiply-adds for EI_parts (an integer
    GEMM) and ``sensitivity_samples * n_in * n_out`` activations for the sensitivity.

    References
    ----------
    S. Marrow, E. J. Michaud and E. Hoel, "Examining the causal structures of deep neural networks
    using information theory", Entropy 22(12):1429, 2020. Code:
    https://github.com/EI-research-group/deep-ei

    Examples
    --------
    >>> import numpy as np
    >>> r = layer_ei(np.eye(3), bins=4, n_samples=20000, sensitivity_samples=2000, device="cpu")
    >>> round(r.ei_parts, 1), round(r.sensitivity, 1), r.out_range
    (6.0, 6.0, (0.0, 1.0))
    >>> abs(r.degeneracy()) < 0.05
    True
    """
    torch = import_torch()
    W, b, act_name = _as_layer(layer, bias, activation)
    n_in, n_out = W.shape
    bins = int(bins)
    if bins < 2:
        raise InputError(f"bins must be >= 2, got {bins}")
    if int(n_samples) < 1 or int(sensitivity_samples) < 1:
        raise InputError("n_samples and sensitivity_samples must be >= 1")
    lo_in, hi_in = _check_range(in_range, "in_range")
    if out_range is None:
        default = ACTIVATION_RANGES[act_name]
        out_range = _identity_range(W, b, (lo_in, hi_in)) if default is None else default
    lo_out, hi_out = _check_range(out_range, "out_range")
    do_whole = whole
    if whole is None:
        do_whole = n_in * math.log2(bins) <= math.log2(max_states)
    elif whole and n_in * math.log2(bins) > math.log2(max_states):
        raise InputError(
            f"ei_whole refused: {bins}**{n_in} joint input states > max_states={max_states}; "
            "EI_whole is only meaningful for small layers with many samples (pass whole=False)"
        )
    dev = resolve_device(device)
    seed_ei, seed_sens = _seeds(int(seed))
    Wt = torch.as_tensor(W, device=dev)
    bt = torch.as_tensor(b, device=dev)
    f = _act(torch, act_name)

    # ---- EI_parts (and EI_whole) on shared noise samples ----
    gen = torch.Generator(device=dev).manual_seed(seed_ei)
    counts = torch.zeros((n_in * bins, n_out * bins), dtype=torch.int64, device=dev)
    xcodes, ycodes = [], []
    bs = _batch(n_in + n_out, bins, batch_bytes)
    done = 0
    with torch.no_grad():
        while done < n_samples:
            s = min(bs, int(n_samples) - done)
            x = torch.rand((s, n_in), generator=gen, device=dev) * (hi_in - lo_in) + lo_in
            y = f(x @ Wt + bt)
            xb, yb = _bin(x, lo_in, hi_in, bins), _bin(y, lo_out, hi_out, bins)
            counts += _count_mm(_onehot(xb, bins), _onehot(yb, bins))
            if do_whole:
                xcodes.append(_codes(xb.cpu().numpy(), bins))
                ycodes.append(yb.cpu().numpy())
            done += s
    c = counts.reshape(n_in, bins, n_out, bins).permute(0, 2, 1, 3).cpu().numpy()
    pairs = _mi_from_counts(c)
    ei_parts = float(pairs.sum())
    if clamp and ei_parts < 0.01:
        ei_parts = 0.0
    ei_whole = None
    if do_whole:
        xc = np.concatenate(xcodes)
        yc = _codes(np.concatenate(ycodes), bins)
        yu = np.unique(yc, return_inverse=True)[1].reshape(-1).astype(np.int64)
        joint = xc * (int(yu.max()) + 1) + yu
        ei_whole = max(
            _entropy_of_codes(xc) + _entropy_of_codes(yu) - _entropy_of_codes(joint), 0.0
        )

    # ---- sensitivity: only input A noised (fresh samples per A), the others 0 ----
    sens = None
    if sensitivity:
        sens = _sensitivity(
            torch,
            Wt,
            bt,
            f,
            bins,
            (lo_in, hi_in),
            (lo_out, hi_out),
            int(sensitivity_samples),
            seed_sens,
            dev,
            batch_bytes,
        )
    return LayerEI(
        ei_parts=ei_parts,
        ei_whole=ei_whole,
        sensitivity=sens,
        n_in=n_in,
        n_out=n_out,
        activation=act_name,
        bins=bins,
        in_range=(lo_in, hi_in),
        out_range=(lo_out, hi_out),
        n_samples=int(n_samples),
        sensitivity_samples=int(sensitivity_samples),
        seed=int(seed),
        device=str(dev),
        clamp=bool(clamp),
        pairs=pairs,
    )


def _sensitivity(
    torch: Any,
    Wt: Any,
    bt: Any,
    f: Any,
    bins: int,
    in_r: tuple[float, float],
    out_r: tuple[float, float],
    S: int,
    seed: int,
    dev: Any,
    batch_bytes: int,
) -> float:
    """``sum_{A,B} I(x_A; y_B)`` with ``y = f(x_A W[A] + b)``: one bincount per chunk of inputs
    over the combined index ``((A * n_out + B) * bins + x_bin) * bins + y_bin``."""
    n_in, n_out = Wt.shape
    gen = torch.Generator(device=dev).manual_seed(seed)
    x = torch.rand((S, n_in), generator=gen, device=dev) * (in_r[1] - in_r[0]) + in_r[0]
    xb_all = _bin(x, in_r[0], in_r[1], bins)
    per_a = S * n_out * 20  # float32 y, int64 bins and index per (sample, output)
    chunk = int(max(1, min(n_in, batch_bytes // max(per_a, 1))))
    total = 0.0
    with torch.no_grad():
        for a0 in range(0, n_in, chunk):
            a1 = min(n_in, a0 + chunk)
            k = a1 - a0
            y = f(x[:, a0:a1, None] * Wt[None, a0:a1, :] + bt)  # (S, k, n_out)
            yb = _bin(y, out_r[0], out_r[1], bins)
            pair = (
                torch.arange(k, device=dev)[:, None] * n_out
                + torch.arange(n_out, device=dev)[None, :]
            )
            idx = (pair[None] * bins + xb_all[:, a0:a1, None]) * bins + yb
            cnt = torch.bincount(idx.reshape(-1), minlength=k * n_out * bins * bins)
            total += float(_mi_from_counts(cnt.reshape(k * n_out, bins, bins).cpu().numpy()).sum())
    return total


def layer_causal_plane(
    G: Any,
    *,
    activations: str | Sequence[str] = "sigmoid",
    in_range: tuple[float, float] | None = None,
    n_jobs: int | None = None,
    **kw: Any,
) -> tuple[LayerEI, ...]:
    """Every layer's EI, sensitivity and degeneracy: its point in the causal plane.

    Parameters
    ----------
    G : LayeredGraph or sequence of layers
        A graph (block ``l`` is the weight matrix of layer ``l``; the bias of layer ``l+1`` is
        read from ``node_attrs["bias"]`` when present, e.g. a DBN's hidden biases), or a list of
        ``W`` / ``(W, b)`` / ``(W, b, act)`` / torch layers as :func:`layer_ei` accepts.
    activations : str or sequence of str
        One per layer, or one for all (a DBN: sigmoid).
    in_range : (low, high), optional
        Input noise range of the first layer (default (0, 1)); later layers take the output
        range of the activation feeding them (sigmoid (0, 1), tanh (-1, 1), relu (0, 10)).
    n_jobs : int, optional
        Layers in parallel (:func:`netsci_dl.parallel.map_tasks`): None (default) serial unless
        a ``joblib.parallel_config`` says otherwise, -1 all cores, or a Dask cluster inside
        ``parallel_config(backend="dask")``. Every layer uses the same ``seed``, so the numbers
        do not depend on it.
    **kw
        Passed to :func:`layer_ei` (``bins``, ``n_samples``, ``seed``, ``device``, ...).

    Returns
    -------
    tuple of LayerEI
        x = ``sensitivity``, y = ``degeneracy()`` for each layer.

    Notes
    -----
    Thresholded graphs use their (unit) block weights; pass the weighted graph for the network's
    own causal structure. Sparse blocks are densified one at a time.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((3, 2, 2), (np.ones((3, 2), np.float32), np.eye(2, dtype=np.float32)))
    >>> pts = layer_causal_plane(G, n_samples=5000, sensitivity_samples=1000, device="cpu")
    >>> [p.activation for p in pts], len(pts)
    (['sigmoid', 'sigmoid'], 2)
    """
    from netsci_dl.graph import LayeredGraph

    if isinstance(G, LayeredGraph):
        bias = G.node_attrs.get("bias")
        layers: list[Any] = []
        for li in range(len(G.blocks)):
            b = None if bias is None else np.asarray(bias)[G.layer_slice(li + 1)]
            layers.append((G.dense_block(li), b))
    else:
        layers = list(G)
    acts = (
        [activations] * len(layers)
        if isinstance(activations, str) or activations is None
        else list(activations)
    )
    if len(acts) != len(layers):
        raise InputError(f"activations: {len(acts)} given for {len(layers)} layers")
    tasks = []
    prev: Any = (0.0, 1.0) if in_range is None else in_range
    for lay, a in zip(layers, acts, strict=True):
        has_own_act = isinstance(lay, tuple | list) and len(lay) == 3
        act = None if has_own_act else a
        tasks.append((lay, act, prev))
        # the next layer's input range, as layer_ei will find this layer's output range
        W, b, name = _as_layer(lay, kw.get("bias"), act)
        nxt = ACTIVATION_RANGES[name]
        if nxt is None:
            out_r = kw.get("out_range")
            if out_r is None:
                out_r = _identity_range(W, b, _check_range(prev, "in_range"))
            nxt = _check_range(out_r, "out_range")
        prev = nxt
    from netsci_dl.parallel import map_tasks

    return tuple(map_tasks(_layer_task, tasks, shared=kw, n_jobs=n_jobs, progress=False))


def _layer_task(task: tuple, kw: dict) -> LayerEI:
    """One layer of :func:`layer_causal_plane` (seeded by ``kw["seed"]``, as every layer)."""
    lay, act, in_range = task
    return layer_ei(lay, activation=act, in_range=in_range, **kw)
