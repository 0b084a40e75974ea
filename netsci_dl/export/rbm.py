"""RBM / DBN stacks -> `LayeredGraph`.

An RBM's weights are ``(n_visible, n_hidden)``, already block orientation. A DBN is a stack of
RBMs whose hidden layer is the next RBM's visible layer. Node attribute ``bias`` holds the
bottom-up bias of every unit (the visible bias for layer 0, the hidden bias of the RBM below for
the others); ``top_down_bias`` holds the visible bias of the RBM above (0 for the top layer),
which generation uses; ``has_top_down_bias`` marks the units that have one (not the top layer).

Sources: raw matrices, scikit-learn's ``BernoulliRBM`` (``components_`` is ``(n_hidden,
n_visible)``: transposed here) or a list of them, netsci_dl's own RBM/DBN models (anything with
``weights_``, ``visible_bias_``, ``hidden_bias_``, or a DBN with ``rbms_``), and checkpoints with
keys ``rbm.{i}.weights`` / ``rbm.{i}.visible_bias`` / ``rbm.{i}.hidden_bias``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.export._build import ExportPlan, build_graph, check_finite
from netsci_dl.export.dense import plan_from_matrices
from netsci_dl.graph import LayeredGraph

__all__ = [
    "from_rbm_stack",
    "from_sklearn_rbm",
    "from_rbm_model",
    "plan_from_rbm_tensors",
    "is_rbm_tensors",
    "rbm_state_dict",
    "RBM_KEY",
]

RBM_KEY = re.compile(r"^rbm\.(\d+)\.weights$")


def _as_np(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _stack_plan(
    weights: Sequence[Any],
    visible_biases: Sequence[Any] | None,
    hidden_biases: Sequence[Any] | None,
    *,
    source: str,
    image_shape: tuple[int, ...] | None,
    names: Sequence[str] | None = None,
) -> tuple[ExportPlan, list[np.ndarray | None]]:
    ws = [_as_np(w) for w in weights]
    n = len(ws)
    kind = "rbm" if n == 1 else "dbn"
    names = list(names) if names is not None else ([f"h{i + 1}" for i in range(n)])
    hb = [None if hidden_biases is None else hidden_biases[i] for i in range(n)]
    vb = [None if visible_biases is None else visible_biases[i] for i in range(n)]
    plan = plan_from_matrices(
        ws,
        biases=[None if b is None else _as_np(b) for b in hb],
        input_bias=None if vb[0] is None else _as_np(vb[0]),
        names=names,
        layout="in_out",
        source=source,
        image_shape=image_shape,
        model_kind=kind,
        directed=False,
    )
    return plan, [None if b is None else _as_np(b).reshape(-1) for b in vb]


def _graph_from_stack(plan: ExportPlan, visible_biases: list[np.ndarray | None]) -> LayeredGraph:
    G = build_graph(plan)
    if len(visible_biases) > 1 and any(b is not None for b in visible_biases[1:]):
        sizes = G.layer_sizes
        parts = [np.zeros(sizes[0])]
        has = [np.zeros(sizes[0], dtype=bool)]
        for l in range(1, len(sizes)):
            b = visible_biases[l] if l < len(visible_biases) else None
            if b is not None and b.shape[0] != sizes[l]:
                raise InputError(
                    f"visible bias of RBM {l} has {b.shape[0]} entries, layer {l} has {sizes[l]} units"
                )
            parts.append(np.zeros(sizes[l]) if b is None else np.array(b, dtype=np.float64))
            has.append(np.full(sizes[l], b is not None))
        attrs = dict(G.node_attrs)
        top_down = np.concatenate(parts)
        check_finite("top-down (visible) biases", top_down)
        attrs["top_down_bias"] = top_down
        attrs["has_top_down_bias"] = np.concatenate(has)
        G = G.replace(node_attrs=attrs)
    return G


def from_rbm_stack(
    weights: Sequence[Any],
    *,
    visible_biases: Sequence[Any] | None = None,
    hidden_biases: Sequence[Any] | None = None,
    names: Sequence[str] | None = None,
    image_shape: tuple[int, ...] | None = None,
    source: str = "<rbm stack>",
) -> LayeredGraph:
    """A graph from RBM weight matrices ``(n_visible, n_hidden)``, bottom RBM first.

    Parameters
    ----------
    weights : sequence of (n_l, n_{l+1}) arrays
    visible_biases, hidden_biases : sequences of 1-D arrays, optional
        One per RBM (entries may be None).
    names : sequence of str, optional
        Names of the hidden layers; default ``h1, h2, ...`` (the input layer is ``visible``).
    image_shape : tuple, optional
        Shape of the visible layer as an image; inferred when it is square.

    Examples
    --------
    >>> import numpy as np
    >>> G = from_rbm_stack([np.ones((4, 3)), np.ones((3, 2))])
    >>> G.layer_names, G.layer_sizes, G.meta["model_kind"]
    (('visible', 'h1', 'h2'), (4, 3, 2), 'dbn')
    """
    plan, vbs = _stack_plan(
        weights, visible_biases, hidden_biases, source=source, image_shape=image_shape, names=names
    )
    return _graph_from_stack(plan, vbs)


def from_sklearn_rbm(
    rbms: Any, *, image_shape: tuple[int, ...] | None = None, source: str | None = None
) -> LayeredGraph:
    """A graph from a fitted ``sklearn.neural_network.BernoulliRBM`` or a list of them (a stack).

    ``components_`` is ``(n_hidden, n_visible)`` and is transposed here.
    """
    stack = list(rbms) if isinstance(rbms, (list, tuple)) else [rbms]
    for i, r in enumerate(stack):
        if not hasattr(r, "components_"):
            raise TypeError(
                f"RBM {i} ({type(r).__name__}) is not a fitted BernoulliRBM (no components_)"
            )
    return from_rbm_stack(
        [r.components_.T for r in stack],
        visible_biases=[r.intercept_visible_ for r in stack],
        hidden_biases=[r.intercept_hidden_ for r in stack],
        image_shape=image_shape,
        source=source or f"<sklearn BernoulliRBM x{len(stack)}>",
    )


def from_rbm_model(model: Any, *, image_shape: tuple[int, ...] | None = None) -> LayeredGraph:
    """A graph from netsci_dl's RBM (``weights_``...) or DBN (``rbms_``) objects.

    The graph holds copies of the parameters: training the model further does not change it
    (graphs collected after each epoch keep that epoch's weights).
    """
    rbms = list(getattr(model, "rbms_", None) or [model])
    for i, r in enumerate(rbms):
        if not hasattr(r, "weights_"):
            raise TypeError(f"{type(r).__name__} {i} is not fitted (no weights_)")
    shape = image_shape or getattr(model, "image_shape", None)

    def copy(x: Any) -> np.ndarray:  # a CPU tensor's .numpy() shares its memory: copy it
        return np.array(_as_np(x), copy=True)

    return from_rbm_stack(
        [copy(r.weights_) for r in rbms],
        visible_biases=[copy(r.visible_bias_) for r in rbms],
        hidden_biases=[copy(r.hidden_bias_) for r in rbms],
        image_shape=tuple(shape) if shape else None,
        source=f"<{type(model).__name__}>",
    )


def is_rbm_tensors(tensors: Mapping[str, Any]) -> bool:
    """True when the names follow the ``rbm.{i}.weights`` convention."""
    return any(RBM_KEY.match(k) for k in tensors)


def rbm_state_dict(
    weights: Sequence[Any], visible_biases: Sequence[Any], hidden_biases: Sequence[Any]
) -> dict[str, Any]:
    """The checkpoint layout read by :func:`plan_from_rbm_tensors` (arrays or tensors as given)."""
    out: dict[str, Any] = {}
    for i, (w, vb, hb) in enumerate(zip(weights, visible_biases, hidden_biases)):
        out[f"rbm.{i}.weights"] = w
        out[f"rbm.{i}.visible_bias"] = vb
        out[f"rbm.{i}.hidden_bias"] = hb
    return out


def plan_from_rbm_tensors(
    tensors: Mapping[str, np.ndarray],
    *,
    source: str,
    layers: str | Sequence[str] | None = None,
    image_shape: tuple[int, ...] | None = None,
) -> tuple[ExportPlan, list[np.ndarray | None]]:
    """Plan the export of a checkpoint in the ``rbm.{i}.*`` layout (all RBMs, bottom first)."""
    from netsci_dl.export._build import TensorInfo, select

    idx = sorted(int(m.group(1)) for k in tensors if (m := RBM_KEY.match(k)))
    if idx != list(range(len(idx))):
        raise InputError(f"{source}: RBM indices {idx} are not 0..{len(idx) - 1}")
    names = [f"h{i + 1}" for i in idx]
    chosen = select(names, layers)
    if layers is not None and chosen != set(names[: len(chosen)]):
        raise InputError(
            f"{source}: a DBN can only be cut from the bottom: layers={layers!r} chose "
            f"{sorted(chosen)} of {names}"
        )
    if not chosen:
        raise InputError(f"{source}: layers={layers!r} selects no RBM; available: {names}")
    keep = [i for i in idx if names[i] in chosen]
    for i in keep:
        w = tensors[f"rbm.{i}.weights"]
        if w.ndim != 2:
            raise InputError(f"{source}: rbm.{i}.weights has shape {w.shape}; it must be 2-D")
    plan, vbs = _stack_plan(
        [tensors[f"rbm.{i}.weights"] for i in keep],
        [tensors.get(f"rbm.{i}.visible_bias") for i in keep],
        [tensors.get(f"rbm.{i}.hidden_bias") for i in keep],
        source=source,
        image_shape=image_shape,
        names=[names[i] for i in keep],
    )
    infos = []
    for k, v in tensors.items():
        m = re.match(r"^rbm\.(\d+)\.(weights|visible_bias|hidden_bias)$", k)
        if m and int(m.group(1)) in keep:
            role = "rbm" if m.group(2) == "weights" else "bias"
            infos.append(TensorInfo(k, tuple(v.shape), str(v.dtype), role))
        elif m:
            infos.append(
                TensorInfo(
                    k, tuple(v.shape), str(v.dtype), "skipped", f"not selected by layers={layers!r}"
                )
            )
        else:
            infos.append(
                TensorInfo(k, tuple(v.shape), str(v.dtype), "skipped", "not part of the RBM stack")
            )
    plan = dataclasses.replace(plan, layout="in_out", tensors=tuple(infos))
    return plan, vbs
