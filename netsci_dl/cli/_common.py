"""Options shared by several commands: one name, one default, one meaning everywhere."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import click

from netsci_dl.datasets import PROBE_SIZE
from netsci_dl.errors import InputError
from netsci_dl.export.conv import REDUCTIONS

__all__ = [
    "LoaderOptions",
    "loader_options",
    "model_options",
    "MODEL_PARAMS",
    "layer_ei_options",
    "curvature_options",
    "option_group",
    "device_option",
    "probe_size_option",
    "threads_option",
    "echo",
    "check_device",
    "device_arg",
    "layers_arg",
    "parse_image_shape",
    "parse_shape",
    "is_quiet",
    "run_sources",
    "figure_names",
    "write_csv",
    "write_json",
    "write_npy",
    "DEFAULT_DEVICE",
    "DEFAULT_JOBS",
    "DEFAULT_PROBE_SIZE",
    "DEFAULT_THRESHOLD",
    "threshold_option",
    "bounded_int",
    "MAX_N_NULL",
    "MAX_CUTS",
]

#: the one default cut of every command that thresholds (``--threshold``), the graph EI of a
#: run's snapshots included
DEFAULT_THRESHOLD = "auto"
#: the one default torch device (``--device``): CUDA when present, else the CPU
DEFAULT_DEVICE = "auto"
#: the one default number of worker processes (``--jobs``): this process
DEFAULT_JOBS = 1
#: the one default size of a probe set (``--probe-size``): examples of ``--data`` a measure runs on
DEFAULT_PROBE_SIZE = PROBE_SIZE  # netsci_dl.datasets: the one probe-set size


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
    input_dtype: str | None = None
    partial: bool = False
    flatten_order: str | None = None

    def kwargs(self, source: Any = None) -> dict[str, Any]:
        """Keywords for :func:`netsci_dl.load` / :func:`netsci_dl.inspect` of ``source``."""
        example = None
        model: Any = None
        if self.model is not None:
            from netsci_dl.export import build_model

            model = build_model(self.model, self.model_kwargs)
        if self.input_dtype is not None and self.input_shape is None:
            raise InputError("--input-dtype needs --input-shape")
        if self.input_shape is not None:
            example = self._example(source, model)
        return {
            "layers": self.layers,
            "layout": self.layout,
            "conv_reduce": self.conv_reduce,
            "image_shape": self.image_shape,
            "model": model,
            "example_input": example,
            "fold_batchnorm": self.fold_batchnorm,
            "state_dict_key": self.state_dict_key,
            "partial": self.partial,
            "flatten_order": self.flatten_order,
        }

    def _example(self, source: Any, model: Any) -> Any:
        """The example input of ``--input-shape`` and ``--input-dtype`` (token ids below the
        model's vocabulary for ``long``; for a Hugging Face folder, the dtype of its main
        input unless stated)."""
        import torch

        from netsci_dl.export.hf import hf_example_input, is_hf_folder
        from netsci_dl.export.module import token_example

        if model is None and is_hf_folder(source):
            return hf_example_input(source, shape=self.input_shape, dtype=self.input_dtype)
        if self.input_dtype == "long":
            return (
                token_example(model, self.input_shape)
                if model is not None
                else torch.zeros(self.input_shape, dtype=torch.long)
            )
        g = torch.Generator().manual_seed(0)
        return torch.randn(self.input_shape, generator=g)

    def load(self, source: Any) -> Any:
        """The graph of a command's input: a checkpoint through :func:`netsci_dl.load` with
        these options, or a graph file netsci_dl wrote (``.npz``, ``.graphml[.gz]``,
        ``.gexf[.gz]``). A FIFO or a folder is refused before it is opened."""
        from netsci_dl._files.atomic import check_input_file
        from netsci_dl.export.hf import is_hf_folder
        from netsci_dl.io.write_graph import is_graph_file, read

        if not is_hf_folder(source):
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

        return load(source, **self.kwargs(source))

    def custom(self, sources: Sequence[Any]) -> bool:
        """Whether ``sources`` are a user's own model: ``--model`` given, or a Hugging Face
        folder."""
        from netsci_dl.export.hf import is_hf_folder

        return self.model is not None or any(is_hf_folder(s) for s in sources)

    def snapshots(self, sources: Sequence[str], what: str = "checkpoint") -> Any:
        """What a data-path command runs: with ``--model`` (or Hugging Face folders) the
        checkpoints as :class:`~netsci_dl.runs.checkpoints.CheckpointModel` items in the order
        given, else a run folder or netsci_dl's snapshot files (:func:`run_sources`)."""
        if not self.custom(sources):
            return run_sources(sources, what)
        from netsci_dl.runs.checkpoints import checkpoint_models

        run_sources(sources, what)  # each exists
        return checkpoint_models(
            list(sources),
            self.model,
            model_kwargs=self.model_kwargs,
            partial=self.partial,
            state_dict_key=self.state_dict_key,
        )

    @property
    def sample_shape(self) -> tuple[int, ...] | None:
        """One example as the model takes it: ``--input-shape`` without its batch axis."""
        return None if self.input_shape is None else tuple(self.input_shape[1:]) or None

    def with_input_shape(self, options: Any) -> Any:
        """``options`` (a dataclass with an ``input_shape`` or ``sample_shape`` field, such as
        :class:`~netsci_dl.runs.similarity.ActivationSpec`) with ``--input-shape`` (without
        its batch axis) when given."""
        from dataclasses import fields, replace

        if self.sample_shape is None:
            return options
        name = (
            "input_shape" if "input_shape" in {f.name for f in fields(options)} else "sample_shape"
        )
        return replace(options, **{name: self.sample_shape})

    def training(self, options: Any) -> Any:
        """Training options (a dataclass with ``model`` and ``model_kwargs`` fields, such as
        :class:`~netsci_dl.runs.critical.CriticalPeriodOptions`) with ``--model`` and
        ``--model-kwargs``."""
        from dataclasses import replace

        if self.model is None:
            return options
        return replace(options, model=self.model, model_kwargs=self.model_kwargs)

    def reshape(self, X: Any) -> Any:
        """The examples ``X`` as the model takes them: ``(n, *input_shape[1:])`` with
        ``--input-shape``, else as they are."""
        if self.sample_shape is None:
            return X
        import numpy as np

        n, per = len(X), int(np.prod(self.sample_shape))
        if int(np.prod(np.shape(X)[1:])) != per:
            raise InputError(
                f"--input-shape {','.join(map(str, self.input_shape or ()))}: the data have "
                f"{int(np.prod(np.shape(X)[1:]))} values per example, not {per}"
            )
        return X.reshape(n, *self.sample_shape)

    def inputs(self, ds: Any) -> Any:
        """A data set's examples as the model takes them (:meth:`reshape`); a token data set
        (one with an ``attention_mask``) is passed whole, so that its mask goes with it."""
        return ds if getattr(ds, "attention_mask", None) is not None else self.reshape(ds.X)

    def inspect(self, source: Any) -> Any:
        """``netsci_dl.inspect(source, ...)`` with these options."""
        from netsci_dl._files.atomic import check_input_file
        from netsci_dl.export import inspect
        from netsci_dl.export.hf import is_hf_folder

        if not is_hf_folder(source):
            check_input_file(source, "input")
        return inspect(source, **self.kwargs(source))


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
        input_dtype=value.get("input_dtype"),
        partial=bool(value.get("partial")),
        flatten_order=value.get("flatten_order"),
    )


# the parameter of each option of _loader_option_list, in its order (also the parameters a
# decorated command hands to LoaderOptions)
_OPTION_ORDER = (
    "layers",
    "layout",
    "conv_reduce",
    "image_shape",
    "model",
    "model_kwargs",
    "input_shape",
    "input_dtype",
    "partial",
    "fold_batchnorm",
    "state_dict_key",
    "flatten_order",
)
#: the loader options of the commands that run a model on data (:func:`model_options`)
MODEL_PARAMS = ("model", "model_kwargs", "input_shape", "input_dtype", "partial", "state_dict_key")


def _loader_option_list() -> list[Callable[..., Any]]:
    """The click options of :func:`loader_options`, in the order ``--help`` lists them."""
    return [
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
            "--input-dtype",
            type=click.Choice(["long", "float"]),
            default=None,
            help="Dtype of the example input of --input-shape: long for token ids (below the "
            "model's vocabulary size), float (default; for a Hugging Face folder, its main "
            "input's).",
        ),
        click.option(
            "--partial",
            is_flag=True,
            help="Load the checkpoint's tensors that fit --model (or a Hugging Face folder's "
            "model) and leave the rest as built; the missing and unexpected keys ignored are "
            "listed (info, meta['loading']).",
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


def loader_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The loader options of every command that reads a checkpoint; the command receives them
    as one ``loader: LoaderOptions`` argument."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {k: kwargs.pop(k) for k in _OPTION_ORDER}
        kwargs["loader"] = _options(values)
        return f(*args, **kwargs)

    for opt in reversed(_loader_option_list()):
        wrapper = opt(wrapper)
    return wrapper


def model_options(
    f: Callable[..., Any] | None = None, *, input_shape: bool = True, checkpoint: bool = True
) -> Callable[..., Any]:
    """The loader options of the commands that run a model on data (``--model``,
    ``--model-kwargs``, ``--input-shape``, ``--input-dtype``, ``--partial``,
    ``--state-dict-key``: the names, meanings and help of ``export``); the command receives
    them as one ``loader: LoaderOptions`` argument (:meth:`LoaderOptions.snapshots`).
    ``input_shape=False`` leaves out ``--input-shape`` and ``--input-dtype`` (a command that
    states the example's shape its own way, such as ``interactions --sample-shape``);
    ``checkpoint=False`` leaves out ``--partial`` and ``--state-dict-key`` (a command that
    trains the class from its initialisation, such as ``critical-period``)."""
    params = [p for p in MODEL_PARAMS if input_shape or p not in ("input_shape", "input_dtype")]
    params = [p for p in params if checkpoint or p not in ("partial", "state_dict_key")]

    def deco(g: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(g)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs["loader"] = _options({k: kwargs.pop(k) for k in params})
            return g(*args, **kwargs)

        chosen = dict(zip(_OPTION_ORDER, _loader_option_list(), strict=True))
        for name in reversed(params):
            wrapper = chosen[name](wrapper)
        return wrapper

    return deco if f is None else deco(f)


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


def option_group(
    target: str,
    build: Callable[..., Any],
    *options: Callable[..., Any],
    also: Sequence[str] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Click ``options`` whose values reach the command as one argument, ``target``: the
    result of ``build(**values)`` (an options object whose fields the options are named
    after, or ``dict``: the keywords of a library call). ``also`` names arguments of other
    options (or of a group above this one) that ``build`` takes too. An error ``build`` raises
    is the command's error (InputError: exit code 2).

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Pair:
    ...     a: int = 1
    ...     b: int = 2
    >>> @click.command()
    ... @option_group("pair", Pair, click.option("--a", default=1), click.option("--b", default=2))
    ... def show(pair):
    ...     click.echo(pair)
    >>> from click.testing import CliRunner
    >>> CliRunner().invoke(show, ["--b", "5"]).output
    'Pair(a=1, b=5)\\n'
    """

    def deco(f: Callable[..., Any]) -> Callable[..., Any]:
        names: list[str] = list(also)

        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs[target] = build(**{n: kwargs.pop(n) for n in names})
            return f(*args, **kwargs)

        before = len(getattr(wrapper, "__click_params__", []))
        for opt in reversed(options):
            wrapper = opt(wrapper)
        names.extend(p.name for p in wrapper.__click_params__[before:])  # type: ignore[attr-defined]
        return wrapper

    return deco


def device_arg(value: str | None, option: str = "--device") -> str | None:
    """The torch device a command runs on: ``auto`` -> ``cuda`` when CUDA is present, else
    ``cpu``; any other value is checked (:func:`check_device`) and kept. ``None`` stays None.

    Examples
    --------
    >>> device_arg("cpu")
    'cpu'
    >>> device_arg("auto") in ("cpu", "cuda")
    True
    """
    if value is None:
        return None
    if value == "auto":
        from netsci_dl._array import import_torch

        return "cuda" if import_torch().cuda.is_available() else "cpu"
    return check_device(value, option)


def device_option(**attrs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--device`` with the one default of every command (``auto``); the command receives the
    device it runs on (:func:`device_arg`)."""
    return click.option(
        "--device",
        default=DEFAULT_DEVICE,
        show_default=True,
        callback=lambda ctx, param, value: device_arg(value),
        help="torch device: auto (CUDA when present, else the CPU), cpu, cuda or cuda:N.",
        **attrs,
    )


def _probe_size(ctx: Any, param: Any, value: int) -> int:
    if value < 2:
        raise InputError(f"--probe-size {value}: need at least 2 examples")
    return value


def probe_size_option(**attrs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--probe-size`` with the one default of every command (``DEFAULT_PROBE_SIZE``)."""
    return click.option(
        "--probe-size",
        default=DEFAULT_PROBE_SIZE,
        show_default=True,
        type=int,
        callback=_probe_size,
        help="Examples of --data in the probe set the measures run on: a random subset fixed "
        "by --seed (the whole set when it is smaller), the same at every snapshot.",
        **attrs,
    )


def _threads(ctx: Any, param: Any, value: int | None) -> int | None:
    from netsci_dl._array import MAX_THREADS

    if value is not None and not 1 <= value <= MAX_THREADS:
        raise InputError(f"--threads {value}: expected an integer from 1 to {MAX_THREADS}")
    return value


def threads_option() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--threads N``: torch CPU threads (default: torch's setting)."""
    return click.option(
        "--threads",
        default=None,
        type=int,
        callback=_threads,
        help="torch CPU threads (default: torch's setting; 1 is fastest for small layers on a "
        "busy machine).",
    )


def curvature_options() -> list[Callable[..., Any]]:
    """The options of the measures that run a model on the probe set (Fisher trace, Hessian,
    gradient covariance), named after the fields of the options objects they fill."""
    return [
        click.option(
            "--fisher-kind",
            type=click.Choice(["model_exact", "model", "empirical"]),
            default="model_exact",
            show_default=True,
            help="Fisher trace per layer: labels drawn from the model (exactly or sampled) or "
            "the true labels.",
        ),
        click.option(
            "--lanczos-iter",
            default=20,
            show_default=True,
            type=int,
            callback=bounded_int(*CURVATURE_BOUNDS["lanczos_iter"]),
            help="Lanczos iterations of the top Hessian eigenvalue (0: no Hessian).",
        ),
        click.option(
            "--hutchinson-probes",
            default=0,
            show_default=True,
            type=int,
            callback=bounded_int(*CURVATURE_BOUNDS["hutchinson_probes"]),
            help="Rademacher probes of the Hessian trace (0: no trace).",
        ),
        click.option(
            "--gradcov/--no-gradcov",
            default=True,
            show_default=True,
            help="The gradient-covariance spectrum on the probe set.",
        ),
    ]


#: the stated bounds of the layer-EI options: ``(least, most)``; the most is 1000 times the
#: default number of samples (the work grows with it) and bins that keep the histograms small
EI_BOUNDS = {"bins": (2, 4096), "ei_samples": (1, 10**8), "sensitivity_samples": (1, 5 * 10**6)}
#: the stated bounds of the curvature options (those of the critical-period protocol)
CURVATURE_BOUNDS = {"lanczos_iter": (0, 10_000), "hutchinson_probes": (0, 100_000)}


def _bounded(name: str, value: int, bounds: tuple[int, int]) -> int:
    lo, hi = bounds
    if not lo <= value <= hi:
        raise InputError(
            f"--{name.replace('_', '-')} {value}: expected an integer in [{lo}, {hi:,}]"
        )
    return value


#: the most null-model replicas (``--n-null``) and cuts (``--cuts``, ``--n-cuts``) of a command
MAX_N_NULL = 10_000
MAX_CUTS = 1_000


def bounded_int(lo: int, hi: int) -> Callable[[Any, Any, int | None], int | None]:
    """A click callback: an integer option in ``[lo, hi]``, else an InputError naming it and
    the bound."""

    def check(ctx: Any, param: Any, value: int | None) -> int | None:
        return None if value is None else _bounded(param.name, value, (lo, hi))

    return check


def _ei_options(**values: Any) -> Any:
    from netsci_dl.analysis.information.causal_plane import LayerEIOptions

    for k, bounds in EI_BOUNDS.items():
        _bounded(k, values[k], bounds)
    values["n_samples"] = values.pop("ei_samples")
    return LayerEIOptions(**values)


def layer_ei_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The layer-EI estimator options (``--bins``, ``--ei-samples``, ``--sensitivity-samples``,
    ``--seed``, ``--device``) with the defaults of
    :class:`netsci_dl.analysis.LayerEIOptions`, and ``--activation``; the command receives
    ``ei_options`` and ``activation``."""
    from netsci_dl.analysis.information.causal_plane import LayerEIOptions

    d = LayerEIOptions()
    f = click.option(
        "--activation",
        default=None,
        help="Activation of every layer (sigmoid, tanh, relu, identity, ...): "
        "default the one the model records after each layer.",
    )(f)
    return option_group(
        "ei_options",
        _ei_options,
        click.option(
            "--bins",
            default=d.bins,
            show_default=True,
            type=int,
            help="Bins for layer inputs and outputs.",
        ),
        click.option(
            "--ei-samples",
            default=d.n_samples,
            show_default=True,
            type=int,
            help="Noise samples of each layer's EI_parts.",
        ),
        click.option(
            "--sensitivity-samples",
            default=d.sensitivity_samples,
            show_default=True,
            type=int,
            help="Noise samples per input for the sensitivity.",
        ),
        click.option(
            "--seed", default=d.seed, show_default=True, type=int, help="Random seed of the noise."
        ),
        device_option(),
    )(f)


def check_device(value: str | None, option: str = "--device") -> str | None:
    """A torch device string that exists here (``None`` and ``auto`` pass), checked by
    :func:`netsci_dl._array.resolve_device`, the one device check of the package.

    Raises
    ------
    InputError
        Not a device netsci_dl runs on (``warp9``), or CUDA asked for where there is none.
    """
    if value is None or value == "auto":
        return value
    from netsci_dl._array import resolve_device

    resolve_device(value, what=f"{option} {value!r}")
    return value


def is_quiet(ctx: click.Context) -> bool:
    """Whether ``-q`` / ``--quiet`` was given (no progress bars, info messages or warnings)."""
    return bool(ctx.obj and ctx.obj.get("quiet"))


def run_sources(sources: Sequence[str], what: str = "checkpoint") -> Any:
    """A run folder (one folder given) or the list of snapshot files, each checked to exist."""
    from pathlib import Path

    for s in sources:
        if not Path(s).exists():
            raise FileNotFoundError(f"{s}: no such run folder or {what}")
    return sources[0] if len(sources) == 1 and Path(sources[0]).is_dir() else list(sources)


def figure_names(*stems: str) -> list[str]:
    """The files of figures: each stem as PNG and SVG."""
    return [f"{s}.{e}" for s in stems for e in ("png", "svg")]


def write_csv(path: Any, frame: Any) -> None:
    """A table as CSV without its index (cells a spreadsheet would run as formulas escaped)."""
    from netsci_dl._sanitize import csv_frame

    csv_frame(frame).to_csv(path, index=False)


def write_json(path: Any, doc: Any, **dumps: Any) -> None:
    """A JSON document, indented, with a final newline."""
    from pathlib import Path

    Path(path).write_text(json.dumps(doc, indent=2, **dumps) + "\n")


def write_npy(path: Any, array: Any) -> None:
    """An array as ``.npy`` (to the exact path: numpy adds no suffix to an open file)."""
    import numpy as np

    with open(path, "wb") as fh:
        np.save(fh, array)


def echo(text: Any = "") -> None:
    """``click.echo`` of text that may hold names from a file: control characters escaped."""
    from netsci_dl._sanitize import terminal_lines

    click.echo(terminal_lines(text))
