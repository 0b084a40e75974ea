"""Options shared by several commands: one name, one default, one meaning everywhere."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from netsci_dl.errors import InputError
from netsci_dl.export.conv import REDUCTIONS

__all__ = [
    "LoaderOptions",
    "loader_options",
    "layer_ei_options",
    "echo",
    "check_device",
    "layers_arg",
    "parse_image_shape",
    "parse_shape",
    "DEFAULT_THRESHOLD",
    "threshold_option",
]

#: the one default cut of every command that thresholds (``--threshold``)
DEFAULT_THRESHOLD = "auto"


def parse_shape(value: str | None, what: str) -> tuple[int, ...] | None:
    """``"28x28"`` or ``"1,3,32,32"`` -> a tuple of positive ints."""
    if not value:
        return None
    try:
        shape = tuple(int(v) for v in value.lower().replace(",", "x").split("x"))
    except ValueError:
        raise InputError(f"{what} {value!r}: expected sizes like 28x28 or 1,3,32,32") from None
    if any(s <= 0 for s in shape):
        raise InputError(f"{what} {value!r}: sizes must be positive")
    return shape


def parse_image_shape(value: str | None) -> tuple[int, ...] | None:
    """``"28x28"`` -> ``(28, 28)``."""
    return parse_shape(value, "--image-shape")


def layers_arg(value: str | None) -> Any:
    """``--layers``: a regex, or a comma-separated list when it contains commas."""
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()] if "," in value else value


@dataclass(frozen=True)
class LoaderOptions:
    """The loader options of a command, as ``netsci_dl.load`` keywords."""

    layers: Any = None
    layout: str = "auto"
    conv_reduce: str = "l2"
    image_shape: tuple[int, ...] | None = None
    model: str | None = None
    model_kwargs: dict[str, Any] | None = None
    input_shape: tuple[int, ...] | None = None
    fold_batchnorm: bool = False
    state_dict_key: str | None = None
    flatten_order: str | None = None

    def kwargs(self) -> dict[str, Any]:
        """Keywords for :func:`netsci_dl.load` / :func:`netsci_dl.inspect`."""
        example = None
        model: Any = None
        if self.model is not None:
            from netsci_dl.export import build_model

            model = build_model(self.model, self.model_kwargs)
        if self.input_shape is not None:
            import torch

            g = torch.Generator().manual_seed(0)
            example = torch.randn(self.input_shape, generator=g)
        return {
            "layers": self.layers,
            "layout": self.layout,
            "conv_reduce": self.conv_reduce,
            "image_shape": self.image_shape,
            "model": model,
            "example_input": example,
            "fold_batchnorm": self.fold_batchnorm,
            "state_dict_key": self.state_dict_key,
            "flatten_order": self.flatten_order,
        }

    def load(self, source: Any) -> Any:
        """The graph of a command's input: a checkpoint through :func:`netsci_dl.load` with
        these options, or a graph file netsci_dl wrote (``.npz``, ``.graphml[.gz]``,
        ``.gexf[.gz]``). A FIFO or a folder is refused before it is opened."""
        from netsci_dl._files.atomic import check_input_file
        from netsci_dl.io.write_graph import is_graph_file, read

        check_input_file(source, "input")  # a FIFO would block, a folder is not a file
        if is_graph_file(source):
            if self.layers is not None or self.model is not None:
                raise InputError(
                    f"--layers and --model read a checkpoint, but {source} is a graph file; "
                    "export the checkpoint with them instead"
                )
            G = read(source)
            return G.with_meta(image_shape=list(self.image_shape)) if self.image_shape else G
        from netsci_dl.export import load

        return load(source, **self.kwargs())

    def inspect(self, source: Any) -> Any:
        """``netsci_dl.inspect(source, ...)`` with these options."""
        from netsci_dl._files.atomic import check_input_file
        from netsci_dl.export import inspect

        check_input_file(source, "input")
        return inspect(source, **self.kwargs())


_LOADER_PARAMS = (
    "layers",
    "layout",
    "conv_reduce",
    "image_shape",
    "model",
    "model_kwargs",
    "input_shape",
    "fold_batchnorm",
    "state_dict_key",
    "flatten_order",
)


def _options(value: dict[str, Any]) -> LoaderOptions:
    if value.get("model_kwargs") and not value.get("model"):
        raise InputError("--model-kwargs needs --model")
    kwargs = None
    if value.get("model_kwargs"):
        try:
            kwargs = json.loads(value["model_kwargs"])
        except ValueError as e:
            raise InputError(f"--model-kwargs is not valid JSON: {e}") from None
        if not isinstance(kwargs, dict):
            raise InputError("--model-kwargs must be a JSON object, e.g. '{\"depth\": 18}'")
    return LoaderOptions(
        layers=layers_arg(value.get("layers")),
        layout=value.get("layout") or "auto",
        conv_reduce=value.get("conv_reduce") or "l2",
        image_shape=parse_image_shape(value.get("image_shape")),
        model=value.get("model"),
        model_kwargs=kwargs,
        input_shape=parse_shape(value.get("input_shape"), "--input-shape"),
        fold_batchnorm=bool(value.get("fold_batchnorm")),
        state_dict_key=value.get("state_dict_key"),
        flatten_order=value.get("flatten_order"),
    )


def loader_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The loader options of every command that reads a checkpoint; the command receives them
    as one ``loader: LoaderOptions`` argument."""
    opts = [
        click.option(
            "--layers",
            default=None,
            help="Layers to export: a regular expression, or a comma-separated list of names. "
            "The selection must be a chain or a connected DAG.",
        ),
        click.option(
            "--layout",
            type=click.Choice(["auto", "out_in", "in_out"]),
            default="auto",
            show_default=True,
            help="Weight orientation of a checkpoint: torch (out_in) or (in_out).",
        ),
        click.option(
            "--conv-reduce",
            type=click.Choice(list(REDUCTIONS)),
            default="l2",
            show_default=True,
            help="How a convolution kernel becomes one edge weight.",
        ),
        click.option("--image-shape", default=None, help="Input image shape, e.g. 28x28."),
        click.option(
            "--model",
            default=None,
            metavar="PKG.MODULE:CLASS",
            help="The architecture: the class is built, the checkpoint loaded strictly into it "
            "and the model traced (needed for skip connections, branches, attention).",
        ),
        click.option(
            "--model-kwargs", default=None, metavar="JSON", help="Keyword arguments of --model."
        ),
        click.option(
            "--input-shape",
            default=None,
            metavar="1,3,32,32",
            help="Shape of one example input (batch first): the forward pass is recorded on it "
            "when torch.fx cannot trace the model.",
        ),
        click.option(
            "--fold-batchnorm",
            is_flag=True,
            help="Fold BatchNorm's per-channel scale into the incoming edges (needs --model).",
        ),
        click.option(
            "--state-dict-key",
            default=None,
            help="The key of a dict checkpoint that holds the weights, when several do.",
        ),
        click.option(
            "--flatten-order",
            type=click.Choice(["chw", "hwc", "assume-chw"]),
            default=None,
            help="How a checkpoint without --model flattens a feature map into a Linear layer: "
            "chw (torch's flatten), hwc (channels last); assume-chw exports channel-major and "
            "records the assumption. Without it such a block is refused.",
        ),
    ]

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {k: kwargs.pop(k) for k in _LOADER_PARAMS}
        kwargs["loader"] = _options(values)
        return f(*args, **kwargs)

    for opt in reversed(opts):
        wrapper = opt(wrapper)
    return wrapper


def threshold_option(help_extra: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--threshold RULE:VALUE`` with the one default of the package."""
    from netsci_dl.threshold import SPEC_HELP

    return click.option(
        "--threshold",
        "threshold_spec",
        default=DEFAULT_THRESHOLD,
        show_default=True,
        help=f"{SPEC_HELP}. {help_extra}".strip(),
    )


def layer_ei_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The layer-EI estimator options (``--bins``, ``--samples``, ``--sensitivity-samples``,
    ``--seed``, ``--device``, ``--activation``) with the defaults of
    :class:`netsci_dl.analysis.LayerEIOptions`; the command receives ``ei_options`` and
    ``activation``."""
    from netsci_dl.analysis.information.causal_plane import LayerEIOptions

    d = LayerEIOptions()
    opts = [
        click.option(
            "--bins",
            default=d.bins,
            show_default=True,
            type=int,
            help="Bins for layer inputs and outputs.",
        ),
        click.option(
            "--samples",
            default=d.n_samples,
            show_default=True,
            type=int,
            help="Noise samples for EI_parts.",
        ),
        click.option(
            "--sensitivity-samples",
            default=d.sensitivity_samples,
            show_default=True,
            type=int,
            help="Noise samples per input for the sensitivity.",
        ),
        click.option("--seed", default=d.seed, show_default=True, type=int),
        click.option(
            "--device",
            default=None,
            help="torch device (default: CUDA when present, else the CPU).",
        ),
        click.option(
            "--activation",
            default=None,
            help="Activation of every layer (sigmoid, tanh, relu, identity, ...): "
            "default the one the model records after each layer.",
        ),
    ]

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import dataclasses

        for k in ("bins", "samples", "sensitivity_samples"):
            if kwargs[k] < (2 if k == "bins" else 1):
                raise InputError(f"--{k.replace('_', '-')} must be >= {2 if k == 'bins' else 1}")
        check_device(kwargs["device"])
        kwargs["ei_options"] = dataclasses.replace(
            d,
            bins=kwargs.pop("bins"),
            n_samples=kwargs.pop("samples"),
            sensitivity_samples=kwargs.pop("sensitivity_samples"),
            seed=kwargs.pop("seed"),
            device=kwargs.pop("device"),
        )
        return f(*args, **kwargs)

    for opt in reversed(opts):
        wrapper = opt(wrapper)
    return wrapper


def check_device(value: str | None, option: str = "--device") -> str | None:
    """A torch device string that exists here (``None`` passes: the default device).

    Raises
    ------
    InputError
        Not a device torch knows (``warp9``), or CUDA asked for where there is none.
    """
    if value is None or value == "auto":
        return value
    import torch

    try:
        dev = torch.device(value)
    except (RuntimeError, ValueError, TypeError):
        raise InputError(
            f"{option} {value!r}: not a torch device (e.g. cpu, cuda, cuda:1)"
        ) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"{option} {value!r}: CUDA is not available on this machine")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(
                f"{option} {value!r}: this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
    elif dev.type not in ("cpu", "mps", "xpu"):
        raise InputError(f"{option} {value!r}: netsci_dl runs on cpu or cuda")
    return value


def echo(text: Any = "") -> None:
    """``click.echo`` of text that may hold names from a file: control characters escaped."""
    from netsci_dl._sanitize import terminal_lines

    click.echo(terminal_lines(text))
