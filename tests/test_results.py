"""The results contract: every public result, options and config object has ``to_dict()``
(JSON-able), ``to_frame()`` where a table helps, and a ``repr`` that summarises in under 300
characters without printing an array.

Each case below builds its object from a small real computation at a realistic size (the
784-500-500-2000 DBN graph, ten layers with nested module names, fifty snapshots), so that a
repr that grows with the layers, the snapshots or the nodes fails here.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import json
import pkgutil
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import netsci_dl
import netsci_dl.runs.interactions
import netsci_dl.runs.pruning
import netsci_dl.runs.spectra
from netsci_dl import analysis as A

MAX_REPR = 300

#: class -> (builder, whether the result is a table: it must have ``to_frame``)
CASES: dict[type, tuple[Callable[[], Any], bool]] = {}

#: public classes of those packages that are not results, options or configs
NOT_RESULTS = {
    "SweepTask": "a work unit of the threshold sweep handed to a worker, not a result",
    "SnapshotTask": "a work unit of training_similarity handed to a worker, not a result",
    "CheckpointModel": "a snapshot to load (a checkpoint and its class) handed to the "
    "pipelines, not a result",
}

#: the packages whose public classes keep the contract
PACKAGES = ("analysis", "activations", "runs", "export", "models")


def case(cls: type, *, table: bool = False) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    def register(build: Callable[[], Any]) -> Callable[[], Any]:
        CASES[cls] = (functools.cache(build), table)
        return build

    return register


# ---------------------------------------------------------------- shared inputs (built once)
NAMES = tuple(f"encoder.block_{i}.linear" for i in range(10))  # ten layers, nested names


@functools.cache
def dbn_graph() -> Any:
    """The 784-500-500-2000 DBN as a weighted graph (1.6M edges)."""
    rng = np.random.default_rng(0)
    sizes = (784, 500, 500, 2000)
    mats = [rng.normal(size=(a, b)).astype(np.float32) for a, b in zip(sizes, sizes[1:])]
    return netsci_dl.from_matrices(mats, names=["rbm.0", "rbm.1", "rbm.2"], image_shape=(28, 28))


@functools.cache
def dbn_thresholded() -> Any:
    from netsci_dl.threshold import by_quantile

    return by_quantile(dbn_graph(), 0.99)


@functools.cache
def dbn_partition() -> Any:
    return A.leiden(dbn_thresholded(), seed=0)


@functools.cache
def dbn_summary() -> Any:
    return A.structural_summary(dbn_graph())


@functools.cache
def deep_net() -> Any:
    """A ten-layer tanh MLP with nested module names, 16 features in, 3 classes out."""
    import torch

    torch.manual_seed(0)
    blocks = OrderedDict()
    width = 16
    for i in range(10):
        out = 3 if i == 9 else 8
        layers = OrderedDict(linear=torch.nn.Linear(width, out))
        if i < 9:
            layers["act"] = torch.nn.Tanh()
        blocks[f"block_{i}"] = torch.nn.Sequential(layers)
        width = out
    return torch.nn.Sequential(OrderedDict(encoder=torch.nn.Sequential(blocks)))


@functools.cache
def deep_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(48, 16)).astype(np.float32)
    return X, rng.integers(0, 3, 48)


@functools.cache
def deep_activations() -> Any:
    from netsci_dl.activations import layer_activations

    X, _ = deep_data()
    return layer_activations(deep_net(), X, layers=[f"{n}" for n in NAMES])


@functools.cache
def layer_arrays() -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in deep_activations().items()}


@functools.cache
def fields() -> np.ndarray:
    """Receptive fields of 40 hidden units on a 12x12 image."""
    rng = np.random.default_rng(2)
    G = netsci_dl.from_matrices([rng.normal(size=(144, 40))], image_shape=(12, 12))
    return A.receptive_fields(G, 1)


@functools.cache
def emd() -> Any:
    return A.emd_matrix(A.to_distributions(fields()), n_jobs=1, progress=False)


@functools.cache
def interactions() -> Any:
    from netsci_dl.activations import layer_interactions

    X, y = deep_data()
    return layer_interactions(
        deep_net(),
        X[:6],
        y[:6],
        players=[[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]],
        probe_data=(X, y),
        options=A.SplitOptions(iterations=50),
        label="epoch 12",
    )


@functools.cache
def training_similarity() -> Any:
    """Fifty snapshots of the ten layers."""
    rng = np.random.default_rng(3)
    base = layer_arrays()
    snaps = [
        (
            {k: v + rng.normal(scale=1 / (s + 1), size=v.shape) for k, v in base.items()},
            {"label": f"step_{100 * s:06d}", "step": 100 * s, "epoch": s},
        )
        for s in range(50)
    ]
    return A.similarity_over_training(snaps, within=False)


@functools.cache
def snapshot_graphs() -> list[Any]:
    """Fifty snapshots of a chain of ten weight layers."""
    rng = np.random.default_rng(4)
    W = [rng.normal(size=(4, 4)) for _ in range(10)]
    names = [f"rbm.{i}" for i in range(10)]
    return [netsci_dl.from_matrices([w * (1 + s / 50) for w in W], names=names) for s in range(50)]


def _ei_options() -> Any:
    return A.LayerEIOptions(bins=4, n_samples=400, sensitivity_samples=20)


# ---------------------------------------------------------------- analysis.structure
@case(A.StructureSummary)
def _() -> Any:
    return dbn_summary()


@case(A.StructureComparison, table=True)
def _() -> Any:
    return A.compare(dbn_summary(), dbn_summary())


@case(A.Agreement, table=True)
def _() -> Any:
    a = dbn_partition().labels
    return A.agreement(a, np.roll(a, 7))


@case(A.Partition, table=True)
def _() -> Any:
    return dbn_partition()


@case(A.NullResult)
def _() -> Any:
    return A.shuffle_null(dbn_thresholded(), dbn_partition(), n_samples=3)


@case(A.KnnCurve, table=True)
def _() -> Any:
    return A.knn_curve(dbn_thresholded())


@case(A.DegreeStrengthCorrelation, table=True)
def _() -> Any:
    return dbn_summary().degree_strength


@case(A.FitResult, table=True)
def _() -> Any:
    return A.fit_distributions(A.degree(dbn_thresholded()))


def _fits() -> Any:
    from netsci_dl.analysis.structure import fits

    return fits


@case(_fits().DistributionFit)
def _() -> Any:
    return A.fit_distributions(A.degree(dbn_thresholded())).fits[0]


@case(_fits().VuongTest)
def _() -> Any:
    return A.fit_distributions(A.degree(dbn_thresholded())).tests[0]


def _distributions() -> Any:
    from netsci_dl.analysis.structure import distributions

    return distributions


@case(_distributions().WeightDistribution, table=True)
def _() -> Any:
    return A.weight_stats(dbn_graph())


@case(_distributions().WeightStats)
def _() -> Any:
    return A.weight_stats(dbn_graph()).overall


# ---------------------------------------------------------------- analysis.information
@case(A.EffectiveInformation, table=True)
def _() -> Any:
    return A.effective_information(dbn_graph(), per_block=True)


@case(A.LayerEI)
def _() -> Any:
    W = np.random.default_rng(5).normal(size=(6, 5))
    return A.layer_ei(W, activation="sigmoid", options=_ei_options())


@case(A.LayerEIOptions)
def _() -> Any:
    return A.LayerEIOptions(in_range=(0.0, 1.0), device="cpu")


# ---------------------------------------------------------------- analysis.fields
@case(A.EMDOptions)
def _() -> Any:
    return A.EMDOptions(neighbourhood=16, error_sample=10)


@case(A.EMDResult)
def _() -> Any:
    return emd()


def _emd_module() -> Any:
    from netsci_dl.analysis.fields import emd as mod

    return mod


@case(_emd_module().SignedFields)
def _() -> Any:
    return A.to_distributions(fields(), "signed")


@case(A.FunctionalModules, table=True)
def _() -> Any:
    return A.functional_modules(emd(), k=5)


@case(A.ModuleStatistics, table=True)
def _() -> Any:
    G = dbn_graph()
    return A.module_statistics(G, dbn_thresholded(), 1, np.arange(500) % 20)


@case(A.ModuleAnalysis, table=True)
def _() -> Any:
    rng = np.random.default_rng(6)
    G = netsci_dl.from_matrices(
        [rng.normal(size=(144, 40)), rng.normal(size=(40, 10))], image_shape=(12, 12)
    )
    return A.analyze_modules(G, 1, k=5, n_jobs=1, progress=False)


# ---------------------------------------------------------------- analysis.similarity
@case(A.CCAResult)
def _() -> Any:
    a = layer_arrays()
    return A.pwcca(a[NAMES[1]], a[NAMES[2]])


@case(A.SimilarityMatrix, table=True)
def _() -> Any:
    return A.similarity_matrix(layer_arrays())


@case(A.SimilarityOptions)
def _() -> Any:
    return A.SimilarityOptions(keep=10, device="cpu")


@case(A.PreparedLayers)
def _() -> Any:
    return A.prepare_layers(layer_arrays())


@case(A.SnapshotSimilarity, table=True)
def _() -> Any:
    a = layer_arrays()
    return A.snapshot_similarity(a, a, info={"label": "step_004200", "step": 4200, "epoch": 42})


@case(A.TrainingSimilarity, table=True)
def _() -> Any:
    return training_similarity()


# ---------------------------------------------------------------- analysis.interactions
@case(A.SplitOptions)
def _() -> Any:
    return A.SplitOptions(iterations=100)


@case(A.AndOrSplit)
def _() -> Any:
    v = np.random.default_rng(7).normal(size=(10, 6, 32))
    return A.and_or_split(v, iterations=50)


@case(A.SalientChange, table=True)
def _() -> Any:
    return interactions().changes()[0]


@case(A.LinearProbe)
def _() -> Any:
    X, y = deep_data()
    return A.fit_probe(layer_arrays()[NAMES[3]], y)


@case(A.LayerInteractions, table=True)
def _() -> Any:
    return interactions()


@case(netsci_dl.runs.interactions.InteractionRun, table=True)
def _() -> Any:
    from netsci_dl.runs.interactions import InteractionRun

    li = interactions()
    return InteractionRun(
        results=(li, li),
        source="runs/" + "a_long_run_folder_name/" * 20,
        data="digits",
        sample_indices=np.arange(li.n_samples),
        images=np.zeros((li.n_samples, 8, 8)),
        image_shape=(8, 8),
    )


@case(netsci_dl.runs.interactions.InteractionOptions)
def _() -> Any:
    from netsci_dl.runs.interactions import InteractionOptions

    return InteractionOptions(players=(4, 4), explain=50)


# ---------------------------------------------------------------- neuron-level network science
@functools.cache
def small_mlp_graph() -> Any:
    rng = np.random.default_rng(3)
    sizes = (30, 20, 10)
    mats = [rng.normal(size=(a, b)).astype(np.float32) for a, b in zip(sizes, sizes[1:])]
    return netsci_dl.from_matrices(mats, names=["fc1", "fc2"])


@functools.cache
def small_thresholded() -> Any:
    from netsci_dl.threshold import by_quantile

    return by_quantile(small_mlp_graph(), 0.7)


@functools.cache
def neuron_table() -> Any:
    return A.neuron_measures(small_mlp_graph())


@case(A.NeuronMeasures, table=True)
def _() -> Any:
    return neuron_table()


@case(A.NeuronTypes)
def _() -> Any:
    return A.neuron_types(neuron_table(), k=3, seed=0)


@case(A.Betweenness)
def _() -> Any:
    return A.betweenness_centrality(small_mlp_graph(), k=10, seed=0)


@case(A.Clusterability)
def _() -> Any:
    return A.clusterability(small_mlp_graph(), k=3, n_shuffles=4, seed=0)


@case(A.MotifCounts, table=True)
def _() -> Any:
    return A.motif_counts(small_thresholded(), n_null=3, seed=0)


@case(A.RichClub, table=True)
def _() -> Any:
    return A.rich_club(small_thresholded(), n_null=3, seed=0)


@case(A.Percolation, table=True)
def _() -> Any:
    return A.pruning_percolation(small_mlp_graph())


@case(netsci_dl.activations.PruningAccuracy, table=True)
def _() -> Any:
    X, y = deep_data()
    return netsci_dl.activations.pruning_accuracy(deep_net(), X, y, [0.0, 0.5, 0.9])


@case(netsci_dl.runs.pruning.PruningSweep, table=True)
def _() -> Any:
    X, y = deep_data()
    net = deep_net()
    G = netsci_dl.from_matrices([m.weight.detach().numpy().T for m in net.modules()
                                 if type(m).__name__ == "Linear"])  # fmt: skip
    return netsci_dl.runs.pruning.pruning_sweep(G, net, X, y)


# ---------------------------------------------------------------- weight-matrix spectra
@functools.cache
def spectra() -> Any:
    rng = np.random.default_rng(0)
    mats = {f"{n}.weight": rng.normal(size=(200, 120)) for n in NAMES}
    return A.layer_spectra(mats, traps=False)


@case(A.ESD)
def _() -> Any:
    return A.esd(np.random.default_rng(1).normal(size=(500, 300)), name="encoder." * 30 + "w")


@case(A.MPFit)
def _() -> Any:
    return spectra()[0].mp


@case(A.MatrixSpectrum)
def _() -> Any:
    return spectra()[0]


@case(A.LayerSpectra, table=True)
def _() -> Any:
    return spectra()


@case(netsci_dl.runs.spectra.SpectraTrajectory, table=True)
def _() -> Any:
    from netsci_dl.runs.spectra import SpectraTrajectory

    S = spectra()
    n = 50
    return SpectraTrajectory(
        labels=tuple(f"step{i:05d}" for i in range(n)),
        steps=np.arange(n, dtype=np.int64),
        epochs=tuple(range(n)),
        spectra=(S,) * n,
        settings={"delta": False},
    )


# ---------------------------------------------------------------- analysis.spectra
def _matvec() -> tuple[Callable[[Any], Any], int]:
    import torch

    d = torch.linspace(1.0, 5.0, 200, dtype=torch.float64)
    return (lambda v: d * v), 200


@case(A.TopEigenvalue, table=True)
def _() -> Any:
    f, n = _matvec()
    return A.top_eigenvalue(f, n)


@case(A.TraceEstimate, table=True)
def _() -> Any:
    f, n = _matvec()
    return A.hutchinson_trace(f, n, n_probes=8, groups=dict.fromkeys(NAMES, 20))


@case(A.GradientCovariance, table=True)
def _() -> Any:
    from netsci_dl.activations import gradient_covariance

    X, y = deep_data()
    return gradient_covariance(deep_net(), X, y)


# ---------------------------------------------------------------- activations
@case(netsci_dl.activations.Activations, table=True)
def _() -> Any:
    return deep_activations()


@case(netsci_dl.activations.FisherTrace, table=True)
def _() -> Any:
    from netsci_dl.activations import fisher_trace

    X, _ = deep_data()
    return fisher_trace(deep_net(), X, kind="model_exact")


@case(netsci_dl.activations.GradBatch)
def _() -> Any:
    from netsci_dl.activations import iter_per_example_grads

    X, y = deep_data()
    return next(iter(iter_per_example_grads(deep_net(), X, y, batch_size=32)))


# ---------------------------------------------------------------- runs
def _runs(name: str) -> Any:
    return importlib.import_module(f"netsci_dl.runs.{name}")


@case(_runs("trajectory").EITrajectory, table=True)
def _() -> Any:
    return _runs("trajectory").ei_trajectory(
        snapshot_graphs(), activations="sigmoid", options=_ei_options()
    )


@case(_runs("similarity").ActivationSpec)
def _() -> Any:
    return _runs("similarity").ActivationSpec(layers=NAMES, input_shape=(1, 4, 4))


@case(_runs("measures").TrainingMeasureOptions)
def _() -> Any:
    return _runs("measures").TrainingMeasureOptions(ei=_ei_options())


@case(_runs("critical").CriticalPeriodOptions)
def _() -> Any:
    return _runs("critical").CriticalPeriodOptions(onsets=(0, 4, 8, 16), windows=(2, 4))


@case(_runs("critical").CriticalPeriodResult, table=True)
def _() -> Any:
    import tempfile

    cp = _runs("critical")
    opts = cp.CriticalPeriodOptions(
        arch="mlp",
        onsets=(0,),
        windows=(1,),
        epochs=1,
        n_train=120,
        probe_size=16,
        lanczos_iter=2,
        gradcov=False,
        batch_size=40,
    )
    with tempfile.TemporaryDirectory() as d:
        return cp.critical_period("digits", d, options=opts, n_jobs=1)


# ---------------------------------------------------------------- export
@functools.cache
def plan() -> Any:
    return netsci_dl.inspect(deep_net())


@case(netsci_dl.export.ExportPlan, table=True)
def _() -> Any:
    return plan()


@case(netsci_dl.export.GroupSpec)
def _() -> Any:
    return plan().groups[1]


@case(netsci_dl.export.BlockSpec)
def _() -> Any:
    return plan().blocks[0]


@case(netsci_dl.export.TensorInfo)
def _() -> Any:
    return plan().tensors[0]


def _checkpoint() -> Any:
    from netsci_dl.export import checkpoint

    return checkpoint


@case(_checkpoint().Checkpoint, table=True)
def _() -> Any:
    import tempfile

    import torch

    with tempfile.TemporaryDirectory() as d:
        path = f"{d}/net.pt"
        torch.save(deep_net().state_dict(), path)
        return _checkpoint().read_checkpoint(path)


# ---------------------------------------------------------------- models
def _models(name: str) -> Any:
    return importlib.import_module(f"netsci_dl.models.{name}")


@case(_models("config").TrainConfig)
def _() -> Any:
    return _models("config").TrainConfig(layers=(784, 500, 500, 2000), epochs=(50, 50, 50))


@case(_models("config").TrainHistory, table=True)
def _() -> Any:
    X = (np.random.default_rng(8).random((20, 12)) > 0.5).astype(np.float32)
    cfg = _models("config").TrainConfig(layers=(12, 6, 6, 4), epochs=50, batch_size=10)
    dbn = _models("dbn").DBN(config=cfg)
    return _models("train").fit_dbn(dbn, X, progress=False)


@case(_models("mlp").MLPConfig)
def _() -> Any:
    return _models("mlp").MLPConfig(layers=(784, 500, 500, 10), epochs=50)


@case(_models("classifier").ArchConfig)
def _() -> Any:
    return _models("classifier").ArchConfig("lenet", (1, 28, 28), 10)


@case(_models("classifier").Deficit)
def _() -> Any:
    return _models("classifier").Deficit("blur", start=0, length=40)


@case(_models("classifier").ClassifierConfig)
def _() -> Any:
    m = _models("classifier")
    return m.ClassifierConfig(
        m.ArchConfig("lenet", (1, 28, 28), 10), epochs=160, deficit=m.Deficit("blur", length=40)
    )


# ---------------------------------------------------------------- the contract
def _public_classes() -> dict[str, type]:
    """Every class in the ``__all__`` of a public module of :data:`PACKAGES` that looks like a
    result: a dataclass, or a class with ``to_dict``."""
    found: dict[str, type] = {}
    for pkg in PACKAGES:
        root = importlib.import_module(f"netsci_dl.{pkg}")
        mods = [root.__name__]
        for info in pkgutil.walk_packages(root.__path__, f"{root.__name__}."):
            if not any(p.startswith("_") for p in info.name.split(".")):
                mods.append(info.name)
        for name in mods:
            mod = importlib.import_module(name)
            for attr in getattr(mod, "__all__", ()):
                obj = getattr(mod, attr, None)
                if not inspect.isclass(obj) or issubclass(obj, (BaseException, Warning)):
                    continue
                if dataclasses.is_dataclass(obj) or hasattr(obj, "to_dict"):
                    found[obj.__qualname__] = obj
    return found


def test_every_result_class_is_covered() -> None:
    covered = {c.__qualname__ for c in CASES}
    public = _public_classes()
    missing = sorted(set(public) - covered - set(NOT_RESULTS))
    assert not missing, f"result classes without a case in tests/test_results.py: {missing}"
    stale = sorted(set(NOT_RESULTS) - set(public))
    assert not stale, f"NOT_RESULTS names classes no public __all__ has: {stale}"


def _plain(x: Any, where: str) -> None:
    """JSON's own types only (a numpy scalar or a Path is a bug, even where json would cope)."""
    if isinstance(x, dict):
        for k, v in x.items():
            assert isinstance(k, str), f"{where}: key {k!r} is a {type(k).__name__}"
            _plain(v, f"{where}.{k}")
    elif isinstance(x, list | tuple):
        for i, v in enumerate(x):
            _plain(v, f"{where}[{i}]")
    else:
        assert x is None or type(x) in (str, int, float, bool), f"{where}: {type(x).__name__} {x!r}"


@pytest.mark.parametrize("cls", list(CASES), ids=lambda c: c.__qualname__)
def test_result_contract(cls: type) -> None:
    build, table = CASES[cls]
    r = build()
    assert type(r) is cls
    d = r.to_dict()
    assert isinstance(d, dict) and d
    json.loads(json.dumps(d))
    _plain(d, cls.__name__)
    text = repr(r)
    assert len(text) < MAX_REPR, f"{len(text)} characters: {text}"
    assert text.startswith(f"{cls.__name__}(")
    for marker in ("array(", "tensor(", "\n", "DataFrame"):
        assert marker not in text, text
    assert hasattr(r, "to_frame") == table
    if table:
        import pandas as pd

        df = r.to_frame()
        assert isinstance(df, pd.DataFrame) and len(df) > 0
