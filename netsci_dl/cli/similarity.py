"""``netsci-dl similarity``: layer similarity over training (CKA, SVCCA, PWCCA ...) on data."""

from __future__ import annotations

import json

import click

from netsci_dl.analysis.similarity import MEASURES
from netsci_dl.cli._parallel import parallel_context, parallel_options
from netsci_dl.errors import InputError

FIGURES = (
    "similarity_to_reference",
    "similarity_map",
    "similarity_first_vs_reference",
    "similarity_within",
)
TABLES = ("similarity.csv", "similarity_summary.csv", "similarity.json")


def _keep(value: str) -> float | int:
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        raise InputError(
            f"--keep {value!r}: a fraction such as 0.99, or a number of directions"
        ) from None


def _reference(value: str) -> int | str:
    try:
        return int(value)
    except ValueError:
        return value


@click.command("similarity")
@click.argument(
    "sources", metavar="RUN_DIR_OR_CHECKPOINTS...", nargs=-1, required=True, type=click.Path()
)
@click.option(
    "-o", "--output", "out", required=True, type=click.Path(file_okay=False), help="Output folder."
)
@click.option(
    "--data",
    default="digits",
    show_default=True,
    help="Probe examples: 'digits' or 'mnist:PATH' (see netsci_dl.datasets.load_dataset).",
)
@click.option(
    "--measure",
    type=click.Choice(sorted(MEASURES)),
    default="cka",
    show_default=True,
    help="Similarity measure.",
)
@click.option(
    "--samples",
    default=None,
    type=int,
    help="Use this many examples (a random subset fixed by --seed; default: all).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the subset.")
@click.option("--layers", default=None, help="Comma-separated module names (default: all layers).")
@click.option(
    "--reference",
    default="-1",
    show_default=True,
    help="Snapshot every layer is compared with: an index (-1 = last) or a checkpoint path.",
)
@click.option(
    "--pool",
    type=click.Choice(["mean", "none", "dft"]),
    default="mean",
    show_default=True,
    help="How convolutional outputs become units.",
)
@click.option("--batch-size", default=256, show_default=True, type=int)
@click.option(
    "--keep",
    default="0.99",
    show_default=True,
    help="SVCCA: variance fraction kept (float) or number of directions (int).",
)
@click.option(
    "--criterion",
    type=click.Choice(["variance", "mass"]),
    default="variance",
    show_default=True,
    help="SVCCA cut: fraction of sum s^2 (R17) or of sum s (google/svcca tutorials).",
)
@click.option("--rbf-scale", default=0.5, show_default=True, type=float, help="RBF CKA bandwidth.")
@click.option("--no-within", is_flag=True, help="Skip the layer x layer grid of each snapshot.")
@click.option(
    "--stream",
    is_flag=True,
    help="Never hold activation matrices (linear CKA measures only).",
)
@click.option("--device", default=None, help="torch device (default: CPU).")
@click.option("--name", default=None, help="Model name for the figure titles.")
@parallel_options(jobs_default=1, what="snapshots")
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@click.pass_context
def similarity(
    ctx: click.Context,
    sources: tuple[str, ...],
    out: str,
    data: str,
    measure: str,
    samples: int | None,
    seed: int,
    layers: str | None,
    reference: str,
    pool: str,
    batch_size: int,
    keep: str,
    criterion: str,
    rbf_scale: float,
    no_within: bool,
    stream: bool,
    device: str | None,
    name: str | None,
    jobs: int,
    scheduler: str | None,
    force: bool,
) -> None:
    """Similarity of every layer at every snapshot to the reference (last) snapshot, and
    between the layers of each snapshot, on the examples of --data. SOURCES: a run folder, or
    checkpoints in order. Writes similarity.csv (long table), similarity_summary.csv (per layer:
    first value, minimum, step of convergence), similarity.json and figures (PNG + SVG) into
    OUTPUT."""
    from pathlib import Path

    from netsci_dl._files.atomic import atomic_outputs, check_folder
    from netsci_dl._sanitize import csv_frame
    from netsci_dl.analysis.similarity import SimilarityOptions
    from netsci_dl.cli._common import check_device, echo
    from netsci_dl.datasets import load_dataset
    from netsci_dl.plot.similarity import similarity_figures
    from netsci_dl.runs.similarity import ActivationSpec, training_similarity

    folder = Path(out)
    names = list(TABLES) + [
        f"{s}.{e}"
        for s in FIGURES
        if not (no_within and s == "similarity_within")
        for e in ("png", "svg")
    ]
    stale = [f"similarity_within.{e}" for e in ("png", "svg")] if no_within else []
    check_folder(folder, names, force=force)
    check_device(device)
    for s in sources:
        if not Path(s).exists():
            raise FileNotFoundError(f"{s}: no such run folder or checkpoint")
    ds = load_dataset(data)
    if samples is not None:
        if samples < 2:
            raise InputError(f"--samples {samples}: need at least 2 examples")
        ds = ds.subset(samples, seed=seed)
    src = sources[0] if len(sources) == 1 and Path(sources[0]).is_dir() else list(sources)
    ref = _reference(reference)
    with parallel_context(jobs, scheduler) as n_jobs:
        T = training_similarity(
            src,
            ds,
            measure=measure,
            options=SimilarityOptions(rbf_scale=rbf_scale, keep=_keep(keep), criterion=criterion),
            spec=ActivationSpec(
                layers=tuple(v.strip() for v in layers.split(",") if v.strip()) if layers else None,
                batch_size=batch_size,
                device=device,
                pool=pool,
            ),
            reference=ref,
            within=not no_within,
            stream=stream,
            progress=not (ctx.obj and ctx.obj.get("quiet")),
            n_jobs=n_jobs,
        )
    summary = T.summary_frame()
    doc = T.to_dict()
    doc["summary"] = json.loads(summary.to_json(orient="records"))
    doc["bottom_up"] = {f"{t:g}": T.bottom_up(t) for t in (0.9, 0.95, 0.99)}
    # every file goes to a hidden staging folder first: a failure leaves no partial results
    with atomic_outputs(folder, names, force=force, stale=stale) as stage:
        csv_frame(T.to_frame()).to_csv(stage / "similarity.csv", index=False)
        csv_frame(summary).to_csv(stage / "similarity_summary.csv", index=False)
        (stage / "similarity.json").write_text(json.dumps(doc, indent=2) + "\n")
        similarity_figures(T, stage, name=name)
    conv = ", ".join(
        f"{lay}: {'never' if v != v else int(v)}" for lay, v in zip(T.layers, T.converged_at(0.9))
    )
    echo(
        f"{T.n_snapshots} snapshots, {T.settings['n_samples']} examples of {ds.name}; "
        f"step from which each layer stays >= 0.9 {measure} to the reference: {conv}; "
        f"bottom-up: {'yes' if T.bottom_up(0.9) else 'no'}"
    )
    echo(f"wrote {folder}/ ({', '.join(names)})")
