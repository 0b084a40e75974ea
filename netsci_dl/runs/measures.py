"""Every per-snapshot measure of a run in one long table: graph and layer EI, Fisher trace,
curvature, similarity to the final snapshot, and the trainer's own numbers.

Each family is computed by its own entry point (:func:`netsci_dl.runs.ei_trajectory` on
the weights, :func:`netsci_dl.runs.critical.snapshot_measures` on the probe set and
labels, :func:`training_similarity` on the probe set) and returned in the long format of
:data:`netsci_dl.runs.trajectory.LONG_COLUMNS`; this module only runs them and stacks the
tables, so one table (and :func:`netsci_dl.plot.measures.plot_measures`) follows a run.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from netsci_dl import _args
from netsci_dl.errors import InputError

__all__ = ["MEASURE_FAMILIES", "TrainingMeasureOptions", "training_measures"]

#: the families of measures :func:`training_measures` can compute
MEASURE_FAMILIES = ("ei", "fisher", "curvature", "similarity")


def _default_ei_options() -> Any:
    from netsci_dl.analysis.information.causal_plane import LayerEIOptions

    return LayerEIOptions()


@dataclass(frozen=True)
class TrainingMeasureOptions:
    """The settings of :func:`training_measures`, one object for every family.

    Parameters
    ----------
    ei : LayerEIOptions
        The layer-EI estimator (:class:`netsci_dl.analysis.information.causal_plane.LayerEIOptions`).
    ei_activations : str or sequence of str, optional
        The activation after each weight block when the snapshots do not record it.
    ei_threshold : str, optional
        A rule for the graph EI (:func:`netsci_dl.threshold.apply_spec`): default ``"auto"``,
        the package's one default (the CLI's ``--threshold``); ``"none"`` (or None): the full
        graph.
    fisher_kind : {"model_exact", "model", "empirical"}
        :func:`netsci_dl.activations._fisher.fisher_trace`.
    lanczos_iter : int
        Lanczos iterations of the top Hessian eigenvalue (0: none).
    hutchinson_probes : int
        Rademacher probes of the Hessian trace (0: none).
    gradcov : bool
        Top eigenvalue and trace of the gradient covariance.
    similarity : str
        A measure of :data:`netsci_dl.analysis.similarity.MEASURES` (``"cka"``, ``"svcca"``, ...).
    batch_size, seed : int
    device : str, optional
        torch device of the data-dependent measures; None (default) or ``"auto"``: CUDA when
        present, else the CPU.

    Examples
    --------
    >>> TrainingMeasureOptions(similarity="svcca").to_dict()["similarity"]
    'svcca'
    """

    ei: Any = field(default_factory=_default_ei_options)
    ei_activations: Any = None
    ei_threshold: str | None = "auto"
    fisher_kind: str = "model_exact"
    lanczos_iter: int = 20
    hutchinson_probes: int = 0
    gradcov: bool = True
    similarity: str = "cka"
    batch_size: int = 64
    seed: int = 0
    device: str | None = None

    def __post_init__(self) -> None:
        _args.check_fields(
            self,
            counts={
                "lanczos_iter": (0, 10_000),
                "hutchinson_probes": (0, 100_000),
                "batch_size": (1, 2**31 - 1),
            },
            seeds=("seed",),
            devices=("device",),
        )
        from netsci_dl.activations import FISHER_KINDS
        from netsci_dl.analysis.similarity import check_measure

        if self.fisher_kind not in FISHER_KINDS:
            raise InputError(f"fisher_kind must be one of {FISHER_KINDS}, got {self.fisher_kind!r}")
        check_measure(self.similarity)
        for name in ("lanczos_iter", "hutchinson_probes"):
            if int(getattr(self, name)) < 0:
                raise InputError(f"{name} must be >= 0, got {getattr(self, name)}")
        if int(self.batch_size) < 1:
            raise InputError(f"batch_size must be >= 1, got {self.batch_size}")

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k != "ei"}
        d["ei"] = self.ei.to_dict() if hasattr(self.ei, "to_dict") else asdict(self.ei)
        return d

    def __repr__(self) -> str:
        from netsci_dl._results import changed_only

        return changed_only(self)


def _families(measures: Any) -> tuple[str, ...]:
    if isinstance(measures, str):
        measures = [m.strip() for m in measures.split(",") if m.strip()]
    out = tuple(dict.fromkeys(str(m) for m in measures))
    bad = [m for m in out if m not in MEASURE_FAMILIES]
    if bad or not out:
        raise InputError(f"measures: expected some of {MEASURE_FAMILIES}, got {list(out) or '[]'}")
    return out


def _model_job(path: Any, shared: tuple[Any, ...]) -> Any:
    """Fisher and curvature of one snapshot (a task of :func:`netsci_dl.parallel.map_tasks`)."""
    from netsci_dl.runs._snapshot_measures import snapshot_measures

    X, y, opts, families = shared
    curv = "curvature" in families
    return snapshot_measures(
        path,
        X,
        y,
        fisher_kind=opts.fisher_kind if "fisher" in families else None,
        lanczos_iter=opts.lanczos_iter if curv else 0,
        hutchinson_probes=opts.hutchinson_probes if curv else 0,
        gradcov=bool(opts.gradcov) and curv,
        batch_size=opts.batch_size,
        seed=opts.seed,
        device=opts.device,
    )


def training_measures(
    source: str | os.PathLike | list[Any],
    X: Any,
    y: Any = None,
    *,
    measures: Any = MEASURE_FAMILIES,
    options: TrainingMeasureOptions | None = None,
    n_jobs: int | None = None,
    progress: bool = False,
) -> Any:
    """Every measure of every snapshot of a run, as one long table.

    Parameters
    ----------
    source : run folder, or sequence of snapshot paths or of CheckpointModel
        The snapshots, in training order (:func:`netsci_dl.runs.format.snapshot_sources`), or
        a user's own checkpoints (:func:`netsci_dl.runs.checkpoints.checkpoint_models`; the
        graph EI is read from the built model by :func:`netsci_dl.export.load`).
    X : (n_samples, ...) array, a :class:`~netsci_dl.datasets.Dataset`, a torch ``Dataset`` or
        ``DataLoader``
        The probe set, the same at every snapshot (a data set object also gives ``y``).
    y : (n_samples,) int array, optional
        Labels of ``X``: needed by ``"curvature"`` and the empirical Fisher.
    measures : sequence of str (or ``"ei,fisher"``)
        Families from :data:`MEASURE_FAMILIES`:

        - ``"ei"``: the graph EI (layer ``"all"``: ``graph_ei``, ``graph_eff``,
          ``graph_determinism``, ``graph_degeneracy``) and each weight block's causal-plane point
          (``layer_sensitivity``, ``layer_degeneracy``, ``layer_ei``), from the weights
          (:meth:`~netsci_dl.runs.trajectory.EITrajectory.to_long_frame`);
        - ``"fisher"``: ``fisher_trace`` per module (+ ``_stderr``, ``_share``, ``_per_param``)
          and in all (layer ``"all"``);
        - ``"curvature"``: ``hessian_top_eigenvalue`` (+ ``_residual``), ``hessian_trace``
          (+ ``_stderr``, when ``hutchinson_probes``), ``gradcov_top_eigenvalue``,
          ``gradcov_trace``;
        - ``"similarity"``: ``<measure>_to_reference`` of each layer to the same layer of the
          last snapshot (:meth:`~netsci_dl.analysis.similarity.TrainingSimilarity.to_long_frame`).

        ``"fisher"`` and ``"curvature"`` need classifier snapshots (an MLP or a CNN trained on
        labels; a DBN has no class outputs) and add the trainer's per-epoch numbers
        (``train_loss``, ``test_accuracy``, ``lr``, ...) from each snapshot's sidecar.
    options : TrainingMeasureOptions, optional
    n_jobs : int, optional
        Snapshots in parallel (:func:`netsci_dl.parallel.map_tasks`) within each family.
    progress : bool
        Progress bars (default off; shown only when stderr is a terminal).

    Returns
    -------
    pandas.DataFrame
        Columns ``snapshot step epoch layer metric value family``: one row per (snapshot, layer,
        metric), snapshots in training order. ``layer`` names what each family measures (a
        weight block ``src->dst`` for EI, a module for Fisher and similarity, ``"all"`` for
        whole-model numbers), so filter by ``metric`` before comparing layers. ``attrs``
        holds the settings and ``x_label``, what ``step`` counts
        (:data:`netsci_dl.runs.format.UNIT_LABELS`).

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from netsci_dl.datasets import load_digits
    >>> from netsci_dl.models.mlp import MLPConfig, train_mlp
    >>> d = load_digits()
    >>> run = tempfile.mkdtemp()
    >>> _ = train_mlp(d.X[:200], d.y[:200], MLPConfig(layers=(64, 6, 10), epochs=1), run)
    >>> df = training_measures(run, d.X[:50], d.y[:50], measures=("fisher", "similarity"))
    >>> sorted(set(df.family)), df.snapshot.nunique()
    (['fisher', 'similarity', 'trainer'], 2)
    """
    import pandas as pd

    from netsci_dl._tables import LONG_COLUMNS
    from netsci_dl.parallel import map_tasks
    from netsci_dl.runs.checkpoints import CheckpointModel
    from netsci_dl.runs.similarity import ActivationSpec, training_similarity

    families = _families(measures)
    opts = options or TrainingMeasureOptions()
    if not isinstance(opts, TrainingMeasureOptions):
        raise InputError(f"options must be a TrainingMeasureOptions, got {type(opts).__name__}")
    from netsci_dl.datasets import as_arrays

    masked = X if getattr(X, "attention_mask", None) is not None else None  # token padding
    image_shape = getattr(X, "image_shape", None) if masked is None else None
    X, y_data = as_arrays(X)  # a Dataset, a torch Dataset or DataLoader, or the array itself
    y = y_data if y is None else y
    if "curvature" in families and y is None:
        raise InputError("measures 'curvature' needs the labels y of the probe set")
    srcs = _snapshot_items(source)
    paths = [p for p, _ in srcs]
    if families != ("ei",):
        from netsci_dl.runs.checkpoints import runnable

        last = runnable(paths[-1], opts.device)  # read once for both checks
        X = _conv_images(last, X, image_shape)
        _check_takes(last, paths[-1], X, families, masked is not None)
    parts = []
    if "ei" in families:
        from netsci_dl.runs.trajectory import ei_trajectory

        T = ei_trajectory(
            [p.graph() if isinstance(p, CheckpointModel) else p for p in paths],
            threshold=opts.ei_threshold,
            activations=opts.ei_activations,
            options=opts.ei,
            progress=progress,
            n_jobs=n_jobs,
        )
        parts.append(T.to_long_frame().assign(family="ei"))
    if "fisher" in families or "curvature" in families:
        frames = map_tasks(
            _model_job,
            paths,
            shared=(X, y, opts, families),
            n_jobs=n_jobs,
            desc="fisher/curvature",
            unit="snapshot",
            progress=progress,
        )
        df = pd.concat(frames, ignore_index=True)
        fam = df["metric"].map(_family_of)
        parts.append(df.assign(family=fam))
    if "similarity" in families:
        S = training_similarity(
            paths,
            X if masked is None else masked,  # a token Dataset keeps its attention_mask
            measure=opts.similarity,
            spec=ActivationSpec(batch_size=max(opts.batch_size, 256), device=opts.device),
            within=False,
            progress=progress,
            n_jobs=n_jobs,
        )
        parts.append(S.to_long_frame().assign(family="similarity"))
    out = pd.concat(parts, ignore_index=True)[[*LONG_COLUMNS, "family"]]
    order = {str(info["label"]): i for i, (_, info) in enumerate(srcs)}
    out = out.sort_values("snapshot", key=lambda s: s.map(order), kind="stable", ignore_index=True)
    from netsci_dl.runs.format import axis_label

    out.attrs.update(
        x_label=axis_label([info for _, info in srcs]),  # what the steps count
        measures=list(families),
        options=opts.to_dict(),
        n_samples=int(len(X)),
        n_snapshots=len(paths),
    )
    return out


def _snapshot_items(source: Any) -> list[tuple[Any, dict[str, Any]]]:
    """``[(snapshot file or CheckpointModel, info), ...]`` in training order."""
    from netsci_dl.runs.checkpoints import CheckpointModel
    from netsci_dl.runs.format import snapshot_sources

    items = source if isinstance(source, list | tuple) else None
    if items and all(isinstance(it, CheckpointModel) for it in items):
        return [(it, it.info()) for it in items]
    if items and any(not isinstance(it, str | os.PathLike) for it in items):
        raise InputError(
            "training_measures reads snapshot files (a run folder or paths) or a user's "
            "checkpoints (netsci_dl.runs.checkpoint_models(paths, model=...))"
        )
    return snapshot_sources(source)


def _conv_images(model: Any, X: Any, image_shape: Any) -> Any:
    """A Dataset's flat rows as its images ``(n, C, H, W)`` for a model whose first
    Linear/Conv2d module is a Conv2d taking the images' channels: the data set's own
    ``image_shape``, known, not guessed. Anything else is returned as it is."""
    import numpy as np
    import torch

    shape = tuple(int(v) for v in image_shape or ())
    if getattr(X, "ndim", 0) != 2 or len(shape) not in (2, 3) or int(np.prod(shape)) != X.shape[1]:
        return X
    chw = shape if len(shape) == 3 else (1, *shape)
    if not isinstance(model, torch.nn.Module):
        return X
    kinds = (torch.nn.Linear, torch.nn.Conv2d)
    first = next((m for m in model.modules() if isinstance(m, kinds)), None)
    if not isinstance(first, torch.nn.Conv2d) or int(first.in_channels) != chw[0]:
        return X
    return X.reshape(X.shape[0], *chw)


def _check_takes(
    model: Any, path: Any, X: Any, families: tuple[str, ...] = (), mask: bool = False
) -> None:
    """Refuse probe examples ``model`` (the snapshot at ``path``) cannot run on (wrong number
    of features, image size), and the measures that do not run on token ids
    (:func:`_check_token_measures`)."""
    import numpy as np
    import torch

    if not isinstance(model, torch.nn.Module):
        return
    dev = next(iter(model.parameters()), torch.empty(0)).device
    x1 = np.array(X[:1])  # a writable copy of one example
    ids = x1.dtype.kind in "iu" and any(isinstance(m, torch.nn.Embedding) for m in model.modules())
    x = torch.as_tensor(x1 if ids else x1.astype(np.float32), device=dev)  # token ids stay ints
    if ids:
        from netsci_dl.activations import check_token_ids

        check_token_ids(model, X)
    try:
        with torch.no_grad():
            out = model(x)
    except RuntimeError as e:
        raise InputError(
            f"{path}: the model does not run on the probe examples of shape "
            f"{tuple(np.shape(X))[1:]} ({str(e).splitlines()[0]}); pass data of its input size "
            "(--input-shape 1,C,H,W; from Python: X reshaped)"
        ) from None
    if ids:
        _check_token_measures(model, out, families, mask)


def _check_token_measures(model: Any, out: Any, families: tuple[str, ...], mask: bool) -> None:
    """Fisher runs on token ids of a model with logits out and no attention mask; curvature
    (Hessian-vector products) takes float inputs only."""
    import torch

    why = []
    if "curvature" in families:
        why.append("curvature: Hessian-vector products take float inputs, not token ids")
    if "fisher" in families and (mask or not torch.is_tensor(out)):
        why.append(
            "fisher: per-example gradients pass no attention_mask"
            if mask
            else f"fisher: {type(model).__name__} returns {type(out).__name__}, not logits"
        )
    if why:
        raise InputError(
            f"measures on token ids ({type(model).__name__}): {'; '.join(why)}. "
            "--measures similarity (training_similarity from Python) runs on token data"
            + (" with its attention_mask" if mask else "")
        )


def _family_of(metric: str) -> str:
    from netsci_dl.runs._snapshot_measures import SIDECAR_METRICS

    if metric in SIDECAR_METRICS:
        return "trainer"
    if metric.startswith(("hessian_", "gradcov_")):
        return "curvature"
    return "fisher"
