"""The one adapter from a user's data object to the arrays the runners take.

Every public data-path function of :mod:`netsci_dl.activations` takes, as ``X``, an array or a
tensor (as always), a :class:`netsci_dl.datasets.Dataset`, a torch ``Dataset`` or a
``DataLoader``; the last three also give ``y`` when the function takes one and it was not
passed (:func:`netsci_dl.datasets.as_arrays`), and a token Dataset gives its
``attention_mask`` when the function takes one and it was not passed.

The same wrapper checks the arguments every data-path function shares before any work
(:func:`check_arguments`): the model, ``X`` and ``y``, the counts, seeds, devices and step sizes
named in :data:`COUNTS` and :data:`REALS`; a bad one is an
:class:`~netsci_dl.errors.InputError` naming the argument.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from netsci_dl import _args
from netsci_dl._array import is_tensor, resolve_device
from netsci_dl.datasets import as_arrays
from netsci_dl.errors import InputError

__all__ = ["accepts_data", "check_arguments", "COUNTS", "REALS"]

#: count arguments and their upper bound (a value past it would allocate or loop without end)
COUNTS = {
    "batch_size": 2**31 - 1,
    "n_samples": 10_000,
    "n_probes": 100_000,
    "n_iter": 10_000,
    "n_eigenvalues": 1_000_000,
    "iterations": 1_000_000,
}
#: real arguments: (lower bound, upper bound, lower bound excluded)
REALS = {
    "lr": (0.0, None, True),
    "tol": (0.0, None, False),
    "momentum": (0.0, 1.0, False),
}
#: the functions that also run a netsci_dl DBN (layers h1, h2, ...); the others need a module
_DBN_OK = frozenset(
    "layer_activations iter_activations open_runner stream_similarity stream_maps "
    "predict_log_probs".split()
)
#: the functions whose ``y`` holds class labels of the model's output
_CLASS_LABELS = frozenset(
    "fisher_trace hessian_top_eigenvalue hessian_trace gradient_covariance loss_hvp "
    "per_example_grads iter_per_example_grads pruning_accuracy learn_baseline masked_values "
    "layer_interactions".split()
)


def _plain(X: Any) -> bool:
    return isinstance(X, np.ndarray | list | tuple) or is_tensor(X) or np.isscalar(X)


def accepts_data(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn(model, X, ..., y=...)`` that also takes a data object as ``X`` (module docstring)."""
    sig = inspect.signature(fn)
    names = list(sig.parameters)
    if names[1:2] != ["X"]:
        raise TypeError(f"{fn.__name__}: the second parameter must be X")  # pragma: no cover
    has_y = "y" in sig.parameters
    has_mask = "attention_mask" in sig.parameters

    @functools.wraps(fn)
    def wrapper(*args: Any, **named: Any) -> Any:
        try:
            bound = sig.bind_partial(*args, **named)
        except TypeError:
            return fn(*args, **named)  # Python's own message for a wrong call
        X = bound.arguments.get("X")
        if X is None or _plain(X):
            check_arguments(fn.__name__, bound.arguments)
            return fn(*args, **named)
        Xa, ya = as_arrays(X)
        mask = getattr(X, "attention_mask", None)
        if has_mask and bound.arguments.get("attention_mask") is None and mask is not None:
            bound.arguments["attention_mask"] = mask
        bound.arguments["X"] = Xa
        if has_y and bound.arguments.get("y") is None and ya is not None:
            bound.arguments["y"] = ya
        check_arguments(fn.__name__, bound.arguments)
        return fn(*bound.args, **bound.kwargs)

    return wrapper


def _check_model(where: str, model: Any) -> None:
    import torch

    if isinstance(model, torch.nn.Module):
        return
    if where in _DBN_OK:
        from netsci_dl.models.dbn import DBN

        if isinstance(model, DBN):
            return
        want = "a torch nn.Module or a netsci_dl DBN"
    else:
        want = "a torch nn.Module"
    hint = (
        " (a file: load it first with netsci_dl.models.load_model or netsci_dl.export.load_module)"
        if isinstance(model, str | bytes) or hasattr(model, "__fspath__")
        else ""
    )
    raise InputError(f"model: expected {want}, got {type(model).__name__}{hint}")


def _finite_rows(X: Any) -> bool:
    """True when no entry of a floating ``X`` is NaN or infinite (checked in row chunks)."""
    n = len(X)
    step = max(1, (1 << 22) // max(1, int(np.prod(X.shape[1:]))))
    for s in range(0, n, step):
        part = X[s : s + step]
        if is_tensor(part):
            import torch

            if not bool(torch.isfinite(part).all()):
                return False
        elif not np.isfinite(part).all():
            return False
    return True


def _check_X(X: Any) -> None:
    if not (isinstance(X, np.ndarray) or is_tensor(X)):
        try:
            X = np.asarray(X)
        except (TypeError, ValueError):
            return  # the function's own message
    if X.ndim == 0 or len(X) == 0:
        raise InputError(f"X has shape {tuple(X.shape)}: expected at least one example")
    kind = str(X.dtype).rsplit(".", 1)[-1] if is_tensor(X) else X.dtype.kind
    if is_tensor(X):
        floating, numeric = X.is_floating_point(), not X.is_complex() and kind != "bool"
    else:
        floating, numeric = kind == "f", kind in "biuf"
    if not numeric:
        raise InputError(f"X has dtype {X.dtype}: expected numbers (floats, or token ids)")
    if floating and not _finite_rows(X):
        raise InputError("X holds NaN or infinite values: every output would be NaN")


def _n_outputs(model: Any, X: Any) -> int | None:
    """The number of outputs (classes) of ``model`` on the first example, or None."""
    import torch

    try:
        p = next(model.parameters())
        x = X[:1] if is_tensor(X) else torch.as_tensor(np.asarray(X[:1]))
        if x.is_floating_point():
            x = x.to(dtype=p.dtype)
        was = model.training
        model.eval()
        try:
            with torch.no_grad():
                out = model(x.to(p.device))
        finally:
            model.train(was)
        return int(out.shape[-1]) if is_tensor(out) and out.ndim >= 2 else None
    except Exception:  # noqa: BLE001 - the function itself reports what does not run
        return None


def _check_y(where: str, model: Any, X: Any, y: Any) -> None:
    if callable(y):
        return
    yt = np.asarray(y.detach().cpu() if is_tensor(y) else y)
    n = len(X) if hasattr(X, "__len__") else None
    if yt.ndim == 0 or (n is not None and len(yt) != n):
        raise InputError(f"y has shape {yt.shape}: expected one label per example ({n})")
    if yt.dtype.kind not in "iub" or yt.ndim != 1:
        return  # soft or sampled targets: checked by the function
    if yt.size and int(yt.min()) < 0:
        raise InputError(f"y: labels must be >= 0, got {int(yt.min())}")
    if where in _CLASS_LABELS and yt.size:
        K = _n_outputs(model, X)
        if K is not None and K > 1 and int(yt.max()) >= K:
            raise InputError(
                f"y: labels must lie in [0, {K}) (the model has {K} outputs), "
                f"got up to {int(yt.max())}"
            )


def check_arguments(where: str, arguments: dict[str, Any]) -> None:
    """The checks shared by the data-path functions (module docstring), on the arguments
    ``where`` (a function's name) was given: InputError naming the argument."""
    for name, hi in COUNTS.items():
        if name in arguments:
            _args.count(name, arguments[name], hi=hi)
    for name, (lo, hi, lo_open) in REALS.items():
        if name in arguments:
            _args.real(name, arguments[name], lo=lo, hi=hi, lo_open=lo_open)
    if "seed" in arguments:
        _args.seed("seed", arguments["seed"])
    if arguments.get("device") is not None:
        resolve_device(arguments["device"])
    if "model" in arguments:
        _check_model(where, arguments["model"])
    X = arguments.get("X")
    if X is not None:
        _check_X(X)
        if arguments.get("y") is not None:
            _check_y(where, arguments.get("model"), X, arguments["y"])
