"""Model or checkpoint -> `LayeredGraph`. The only code that knows torch layouts.

:func:`load` takes a path (``.pt``/``.pth``, ``.safetensors``, ``.npz``: a checkpoint or a saved
graph), an ``nn.Module`` (traced), a state_dict, an RBM/DBN (netsci_dl's or scikit-learn's) or a
list of raw matrices, and returns the graph. :func:`inspect` returns the :class:`ExportPlan`
behind it: the node groups and blocks, every junction and what it became, every tensor and why
it is or is not a block, and, when :func:`load` would refuse, the reason.

The rule: netsci_dl exports the connectivity the model computes, or refuses with a message that
says why and what to pass instead. It never guesses silently.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.export._build import BlockSpec, ExportPlan, GroupSpec, TensorInfo, build_graph
from netsci_dl.export.checkpoint import Checkpoint, netsci_metadata, read_checkpoint
from netsci_dl.export.conv import REDUCTIONS
from netsci_dl.export.dense import check_flatten_order, plan_from_matrices, plan_from_state_dict
from netsci_dl.export.hf import is_hf_folder, plan_from_hf_folder
from netsci_dl.export.lazy import open_lazy
from netsci_dl.export.module import build_model, load_weights, plan_from_module
from netsci_dl.export.rbm import (
    from_rbm_model,
    from_rbm_stack,
    from_sklearn_rbm,
    is_rbm_tensors,
    plan_from_rbm_tensors,
)
from netsci_dl.export.weights import weight_tensors
from netsci_dl.graph import LayeredGraph

__all__ = [
    "load",
    "inspect",
    "from_matrices",
    "from_rbm_stack",
    "from_sklearn_rbm",
    "from_rbm_model",
    "build_model",
    "weight_tensors",
    "open_lazy",
    "ExportPlan",
    "GroupSpec",
    "BlockSpec",
    "TensorInfo",
    "REDUCTIONS",
    "LAYOUTS",
]

LAYOUTS = ("auto", "out_in", "in_out")
GRAPH_SUFFIXES = (".graphml", ".graphml.gz", ".gexf", ".gexf.gz")


def _ordered(ckpt: Checkpoint) -> tuple[dict[str, np.ndarray], str]:
    """The tensors in the file's own order, and whether that order is known (``"file"``) or
    lost (``"names"``: a safetensors file not written by netsci_dl)."""
    if ckpt.format != "safetensors":
        return ckpt.tensors, "file"
    order = netsci_metadata(ckpt).get("order")
    if isinstance(order, list) and sorted(order) == sorted(ckpt.tensors):
        return {k: ckpt.tensors[k] for k in order}, "file"
    return ckpt.tensors, "names"


def _plan_checkpoint(
    ckpt: Checkpoint,
    *,
    layers: str | Sequence[str] | None,
    layout: str,
    conv_reduce: str,
    image_shape: tuple[int, ...] | None,
    flatten_order: str | None = None,
) -> tuple[ExportPlan, list[np.ndarray | None] | None]:
    extra = netsci_metadata(ckpt)
    if flatten_order is None and extra.get("model_kind") == "classifier":
        flatten_order = "chw"  # netsci_dl's own classifiers flatten with nn.Flatten
    shape = image_shape or (tuple(extra["image_shape"]) if extra.get("image_shape") else None)
    if is_rbm_tensors(ckpt.tensors) and layout in ("auto", "in_out"):
        plan, vbs = plan_from_rbm_tensors(
            ckpt.tensors, source=ckpt.source, layers=layers, image_shape=shape
        )
    else:
        if layout == "auto":
            torch_named = any(k.endswith(".weight") for k in ckpt.tensors)
            layout = (
                "out_in"
                if ckpt.format in ("torch", "safetensors", "mapping") or torch_named
                else "in_out"
            )
        tensors, order = _ordered(ckpt)
        plan = plan_from_state_dict(
            tensors,
            source=ckpt.source,
            layers=layers,
            conv_reduce=conv_reduce,
            layout=layout,
            image_shape=shape,
            order=order,
            flatten_order=flatten_order,
        )
        vbs = None
    meta = dict(plan.meta)
    meta["checkpoint_format"] = ckpt.format
    if ckpt.nested_key:
        meta["state_dict_key"] = ckpt.nested_key
    if extra:
        meta["checkpoint"] = {k: v for k, v in extra.items() if k not in ("image_shape", "order")}
    return dataclasses.replace(plan, meta=meta), vbs


def _check_options(layout: str, conv_reduce: str) -> None:
    if layout not in LAYOUTS:
        raise InputError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if conv_reduce not in REDUCTIONS:
        raise InputError(f"conv_reduce={conv_reduce!r} is not one of {', '.join(REDUCTIONS)}")


def _is_graph_file(source: Any) -> bool:
    if not isinstance(source, (str, os.PathLike)):
        return False
    name = str(source).lower()
    if name.endswith(GRAPH_SUFFIXES):
        return True
    if name.endswith(".npz") and Path(source).is_file():
        from netsci_dl.io.npz import is_graph_npz

        return is_graph_npz(source)
    return False


def _with_model(
    ckpt_source: Any, model: Any, state_dict_key: str | None, partial: bool = False
) -> tuple[Any, dict[str, Any]]:
    """``model`` (an nn.Module, or ``"pkg.module:Class"``) with the checkpoint's weights
    loaded (strictly, or ``partial``), and what the loading ignored."""
    import torch

    from netsci_dl.export.runnable import read_tensors

    if isinstance(model, str):
        model = build_model(model)
    if not isinstance(model, torch.nn.Module):
        raise InputError(
            f"model must be an nn.Module or 'pkg.module:Class', got {type(model).__name__}"
        )
    tensors, where = read_tensors(ckpt_source, state_dict_key)
    return model, load_weights(model, tensors, where=where, partial=partial)


def _plan_traced(
    source: Any,
    model: Any,
    state_dict_key: str | None,
    partial: bool,
    flatten_order: str | None,
    traced: dict[str, Any],
) -> ExportPlan | None:
    """The plan of what is traced (a checkpoint loaded into ``model``, a Hugging Face folder, an
    ``nn.Module``), or None for a checkpoint read without a model."""
    if model is not None:
        module, loading = _with_model(source, model, state_dict_key, partial)
        src = source if isinstance(source, (str, os.PathLike)) else "<state_dict>"
        plan = plan_from_module(module, **traced, flatten_order=flatten_order)
        meta = dict(plan.meta, loading=loading)
        return dataclasses.replace(plan, source=f"{src} in {type(module).__name__}", meta=meta)
    if isinstance(source, (str, os.PathLike)) and is_hf_folder(source):
        return plan_from_hf_folder(source, partial=partial, **traced)
    if partial:
        raise InputError(
            "partial loading is for a checkpoint loaded into a model: pass model=... (CLI: "
            "--model) or a Hugging Face folder"
        )
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(source, torch.nn.Module):
        return plan_from_module(source, **traced, flatten_order=flatten_order)
    return None


def _plan(
    source: Any,
    *,
    example_input: Any,
    layers: str | Sequence[str] | None,
    layout: str,
    conv_reduce: str,
    fold_batchnorm: bool,
    image_shape: tuple[int, ...] | None,
    model: Any,
    state_dict_key: str | None,
    partial: bool = False,
    flatten_order: str | None = None,
) -> tuple[ExportPlan, list[np.ndarray | None] | None]:
    _check_options(layout, conv_reduce)
    check_flatten_order(flatten_order)
    traced = {
        "example_input": example_input,
        "layers": layers,
        "conv_reduce": conv_reduce,
        "fold_batchnorm": fold_batchnorm,
        "image_shape": image_shape,
    }
    plan = _plan_traced(source, model, state_dict_key, partial, flatten_order, traced)
    if plan is not None:
        return plan, None
    if fold_batchnorm:
        raise InputError("fold_batchnorm needs the model's data flow: pass the model (model=...)")
    if isinstance(source, (str, os.PathLike)):
        if _is_graph_file(source):
            raise InputError(f"{source}: is a saved graph, not a checkpoint; use netsci_dl.load")
        ckpt = read_checkpoint(source, key=state_dict_key)
        return _plan_checkpoint(
            ckpt,
            layers=layers,
            layout=layout,
            conv_reduce=conv_reduce,
            image_shape=image_shape,
            flatten_order=flatten_order,
        )
    if isinstance(source, Mapping):
        from netsci_dl.export.checkpoint import tensors_from_mapping

        tensors, nested = tensors_from_mapping(source, source="<state_dict>", key=state_dict_key)
        ckpt = Checkpoint(tensors, "<state_dict>", "mapping", {}, nested)
        return _plan_checkpoint(
            ckpt,
            layers=layers,
            layout=layout,
            conv_reduce=conv_reduce,
            image_shape=image_shape,
            flatten_order=flatten_order,
        )
    if (
        isinstance(source, (list, tuple))
        and source
        and all(hasattr(m, "shape") and len(m.shape) == 2 for m in source)
    ):
        lay = "in_out" if layout == "auto" else layout
        mats = [m.detach().cpu().numpy() if hasattr(m, "detach") else np.asarray(m) for m in source]
        return plan_from_matrices(mats, layout=lay, image_shape=image_shape), None
    raise TypeError(
        f"cannot export a {type(source).__name__}: expected a checkpoint path, an nn.Module, a "
        "state_dict, an RBM/DBN, or a list of 2-D weight matrices"
    )


def inspect(
    source: Any,
    *,
    example_input: Any = None,
    layers: str | Sequence[str] | None = None,
    layout: str = "auto",
    conv_reduce: str = "l2",
    fold_batchnorm: bool = False,
    image_shape: tuple[int, ...] | None = None,
    model: Any = None,
    state_dict_key: str | None = None,
    partial: bool = False,
    flatten_order: str | None = None,
) -> ExportPlan:
    """What :func:`load` finds in ``source`` and what it would export, or why it would refuse.

    Parameters are those of :func:`load`. The plan runs the same validation as :func:`load`
    (chains, branches, NaN/Inf weights after the float32 cast): when :func:`load` would refuse,
    ``plan.refusal`` holds its message, and the plan still lists every tensor found. Files that
    cannot be read at all raise as in :func:`load`. Not available for a saved graph.
    """
    plan, vbs = _plan(
        source,
        example_input=example_input,
        layers=layers,
        layout=layout,
        conv_reduce=conv_reduce,
        fold_batchnorm=fold_batchnorm,
        image_shape=image_shape,
        model=model,
        state_dict_key=state_dict_key,
        partial=partial,
        flatten_order=flatten_order,
    )
    if plan.refusal is None:
        try:
            build_graph(plan)
        except InputError as e:
            plan = dataclasses.replace(plan, refusal=str(e))
    return plan


def load(
    source: Any,
    *,
    example_input: Any = None,
    layers: str | Sequence[str] | None = None,
    layout: str = "auto",
    conv_reduce: str = "l2",
    fold_batchnorm: bool = False,
    image_shape: tuple[int, ...] | None = None,
    model: Any = None,
    state_dict_key: str | None = None,
    partial: bool = False,
    flatten_order: str | None = None,
) -> LayeredGraph:
    """Export a model or checkpoint to a `LayeredGraph`: the connectivity the model computes.

    Parameters
    ----------
    source : path, nn.Module, state_dict, RBM/DBN, LayeredGraph or list of 2-D arrays
        A path may be a checkpoint (``.pt``/``.pth``/``.bin``/``.ckpt`` via
        ``torch.load(weights_only=True)``, ``.safetensors``, ``.npz``), a graph saved by
        netsci_dl (``.npz``, ``.graphml``, ``.graphml.gz``, ``.gexf``) or a Hugging Face folder
        (``config.json`` and ``model.safetensors``, sharded or not: the model is built by
        transformers from the config, its weights loaded and the model traced on a token
        example; :mod:`netsci_dl.export.hf`). Files needing arbitrary unpickling are refused. An ``nn.Module`` is traced (torch.fx, or one recorded forward
        pass on ``example_input``); a checkpoint without ``model`` is read as a chain only when
        that is unambiguous (:mod:`netsci_dl.export.dense`), and refused otherwise.
    example_input : tensor or tuple of tensors, optional
        One input the model accepts (a batch of 1). Needed for models torch.fx cannot trace;
        makes every shape exact.
    layers : regex str or list of str, optional
        The layers to export (module names, or tensor names without ``.weight``); default
        every weight layer. The selection must itself be a chain or a connected DAG.
    layout : {"auto", "out_in", "in_out"}
        Weight orientation of a checkpoint. ``auto``: torch files, state_dicts and modules are
        torch layout (``(out, in)``, transposed here); raw matrices and ``.npz`` arrays not named
        ``*.weight`` are ``(in, out)``; ``rbm.{i}.weights`` keys are RBM stacks.
    conv_reduce : {"l2", "l1", "sum", "mean", "max_abs"}
        How a convolution kernel becomes one edge weight (:mod:`netsci_dl.export.conv`).
    fold_batchnorm : bool
        Fold each BatchNorm's per-channel scale and shift into the block and the biases of the
        layer before it (needs the model). Off by default: BatchNorm keeps the channel group.
    image_shape : tuple of int, optional
        Input image shape for receptive fields; stored in ``meta["image_shape"]``.
    model : nn.Module or "pkg.module:Class", optional
        With a checkpoint ``source``: the architecture to load its weights into (strictly, or
        ``partial``) and trace.
    state_dict_key : str, optional
        The key of a dict checkpoint that holds the weights, when several candidates do.
    partial : bool
        With ``model`` (or a Hugging Face folder): load the tensors that fit and leave the
        model's other weights as they are; the missing and unexpected keys ignored are listed
        in ``meta["loading"]``. Off by default: loading is strict, except for the keys the model
        declares ignorable (non-persistent buffers such as ``position_ids``, tied weights),
        which are listed too.
    flatten_order : {None, "chw", "hwc", "assume-chw"}
        How a checkpoint without ``model`` flattens a feature map into a Linear layer:
        ``"chw"`` channel-major (torch's ``flatten`` of ``(C, H, W)``), ``"hwc"`` channels last
        (the model permutes before flattening). By default (None) a conv -> linear block with
        more than one feature per channel is refused, since a state_dict does not record the
        order; ``"assume-chw"`` exports it channel-major and lists the block in
        ``meta["assumptions"]``. A traced model uses the order it really flattens in; this
        keyword is then ignored.

    Returns
    -------
    LayeredGraph
        Float32 blocks ``(n_src, n_dst)`` (dense, or csr where only some pairs are joined),
        their groups and kinds; biases as node attributes ``bias`` and ``has_bias``; the
        junctions and what each became in ``meta["junctions"]``, the activation after each
        group in ``meta["activations"]``.

    Notes
    -----
    How a traced model becomes a graph (see :mod:`netsci_dl.export._dataflow`): a weight layer
    makes a group of its outputs (per channel for convolutions); activations, normalisations,
    dropout and pooling keep the group; a residual add merges into one group (fresh addends
    merge, others join by ``identity`` blocks); a concatenation makes one group from its parts;
    attention's Q, K, V and output projections are weight blocks, V feeds the output projection
    through an ``identity`` block into a mixed group, and Q and K end in the scores; the
    flatten into a Linear layer is aggregated per channel, in the order the traced model flattens
    (a checkpoint without ``model`` needs ``flatten_order``); embeddings and recurrent layers are
    skipped with that reason (their outputs are source groups).

    Examples
    --------
    >>> import numpy as np
    >>> G = load([np.ones((3, 2)), np.ones((2, 4))])
    >>> G.layer_sizes, G.n_edges
    ((3, 2, 4), 14)
    """
    if isinstance(source, LayeredGraph):
        return source
    if _is_graph_file(source) and model is None:
        return _load_graph_file(source)
    if model is None and (hasattr(source, "rbms_") or hasattr(source, "weights_")):
        return from_rbm_model(source, image_shape=image_shape)
    if model is None and (
        hasattr(source, "components_")
        or (isinstance(source, (list, tuple)) and source and hasattr(source[0], "components_"))
    ):
        return from_sklearn_rbm(source, image_shape=image_shape)
    plan, vbs = _plan(
        source,
        example_input=example_input,
        layers=layers,
        layout=layout,
        conv_reduce=conv_reduce,
        fold_batchnorm=fold_batchnorm,
        image_shape=image_shape,
        model=model,
        state_dict_key=state_dict_key,
        partial=partial,
        flatten_order=flatten_order,
    )
    if vbs is not None:
        from netsci_dl.export.rbm import _graph_from_stack

        return _graph_from_stack(plan, vbs)
    return build_graph(plan)


def _load_graph_file(path: str | os.PathLike) -> LayeredGraph:
    name = str(path).lower()
    if name.endswith(".npz"):
        from netsci_dl.io.npz import load_graph

        return load_graph(path)
    if name.endswith((".graphml", ".graphml.gz")):
        from netsci_dl.io.graphml import read_graphml

        return read_graphml(path)
    raise InputError(
        f"{path}: reading GEXF back is not supported; export to .npz or .graphml for a graph "
        "netsci_dl can read again"
    )


def from_matrices(
    matrices: Sequence[Any],
    *,
    biases: Sequence[Any] | None = None,
    names: Sequence[str] | None = None,
    layout: str = "in_out",
    image_shape: tuple[int, ...] | None = None,
    directed: bool = True,
) -> LayeredGraph:
    """A chain graph from raw weight matrices, ``(n_l, n_{l+1})`` each (``layout='out_in'``:
    torch's). The matrices are copied.

    Examples
    --------
    >>> import numpy as np
    >>> G = from_matrices([np.arange(6.0).reshape(2, 3)])
    >>> G.blocks[0].shape
    (2, 3)
    """
    plan = plan_from_matrices(
        matrices,
        biases=biases,
        names=names,
        layout=layout,
        image_shape=image_shape,
        directed=directed,
    )
    return build_graph(plan)
