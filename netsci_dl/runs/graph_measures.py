"""The graph of every snapshot, measured: structure and graph EI over training, on the weights.

For each snapshot of a run (a netsci_dl run folder, a folder of the user's checkpoints, HF
Trainer ``checkpoint-N/`` folders, Lightning ``.ckpt`` files, or a list; see
:func:`netsci_dl.runs.format.discover`) the snapshot is exported
(:func:`netsci_dl.export.load`), thresholded (``threshold``, the package's one default
``"auto"``) and measured with the functions of :mod:`netsci_dl.analysis`:
:func:`~netsci_dl.analysis.structural_summary` (assortativity, weight statistics, degrees and
strengths) and :func:`~netsci_dl.analysis.effective_information` (graph EI over random walks).
The result is the long table every per-snapshot measure shares
(:data:`netsci_dl._tables.LONG_COLUMNS`), so it stacks with
:func:`~netsci_dl.runs.training_measures` and draws with
:func:`netsci_dl.plot.measures.plot_measures`. No data are needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netsci_dl.errors import InputError

__all__ = ["GRAPH_METRICS", "graph_measures_over_training", "snapshot_items"]

#: the metrics of :func:`graph_measures_over_training`: (layer kind, metric, meaning)
GRAPH_METRICS = (
    ("all", "graph_ei", "graph EI over random walks on the thresholded graph, |w| (bits)"),
    ("all", "assortativity_r", "Newman r of the thresholded graph, seen undirected"),
    ("all", "weight_std", "standard deviation of every weight of the full graph"),
    ("block", "weight_mean", "mean signed weight of the block (full graph)"),
    ("block", "weight_std", "standard deviation of the block's weights (full graph)"),
    ("block", "edges_kept", "edges of the block the threshold keeps"),
    ("block", "assortativity_r", "Newman r inside the block (thresholded)"),
    ("layer", "degree_mean", "mean total degree of the layer's nodes (thresholded)"),
    ("layer", "strength_up_mean", "mean signed strength towards the layer above (full graph)"),
)


def snapshot_items(source: Any) -> list[tuple[Any, dict[str, Any]]]:
    """``[(path or LayeredGraph or CheckpointModel, info), ...]`` of ``source`` in training order:
    :class:`~netsci_dl.runs.checkpoints.CheckpointModel` items as they are (their ``info()``),
    anything else through :func:`netsci_dl.runs.format.snapshot_sources`."""
    from netsci_dl.runs.checkpoints import CheckpointModel
    from netsci_dl.runs.format import snapshot_sources

    if isinstance(source, CheckpointModel):
        source = [source]
    items = list(source) if isinstance(source, list | tuple) else None
    if items and all(isinstance(it, CheckpointModel) for it in items):
        return [(it, it.info()) for it in items]
    if items and any(isinstance(it, CheckpointModel) for it in items):
        raise InputError(
            "snapshots: give either CheckpointModel items (netsci_dl.runs.checkpoint_models) "
            "or paths / LayeredGraphs, not both"
        )
    return snapshot_sources(source)


#: the :func:`netsci_dl.export.load` keywords a CheckpointModel holds itself (or a built module
#: does not take)
_CHECKPOINT_KEYS = ("model", "state_dict_key", "partial", "layout", "image_shape")


def _graph_of(obj: Any, load_with: Mapping[str, Any]) -> Any:
    from netsci_dl.graph import LayeredGraph
    from netsci_dl.runs.checkpoints import CheckpointModel

    if isinstance(obj, LayeredGraph):
        return obj
    if isinstance(obj, CheckpointModel):  # its class and loading are its own
        return obj.graph(**{k: v for k, v in load_with.items() if k not in _CHECKPOINT_KEYS})
    from netsci_dl.export import load

    return load(obj, **load_with)


def _snapshot_rows(item: tuple, shared: tuple) -> Any:
    """The long rows of one snapshot (a task of :func:`netsci_dl.parallel.map_tasks`)."""
    from netsci_dl._tables import long_rows
    from netsci_dl.analysis import effective_information, structural_summary
    from netsci_dl.threshold import apply_spec

    obj, info = item
    threshold, load_with = shared
    G = _graph_of(obj, load_with)
    H = apply_spec(G, threshold)
    S = structural_summary(G, threshold=H)
    rows = [
        ("all", "graph_ei", float(effective_information(H, weights="abs").ei)),
        ("all", "assortativity_r", float(S.r)),
        ("all", "weight_std", float(S.weights.overall.std)),
    ]
    for b, (name, w) in enumerate(zip(S.block_names, S.weights.blocks, strict=True)):
        rows += [
            (name, "weight_mean", float(w.mean)),
            (name, "weight_std", float(w.std)),
            (name, "edges_kept", float(S.block_edges_kept[b])),
            (name, "assortativity_r", float(S.r_blocks[b])),
        ]
    lay = S.layers_frame()
    for name, k, s in zip(lay.index, lay["k_tot_mean"], lay["s_up_mean"], strict=True):
        rows += [(str(name), "degree_mean", float(k)), (str(name), "strength_up_mean", float(s))]
    return G.layer_sizes, long_rows(rows, info["label"], int(info["step"]), info["epoch"])


def graph_measures_over_training(
    source: Any,
    *,
    threshold: str = "auto",
    load_with: Mapping[str, Any] | None = None,
    progress: bool = False,
    n_jobs: int | None = None,
) -> Any:
    """The graph measures of every snapshot of a run, in one long table.

    Parameters
    ----------
    source : run folder, folder of checkpoints, or sequence
        A netsci_dl run folder, a folder of checkpoint files, HF Trainer ``checkpoint-N/``
        folders or Lightning ``.ckpt`` files (:func:`netsci_dl.runs.format.discover`), a list of
        paths / LayeredGraphs in training order, or a user's checkpoints with their class
        (:func:`netsci_dl.runs.checkpoint_models`: each built, loaded and exported).
    threshold : str
        The rule of the thresholded graph (:func:`netsci_dl.threshold.apply_spec`; default
        ``"auto"``, the package's one default).
    load_with : dict, optional
        Keywords of :func:`netsci_dl.export.load` for every snapshot (``example_input=``,
        ``conv_reduce=``, ``layers=``, ...); a CheckpointModel keeps its own ``model``,
        ``state_dict_key`` and ``partial``.
    progress : bool
        A progress bar (default off).
    n_jobs : int, optional
        Snapshots in parallel (:func:`netsci_dl.parallel.map_tasks`); the numbers do not
        depend on it.

    Returns
    -------
    pandas.DataFrame
        ``snapshot step epoch layer metric value`` (:data:`GRAPH_METRICS`; ``layer`` is
        ``"all"``, a weight block's name or a layer's name), in training order;
        ``attrs["x_label"]`` says what ``step`` counts (:data:`netsci_dl.runs.format.UNIT_LABELS`).

    Raises
    ------
    InputError
        Snapshots whose layer sizes differ, no snapshots.

    Examples
    --------
    >>> import numpy as np, netsci_dl as nd
    >>> rng = np.random.default_rng(0)
    >>> Gs = [nd.from_matrices([rng.normal(size=(6, 4))]).with_meta(source=f"w{i}.npz")
    ...       for i in range(2)]
    >>> df = graph_measures_over_training(Gs, threshold="quantile:0.5")
    >>> df["snapshot"].nunique(), df.attrs["x_label"], "graph_ei" in set(df["metric"])
    (2, 'checkpoint index', True)
    """
    import pandas as pd

    from netsci_dl.parallel import map_tasks
    from netsci_dl.runs.format import axis_label

    items = snapshot_items(source)
    results = map_tasks(
        _snapshot_rows,
        items,
        shared=(threshold, dict(load_with or {})),
        n_jobs=n_jobs,
        desc="graph measures",
        unit="snapshot",
        progress=progress,
    )
    first = results[0][0]
    for (_, info), (sizes, _) in zip(items, results, strict=True):
        if sizes != first:
            raise InputError(
                f"snapshot {info['label']}: layer sizes {sizes} differ from the first "
                f"snapshot's {first}"
            )
    out = pd.concat([df for _, df in results], ignore_index=True)
    out.attrs.update(
        x_label=axis_label([info for _, info in items]),
        threshold=threshold,
        n_snapshots=len(items),
        sources=[str(info.get("source", info["label"])) for _, info in items],
    )
    return out
