"""``netsci-dl interactions``: AND / OR interactions of a classifier's output and of each layer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from netsci_dl.cli._parallel import parallel_context, parallel_options
from netsci_dl.errors import InputError


def _grid(value: str) -> tuple[int, int]:
    try:
        g = tuple(int(v) for v in value.lower().split("x"))
    except ValueError:
        raise InputError(f"--players {value!r}: expected a grid such as 3x3") from None
    if len(g) != 2 or min(g) < 1:
        raise InputError(f"--players {value!r}: expected a grid such as 3x3")
    return g  # type: ignore[return-value]


def _shape(value: str | None) -> tuple[int, ...] | None:
    if not value:
        return None
    try:
        s = tuple(int(v) for v in value.lower().split("x"))
    except ValueError:
        raise InputError(f"--input-shape {value!r}: expected e.g. 1x8x8") from None
    if min(s) < 1:
        raise InputError(f"--input-shape {value!r}: sizes must be positive")
    return s


def _interaction_job(task: tuple[str, str], shared: tuple[Any, ...]) -> Any:
    """The interactions of one model file (a task of :func:`netsci_dl.parallel.map_tasks`)."""
    from netsci_dl.activations import layer_interactions
    from netsci_dl.models.load import load_model

    label, path = task
    X, y, probe_X, probe_y, groups, baseline, split, salient, device = shared
    return layer_interactions(
        load_model(path),
        X,
        y,
        players=groups,
        features="layers",
        probe_data=(probe_X, probe_y),
        baseline=baseline,
        options=split,
        salient=salient,
        device=device,
        label=label,
    )


FIGURES = ("strength_by_order", "salient_by_order", "layer_changes") + tuple(
    f"top_interactions_sample{s}" for s in (0, 1)
)


@click.command("interactions")
@click.argument("source", metavar="CHECKPOINT_OR_RUN", type=click.Path(exists=True))
@click.option("-o", "--output", "out", required=True, type=click.Path(file_okay=False))
@click.option("--data", default="digits", show_default=True, help="digits | mnist:PATH.")
@click.option(
    "--players", default="3x3", show_default=True, help="Grid of image patches, e.g. 3x3."
)
@click.option("--samples", default=20, show_default=True, type=int, help="Samples to explain.")
@click.option(
    "--baseline",
    type=click.Choice(["zero", "mean", "learned"]),
    default="zero",
    show_default=True,
    help="Value of masked patches.",
)
@click.option(
    "--method",
    type=click.Choice(["sgd", "lp"]),
    default="sgd",
    show_default=True,
    help="AND-OR split: CH24's SGD or the exact linear program.",
)
@click.option("--iterations", default=2000, show_default=True, type=int, help="SGD iterations.")
@click.option("--lr", default=0.002, show_default=True, type=float, help="SGD learning rate.")
@click.option("--qthres", default=0.02, show_default=True, type=float, help="Bound on |q|.")
@click.option("--salient", default=0.05, show_default=True, type=float, help="Salient threshold.")
@click.option(
    "--input-shape", default=None, help="Model input per sample, e.g. 1x8x8 (default flat)."
)
@click.option(
    "--snapshots", is_flag=True, help="Also every snapshot of a run (changes over training)."
)
@click.option("--plots/--no-plots", default=True, show_default=True, help="Write the figures.")
@click.option("--seed", default=0, show_default=True, type=int, help="Which samples are drawn.")
@click.option("--device", default=None, help="torch device (default: CUDA when present, else CPU).")
@parallel_options(jobs_default=1, what="models (snapshots)")
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
def interactions(
    source: str,
    out: str,
    data: str,
    players: str,
    samples: int,
    baseline: str,
    method: str,
    iterations: int,
    lr: float,
    qthres: float,
    salient: float,
    input_shape: str | None,
    snapshots: bool,
    plots: bool,
    seed: int,
    device: str | None,
    jobs: int,
    scheduler: str | None,
    force: bool,
) -> None:
    """AND / OR interactions (CH24) between image patches of the model's output and of each hidden
    layer (linear probes fitted on the whole data set), for SAMPLES samples drawn from DATA.
    CHECKPOINT_OR_RUN is a model file or a run folder (its model.safetensors; with --snapshots
    every snapshot too). Writes interactions.csv (every value), summary.json,
    strength_by_order.csv, layer_changes.csv, figures, and snapshot_changes.csv."""
    import numpy as np
    import pandas as pd

    from netsci_dl._files.atomic import atomic_outputs, check_folder
    from netsci_dl._sanitize import csv_frame
    from netsci_dl.activations import grid_players
    from netsci_dl.analysis.interactions import SplitOptions, snapshot_changes
    from netsci_dl.cli._common import check_device, echo
    from netsci_dl.datasets import load_dataset
    from netsci_dl.parallel import map_tasks
    from netsci_dl.plot.interactions import interaction_figures
    from netsci_dl.runs.format import list_snapshots

    folder = Path(out)
    names = ["interactions.csv", "summary.json", "strength_by_order.csv", "layer_changes.csv"]
    if snapshots:
        names.append("snapshot_changes.csv")
    figures = [f"{f}.{e}" for f in FIGURES for e in ("png", "svg")]
    check_folder(folder, names + (figures if plots else []), force=force)
    check_device(device)
    split = SplitOptions(qthres=qthres, iterations=iterations, lr=lr, method=method)
    grid = _grid(players)
    ds = load_dataset(data)
    src = Path(source)
    models: list[tuple[str, str]] = []
    if src.is_dir():
        if snapshots:
            models += [(p.stem, str(p)) for p, _ in list_snapshots(src)]
        final = src / "model.safetensors"
        if final.exists():
            models.append(("final", str(final)))
        if not models:
            raise InputError(f"{src}: a run folder needs model.safetensors or snapshots")
    else:
        models.append((src.stem, str(src)))
    shape = _shape(input_shape) or (ds.X.shape[1],)
    if int(np.prod(shape)) != ds.X.shape[1]:
        raise InputError(f"--input-shape {input_shape}: {ds.X.shape[1]} features per sample")
    X = ds.X.reshape((len(ds.X), *shape))
    pick = np.random.default_rng(seed).permutation(len(X))[: max(1, samples)]
    sample_shape = shape if len(shape) >= 2 else ds.image_shape
    groups = grid_players(sample_shape, grid)
    shared = (X[pick], ds.y[pick], X, ds.y, groups, baseline, split, salient, device)
    with parallel_context(jobs, scheduler) as n_jobs:
        results = map_tasks(
            _interaction_job, models, shared=shared, n_jobs=n_jobs, desc="interactions",
            unit="model",
        )  # fmt: skip
    R = results[-1]
    doc = dict(R.to_dict(), source=str(src), data=data, sample_indices=pick.tolist())
    sa, so = R.strength_by_order()
    ca, co = R.salient_counts()
    rows = [
        {"layer": layer, "order": k, "strength_and": sa[l, k], "strength_or": so[l, k],
         "salient_and": ca[l, k], "salient_or": co[l, k]}
        for l, layer in enumerate(R.layers)
        for k in range(R.n_players + 1)
    ]  # fmt: skip
    ch = [c.to_frame() for c in R.changes()]
    figs = []
    # every file goes to a hidden staging folder first: a failure leaves no partial results
    stale = [] if plots else figures
    with atomic_outputs(folder, names + figures, force=force, stale=stale) as stage:
        frames = [r.to_frame().assign(snapshot=r.label) for r in results]
        csv_frame(pd.concat(frames, ignore_index=True)).to_csv(
            stage / "interactions.csv", index=False
        )
        (stage / "summary.json").write_text(json.dumps(doc, indent=2) + "\n")
        csv_frame(pd.DataFrame(rows)).to_csv(stage / "strength_by_order.csv", index=False)
        table = pd.concat(ch, ignore_index=True) if ch else pd.DataFrame()
        csv_frame(table).to_csv(stage / "layer_changes.csv", index=False)
        if snapshots:
            sc = [c.to_frame() for pair in snapshot_changes(results) for c in pair]
            table = pd.concat(sc, ignore_index=True) if sc else pd.DataFrame()
            csv_frame(table).to_csv(stage / "snapshot_changes.csv", index=False)
        if plots:
            figs = interaction_figures(
                R, stage, images=X[pick], image_shape=ds.image_shape, samples=(0, 1),
                name=src.name,
            )  # fmt: skip
    frac = ", ".join(f"{n}: {f:.3f}" for n, f in zip(R.layers, R.sparsity()))
    echo(f"{len(results)} model(s), {R.n_players} players, {R.n_samples} samples")
    echo(f"salient fraction of AND+OR interactions per layer: {frac}")
    echo(f"wrote {folder}/ ({', '.join(names)} and {len(figs)} figure files)")
