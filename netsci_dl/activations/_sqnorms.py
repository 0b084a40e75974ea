"""Per-example squared gradient norms without per-example gradients (for the Fisher trace).

For a layer ``out = f(a; W)`` and the per-example loss ``l_i = -log p(t_i | x_i)``, the gradient
of ``l_i`` with respect to the layer's parameters is a contraction of the layer's input ``a_i``
with the gradient of ``l_i`` with respect to the layer's output, ``delta_i``. One forward pass
(hooks keep the inputs) and one backward pass of ``sum_i l_i`` to the layer outputs only (no
parameter gradient is formed) give every ``delta_i``; the squared norms follow in closed form:

- ``nn.Linear``: ``||g_W,i||^2 = ||a_i||^2 ||delta_i||^2`` for 2-D inputs; for inputs with
  positions ``(b, T, ..., in)`` ``||sum_t delta_it a_it^T||^2``, by the Gram identity
  ``sum_{t,t'} (a_t . a_t') (delta_t . delta_t')`` (``T x T``) or the direct ``D_i^T A_i``,
  whichever costs fewer operations; the bias ``||sum_t delta_it||^2``.
- ``nn.Conv1d`` / ``nn.Conv2d`` (zero padding, any stride, dilation, groups): the same two ways
  on the unfolded input ``U_i``: ``||D_i U_i^T||^2`` per group. 2-D convolutions run with
  channels-last weights (so do the layers after them, and the output gradients come by
  position); a 2-D convolution whose input needs no gradient (a first layer) runs on the CPU
  as one GEMM on its unfolded input, the bias a row of ones, and its norms reuse that input.

With ``S`` labels per example (sampled, or every class) there is one backward pass per label,
and each layer's input is unfolded once for all of them: the direct product becomes one GEMM
``A^T [D_1 ... D_S]``, the Gram identity ``sum D_s * (A A^T D_s)``.
- ``nn.Embedding`` (no ``max_norm``, no ``scale_grad_by_freq``): the output gradients of
  positions that look up the same row are summed (index collisions), then squared.
- A module called several times (shared weights): its calls are positions of one input, so the
  per-example gradient is their sum, exactly.

Every other trainable parameter (normalisation layers, parameters of the root module, a
parameter owned by two modules, subclasses of the layers above) gets its per-example gradient
from ``vmap(grad(...))`` as in :mod:`netsci_dl.activations._gradients`, for those parameters
only. Examples must not interact in the forward pass (eval mode: batch norm on its running
statistics), and the layers above must see the examples on their inputs' first axis.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from netsci_dl.activations._sqnorm_ops import (
    _by_position,
    _cat,
    _Cols,
    _contract,
    _conv_cols,
    _gemm_forward,
    _positions,
    _stack,
)
from netsci_dl.errors import InputError

__all__ = ["fast_modules", "iter_sqnorms"]


def _fast_kind(m: Any) -> str | None:
    """``"linear"``, ``"conv"``, ``"embedding"`` for a layer handled in closed form, else None."""
    import torch.nn as nn

    t = type(m)
    if t is nn.Linear:
        return "linear"
    if t in (nn.Conv1d, nn.Conv2d):
        if m.padding_mode != "zeros" or isinstance(m.padding, str) and m.padding != "valid":
            return None
        return "conv"
    if t is nn.Embedding:
        return None if m.max_norm is not None or m.scale_grad_by_freq else "embedding"
    return None


def fast_modules(model: Any) -> dict[str, tuple[Any, str, tuple[str, ...]]]:
    """Module name -> ``(module, kind, names of its trainable parameters)`` handled in closed form.

    A parameter owned by more than one module object (tied weights) is left to ``vmap``.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.LayerNorm(2))
    >>> {k: v[1:] for k, v in fast_modules(net).items()}
    {'0': ('linear', ('0.weight', '0.bias'))}
    """
    owners: dict[int, set[int]] = {}
    for m in model.modules():
        for p in m._parameters.values():
            if p is not None:
                owners.setdefault(id(p), set()).add(id(m))
    out = {}
    for name, m in model.named_modules():
        kind = _fast_kind(m)
        if kind is None:
            continue
        ps = [
            (k, p)
            for k, p in m._parameters.items()
            if p is not None and p.requires_grad and len(owners[id(p)]) == 1
        ]
        own = [p for p in m._parameters.values() if p is not None and p.requires_grad]
        if ps and len(ps) == len(own):
            prefix = f"{name}." if name else ""
            out[name] = (m, kind, tuple(prefix + k for k, _ in ps))
    return out


def _one_position(m: Any, x: Any, g: Any) -> dict[str, Any]:
    """A Linear layer's norms at one position, input ``x`` ``(b, in)``, output gradients ``g``
    ``(b, S, o)``: ``||g_W||^2 = ||x||^2 ||g||^2``, ``||g_b||^2 = ||g||^2``."""
    import torch

    out = {}
    nd = torch.linalg.vector_norm(g, dim=-1)  # (b, S)
    if m.weight.requires_grad:
        out["weight"] = (torch.linalg.vector_norm(x, dim=-1).unsqueeze(-1) * nd).square_()
    if m.bias is not None and m.bias.requires_grad:
        out["bias"] = nd.square_()
    return out


def _module_sqnorms(m: Any, kind: str, calls: list[tuple[Any, Any]], b: int) -> dict[str, Any]:
    """Parameter attribute -> ``(b, S)`` squared norms (in the gradients' dtype) from the calls'
    inputs and their output gradients for ``S`` labels (a list of ``S`` tensors per call)."""
    import torch

    out: dict[str, Any] = {}
    for x, _ in calls:
        if isinstance(x, _Cols):
            continue
        if x.shape[0] != b:
            raise InputError(
                f"a {type(m).__name__} layer sees inputs of shape {tuple(x.shape)} in a batch of "
                f"{b} examples: per-example norms need the examples on the first axis "
                "(use method='vmap')"
            )
    if kind == "linear" and len(calls) == 1 and calls[0][0].ndim == 2:  # the common case
        return _one_position(m, calls[0][0], _stack(calls[0][1], 1))
    if kind == "linear":
        a = _cat([_positions(x, b, True) for x, _ in calls], 1)
        # S x (b, ..., o) -> (b, T, S, o)
        d = _cat([_stack([g.reshape(b, -1, g.shape[-1]) for g in gs], 2) for _, gs in calls], 1)
        bias = m.bias is not None and m.bias.requires_grad
        if d.shape[1] == 1:
            return _one_position(m, a[:, 0], d[:, 0])
        if m.weight.requires_grad:
            out["weight"] = _contract(a, d)
        if bias:
            out["bias"] = torch.linalg.vector_norm(d.sum(1), dim=-1).square_()
    elif kind == "conv":
        G = m.groups
        x = calls[0][0]
        bias = getattr(m, "bias", None) is not None and m.bias.requires_grad
        if len(calls) == 1 and isinstance(x, _Cols):  # one call, its patches from the forward
            if x.ones and m.weight.requires_grad and bias:
                d1 = _by_position(calls[0][1], 1)[:, 0]  # (b, L, S, o)
                out["weight"], out["bias"] = _contract(x.a[:, 0], d1, ones=True)
                return out
            a = x.a[..., :-1] if x.ones else x.a
        else:
            # several calls: positions of one input, their patches' columns in one order
            xs = [c.x if isinstance(c, _Cols) else c for c, _ in calls]
            if len({x.shape[1] > 1 and x.stride(1) == 1 for x in xs}) > 1:
                xs = [x.contiguous() for x in xs]  # channels last for some only
            a = _cat([_conv_cols(m, x) for x in xs], -2)
        d = _cat([_by_position(gs, G) for _, gs in calls], 2)  # (b, G, L, S, o)
        if m.weight.requires_grad:
            out["weight"] = _contract(a[:, 0], d[:, 0]) if G == 1 else _contract(a, d).sum(1)
        if bias:
            if d.shape[3] == 1:  # one label: summed over positions in the gradients' own
                # layout (the by-position view of channels-last memory reads across its unit
                # stride); several: over the labels' copy that ``d`` already is
                db = sum(g.sum(tuple(range(2, g.ndim))) for _, gs in calls for g in gs)
                out["bias"] = torch.linalg.vector_norm(db, dim=-1).square_().unsqueeze(-1)
            else:
                out["bias"] = d.sum(2).square_().sum((1, -1))
    else:
        idx = _cat([x.reshape(b, -1) for x, _ in calls], 1)
        d = _cat(
            [_stack([g.reshape(b, x.shape[1:].numel(), -1) for g in gs], 0) for x, gs in calls], 2
        )
        S = d.shape[0]
        if m.padding_idx is not None:
            d = d * (idx != m.padding_idx).unsqueeze(-1).to(d.dtype)
        V = m.num_embeddings
        key = (torch.arange(b, device=idx.device)[:, None] * V + idx).reshape(-1)
        uniq, inv = torch.unique(key, return_inverse=True)
        rows = d.new_zeros(S, uniq.shape[0], d.shape[-1]).index_add_(
            1, inv, d.reshape(S, -1, d.shape[-1])
        )
        sq = torch.linalg.vector_norm(rows, dim=-1).square_()  # (S, rows)
        owner = torch.div(uniq, V, rounding_mode="floor")
        out["weight"] = sq.new_zeros(S, b).index_add_(1, owner, sq).t()
    return out


def iter_sqnorms(
    model: Any, X: Any, y: Any, *, batch_size: int = 64, device: Any = None
) -> Iterator[tuple[int, Any, Any, dict[str, Any]]]:
    """Per batch ``(start, targets, log_probs, {parameter name: (b, S) squared norms})``, the
    squared norms in the parameters' dtype.

    ``y``: ``(n,)`` labels (``S = 1``, targets ``(b,)``), a callable ``(log_probs, start) ->
    (b, S)`` labels, or ``"all"`` (every class, ``S = n_classes``). Squared norms are of the
    gradient of ``-log p(t | x)`` with respect to each trainable parameter (the names of
    :func:`~netsci_dl.activations._gradients.param_groups`). Every batch is computed, with
    the model's tensors swapped once, before the first is yielded (the results are ``(b, S)``
    tensors per parameter: small next to a batch's activations).
    """
    import numpy as np
    import torch
    from torch.autograd.graph import get_gradient_edge
    from torch.func import functional_call, grad, vmap

    from netsci_dl.activations._gradients import _eval_mode, _setup

    _, dev, params, buffers, Xt = _setup(model, X, device)
    n, bs = len(Xt), max(1, int(batch_size))
    fast = fast_modules(model)
    fast_names = {k for _, _, ks in fast.values() for k in ks}
    slow = [k for k in params if k not in fast_names]
    live = {k: v.detach().requires_grad_(k in fast_names) for k, v in params.items()}
    # 2-D convolutions get channels-last weights: their outputs, the pooling and activations
    # after them and the output gradients run channels last (max pooling 2x faster on the CPU;
    # the gradients come by position, as the norms read them). A forward pass that cannot take
    # them (``.view`` of a conv output) runs again with the weights as they are.
    cl = {
        k: torch.empty_like(live[k], memory_format=torch.channels_last)
        .copy_(live[k].detach())
        .requires_grad_(True)
        for m, kind, ks in fast.values()
        if kind == "conv" and m.weight.ndim == 4
        for k in ks
        if live[k].ndim == 4
    }
    layouts = [{**live, **cl}, live] if cl else [live]
    yt = None
    if not callable(y) and not isinstance(y, str):
        yt = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y).long()
        if yt.shape != (n,):
            raise InputError(f"y has shape {tuple(yt.shape)}; expected ({n},)")
        y_range = tuple(int(v) for v in torch.aminmax(yt)) if n else (0, 0)
    calls: dict[str, list[Any]] = {k: [] for k in fast}
    # A call keeps its input and the gradient edge of its output: where the output's gradient
    # arrives, also after an in-place op on the output (ReLU(inplace=True)); the output itself
    # is freed as in a plain forward pass. (A layer's input changed in place after the layer
    # read it is not supported; autograd refuses it too wherever the backward pass reads it.)
    state = {"on": False, "gemm": False}
    pending: dict[str, Any] = {}

    def hook(name: str) -> Any:
        def f(mod: Any, inp: tuple, out: Any) -> None:
            if not state["on"]:
                return
            # an output made without gradient (under torch.no_grad()): zero gradient, as vmap
            edge = get_gradient_edge(out) if out.requires_grad else None
            x = pending.pop(name, None)
            x = inp[0].detach() if x is None else x
            calls[name].append((x, edge, (out.shape, out.dtype, out.device)))

        return f

    def loss(p: dict, x: Any, t: Any) -> Any:
        full = {**params, **p}
        z = functional_call(model, (full, buffers), (x.unsqueeze(0),))
        return torch.nn.functional.cross_entropy(z, t.unsqueeze(0))

    g_slow = vmap(grad(loss), in_dims=(None, 0, 0)) if slow else None

    def run(last: bool, gemm: bool) -> list:
        """Every batch, inside one swap of the model's tensors (a ``functional_call`` per
        batch cost 0.1 ms, against 0.34 ms for the forward pass of 64 digits through a LeNet)."""
        out = []
        for s in range(0, n, bs):
            xb = Xt[s : s + bs].to(dev)
            b = len(xb)
            for v in calls.values():
                v.clear()
            state["on"], state["gemm"] = True, gemm
            try:
                with torch.enable_grad():
                    z = model(xb)
            except RuntimeError as e:  # e.g. ``.view`` of a channels-last conv output
                if last or s:
                    raise
                raise _Relayout from e
            finally:
                state["on"] = state["gemm"] = False
                pending.clear()
            zd = z.detach()
            # log_softmax's CPU kernel is slow on a short last axis (128 us against 30 us for
            # (1000, 10)); logsumexp subtracts the row maximum as it does
            lp = zd - zd.logsumexp(-1, keepdim=True)
            C = lp.shape[1]
            if isinstance(y, str):
                t = torch.arange(C, device=dev).expand(b, -1)
            elif callable(y):
                t = torch.as_tensor(y(lp, s), device=dev).long()
                _check_labels(t, b, C, s)
            else:
                if y_range[0] < 0 or y_range[1] >= C:
                    raise InputError(
                        f"labels must lie in [0, {C}), got [{y_range[0]}, {y_range[1]}]"
                    )
                t = yt[s : s + bs].to(dev)
            cols = t.reshape(b, -1)
            S = cols.shape[1]
            res = _fast_norms(fast, calls, z, lp.exp(), cols, dev)
            if slow:
                ps = {k: params[k] for k in slow}
                flat = g_slow(ps, xb.repeat_interleave(S, 0), cols.reshape(-1))
                for k in slow:
                    res[k] = torch.linalg.vector_norm(flat[k].reshape(b, S, -1), dim=-1).square_()
            for v in calls.values():
                v.clear()
            out.append((s, t, lp, {k: res[k] for k in params}))
        return out

    # eval mode (the model's own switch walks every module twice): only when a module trains
    training = any(m.training for m in model.modules())
    handles = [m.register_forward_hook(hook(k)) for k, (m, _, _) in fast.items()]

    def flat_grad(mod: Any, inp: tuple) -> None:
        # a Flatten copies a channels-last input to rows; the backward's view hands the layer
        # before it a channels-first gradient, and max pooling's backward then converts its
        # input and output (two copies, 0.8 ms on the LeNet's 1,000 digits): one small copy
        # of the gradient instead
        x = inp[0] if inp else None
        if state["on"] and isinstance(x, torch.Tensor) and x.requires_grad and x.ndim == 4:
            if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
                x.register_hook(_to_channels_last)

    handles += [
        m.register_forward_pre_hook(flat_grad)
        for m in model.modules()
        if type(m) is torch.nn.Flatten
    ]
    # the channels-last layout runs 2-D convolutions that need no input gradient as one GEMM
    gemm = [
        (m, _gemm_forward(m, k, state, pending))
        for k, (m, kind, _) in fast.items()
        if type(m) is torch.nn.Conv2d and m.groups == 1 and "forward" not in m.__dict__
    ]
    try:
        for m, f in gemm:
            m.forward = f
        with _eval_mode(model) if training else contextlib.nullcontext():
            for i, layout in enumerate(layouts):
                try:
                    last = i == len(layouts) - 1
                    batches = _within(model, {**layout, **buffers}, run, last, bool(cl) and i == 0)
                    break
                except _Relayout:
                    continue
    finally:
        for h in handles:
            h.remove()
        for m, _ in gemm:
            m.__dict__.pop("forward", None)
    yield from batches


def _to_channels_last(g: Any) -> Any:
    import torch

    return g.contiguous(memory_format=torch.channels_last)


class _Relayout(Exception):
    """The first forward pass refused the channels-last weights: run again without them."""


def _within(model: Any, tensors: dict, fn: Any, *args: Any) -> Any:
    """``fn(*args)`` with the model's parameters and buffers (``named_parameters`` names) set
    to ``tensors`` for the whole call, tied names too: one ``torch.func.functional_call``
    around a module that holds the model and runs ``fn``."""
    import torch

    class _Run(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.m = model

        def forward(self, *a: Any) -> Any:
            return fn(*a)

    return torch.func.functional_call(_Run(), {f"m.{k}": v for k, v in tensors.items()}, args)


def _fast_norms(fast: dict, calls: dict, z: Any, p: Any, cols: Any, dev: Any) -> dict[str, Any]:
    """``{parameter name: (b, S)}`` for the closed-form layers: one backward pass per label
    column to the hooked outputs (no parameter gradient is formed), then each layer's norms
    for all ``S`` labels at once (its input unfolded once)."""
    import torch

    b, S = cols.shape
    edges = [c[1] for v in calls.values() for c in v]
    metas = [c[2] for v in calls.values() for c in v]
    live = [e for e in edges if e is not None]
    grads: list[list[Any]] = [[] for _ in edges]
    neg = p.new_full((b, 1), -1.0)
    for j in range(S):
        gz = p.scatter_add(1, cols[:, j : j + 1], neg)  # p - one_hot(label)
        got = iter(
            torch.autograd.grad(z, live, gz, retain_graph=j < S - 1, allow_unused=True)
            if live
            else ()
        )
        gs = [None if e is None else next(got) for e in edges]
        for acc, g, (shape, dtype, device) in zip(grads, gs, metas, strict=True):
            # an output that does not reach the logits, or made without gradient: zero
            acc.append(torch.zeros(shape, dtype=dtype, device=device) if g is None else g)
    res = {}
    it = iter(grads)
    for name, (m, kind, ks) in fast.items():
        got = [(c[0], next(it)) for c in calls[name]]
        if not got:  # not called in this forward pass: zero gradient
            res.update({k: z.new_zeros(b, S) for k in ks})
            continue
        sq = _module_sqnorms(m, kind, got, b)
        res.update({k: sq[k.rsplit(".", 1)[-1]] for k in ks})
    return res


def _check_labels(t: Any, b: int, C: int, s: int) -> None:
    if t.shape[0] != b or t.ndim not in (1, 2):
        raise InputError(f"labels of batch {s}: shape {tuple(t.shape)}, expected (b,) or (b, S)")
    import torch

    lo, hi = (int(v) for v in torch.aminmax(t))
    if lo < 0 or hi >= C:
        raise InputError(f"labels must lie in [0, {C}), got [{lo}, {hi}]")
