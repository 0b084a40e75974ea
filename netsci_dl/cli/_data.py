"""``--data SPEC`` and the options that say how it is read: ``--normalize``, ``--resize``,
``--limit``. Every command that takes data takes all four (:func:`data_options`); the command
receives one spec string (:func:`netsci_dl.datasets.join_spec`) that its pipeline loads."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import click

from netsci_dl.cli._common import option_group
from netsci_dl.datasets import join_spec, parse_limit, parse_normalize, parse_resize
from netsci_dl.errors import InputError

__all__ = ["DATA_HELP", "data_options", "check_model_data", "check_run"]

#: what ``--data`` accepts, in every command's help
DATA_HELP = (
    "digits | mnist:PATH | npz:PATH (X, optional y, any shape) | pt:PATH (tensors) | "
    "folder:PATH (one sub-folder of PNG/JPEG per class) | cifar10:PATH (binary version) | "
    "tokens:PATH (npz of input_ids). uint8 values are divided by 255; floats are kept as given."
)


def _spec(
    data: str | None, normalize: str | None, resize: str | None, limit: int | None
) -> str | None:
    opts = {
        "normalize": parse_normalize(normalize),
        "resize": parse_resize(resize),
        "limit": parse_limit(limit),
    }
    if data is None:
        given = [f"--{k}" for k, v in opts.items() if v is not None]
        if given:
            raise InputError(f"{', '.join(given)} read --data: pass --data too")
        return None
    return join_spec(data, **opts)


def data_options(
    *, default: str | None = "digits", what: str = "The data set"
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--data`` (default ``default``; ``what`` starts its help) with ``--normalize``,
    ``--resize`` and ``--limit``; the command's ``data`` argument is the joined spec."""
    return option_group(
        "data",
        _spec,
        click.option(
            "--data", default=default, show_default=default is not None, help=f"{what}: {DATA_HELP}"
        ),
        click.option(
            "--normalize",
            default=None,
            metavar="MEAN,STD",
            help="Normalise --data after scaling: (x - MEAN) / STD, one pair for every channel, "
            "or per channel M1,M2,M3/S1,S2,S3 (channels on axis 1 of N,C,H,W).",
        ),
        click.option(
            "--resize", default=None, metavar="HxW", help="Resize --data images (bilinear)."
        ),
        click.option(
            "--limit", default=None, type=int, help="Read only the first N examples of --data."
        ),
    )


# ---- the data against the model, before any output ------------------------------------------
def _shape_text(shape: Any) -> str:
    return "x".join(str(int(s)) for s in shape) if len(shape) else "()"


def _expects(model: Any) -> str:
    """What the model takes, from its first layer (for the message of a mismatch)."""
    import torch.nn as nn

    if hasattr(model, "rbms_"):
        return f"the DBN's visible layer takes {int(model.layers[0])} values per example"
    for name, m in model.named_modules():
        if isinstance(m, nn.Embedding):
            return f"it starts with an embedding ({name}) of token ids below {m.num_embeddings}"
        if isinstance(m, nn.Linear):
            return f"its first layer ({name}: Linear) takes {m.in_features} values per example"
        if isinstance(m, nn.Conv2d):
            return f"its first layer ({name}: Conv2d) takes images of {m.in_channels} channel(s)"
    return f"{type(model).__name__} did not say what it takes"


def _model_item(sources: Any) -> Any:
    """The last snapshot of ``sources`` (what :meth:`LoaderOptions.snapshots` gave): a run
    folder is read through its config.json and sidecars, and the header of every
    ``.safetensors`` snapshot is read, all checked on the way."""
    from netsci_dl._files.safetensors_safe import open_safetensors
    from netsci_dl.runs.checkpoints import CheckpointModel
    from netsci_dl.runs.format import snapshot_sources

    items = [sources] if isinstance(sources, str | os.PathLike) else list(sources)
    if items and all(isinstance(it, CheckpointModel) for it in items):
        return items[-1]
    snaps = [p for p, _ in snapshot_sources(sources)]
    for p in snaps:
        if isinstance(p, str | os.PathLike) and str(p).endswith(".safetensors"):
            open_safetensors(p)  # a damaged header is named now, not after the others' work
    return snaps[-1]


def check_model_data(
    sources: Any,
    ds: Any,
    *,
    input_shape: Sequence[int] | None = None,
    min_examples: int = 2,
    labels: bool = False,
    remedy: str = "--resize HxW or --input-shape",
    model: Any = None,
    layers: Sequence[str] | None = None,
) -> None:
    """Refuse data the command cannot run, before any output or work (an InputError each).

    ``ds`` (a :class:`~netsci_dl.datasets.Dataset`) must hold ``min_examples`` examples or more,
    finite values, and (with ``labels``) class numbers below the model's outputs; the model of
    the last snapshot of ``sources`` runs forward on one example, as the command will feed it
    (``input_shape``: one example's shape without the batch axis; ``layers``: the modules the
    command records, default its Linear/Conv2d layers), or ``model`` when the command built it
    already. A run folder's ``config.json`` and sidecars are checked on the way.
    """
    import numpy as np

    from netsci_dl.activations import layer_activations
    from netsci_dl.runs.checkpoints import runnable

    where = ds.spec or ds.name
    n = len(ds.X)
    if n < min_examples:
        raise InputError(
            f"--data {where}: {n} example(s); this command needs at least {min_examples}"
        )
    X = np.asarray(ds.X)
    if X.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(X).all(axis=tuple(range(1, X.ndim))))
        if len(bad):
            raise InputError(
                f"--data {where}: {len(bad)} example(s) hold NaN or inf values (the first: "
                f"example {int(bad[0])}); give finite data"
            )
    per = int(np.prod(X.shape[1:]))
    if input_shape and int(np.prod(input_shape)) != per:
        raise InputError(
            f"sample shape {_shape_text(input_shape)}: --data {where} has {per} values per "
            f"example, not {int(np.prod(input_shape))}"
        )
    if model is None:
        model = runnable(_model_item(sources), "cpu")
    one = np.array(X[:1])  # writable: torch warns on a read-only array
    try:
        A = layer_activations(
            model, one, layers=layers, batch_size=1, device="cpu", input_shape=input_shape
        )
    except InputError:
        raise  # netsci_dl's own check (layer names, a DBN's or a Conv2d's input) names it
    except (TypeError, IndexError, KeyError, AttributeError) as e:
        from netsci_dl.cli._python_api import _in_user_code

        if _in_user_code(e):  # a forward that wants other inputs: the Python API's refusal
            raise
        raise _mismatch(where, model, ds, input_shape, remedy, e) from None
    except Exception as e:  # noqa: BLE001 - any failure of one forward pass is a mismatch
        raise _mismatch(where, model, ds, input_shape, remedy, e) from None
    y = np.asarray(ds.y)
    if labels and A.model_kind == "module" and len(A) and (y >= 0).any():
        k = int(A[list(A)[-1]].shape[1])
        out = np.flatnonzero((y >= k) | (y < -1))
        if len(out):
            raise InputError(
                f"--data {where}: labels must be class numbers in [0, {k - 1}] for the model's "
                f"{k} outputs; found {int(y[out[0]])} (example {int(out[0])})"
            )


def _mismatch(
    where: str, model: Any, ds: Any, input_shape: Any, remedy: str, e: BaseException
) -> InputError:
    """The refusal of data the model does not run on (one forward pass failed with ``e``)."""
    import numpy as np

    shape = tuple(input_shape) if input_shape else tuple(ds.image_shape)
    first = str(e).splitlines()[0][:160] if str(e) else ""
    return InputError(
        f"--data {where}: the model does not run on one example of shape "
        f"{_shape_text(shape)} ({int(np.prod(shape))} values): {_expects(model)}; pass "
        f"data of that size, or {remedy} ({type(e).__name__}: {first})"
    )


def check_run(run: Any, data: str | None) -> None:
    """A run read by ``analyze``: a run folder's ``config.json`` and snapshot sidecars, and
    ``--data`` (when given) against the last snapshot's model (:func:`check_model_data`); a
    list of the user's checkpoints is checked by its last model on ``--data``."""
    from pathlib import Path

    from netsci_dl.runs.format import SNAPSHOT_DIR, read_run_config

    if not isinstance(run, str | os.PathLike):
        if data is not None:
            from netsci_dl.datasets import load_dataset

            check_model_data(run, load_dataset(data))
        return
    read_run_config(run)
    if data is not None:
        from netsci_dl.datasets import load_dataset

        check_model_data(run, load_dataset(data))
    elif (Path(run) / SNAPSHOT_DIR).is_dir():
        _model_item(run)
