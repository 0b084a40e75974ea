"""MLPs and CNNs in torch layout: ``nn.Sequential``, any ``nn.Module``, or a state_dict.

torch stores a Linear weight as ``(out, in)``; a graph block is ``(in, out)``. The transpose
happens here, once. Convolutions become channel graphs (:mod:`netsci_dl.export.conv`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.export._build import Connection, ExportPlan, TensorInfo, select, square_image_shape
from netsci_dl.export.conv import conv_block, flatten_block

__all__ = ["plan_from_state_dict", "plan_from_module", "plan_from_matrices"]


def _info(name: str, arr: np.ndarray, role: str, reason: str = "") -> TensorInfo:
    return TensorInfo(name, tuple(int(s) for s in arr.shape), str(arr.dtype), role, reason)


def _chain(
    items: Sequence[tuple[str, np.ndarray, np.ndarray | None, int | None]],
    *,
    conv_reduce: str,
    source: str,
) -> tuple[list[Connection], str]:
    """Connections from ``(name, weight, bias, groups)`` in torch layout, in order.

    Returns the connections and the model kind (``"mlp"`` or ``"cnn"``).
    """
    conns: list[Connection] = []
    channels: int | None = None  # channels of the last conv output, if the last layer was a conv
    has_conv = False
    for name, w, b, groups in items:
        if w.ndim == 2:
            if channels is not None:
                block = flatten_block(w, channels, conv_reduce)
                k = w.shape[1] // channels
                note = f"flatten: {conv_reduce} over {k} features per channel" if k > 1 else ""
            else:
                block = w.T
                note = ""
            conns.append(Connection(name, "linear", block, b, note, tuple(w.shape)))
            channels = None
        else:
            has_conv = True
            if conns and channels is None:
                raise InputError(
                    f"{source}: convolution {name!r} follows the Linear layer "
                    f"{conns[-1].name!r}; such a chain cannot be exported as one graph"
                )
            if groups is not None:
                n_in = w.shape[1] * groups
            else:
                n_in = channels if channels is not None else w.shape[1]
            kernel = "x".join(map(str, w.shape[2:]))
            block = conv_block(w, n_in, conv_reduce)
            note = f"{conv_reduce} of each {kernel} kernel"
            if n_in != w.shape[1]:
                note += f", {n_in // w.shape[1]} groups"
            conns.append(Connection(name, "conv", block, b, note, tuple(w.shape)))
            channels = w.shape[0]
    return conns, "cnn" if has_conv else "mlp"


def plan_from_state_dict(
    tensors: Mapping[str, np.ndarray],
    *,
    source: str,
    layers: str | Sequence[str] | None = None,
    conv_reduce: str = "l2",
    layout: str = "out_in",
    image_shape: tuple[int, ...] | None = None,
) -> ExportPlan:
    """Plan the export of named tensors: ``X.weight`` (+ ``X.bias``) per layer, file order.

    Parameters
    ----------
    tensors : mapping of str to ndarray
        A state_dict as numpy arrays.
    source : str
        Where they came from (for messages and ``meta``).
    layers : regex str or list of str, optional
        Which layers (names without ``.weight``) to export; default all 2-D/4-D weights.
    conv_reduce : str
        Kernel reduction for convolutions (:mod:`netsci_dl.export.conv`).
    layout : {"out_in", "in_out"}
        ``out_in``: torch layout (rows = outputs). ``in_out``: matrices already ``(n_in, n_out)``
        (raw matrices; 4-D tensors are not allowed there).
    image_shape : tuple, optional
        Shape of the input images (for receptive fields); inferred for square inputs.
    """
    if layout not in ("out_in", "in_out"):
        raise InputError(f"layout must be 'out_in' or 'in_out', got {layout!r}")
    names = list(tensors)
    weights: dict[str, str] = {}  # base name -> tensor key
    infos: dict[str, TensorInfo] = {}
    torch_named = any(k.endswith(".weight") for k in names)
    for k in names:
        arr = tensors[k]
        base = k[: -len(".weight")] if k.endswith(".weight") else k
        # torch names weights X.weight; files of raw matrices (W0, W1, ...) have no such suffix
        is_weight_key = k.endswith(".weight") or (
            (layout == "in_out" or not torch_named) and not k.endswith(".bias")
        )
        if not is_weight_key:
            continue
        if arr.ndim in (2, 4) and arr.dtype.kind in "fiu" and min(arr.shape) > 0:
            if layout == "in_out" and arr.ndim == 4:
                infos[k] = _info(k, arr, "skipped", "4-D array needs layout='out_in' (torch conv)")
                continue
            weights[base] = k
        elif arr.ndim == 1:
            infos[k] = _info(
                k, arr, "skipped", "1-D weight (a normalisation layer), not a connection"
            )
        elif arr.ndim in (3, 5):
            infos[k] = _info(
                k, arr, "skipped", f"{arr.ndim - 2}-D convolution: not supported (only 2-D)"
            )
        else:
            infos[k] = _info(k, arr, "skipped", f"{arr.ndim}-D tensor is not a weight matrix")
    if layers is not None and not isinstance(layers, str):
        bad = [x for x in layers if str(x) not in weights]
        explicit_bad = [x for x in bad if f"{x}.weight" in tensors or x in tensors]
        if explicit_bad:
            shapes = {
                x: tuple(tensors.get(f"{x}.weight", tensors.get(x)).shape) for x in explicit_bad
            }
            raise InputError(f"selected layers {shapes} are not 2-D or 4-D weights")
    chosen = select(list(weights), layers)
    if not chosen:
        raise InputError(
            f"{source}: the selection layers={layers!r} matches no weight; available: "
            f"{list(weights) or 'none'}"
        )
    items = []
    for base, key in weights.items():
        arr = tensors[key]
        if base not in chosen:
            infos[key] = _info(key, arr, "skipped", f"not selected by layers={layers!r}")
            continue
        bias_key = f"{base}.bias"
        bias = tensors.get(bias_key)
        if bias is not None and (
            bias.ndim != 1
            or bias.shape[0] != (arr.shape[0] if layout == "out_in" else arr.shape[1])
        ):
            infos[bias_key] = _info(
                bias_key, bias, "skipped", "bias shape does not match its weight"
            )
            bias = None
        elif bias is not None:
            infos[bias_key] = _info(bias_key, bias, "bias")
        infos[key] = _info(key, arr, "conv" if arr.ndim == 4 else "linear")
        w = arr if layout == "out_in" else arr.T
        items.append((base, w, bias, None))
    for k in names:
        if k not in infos:
            arr = tensors[k]
            reason = (
                "bias of a layer not exported"
                if k.endswith(".bias")
                else "not a weight (no '.weight' suffix)"
            )
            infos[k] = _info(k, arr, "skipped", reason)
    conns, kind = _chain(items, conv_reduce=conv_reduce, source=source)
    meta: dict[str, Any] = {}
    shape = tuple(image_shape) if image_shape else None
    if shape is None and kind == "mlp":
        shape = square_image_shape(conns[0].n_in)
        if shape:
            meta["image_shape_inferred"] = True
    if shape:
        meta["image_shape"] = list(shape)
    meta["directed"] = True
    if kind == "cnn":
        meta["conv_reduce"] = conv_reduce
    return ExportPlan(
        source=source,
        model_kind=kind,
        layout=layout,
        tensors=tuple(infos[k] for k in names),
        connections=tuple(conns),
        meta=meta,
    )


def plan_from_module(
    module: Any,
    *,
    layers: str | Sequence[str] | None = None,
    conv_reduce: str = "l2",
    image_shape: tuple[int, ...] | None = None,
) -> ExportPlan:
    """Plan the export of an ``nn.Module`` whose Linear/Conv2d layers form a chain.

    The layers are taken in registration order (``named_modules()``); a module whose data flow
    is not that chain (skip connections, branches) fails the shape check: select a chain with
    ``layers=``.
    """
    import torch.nn as nn

    tensors: dict[str, np.ndarray] = {}
    groups: dict[str, int] = {}
    for name, m in module.named_modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            base = name or type(m).__name__.lower()
            tensors[f"{base}.weight"] = m.weight.detach().cpu().float().numpy()
            if m.bias is not None:
                tensors[f"{base}.bias"] = m.bias.detach().cpu().float().numpy()
            if isinstance(m, nn.Conv2d):
                groups[base] = int(m.groups)
    if not tensors:
        raise InputError(f"{type(module).__name__}: no nn.Linear or nn.Conv2d layers found")
    plan = plan_from_state_dict(
        tensors,
        source=f"<{type(module).__name__}>",
        layers=layers,
        conv_reduce=conv_reduce,
        image_shape=image_shape,
    )
    if not groups or all(g == 1 for g in groups.values()):
        return plan
    # rebuild the chain with the module's own groups (a state_dict has to infer them)
    items = [
        (c.name, tensors[f"{c.name}.weight"], c.bias, groups.get(c.name)) for c in plan.connections
    ]
    conns, _ = _chain(items, conv_reduce=conv_reduce, source=plan.source)
    return ExportPlan(
        plan.source, plan.model_kind, plan.layout, plan.tensors, tuple(conns), meta=plan.meta
    )


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
    """Plan the export of raw weight matrices, ``(n_l, n_{l+1})`` each unless ``layout='out_in'``."""
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
    conns, infos = [], []
    for i, (n, m) in enumerate(zip(names, mats)):
        if m.ndim != 2:
            raise InputError(f"matrix {n!r} has shape {m.shape}: weight matrices must be 2-D")
        block = m if layout == "in_out" else m.T
        b = None if biases is None or biases[i] is None else np.asarray(biases[i]).reshape(-1)
        if b is not None and b.shape[0] != block.shape[1]:
            raise InputError(
                f"bias {i} has {b.shape[0]} entries, but {n!r} has {block.shape[1]} outputs"
            )
        conns.append(
            Connection(
                n, "matrix" if model_kind == "matrices" else "rbm", block, b, "", tuple(m.shape)
            )
        )
        infos.append(TensorInfo(n, tuple(m.shape), str(m.dtype), conns[-1].kind))
    ib = None if input_bias is None else np.asarray(input_bias).reshape(-1)
    if ib is not None and ib.shape[0] != conns[0].n_in:
        raise InputError(
            f"input bias has {ib.shape[0]} entries, but the input layer has {conns[0].n_in} units"
        )
    meta: dict[str, Any] = {"directed": directed}
    shape = tuple(image_shape) if image_shape else square_image_shape(conns[0].n_in)
    if shape:
        meta["image_shape"] = list(shape)
        if not image_shape:
            meta["image_shape_inferred"] = True
    return ExportPlan(
        source=source,
        model_kind=model_kind,
        layout=layout,
        tensors=tuple(infos),
        connections=tuple(conns),
        input_name="visible" if model_kind in ("rbm", "dbn") else "input",
        input_bias=ib,
        meta=meta,
    )
