"""Named tensors without a model (a state_dict, a checkpoint file) and raw matrices -> plan.

A state_dict does not record the data flow, so a chain is inferred only when it is unambiguous:

- **Order.** The tensors are taken in the file's own order: torch files, ``.npz`` files and
  in-memory mappings keep insertion order; a safetensors file written by netsci_dl records its
  order in its metadata; any other safetensors file is read in the natural order of its dotted
  names (``layer.10`` follows ``layer.9``). When the names differ by words rather than numbers
  (``input``, ``hidden``, ``output``), that order is not evidence: the chain is then the unique
  one the shapes allow, or the export is refused.
- **Shapes.** Every weight must take the outputs of the one before it (a Linear after a
  convolution takes ``k`` features per channel: the flatten). A convolution whose input channels
  do not match is refused: a state_dict cannot tell a grouped convolution from a branch.
- **Flatten order.** A Linear layer after a convolution with ``k > 1`` features per channel
  is aggregated per channel, and which features belong to which channel depends on how the
  model flattens (torch's ``flatten`` of ``(C, H, W)`` is channel-major; a model that permutes
  to channels-last first is not). A state_dict does not record it, so by default that export is
  refused; ``flatten_order="chw"`` (channel-major) or ``"hwc"`` (channels last, any order of the
  spatial axes) states it, and ``flatten_order="assume-chw"`` exports channel-major and lists
  the block in ``meta["assumptions"]``. Files written by netsci_dl's own classifiers state it.
- **Branches.** Names that mark parallel branches (``shortcut``, ``downsample``, ``skip``,
  attention's ``query``/``key``/``value`` or ``q_proj``/``k_proj``/``v_proj``, ``in_proj``) and
  several heads reading one trunk make the export refuse, naming them: pass the model
  (``netsci_dl.load(model, example_input=x)``, CLI ``--model``), which is traced.

Conventions: torch names a layer's weight ``X.weight`` (``(out, in)`` for Linear, ``(out,
in / groups, *kernel)`` for convolutions) and its bias ``X.bias``; files of raw matrices
(``W0``, ``W1``...) hold ``(n_in, n_out)`` blocks (``layout="in_out"``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.export._build import (
    ExportPlan,
    TensorInfo,
    chain_plan,
    select,
    square_image_shape,
)
from netsci_dl.export._tensor_roles import other_roles, tensor_info, weight_roles
from netsci_dl.export.conv import conv_block, flatten_block, kernel_note

__all__ = [
    "plan_from_state_dict",
    "plan_from_matrices",
    "natural_key",
    "BRANCH_HINT",
    "FLATTEN_ORDERS",
    "check_flatten_order",
]

#: how a bare state_dict's conv -> linear flatten is read (``None``: refused when it matters)
FLATTEN_ORDERS = ("chw", "hwc", "assume-chw")


def check_flatten_order(value: str | None) -> str | None:
    """``value`` when it is one of :data:`FLATTEN_ORDERS` (or None), else InputError."""
    if value is not None and value not in FLATTEN_ORDERS:
        raise InputError(
            f"flatten_order={value!r} is not one of {', '.join(FLATTEN_ORDERS)}: 'chw' is "
            "torch's flatten of (channels, *space), 'hwc' a flatten after moving the channels "
            "last, 'assume-chw' exports channel-major and records the assumption"
        )
    return value


#: dotted-name components that mark a parallel branch
BRANCH_HINT = re.compile(
    r"(^|[._])(shortcut|downsample|down_sample|skip|residual|identity|proj_shortcut|"
    r"query|key|value|q_proj|k_proj|v_proj|qkv|in_proj|to_q|to_k|to_v|q|k|v)([._]|$)",
    re.IGNORECASE,
)
#: dotted-name components of an attention layer's tensors (the model kind "transformer")
ATTENTION_HINT = re.compile(
    r"(^|[._])(query|key|value|q_proj|k_proj|v_proj|qkv|in_proj_weight|c_attn|self_attn|attn|"
    r"attention|self_attention)([._]|$)",
    re.IGNORECASE,
)


def natural_key(name: str) -> tuple:
    """Sort key: dotted components, digits compared as numbers (``layer.10`` after ``layer.9``).

    Examples
    --------
    >>> sorted(["l.10.w", "l.9.w", "l.1.w"], key=natural_key)
    ['l.1.w', 'l.9.w', 'l.10.w']
    """
    out = []
    for comp in name.split("."):
        out.append(
            tuple(
                (0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", comp) if t
            )
        )
    return tuple(out)


def _numbered_siblings(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` first differ in a component that differs only in its numbers."""
    for x, y in zip(a.split("."), b.split(".")):
        if x != y:
            return re.sub(r"\d+", "#", x) == re.sub(r"\d+", "#", y)
    return True


class _Layer:
    """A weight tensor read as one layer, torch layout ``(out, in, *kernel)``."""

    def __init__(
        self, base: str, key: str, w: np.ndarray, bias: np.ndarray | None, groups: int = 1
    ) -> None:
        self.base, self.key, self.w, self.bias, self.groups = base, key, w, bias, groups

    @property
    def conv(self) -> bool:
        return self.w.ndim >= 3

    @property
    def n_out(self) -> int:
        return int(self.w.shape[0])

    @property
    def n_in(self) -> int:
        return int(self.w.shape[1]) * (self.groups if self.conv else 1)


def _fits(prev: _Layer | None, nxt: _Layer) -> bool:
    if prev is None:
        return True
    if nxt.conv:
        return prev.conv and nxt.n_in == prev.n_out
    if prev.conv:
        return nxt.n_in % prev.n_out == 0
    return nxt.n_in == prev.n_out


def _shape_chain(layers: list[_Layer], max_steps: int = 200_000) -> list[_Layer] | None:
    """The chain the shapes force, when exactly one ordering of ``layers`` chains; else None.

    A depth-first search over orderings that chain (a convolution never follows a Linear
    layer), stopping at the second one found, or after ``max_steps`` (then: not unique).
    """
    found: list[list[_Layer]] = []
    steps = 0

    def dfs(chain: list[_Layer], left: list[_Layer]) -> None:
        nonlocal steps
        steps += 1
        if steps > max_steps or len(found) > 1:
            return
        if not left:
            found.append(list(chain))
            return
        prev = chain[-1] if chain else None
        if prev is not None and not prev.conv and any(x.conv for x in left):
            return  # a convolution would have to follow a Linear layer
        for i, x in enumerate(left):
            if _fits(prev, x):
                chain.append(x)
                dfs(chain, left[:i] + left[i + 1 :])
                chain.pop()

    dfs([], list(layers))
    return found[0] if len(found) == 1 and steps <= max_steps else None


def _why_broken(chain: list[_Layer], at: int, hints: list[str]) -> str:
    cur, prev = chain[at], chain[at - 1]
    unit = "channels" if prev.conv else "units"
    msg = (
        f"broken shape chain at {cur.base!r}: it takes {cur.n_in} inputs but {prev.base!r} "
        f"outputs {prev.n_out} {unit}"
    )
    if cur.conv and prev.conv and prev.n_out % cur.n_in == 0:
        msg += (
            f" (a grouped convolution with {prev.n_out // cur.n_in} groups, or a branch: a "
            "state_dict cannot tell which)"
        )
    if cur.conv and not prev.conv:
        msg = f"broken shape chain: convolution {cur.base!r} follows the Linear layer {prev.base!r}"
    earlier = [c.base for c in chain[: at - 1] if c.n_out == cur.n_in]
    if earlier:
        msg += f"; it can read the output of {earlier[-1]!r}, like {prev.base!r}: parallel heads on one trunk?"
    if BRANCH_HINT.search(cur.base):
        msg += f"; {cur.base!r} looks like a parallel branch"
    if hints:
        msg += f"; branch-like names: {', '.join(hints[:6])}"
    return msg


_FIX = (
    "pass the model so its forward pass is traced: netsci_dl.load(model, example_input=x), or "
    "on the command line --model pkg.module:ClassName --input-shape 1,3,32,32; or select a chain "
    "with layers=..."
)


def plan_from_state_dict(
    tensors: Mapping[str, np.ndarray],
    *,
    source: str,
    layers: str | Sequence[str] | None = None,
    conv_reduce: str = "l2",
    layout: str = "out_in",
    image_shape: tuple[int, ...] | None = None,
    order: str = "file",
    groups: Mapping[str, int] | None = None,
    flatten_order: str | None = None,
) -> ExportPlan:
    """Plan the export of named tensors (see the module docstring for the rules).

    Parameters
    ----------
    tensors : mapping of str to ndarray
        A state_dict as numpy arrays.
    source : str
        Where they came from (for messages and ``meta``).
    layers : regex str or list of str, optional
        Which layers (names without ``.weight``) to export; default all 2-D and conv weights.
        The selection must itself be a chain.
    conv_reduce : str
        Kernel reduction for convolutions (:mod:`netsci_dl.export.conv`).
    layout : {"out_in", "in_out"}
        ``out_in``: torch layout (rows = outputs). ``in_out``: matrices already ``(n_in,
        n_out)`` (raw matrices; no convolutions there).
    image_shape : tuple, optional
        Shape of the input images (for receptive fields); inferred for square inputs.
    order : {"file", "names"}
        ``"file"``: the mapping's order is the file's own (torch, npz, netsci_dl safetensors).
        ``"names"``: the order was lost (safetensors sorts its keys): use the natural order of the
        names, or the unique chain the shapes force.
    groups : mapping of layer name to int, optional
        The ``groups`` of convolutions when they are known (from a module); a state_dict alone
        never infers them.
    flatten_order : {None, "chw", "hwc", "assume-chw"}
        How the model flattens a feature map into a Linear layer (see the module docstring);
        None refuses a conv -> linear block with more than one feature per channel.

    Returns
    -------
    ExportPlan
        With ``refusal`` set (and nothing to build) when the chain is ambiguous.
    """
    if layout not in ("out_in", "in_out"):
        raise InputError(f"layout must be 'out_in' or 'in_out', got {layout!r}")
    check_flatten_order(flatten_order)
    names = list(tensors)
    if order == "names":
        names = sorted(names, key=natural_key)
    infos, weights = weight_roles(tensors, names, layout)
    chosen = _chosen(tensors, weights, layers, source)
    sel = _selected_layers(tensors, weights, chosen, infos, layers, layout, groups)
    other_roles(tensors, names, infos)
    ordered_infos = tuple(infos[k] for k in names)
    hints = [x.base for x in sel if BRANCH_HINT.search(x.base)]
    hints += [t.name for t in ordered_infos if "in_proj" in t.name and t.name.endswith("weight")]
    meta: dict[str, Any] = {"directed": True}
    chain, refusal = _chain(sel, hints, order, source, meta)
    kind = "cnn" if any(x.conv for x in chain) else "mlp"
    if any(ATTENTION_HINT.search(k) for k in names):
        kind = "transformer"  # attention's tensors: the model is one, whatever is selected
    if refusal is None:
        refusal = _flatten_refusal(chain, flatten_order, source)
    if refusal is not None:
        return ExportPlan(source, kind, layout, ordered_infos, meta=meta, refusal=refusal)
    built = _built_layers(chain, conv_reduce, flatten_order, meta)
    n_in = chain[0].n_in
    shape = tuple(image_shape) if image_shape else None
    if shape is None and kind == "mlp":
        shape = square_image_shape(n_in)
        if shape:
            meta["image_shape_inferred"] = True
    if shape:
        meta["image_shape"] = list(shape)
    if kind == "cnn":
        meta["conv_reduce"] = conv_reduce
    return chain_plan(
        source=source,
        model_kind=kind,
        layout=layout,
        tensors=ordered_infos,
        input_name="input",
        input_size=n_in,
        input_bias=None,
        layers=built,
        meta=meta,
    )


def _chosen(
    tensors: Mapping[str, np.ndarray],
    weights: dict[str, str],
    layers: str | Sequence[str] | None,
    source: str,
) -> set[str]:
    """The layers ``layers`` selects among ``weights``; refused when it names a tensor that is
    not a weight, or selects nothing."""
    if layers is not None and not isinstance(layers, str):
        bad = [
            x
            for x in layers
            if str(x) not in weights and (f"{x}.weight" in tensors or x in tensors)
        ]
        if bad:
            raise InputError(
                f"{source}: selected layers {bad} are not weight matrices or convolution kernels"
            )
    chosen = select(list(weights), layers)
    if not chosen:
        what = "matches no weight" if layers is not None else "holds no weight matrix"
        raise InputError(
            f"{source}: the selection layers={layers!r} {what}; available: {list(weights) or 'none'}"
            if layers is not None
            else f"{source}: {what} (no 2-D or convolution weights found)"
        )
    return chosen


def _selected_layers(
    tensors: Mapping[str, np.ndarray],
    weights: dict[str, str],
    chosen: set[str],
    infos: dict[str, TensorInfo],
    layers: str | Sequence[str] | None,
    layout: str,
    groups: Mapping[str, int] | None,
) -> list[_Layer]:
    """The chosen weights as layers (torch layout) with their biases, in order; the roles of
    their tensors, and of the weights not chosen, go into ``infos``."""
    sel: list[_Layer] = []
    for base, key in weights.items():
        arr = tensors[key]
        if base not in chosen:
            infos[key] = tensor_info(key, arr, "skipped", f"not selected by layers={layers!r}")
            continue
        w = arr if layout == "out_in" else arr.T
        bias = tensors.get(f"{base}.bias")
        bkey = f"{base}.bias"
        if bias is not None:
            if bias.ndim != 1 or bias.shape[0] != w.shape[0]:
                infos[bkey] = tensor_info(
                    bkey, bias, "skipped", "bias shape does not match its weight"
                )
                bias = None
            else:
                infos[bkey] = tensor_info(bkey, bias, "bias", f"bias of {base}")
        infos[key] = tensor_info(key, arr, "conv" if w.ndim >= 3 else "linear")
        sel.append(_Layer(base, key, w, bias, int((groups or {}).get(base, 1))))
    return sel


def _chain(
    sel: list[_Layer], hints: list[str], order: str, source: str, meta: dict[str, Any]
) -> tuple[list[_Layer], str | None]:
    """The chain of the selected layers and, when it is ambiguous or broken, the refusal; how
    the order was found goes into ``meta["order"]``."""
    refusal = None
    if hints:
        refusal = (
            f"{source}: {', '.join(hints[:6])}{' ...' if len(hints) > 6 else ''} "
            f"look{'s' if len(hints) == 1 else ''} like parallel branches (shortcuts or "
            "attention projections): a state_dict does not say where they join; " + _FIX
        )
    chain = sel
    if (
        refusal is None
        and order == "names"
        and not all(_numbered_siblings(a.key, b.key) for a, b in zip(sel, sel[1:]))
    ):
        forced = _shape_chain(sel)
        if forced is None:
            refusal = (
                f"{source}: the order of {', '.join(x.base for x in sel)} is not recorded in this "
                "safetensors file and neither their names nor their shapes fix it; "
                + _FIX
                + ", or save the weights with torch.save (which keeps the order)"
            )
        else:
            chain = forced
            meta["order"] = "the unique chain the shapes allow (the file does not record order)"
    elif order == "names":
        meta["order"] = "natural order of the names"
    if refusal is None:
        for at in range(1, len(chain)):
            if not _fits(chain[at - 1], chain[at]):
                refusal = f"{source}: {_why_broken(chain, at, hints)}; " + _FIX
                break
    return chain, refusal


def _flattens(chain: list[_Layer]) -> list[tuple[_Layer, _Layer, int]]:
    """(conv, linear, features per channel) of each flatten with more than one feature per
    channel: where the flatten order decides the block."""
    return [
        (a, b, b.n_in // a.n_out)
        for a, b in zip(chain, chain[1:])
        if a.conv and not b.conv and b.n_in // a.n_out > 1
    ]


def _flatten_refusal(chain: list[_Layer], flatten_order: str | None, source: str) -> str | None:
    found = _flattens(chain)
    if flatten_order is not None or not found:
        return None
    a, b, k = found[0]
    return (
        f"{source}: {b.base!r} reads the {a.n_out} channels of {a.base!r} flattened, {k} "
        "features each, and a state_dict does not say in which order the model flattens "
        "(torch's flatten is channel-major, a permute to channels-last first is not): pass the "
        "model (netsci_dl.load(path, model=...), CLI --model pkg.module:Class), or state the "
        "order with flatten_order='chw' or 'hwc' (CLI --flatten-order), or export it "
        "channel-major and recorded as assumed with flatten_order='assume-chw'"
    )


def _assumed(a: _Layer, b: _Layer, k: int) -> dict[str, Any]:
    return {
        "block": b.base,
        "from": a.base,
        "assumption": f"flatten_order='chw': the {k} features of each channel of {a.base!r} "
        "are contiguous (torch's flatten of (channels, *space)), not checked against the model",
        "how_to_state": "pass the model (model=..., CLI --model), or flatten_order='chw' or "
        "'hwc' (CLI --flatten-order)",
    }


def _built_layers(
    chain: list[_Layer], conv_reduce: str, flatten_order: str | None, meta: dict[str, Any]
) -> list[tuple]:
    """The layers of :func:`chain_plan`: (name, block, bias, layer type, note, shape) each; an
    assumed flatten order goes into ``meta["assumptions"]``."""
    if flatten_order == "assume-chw" and _flattens(chain):
        meta["assumptions"] = [_assumed(*f) for f in _flattens(chain)]
    if flatten_order is not None and _flattens(chain):
        meta["flatten_order"] = flatten_order
    built = []
    prev: _Layer | None = None
    for x in chain:
        if x.conv:
            block = conv_block(x.w, x.n_in, conv_reduce)
            note = kernel_note(conv_reduce, tuple(x.w.shape[2:]), x.groups)
            ltype = "conv"
        elif prev is not None and prev.conv:
            k = x.n_in // prev.n_out
            inner = 1 if flatten_order == "hwc" else k
            block = flatten_block(x.w, prev.n_out, conv_reduce, inner=inner)
            order = {"hwc": "channels last", "assume-chw": "channel-major, assumed"}.get(
                flatten_order or "", "channel-major"
            )
            note = (
                f"{conv_reduce} over the {k} features of each channel (flatten, {order})"
                if k > 1
                else "weight"
            )
            ltype = "linear"
        else:
            block, note, ltype = x.w.T, "weight", "linear"
        built.append((x.base, block, x.bias, ltype, note, tuple(x.w.shape)))
        prev = x
    return built


def plan_from_matrices(
    matrices: Sequence[Any],
    *,
    biases: Sequence[Any] | None = None,
    input_bias: Any | None = None,
    names: Sequence[str] | None = None,
    layout: str = "in_out",
    source: str = "<matrices>",
    image_shape: tuple[int, ...] | None = None,
    model_kind: str = "matrices",
    directed: bool = True,
) -> ExportPlan:
    """Plan the export of raw weight matrices, ``(n_l, n_{l+1})`` each unless ``layout='out_in'``.

    The graph built from the plan copies them (a later change to the caller's arrays does not
    reach the graph).
    """
    if layout not in ("out_in", "in_out"):
        raise InputError(f"layout must be 'out_in' or 'in_out', got {layout!r}")
    mats = [np.asarray(m) for m in matrices]
    if not mats:
        raise InputError("no matrices given")
    names = list(names) if names is not None else [f"W{i}" for i in range(len(mats))]
    if len(names) != len(mats):
        raise InputError(f"{len(mats)} matrices but {len(names)} names")
    if biases is not None and len(biases) != len(mats):
        raise InputError(f"{len(mats)} matrices but {len(biases)} biases")
    layer_type = "matrix" if model_kind == "matrices" else "rbm"
    built, infos = [], []
    for i, (n, m) in enumerate(zip(names, mats)):
        if m.ndim != 2:
            raise InputError(f"matrix {n!r} has shape {m.shape}: weight matrices must be 2-D")
        if m.dtype.kind not in "fiu":
            raise InputError(f"matrix {n!r} has dtype {m.dtype}: weights must be numbers")
        block = m if layout == "in_out" else m.T
        b = (
            None
            if biases is None or biases[i] is None
            else np.array(biases[i], copy=True).reshape(-1)
        )
        if b is not None and b.shape[0] != block.shape[1]:
            raise InputError(
                f"bias {i} has {b.shape[0]} entries, but {n!r} has {block.shape[1]} outputs"
            )
        built.append((n, block, b, layer_type, "weight", tuple(m.shape)))
        infos.append(TensorInfo(n, tuple(m.shape), str(m.dtype), layer_type))
    ib = None if input_bias is None else np.array(input_bias, copy=True).reshape(-1)
    if ib is not None and ib.shape[0] != built[0][1].shape[0]:
        raise InputError(
            f"input bias has {ib.shape[0]} entries, but the input layer has "
            f"{built[0][1].shape[0]} units"
        )
    meta: dict[str, Any] = {"directed": directed}
    shape = tuple(image_shape) if image_shape else square_image_shape(built[0][1].shape[0])
    if shape:
        meta["image_shape"] = [int(s) for s in shape]
        if not image_shape:
            meta["image_shape_inferred"] = True
    return chain_plan(
        source=source,
        model_kind=model_kind,
        layout=layout,
        tensors=infos,
        input_name="visible" if model_kind in ("rbm", "dbn") else "input",
        input_size=built[0][1].shape[0],
        input_bias=ib,
        layers=built,
        meta=meta,
    )
