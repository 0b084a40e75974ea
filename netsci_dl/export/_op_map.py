"""How a recorded module call is named: the torch modules netsci_dl maps onto ops of the data
flow (:class:`~netsci_dl.export._ops.Op`), shared by both front ends (torch.fx,
:mod:`netsci_dl.export._fx`; the record of one forward pass, :mod:`netsci_dl.export._record`).
Calls of torch functions and tensor methods are mapped in :mod:`netsci_dl.export._op_functions`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.export._einops import is_rearrange_module, rearrange_op
from netsci_dl.export._ops import Op

__all__ = ["ACTIVATIONS", "param_array", "module_op"]


ACTIVATIONS = {
    "relu": "relu",
    "relu6": "relu",
    "leaky_relu": "leaky_relu",
    "prelu": "leaky_relu",
    "elu": "elu",
    "selu": "elu",
    "celu": "elu",
    "gelu": "gelu",
    "silu": "silu",
    "mish": "silu",
    "sigmoid": "sigmoid",
    "hardsigmoid": "sigmoid",
    "tanh": "tanh",
    "hardtanh": "tanh",
    "hardswish": "silu",
    "softplus": "softplus",
    "softsign": "tanh",
    "logsigmoid": "logsigmoid",
}


def param_array(t: Any, name: str) -> np.ndarray:
    """A parameter as a float numpy array (bf16/f16 widened to float32). It may share the
    parameter's memory: the exporters never write to it, and the graph built from the plan
    holds its own copies."""
    import torch

    if t is None:
        return None
    if t.device.type == "meta":
        raise InputError(f"parameter {name!r} is on the meta device: it holds no values to export")
    t = t.detach()
    if t.dtype in (torch.bfloat16, torch.float16) or not t.dtype.is_floating_point:
        t = t.float()
    return t.cpu().numpy()


def module_op(m: Any, name: str, data_inputs: tuple[int, ...]) -> Op:
    """The op of a call to a leaf module ``m`` (registered as ``name``)."""
    from netsci_dl.export._hf_ops import hf_module_op

    op = hf_module_op(m, name, data_inputs)  # transformers' layers taken whole
    if op is not None:
        return op
    if is_rearrange_module(m):  # its steps are added where the input's shape is known
        lengths = dict(getattr(m, "axes_lengths", {}) or {})
        return rearrange_op(data_inputs[:1], name, getattr(m, "pattern", None), lengths, None)
    for types, handler in _module_rules():
        if isinstance(m, types):
            return handler(m, name, data_inputs)
    act = ACTIVATIONS.get(type(m).__name__.lower())
    return Op("pass", data_inputs[:1], name, attrs={"activation": act} if act else {})


def _params(m: Any, name: str, **roles: str) -> tuple[dict, dict]:
    """The parameters of module ``m`` by role (``weight="weight"``), and their full names."""
    p, n = {}, {}
    for role, attr in roles.items():
        t = getattr(m, attr, None)
        if t is not None:
            full = f"{name}.{attr}" if name else attr
            p[role] = param_array(t, full)
            n[role] = full
    return p, n


def _all_params(m: Any, name: str) -> tuple[dict, dict]:
    """Every parameter of module ``m`` under its own name, and their full names."""
    p = {k: param_array(v, f"{name}.{k}") for k, v in m.named_parameters()}
    return p, {k: f"{name}.{k}" for k in p}


def _linear_module(m: Any, name: str, ins: tuple[int, ...]) -> Op:
    return Op("linear", ins[:1], name, *_params(m, name, weight="weight", bias="bias"))


def _conv_module(m: Any, name: str, ins: tuple[int, ...]) -> Op:
    p, n = _params(m, name, weight="weight", bias="bias")
    kind = "conv_transpose" if m.transposed else "conv"
    return Op(kind, ins[:1], name, p, n, {"groups": int(m.groups)})


def _instance_norm_module(m: Any, name: str, ins: tuple[int, ...]) -> Op:
    p, n = _params(m, name, weight="weight", bias="bias")
    reason = "InstanceNorm: normalises each channel over space; keeps the channel group"
    return Op("pass", ins[:1], name, p, n, {"norm": True, "param_reason": reason})


def _batch_norm_module(m: Any, name: str, ins: tuple[int, ...]) -> Op:
    p, n = _params(
        m,
        name,
        weight="weight",
        bias="bias",
        running_mean="running_mean",
        running_var="running_var",
    )
    return Op("bn", ins[:1], name, p, n, {"eps": float(m.eps)})


def _unit_norm_module(m: Any, name: str, ins: tuple[int, ...]) -> Op:
    p, n = _params(m, name, weight="weight", bias="bias")
    reason = (
        f"{type(m).__name__}: normalises over the units (data-dependent); keeps the group, its "
        "per-unit scale and shift are not edges"
    )
    return Op("pass", ins[:1], name, p, n, {"norm": True, "param_reason": reason})


def _flatten_module(m: Any, name: str, ins: tuple[int, ...]) -> Op:
    attrs = {"start": int(m.start_dim), "end": int(m.end_dim), "call": "Flatten"}
    return Op("flatten", ins[:1], name, attrs=attrs)


def _unflatten_module(m: Any, name: str, ins: tuple[int, ...]) -> Op:
    return Op("reshape", ins[:1], name, attrs={"ndim_out": None})


def _embedding_module(m: Any, name: str, ins: tuple[int, ...]) -> Op:
    p, n = _params(m, name, weight="weight")
    return Op("embedding", ins[:1], name, p, n, {"out_size": int(m.embedding_dim)})


def _recurrent_module(m: Any, name: str, ins: tuple[int, ...]) -> Op:
    out = (m.proj_size or m.hidden_size) * (2 if m.bidirectional else 1)
    attrs = {"out_size": int(out), "layout": "tokens"}
    return Op("recurrent", ins[:1], name, *_all_params(m, name), attrs)


def _mha_module(m: Any, name: str, ins: tuple[int, ...]) -> Op:
    return Op("mha", ins[:3], name, *_all_params(m, name), {"embed_dim": int(m.embed_dim)})


def _prelu_module(m: Any, name: str, ins: tuple[int, ...]) -> Op:
    p, n = _params(m, name, weight="weight")
    reason = "PReLU slope: an activation parameter, not an edge"
    return Op("pass", ins[:1], name, p, n, {"activation": "leaky_relu", "param_reason": reason})


def _glu_module(m: Any, name: str, ins: tuple[int, ...]) -> Op:
    return Op("glu", ins[:1], name, attrs={"dim": int(m.dim)})


def _mixing_module(m: Any, name: str, ins: tuple[int, ...]) -> Op:
    return Op("unknown", ins, name, attrs={"desc": f"{type(m).__name__} (mixes units)"})


@functools.cache
def _module_rules() -> tuple[tuple[Any, Callable[[Any, str, tuple[int, ...]], Op]], ...]:
    """(module types, handler) pairs, the first match wins (InstanceNorm before the other
    ``_NormBase`` modules, the BatchNorms)."""
    import torch.nn as nn

    return (
        (nn.Linear, _linear_module),
        (nn.modules.conv._ConvNd, _conv_module),
        (nn.modules.instancenorm._InstanceNorm, _instance_norm_module),
        (nn.modules.batchnorm._NormBase, _batch_norm_module),
        ((nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm, nn.RMSNorm), _unit_norm_module),
        (nn.GLU, _glu_module),
        (nn.Flatten, _flatten_module),
        (nn.Unflatten, _unflatten_module),
        ((nn.Embedding, nn.EmbeddingBag), _embedding_module),
        (nn.RNNBase, _recurrent_module),
        (nn.MultiheadAttention, _mha_module),
        (nn.PReLU, _prelu_module),
        ((nn.PixelShuffle, nn.ChannelShuffle, nn.Bilinear), _mixing_module),
    )
