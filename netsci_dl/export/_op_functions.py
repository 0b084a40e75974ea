"""How a call to a torch function or tensor method is named: the functions netsci_dl maps onto
ops of the data flow (:class:`~netsci_dl.export._ops.Op`), shared by both front ends (torch.fx,
:mod:`netsci_dl.export._fx`; the record of one forward pass, :mod:`netsci_dl.export._record`).
Modules are mapped in :mod:`netsci_dl.export._op_map`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.export._dataflow_shapes import permutation
from netsci_dl.export._einops import rearrange_op
from netsci_dl.export._op_map import ACTIVATIONS
from netsci_dl.export._ops import Op

__all__ = ["function_op"]

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
    "stochastic_depth",  # torchvision: the identity in eval mode
    "drop_path",  # timm: the identity in eval mode
    "drop_block2d",
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
    c = _Call(name, args, kw, ctx, node_name, ctx.ids(), ctx.n_data())
    handler = _FUNCTIONS.get(name)
    if handler is None:
        return Op("unknown", c.ids, node_name, attrs={"desc": f"{name}()"})
    return handler(c)


@dataclass
class _Call:
    """A call :func:`function_op` maps: its (normalised) name, arguments, context, node name,
    data inputs and their number."""

    name: str
    args: list
    kw: dict
    ctx: Any
    node: str
    ids: tuple[int, ...]
    n: int

    def arg(self, key: str, pos: int | None, default: Any = None) -> Any:
        """Argument ``key``, by keyword or at position ``pos`` (else ``default``)."""
        at = self.args[pos] if pos is not None and len(self.args) > pos else default
        return self.kw.get(key, at)

    def weights(self) -> tuple[dict, dict]:
        """The ``weight`` and ``bias`` (when given) of a linear or convolution call."""
        w, wn = self.ctx.param(self.arg("weight", 1))
        b, bn = self.ctx.param(self.arg("bias", 2))
        p = {"weight": w} | ({"bias": b} if b is not None else {})
        pn = {"weight": wn} | ({"bias": bn} if bn is not None else {})
        return p, pn


def _no_data(c: _Call) -> None:
    return None


def _add(c: _Call) -> Op:
    return Op("add", c.ids, c.node)


def _sub(c: _Call) -> Op:
    if c.n > 1:  # x - mean(x): a statistic of the units subtracted (a normalisation) is kept
        return Op("combine", c.ids, c.node, attrs={"desc": "a difference of two layers"})
    return Op("pass", c.ids, c.node)


def _mul(c: _Call) -> Op:
    if c.n > 1:
        return Op("gate", _gated_first(c), c.node)
    for a in list(c.args) + list(c.kw.values()):
        if isinstance(a, (int, float, bool)) or a is None:
            continue
        try:
            w, wn = c.ctx.param(a)
        except InputError:
            continue  # a constant or a tensor computed on the fly: keeps the units
        if w is not None and w.size > 1:  # LayerScale: a per-unit scale, a parameter
            return Op(
                "scale", c.ids[:1], _param_module(wn) or c.node, {"weight": w}, {"weight": wn}
            )
    return Op("pass", c.ids, c.node)


def _gated_first(c: _Call) -> tuple[int, ...]:
    """The data inputs of a product, the gated operand first: the one of the output's shape
    when the other is broadcast over it (``scale * x`` in a squeeze-excitation block)."""
    out = c.ctx.out_shape()
    if c.n == 2 and out is not None:
        a, b = c.ctx.in_shape(0), c.ctx.in_shape(1)
        if a is not None and b is not None and tuple(a) != tuple(out) and tuple(b) == tuple(out):
            return (c.ids[1], c.ids[0])
    return c.ids


def _div(c: _Call) -> Op:
    kind = "combine" if c.n > 1 else "pass"  # x / std(x): a normalisation
    return Op(kind, c.ids, c.node, attrs={"desc": "a quotient of two layers"})


def _chunk(c: _Call) -> Op:
    """chunk, split, unbind: parts of one axis (a part of the units is only allowed back into a
    concatenation that restores them all, as a rotary embedding does)."""
    dim = c.arg("dim", 2, 0) if c.name != "unbind" else c.arg("dim", 1, 0)
    how = c.args[1] if len(c.args) > 1 else c.kw.get("chunks", c.kw.get("split_size_or_sections"))
    attrs = {"dim": dim if isinstance(dim, int) else None, "how": _plain(how), "call": c.name}
    attrs["in_shape"] = c.ctx.in_shape(0)
    return Op("chunk", c.ids[:1], c.node, attrs=attrs)


def _glu(c: _Call) -> Op:
    return Op("glu", c.ids[:1], c.node, attrs={"dim": c.arg("dim", 1, -1)})


def _matmul(c: _Call) -> Op:
    if c.n < 2 or c.name == "einsum":
        desc = f"{c.name}() with a parameter or an einsum (use nn.Linear)"
        return Op("unknown", c.ids, c.node, attrs={"desc": desc})
    return Op("matmul", c.ids, c.node)


def _cat(c: _Call) -> Op:
    dim = c.arg("dim", 1, 0)
    shape = c.ctx.in_shape(0)
    attrs = {"dim": int(dim), "ndim": None if shape is None else len(shape)}
    return Op("cat", c.ids, c.node, attrs=attrs)


def _flatten(c: _Call) -> Op:
    start, end = c.arg("start_dim", 1, 0), c.arg("end_dim", 2, -1)
    src = c.ctx.in_shape(0)
    attrs: dict[str, Any] = {"start": start, "end": end, "call": "flatten"}
    if start == 1 and end == -1 and src is not None and len(src) > 2:
        attrs["k"] = int(np.prod(src[2:]))
    if src is not None:
        attrs["in_shape"] = tuple(src)
    return Op("flatten", c.ids[:1], c.node, attrs=attrs)


def _view(c: _Call) -> Op:
    n_out = None
    rest = c.args[1:]
    if len(rest) == 1 and isinstance(rest[0], (list, tuple)):
        rest = list(rest[0])
    if c.name in ("view", "reshape") and rest:
        n_out = len(rest)
    s = c.ctx.out_shape()
    if s is not None:
        n_out = len(s)
    attrs: dict[str, Any] = {"ndim_out": n_out, "in_shape": c.ctx.in_shape(0), "call": c.name}
    if s:
        attrs["shape"] = s
    elif len(rest) >= 2 and isinstance(rest[1], int):
        attrs["channels"] = int(rest[1])  # (batch, C, ...): C from the call itself
    return Op("reshape", c.ids[:1], c.node, attrs=attrs)


def _reorder(c: _Call) -> Op:
    """permute, transpose, movedim...: the permutation, when the input's axes are known."""
    rest = tuple(c.kw["dims"]) if "dims" in c.kw else tuple(c.args[1:])
    if len(rest) == 1 and isinstance(rest[0], list):
        rest = (tuple(rest[0]),)  # x.permute([0, 2, 3, 1]), as einops calls it
    attrs: dict[str, Any] = {"ndim_out": None, "call": c.name, "args": _plain(rest)}
    src = c.ctx.in_shape(0)
    if src is not None:
        attrs["perm"] = permutation(c.name, attrs["args"], len(src))
    return Op("permute", c.ids[:1], c.node, attrs=attrs)


def _rearrange(c: _Call) -> Op:
    """``einops.rearrange(x, pattern, **lengths)`` (traced by torch.fx as one call)."""
    lengths = {k: v for k, v in c.kw.items() if k not in ("tensor", "pattern")}
    return rearrange_op(c.ids, c.node, c.arg("pattern", 1), lengths, c.ctx.in_shape(0))


def _squeeze(c: _Call) -> Op:
    """unsqueeze, squeeze: a reshape that adds or drops axes of size one."""
    attrs = {"ndim_out": None, "in_shape": c.ctx.in_shape(0), "call": c.name}
    return Op("reshape", c.ids[:1], c.node, attrs=attrs)


def _expand(c: _Call) -> Op:
    return Op("expand", c.ids[:1], c.node, attrs={"call": c.name})


def _reduce(c: _Call) -> Op:
    dims = c.arg("dim", 1)
    keep = bool(c.arg("keepdim", 2, False))
    if dims is None or not isinstance(dims, (int, list, tuple)):
        return Op("unknown", c.ids, c.node, attrs={"desc": f"{c.name}() over every axis"})
    dims = tuple(int(d) for d in (dims if isinstance(dims, (list, tuple)) else (dims,)))
    shape = c.ctx.in_shape(0)
    attrs = {"dims": dims, "keepdim": keep, "ndim": None if shape is None else len(shape)}
    return Op("mean", c.ids[:1], c.node, attrs=attrs)


def _getitem(c: _Call) -> Op:
    idx = c.args[1] if len(c.args) > 1 else None
    return Op("getitem", c.ids[:1], c.node, attrs={"index": _plain(idx)})


def _linear(c: _Call) -> Op:
    p, pn = c.weights()
    return Op("linear", c.ids[:1], _param_module(pn["weight"]), p, pn)


def _addmm(c: _Call) -> Op:
    """``addmm(bias, x, W)`` with ``W`` a parameter of shape (in, out): a Linear layer
    (Hugging Face's Conv1D, GPT-2)."""
    try:
        w, wn = c.ctx.param(c.arg("mat2", 2))
        b, bn = c.ctx.param(c.arg("input", 0))
    except InputError:
        return Op("unknown", c.ids, c.node, attrs={"desc": "addmm() of layers, not a parameter"})
    if w is None or w.ndim != 2 or c.n != 1:
        return Op("unknown", c.ids, c.node, attrs={"desc": "addmm() of layers, not a parameter"})
    p, pn = {"weight": w.T}, {"weight": wn}
    if b is not None:
        p["bias"], pn["bias"] = b, bn
    return Op("linear", c.ids[:1], _param_module(wn), p, pn)


def _conv(c: _Call) -> Op:
    p, pn = c.weights()
    groups = c.arg("groups", 6, 1)
    return Op("conv", c.ids[:1], _param_module(pn["weight"]), p, pn, {"groups": int(groups)})


def _attention(c: _Call) -> Op:
    return Op("attention", c.ids[:3], c.node)


def _activation(c: _Call) -> Op:
    return Op("pass", c.ids[:1], c.node, attrs={"activation": ACTIVATIONS.get(c.name)})


def _pass(c: _Call) -> Op:
    return Op("pass", c.ids[:1], c.node)


def _unit_norm(c: _Call) -> Op:
    pos = {"layer_norm": (2, 3), "group_norm": (2, 3), "rms_norm": (2, None)}[c.name]
    p, pn = {}, {}
    for role, at in zip(("weight", "bias"), pos):
        arg = c.arg(role, at)
        if arg is not None and not isinstance(arg, (int, float)):
            p[role], pn[role] = c.ctx.param(arg)
    reason = (
        f"{c.name}: normalises over the units (data-dependent); "
        "keeps the group, its per-unit scale and shift are not edges"
    )
    name = _param_module(pn.get("weight")) or c.node
    return Op("pass", c.ids[:1], name, p, pn, {"norm": True, "param_reason": reason})


def _batch_norm(c: _Call) -> Op:
    p, pn = {}, {}
    for role, at in (("running_mean", 1), ("running_var", 2), ("weight", 3), ("bias", 4)):
        arg = c.arg(role, at)
        if arg is not None:
            p[role], pn[role] = c.ctx.param(arg)
    eps = c.arg("eps", 7, 1e-5)
    name = _param_module(pn.get("running_mean") or pn.get("weight"))
    return Op("bn", c.ids[:1], name, p, pn, {"eps": float(eps)})


def _instance_norm(c: _Call) -> Op:
    return Op("pass", c.ids[:1], c.node, attrs={"norm": True})


_RESHAPES = {"permute", "transpose", "t", "movedim", "moveaxis", "swapaxes", "swapdims"}
_REDUCTIONS = {"mean", "sum", "amax", "max", "amin", "min", "std", "var", "nanmean"}

#: (names, handler) in order of precedence: a name takes the first rule that lists it
_FUNCTION_RULES: tuple[tuple[Iterable[str], Callable[[_Call], Op | None]], ...] = (
    (_SHAPE_METHODS | {"getattr", "__get__"}, _no_data),
    (_ADD, _add),
    ({"sub", "__sub__", "__rsub__", "subtract"}, _sub),
    (_MUL | {"multiply"}, _mul),
    (_DIV | {"floordiv", "__floordiv__", "divide"}, _div),
    ({"matmul", "bmm", "__matmul__", "mm", "einsum"}, _matmul),
    ({"cat", "concat", "concatenate"}, _cat),
    ({"flatten"}, _flatten),
    ({"view", "reshape", "unflatten", "view_as", "reshape_as"}, _view),
    (_RESHAPES, _reorder),
    ({"rearrange"}, _rearrange),
    ({"unsqueeze", "squeeze"}, _squeeze),
    ({"expand", "expand_as", "repeat", "broadcast_to"}, _expand),
    (_REDUCTIONS, _reduce),
    ({"getitem", "__getitem__"}, _getitem),
    ({"linear"}, _linear),
    ({"addmm"}, _addmm),
    ({"conv1d", "conv2d", "conv3d"}, _conv),
    ({"scaled_dot_product_attention"}, _attention),
    ({"chunk", "split", "tensor_split", "unbind"}, _chunk),
    ({"glu"}, _glu),
    (set(ACTIVATIONS) | {"softmax", "log_softmax", "_softmax"}, _activation),
    (_POOL_FUNCS | _PASS_METHODS, _pass),
    ({"layer_norm", "group_norm", "rms_norm"}, _unit_norm),
    ({"batch_norm"}, _batch_norm),
    ({"instance_norm"}, _instance_norm),
)


def _first_rule_wins(
    rules: tuple[tuple[Iterable[str], Callable[[_Call], Op | None]], ...],
) -> dict[str, Callable[[_Call], Op | None]]:
    """Name -> handler, each name to the first rule that lists it."""
    out: dict[str, Callable[[_Call], Op | None]] = {}
    for names, handler in rules:
        for name in names:
            out.setdefault(name, handler)
    return out


_FUNCTIONS = _first_rule_wins(_FUNCTION_RULES)


def _plain(idx: Any) -> Any:
    """An fx index argument as plain Python (slices and ints), for the resolver: an fx node
    whose value the shape propagation recorded is that value; a slice bound that is not known
    makes the whole slice unknown (its repr), never a full slice."""
    meta = getattr(idx, "meta", None)
    if isinstance(meta, dict) and "netsci_value" in meta:
        idx = meta["netsci_value"]
    if isinstance(idx, tuple):
        return tuple(_plain(i) for i in idx)
    if isinstance(idx, slice):
        bounds = [_plain(b) for b in (idx.start, idx.stop, idx.step)]
        if any(b is not None and not isinstance(b, int) for b in bounds):
            return repr(idx)
        return slice(*bounds)
    return idx if isinstance(idx, (int, type(Ellipsis), type(None))) else repr(idx)


def _param_module(name: str | None) -> str:
    return name.rsplit(".", 1)[0] if name and "." in name else (name or "")
