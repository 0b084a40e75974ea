"""``netsci-dl modules``: functional modules of one layer (RFs -> EMD -> hierarchical clustering)."""

from __future__ import annotations

from typing import Any

import click

from netsci_dl.cli._common import (
    LoaderOptions,
    echo,
    figure_names,
    is_quiet,
    loader_options,
    option_group,
    threshold_option,
    write_csv,
    write_json,
    write_npy,
)
from netsci_dl.cli._parallel import parallel_context, parallel_options

OUTPUTS = ("labels.csv", "emd.npy", "module_stats.csv", "summary.json")
FIGURES = ("dendrogram", "module_rfs", "module_members", "module_profiles")


def _choice(
    k: int, distance: float | None, linkage: str, ground: str, distribution: str
) -> dict[str, Any]:
    """The keywords of :func:`~netsci_dl.analysis.fields.modules.analyze_modules`."""
    return {
        "k": None if distance is not None else k,
        "distance": distance,
        "method": linkage,
        "ground": ground,
        "distribution": distribution,
    }


@click.command("modules")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option(
    "--modules-layer",
    "--layer",
    "layer",
    default="1",
    show_default=True,
    help="Layer (index 1..L-1 or name) whose receptive fields are clustered into functional "
    "modules.",
)
@option_group(
    "choice",
    _choice,
    click.option(
        "--modules-k",
        "--k",
        "k",
        default=20,
        show_default=True,
        type=int,
        help="Number of functional modules.",
    ),
    click.option(
        "--distance",
        default=None,
        type=float,
        help="Cut the tree at this EMD height instead of --k.",
    ),
    click.option(
        "--linkage",
        default="average",
        show_default=True,
        type=click.Choice(
            ["average", "complete", "single", "weighted", "ward", "centroid", "median"]
        ),
        help="Linkage of the hierarchical clustering (ward/centroid/median assume Euclidean "
        "distances).",
    ),
    click.option(
        "--ground",
        default="euclidean",
        show_default=True,
        type=click.Choice(["euclidean", "manhattan"]),
        help="EMD ground distance between pixels.",
    ),
    click.option(
        "--distribution",
        default="shift",
        show_default=True,
        type=click.Choice(["shift", "abs", "pos", "signed"]),
        help="RF -> distribution.",
    ),
)
@threshold_option("The receptive fields are read from the thresholded graph.")
@loader_options
@parallel_options(what="EMD tiles")
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
    choice: dict[str, Any],
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
    from netsci_dl._files.atomic import atomic_outputs, check_folder
    from netsci_dl.analysis.fields.modules import analyze_modules

    figures = figure_names(*FIGURES)
    names = list(OUTPUTS) + (figures if plots else []) + (["graph.graphml"] if graphml else [])
    stale = ([] if plots else figures) + ([] if graphml else ["graph.graphml"])
    out = check_folder(output, names, force=force)
    G = loader.load(checkpoint)
    lay: int | str = int(layer) if layer.lstrip("-").isdigit() else layer
    with parallel_context(jobs, scheduler) as n_jobs:
        a = analyze_modules(
            G, lay, **choice, threshold=threshold_spec, n_jobs=n_jobs, progress=not is_quiet(ctx)
        )
    summary = dict(a.to_dict(), source=str(checkpoint), layer_name=G.layer_names[a.layer])
    # every file goes to a hidden staging folder first: a failure leaves no partial results
    with atomic_outputs(out, names, force=force, stale=stale) as stage:
        write_csv(stage / "labels.csv", a.modules.to_frame())
        write_npy(stage / "emd.npy", a.emd.matrix)
        write_csv(stage / "module_stats.csv", a.stats.to_frame())
        write_json(stage / "summary.json", summary)
        if plots:
            _figures(stage, a)
        if graphml:
            _graphml(stage, G, a, threshold_spec)
    echo(
        f"layer {a.layer}: {a.modules.k} modules (cophenetic r = {a.modules.cophenetic:.3f}); "
        f"wrote {out}/"
    )


def _graphml(stage: Any, G: Any, a: Any, threshold_spec: str) -> None:
    """graph.graphml: the thresholded graph with a 'module' node column (-1 outside the layer)."""
    from netsci_dl import threshold
    from netsci_dl.io.graphml import write_graphml
    from netsci_dl.io.layer_column import layer_column

    H = threshold.apply_spec(G, threshold_spec)
    column = layer_column(H, a.layer, a.modules.labels)
    write_graphml(H, stage / "graph.graphml", node_attrs={"module": column})


def _figures(stage: Any, a: Any) -> None:
    """The dendrogram, each module's mean field, its members and its profile."""
    from netsci_dl.plot import save_figure
    from netsci_dl.plot.modules import (
        plot_dendrogram,
        plot_module_members,
        plot_module_profiles,
        plot_module_rfs,
    )

    save_figure(plot_dendrogram(a.modules), stage / "dendrogram")
    save_figure(plot_module_rfs(a.stats), stage / "module_rfs")
    save_figure(plot_module_members(a.rfs, a.modules.labels, emd=a.emd), stage / "module_members")
    save_figure(plot_module_profiles(a.stats), stage / "module_profiles")
