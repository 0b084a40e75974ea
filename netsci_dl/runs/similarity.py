"""Similarity over a training run: load each snapshot, run it on the data, compare its layers.

The per-snapshot work is a plain top-level function of one task (:func:`run_snapshot_task`), so
:func:`training_similarity` hands the snapshots to :func:`netsci_dl.parallel.map_tasks`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl import _args
from netsci_dl.activations import STREAM_MEASURES, check_pool, layer_activations, stream_maps
from netsci_dl.errors import InputError

__all__ = ["ActivationSpec", "SnapshotTask", "run_snapshot_task", "training_similarity"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActivationSpec:
    """How activations are taken (the keywords of :func:`layer_activations`).

    ``device`` None or ``"auto"``: snapshot files are loaded onto CUDA when present, else the
    CPU; a model given as an object runs where it is unless ``device`` names a device.

    Examples
    --------
    >>> ActivationSpec(layers=("h1",)).to_dict()["layers"]
    ['h1']
    """

    layers: tuple[str, ...] | None = None
    batch_size: int = 256
    device: str | None = None
    dtype: str | None = None
    pool: str = "mean"
    dft_size: int | None = None
    input_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        _args.check_fields(self, counts={"batch_size": (1, 2**31 - 1)}, devices=("device",))
        check_pool(self.pool, self.dft_size)
        if int(self.batch_size) < 1:
            raise InputError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.layers is not None:
            object.__setattr__(self, "layers", tuple(str(v) for v in self.layers))
        if self.input_shape is not None:
            object.__setattr__(self, "input_shape", tuple(int(v) for v in self.input_shape))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("layers", "input_shape"):
            d[k] = None if d[k] is None else list(d[k])
        d["device"] = None if self.device is None else str(self.device)
        return d

    def __repr__(self) -> str:
        from netsci_dl._results import changed_only

        return changed_only(self)

    def keywords(self) -> dict[str, Any]:
        return {
            "layers": self.layers,
            "batch_size": self.batch_size,
            "device": self.device,
            "pool": self.pool,
            "dft_size": self.dft_size,
            "input_shape": self.input_shape,
        }


@dataclass(frozen=True, eq=False)
class SnapshotTask:
    """Everything one snapshot's maps need (picklable).

    ``reference`` is PreparedLayers (in-memory path) or the reference model (``stream=True``).
    """

    item: Any
    info: dict[str, Any]
    X: Any = field(repr=False)
    reference: Any = field(repr=False)
    measure: str
    options: Any
    spec: ActivationSpec
    within: bool = True
    stream: bool = False
    attention_mask: Any = field(default=None, repr=False)


def _load(item: Any, device: Any) -> Any:
    from netsci_dl.runs.checkpoints import runnable

    return runnable(item, device)


def run_snapshot_task(task: SnapshotTask) -> Any:
    """The :class:`~netsci_dl.analysis.similarity.SnapshotSimilarity` of one snapshot."""
    from netsci_dl.analysis.similarity import SnapshotSimilarity, snapshot_similarity

    model = _load(task.item, task.spec.device)
    info = task.info
    if task.stream:
        kw = task.spec.keywords()
        names, ref_names, cross, grid = stream_maps(
            model,
            task.X,
            task.reference,
            measure=task.measure,
            reference_layers=kw["layers"],
            within=task.within,
            attention_mask=task.attention_mask,
            **kw,
        )

        def _int(v: Any) -> int | None:
            return None if v is None else int(v)

        return SnapshotSimilarity(
            label=str(info.get("label", "")),
            step=int(info.get("step", 0) or 0),
            epoch=_int(info.get("epoch")),
            stage=_int(info.get("layer")),
            layers=names,
            reference_layers=ref_names,
            to_reference=cross,
            within=grid,
            source=str(info.get("source", "")),
        )
    acts = layer_activations(
        model,
        task.X,
        dtype=task.spec.dtype,
        attention_mask=task.attention_mask,
        **task.spec.keywords(),
    )
    return snapshot_similarity(
        acts,
        task.reference,
        measure=task.measure,
        options=task.options,
        info=info,
        within=task.within,
    )


def _sources(source: Any) -> list[tuple[Any, dict[str, Any]]]:
    """``[(path or model, info), ...]`` in training order."""
    from netsci_dl.graph import LayeredGraph
    from netsci_dl.runs.format import read_sidecar, snapshot_sources

    if isinstance(source, str | os.PathLike):
        return snapshot_sources(source)
    items = [source] if not isinstance(source, Sequence) else list(source)
    if not items:
        raise InputError("no snapshots given")
    if any(isinstance(it, LayeredGraph) for it in items):
        raise InputError(
            "a LayeredGraph holds weights only and cannot be run on data: pass the checkpoint "
            "paths or the models"
        )
    if all(isinstance(it, str | os.PathLike) for it in items):
        return snapshot_sources(items)
    from netsci_dl.runs.checkpoints import CheckpointModel

    out = []
    for i, it in enumerate(items):
        if isinstance(it, CheckpointModel):
            out.append((it, it.info()))
        elif isinstance(it, str | os.PathLike):
            (p, info), *_ = snapshot_sources([it])
            side = read_sidecar(p) if Path(p).is_file() else None
            unit = "run" if side else "index"
            out.append((p, dict(info, step=int(side["step"]) if side else i, unit=unit)))
        else:
            info = {"step": i, "layer": None, "epoch": None, "label": f"model{i}", "unit": "index"}
            out.append((it, dict(info, source=type(it).__name__)))
    return out


def training_similarity(
    source: Any,
    X: Any,
    *,
    measure: str = "cka",
    options: Any = None,
    spec: ActivationSpec | None = None,
    reference: Any = -1,
    within: bool = True,
    stream: bool = False,
    progress: bool = False,
    n_jobs: int | None = None,
) -> Any:
    """Each layer at each snapshot vs the reference snapshot, and each snapshot's layer grid.

    R17's "converges bottom-up" figure: per layer, the similarity of its representation at
    every snapshot to its final one (:attr:`TrainingSimilarity.to_reference`), plus the full
    layer x layer grids. One snapshot is loaded and run at a time.

    Parameters
    ----------
    source : run folder, or sequence of checkpoint paths / models
        Read with :func:`netsci_dl.runs.format.snapshot_sources` (snapshots ordered by step; a list
        is kept in its order); models (nn.Module, DBN) may be given directly (in a list mixing
        models and paths, a model's step is its position), and a user's own checkpoints as
        :class:`~netsci_dl.runs.checkpoints.CheckpointModel` items
        (:func:`~netsci_dl.runs.checkpoints.checkpoint_models`).
    X : (n_samples, ...) ndarray / tensor, a :class:`~netsci_dl.datasets.Dataset`, a torch
        ``Dataset`` or ``DataLoader``
        The probe examples, the same for every snapshot. A token Dataset's
        ``attention_mask`` reaches each model that takes one, and token outputs are pooled
        over the real tokens (:func:`~netsci_dl.activations.layer_activations`).
    measure : str
        Any of :data:`netsci_dl.analysis.similarity.MEASURES`.
    options : SimilarityOptions, optional
    spec : ActivationSpec, optional
        Layers, batch size, device, pool (default: :class:`ActivationSpec` defaults).
    reference : int, path or model
        The snapshot every layer is compared with (default -1: the last).
    within : bool
        Also the layer x layer grid within each snapshot.
    stream : bool
        Never hold the activation matrices: run each snapshot and the reference together
        batch by batch into linear-CKA statistics (``measure`` in ``cka``, ``cka_debiased``,
        ``cka_minibatch``; memory ~ one float64 ``p x q`` matrix per pair of layers).
    progress : bool
        A progress bar (default off; shown only when stderr is a terminal).
    n_jobs : int, optional
        Snapshots run in parallel through :func:`netsci_dl.parallel.map_tasks` (``X`` and the
        reference's prepared layers are sent to each worker once; each worker loads its
        snapshots itself). The numbers do not depend on it.

    Returns
    -------
    TrainingSimilarity
        ``to_frame()``: ``snapshot step epoch layer other_layer measure value comparison``.

    Examples
    --------
    >>> import torch
    >>> from netsci_dl.models.mlp import build_mlp
    >>> nets = [build_mlp((4, 3, 2), seed=s, device="cpu") for s in (0, 1)]
    >>> T = training_similarity(nets, torch.randn(30, 4))
    >>> T.layers, T.to_reference.shape, round(float(T.to_reference[-1, 0]), 12)
    (('0', '2'), (2, 2), 1.0)
    """
    from netsci_dl.analysis.similarity import (
        SimilarityOptions,
        TrainingSimilarity,
        check_measure,
        prepare_layers,
    )

    check_measure(measure)
    opt = options or SimilarityOptions()
    spec = spec or ActivationSpec()
    if stream and measure not in STREAM_MEASURES:
        raise InputError(f"stream=True supports measure in {STREAM_MEASURES}, not {measure!r}")
    from netsci_dl.datasets import as_arrays

    data_name = getattr(X, "name", None)
    mask = getattr(X, "attention_mask", None)  # a token Dataset's padding: to the model
    X = as_arrays(X)[0]  # a Dataset, a torch Dataset or DataLoader, or the array itself
    if spec.device is not None and opt.device is None and not stream:
        from dataclasses import replace

        opt = replace(opt, device=spec.device)
    srcs = _sources(source)
    if isinstance(reference, int):
        try:
            ref_item, ref_info = srcs[reference]
        except IndexError:
            raise InputError(f"reference={reference}: there are {len(srcs)} snapshots") from None
        ref_label = str(ref_info.get("label"))
    elif isinstance(reference, str | os.PathLike):
        ref_item, ref_label = reference, Path(reference).name.removesuffix(".safetensors")
    else:
        ref_item, ref_label = reference, getattr(reference, "label", type(reference).__name__)
    ref_model = _load(ref_item, spec.device)
    if stream:
        ref: Any = ref_model
    else:
        ref_acts = layer_activations(
            ref_model, X, dtype=spec.dtype, attention_mask=mask, **spec.keywords()
        )
        ref = prepare_layers(ref_acts, measure=measure, options=opt)
        del ref_acts
    from netsci_dl.parallel import map_tasks
    from netsci_dl.runs.format import axis_label

    results = map_tasks(
        _snapshot_job,
        [(item, dict(info)) for item, info in srcs],
        shared=(X, ref, measure, opt, spec, within, stream, mask),
        n_jobs=n_jobs,
        desc="similarity",
        unit="snapshot",
        progress=progress,
    )
    settings = {
        "options": opt.to_dict(),
        "activations": spec.to_dict(),
        "data": data_name,
        "n_samples": int(np.shape(X)[0]),
        "stream": bool(stream),
        "within": bool(within),
        "attention_mask": None
        if mask is None
        else (
            "passed to every model whose forward takes it; token outputs pooled over the real "
            "tokens (attention_mask = 1)"
        ),
        "reference_source": str(ref_item) if isinstance(ref_item, str | os.PathLike) else ref_label,
        "x_label": axis_label([info for _, info in srcs]),  # what the steps count
    }
    return TrainingSimilarity(tuple(results), ref_label, measure, settings)


def _snapshot_job(task: tuple[Any, dict[str, Any]], shared: tuple[Any, ...]) -> Any:
    """:func:`run_snapshot_task` of one ``(item, info)`` with the inputs every snapshot shares."""
    item, info = task
    return run_snapshot_task(SnapshotTask(item, info, *shared))
