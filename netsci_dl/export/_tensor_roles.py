"""What each tensor of a state_dict is (:func:`netsci_dl.export.dense.plan_from_state_dict`): a
weight to export, or a normalisation, bias or skipped tensor, with the reason."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from netsci_dl.export._build import TensorInfo

__all__ = ["tensor_info", "weight_roles", "other_roles"]

_RECURRENT = re.compile(r"(^|\.)(weight|bias)_(ih|hh|hr)_l\d+(_reverse)?$")
_EMBED = re.compile(r"(^|[._])(embed|embedding|embeddings|wte|wpe|tok_embeddings)([._]|$)", re.I)
_BN_STATS = ("running_mean", "running_var", "num_batches_tracked")


def tensor_info(name: str, arr: np.ndarray, role: str, reason: str = "") -> TensorInfo:
    return TensorInfo(name, tuple(int(s) for s in arr.shape), str(arr.dtype), role, reason)


def weight_roles(
    tensors: Mapping[str, np.ndarray], names: list[str], layout: str
) -> tuple[dict[str, TensorInfo], dict[str, str]]:
    """The weights among ``names`` (layer name -> key, in order) and the roles of the tensors
    known not to be weights (key -> :class:`TensorInfo`); biases and the tensors without a
    ``.weight`` suffix are left to :func:`other_roles`."""
    torch_named = any(k.endswith(".weight") for k in names)
    norm_bases = {k.rsplit(".", 1)[0] for k in names if k.rsplit(".", 1)[-1] in _BN_STATS}
    infos: dict[str, TensorInfo] = {}
    weights: dict[str, str] = {}  # base -> key
    for k in names:
        arr = tensors[k]
        base, _, suffix = k.rpartition(".")
        named = _named_role(k, suffix)
        if named is not None:
            infos[k] = tensor_info(k, arr, *named)
            continue
        is_weight = suffix == "weight" or (
            (layout == "in_out" or not torch_named) and suffix != "bias"
        )
        if not is_weight:
            continue
        if not base:
            base = k
        refused = _not_a_weight(arr, base, layout, norm_bases)
        if refused is None:
            weights[base] = k
        else:
            infos[k] = tensor_info(k, arr, *refused)
    return infos, weights


def _named_role(k: str, suffix: str) -> tuple[str, str] | None:
    """The role and reason of a tensor its name alone rules out as a weight matrix."""
    if _RECURRENT.search(k):
        return (
            "skipped",
            "recurrent layer (LSTM/GRU/RNN) weight: acts over "
            "time steps, not between units of a feed-forward graph",
        )
    if suffix in _BN_STATS:
        return "normalisation", "BatchNorm statistics (the layer keeps its channel group)"
    if k.endswith("in_proj_weight") or k.endswith("in_proj_bias"):
        return (
            "skipped",
            "multi-head attention projections (Q, K, V in one "
            "tensor): the data flow of attention is not in a state_dict",
        )
    return None


def _not_a_weight(
    arr: np.ndarray, base: str, layout: str, norm_bases: set[str]
) -> tuple[str, str] | None:
    """The role and reason of a ``weight`` tensor that is not a weight matrix or kernel (None
    for one that is)."""
    if arr.ndim == 1:
        reason = (
            "BatchNorm scale (a normalisation layer: keeps the channel group)"
            if base in norm_bases
            else "1-D weight: a per-unit scale (LayerNorm/GroupNorm or PReLU), keeps the units"
        )
        return "normalisation", reason
    if arr.ndim == 0 or min(arr.shape) == 0:
        return "skipped", "an empty or scalar tensor is not a weight matrix"
    if arr.dtype.kind not in "fiu":
        return "skipped", f"dtype {arr.dtype} is not a number type"
    if arr.ndim == 2 and _EMBED.search(base):
        return (
            "skipped",
            "an embedding table (a lookup, not a weight between "
            "units; the name says so: pass the model to be sure)",
        )
    if arr.ndim > 2 and layout == "in_out":
        return "skipped", f"{arr.ndim}-D array needs layout='out_in' (torch conv)"
    if arr.ndim > 5:
        return "skipped", f"{arr.ndim}-D tensor is not a weight matrix"
    return None


def other_roles(
    tensors: Mapping[str, np.ndarray], names: list[str], infos: dict[str, TensorInfo]
) -> None:
    """Give the tensors of ``names`` not in ``infos`` yet their role: the shift of a
    normalisation layer, the bias of a layer not exported, or not a weight."""
    for k in names:
        if k not in infos:
            base = k.rpartition(".")[0]
            if k.endswith(".bias"):
                reason = (
                    f"BatchNorm/LayerNorm shift of {base} (keeps the units)"
                    if f"{base}.weight" in infos and infos[f"{base}.weight"].role == "normalisation"
                    else f"bias of {base}, which is not exported"
                )
                role = "normalisation" if "shift" in reason else "skipped"
            else:
                role, reason = "skipped", "not a weight (no '.weight' suffix)"
            infos[k] = tensor_info(k, tensors[k], role, reason)
