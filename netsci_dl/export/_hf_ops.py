"""The modules of transformers models that the recorder takes whole, as one op each.

transformers writes some layers in plain torch functions whose op-by-op record says less than
the module does: GPT-2's ``Conv1D`` (``addmm`` with an ``(in, out)`` weight), the RMSNorm of
Llama-family models (a mean over the units), the attention modules (their Q, K, V projections,
rotary embeddings on Q and K, the split of one fused projection) and the patch embedding of
vision transformers (a convolution whose map is flattened into tokens). Each is recognised by
its structure (its class name and the layers it holds, never by importing transformers) and
mapped onto the ops of :mod:`netsci_dl.export._ops`:

- ``Conv1D``: a ``linear`` op with the weight transposed to torch's ``(out, in)``.
- ``*RMSNorm``: a normalisation over the units, like LayerNorm (keeps the group).
- attention with ``q_proj``/``k_proj``/``v_proj``/``o_proj`` (Llama, Mistral, Qwen2, ...) or
  GPT-2's fused ``c_attn``/``c_proj``: an ``mha`` op (Q, K, V and output projections as weight
  blocks, V through the mixed group to the output projection; Q and K, rotated or not, end in
  the scores). Grouped-query attention (fewer K/V heads than Q heads): each value unit joins
  the mixed units of the query heads that share it (a 0/1 ``identity`` block).
- ``*PatchEmbeddings`` with a convolution ``projection``: a ``conv`` op whose output is tokens.
- the activation classes of ``transformers.activations`` (GPT-2's ``NewGELUActivation`` is a
  polynomial in ``x`` and ``tanh``): an activation, which keeps the group.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.export._ops import Op

__all__ = ["is_whole_module", "hf_module_op"]

_RMS = re.compile(r"(RMSNorm|T5LayerNorm)$")


def _kind(m: Any) -> str | None:
    import torch.nn as nn

    if not isinstance(m, nn.Module):
        return None
    name = type(m).__name__
    w = getattr(m, "weight", None)
    if name == "Conv1D" and isinstance(w, nn.Parameter) and w.ndim == 2 and hasattr(m, "nf"):
        return "conv1d"
    if _RMS.search(name) and isinstance(w, nn.Parameter) and w.ndim == 1:
        return "rmsnorm"
    if all(isinstance(getattr(m, a, None), nn.Linear) for a in ("q_proj", "k_proj", "v_proj")):
        if isinstance(getattr(m, "o_proj", None), nn.Linear):
            return "qkvo"
    if _kind(getattr(m, "c_attn", None)) == "conv1d" and _kind(getattr(m, "c_proj", None)):
        return "gpt2_attention"
    if type(m).__module__ == "transformers.activations" and not any(True for _ in m.parameters()):
        return "activation"
    if name.endswith("PatchEmbeddings") and isinstance(
        getattr(m, "projection", None), nn.modules.conv._ConvNd
    ):
        return "patches"
    return None


def is_whole_module(m: Any) -> bool:
    """Whether the recorder takes module ``m`` whole (one of the layers above)."""
    return _kind(m) is not None


def _p(t: Any, name: str) -> np.ndarray | None:
    from netsci_dl.export._op_map import param_array

    return None if t is None else param_array(t, name)


def hf_module_op(m: Any, name: str, ins: tuple[int, ...]) -> Op | None:
    """The op of a call to one of the modules above, or None for any other module."""
    kind = _kind(m)
    if kind is None:
        return None
    return _HANDLERS[kind](m, name, ins)


def _conv1d(m: Any, name: str, ins: tuple[int, ...]) -> Op:
    p = {"weight": _p(m.weight, f"{name}.weight").T}
    n = {"weight": f"{name}.weight"}
    if m.bias is not None:
        p["bias"], n["bias"] = _p(m.bias, f"{name}.bias"), f"{name}.bias"
    return Op("linear", ins[:1], name, p, n, {"transposed_weight": True})


def _rmsnorm(m: Any, name: str, ins: tuple[int, ...]) -> Op:
    reason = (
        f"{type(m).__name__}: normalises over the units (data-dependent); keeps the group, its "
        "per-unit scale is not an edge"
    )
    p, n = {"weight": _p(m.weight, f"{name}.weight")}, {"weight": f"{name}.weight"}
    return Op("pass", ins[:1], name, p, n, {"norm": True, "param_reason": reason})


def _qkvo(m: Any, name: str, ins: tuple[int, ...]) -> Op:
    q, k, v, o = m.q_proj, m.k_proj, m.v_proj, m.o_proj
    if k.out_features != v.out_features:
        raise InputError(f"{name}: keys ({k.out_features}) and values ({v.out_features}) differ")
    p: dict[str, Any] = {}
    n: dict[str, str] = {}
    for tag, lin in (("q", q), ("k", k), ("v", v), ("out", o)):
        role = "out_proj." if tag == "out" else f"{tag}_proj_"
        full = f"{name}.{'o' if tag == 'out' else tag}_proj"
        p[f"{role}weight"], n[f"{role}weight"] = _p(lin.weight, f"{full}.weight"), f"{full}.weight"
        if lin.bias is not None:
            role_b = "out_proj.bias" if tag == "out" else f"{tag}_bias"
            p[role_b], n[role_b] = _p(lin.bias, f"{full}.bias"), f"{full}.bias"
    biases = [lin.bias is not None for lin in (q, k, v)]
    if any(biases) and not all(biases):
        raise InputError(f"{name}: biases on some of q_proj, k_proj, v_proj only")
    attrs = {"embed_dim": int(q.out_features)}
    hd = getattr(m, "head_dim", None)
    if isinstance(hd, int) and hd > 0:
        attrs["head_dim"] = hd
    return Op("mha", ins[:1] * 3, name, p, n, attrs)


def _gpt2_attention(m: Any, name: str, ins: tuple[int, ...]) -> Op:
    if getattr(m, "is_cross_attention", False):
        raise InputError(f"{name}: cross-attention (queries from another sequence) not supported")
    W = _p(m.c_attn.weight, f"{name}.c_attn.weight").T  # (3d, d)
    Wo = _p(m.c_proj.weight, f"{name}.c_proj.weight").T
    if W.shape[0] != 3 * W.shape[1]:
        raise InputError(f"{name}: c_attn of shape {W.shape[::-1]} is not a fused Q, K, V")
    p: dict[str, Any] = {"in_proj_weight": W, "out_proj.weight": Wo}
    n = {"in_proj_weight": f"{name}.c_attn.weight", "out_proj.weight": f"{name}.c_proj.weight"}
    if m.c_attn.bias is not None:
        p["in_proj_bias"], n["in_proj_bias"] = (
            _p(m.c_attn.bias, f"{name}.c_attn.bias"),
            (f"{name}.c_attn.bias"),
        )
    if m.c_proj.bias is not None:
        p["out_proj.bias"], n["out_proj.bias"] = (
            _p(m.c_proj.bias, f"{name}.c_proj.bias"),
            (f"{name}.c_proj.bias"),
        )
    return Op("mha", ins[:1] * 3, name, p, n, {"embed_dim": int(W.shape[1])})


def _patches(m: Any, name: str, ins: tuple[int, ...]) -> Op:
    conv = m.projection
    full = f"{name}.projection"
    p = {"weight": _p(conv.weight, f"{full}.weight")}
    n = {"weight": f"{full}.weight"}
    if conv.bias is not None:
        p["bias"], n["bias"] = _p(conv.bias, f"{full}.bias"), f"{full}.bias"
    return Op("conv", ins[:1], full, p, n, {"groups": int(conv.groups), "layout": "tokens"})


def _activation(m: Any, name: str, ins: tuple[int, ...]) -> Op:
    low = type(m).__name__.lower()
    act = next(
        (a for key, a in _ACT_NAMES if key in low),
        low.removesuffix("activation") or None,
    )
    return Op("pass", ins[:1], name, attrs={"activation": act})


#: transformers' activation classes (elementwise, written in torch functions) by name
_ACT_NAMES = (
    ("gelu", "gelu"),
    ("silu", "silu"),
    ("swish", "silu"),
    ("mish", "silu"),
    ("relu", "relu"),
    ("sigmoid", "sigmoid"),
    ("tanh", "tanh"),
    ("linear", "identity"),
)

_HANDLERS = {
    "activation": _activation,
    "conv1d": _conv1d,
    "rmsnorm": _rmsnorm,
    "qkvo": _qkvo,
    "gpt2_attention": _gpt2_attention,
    "patches": _patches,
}
