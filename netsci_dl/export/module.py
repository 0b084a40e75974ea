"""A torch ``nn.Module`` -> plan: the data flow of its forward pass, traced.

torch.fx traces the model symbolically when it can (no input needed; with ``example_input`` the
shapes are propagated too); otherwise one real forward pass on ``example_input`` is recorded
(:mod:`netsci_dl.export._record`). The recorded ops become node groups, weight blocks and
junctions by the rules of :mod:`netsci_dl.export._dataflow`. A module without a forward method
(a bag of layers) is read like a state_dict in registration order, with the groups of its
convolutions known.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.export._build import ExportPlan, select, square_image_shape
from netsci_dl.export._dataflow import resolve

__all__ = ["plan_from_module", "select_blocks", "build_model", "load_weights", "token_example"]


def _has_forward(module: Any) -> bool:
    import torch.nn as nn

    return type(module).forward is not nn.Module.forward


def _container_plan(
    module: Any,
    *,
    layers: Any,
    conv_reduce: str,
    image_shape: tuple[int, ...] | None,
    flatten_order: str | None = None,
) -> ExportPlan:
    """A module with no forward: its Linear/conv layers in registration order, as a chain."""
    import torch.nn as nn

    from netsci_dl.export._op_map import param_array
    from netsci_dl.export.dense import plan_from_state_dict

    tensors: dict[str, np.ndarray] = {}
    groups: dict[str, int] = {}
    for name, m in module.named_modules():
        if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd)) and not getattr(
            m, "transposed", False
        ):
            base = name or type(m).__name__.lower()
            tensors[f"{base}.weight"] = param_array(m.weight, f"{base}.weight")
            if m.bias is not None:
                tensors[f"{base}.bias"] = param_array(m.bias, f"{base}.bias")
            if isinstance(m, nn.modules.conv._ConvNd):
                groups[base] = int(m.groups)
    if not tensors:
        raise InputError(f"{type(module).__name__}: no nn.Linear or convolution layers found")
    plan = plan_from_state_dict(
        tensors,
        source=f"<{type(module).__name__}>",
        layers=layers,
        conv_reduce=conv_reduce,
        image_shape=image_shape,
        groups=groups,
        flatten_order=flatten_order,
    )
    meta = dict(plan.meta, traced=False)
    meta["order"] = "registration order (the module has no forward method to trace)"
    return dataclasses.replace(plan, meta=meta)


def select_blocks(plan: ExportPlan, layers: str | Sequence[str] | None) -> ExportPlan:
    """Keep the weight blocks of the selected layers (by name; a regex or a list), the
    identity blocks between kept groups, and the groups they join. The selection must be
    connected (a chain or a DAG), or it is refused."""
    if layers is None:
        return plan
    names = list(dict.fromkeys(b.name for b in plan.blocks if b.kind == "weight"))
    chosen = select(names, layers)
    if not chosen:
        raise InputError(
            f"{plan.source}: the selection layers={layers!r} matches no weight; available: {names}"
        )
    keep = [b for b in plan.blocks if b.kind == "weight" and b.name in chosen]
    used = {b.src for b in keep} | {b.dst for b in keep}
    keep += [b for b in plan.blocks if b.kind != "weight" and b.src in used and b.dst in used]
    parent = {g: g for g in used}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for b in keep:
        parent[find(b.src)] = find(b.dst)
    comps = {find(g) for g in used}
    if len(comps) > 1:
        raise InputError(
            f"{plan.source}: broken shape chain: the selected layers {sorted(chosen)} are not "
            "connected to each other; select a chain or a connected part of the graph"
        )
    order = sorted(used)
    index = {g: i for i, g in enumerate(order)}
    groups = tuple(plan.groups[g] for g in order)
    blocks = tuple(
        dataclasses.replace(b, src=index[b.src], dst=index[b.dst])
        for b in sorted(keep, key=lambda b: (index[b.dst], index[b.src]))
    )
    kept_names = {g.name for g in groups}
    junctions = tuple(j for j in plan.junctions if j.get("group") in kept_names)
    meta = dict(plan.meta)
    if "activations" in meta:
        meta["activations"] = [meta["activations"][g] for g in order]
    meta["selected_layers"] = sorted(chosen)
    tensors = tuple(
        t
        if t.role not in ("linear", "conv") or t.name.rsplit(".", 1)[0] in chosen
        else dataclasses.replace(t, role="skipped", reason=f"not selected by layers={layers!r}")
        for t in plan.tensors
    )
    return dataclasses.replace(
        plan, groups=groups, blocks=blocks, junctions=junctions, meta=meta, tensors=tensors
    )


def plan_from_module(
    module: Any,
    *,
    example_input: Any = None,
    layers: str | Sequence[str] | None = None,
    conv_reduce: str = "l2",
    fold_batchnorm: bool = False,
    image_shape: tuple[int, ...] | None = None,
    flatten_order: str | None = None,
) -> ExportPlan:
    """Plan the export of an ``nn.Module`` from the data flow of its forward pass.

    Parameters
    ----------
    module : nn.Module
    example_input : tensor or tuple of tensors, optional
        One input the model accepts (a batch of 1 is enough). Needed when torch.fx cannot trace
        the model symbolically; when given, shapes are exact everywhere.
    layers, conv_reduce, fold_batchnorm, image_shape
        As in :func:`netsci_dl.load`.
    """
    from netsci_dl.export._fx import TraceFailed, trace_fx

    if not _has_forward(module):
        if fold_batchnorm:
            raise InputError(
                f"{type(module).__name__} has no forward method: fold_batchnorm needs the data flow"
            )
        return _container_plan(
            module,
            layers=layers,
            conv_reduce=conv_reduce,
            image_shape=image_shape,
            flatten_order=flatten_order,  # no forward: the order is not recorded either
        )
    source = f"<{type(module).__name__}>"
    how = "torch.fx"
    try:
        ops = trace_fx(module, example_input)
    except TraceFailed as e:
        if example_input is None:
            raise InputError(
                f"{source}: torch.fx cannot trace this model symbolically ({e}); pass "
                "example_input=x (CLI: --input-shape) so one forward pass is recorded instead"
            ) from None
        from netsci_dl.export._record import record_forward

        ops = record_forward(module, example_input)
        how = "the torch functions of one forward pass"
    params = dict(module.named_parameters())
    plan = resolve(
        ops,
        source=source,
        conv_reduce=conv_reduce,
        fold_batchnorm=fold_batchnorm,
        meta={"traced": how},
    )
    named = {t.name for t in plan.tensors}
    from netsci_dl.export._build import TensorInfo

    unused = tuple(
        TensorInfo(
            n,
            tuple(int(s) for s in p.shape),
            str(p.dtype).replace("torch.", ""),
            "skipped",
            "not used by the traced forward pass",
        )
        for n, p in params.items()
        if n not in named
    )
    plan = dataclasses.replace(plan, tensors=plan.tensors + unused)
    plan = select_blocks(plan, layers)
    meta = dict(plan.meta)
    shape = tuple(image_shape) if image_shape else None
    if shape is None and plan.model_kind == "mlp" and plan.groups:
        shape = square_image_shape(plan.groups[0].size)
        if shape:
            meta["image_shape_inferred"] = True
    if shape:
        meta["image_shape"] = [int(v) for v in shape]
    if example_input is not None and hasattr(example_input, "shape"):
        meta["input_shape"] = [int(v) for v in example_input.shape]
    return dataclasses.replace(plan, meta=meta)


def build_model(spec: str, kwargs: Mapping[str, Any] | None = None) -> Any:
    """Instantiate ``"pkg.module:ClassName"`` with ``kwargs`` (the CLI's ``--model``).

    The module is imported as the user names it (their own code, on ``sys.path``); nothing from
    a checkpoint is executed.

    Examples
    --------
    >>> build_model("torch.nn:Linear", {"in_features": 3, "out_features": 2})
    Linear(in_features=3, out_features=2, bias=True)
    """
    import importlib

    import torch

    mod_name, sep, cls_name = str(spec).partition(":")
    if not sep or not mod_name or not cls_name:
        raise InputError(f"--model {spec!r}: expected pkg.module:ClassName")
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as e:
        raise InputError(f"--model {spec!r}: cannot import {mod_name!r} ({e})") from None
    except Exception as e:  # the user's module raised while it was imported: their code
        raise InputError(
            f"--model {spec!r}: importing {mod_name!r} raised {_exc_text(e)} (an error in that "
            "module, not in netsci_dl)"
        ) from None
    cls = mod
    for part in cls_name.split("."):
        cls = getattr(cls, part, None)
        if cls is None:
            raise InputError(f"--model {spec!r}: {mod_name!r} has no {cls_name!r}")
    try:
        obj = cls(**dict(kwargs or {}))
    except TypeError as e:
        raise InputError(
            f"--model {spec!r}: cannot build it with {dict(kwargs or {})}: {e}"
        ) from None
    except Exception as e:  # the class's __init__ raised: the user's code or arguments
        raise InputError(
            f"--model {spec!r}: {cls_name}({_kwargs_text(kwargs)}) raised {_exc_text(e)} (an "
            "error in that class or its arguments, not in netsci_dl)"
        ) from None
    if not isinstance(obj, torch.nn.Module):
        raise InputError(f"--model {spec!r} built a {type(obj).__name__}, not an nn.Module")
    return obj


def _exc_text(e: BaseException) -> str:
    """``TypeName: first line of the message``."""
    msg = str(e).strip().splitlines()
    return f"{type(e).__name__}: {msg[0]}" if msg else type(e).__name__


def _kwargs_text(kwargs: Mapping[str, Any] | None) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in dict(kwargs or {}).items())


def _shorten(keys: Sequence[str], n: int = 5) -> str:
    return f"{list(keys[:n])}{f' and {len(keys) - n} more' if len(keys) > n else ''}"


def _declared_ignorable(model: Any, state: Mapping[str, Any]) -> tuple[dict, dict]:
    """The checkpoint keys the model itself declares ignorable, with the reason: unexpected keys
    that name a non-persistent buffer (the model recomputes it, e.g. ``position_ids``) or match
    the model's ``_keys_to_ignore_on_load_unexpected`` (transformers), and missing keys that are
    tied to a loaded weight (the same tensor) or match ``_keys_to_ignore_on_load_missing``."""
    import re

    own = model.state_dict(keep_vars=True)
    buffers = {n for n, _ in model.named_buffers(remove_duplicate=False)} - set(own)
    pat_u = [
        re.compile(p) for p in getattr(model, "_keys_to_ignore_on_load_unexpected", None) or ()
    ]
    pat_m = [re.compile(p) for p in getattr(model, "_keys_to_ignore_on_load_missing", None) or ()]
    unexpected = {}
    for k in state:
        if k in own:
            continue
        if k in buffers:
            unexpected[k] = "a non-persistent buffer: the model computes it itself"
        elif any(p.search(k) for p in pat_u):
            unexpected[k] = f"declared ignorable by {type(model).__name__}"
    by_ptr: dict[tuple, list[str]] = {}
    for k, t in own.items():
        if t.device.type != "meta" and t.numel():
            by_ptr.setdefault((t.data_ptr(), tuple(t.shape)), []).append(k)
    missing = {}
    for names in by_ptr.values():
        loaded = [n for n in names if n in state]
        for n in names:
            if n not in state and loaded:
                missing[n] = f"tied to {loaded[0]} (the same tensor)"
    for k in own:
        if k not in state and k not in missing and any(p.search(k) for p in pat_m):
            missing[k] = f"declared ignorable by {type(model).__name__}"
    return missing, unexpected


def load_weights(
    model: Any, tensors: Mapping[str, Any], *, where: str, partial: bool = False
) -> dict[str, Any]:
    """Load ``tensors`` (name -> array) into ``model``: strictly, except for the keys the model
    declares ignorable (non-persistent buffers such as ``position_ids``, tied weights, the
    patterns transformers declares), or, with ``partial=True``, leaving every other missing or
    unexpected key as it is. A prefix a training wrapper put before every name (Lightning's
    ``model.``) is removed when the model's own names are found that way, and reported
    (``stripped_prefix``). Returns what was ignored and why (``meta["loading"]``).

    Raises
    ------
    InputError
        A shape that does not fit; a missing or unexpected key under strict loading; with
        ``partial``, a checkpoint none of whose tensors fits the model.
    """
    import warnings

    import torch

    name = type(model).__name__
    with warnings.catch_warnings():  # read-only views: load_state_dict only copies from them
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        state = {
            k: v if isinstance(v, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(v))
            for k, v in tensors.items()
        }
    state, stripped = _fit_prefix(model, state)
    ok_missing, ok_unexpected = _declared_ignorable(model, state)
    try:
        missing, unexpected = model.load_state_dict(
            {k: v for k, v in state.items() if k not in ok_unexpected}, strict=False
        )
    except Exception as e:
        raise InputError(
            f"{where}: does not fit {name}: {str(e).strip().splitlines()[-1].strip()}"
        ) from None
    missing = [k for k in missing if k not in ok_missing]
    parts = [f"missing {_shorten(missing)}" if missing else ""]
    parts += [f"unexpected {_shorten(unexpected)}" if unexpected else ""]
    if (missing or unexpected) and not partial:
        raise InputError(
            f"{where}: does not fit {name} (strict loading): "
            + "; ".join(p for p in parts if p)
            + " (partial loading: --partial, or partial=True)"
        )
    if partial and len(unexpected) == len(state):
        raise InputError(f"{where}: none of its {len(state)} tensors fits {name}")
    declared = {**ok_missing, **ok_unexpected}
    out = {
        "strict": not partial,
        "loaded": len(state) - len(unexpected) - len(ok_unexpected),
        "ignored_missing": list(missing),
        "ignored_unexpected": list(unexpected),
        "declared_ignorable": declared,
    }
    if stripped:
        out["stripped_prefix"] = stripped
    return out


#: prefixes a training wrapper puts before the user's module's names (Lightning's ``model.``)
_WRAPPER_PREFIXES = ("model.", "net.", "module.")


def _fit_prefix(model: Any, state: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """``state`` with a wrapper's prefix removed when every key has it, none of them is one of
    the model's own names and the stripped names are; else ``state`` as it is."""
    own = set(model.state_dict())
    if not state or own & set(state):
        return state, None
    for prefix in _WRAPPER_PREFIXES:
        if all(k.startswith(prefix) for k in state):
            stripped = {k[len(prefix) :]: v for k, v in state.items()}
            if own & set(stripped):
                return stripped, prefix
    return state, None


def token_example(model: Any, shape: Sequence[int], *, seed: int = 0) -> Any:
    """Token ids of ``shape`` (dtype long) that ``model`` accepts: drawn below the size of its
    input embedding (the first ``nn.Embedding``; 2 when it has none), from ``seed``."""
    import torch

    vocab = 2
    get = getattr(model, "get_input_embeddings", None)
    emb = None
    try:
        emb = get() if callable(get) else None
    except Exception:  # transformers raises NotImplementedError for models without one
        emb = None
    if not isinstance(emb, torch.nn.Embedding):
        emb = next((m for m in model.modules() if isinstance(m, torch.nn.Embedding)), None)
    if emb is not None:
        vocab = int(emb.num_embeddings)
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, tuple(int(s) for s in shape), generator=g)
