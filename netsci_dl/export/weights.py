"""The raw weight tensors of a checkpoint: every matrix and convolution kernel, as stored.

For analyses of the weights themselves (their spectra: :func:`netsci_dl.analysis.layer_spectra`)
rather than of the graph they make: no chain is built, nothing is reduced, and matrices that
make no edges of a feed-forward graph (embeddings, attention projections, recurrent gates) are
kept, since they are weight matrices all the same.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.export._build import select
from netsci_dl.export.checkpoint import (
    Checkpoint,
    netsci_metadata,
    read_checkpoint,
    tensors_from_mapping,
)
from netsci_dl.export.dense import natural_key
from netsci_dl.export.hf import is_hf_folder, read_folder_tensors
from netsci_dl.export.lazy import is_lazy_source, open_lazy

__all__ = ["weight_tensors"]

log = logging.getLogger(__name__)

_NOT_WEIGHTS = ("bias", "running_mean", "running_var", "num_batches_tracked")


def _kept(name: str, arr: np.ndarray, torch_named: bool, conv_ok: bool) -> str:
    """Why ``name`` is left out ('' when it is a weight matrix or a kernel)."""
    suffix = name.rpartition(".")[2]
    if torch_named and not (suffix == "weight" or name.endswith("_weight")):
        return "not a weight (no '.weight' suffix)"
    if suffix in _NOT_WEIGHTS:
        return "a bias or a normalisation statistic"
    if arr.dtype.kind != "f":
        return f"dtype {arr.dtype} is not a float type"
    if arr.ndim < 2 or min(arr.shape) == 0:
        return f"{arr.ndim}-D: a scale, a bias or an empty tensor, not a matrix"
    if arr.ndim > 5:
        return f"{arr.ndim}-D tensor is not a weight matrix or a kernel"
    if arr.ndim > 2 and not conv_ok:
        return f"{arr.ndim}-D array needs layout='out_in' (a torch kernel: out, in, k...)"
    return ""


def _file_order(ckpt: Checkpoint) -> list[str]:
    """The tensors' names in the file's order; a safetensors file sorts its keys, so there:
    the order netsci_dl stored, else the natural order of the names (``fc2`` before ``fc10``)."""
    names = list(ckpt.tensors)
    if ckpt.format != "safetensors":
        return names
    order = netsci_metadata(ckpt).get("order")
    return (
        list(order)
        if isinstance(order, list) and sorted(order) == sorted(names)
        else sorted(names, key=natural_key)
    )


def weight_tensors(
    source: str | os.PathLike | Checkpoint | Mapping[str, Any],
    *,
    layers: str | Sequence[str] | None = None,
    layout: str = "auto",
    state_dict_key: str | None = None,
) -> dict[str, np.ndarray]:
    """The weight matrices and convolution kernels of a checkpoint, as stored, in file order.

    Parameters
    ----------
    source : path, Checkpoint or mapping
        A checkpoint file (read by :func:`read_checkpoint`, no code executed), a local Hugging
        Face folder (its ``model.safetensors``, shards or ``pytorch_model.bin``), a
        :class:`Checkpoint`, or a state_dict-like mapping of arrays or tensors. Safetensors
        (a file, a ``model.safetensors.index.json`` and its shards, or a folder holding
        either) are opened lazily (:func:`netsci_dl.export.lazy.open_lazy`): only the headers
        are read here, and every value is a ``LazyTensor`` that ``numpy.asarray`` reads (one
        at a time, from a memory map; bf16/f16 decoded only then).
    layers : regex str or list of str, optional
        Which tensors, by name without ``.weight`` (as :func:`netsci_dl.load` names layers).
    layout : {"auto", "out_in", "in_out"}
        Where kernels are taken from: ``out_in`` (torch: ``(out, in, k...)``) keeps 3-D to 5-D
        tensors; ``in_out`` (raw matrices) keeps 2-D ones only. ``auto``: ``out_in`` for
        torch and safetensors files and for names ending in ``.weight``.
    state_dict_key : str, optional
        For a dict checkpoint: the key holding the weights.

    Returns
    -------
    dict of str to ndarray
        Name (``.weight`` dropped) -> the array as stored (a ``LazyTensor`` for safetensors:
        ``np.asarray`` reads it), in file order (a safetensors file
        not written by netsci_dl keeps none: natural order of the names): 2-D matrices in their
        file orientation, kernels ``(out, in, k...)``. Biases, normalisation scales and statistics,
        integer tensors and scalars are left out (logged at debug level).

    Raises
    ------
    InputError
        No weight tensor, or a selection that matches none.

    Examples
    --------
    >>> import numpy as np
    >>> sd = {"fc.weight": np.ones((3, 4), np.float32), "fc.bias": np.zeros(3, np.float32)}
    >>> {k: v.shape for k, v in weight_tensors(sd).items()}
    {'fc': (3, 4)}
    """
    if layout not in ("auto", "out_in", "in_out"):
        raise InputError(f"layout must be one of ('auto', 'out_in', 'in_out'), got {layout!r}")
    if isinstance(source, Checkpoint):
        ckpt = source
    elif isinstance(source, Mapping):
        tensors, nested = tensors_from_mapping(source, key=state_dict_key)
        ckpt = Checkpoint(tensors, "<mapping>", "mapping", nested_key=nested)
    elif is_lazy_source(source):  # safetensors (a file, an index, a folder): headers only
        tensors, meta, files = open_lazy(source)
        ckpt = Checkpoint(tensors, str(source), "safetensors", meta if len(files) == 1 else {})
    elif is_hf_folder(source):  # a Hugging Face folder: its weight file or shards
        tensors, files = read_folder_tensors(source)
        ckpt = Checkpoint(tensors, str(source), "hf", {"files": files})
    else:
        ckpt = read_checkpoint(source, key=state_dict_key)
    torch_named = any(k.endswith(".weight") for k in ckpt.tensors)
    if layout == "auto":
        layout = "out_in" if ckpt.format in ("torch", "safetensors") or torch_named else "in_out"
    found: dict[str, np.ndarray] = {}
    for name in _file_order(ckpt):
        arr = ckpt.tensors[name]
        why = _kept(name, arr, torch_named, layout == "out_in")
        if why:
            log.debug("%s: left out: %s", name, why)
            continue
        found[name[: -len(".weight")] if name.endswith(".weight") else name] = arr
    if not found:
        raise InputError(f"{ckpt.source}: holds no weight matrix or convolution kernel")
    chosen = select(list(found), layers)
    if not chosen:
        raise InputError(f"{ckpt.source}: layers={layers!r} matches none of {list(found)}")
    return {k: v for k, v in found.items() if k in chosen}
