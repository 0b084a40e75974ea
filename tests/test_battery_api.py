"""A generated battery over the public Python API (issue 28, classes 3 and 8): hostile arguments
give an :class:`~netsci_dl.errors.InputError` (a ``ValueError``) whose message names the
argument, raised before any work.

The cases are generated, not written by hand: every public function of the packages in
:data:`PACKAGES` is walked; each parameter whose name is in :data:`KINDS` (a count, a seed, a
device, a model, labels, an array, a fraction ...) gets that kind's hostile values, the other
required parameters get a small valid value from :data:`VALID`. A function whose required
parameters are not all in :data:`VALID` is not called (:func:`test_the_battery_reaches_the_api`
keeps that list from growing unseen).

The cases run in one subprocess (``python tests/test_battery_api.py``) under an address-space
limit of about 1.5 GiB above what the imports take and a 20 s alarm per case, so a hostile size
that allocates (``coalition_masks(40)``: 8 TiB) or loops (``iterations=1e12``) shows as a
MemoryError or a hang, not as a dead test run. A case passes when:

- the function raised InputError and the message names the argument (``name=`` or ``name``
  as a word), or
- the value is a huge size (``1e12``) and the function returned normally, within the limits,
  with no NaN in a float result (a size past the work may be clipped, e.g. a batch size).

Never: RuntimeError, AttributeError, IndexError or TypeError from numpy or torch internals,
MemoryError, LinAlgError, sklearn's InvalidParameterError, a silent NaN result.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

PACKAGES = (
    "netsci_dl.analysis",
    "netsci_dl.activations",
    "netsci_dl.threshold",
    "netsci_dl.datasets",
    "netsci_dl.runs",
    "netsci_dl.models.mlp",
    "netsci_dl.models.classifier",
    "netsci_dl.models.deficits",
    "netsci_dl.models.rbm",
    "netsci_dl.models.train",
    "netsci_dl.models.load",
)

HUGE = 1e12  # a size whose allocation or loop would not end: refused, or clipped to the work

_COUNT = (0, -1, 3.5, math.nan, math.inf, HUGE, "3")
_SIZE = (-1, 3.5, math.nan, math.inf, HUGE, "3")  # a count where 0 means something
_SEED = (-1, 3.5, math.nan, "x")
_DEVICE = ("cuda:99", "tpu", 3.5)
_DEVICE_NAME = ("tpu", 3.5)  # in a setting: cuda:99 is checked where it is used
_POSITIVE = (0.0, -1.0, math.nan, math.inf, "x")
_NONNEGATIVE = (-1.0, math.nan, math.inf, "x")
_FRACTION = (-0.5, 1.5, math.nan, "x")
_JOBS = (0, 3.5, "x")


class _Bad:
    """A hostile value built in the worker (arrays, models) and its printable label."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __repr__(self) -> str:
        return self.label


# hostile values by kind; _Bad ones are built in the worker by _build_bad
HOSTILE: dict[str, tuple[Any, ...]] = {
    "count": _COUNT,
    "size": _SIZE,
    "seed": _SEED,
    "device": _DEVICE,
    "device_name": _DEVICE_NAME,
    "positive": _POSITIVE,
    "nonnegative": _NONNEGATIVE,
    "fraction": _FRACTION,
    "jobs": _JOBS,
    "model": (_Bad("a string"), _Bad("a DBN"), _Bad("an int")),
    "model_or_dbn": (_Bad("a string"), _Bad("an int")),
    "labels": (_Bad("labels out of range"), _Bad("negative labels"), _Bad("labels too short")),
    "X": (_Bad("empty X"), _Bad("NaN X"), _Bad("string X")),
    "sample": (_Bad("empty sample"), _Bad("NaN sample"), _Bad("string sample")),
    "values": (_Bad("NaN sample"), _Bad("string sample")),  # empty in, empty out
    # fit_distributions: an empty or non-finite sample is an empty fit whose note says why
    # (layer_spectra fits the spectrum of a zero matrix): tests/test_args.py
    "numbers": (_Bad("string sample"),),
}

# parameter name -> kind (the same meaning in every function: tests/test_vocabulary.py)
KINDS: dict[str, str] = {
    **dict.fromkeys(
        (
            "batch_size n_samples n_probes n_iter iterations n_null n_shuffles n_rounds "
            "rewire_rounds n_eigenvalues record_every max_iter n_init bins bins_per_decade "
            "min_tail epochs lanczos_iter hutchinson_probes sensitivity_samples error_sample "
            "n_train probe_size cd_k max_states batch_bytes"
        ).split(),
        "count",
    ),
    "seed": "seed",
    "device": "device",
    **dict.fromkeys("lr rbf_scale C learning_rate".split(), "positive"),
    "weight_decay": "nonnegative",
    "num_threads": "count",
    "tol": "nonnegative",
    **dict.fromkeys("level density fraction drop momentum".split(), "fraction"),
    "n_jobs": "jobs",
    "model": "model",
}

# (function, parameter) -> kind, where the name alone does not say it
KINDS_BY_FUNCTION: dict[tuple[str, str], str] = {
    ("coalition_masks", "n"): "size",
    ("set_orders", "n"): "size",
    ("and_or_split", "iterations"): "size",
    ("SplitOptions", "iterations"): "size",
    ("rewire_blocks", "n_rounds"): "size",
    ("motif_counts", "n_null"): "size",
    ("rich_club", "n_null"): "size",
    ("threshold_sweep", "n_null"): "size",
    ("threshold_sweep", "rewire_rounds"): "size",
    ("top_eigenvalue", "n"): "count",
    ("hutchinson_trace", "n"): "count",
    ("neuron_types", "k"): "count",
    ("clusterability", "k"): "count",
    ("spectral_clustering", "k"): "count",
    ("top_k", "k"): "count",
    ("default_cuts", "n"): "count",
    ("by_quantile", "q"): "fraction",
    ("blockwise_quantile_cut", "q"): "fraction",
    ("fit_distributions", "x"): "numbers",
    ("ccdf", "x"): "values",
    ("log_binned_histogram", "x"): "values",
    ("and_or_split", "v"): "sample",
    ("and_interactions", "v"): "sample",
    ("or_interactions", "v"): "sample",
    ("label_permutation", "n_classes"): "count",
    ("CriticalPeriodOptions", "model"): "",  # a "pkg.module:Class" string, not a module
    # a predicate on any object: False for anything whose forward does not name the argument
    ("takes_attention_mask", "model"): "",
}
for _f in (
    "fisher_trace hessian_top_eigenvalue hessian_trace gradient_covariance loss_hvp "
    "per_example_grads pruning_accuracy masked_values learn_baseline layer_interactions"
).split():
    KINDS_BY_FUNCTION[(_f, "y")] = "labels"
    KINDS_BY_FUNCTION[(_f, "X")] = "X"
for _f in (
    "layer_activations iter_activations open_runner predict_log_probs stream_similarity stream_maps"
).split():
    KINDS_BY_FUNCTION[(_f, "X")] = "X"
    KINDS_BY_FUNCTION[(_f, "model")] = "model_or_dbn"  # a DBN runs forward too


# a count where 0 means "none" (or "no training")
_SIZES = {"lanczos_iter", "hutchinson_probes", "epochs", "error_sample"}


def kind_of(fn: str, param: str) -> str | None:
    kind = KINDS_BY_FUNCTION.get((fn, param), KINDS.get(param))
    if kind and fn.endswith(("Options", "Config", "Spec")):
        # a setting: its spelling is checked when it is made, its meaning where it is used
        kind = {"device": "device_name"}.get(kind, kind)
        kind = "size" if param in _SIZES else kind
    return kind or None


# ---------------------------------------------------------------------------------------------
# the worker (runs in a subprocess: python tests/test_battery_api.py)


def _graph() -> Any:
    from netsci_dl.graph import LayeredGraph

    rng = np.random.default_rng(0)
    sizes = (5, 4, 3)
    blocks = tuple(rng.normal(0, 1, (a, b)).astype(np.float32) for a, b in zip(sizes, sizes[1:]))
    return LayeredGraph(sizes, blocks)


def _big_graph() -> Any:
    from netsci_dl.graph import LayeredGraph

    rng = np.random.default_rng(0)
    return LayeredGraph((20, 20), (rng.normal(0, 1, (20, 20)).astype(np.float32),))


def _causal_graph() -> Any:
    return _graph().with_meta(activations=("identity", "sigmoid", "identity"))


def _sparse_graph() -> Any:
    from netsci_dl.threshold import by_quantile

    return by_quantile(_graph(), 0.5)


def _model() -> Any:
    from netsci_dl.models.mlp import build_mlp

    return build_mlp((4, 5, 3), device="cpu")


def _X() -> np.ndarray:
    return np.random.default_rng(1).random((12, 4), dtype=np.float32)


def _y() -> np.ndarray:
    return np.arange(12) % 3


def _sym(n: int = 5) -> np.ndarray:
    a = np.random.default_rng(2).normal(size=(n, n))
    return a + a.T


# valid values of required parameters, by (function, name) or by name
VALID_BY_FUNCTION: dict[tuple[str, str], Any] = {
    ("coalition_masks", "n"): lambda: 3,
    ("set_orders", "n"): lambda: 3,
    ("top_eigenvalue", "n"): lambda: 5,
    ("hutchinson_trace", "n"): lambda: 5,
    ("top_k", "k"): lambda: 2,
    ("hessian_top_eigenvalue", "n_iter"): lambda: 5,
    ("layer_spectra", "weights"): lambda: {"W": np.random.default_rng(6).normal(size=(30, 20))},
    ("build_mlp", "layers"): lambda: (4, 5, 3),
    ("MLPConfig", "layers"): lambda: (4, 5, 3),
    ("TrainConfig", "layers"): lambda: (4, 3),
    ("MLPConfig", "epochs"): lambda: 1,
    ("TrainConfig", "epochs"): lambda: 1,
    ("ArchConfig", "kind"): lambda: "mlp",
    ("ArchConfig", "input_shape"): lambda: (4,),
    ("ArchConfig", "n_classes"): lambda: 3,
    ("fisher_trace", "kind"): lambda: "empirical",  # uses y
    **{
        (f, "G"): _sparse_graph
        for f in "layered_replica rewire_blocks motif_counts rich_club count_motifs".split()
    },
    ("clusterability", "G"): _big_graph,
    ("spectral_clustering", "G"): _big_graph,
    ("analyze_modules", "G"): lambda: _graph().with_meta(image_shape=(1, 5)),
    ("layer_causal_plane", "G"): lambda: _causal_graph(),
    ("minibatch_cka", "batch_size"): lambda: 4,
    # the run pipelines also take snapshots in memory: graphs or models in training order
    ("ei_trajectory", "source"): lambda: [_causal_graph(), _causal_graph()],
    ("spectra_over_training", "source"): lambda: [_graph(), _graph()],
    ("graph_measures_over_training", "source"): lambda: [_graph(), _graph()],
    ("training_similarity", "source"): lambda: [_model(), _model()],
}
VALID: dict[str, Any] = {
    "G": _graph,
    "H": _graph,
    "src": _graph,
    "Y": lambda: np.random.default_rng(7).random((12, 6)),
    "F": _X,
    "cuts": lambda: [0.1, 0.5],
    "model": _model,
    "X": _X,
    "y": _y,
    "v": lambda: np.random.default_rng(3).random(8),
    "I": lambda: np.random.default_rng(3).random(8),
    "x": lambda: np.random.default_rng(4).lognormal(size=300),
    "matvec": lambda: _sym().__matmul__,
    "players": lambda: [np.array([0, 1]), np.array([2, 3])],
    "fractions": lambda: [0.0, 0.5],
    "t": lambda: 0.1,
    "q": lambda: 0.5,
    "density": lambda: 0.5,
    "fraction": lambda: 0.5,
    "blocks": lambda: [np.random.default_rng(5).normal(size=(5, 4))],
    "n_classes": lambda: 3,
    "kind": lambda: "model",
}


def _valid(fn: str, param: str) -> Any:
    make = VALID_BY_FUNCTION.get((fn, param), VALID.get(param))
    return None if make is None else make()


def _build_bad(bad: Any) -> Any:
    if not isinstance(bad, _Bad):
        return bad
    label = bad.label
    if label == "a string":
        return "model.pt"
    if label == "a DBN":
        from netsci_dl.models.dbn import DBN

        return DBN((4, 3), epochs=1, batch_size=6, seed=0).fit(_X(), progress=False)
    if label == "an int":
        return 42
    y = _y()
    table = {
        "labels out of range": y + 97,
        "negative labels": y - 5,
        "labels too short": y[:5],
        "empty X": np.zeros((0, 4), np.float32),
        "NaN X": np.full((12, 4), np.nan, np.float32),
        "string X": np.array([["a"] * 4] * 12),
        "empty sample": np.array([], dtype=float),
        "NaN sample": np.full(8, np.nan),
        "string sample": np.array(["a"] * 8),
    }
    return table[label]


def public_functions() -> list[tuple[str, str, Any]]:
    """(package, name, function) for every public function of :data:`PACKAGES`."""
    import importlib

    out = []
    seen = set()
    for pkg in PACKAGES:
        mod = importlib.import_module(pkg)
        names = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
        for name in names:
            fn = getattr(mod, name)
            if not str(getattr(fn, "__module__", "")).startswith("netsci_dl"):
                continue
            # functions, and the option/config classes whose fields are arguments too
            is_options = inspect.isclass(fn) and name.endswith(("Options", "Config", "Spec"))
            if not (inspect.isfunction(fn) or is_options):
                continue
            if name in seen:
                continue
            seen.add(name)
            out.append((pkg, name, fn))
    return out


def _required(fn: Any) -> list[str]:
    sig = inspect.signature(fn)
    return [
        p.name
        for p in sig.parameters.values()
        if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def cases() -> tuple[list[tuple[str, str, str, Any]], list[str]]:
    """(package, function, parameter, hostile value) for every case; and the functions not
    reached (a required parameter without a valid value in :data:`VALID`)."""
    out, unreached = [], []
    for pkg, name, fn in public_functions():
        params = inspect.signature(fn).parameters
        hostile = [p for p in params if kind_of(name, p) is not None]
        if not hostile:
            continue
        missing = [
            p
            for p in _required(fn)
            if VALID_BY_FUNCTION.get((name, p), VALID.get(p)) is None and kind_of(name, p) is None
        ]
        if missing:
            unreached.append(f"{name}({', '.join(missing)})")
            continue
        for p in hostile:
            out.extend((pkg, name, p, bad) for bad in HOSTILE[kind_of(name, p)])
    return out, unreached


def case_id(case: tuple[str, str, str, Any]) -> str:
    _, name, p, bad = case
    return f"{name}-{p}={bad!r}"


def _has_nan(result: Any) -> bool:
    vals = []
    if isinstance(result, float | np.floating | np.ndarray):
        vals = [result]
    elif hasattr(result, "__dataclass_fields__"):
        vals = [getattr(result, f) for f in result.__dataclass_fields__]
    for v in vals:
        a = np.asarray(v) if isinstance(v, float | np.floating | np.ndarray) else None
        if a is not None and a.dtype.kind == "f" and a.size and np.isnan(a).any():
            return True
    return False


def _run_one(case: tuple[str, str, str, Any]) -> dict[str, Any]:
    import importlib
    import signal

    pkg, name, param, bad = case
    fn = getattr(importlib.import_module(pkg), name)
    sig = inspect.signature(fn)
    kwargs = {}
    for p in _required(fn):
        if p != param:
            kwargs[p] = _valid(name, p)
    kwargs[param] = _build_bad(bad)
    args, named = [], {}
    for p in sig.parameters.values():
        if p.name not in kwargs:
            continue
        if p.kind is p.POSITIONAL_ONLY:
            args.append(kwargs[p.name])
        else:
            named[p.name] = kwargs[p.name]

    def _alarm(*_: Any) -> None:
        raise TimeoutError("no answer in 20 s")

    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)
    try:
        result = fn(*args, **named)
        if inspect.isgenerator(result):
            result = list(result)
    except BaseException as e:  # noqa: BLE001 - the battery records whatever comes out
        from netsci_dl.errors import InputError

        return {
            "outcome": "raised",
            "type": f"{type(e).__module__}.{type(e).__qualname__}",
            "input_error": isinstance(e, InputError),
            "message": str(e)[:400],
        }
    finally:
        signal.alarm(0)
    return {"outcome": "returned", "nan": _has_nan(result)}


def _limit_memory(extra: int = 3 << 29) -> None:
    import resource

    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + extra, vm + extra))


def _worker(selected: list[str] | None) -> None:
    import warnings

    import torch  # noqa: F401 - imported before the limit, as every torch user would

    import netsci_dl.activations  # noqa: F401
    import netsci_dl.analysis  # noqa: F401

    warnings.simplefilter("ignore")
    all_cases, _ = cases()
    _limit_memory()
    out = {}
    for case in all_cases:
        cid = case_id(case)
        if selected is None or cid in selected:
            out[cid] = _run_one(case)
    print(json.dumps(out))


# ---------------------------------------------------------------------------------------------
# the tests

_ALL, _UNREACHED = cases()
_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def outcomes() -> dict[str, dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(_ROOT)}
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve())],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=_ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def names_argument(message: str, param: str) -> bool:
    """The message names ``param`` (``param=...`` or the word ``param``)."""
    return re.search(rf"(?<![A-Za-z_]){re.escape(param)}(?![A-Za-z_])", message) is not None


@pytest.mark.parametrize("case", _ALL, ids=[case_id(c) for c in _ALL])
def test_hostile_argument_is_named(case, outcomes):
    _, name, param, bad = case
    got = outcomes[case_id(case)]
    if got["outcome"] == "returned":
        assert bad == HUGE, f"{name}({param}={bad!r}) was accepted"
        assert not got["nan"], f"{name}({param}={bad!r}) returned NaN"
        return
    assert got["input_error"], f"{name}({param}={bad!r}) raised {got['type']}: {got['message']}"
    assert names_argument(got["message"], param), (
        f"{name}({param}={bad!r}): the message does not name {param}: {got['message']}"
    )


def test_the_battery_reaches_the_api():
    """The battery calls the public functions and option classes that take a kind it knows;
    those it cannot call yet (a required run folder, file or fitted object not in VALID) are
    counted, so the list does not grow unseen."""
    n_called = len({c[1] for c in _ALL})
    assert n_called >= 77, n_called
    assert len(_ALL) >= 1000, len(_ALL)
    assert len(_UNREACHED) <= 16, _UNREACHED


if __name__ == "__main__":
    _worker(sys.argv[1:] or None)
