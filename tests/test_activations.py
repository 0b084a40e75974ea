"""Running models on data: per-layer activations, streaming, loading snapshots, maps over training."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from netsci_dl.activations import iter_activations, layer_activations, stream_similarity
from netsci_dl.analysis.similarity import cka, similarity_matrix
from netsci_dl.errors import InputError
from netsci_dl.models.dbn import DBN
from netsci_dl.models.load import load_model
from netsci_dl.models.mlp import MLPConfig, build_mlp, train_mlp
from netsci_dl.runs.similarity import ActivationSpec, training_similarity


def _X(n=37, d=6, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).random((n, d)).astype(np.float32))


# ---------------------------------------------------------------------- nn.Module
def test_sequential_equals_hand_computed():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 5), nn.Sigmoid(), nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))
    X = _X()
    A = layer_activations(net, X, batch_size=8)
    with torch.no_grad():
        h1 = torch.sigmoid(X @ net[0].weight.T + net[0].bias)
        h2 = torch.tanh(h1 @ net[2].weight.T + net[2].bias)
        out = h2 @ net[4].weight.T + net[4].bias
    assert list(A) == ["0", "2", "4"]
    assert A.taken_at == {"0": "1", "2": "3", "4": "4"}
    assert A.followed == {"0": ("1",), "2": ("3",), "4": ()}
    for k, want in zip(A, (h1, h2, out)):
        np.testing.assert_allclose(A[k], want.numpy(), rtol=1e-6, atol=1e-7)
    B = layer_activations(net, X, layers=["0", "1", "4"])
    np.testing.assert_allclose(
        B["0"], (X @ net[0].weight.T + net[0].bias).detach().numpy(), atol=1e-6
    )
    # the same hook point (the Sigmoid after layer 0) from two batch sizes (8 and the default
    # 256): float32 GEMMs of other shapes may round differently (1 ulp, 6e-8, seen on AVX-512
    # EPYC), so equal to float32 rounding; a wrong hook (before the Sigmoid) is off by ~0.5
    np.testing.assert_allclose(B["1"], A["0"], rtol=1e-6, atol=1e-7)
    assert B.followed["0"] == ()


def test_mlp_from_build_mlp_and_batch_invariance():
    net = build_mlp((6, 5, 4, 3), seed=1, device="cpu")
    X = _X(50)
    a = layer_activations(net, X, batch_size=7)
    b = layer_activations(net, X.numpy(), batch_size=1000, dtype="float64")
    assert b["0"].dtype == np.float64 and a["0"].dtype == np.float32
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-6, atol=1e-7)
    assert (
        a.settings["pool"] == "mean" and a.n_samples == 50 and a.widths == {"0": 5, "2": 4, "4": 3}
    )


def test_read_only_mapping():
    A = layer_activations(build_mlp((6, 3, 2), device="cpu"), _X())
    with pytest.raises(TypeError):
        A["0"] = np.zeros(3)  # type: ignore[index]
    with pytest.raises(ValueError, match="read-only"):
        A["0"][0, 0] = 1.0
    assert json.loads(json.dumps(A.to_dict()))["layers"][0]["taken_at"] == "1"


def test_modes_restored_eval_used_no_grad():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.5), nn.ReLU(), nn.Linear(8, 2))
    net.train()
    net[3].eval()  # mixed modes must come back exactly
    X = _X()
    A = layer_activations(net, X)
    assert net.training and net[1].training and not net[3].training
    with torch.no_grad():
        want = torch.relu(X @ net[0].weight.T + net[0].bias)  # dropout off
    np.testing.assert_allclose(A["0"], want.numpy(), atol=1e-6)
    assert A.followed["0"] == ("1", "2")
    assert all(p.grad is None for p in net.parameters())
    assert torch.is_grad_enabled()


class _TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 4)
        self.a1, self.a2 = nn.ReLU(), nn.Sigmoid()
        self.fc2 = nn.Linear(4, 3)

    def forward(self, x):
        h = self.fc(x)
        return self.fc2(self.a1(h) + self.a2(h))


class _Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 4)
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        return self.out(torch.relu(self.fc(x)))


class _Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)

    def forward(self, x):
        return self.fc(self.fc(x))


def test_ambiguous_flow_taken_at_module():
    X = _X()
    m = _TwoHeads()
    A = layer_activations(m, X)
    assert A.taken_at["fc"] == "fc" and A.followed["fc"] == ()
    np.testing.assert_allclose(A["fc"], m.fc(X).detach().numpy(), atol=1e-6)
    f = _Functional()
    B = layer_activations(f, X)
    assert B.taken_at == {"fc": "fc", "out": "out"}  # torch.relu is not a module: not seen
    with pytest.raises(InputError, match="called 2 times"):
        layer_activations(_Shared(), X)
    with pytest.raises(InputError, match="not found"):
        layer_activations(f, X, layers=["fc9"])


def _cnn():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1),
        nn.BatchNorm2d(3),
        nn.ReLU(inplace=True),
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 8 * 8, 5),
    )


def test_conv_pools_and_inplace_relu():
    net = _cnn()
    net[1].running_mean.uniform_(-0.5, 0.5)
    X = _X(20, 64, seed=3)  # flat 8x8 digits-like input: reshaped to (1, 8, 8)
    A = layer_activations(net, X, pool="none")
    assert A.settings["input_shape"] == [1, 8, 8]
    assert A.taken_at == {"0": "2", "3": "4", "6": "6"}
    net.eval()
    with torch.no_grad():
        c1 = torch.relu(net[1](net[0](X.reshape(20, 1, 8, 8))))
        c2 = torch.relu(net[3](c1))
    np.testing.assert_allclose(A["0"], c1.reshape(20, -1).numpy(), atol=1e-6)
    assert A.shapes["0"] == (3, 8, 8) and A["0"].shape == (20, 192)
    M = layer_activations(net, X, pool="mean")
    np.testing.assert_allclose(M["3"], c2.mean((2, 3)).numpy(), atol=1e-6)
    # DFT with norm="ortho" keeps inner products: on the full spectrum CKA equals "none"'s
    D = layer_activations(net, X, pool="dft", dtype="float64")
    assert D["0"].shape == (20, 2 * 192)
    np.testing.assert_allclose(D["0"] @ D["0"].T, A["0"] @ A["0"].T.astype(np.float64), rtol=1e-5)
    assert abs(cka(D["0"], D["3"]) - cka(A["0"], A["3"])) < 1e-6
    S = layer_activations(net, X, pool="dft", dft_size=4)  # frequencies -2..1 per axis
    assert S["0"].shape == (20, 2 * 3 * 4 * 4)
    F = np.fft.fft2(c1.numpy(), norm="ortho")[:, :, [0, 1, 6, 7]][:, :, :, [0, 1, 6, 7]]
    np.testing.assert_allclose(S["0"][:, :48], F.real.reshape(20, -1), atol=1e-5)
    with pytest.raises(InputError, match="pool"):
        layer_activations(net, X, pool="max")


def test_flat_input_must_fit_conv():
    with pytest.raises(InputError, match="input_shape"):
        layer_activations(_cnn(), _X(5, 50))


# ---------------------------------------------------------------------- DBN
@pytest.fixture(scope="module")
def dbn():
    X = (np.random.default_rng(0).random((60, 6)) < 0.4).astype(np.float32)
    return DBN((6, 5, 4, 3), epochs=2, batch_size=20, seed=0).fit(X, progress=False), X


def test_dbn_equals_transform(dbn):
    model, X = dbn
    A = layer_activations(model, X, batch_size=16)
    assert list(A) == ["h1", "h2", "h3"] and A.model_kind == "dbn"
    for i, k in enumerate(A, start=1):
        np.testing.assert_allclose(A[k], model.transform(X, layer=i), rtol=1e-6, atol=1e-7)
    B = layer_activations(model, X, layers=["h2"])
    assert list(B) == ["h2"]
    with pytest.raises(InputError, match="h7"):
        layer_activations(model, X, layers=["h7"])


# ---------------------------------------------------------------------- streaming
@pytest.mark.parametrize("measure", ["cka", "cka_debiased"])
def test_stream_equals_in_memory(measure):
    net = build_mlp((6, 8, 5, 3), seed=2, device="cpu")
    other = build_mlp((6, 8, 5, 3), seed=3, device="cpu")
    X = _X(90)
    # the same batches both ways, so float32 forwards agree bit for bit
    M = stream_similarity(net, X, batch_size=16, measure=measure)
    want = similarity_matrix(layer_activations(net, X, batch_size=16), measure=measure)
    np.testing.assert_allclose(M.values, want.values, atol=1e-9)
    C = stream_similarity(net, X, other, batch_size=32, measure=measure)
    a, b = (layer_activations(m, X, batch_size=32) for m in (net, other))
    want = similarity_matrix(a, b, measure=measure)
    np.testing.assert_allclose(C.values, want.values, atol=1e-9)


def test_stream_minibatch_and_iter():
    from netsci_dl.analysis.similarity import SimilarityOptions

    net = build_mlp((6, 8, 3), seed=2, device="cpu")
    X = _X(96)
    M = stream_similarity(net, X, batch_size=24, measure="cka_minibatch")
    want = similarity_matrix(
        layer_activations(net, X, batch_size=24),
        measure="cka_minibatch",
        options=SimilarityOptions(batch_size=24),
    )
    np.testing.assert_allclose(M.values, want.values, atol=1e-9)
    sizes = [b["0"].shape for b in iter_activations(net, X, batch_size=40)]
    assert sizes == [(40, 8), (40, 8), (16, 8)]
    with pytest.raises(InputError, match="stream"):
        stream_similarity(net, X, measure="svcca")


# ---------------------------------------------------------------------- load_model + training
@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("mlp_run")
    rng = np.random.default_rng(0)
    X = rng.random((80, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    net, _ = train_mlp(X, y, MLPConfig(layers=(6, 5, 4, 2), epochs=4, learning_rate=1.0), run)
    return run, net, X


@pytest.fixture(scope="module")
def dbn_run(tmp_path_factory):
    from netsci_dl.datasets import Dataset
    from netsci_dl.models.train import TrainConfig, train_dbn

    run = tmp_path_factory.mktemp("dbn_run")
    X = (np.random.default_rng(1).random((60, 6)) < 0.4).astype(np.float32)
    data = Dataset(X, np.zeros(60, dtype=np.int64), (2, 3), "toy")
    dbn, _ = train_dbn(
        data,
        TrainConfig(layers=(6, 5, 4), epochs=2, batch_size=20, snapshot_every=1),
        run,
        progress=False,
    )
    return run, dbn, X


def test_load_model_mlp(mlp_run):
    from netsci_dl.runs.format import list_snapshots

    run, net, X = mlp_run
    final = load_model(run)
    assert isinstance(final, nn.Sequential) and not final.training
    with torch.no_grad():
        np.testing.assert_allclose(final(torch.from_numpy(X)), net(torch.from_numpy(X)), atol=0)
    snaps = list_snapshots(run)
    first = load_model(snaps[0][0])
    assert not torch.equal(first[0].weight, final[0].weight)
    np.testing.assert_array_equal(
        first[0].weight.detach(), build_mlp((6, 5, 4, 2), seed=0, device="cpu")[0].weight.detach()
    )


def test_load_model_dbn(dbn_run):
    from netsci_dl.runs.format import list_snapshots

    run, dbn, X = dbn_run
    m = load_model(run)
    assert isinstance(m, DBN)
    np.testing.assert_allclose(m.transform(X), dbn.transform(X), atol=0)
    s0 = load_model(list_snapshots(run)[0][0])
    assert isinstance(s0, DBN) and s0.layers == (6, 5, 4)


def test_load_model_unknown_kinds(tmp_path):
    from safetensors.torch import save_file

    p = tmp_path / "m.safetensors"
    save_file(
        {"w": torch.zeros(2)}, str(p), metadata={"netsci_dl": json.dumps({"model_kind": "gan"})}
    )
    with pytest.raises(InputError, match="'gan'"):
        load_model(p)
    q = tmp_path / "x.pt"
    q.write_bytes(b"")
    with pytest.raises(InputError, match="safetensors"):
        load_model(q)


def test_training_similarity_mlp(mlp_run):
    run, net, X = mlp_run
    T = training_similarity(run, X, measure="cka")
    assert T.layers == ("0", "2", "4") and T.steps.tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(T.to_reference[-1], 1.0, atol=1e-6)
    # the reference is the last snapshot, i.e. the trained net: check one value by hand
    first = layer_activations(build_mlp((6, 5, 4, 2), seed=0, device="cpu"), X)
    last = layer_activations(net, X)
    assert abs(T.to_reference[0, 1] - cka(first["2"], last["2"])) < 1e-6
    S = training_similarity(run, X, measure="cka", stream=True, spec=ActivationSpec(batch_size=16))
    np.testing.assert_allclose(S.cross, T.cross, atol=1e-6)
    np.testing.assert_allclose(S.within, T.within, atol=1e-6)
    df = T.to_frame()
    assert set(df.comparison) == {"reference", "within"} and df.epoch.tolist()[0] == 0
    # the snapshots in two worker processes: the same maps
    P = training_similarity(run, X, measure="cka", n_jobs=2)
    np.testing.assert_allclose(P.cross, T.cross, atol=1e-6)
    np.testing.assert_allclose(P.within, T.within, atol=1e-6)


def test_training_similarity_dbn_svcca(dbn_run):
    run, dbn, X = dbn_run
    T = training_similarity(run, X, measure="svcca", within=False)
    assert T.layers == ("h1", "h2") and T.within is None
    stages = [s.stage for s in T.snapshots]
    assert stages == [0, 0, 0, 1, 1]
    # greedy training: h1 is final once the bottom RBM is done (stage 1 snapshots)
    np.testing.assert_allclose(T.to_reference[3:, 0], 1.0, atol=1e-9)
    assert T.settings["n_samples"] == 60
    with pytest.raises(InputError, match="stream"):
        training_similarity(run, X, measure="svcca", stream=True)


@pytest.mark.gpu
def test_cuda_activations_and_model_comes_back():
    net = _cnn()
    X = _X(20, 64, seed=4)
    cpu = layer_activations(net, X, pool="mean")
    gpu = layer_activations(net, X, pool="mean", device="cuda")
    assert gpu.settings["device"].startswith("cuda")
    assert next(net.parameters()).device.type == "cpu"
    for k in cpu:
        np.testing.assert_allclose(gpu[k], cpu[k], rtol=1e-4, atol=1e-5)
    M = stream_similarity(net, X, batch_size=8, device="cuda")
    np.testing.assert_allclose(M.values, similarity_matrix(cpu).values, atol=1e-4)


def test_training_similarity_models_and_reference_path(mlp_run):
    from netsci_dl.runs.format import list_snapshots

    run, net, X = mlp_run
    snaps = [p for p, _ in list_snapshots(run)]
    first = build_mlp((6, 5, 4, 2), seed=0, device="cpu")
    T = training_similarity([first, snaps[2]], X, reference=snaps[-1], within=False)
    assert T.labels == ("model0", snaps[2].stem) and T.steps.tolist() == [0, 2]
    assert T.reference == snaps[-1].stem
    want = training_similarity(run, X, within=False)
    np.testing.assert_allclose(T.cross[0], want.cross[0], atol=1e-6)
    np.testing.assert_allclose(T.cross[1], want.cross[2], atol=1e-6)
    from netsci_dl.graph import LayeredGraph

    G = LayeredGraph((2, 2), (np.eye(2, dtype=np.float32),))
    with pytest.raises(InputError, match="weights only"):
        training_similarity([G], X)


class _Doubler(nn.Module):
    def forward(self, x):
        return x.mul_(2)  # writes its input in place


def test_read_only_arrays_are_copied_not_written():
    # a Dataset's read-only array reaches the model as a copy: a model that writes its input
    # in place leaves the caller's array as it was (numpy's flag does not protect the memory),
    # and torch has nothing to warn about
    import warnings

    from netsci_dl.activations._fisher import fisher_trace

    torch.manual_seed(0)
    net = nn.Sequential(_Doubler(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    X = np.random.default_rng(0).normal(size=(12, 5)).astype(np.float32)
    X0, y = X.copy(), np.arange(12) % 3
    X.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        acts = layer_activations(net, X, layers=["1"])
        f = fisher_trace(net, X, y, kind="empirical")
    np.testing.assert_array_equal(X, X0)
    ref = layer_activations(net, X0.copy(), layers=["1"])
    np.testing.assert_array_equal(acts["1"], ref["1"])
    np.testing.assert_array_equal(
        f.tensor_traces, fisher_trace(net, X0.copy(), y, kind="empirical").tensor_traces
    )
