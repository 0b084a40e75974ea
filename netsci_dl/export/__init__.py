"""Model or checkpoint -> `LayeredGraph`. The only code that knows torch layouts.

:func:`load` takes a path (``.pt``/``.pth``, ``.safetensors``, ``.npz``: a checkpoint or a saved
graph), an ``nn.Module``, a state_dict, an RBM/DBN (netsci_dl's or scikit-learn's) or a list of
raw matrices, and returns the graph. :func:`inspect` returns the :class:`ExportPlan` behind it:
every tensor found, what becomes a layer and why the rest is skipped.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.export._build import Connection, ExportPlan, TensorInfo, build_graph
from netsci_dl.export.checkpoint import Checkpoint, netsci_metadata, read_checkpoint
from netsci_dl.export.conv import REDUCTIONS
from netsci_dl.export.dense import plan_from_matrices, plan_from_module, plan_from_state_dict
from netsci_dl.export.rbm import (
    from_rbm_model,
    from_rbm_stack,
    from_sklearn_rbm,
    is_rbm_tensors,
    plan_from_rbm_tensors,
)
from netsci_dl.graph import LayeredGraph

__all__ = [
    "load",
    "inspect",
    "from_matrices",
    "from_rbm_stack",
    "from_sklearn_rbm",
    "from_rbm_model",
    "ExportPlan",
    "Connection",
    "TensorInfo",
    "REDUCTIONS",
]

LAYOUTS = ("auto", "out_in", "in_out")


def _plan_checkpoint(
    ckpt: Checkpoint,
    *,
    layers: str | Sequence[str] | None,
    layout: str,
    conv_reduce: str,
    image_shape: tuple[int, ...] | None,
) -> tuple[ExportPlan, list[np.ndarray | None] | None]:
    extra = netsci_metadata(ckpt)
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
        plan = plan_from_state_dict(
            ckpt.tensors,
            source=ckpt.source,
            layers=layers,
            conv_reduce=conv_reduce,
            layout=layout,
            image_shape=shape,
        )
        vbs = None
    meta = dict(plan.meta)
    meta["checkpoint_format"] = ckpt.format
    if ckpt.nested_key:
        meta["state_dict_key"] = ckpt.nested_key
    if extra:
        meta["checkpoint"] = {k: v for k, v in extra.items() if k != "image_shape"}
    plan = ExportPlan(
        plan.source,
        plan.model_kind,
        plan.layout,
        plan.tensors,
        plan.connections,
        plan.input_name,
        plan.input_bias,
        meta,
    )
    return plan, vbs


def inspect(
    source: Any,
    *,
    layers: str | Sequence[str] | None = None,
    layout: str = "auto",
    conv_reduce: str = "l2",
    image_shape: tuple[int, ...] | None = None,
) -> ExportPlan:
    """What :func:`load` finds in ``source`` and what it will export (nothing is built).

    Parameters are those of :func:`load`. Not available for a saved graph (``.npz`` written by
    :meth:`LayeredGraph.save`), which has no checkpoint behind it.
    """
    return _plan(
        source, layers=layers, layout=layout, conv_reduce=conv_reduce, image_shape=image_shape
    )[0]


def _plan(
    source: Any,
    *,
    layers: str | Sequence[str] | None,
    layout: str,
    conv_reduce: str,
    image_shape: tuple[int, ...] | None,
) -> tuple[ExportPlan, list[np.ndarray | None] | None]:
    if layout not in LAYOUTS:
        raise InputError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if conv_reduce not in REDUCTIONS:
        raise InputError(f"conv_reduce={conv_reduce!r} is not one of {', '.join(REDUCTIONS)}")
    if isinstance(source, (str, os.PathLike)):
        from netsci_dl.io.npz import is_graph_npz

        if Path(source).suffix.lower() == ".npz" and is_graph_npz(source):
            raise InputError(f"{source}: is a saved graph, not a checkpoint; use netsci_dl.load")
        ckpt = read_checkpoint(source)
        return _plan_checkpoint(
            ckpt, layers=layers, layout=layout, conv_reduce=conv_reduce, image_shape=image_shape
        )
    if isinstance(source, Mapping):
        from netsci_dl.export.checkpoint import tensors_from_mapping

        tensors, nested = tensors_from_mapping(source, source="<state_dict>")
        ckpt = Checkpoint(tensors, "<state_dict>", "mapping", {}, nested)
        return _plan_checkpoint(
            ckpt, layers=layers, layout=layout, conv_reduce=conv_reduce, image_shape=image_shape
        )
    torch = sys.modules.get("torch")
    if torch is not None:  # an nn.Module can only exist when torch is loaded
        if isinstance(source, torch.nn.Module):
            return (
                plan_from_module(
                    source, layers=layers, conv_reduce=conv_reduce, image_shape=image_shape
                ),
                None,
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


def load(
    source: Any,
    *,
    layers: str | Sequence[str] | None = None,
    layout: str = "auto",
    conv_reduce: str = "l2",
    image_shape: tuple[int, ...] | None = None,
) -> LayeredGraph:
    """Export a model or checkpoint to a `LayeredGraph`.

    Parameters
    ----------
    source : path, nn.Module, state_dict, RBM/DBN, LayeredGraph or list of 2-D arrays
        A path may be a checkpoint (``.pt``/``.pth``/``.bin``/``.ckpt`` via
        ``torch.load(weights_only=True)``, ``.safetensors``, ``.npz``) or a graph saved with
        :meth:`LayeredGraph.save`. Files needing arbitrary unpickling are refused.
    layers : regex str or list of str, optional
        The layers to export (names without ``.weight``); default every 2-D/4-D weight.
    layout : {"auto", "out_in", "in_out"}
        Weight orientation. ``auto``: torch files, state_dicts and modules are torch layout
        (``(out, in)``, transposed here); raw matrices and ``.npz`` arrays not named ``*.weight``
        are ``(in, out)``; ``rbm.{i}.weights`` keys are RBM stacks ``(n_visible, n_hidden)``.
    conv_reduce : {"l2", "l1", "sum", "mean", "max_abs"}
        How a convolution kernel becomes one edge weight (:mod:`netsci_dl.export.conv`).
    image_shape : tuple of int, optional
        Input image shape for receptive fields; stored in ``meta["image_shape"]``.

    Returns
    -------
    LayeredGraph
        Dense float32 blocks ``(n_l, n_{l+1})``; biases as node attribute ``bias``.

    Examples
    --------
    >>> import numpy as np
    >>> G = load([np.ones((3, 2)), np.ones((2, 4))])
    >>> G.layer_sizes, G.n_edges
    ((3, 2, 4), 14)
    """
    if isinstance(source, LayeredGraph):
        return source
    if isinstance(source, (str, os.PathLike)):
        from netsci_dl.io.npz import is_graph_npz, load_graph

        if Path(source).suffix.lower() == ".npz" and Path(source).exists() and is_graph_npz(source):
            return load_graph(source)
    if hasattr(source, "rbms_") or hasattr(source, "weights_"):
        return from_rbm_model(source, image_shape=image_shape)
    if hasattr(source, "components_") or (
        isinstance(source, (list, tuple)) and source and hasattr(source[0], "components_")
    ):
        return from_sklearn_rbm(source, image_shape=image_shape)
    plan, vbs = _plan(
        source, layers=layers, layout=layout, conv_reduce=conv_reduce, image_shape=image_shape
    )
    if vbs is not None:
        from netsci_dl.export.rbm import _graph_from_stack

        return _graph_from_stack(plan, vbs)
    return build_graph(plan)


def from_matrices(
    matrices: Sequence[Any],
    *,
    biases: Sequence[Any] | None = None,
    names: Sequence[str] | None = None,
    layout: str = "in_out",
    image_shape: tuple[int, ...] | None = None,
    directed: bool = True,
) -> LayeredGraph:
    """A graph from raw weight matrices, ``(n_l, n_{l+1})`` each (``layout='out_in'``: torch's).

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
