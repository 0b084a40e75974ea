"""torch.fx front end: trace a model symbolically and record its data flow as ops.

The tracer treats the layers netsci_dl understands as leaves (Linear, convolutions,
normalisations, activations, pooling, dropout, embeddings, recurrent layers, multi-head
attention) and traces through every other module, torch.nn containers included. With an example
input, shapes are propagated (``ShapeProp``) so flattens and reshapes are exact.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.export._dataflow import Op

__all__ = ["trace_fx", "TraceFailed", "param_array", "module_op", "ACTIVATIONS"]


class TraceFailed(Exception):
    """torch.fx could not trace the model symbolically (control flow on data, ...)."""


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


def _leaf_types() -> tuple[type, ...]:
    import torch.nn as nn

    return (
        nn.Linear,
        nn.Bilinear,
        nn.modules.conv._ConvNd,
        nn.modules.batchnorm._NormBase,
        nn.LayerNorm,
        nn.GroupNorm,
        nn.LocalResponseNorm,
        nn.Identity,
        nn.modules.dropout._DropoutNd,
        nn.modules.pooling._MaxPoolNd,
        nn.modules.pooling._AvgPoolNd,
        nn.modules.pooling._AdaptiveAvgPoolNd,
        nn.modules.pooling._AdaptiveMaxPoolNd,
        nn.Flatten,
        nn.Unflatten,
        nn.Upsample,
        nn.modules.padding._ConstantPadNd,
        nn.modules.padding._ReflectionPadNd,
        nn.modules.padding._ReplicationPadNd,
        nn.ZeroPad2d,
        nn.Embedding,
        nn.EmbeddingBag,
        nn.RNNBase,
        nn.MultiheadAttention,
        nn.Softmax,
        nn.LogSoftmax,
        nn.PixelShuffle,
        nn.ChannelShuffle,
        nn.ReLU,
        nn.ReLU6,
        nn.LeakyReLU,
        nn.PReLU,
        nn.ELU,
        nn.SELU,
        nn.CELU,
        nn.GELU,
        nn.SiLU,
        nn.Mish,
        nn.Sigmoid,
        nn.Hardsigmoid,
        nn.Tanh,
        nn.Hardtanh,
        nn.Hardswish,
        nn.Softplus,
        nn.Softsign,
        nn.LogSigmoid,
    )


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


def _target_name(target: Any) -> str:
    if isinstance(target, str):
        return target
    return getattr(target, "__name__", str(target))


class _Builder:
    """fx nodes -> ops."""

    def __init__(self, gm: Any, module: Any, shapes: bool) -> None:
        self.gm, self.module, self.shapes = gm, module, shapes
        self.ops: list[Op] = []
        self.index: dict[Any, int] = {}  # fx node -> op index (data nodes and params)
        self.data: set[Any] = set()
        self.params = dict(module.named_parameters())
        self.params.update(dict(module.named_buffers()))

    def shape_of(self, node: Any) -> tuple[int, ...] | None:
        meta = node.meta.get("tensor_meta") if hasattr(node, "meta") else None
        shape = getattr(meta, "shape", None)
        return tuple(int(s) for s in shape) if shape is not None else None

    def emit(self, node: Any, op: Op) -> None:
        if self.shapes and "shape" not in op.attrs:
            s = self.shape_of(node)
            if s is not None:
                op.attrs["shape"] = s
        self.ops.append(op)
        self.index[node] = len(self.ops) - 1
        self.data.add(node)

    def data_inputs(self, args: Any) -> list[Any]:
        out: list[Any] = []

        def walk(a: Any) -> None:
            if isinstance(a, (list, tuple)):
                for x in a:
                    walk(x)
            elif isinstance(a, dict):
                for x in a.values():
                    walk(x)
            elif hasattr(a, "op") and hasattr(a, "graph") and a in self.data:
                out.append(a)

        walk(args)
        return out

    def ids(self, nodes: list[Any]) -> tuple[int, ...]:
        return tuple(self.index[n] for n in nodes)

    def param(self, node: Any) -> tuple[np.ndarray | None, str | None]:
        if node is None:
            return None, None
        if getattr(node, "op", None) == "get_attr":
            t = self.params.get(node.target)
            if t is None:
                t = operator.attrgetter(node.target)(self.gm)
            return param_array(t, node.target), node.target
        raise InputError(f"{node}: expected a parameter of the model")

    def run(self) -> list[Op]:
        for node in self.gm.graph.nodes:
            getattr(self, f"_{node.op}")(node)
        return self.ops

    # fx node kinds
    def _placeholder(self, node: Any) -> None:
        self.emit(node, Op("input", (), "input" if node.target in ("x", "input") else node.target))

    def _get_attr(self, node: Any) -> None:
        return None  # parameters are read where they are used

    def _output(self, node: Any) -> None:
        self.ops.append(Op("output", self.ids(self.data_inputs(node.args))))

    def _call_module(self, node: Any) -> None:
        import torch.nn as nn

        m = self.gm.get_submodule(node.target)
        ins = self.data_inputs(list(node.args) + list(node.kwargs.values()))
        if not ins and not isinstance(m, (nn.Embedding, nn.EmbeddingBag)):
            return
        op = module_op(m, node.target, self.ids(ins))
        if op.kind == "flatten" and self.shapes:
            src = self.shape_of(ins[0])
            if src is not None and len(src) > 2:
                op.attrs["k"] = int(np.prod(src[2:]))
        if op.kind == "reshape" and self.shapes:
            s = self.shape_of(node)
            op.attrs["ndim_out"] = None if s is None else len(s)
        self.emit(node, op)

    def _call_method(self, node: Any) -> None:
        self._call(node, str(node.target))

    def _call_function(self, node: Any) -> None:
        self._call(node, _target_name(node.target))

    def _call(self, node: Any, name: str) -> None:
        args, kw = list(node.args), dict(node.kwargs)
        ins = self.data_inputs(args + list(kw.values()))
        if not ins:
            return  # shapes, constants, parameters
        op = function_op(name, args, kw, _FxContext(self, node, ins), node.name)
        if op is not None:
            self.emit(node, op)


class _FxContext:
    """What :func:`function_op` needs to know about an fx call."""

    def __init__(self, b: _Builder, node: Any, ins: list[Any]) -> None:
        self.b, self.node, self.ins = b, node, ins

    def ids(self) -> tuple[int, ...]:
        return self.b.ids(self.ins)

    def n_data(self) -> int:
        return len(self.ins)

    def in_shape(self, pos: int = 0) -> tuple[int, ...] | None:
        return self.b.shape_of(self.ins[pos]) if self.b.shapes and pos < len(self.ins) else None

    def out_shape(self) -> tuple[int, ...] | None:
        return self.b.shape_of(self.node) if self.b.shapes else None

    def param(self, arg: Any) -> tuple[np.ndarray | None, str | None]:
        return self.b.param(arg)


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


def trace_fx(module: Any, example_input: Any = None) -> list[Op]:
    """The ops of ``module``'s forward, traced symbolically (shapes when an input is given).

    Raises
    ------
    TraceFailed
        torch.fx cannot trace the model (e.g. Python control flow on tensor values).
    """
    import torch
    import torch.fx as fx

    leaves = _leaf_types()

    class _Tracer(fx.Tracer):
        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            return isinstance(m, leaves)

    try:
        graph = _Tracer().trace(module)
    except Exception as e:  # torch.fx raises many kinds (TraceError, TypeError, ...)
        raise TraceFailed(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
    gm = fx.GraphModule(module, graph)
    shapes = False
    if example_input is not None:
        from torch.fx.passes.shape_prop import ShapeProp

        was = module.training
        module.eval()
        try:
            with torch.no_grad():
                args = example_input if isinstance(example_input, tuple) else (example_input,)
                ShapeProp(gm).propagate(*args)
            shapes = True
        except Exception as e:
            raise InputError(
                f"{type(module).__name__}: the example input does not run through the model "
                f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
            ) from None
        finally:
            module.train(was)
    return _Builder(gm, module, shapes).run()
