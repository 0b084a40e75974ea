"""``netsci-dl critical-period``: deficit windows, final accuracy, Fisher trace and curvature."""

from __future__ import annotations

from typing import Any

import click

from netsci_dl.cli._common import (
    curvature_options,
    device_option,
    is_quiet,
    model_options,
    option_group,
    probe_size_option,
)
from netsci_dl.cli._data import data_options
from netsci_dl.cli._parallel import parallel_context, parallel_options
from netsci_dl.errors import InputError


def _ints(value: str, name: str) -> tuple[int, ...]:
    """``"0,2,4"`` -> ``(0, 2, 4)``; ``name`` is the option, for the message."""
    try:
        out = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise InputError(
            f"{name} {value!r}: expected comma-separated integers, e.g. 0,2,4"
        ) from None
    if not out:
        raise InputError(f"{name} {value!r}: give at least one integer")
    return out


def _options(**values: Any) -> Any:
    from netsci_dl.runs.critical import CriticalPeriodOptions

    return CriticalPeriodOptions(**values)


@click.command("critical-period")
@data_options()
@option_group(
    "options",
    _options,
    click.option(
        "--arch",
        type=click.Choice(["lenet", "mlp", "allcnn"]),
        default="lenet",
        show_default=True,
        help="Classifier architecture.",
    ),
    click.option(
        "--deficit",
        type=click.Choice(["blur", "vflip", "label_permutation", "noise"]),
        default="blur",
        show_default=True,
        help="The deficit applied during each window.",
    ),
    click.option(
        "--onsets",
        default="0",
        show_default=True,
        callback=lambda ctx, param, value: _ints(value, "--onsets"),
        help="Window onsets (epochs), e.g. 0,2,4.",
    ),
    click.option(
        "--window",
        "windows",
        default="10",
        show_default=True,
        callback=lambda ctx, param, value: _ints(value, "--window"),
        help="Window length(s) in epochs, e.g. 10 or 5,10,20.",
    ),
    click.option(
        "--epochs",
        type=int,
        default=30,
        show_default=True,
        help="Epochs of training: clean epochs after each deficit (A19: 160); with "
        "--epochs-mode total, every run's length.",
    ),
    click.option(
        "--epochs-mode",
        type=click.Choice(["after", "total"]),
        default="after",
        show_default=True,
        help="What --epochs counts: the clean epochs after each deficit, or every run's length.",
    ),
    click.option(
        "--blur-factor",
        type=float,
        default=4.0,
        show_default=True,
        help="Blur downsampling factor (A19: 32 -> 8; 8x8 digits -> 2x2; 2 keeps 4x4).",
    ),
    click.option(
        "--optimizer",
        type=click.Choice(["sgd", "adam"]),
        default="sgd",
        show_default=True,
        help="Optimiser of the training.",
    ),
    click.option(
        "--lr",
        "learning_rate",
        type=float,
        default=0.05,
        show_default=True,
        help="Initial learning rate of the training.",
    ),
    click.option(
        "--momentum", type=float, default=0.9, show_default=True, help="Momentum of the optimiser."
    ),
    click.option(
        "--weight-decay",
        type=float,
        default=5e-4,
        show_default=True,
        help="Weight decay of the optimiser.",
    ),
    click.option(
        "--schedule",
        type=click.Choice(["constant", "step", "exponential"]),
        default="exponential",
        show_default=True,
        help="Learning-rate schedule.",
    ),
    click.option(
        "--gamma",
        type=float,
        default=0.97,
        show_default=True,
        help="Decay factor of the learning-rate schedule.",
    ),
    click.option(
        "--batch-size", type=int, default=32, show_default=True, help="Examples per batch."
    ),
    click.option(
        "--lr-reset", is_flag=True, help="Restart the learning-rate schedule at the removal epoch."
    ),
    click.option(
        "--control/--no-control",
        default=True,
        show_default=True,
        help="Add a run without deficit.",
    ),
    click.option(
        "--n-train", type=int, default=None, help="Use a fixed subset of the training set."
    ),
    probe_size_option(),
    *curvature_options(),
    click.option(
        "--analyze-every",
        type=int,
        default=1,
        show_default=True,
        help="Measure every this many epochs (epoch 0 and the last always).",
    ),
    click.option("--seed", type=int, default=0, show_default=True, help="Random seed."),
    device_option(),
)
@model_options(input_shape=False, checkpoint=False)
@click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False), help="Output folder."
)
@click.option("--force", is_flag=True, help="Replace a grid made with other settings.")
@click.option("--plots/--no-plots", default=True, show_default=True, help="Write the figures.")
@parallel_options(what="runs of the grid")
@click.pass_context
def critical_period(
    ctx: click.Context,
    data: str,
    options: Any,
    loader: Any,
    output: str,
    force: bool,
    plots: bool,
    jobs: int,
    scheduler: str | None,
) -> None:
    """Train one run per deficit window (plus a control) and follow Fisher trace and curvature.

    With --model, your own classifier class is trained instead of --arch (it gets the
    examples as images, C x H x W, and returns logits). Resumable: rerun the same command to
    finish an interrupted grid. Writes OUTPUT/runs/*/
    (run folders), critical_period.csv, trajectory.csv, settings.json and figures.
    """
    from netsci_dl.plot.critical import critical_figures
    from netsci_dl.runs.critical import critical_period as _run

    figures, options = (critical_figures if plots else None), loader.training(options)
    if options.model:  # the user's class on one example of --data, before any run folder
        _check_user_model(data, options)
    with parallel_context(jobs, scheduler) as n_jobs:
        res = _run(data, output, options=options, force=force, figures=figures, n_jobs=n_jobs)
    if is_quiet(ctx):
        return
    cols = ["run", "removal_epoch", "epochs", "final_test_accuracy"]
    click.echo(res.summary[cols].to_string(index=False))
    for key in ("removal", "onset", "fisher"):
        click.echo(f"shape ({key}): {res.shape[key]['text']}")
    o = options
    click.echo(
        f"protocol: lr_reset={o.lr_reset}, schedule={o.schedule} (gamma {o.gamma}), "
        f"epochs_mode={o.epochs_mode}; {res.settings['seconds']:.0f} s"
    )
    figs = ", figures" if res.settings["figures"] else ""
    click.echo(f"wrote {output}/critical_period.csv, trajectory.csv, settings.json{figs}")


def _check_user_model(data: str, options: Any) -> None:
    """``--model`` built as the grid builds it (:class:`~netsci_dl.models.classifier.ArchConfig`
    ``"module"``) and run on one example of ``data``: a model that does not take the data's
    images or has fewer outputs than the data's classes is an input error now."""
    from netsci_dl.cli._data import check_model_data
    from netsci_dl.datasets import load_dataset
    from netsci_dl.models.classifier import ArchConfig, build_classifier

    ds = load_dataset(data)
    n_classes = max(int(ds.y.max()) + 1, 2) if len(ds.y) else 2
    arch = ArchConfig("module", ds.image_shape, n_classes, module=options.model,
                      module_kwargs=options.model_kwargs)  # fmt: skip
    net = build_classifier(arch, seed=int(options.seed), device="cpu")
    check_model_data(None, ds, labels=True, model=net, remedy="--resize HxW or another --model")
