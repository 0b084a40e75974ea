"""``netsci-dl train-dbn``: train a DBN greedily with CD, with snapshots, into a run folder."""

from __future__ import annotations

from typing import Any

import click

from netsci_dl.cli._common import device_option, is_quiet, option_group, threads_option
from netsci_dl.cli._data import data_options
from netsci_dl.errors import InputError


def _sizes(ctx: Any, param: Any, value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in value.split(","))
    except ValueError:
        raise InputError(
            f"--sizes {value!r}: expected comma-separated sizes, e.g. 64,100,100,200"
        ) from None
    if len(sizes) < 2:
        raise InputError(f"--sizes {value!r}: need the visible size and at least one hidden size")
    if min(sizes) < 1:
        raise InputError(f"--sizes {value!r}: every size must be a positive integer")
    return sizes


_FLAGS = {  # TrainConfig's names -> this command's options, for the error messages
    "learning_rate": "--lr",
    "batch_size": "--batch-size",
    "cd_k": "--cd-k",
    "epochs": "--epochs",
    "snapshot_every": "--snapshot-every",
    "seed": "--seed",
    "layers": "--sizes",
    "device": "--device",
}


def _config(**values: Any) -> Any:
    """The :class:`~netsci_dl.models.train.TrainConfig` of the options; its errors name them."""
    from netsci_dl.models.train import TrainConfig

    try:
        return TrainConfig(**values)
    except InputError as e:
        msg = str(e)
        for name, flag in _FLAGS.items():
            if msg.startswith(f"{name}="):
                msg = f"{flag} {msg[len(name) + 1 :]}"
        raise InputError(msg) from None


@click.command("train-dbn")
@data_options()
@option_group(
    "config",
    _config,
    click.option(
        "--sizes",
        "layers",
        required=True,
        callback=_sizes,
        help="Layer sizes including the visible layer, e.g. 64,100,100,200.",
    ),
    click.option("--epochs", required=True, type=int, help="Epochs of training per RBM."),
    click.option(
        "--snapshot-every",
        default=0,
        show_default=True,
        type=int,
        help="Snapshot every K epochs (0: epoch 0 and each layer's end).",
    ),
    device_option(),
    click.option(
        "--dtype",
        default="float32",
        show_default=True,
        type=click.Choice(["float32", "float64"]),
        help="Floating-point type of the weights.",
    ),
    click.option("--seed", default=0, show_default=True, type=int, help="Random seed."),
    click.option(
        "--lr",
        "learning_rate",
        default=0.1,
        show_default=True,
        type=float,
        help="Learning rate of the training.",
    ),
    click.option(
        "--batch-size", default=125, show_default=True, type=int, help="Examples per batch."
    ),
    click.option("--cd-k", default=1, show_default=True, type=int, help="Gibbs steps of CD-k."),
    click.option("--persistent", is_flag=True, help="Persistent CD."),
    click.option(
        "--sparsity-rule",
        default="lab",
        show_default=True,
        type=click.Choice(["lab", "momentum"]),
        help="Sparsity push on the top RBM: the lab rule (on the hidden biases, only while the "
        "mean activity exceeds the target) or through the momentum buffer.",
    ),
)
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Run folder.")
@threads_option()
@click.option(
    "--resume",
    is_flag=True,
    help="Continue from the last snapshot in the run folder (checked first; the configuration "
    "must match, the device may differ).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Start afresh in a folder holding a run: replaces its outputs and removes its "
    "snapshot files, nothing else.",
)
@click.pass_context
def train_dbn(
    ctx: click.Context,
    data: str,
    config: Any,
    output: str,
    threads: int | None,
    resume: bool,
    force: bool,
) -> None:
    """Train a deep belief network on DATA and write OUTPUT/{model.safetensors, snapshots/, history.json, config.json}.

    Every argument and the data are checked before anything is created.
    """
    from netsci_dl._files.atomic import check_folder
    from netsci_dl.datasets import load_dataset
    from netsci_dl.models.train import train_dbn as _train

    check_folder(output)  # its parent must exist: a typo in a path creates no folder tree
    ds = load_dataset(data)
    if ds.X.shape[1] != config.layers[0]:
        raise InputError(
            f"--sizes starts with {config.layers[0]} but {ds.name} has {ds.X.shape[1]} features"
        )
    quiet = is_quiet(ctx)
    _dbn, hist = _train(
        ds, config, output, resume=resume, force=force, progress=not quiet, num_threads=threads
    )
    if not quiet:
        last = {r["layer"]: r["recon_error"] for r in hist.records}
        for layer, err in sorted(last.items()):
            click.echo(f"RBM {layer}: final reconstruction error {err:.5f}")
        click.echo(f"wrote {output}/model.safetensors, history.json, config.json, snapshots/")
