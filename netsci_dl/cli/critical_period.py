"""``netsci-dl critical-period``: deficit windows, final accuracy, Fisher trace and curvature."""

from __future__ import annotations

import click

from netsci_dl.cli._parallel import parallel_context, parallel_options
from netsci_dl.errors import InputError


def _ints(value: str, name: str) -> tuple[int, ...]:
    try:
        out = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise InputError(
            f"{name} {value!r}: expected comma-separated integers, e.g. 0,2,4"
        ) from None
    if not out:
        raise InputError(f"{name} {value!r}: give at least one integer")
    return out


@click.command("critical-period")
@click.option("--data", default="digits", show_default=True, help="digits | mnist:PATH")
@click.option(
    "--arch", type=click.Choice(["lenet", "mlp", "allcnn"]), default="lenet", show_default=True
)
@click.option(
    "--deficit",
    type=click.Choice(["blur", "vflip", "label_permutation", "noise"]),
    default="blur",
    show_default=True,
)
@click.option(
    "--onsets", default="0", show_default=True, help="Window onsets (epochs), e.g. 0,2,4."
)
@click.option(
    "--window",
    default="10",
    show_default=True,
    help="Window length(s) in epochs, e.g. 10 or 5,10,20.",
)
@click.option(
    "--epochs",
    type=int,
    default=30,
    show_default=True,
    help="Clean epochs after each deficit (A19: 160); with --epochs-mode total, every run's length.",
)
@click.option(
    "--epochs-mode", type=click.Choice(["after", "total"]), default="after", show_default=True
)
@click.option(
    "--blur-factor",
    type=float,
    default=4.0,
    show_default=True,
    help="Blur downsampling factor (A19: 32 -> 8; 8x8 digits -> 2x2; 2 keeps 4x4).",
)
@click.option("--optimizer", type=click.Choice(["sgd", "adam"]), default="sgd", show_default=True)
@click.option("--lr", type=float, default=0.05, show_default=True, help="Initial learning rate.")
@click.option("--momentum", type=float, default=0.9, show_default=True)
@click.option("--weight-decay", type=float, default=5e-4, show_default=True)
@click.option(
    "--schedule",
    type=click.Choice(["constant", "step", "exponential"]),
    default="exponential",
    show_default=True,
)
@click.option("--gamma", type=float, default=0.97, show_default=True, help="Decay factor.")
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option(
    "--lr-reset", is_flag=True, help="Restart the learning-rate schedule at the removal epoch."
)
@click.option("--no-control", is_flag=True, help="No run without deficit.")
@click.option("--n-train", type=int, default=None, help="Use a fixed subset of the training set.")
@click.option("--probe-size", type=int, default=256, show_default=True)
@click.option(
    "--fisher-kind",
    type=click.Choice(["model_exact", "model", "empirical"]),
    default="model_exact",
    show_default=True,
)
@click.option("--lanczos-iter", type=int, default=20, show_default=True, help="0: no Hessian.")
@click.option("--hutchinson-probes", type=int, default=0, show_default=True, help="0: no trace.")
@click.option("--no-gradcov", is_flag=True, help="Skip the gradient-covariance spectrum.")
@click.option("--analyze-every", type=int, default=1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="cpu", show_default=True, help="cpu | cuda | auto.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Folder.")
@click.option("--force", is_flag=True, help="Replace a grid made with other settings.")
@click.option("--plots/--no-plots", default=True, show_default=True, help="Write the figures.")
@parallel_options(jobs_default=1, what="runs of the grid")
@click.pass_context
def critical_period(
    ctx,
    data,
    arch,
    deficit,
    onsets,
    window,
    epochs,
    epochs_mode,
    blur_factor,
    optimizer,
    lr,
    momentum,
    weight_decay,
    schedule,
    gamma,
    batch_size,
    lr_reset,
    no_control,
    n_train,
    probe_size,
    fisher_kind,
    lanczos_iter,
    hutchinson_probes,
    no_gradcov,
    analyze_every,
    seed,
    device,
    output,
    force,
    plots,
    jobs,
    scheduler,
):
    """Train one run per deficit window (plus a control) and follow Fisher trace and curvature.

    Resumable: rerun the same command to finish an interrupted grid. Writes OUTPUT/runs/*/
    (run folders), critical_period.csv, trajectory.csv, settings.json and figures.
    """
    from netsci_dl.plot.critical import critical_figures
    from netsci_dl.runs.critical_period import CriticalPeriodOptions
    from netsci_dl.runs.critical_period import critical_period as _run

    opts = CriticalPeriodOptions(
        arch=arch,
        deficit=deficit,
        onsets=_ints(onsets, "--onsets"),
        windows=_ints(window, "--window"),
        epochs=epochs,
        epochs_mode=epochs_mode,
        blur_factor=blur_factor,
        optimizer=optimizer,
        learning_rate=lr,
        momentum=momentum,
        weight_decay=weight_decay,
        schedule=schedule,
        gamma=gamma,
        batch_size=batch_size,
        lr_reset=lr_reset,
        control=not no_control,
        n_train=n_train,
        probe_size=probe_size,
        fisher_kind=fisher_kind,
        lanczos_iter=lanczos_iter,
        hutchinson_probes=hutchinson_probes,
        gradcov=not no_gradcov,
        analyze_every=analyze_every,
        seed=seed,
        device=device,
    )
    with parallel_context(jobs, scheduler) as n_jobs:
        res = _run(
            data,
            output,
            options=opts,
            force=force,
            figures=critical_figures if plots else None,
            n_jobs=n_jobs,
        )
    if not (ctx.obj and ctx.obj.get("quiet")):
        cols = ["run", "removal_epoch", "epochs", "final_test_accuracy"]
        click.echo(res.summary[cols].to_string(index=False))
        for key in ("removal", "onset", "fisher"):
            click.echo(f"shape ({key}): {res.shape[key]['text']}")
        click.echo(
            f"protocol: lr_reset={lr_reset}, schedule={schedule} (gamma {gamma}), "
            f"epochs_mode={epochs_mode}; {res.settings['seconds']:.0f} s"
        )
        figs = ", figures" if res.settings["figures"] else ""
        click.echo(f"wrote {output}/critical_period.csv, trajectory.csv, settings.json{figs}")
