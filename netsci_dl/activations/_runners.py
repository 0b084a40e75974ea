"""Runners: set a model up to record its layers' outputs batch by batch (see :mod:`._forward`)."""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from netsci_dl._array import import_torch, is_tensor, resolve_device
from netsci_dl.activations._pool import check_pool, reduce_output
from netsci_dl.activations._tokens import (
    POOL_ALL,
    POOL_MASKED,
    call_model,
    check_attention_mask,
    check_token_ids,
    pool_tokens,
    takes_attention_mask,
)
from netsci_dl.errors import InputError

__all__ = ["open_runner"]

log = logging.getLogger(__name__)


def _elementwise_types() -> tuple[type, ...]:
    import torch.nn as nn

    names = (
        "ReLU ReLU6 Sigmoid Tanh LeakyReLU ELU SELU CELU GELU SiLU Mish Softplus Softsign "
        "Hardtanh Hardswish Hardsigmoid Hardshrink Softshrink LogSigmoid Tanhshrink PReLU RReLU "
        "Threshold Dropout Dropout1d Dropout2d Dropout3d AlphaDropout FeatureAlphaDropout "
        "Identity BatchNorm1d BatchNorm2d BatchNorm3d"
    ).split()
    return tuple(getattr(nn, n) for n in names if hasattr(nn, n))


class _DBNRunner:
    """Hidden probabilities of each RBM of a DBN, bottom-up."""

    model_kind = "dbn"

    def __init__(self, dbn: Any, layers: Sequence[str] | None, device: Any) -> None:
        dbn._check_fitted()
        n = len(dbn.rbms_)
        all_names = [f"h{i + 1}" for i in range(n)]
        names = list(all_names) if layers is None else [str(v) for v in layers]
        bad = [v for v in names if v not in all_names]
        if bad:
            raise InputError(f"DBN layers {bad} not found; the DBN has {all_names}")
        self.names = [v for v in all_names if v in names]
        self.stop = max(all_names.index(v) for v in self.names) + 1
        w0 = dbn.rbms_[0].weights_
        self.device = w0.device if device is None else resolve_device(device)
        self.dtype = w0.dtype
        self.params = [
            (r.weights_.to(self.device), r.hidden_bias_.to(self.device))
            for r in dbn.rbms_[: self.stop]
        ]
        self.modules = {v: f"rbms_[{all_names.index(v)}]" for v in self.names}
        self.taken_at = dict(self.modules)
        self.followed = dict.fromkeys(self.names, ())
        self.shapes = {v: (int(dbn.layers[all_names.index(v) + 1]),) for v in self.names}
        self.n_in = int(dbn.layers[0])

    def prepare_input(self, xb: Any) -> Any:
        if xb.ndim != 2:
            xb = xb.reshape(xb.shape[0], -1)
        if xb.shape[1] != self.n_in:
            raise InputError(
                f"X has {xb.shape[1]} features; the DBN's visible layer has {self.n_in}"
            )
        return xb.to(device=self.device, dtype=self.dtype)

    def run(self, xb: Any, mask: Any = None) -> dict[str, Any]:
        import torch

        h = self.prepare_input(xb)
        out = {}
        for i, (W, hb) in enumerate(self.params):
            h = torch.sigmoid(torch.addmm(hb, h, W))
            name = f"h{i + 1}"
            if name in self.names:
                out[name] = h
        return out

    def token_settings(self, mask: Any) -> dict[str, Any]:
        return {}

    def __enter__(self) -> _DBNRunner:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


class _ModuleRunner:
    """Forward hooks on the chosen modules of an ``nn.Module`` (see the module docstring)."""

    model_kind = "module"

    def __init__(
        self,
        model: Any,
        layers: Sequence[str] | None,
        device: Any,
        pool: str,
        dft_size: int | None,
        input_shape: tuple[int, ...] | None,
        probe: Any,
    ) -> None:
        import torch.nn as nn

        self.model = model
        self.pool, self.dft_size = pool, dft_size
        params = list(model.parameters()) + list(model.buffers())
        self.home = params[0].device if params else None
        self.device = (
            resolve_device(device) if device is not None else (self.home or resolve_device("cpu"))
        )
        floats = [p.dtype for p in params if p.is_floating_point()]
        import torch

        self.dtype = floats[0] if floats else torch.float32
        self.named = {(n or type(model).__name__.lower()): m for n, m in model.named_modules()}
        if layers is None:
            chosen = [n for n, m in self.named.items() if isinstance(m, (nn.Linear, nn.Conv2d))]
            if not chosen:
                raise InputError(
                    f"{type(model).__name__}: no nn.Linear or nn.Conv2d modules; pass layers= "
                    f"(module names: {list(self.named)[:20]})"
                )
        else:
            chosen = [str(v) for v in layers]
            bad = [v for v in chosen if v not in self.named]
            if bad:
                raise InputError(
                    f"modules {bad} not found in {type(model).__name__}; named modules: "
                    f"{list(self.named)[:30]}"
                )
        self.follow = layers is None
        # a model with an embedding takes integer token ids: they are not cast to floats
        self.tokens = any(isinstance(m, nn.Embedding) for m in model.modules())
        self.takes_mask = takes_attention_mask(model)
        self._mask: Any = None
        self.input_shape = input_shape or self._infer_input_shape(probe)
        self.chosen = chosen
        self._hooks: list[Any] = []
        self._store: dict[str, Any] = {}
        self._modes: list[tuple[Any, bool]] = []

    def _infer_input_shape(self, probe: Any) -> tuple[int, ...] | None:
        import torch.nn as nn

        if probe.ndim != 2:
            return None
        first = next(
            (m for m in self.model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))), None
        )
        if not isinstance(first, nn.Conv2d):
            return None
        c = int(first.in_channels)
        side = math.isqrt(int(probe.shape[1]) // c) if probe.shape[1] % c == 0 else 0
        if side * side * c != probe.shape[1]:
            raise InputError(
                f"X has {probe.shape[1]} features per example but the model starts with a Conv2d "
                f"of {c} channels: pass input_shape=(C, H, W)"
            )
        return (c, side, side)

    def prepare_input(self, xb: Any) -> Any:
        if self.input_shape is not None:
            xb = xb.reshape(xb.shape[0], *self.input_shape)
        if self.tokens and not xb.is_floating_point():
            return xb.to(device=self.device)  # token ids of a text model stay integers
        return xb.to(device=self.device, dtype=self.dtype)

    def _forward(self, xb: Any, mask: Any) -> Any:
        """The model on one batch; the batch's attention mask goes to a model that takes one
        and is kept for pooling token outputs (:mod:`._tokens`)."""
        self._mask = None if mask is None else mask.to(self.device)
        return call_model(self.model, self.prepare_input(xb), self._mask, self.takes_mask)

    def token_settings(self, mask: Any) -> dict[str, Any]:
        """How token outputs were pooled and whether the mask reached the model (for the
        results' settings); empty for a model without token inputs."""
        if not self.tokens:
            return {}
        if mask is None:
            return {"token_pool": POOL_ALL, "attention_mask": None}
        passed = (
            "passed to the model"
            if self.takes_mask
            else (f"pooling only: {type(self.model).__name__}.forward takes no attention_mask")
        )
        return {"token_pool": POOL_MASKED, "attention_mask": passed}

    # -- planning: which module's output to record for each layer
    def _trace(self, probe: Any, probe_mask: Any = None) -> None:
        records: list[tuple[str, set[int], Any]] = []
        leaves = {n for n, m in self.named.items() if not list(m.children())}
        watch = leaves | set(self.chosen)
        hooks = []

        def make(name: str) -> Any:
            def hook(mod: Any, args: tuple, out: Any) -> None:
                ids = {id(a) for a in args if is_tensor(a)}
                records.append((name, ids, out))

            return hook

        for n in watch:
            hooks.append(self.named[n].register_forward_hook(make(n)))
        try:
            self._forward(probe, probe_mask)
        finally:
            for h in hooks:
                h.remove()
        calls: dict[str, int] = {}
        for name, _, _ in records:
            calls[name] = calls.get(name, 0) + 1
        elementwise = _elementwise_types()
        types = {n: type(m) for n, m in self.named.items()}
        self.taken_at, self.followed, self.modules = {}, {}, {}
        names = []
        for layer in self.chosen:
            n_calls = calls.get(layer, 0)
            if n_calls == 0:
                if not self.follow:
                    raise InputError(f"module {layer!r} is not called by the model's forward")
                continue  # a default layer the forward never uses
            if n_calls > 1:
                raise InputError(
                    f"module {layer!r} is called {n_calls} times per forward pass: its output is "
                    "ambiguous; pass layers= naming modules that run once"
                )
            if not is_tensor(next(o for n, _, o in records if n == layer)):
                raise InputError(f"module {layer!r} does not return a single tensor")
            at, path = layer, []
            if self.follow:
                at, path = _follow(layer, records, calls, leaves, types, elementwise)
            names.append(layer)
            self.modules[layer], self.taken_at[layer], self.followed[layer] = layer, at, tuple(path)
        if not names:
            raise InputError("none of the layers is used by the model's forward pass")
        self.names = names

    def start(self, probe: Any, probe_mask: Any = None) -> None:
        """Eval mode, device, plan from a traced forward on ``probe``, capture hooks."""
        torch = import_torch()
        self._modes = [(m, m.training) for m in self.model.modules()]
        self.model.eval()
        if self.home is not None and self.device != self.home:
            self.model.to(self.device)
        with torch.no_grad():
            self._trace(probe, probe_mask)
        self.shapes: dict[str, tuple[int, ...]] = {}
        for layer in self.names:
            mod = self.named[self.taken_at[layer]]
            self._hooks.append(mod.register_forward_hook(self._capture(layer)))

    def _capture(self, layer: str) -> Any:
        def hook(mod: Any, args: tuple, out: Any) -> None:
            self.shapes.setdefault(layer, tuple(int(s) for s in out.shape[1:]))
            if self.tokens and out.ndim == 3:  # (b, tokens, units) of a text model:
                out = out.transpose(1, 2)  # units first, pooled over the token positions
                m = self._mask
                if m is not None and out.shape[-1] == m.shape[1]:
                    self._store[layer] = pool_tokens(out, m, self.pool, self.dft_size)
                    return
            self._store[layer] = reduce_output(out, self.pool, self.dft_size)

        return hook

    def run(self, xb: Any, mask: Any = None) -> dict[str, Any]:
        """``{layer: (b, units)}`` of one batch (``mask``: its rows of the attention mask)."""
        torch = import_torch()
        self._store = {}
        with torch.no_grad():
            self._forward(xb, mask)
        out = {n: self._store[n] for n in self.names}
        self._store, self._mask = {}, None
        return out

    def __exit__(self, *exc: Any) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks = []
        if self.home is not None and self.device != self.home:
            self.model.to(self.home)
        for m, mode in self._modes:
            m.training = mode


def _follow(
    layer: str, records: list, calls: dict, leaves: set, types: dict, elementwise: tuple
) -> tuple[str, list[str]]:
    """Walk from ``layer``'s output through the elementwise modules that alone consume it."""
    pos = next(i for i, (n, _, _) in enumerate(records) if n == layer)
    T, at, path = records[pos][2], layer, []
    while True:
        cons = [
            i
            for i in range(pos + 1, len(records))
            if id(T) in records[i][1] and records[i][0] in leaves and records[i][0] != at
        ]
        if not cons:
            break
        i = cons[0]
        name, _, out = records[i]
        ok = (
            calls.get(name) == 1
            and is_tensor(out)
            and out.shape == T.shape
            and issubclass(types[name], elementwise)
        )
        # a new tensor is followed only when it is T's sole consumer; an in-place op (same
        # tensor back) is always applied before the others see T
        if not ok or (out is not T and len(cons) > 1):
            break
        pos, at, T = i, name, out
        path.append(name)
    return at, path


def _as_tensor(X: Any) -> Any:
    torch = import_torch()
    if is_tensor(X):
        return X
    a = np.asarray(X)
    if not np.issubdtype(a.dtype, np.number):
        raise InputError(f"X has dtype {a.dtype}; expected numbers")
    a = np.ascontiguousarray(a)
    # a read-only array (a Dataset's) is copied: a model may write its input, and torch warns
    return torch.from_numpy(a if a.flags.writeable else a.copy())


@contextlib.contextmanager
def open_runner(
    model: Any,
    X: Any,
    *,
    layers: Sequence[str] | None = None,
    device: Any = None,
    pool: str = "mean",
    dft_size: int | None = None,
    input_shape: Sequence[int] | None = None,
    attention_mask: Any = None,
) -> Iterator[Any]:
    """A runner for ``model`` (eval mode, hooks set) for as long as the ``with`` block lasts.

    ``runner.run(batch, mask)`` returns ``{layer: (b, units) tensor}`` on ``runner.device``
    (``mask``: the batch's rows of ``attention_mask``, for token data that has one);
    ``runner.names``, ``modules``, ``taken_at``, ``followed``, ``shapes`` describe the layers.
    The model comes back in its modes and on its device afterwards. Token ids outside the
    model's vocabulary and a malformed ``attention_mask`` are refused first.
    """
    from netsci_dl.models.dbn import DBN

    check_pool(pool, dft_size)
    Xt = _as_tensor(X)
    if Xt.ndim < 1 or Xt.shape[0] < 1:
        raise InputError(f"X has shape {tuple(Xt.shape)}; expected rows = examples")
    shape = tuple(int(v) for v in input_shape) if input_shape else None
    mask = check_attention_mask(attention_mask, Xt)
    if isinstance(model, DBN):
        if mask is not None:
            raise InputError("attention_mask: a DBN takes no token data")
        with _DBNRunner(model, layers, device) as r:
            r.attention_mask = None
            yield r
        return
    import torch.nn as nn

    if not isinstance(model, nn.Module):
        raise InputError(
            f"model: expected a torch nn.Module or a netsci_dl DBN, got {type(model).__name__}"
        )
    r = _ModuleRunner(model, layers, device, pool, dft_size, shape, Xt[:1])
    if r.tokens and not Xt.is_floating_point():
        check_token_ids(model, Xt)
    elif mask is not None:
        raise InputError(
            f"attention_mask is for token ids of a text model; {type(model).__name__} has no "
            f"nn.Embedding or X holds {Xt.dtype} values"
        )
    if mask is not None and not r.takes_mask:
        log.warning(
            "%s.forward takes no attention_mask: the mask is used for pooling only",
            type(model).__name__,
        )
    r.attention_mask = mask
    k = min(2, Xt.shape[0])
    try:
        r.start(Xt[:k], None if mask is None else mask[:k])
        yield r
    finally:
        r.__exit__(None, None, None)
