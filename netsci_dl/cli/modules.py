"""``netsci-dl modules``: functional modules of one layer (RFs -> EMD -> hierarchical clustering)."""

from __future__ import annotations

import click

from netsci_dl.cli._common import LoaderOptions, loader_options, threshold_option
from netsci_dl.cli._parallel import parallel_context, parallel_options
from netsci_dl.errors import InputError

OUTPUTS = ("labels.csv", "emd.npy", "module_stats.csv", "summary.json")
FIGURES = ("dendrogram", "module_rfs", "module_members", "module_profiles")


@click.command("modules")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option(
    "--modules-layer",
    "--layer",
    "layer",
    default="1",
    show_default=True,
    help="Layer index (1..L-1) or name.",
)
@click.option(
    "--modules-k", "--k", "k", default=20, show_default=True, type=int, help="Number of modules."
)
@click.option(
    "--distance", default=None, type=float, help="Cut the tree at this EMD height instead of --k."
)
@click.option(
    "--method",
    default="average",
    show_default=True,
    type=click.Choice(["average", "complete", "single", "weighted", "ward", "centroid", "median"]),
    help="Linkage (ward/centroid/median assume Euclidean distances).",
)
@click.option(
    "--ground",
    default="euclidean",
    show_default=True,
    type=click.Choice(["euclidean", "manhattan"]),
    help="EMD ground distance between pixels.",
)
@click.option(
    "--distribution",
    default="shift",
    show_default=True,
    type=click.Choice(["shift", "abs", "pos", "signed"]),
    help="RF -> distribution.",
)
@threshold_option("The receptive fields are read from the thresholded graph.")
@loader_options
@parallel_options(jobs_default=-1, what="EMD tiles")
@click.option("--plots/--no-plots", default=True, show_default=True, help="Write the figures.")
@click.option(
    "--graphml/--no-graphml",
    default=True,
    show_default=True,
    help="Also write graph.graphml (the thresholded graph) with a 'module' node column "
    "(-1 outside the layer), for Gephi.",
)
@click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False), help="Output folder."
)
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@click.pass_context
def modules(
    ctx: click.Context,
    checkpoint: str,
    layer: str,
    k: int,
    distance: float | None,
    method: str,
    ground: str,
    distribution: str,
    threshold_spec: str,
    loader: LoaderOptions,
    jobs: int,
    scheduler: str | None,
    plots: bool,
    graphml: bool,
    output: str,
    force: bool,
) -> None:
    """Cluster the receptive fields of one layer of CHECKPOINT by EMD into modules and profile
    each module (T18): labels.csv, emd.npy (square), module_stats.csv, summary.json, figures,
    graph.graphml."""
    import json
    from pathlib import Path

    import numpy as np

    from netsci_dl import threshold
    from netsci_dl._files.atomic import atomic_outputs, check_folder
    from netsci_dl._sanitize import csv_frame
    from netsci_dl.analysis.fields.modules import analyze_modules

    out = Path(output)
    figures = [f"{f}.{e}" for f in FIGURES for e in ("png", "svg")]
    names = list(OUTPUTS) + (figures if plots else []) + (["graph.graphml"] if graphml else [])
    stale = ([] if plots else figures) + ([] if graphml else ["graph.graphml"])
    check_folder(out, names, force=force)
    if jobs == 0:
        raise InputError("--jobs 0: give a number of processes, or -1 for all cores")
    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    G = loader.load(checkpoint)
    lay: int | str = int(layer) if layer.lstrip("-").isdigit() else layer
    with parallel_context(jobs, scheduler) as n_jobs:
        a = analyze_modules(
            G,
            lay,
            k=None if distance is not None else k,
            distance=distance,
            method=method,
            ground=ground,
            distribution=distribution,
            threshold=threshold_spec,
            n_jobs=n_jobs,
            progress=not quiet,
        )
    # every file goes to a hidden staging folder first: a failure leaves no partial results
    with atomic_outputs(out, names, force=force, stale=stale) as stage:
        csv_frame(a.modules.to_frame()).to_csv(stage / "labels.csv", index=False)
        with open(stage / "emd.npy", "wb") as fh:
            np.save(fh, a.emd.matrix)
        csv_frame(a.stats.to_frame()).to_csv(stage / "module_stats.csv", index=False)
        summary = a.to_dict()
        summary.update(source=str(checkpoint), layer_name=G.layer_names[a.layer])
        (stage / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        if plots:
            from netsci_dl.plot import save_figure
            from netsci_dl.plot.modules import (
                plot_dendrogram,
                plot_module_members,
                plot_module_profiles,
                plot_module_rfs,
            )

            save_figure(plot_dendrogram(a.modules), stage / "dendrogram")
            save_figure(plot_module_rfs(a.stats), stage / "module_rfs")
            save_figure(
                plot_module_members(a.rfs, a.modules.labels, emd=a.emd), stage / "module_members"
            )
            save_figure(plot_module_profiles(a.stats), stage / "module_profiles")
        if graphml:
            from netsci_dl.io.graphml import write_graphml

            H = threshold.apply_spec(G, threshold_spec)
            module = np.full(H.n_nodes, -1, np.int64)
            module[H.layer_slice(a.layer)] = a.modules.labels
            write_graphml(H, stage / "graph.graphml", node_attrs={"module": module})
    from netsci_dl.cli._common import echo

    echo(
        f"layer {a.layer}: {a.modules.k} modules (cophenetic r = {a.modules.cophenetic:.3f}); "
        f"wrote {out}/"
    )
