"""``netsci-dl prune``: pruning percolation against accuracy (the giant component of the pruned
graph and the accuracy of the model pruned by the same masks)."""

from __future__ import annotations

from typing import Any

import click

from netsci_dl.cli._common import (
    LoaderOptions,
    device_option,
    echo,
    figure_names,
    loader_options,
    probe_size_option,
    write_csv,
    write_json,
)
from netsci_dl.cli._data import check_model_data, data_options
from netsci_dl.errors import InputError

OUTPUTS = ("pruning.csv", "pruning.json")
FIGURE = "pruning"


#: the most pruned fractions of one sweep (``--fractions``): each is one pass over the data
MAX_FRACTIONS = 10_000


def _fractions(ctx: Any, param: Any, value: str) -> tuple[float, ...]:
    """``--fractions``: ``START:STOP:N`` (N evenly spaced values) or values separated by
    commas; at least 2, increasing, in [0, 1]."""
    import numpy as np

    text = value.replace(" ", "")
    try:
        if text.count(":") == 2:
            a, b, n = text.split(":")
            if not 2 <= int(n) <= MAX_FRACTIONS:
                raise InputError(f"--fractions {value!r}: N must be in [2, {MAX_FRACTIONS:,}]")
            f = np.linspace(float(a), float(b), int(n))
        else:
            f = np.array([float(v) for v in text.split(",") if v])
    except ValueError:
        raise InputError(f"--fractions {value!r}: expected 0:1:21 or 0,0.5,0.9") from None
    if f.size > MAX_FRACTIONS:
        raise InputError(f"--fractions {value!r}: at most {MAX_FRACTIONS:,} values")
    if f.size < 2 or np.any(np.diff(f) <= 0) or f[0] < 0 or f[-1] > 1:
        raise InputError(f"--fractions {value!r}: need 2 or more increasing values in [0, 1]")
    return tuple(float(v) for v in np.round(f, 12))


def _model(checkpoint: str, loader: LoaderOptions, device: str) -> Any:
    """The runnable classifier: a netsci_dl checkpoint (or run folder) rebuilt by
    :func:`netsci_dl.models.load.load_model`, or ``--model`` with the checkpoint's weights
    loaded strictly (``--partial``: those that fit)."""
    if loader.model is None:
        from netsci_dl.models.load import load_model

        model = load_model(checkpoint, device=device)
        if not hasattr(model, "named_modules"):
            raise InputError(
                f"{checkpoint}: a {type(model).__name__} is not a classifier; prune needs a model "
                "whose output scores the classes (an MLP or a classifier, or --model)"
            )
        return model
    from netsci_dl.export.checkpoint import read_checkpoint
    from netsci_dl.export.module import build_model, load_weights

    model = build_model(loader.model, loader.model_kwargs)
    ckpt = read_checkpoint(checkpoint, key=loader.state_dict_key)
    load_weights(model, ckpt.tensors, where=ckpt.source, partial=loader.partial)
    return model.eval()


@click.command("prune")
@click.argument("checkpoint", type=click.Path())
@click.option("--fractions", default="0:1:21", show_default=True, callback=_fractions,
              help="Pruned fractions of the weights: START:STOP:N, or values separated by "
              "commas.")  # fmt: skip
@click.option("--order", type=click.Choice(["magnitude", "random"]), default="magnitude",
              show_default=True, help="Which weights are pruned first: the smallest |w|, or a "
              "random order fixed by --seed.")  # fmt: skip
@click.option("--scope", type=click.Choice(["global", "block"]), default="global",
              show_default=True, help="Prune over all weights together, or the same fraction "
              "of each weight matrix.")  # fmt: skip
@data_options(what="The data set the accuracy is measured on")
@probe_size_option()
@click.option("--seed", default=0, show_default=True, type=int,
              help="Random seed: the probe set, ties and the random order.")  # fmt: skip
@device_option()
@click.option("--plots/--no-plots", default=True, show_default=True, help="Write the figure.")
@loader_options
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Output folder.")  # fmt: skip
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
def prune(checkpoint: str, fractions: tuple[float, ...], order: str, scope: str, data: str,
          probe_size: int, seed: int, device: str, plots: bool, loader: LoaderOptions,
          output: str, force: bool) -> None:  # fmt: skip
    """Prune CHECKPOINT (an MLP: a netsci_dl checkpoint or run folder, or --model) by growing
    fractions of its weights: the giant component of its graph and the accuracy of the model
    pruned by the same masks on --data. Writes pruning.csv (fraction, giant, n_components,
    accuracy), pruning.json (critical fraction of the giant component, fraction where the
    accuracy falls by 0.1, settings) and pruning.png/.svg."""
    from pathlib import Path

    from netsci_dl._files.atomic import atomic_outputs, check_folder
    from netsci_dl.datasets import load_dataset
    from netsci_dl.export.hf import is_hf_folder
    from netsci_dl.runs.files import final_model
    from netsci_dl.runs.pruning import pruning_sweep

    figures = figure_names(FIGURE)
    names = list(OUTPUTS) + (figures if plots else [])
    out = check_folder(output, names, force=force)
    ds = load_dataset(data).subset(probe_size, seed=seed)
    name = Path(checkpoint).name
    if Path(checkpoint).is_dir() and not is_hf_folder(checkpoint):
        checkpoint = str(final_model(checkpoint))  # a run folder: its final model
    G, model = loader.load(checkpoint), _model(checkpoint, loader, device)
    check_model_data(None, ds, input_shape=loader.sample_shape, labels=True, model=model)
    X = ds.X.reshape(len(ds.X), *loader.input_shape[1:]) if loader.input_shape else ds.X
    r = pruning_sweep(G, model, X, ds.y, fractions, order=order, scope=scope, seed=seed,
                      device=device)  # fmt: skip
    doc = dict(r.to_dict(), source=str(checkpoint), data=ds.name, n_examples=len(ds.y))
    with atomic_outputs(out, names, force=force, stale=[] if plots else figures) as stage:
        write_csv(stage / "pruning.csv", r.to_frame())
        write_json(stage / "pruning.json", doc)
        if plots:
            from netsci_dl.plot import save_figure
            from netsci_dl.plot.pruning import plot_pruning

            fig = plot_pruning(r.to_frame(), critical=r.critical_fraction, order=order,
                               accuracy_at=r.accuracy_fraction, name=name)  # fmt: skip
            save_figure(fig, stage / FIGURE)
    echo(f"f_c = {r.critical_fraction:.3g} (giant component), accuracy "
         f"{r.accuracy.accuracy[0]:.3g} falls by 0.1 at {r.accuracy_fraction:.3g}; wrote {out}/")  # fmt: skip
