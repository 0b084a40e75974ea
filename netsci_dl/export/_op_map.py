"""How a recorded op is named: the torch modules and functions netsci_dl maps onto ops of the
data flow (:class:`~netsci_dl.export._ops.Op`), shared by both front ends (torch.fx,
:mod:`netsci_dl.export._fx`; the autograd record, :mod:`netsci_dl.export._record`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.export._ops import Op

__all__ = ["ACTIVATIONS", "param_array", "module_op", "function_op"]


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
    import torch.nn as nn

    def params(**roles: str) -> tuple[dict, dict]:
        p, n = {}, {}
        for role, attr in roles.items():
            t = getattr(m, attr, None)
            if t is not None:
                full = f"{name}.{attr}" if name else attr
                p[role] = param_array(t, full)
                n[role] = full
        return p, n

    ins = data_inputs[:1]
    if isinstance(m, nn.Linear):
        p, n = params(weight="weight", bias="bias")
        return Op("linear", ins, name, p, n)
    if isinstance(m, nn.modules.conv._ConvNd):
        p, n = params(weight="weight", bias="bias")
        kind = "conv_transpose" if m.transposed else "conv"
        return Op(kind, ins, name, p, n, {"groups": int(m.groups)})
    if isinstance(m, nn.modules.batchnorm._NormBase):  # BatchNorm*, InstanceNorm*
        if isinstance(m, nn.modules.instancenorm._InstanceNorm):
            p, n = params(weight="weight", bias="bias")
            return Op(
                "pass",
                ins,
                name,
                p,
                n,
                {
                    "norm": True,
                    "param_reason": (
                        "InstanceNorm: normalises each channel over space; keeps the channel group"
                    ),
                },
            )
        p, n = params(
            weight="weight", bias="bias", running_mean="running_mean", running_var="running_var"
        )
        return Op("bn", ins, name, p, n, {"eps": float(m.eps)})
    if isinstance(m, (nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)):
        p, n = params(weight="weight", bias="bias")
        kind = type(m).__name__
        return Op(
            "pass",
            ins,
            name,
            p,
            n,
            {
                "norm": True,
                "param_reason": (
                    f"{kind}: normalises over the units (data-dependent); keeps the group, its per-unit "
                    "scale and shift are not edges"
                ),
            },
        )
    if isinstance(m, nn.Flatten):
        if m.start_dim != 1 or m.end_dim != -1:
            return Op("unknown", ins, name, attrs={"desc": f"Flatten(start_dim={m.start_dim})"})
        return Op("flatten", ins, name)
    if isinstance(m, nn.Unflatten):
        return Op("reshape", ins, name, attrs={"ndim_out": None})
    if isinstance(m, (nn.Embedding, nn.EmbeddingBag)):
        p, n = params(weight="weight")
        return Op("embedding", ins, name, p, n, {"out_size": int(m.embedding_dim)})
    if isinstance(m, nn.RNNBase):
        p = {k: param_array(v, f"{name}.{k}") for k, v in m.named_parameters()}
        n = {k: f"{name}.{k}" for k in p}
        out = (m.proj_size or m.hidden_size) * (2 if m.bidirectional else 1)
        return Op("recurrent", ins, name, p, n, {"out_size": int(out), "layout": "tokens"})
    if isinstance(m, nn.MultiheadAttention):
        p = {k: param_array(v, f"{name}.{k}") for k, v in m.named_parameters()}
        n = {k: f"{name}.{k}" for k in p}
        return Op("mha", data_inputs[:3], name, p, n, {"embed_dim": int(m.embed_dim)})
    if isinstance(m, nn.PReLU):
        p, n = params(weight="weight")
        return Op(
            "pass",
            ins,
            name,
            p,
            n,
            {
                "activation": "leaky_relu",
                "param_reason": ("PReLU slope: an activation parameter, not an edge"),
            },
        )
    if isinstance(m, (nn.PixelShuffle, nn.ChannelShuffle, nn.Bilinear)):
        return Op("unknown", data_inputs, name, attrs={"desc": f"{type(m).__name__} (mixes units)"})
    act = ACTIVATIONS.get(type(m).__name__.lower())
    return Op("pass", ins, name, attrs={"activation": act} if act else {})


_ADD = {"add", "__add__", "__radd__", "iadd"}
_MUL = {"mul", "__mul__", "__rmul__", "imul"}
_DIV = {"div", "truediv", "__truediv__", "true_divide", "__rtruediv__"}
_PASS_METHODS = {
    "contiguous",
    "clone",
    "to",
    "float",
    "double",
    "half",
    "bfloat16",
    "type_as",
    "detach",
    "relu",
    "relu_",
    "sigmoid",
    "sigmoid_",
    "tanh",
    "tanh_",
    "softmax",
    "log_softmax",
    "exp",
    "clamp",
    "clamp_",
    "masked_fill",
    "masked_fill_",
    "requires_grad_",
    "cpu",
    "cuda",
    "__neg__",
    "neg",
    "abs",
    "sqrt",
    "pow",
    "__pow__",
    "log",
    "rsqrt",
}
_SHAPE_METHODS = {"size", "dim", "numel", "shape", "ndimension", "__len__"}
_POOL_FUNCS = {
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "interpolate",
    "pad",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alpha_dropout",
    "normalize",
    "max_pool2d_with_indices",
    "upsample",
}


def function_op(name: str, args: list, kw: dict, ctx: Any, node_name: str) -> Op | None:
    """The op of a call to a torch function or tensor method ``name`` with data inputs.

    ``ctx`` says which arguments are data (``ids()``, ``n_data()``), their shapes when known
    (``in_shape``, ``out_shape``) and resolves parameters (``param(arg)``). Returns None for a
    call that produces no data (``x.size()``).
    """
    if name.startswith("__i") and name.endswith("__"):
        name = "__" + name[3:]  # in-place dunders: __iadd__ -> __add__
    name = name.rstrip("_") if not name.startswith("__") else name
    ids, n = ctx.ids(), ctx.n_data()
    if name in _SHAPE_METHODS or name in ("getattr", "__get__"):
        return None
    if name in _ADD:
        return Op("add", ids, node_name)
    if name in ("sub", "__sub__", "__rsub__", "subtract"):
        if n > 1:
            return Op("unknown", ids, node_name, attrs={"desc": "a difference of two layers"})
        return Op("pass", ids, node_name)
    if name in _MUL or name == "multiply":
        return Op("gate" if n > 1 else "pass", ids, node_name)
    if name in _DIV or name in ("floordiv", "__floordiv__", "divide"):
        kind = "unknown" if n > 1 else "pass"
        return Op(kind, ids, node_name, attrs={"desc": "a quotient of two layers"})
    if name in ("matmul", "bmm", "__matmul__", "mm", "einsum"):
        if n < 2 or name == "einsum":
            return Op(
                "unknown",
                ids,
                node_name,
                attrs={"desc": f"{name}() with a parameter or an einsum (use nn.Linear)"},
            )
        return Op("matmul", ids, node_name)
    if name in ("cat", "concat", "concatenate"):
        dim = kw.get("dim", args[1] if len(args) > 1 else 0)
        shape = ctx.in_shape(0)
        return Op(
            "cat",
            ids,
            node_name,
            attrs={"dim": int(dim), "ndim": None if shape is None else len(shape)},
        )
    if name == "flatten":
        start = kw.get("start_dim", args[1] if len(args) > 1 else 0)
        if start != 1:
            return Op("unknown", ids, node_name, attrs={"desc": f"flatten(start_dim={start})"})
        src = ctx.in_shape(0)
        attrs = {"k": int(np.prod(src[2:]))} if src is not None and len(src) > 2 else {}
        return Op("flatten", ids, node_name, attrs=attrs)
    if name in ("view", "reshape", "unflatten", "view_as", "reshape_as"):
        n_out = None
        rest = args[1:]
        if len(rest) == 1 and isinstance(rest[0], (list, tuple)):
            rest = list(rest[0])
        if name in ("view", "reshape") and rest:
            n_out = len(rest)
        s = ctx.out_shape()
        if s is not None:
            n_out = len(s)
        attrs: dict[str, Any] = {"ndim_out": n_out, "in_shape": ctx.in_shape(0)}
        if s:
            attrs["shape"] = s
        elif len(rest) >= 2 and isinstance(rest[1], int):
            attrs["channels"] = int(rest[1])  # (batch, C, ...): C from the call itself
        return Op("reshape", ids[:1], node_name, attrs=attrs)
    if name in (
        "permute",
        "transpose",
        "t",
        "unsqueeze",
        "squeeze",
        "expand",
        "expand_as",
        "repeat",
        "movedim",
        "swapaxes",
        "split_heads",
    ):
        return Op("reshape", ids[:1], node_name, attrs={"ndim_out": None})
    if name in ("mean", "sum", "amax", "max", "amin", "min", "std", "var", "nanmean"):
        dims = kw.get("dim", args[1] if len(args) > 1 else None)
        keep = bool(kw.get("keepdim", args[2] if len(args) > 2 else False))
        if dims is None or not isinstance(dims, (int, list, tuple)):
            return Op("unknown", ids, node_name, attrs={"desc": f"{name}() over every axis"})
        dims = tuple(int(d) for d in (dims if isinstance(dims, (list, tuple)) else (dims,)))
        shape = ctx.in_shape(0)
        return Op(
            "mean",
            ids[:1],
            node_name,
            attrs={"dims": dims, "keepdim": keep, "ndim": None if shape is None else len(shape)},
        )
    if name in ("getitem", "__getitem__"):
        idx = args[1] if len(args) > 1 else None
        return Op("getitem", ids[:1], node_name, attrs={"index": _plain(idx)})
    if name == "linear":
        w, wn = ctx.param(kw.get("weight", args[1] if len(args) > 1 else None))
        b, bn = ctx.param(kw.get("bias", args[2] if len(args) > 2 else None))
        p = {"weight": w} | ({"bias": b} if b is not None else {})
        pn = {"weight": wn} | ({"bias": bn} if bn is not None else {})
        return Op("linear", ids[:1], _param_module(wn), p, pn)
    if name in ("conv1d", "conv2d", "conv3d"):
        w, wn = ctx.param(kw.get("weight", args[1] if len(args) > 1 else None))
        b, bn = ctx.param(kw.get("bias", args[2] if len(args) > 2 else None))
        groups = kw.get("groups", args[6] if len(args) > 6 else 1)
        p = {"weight": w} | ({"bias": b} if b is not None else {})
        pn = {"weight": wn} | ({"bias": bn} if bn is not None else {})
        return Op("conv", ids[:1], _param_module(wn), p, pn, {"groups": int(groups)})
    if name == "scaled_dot_product_attention":
        return Op("attention", ids[:3], node_name)
    if name in ACTIVATIONS or name in ("softmax", "log_softmax", "_softmax"):
        return Op("pass", ids[:1], node_name, attrs={"activation": ACTIVATIONS.get(name)})
    if name in _POOL_FUNCS or name in _PASS_METHODS:
        return Op("pass", ids[:1], node_name)
    if name in ("layer_norm", "group_norm", "rms_norm"):
        pos = {"layer_norm": (2, 3), "group_norm": (2, 3), "rms_norm": (2, None)}[name]
        p, pn = {}, {}
        for role, at in zip(("weight", "bias"), pos):
            arg = kw.get(role, args[at] if at is not None and len(args) > at else None)
            if arg is not None and not isinstance(arg, (int, float)):
                p[role], pn[role] = ctx.param(arg)
        return Op(
            "pass",
            ids[:1],
            _param_module(pn.get("weight")) or node_name,
            p,
            pn,
            {
                "norm": True,
                "param_reason": f"{name}: normalises over the units (data-dependent); "
                "keeps the group, its per-unit scale and shift are not edges",
            },
        )
    if name == "batch_norm":
        p, pn = {}, {}
        for role, at in (("running_mean", 1), ("running_var", 2), ("weight", 3), ("bias", 4)):
            arg = kw.get(role, args[at] if len(args) > at else None)
            if arg is not None:
                p[role], pn[role] = ctx.param(arg)
        eps = kw.get("eps", args[7] if len(args) > 7 else 1e-5)
        return Op(
            "bn",
            ids[:1],
            _param_module(pn.get("running_mean") or pn.get("weight")),
            p,
            pn,
            {"eps": float(eps)},
        )
    if name == "instance_norm":
        return Op("pass", ids[:1], node_name, attrs={"norm": True})
    return Op("unknown", ids, node_name, attrs={"desc": f"{name}()"})


def _plain(idx: Any) -> Any:
    """An fx index argument as plain Python (slices and ints), for the resolver."""
    if isinstance(idx, tuple):
        return tuple(_plain(i) for i in idx)
    if isinstance(idx, slice):
        return slice(
            idx.start if isinstance(idx.start, int) else None,
            idx.stop if isinstance(idx.stop, int) else None,
            idx.step if isinstance(idx.step, int) else None,
        )
    return idx if isinstance(idx, (int, type(Ellipsis), type(None))) else repr(idx)


def _param_module(name: str | None) -> str:
    return name.rsplit(".", 1)[0] if name and "." in name else (name or "")
