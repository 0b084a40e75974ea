"""Recording front end: run one real forward pass and record every torch function it calls.

Used when torch.fx cannot trace a model symbolically (Python control flow on tensor values,
data-dependent shapes): a ``TorchFunctionMode`` sees each call (``F.linear``, ``F.conv2d``,
``torch.cat``, ``Tensor.view``, ``+``, activations, pooling, normalisations, attention...) with
its real tensors, so the data flow of this input is exact (branches not taken are not seen).
Parameters are recognised by identity (``named_parameters`` / ``named_buffers``), so every
weight is named; module calls of embeddings, recurrent layers and multi-head attention are
recorded as one op each through forward hooks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.export._hf_ops import is_whole_module
from netsci_dl.export._op_functions import function_op
from netsci_dl.export._op_map import module_op, param_array
from netsci_dl.export._ops import Op

__all__ = ["record_forward"]


class _Ctx:
    def __init__(self, rec: Any, args: list, kw: dict, out: Any) -> None:
        self.rec, self.args, self.kw, self.out = rec, args, kw, out
        self.data = rec.data_tensors(args, kw)

    def ids(self) -> tuple[int, ...]:
        return tuple(self.rec.index[id(t)] for t in self.data)

    def n_data(self) -> int:
        return len(self.data)

    def in_shape(self, pos: int = 0) -> tuple[int, ...] | None:
        return tuple(self.data[pos].shape) if pos < len(self.data) else None

    def out_shape(self) -> tuple[int, ...] | None:
        import torch

        return tuple(self.out.shape) if isinstance(self.out, torch.Tensor) else None

    def param(self, arg: Any) -> tuple[np.ndarray | None, str | None]:
        if arg is None:
            return None, None
        name = self.rec.params.get(id(arg))
        if name is None:
            raise InputError(
                "a weight passed to a torch function is not a parameter or buffer of the model "
                "(computed on the fly?); netsci_dl exports only the model's own parameters"
            )
        return param_array(arg, name), name


def _recorder_class() -> type:
    from torch.overrides import TorchFunctionMode

    class Recorder(TorchFunctionMode):
        def __init__(self, params: dict[int, str]) -> None:
            super().__init__()
            self.params = params
            self.ops: list[Op] = []
            self.index: dict[int, int] = {}
            self.keep: list[Any] = []  # keep tensors alive so their ids stay unique
            self.depth = 0  # > 0 inside a module recorded as one op

        def data_tensors(self, args: Any, kw: dict) -> list[Any]:
            import torch

            out: list[Any] = []

            def walk(a: Any) -> None:
                if isinstance(a, torch.Tensor):
                    if id(a) in self.index and id(a) not in self.params:
                        out.append(a)
                elif isinstance(a, (list, tuple)):
                    for x in a:
                        walk(x)
                elif isinstance(a, dict):
                    for x in a.values():
                        walk(x)

            walk(args)
            walk(kw)
            return out

        def mark(self, out: Any, op_index: int) -> None:
            import torch

            if isinstance(out, torch.Tensor):
                self.index[id(out)] = op_index
                self.keep.append(out)
            elif isinstance(out, (tuple, list)):
                for j, t in enumerate(out):
                    if isinstance(t, torch.Tensor):
                        self.ops.append(
                            Op(
                                "getitem",
                                (op_index,),
                                f"{self.ops[op_index].name}[{j}]",
                                attrs={"index": j},
                            )
                        )
                        self.index[id(t)] = len(self.ops) - 1
                        self.keep.append(t)

        def add(self, op: Op, out: Any) -> None:
            import torch

            if isinstance(out, torch.Tensor):
                op.attrs.setdefault("shape", tuple(out.shape))
            self.ops.append(op)
            self.mark(out, len(self.ops) - 1)

        def __torch_function__(
            self, func: Any, types: Any, args: Any = (), kwargs: Any = None
        ) -> Any:
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            if self.depth:
                return out
            ctx = _Ctx(self, list(args), dict(kwargs), out)
            if not ctx.data:
                return out
            name = getattr(func, "__name__", str(func))
            op = function_op(name, list(args), dict(kwargs), ctx, f"{name}#{len(self.ops)}")
            if op is not None:
                if op.kind == "unknown":
                    op.attrs["desc"] = f"torch function {name}()"
                self.add(op, out)
            return out

    return Recorder


def record_forward(module: Any, example_input: Any) -> list[Op]:
    """The ops of one real forward pass of ``module`` on ``example_input``.

    The pass runs in eval mode (the module's mode is restored afterwards) with gradients
    enabled, so torch takes its plain code paths instead of fused fast paths.
    """
    import torch
    import torch.nn as nn

    params = {id(t): n for n, t in module.named_parameters(remove_duplicate=False)}
    params.update({id(t): n for n, t in module.named_buffers(remove_duplicate=False)})
    rec = _recorder_class()(params)
    whole = (nn.Embedding, nn.EmbeddingBag, nn.RNNBase, nn.MultiheadAttention)
    hooks = []
    for name, m in module.named_modules():
        if isinstance(m, whole) or is_whole_module(m):

            def pre(mod: Any, args: Any, kwargs: Any, _n: str = name) -> None:
                mod._netsci_dl_inputs = rec.data_tensors(args, kwargs)
                rec.depth += 1

            def post(mod: Any, args: Any, kwargs: Any, out: Any, _n: str = name) -> None:
                rec.depth -= 1
                ins = mod.__dict__.pop("_netsci_dl_inputs", [])
                op = module_op(mod, _n, tuple(rec.index[id(t)] for t in ins))
                rec.add(op, out)

            hooks.append(m.register_forward_pre_hook(pre, with_kwargs=True))
            hooks.append(m.register_forward_hook(post, with_kwargs=True))
    args = example_input if isinstance(example_input, tuple) else (example_input,)
    for j, a in enumerate(args):
        if isinstance(a, torch.Tensor):
            rec.ops.append(
                Op(
                    "input",
                    (),
                    "input" if len(args) == 1 else f"input{j}",
                    attrs={"shape": tuple(a.shape)},
                )
            )
            rec.index[id(a)] = len(rec.ops) - 1
            rec.keep.append(a)
    was = module.training
    module.eval()
    try:
        with torch.enable_grad(), rec:  # grad on: torch skips its fused fast paths
            out = module(*args)
    except InputError:
        raise
    except Exception as e:
        raise InputError(
            f"{type(module).__name__}: the example input does not run through the model "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        ) from None
    finally:
        module.train(was)
        for h in hooks:
            h.remove()
    outs = rec.data_tensors((out,), {})
    rec.ops.append(Op("output", tuple(rec.index[id(t)] for t in outs)))
    return rec.ops
