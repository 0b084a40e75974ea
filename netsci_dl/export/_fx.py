"""torch.fx front end: trace a model symbolically and record its data flow as ops.

The tracer treats the layers netsci_dl understands as leaves (Linear, convolutions,
normalisations, activations, pooling, dropout, embeddings, recurrent layers, multi-head
attention) and traces through every other module, torch.nn containers included. With an example
input, shapes are propagated (``ShapeProp``) so flattens and reshapes are exact.
"""

from __future__ import annotations

import math
import operator
import sys
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.export._einops import rearrange_op
from netsci_dl.export._hf_ops import is_whole_module
from netsci_dl.export._op_functions import function_op
from netsci_dl.export._op_map import module_op, param_array
from netsci_dl.export._ops import Op

__all__ = ["trace_fx", "TraceFailed"]


class TraceFailed(Exception):
    """torch.fx could not trace the model symbolically (control flow on data, ...)."""


def _einops_leaves() -> tuple[type, ...]:
    """einops' Rearrange layer, where einops is imported (a leaf: its pattern is read whole)."""
    mod = sys.modules.get("einops.layers.torch")
    return (mod.Rearrange,) if mod is not None and hasattr(mod, "Rearrange") else ()


def _autowrap() -> dict[str, Any]:
    """The tracer's autowrap arguments: einops' functions (where einops is imported) become one
    call each, which einops could not run on torch.fx's proxies."""
    einops = sys.modules.get("einops")
    return {"autowrap_modules": (math, einops)} if einops is not None else {}


def _leaf_types() -> tuple[type, ...]:
    import torch.nn as nn

    return (
        nn.Linear,
        nn.Bilinear,
        nn.modules.conv._ConvNd,
        nn.modules.batchnorm._NormBase,
        nn.LayerNorm,
        nn.RMSNorm,
        nn.GLU,
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
        if op.kind == "rearrange" and self.shapes:  # an einops Rearrange layer
            op = rearrange_op(op.inputs, op.name, m.pattern, m.axes_lengths, self.shape_of(ins[0]))
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


def _value_prop() -> type:
    from torch.fx.passes.shape_prop import ShapeProp

    class ValueProp(ShapeProp):
        """ShapeProp that also records the plain values (ints, shapes) of non-tensor nodes, so
        ``x[..., : x.shape[-1] // 2]`` is read with its real bounds."""

        def run_node(self, n: Any) -> Any:
            result = super().run_node(n)
            if isinstance(result, int) or (
                isinstance(result, (tuple, list)) and all(isinstance(v, int) for v in result)
            ):
                n.meta["netsci_value"] = result if not isinstance(result, list) else tuple(result)
            return result

    return ValueProp


def trace_fx(module: Any, example_input: Any = None) -> list[Op]:
    """The ops of ``module``'s forward, traced symbolically (shapes when an input is given).

    Raises
    ------
    TraceFailed
        torch.fx cannot trace the model (e.g. Python control flow on tensor values).
    """
    import torch
    import torch.fx as fx

    leaves = _leaf_types() + _einops_leaves()

    class _Tracer(fx.Tracer):
        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            return isinstance(m, leaves) or is_whole_module(m)

    was = module.training
    module.eval()  # traced as it runs in eval mode: dropout, stochastic depth are the identity
    try:
        graph = _Tracer(**_autowrap()).trace(module)
    except Exception as e:  # torch.fx raises many kinds (TraceError, TypeError, ...)
        raise TraceFailed(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
    finally:
        module.train(was)
    gm = fx.GraphModule(module, graph)
    shapes = False
    if example_input is not None:
        was = module.training
        module.eval()
        try:
            with torch.no_grad():
                args = example_input if isinstance(example_input, tuple) else (example_input,)
                _value_prop()(gm).propagate(*args)
            shapes = True
        except Exception as e:
            raise InputError(
                f"{type(module).__name__}: the example input does not run through the model "
                f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
            ) from None
        finally:
            module.train(was)
    return _Builder(gm, module, shapes).run()
