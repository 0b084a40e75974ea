"""RBM: brute-force oracles on a 6x4 machine, sklearn parity, digits training, devices, dtypes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from netsci_dl.errors import InputError
from netsci_dl.models.rbm import RBM, cd_step, free_energy

NV, NH = 6, 4
V_ALL = np.array(list(itertools.product([0, 1], repeat=NV)), dtype=np.float64)
H_ALL = np.array(list(itertools.product([0, 1], repeat=NH)), dtype=np.float64)


def _params(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return scale * rng.normal(size=(NV, NH)), 0.5 * rng.normal(size=NV), 0.5 * rng.normal(size=NH)


def _joint(W, bv, bh):
    """log of unnormalised p(v, h) over all (v, h) pairs: (2^NV, 2^NH)."""
    return V_ALL @ W @ H_ALL.T + (V_ALL @ bv)[:, None] + (H_ALL @ bh)[None, :]


def _exact_loglik(W, bv, bh, data):
    from scipy.special import logsumexp

    J = _joint(W, bv, bh)
    logZ = logsumexp(J)
    logpv = logsumexp(J, axis=1) - logZ
    idx = (data @ (2 ** np.arange(NV - 1, -1, -1))).astype(int)
    return float(logpv[idx].mean())


def _exact_grad(W, bv, bh, data):
    J = _joint(W, bv, bh)
    P = np.exp(J - J.max())
    P /= P.sum()
    model = V_ALL.T @ P @ H_ALL
    ph = 1 / (1 + np.exp(-(data @ W + bh)))
    return data.T @ ph / len(data) - model


def _t(x):
    return torch.as_tensor(x, dtype=torch.float64)


def test_free_energy_matches_brute_force():
    from scipy.special import logsumexp

    W, bv, bh = _params()
    F = free_energy(_t(V_ALL), _t(W), _t(bv), _t(bh)).numpy()
    np.testing.assert_allclose(F, -logsumexp(_joint(W, bv, bh), axis=1), rtol=1e-12, atol=1e-12)


def test_gaussian_free_energy_matches_brute_force():
    """F(v) = -log sum_h exp(-E(v, h)), E = ||v - b_v||^2 / 2 - v W h - b_h h: summed over all h."""
    from scipy.special import logsumexp

    W, bv, bh = _params(1)
    v = np.random.default_rng(1).normal(size=(5, NV))
    F = free_energy(_t(v), _t(W), _t(bv), _t(bh), visible="gaussian").numpy()
    minus_E = -0.5 * ((v - bv) ** 2).sum(1)[:, None] + v @ W @ H_ALL.T + (H_ALL @ bh)[None, :]
    np.testing.assert_allclose(F, -logsumexp(minus_E, axis=1), rtol=1e-12)


def test_cd_gradient_converges_to_exact():
    """CD-k with sampled visible units is a Gibbs chain: its bias vanishes as k and samples grow."""
    W, bv, bh = _params(2, scale=1.0)
    data = V_ALL[np.random.default_rng(3).choice(len(V_ALL), 8)]
    exact = _exact_grad(W, bv, bh, data)
    errs = {}
    for reps, k in ((100, 1), (4000, 1), (100, 30), (4000, 30)):
        g = torch.Generator().manual_seed(0)
        est = cd_step(
            _t(np.repeat(data, reps, axis=0)),
            _t(W),
            _t(bv),
            _t(bh),
            k=k,
            sample_visible=True,
            generator=g,
        )
        errs[reps, k] = float(np.abs(est.weights.numpy() - exact).max())
    assert errs[4000, 1] > 0.05  # CD-1 is biased here, whatever the sample size
    assert errs[4000, 30] < 0.01
    assert errs[4000, 30] < errs[100, 30]
    assert errs[4000, 30] < errs[4000, 1]


def test_training_raises_exact_loglik():
    rng = np.random.default_rng(4)
    protos = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], float)
    data = np.abs(protos[rng.integers(0, 2, 40)] - (rng.random((40, NV)) < 0.05))
    rbm = RBM(NH, n_epochs=0, batch_size=10, seed=0, dtype="float64", weight_decay=0.0).fit(data)
    before = _exact_loglik(*(t.numpy().copy() for t in rbm._params()), data)
    rbm.set_params(n_epochs=60).fit(data)
    after = _exact_loglik(*(t.numpy() for t in rbm._params()), data)
    assert after > before + 1.0


class _FixedUniform:
    """Stands in for sklearn's RandomState: returns the prepared uniforms in order."""

    def __init__(self, arrays):
        self.arrays = list(arrays)

    def uniform(self, size=None):
        a = self.arrays.pop(0)
        assert a.shape == tuple(size)
        return a


def test_parity_with_sklearn_pcd1():
    from sklearn.neural_network import BernoulliRBM

    rng = np.random.default_rng(5)
    v = (rng.random((10, NV)) < 0.4).astype(np.float64)
    W, bv, bh = _params(6, scale=0.3)
    h0 = (rng.random((10, NH)) < 0.5).astype(np.float64)

    ours = RBM(
        NH,
        learning_rate=0.1,
        momentum=0.0,
        final_momentum=0.0,
        weight_decay=0.0,
        batch_size=10,
        persistent=True,
        sample_visible=True,
        dtype="float64",
        seed=0,
    )
    ours._initialize(NV)
    ours.set_parameters(W, bv, bh)
    ours.chain_ = _t(h0).clone()
    ours.partial_fit(v)
    v_neg = ours._ws.vn[:10].numpy().copy()
    chain = ours.chain_.numpy().copy()

    sk = BernoulliRBM(n_components=NH, learning_rate=0.1, batch_size=10)
    sk.components_, sk.intercept_visible_, sk.intercept_hidden_ = W.T.copy(), bv.copy(), bh.copy()
    sk.h_samples_ = h0.copy()
    # u = 0 < p draws a 1 and u = 1 < p draws a 0: sklearn then samples exactly our states
    sk._fit(v, _FixedUniform([np.where(v_neg == 1, 0.0, 1.0), np.where(chain == 1, 0.0, 1.0)]))

    np.testing.assert_allclose(ours.weights_.numpy(), sk.components_.T, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        ours.visible_bias_.numpy(), sk.intercept_visible_, rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(
        ours.hidden_bias_.numpy(), sk.intercept_hidden_, rtol=1e-12, atol=1e-14
    )
    np.testing.assert_array_equal(chain, sk.h_samples_)


@pytest.mark.parametrize(
    ("k", "persistent", "sample_visible"), [(1, False, False), (2, True, True), (3, False, True)]
)
def test_pure_cd_step_equals_inplace_update(k, persistent, sample_visible):
    rng = np.random.default_rng(7)
    v = (rng.random((12, NV)) < 0.4).astype(np.float64)
    rbm = RBM(
        NH,
        learning_rate=0.5,
        momentum=0.0,
        final_momentum=0.0,
        weight_decay=0.0,
        batch_size=12,
        cd_k=k,
        persistent=persistent,
        sample_visible=sample_visible,
        dtype="float64",
        seed=1,
    )
    rbm._initialize(NV)
    W0, vb0, hb0 = (p.clone() for p in rbm._params())
    chain0 = torch.zeros(12, NH, dtype=torch.float64) if persistent else None
    g = torch.Generator().manual_seed(0)
    g.set_state(rbm.generator_.get_state())
    rbm.partial_fit(v)
    grad = cd_step(
        _t(v), W0, vb0, hb0, k=k, chain=chain0, sample_visible=sample_visible, generator=g
    )
    torch.testing.assert_close(rbm.weights_, W0 + 0.5 * grad.weights)
    torch.testing.assert_close(rbm.visible_bias_, vb0 + 0.5 * grad.visible_bias)
    torch.testing.assert_close(rbm.hidden_bias_, hb0 + 0.5 * grad.hidden_bias)
    if persistent:
        torch.testing.assert_close(rbm.chain_, grad.chain)


def _digits_fit(device="cpu", dtype="float32"):
    from netsci_dl.datasets import load_digits

    X = load_digits().X[:600]
    rbm = RBM(32, n_epochs=0, batch_size=50, seed=0, device=device, dtype=dtype).fit(X)
    W0 = rbm.weights_.clone()
    Xt = rbm._as_tensor(X)
    errs = [rbm.fit_epoch(Xt) for _ in range(8)]
    return rbm, W0, errs, X


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_digits_reconstruction_error_falls(dtype):
    rbm, W0, errs, X = _digits_fit(dtype=dtype)
    assert rbm.weights_.dtype == (torch.float32 if dtype == "float32" else torch.float64)
    assert errs[-1] < 0.7 * errs[0]
    assert float((rbm.weights_ - W0).abs().mean()) > 0.05
    assert rbm.reconstruction_error(X) < errs[0]


def test_same_seed_same_result_and_transform_kinds():
    X = (np.random.default_rng(0).random((30, NV)) < 0.3).astype(np.float32)
    a = RBM(NH, n_epochs=3, batch_size=7, seed=3).fit(X)
    b = RBM(NH, n_epochs=3, batch_size=7, seed=3).fit(X)
    torch.testing.assert_close(a.weights_, b.weights_, rtol=0, atol=0)
    c = RBM(NH, n_epochs=3, batch_size=7, seed=4).fit(X)
    assert not torch.equal(a.weights_, c.weights_)
    assert isinstance(a.transform(X), np.ndarray)
    assert isinstance(a.transform(torch.from_numpy(X)), torch.Tensor)


class _GivenIndices(np.random.RandomState):
    """sklearn's score_samples draws the flipped unit with ``randint``: hand it ours."""

    def __init__(self, idx):
        super().__init__(0)
        self.idx = idx

    def randint(self, low, high=None, size=None, dtype=int):
        assert size == len(self.idx)
        return self.idx


def test_score_samples_matches_sklearn_and_uses_its_own_generator():
    from sklearn.neural_network import BernoulliRBM

    W, bv, bh = _params(8, scale=0.5)
    X = V_ALL[np.random.default_rng(8).choice(len(V_ALL), 30)]
    rbm = RBM(NH, dtype="float64", seed=0)
    rbm._initialize(NV)
    rbm.set_parameters(W, bv, bh)
    before = rbm.generator_.get_state()
    ours = rbm.score_samples(X, seed=5)
    torch.testing.assert_close(rbm.generator_.get_state(), before, rtol=0, atol=0)
    idx = torch.randint(0, NV, (30,), generator=torch.Generator().manual_seed(5)).numpy()
    sk = BernoulliRBM(n_components=NH, random_state=_GivenIndices(idx))
    sk.components_, sk.intercept_visible_, sk.intercept_hidden_ = W.T, bv, bh
    np.testing.assert_allclose(ours, sk.score_samples(X), rtol=1e-12)
    np.testing.assert_array_equal(rbm.score_samples(X, seed=5), ours)
    rbm.score_samples(X)  # the RBM's own sampler: still not the training generator
    torch.testing.assert_close(rbm.generator_.get_state(), before, rtol=0, atol=0)


def test_gibbs_step_has_the_exact_transition_distribution():
    """P(v' | v) = sum_h p(h | v) p(v' | h), enumerated; 20,000 Gibbs steps from the same v."""
    W, bv, bh = _params(9, scale=1.5)
    rbm = RBM(NH, dtype="float64", seed=0)
    rbm._initialize(NV)
    rbm.set_parameters(W, bv, bh)
    v0 = V_ALL[60]
    ph = 1 / (1 + np.exp(-(v0 @ W + bh)))
    p_h = np.prod(np.where(H_ALL == 1, ph, 1 - ph), axis=1)
    pv = 1 / (1 + np.exp(-(H_ALL @ W.T + bv)))  # (2^NH, NV)
    p_v_given_h = np.prod(np.where(V_ALL[None] == 1, pv[:, None], 1 - pv[:, None]), axis=2)
    exact = p_h @ p_v_given_h  # (2^NV,)
    samples = rbm.gibbs(np.repeat(v0[None], 20000, axis=0), seed=1)
    codes = (samples @ (2 ** np.arange(NV - 1, -1, -1))).astype(int)
    freq = np.bincount(codes, minlength=2**NV) / len(codes)
    np.testing.assert_allclose(freq, exact, atol=0.012)  # 4 sigma; mean-field h is off by 0.05
    assert abs(exact.sum() - 1) < 1e-12


def test_sampling_outside_training_does_not_change_training():
    X = (np.random.default_rng(0).random((30, NV)) < 0.3).astype(np.float32)
    a = RBM(NH, n_epochs=2, batch_size=7, seed=3).fit(X)
    b = RBM(NH, n_epochs=1, batch_size=7, seed=3).fit(X)
    b.gibbs(X)
    b.score_samples(X)
    b.gibbs(X, seed=4)
    b.fit_epoch(b._as_tensor(X))
    torch.testing.assert_close(a.weights_, b.weights_, rtol=0, atol=0)
    torch.testing.assert_close(a.hidden_bias_, b.hidden_bias_, rtol=0, atol=0)


def test_unseeded_rbm_leaves_the_global_generator_alone():
    state = torch.get_rng_state()
    RBM(NH, n_epochs=1, batch_size=7).fit(np.zeros((10, NV), np.float32))
    torch.testing.assert_close(torch.get_rng_state(), state, rtol=0, atol=0)


def test_gaussian_visible_trains():
    X = np.random.default_rng(0).normal(size=(200, NV)).astype(np.float32)
    rbm = RBM(NH, visible="gaussian", n_epochs=3, batch_size=20, learning_rate=0.01, seed=0).fit(X)
    assert bool(torch.isfinite(rbm.weights_).all())
    with pytest.raises(InputError, match="bernoulli"):
        rbm.score_samples(X)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"n_hidden": 0}, "n_hidden"),
        ({"visible": "poisson"}, "visible"),
        ({"learning_rate": -1}, "learning_rate"),
        ({"momentum": 1.5}, "momentum"),
        ({"sparsity_target": 2.0}, "sparsity_target"),
        ({"dtype": "int8"}, "dtype"),
        ({"cd_k": 0}, "cd_k"),
        ({"learning_rate": float("inf")}, "learning_rate"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"momentum": float("nan")}, "momentum"),
        ({"weight_decay": float("inf")}, "weight_decay"),
        ({"init_std": -1.0}, "init_std"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": True}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"sparsity_rule": "hinton"}, "sparsity_rule"),
        ({"sparsity_cost": float("nan")}, "sparsity_cost"),
        ({"persistent": "yes"}, "persistent"),
        ({"seed": -1}, "seed"),
        ({"device": "warp9"}, "device"),
    ],
)
def test_invalid_parameters(kw, match):
    X = np.zeros((4, NV), np.float32)
    with pytest.raises(InputError, match=match):
        RBM(**{"n_hidden": 3, **kw}).fit(X)


def test_input_errors():
    rbm = RBM(3, n_epochs=1, seed=0).fit(np.zeros((4, NV), np.float32))
    with pytest.raises(InputError, match="features"):
        rbm.transform(np.zeros((2, 5)))
    with pytest.raises(InputError, match="NaN"):
        rbm.transform(np.full((2, NV), np.nan))
    with pytest.raises(InputError, match="not fitted"):
        RBM(3).transform(np.zeros((2, NV)))
    with pytest.raises(InputError, match="numbers"):
        rbm.transform(np.array([["a"] * NV]))
    with pytest.raises(InputError, match="NaN"):
        rbm.set_parameters(np.full((NV, 3), np.nan), np.zeros(NV), np.zeros(3))


@pytest.mark.parametrize("bad", [-0.5, 1.5])
def test_bernoulli_training_data_must_be_probabilities(bad):
    X = np.zeros((4, NV), np.float32)
    X[1, 2] = bad
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        RBM(3, n_epochs=1, seed=0).fit(X)
    RBM(3, visible="gaussian", n_epochs=1, seed=0, learning_rate=0.01).fit(X)  # real-valued: fine


def test_divergence_is_an_input_error():
    X = (np.random.default_rng(0).random((40, NV)) < 0.3).astype(np.float32)
    with pytest.raises(InputError, match="diverged.*learning rate"):
        RBM(4, n_epochs=3, batch_size=10, seed=0, learning_rate=1e30).fit(X)


@pytest.mark.gpu
def test_cuda_matches_training_behaviour():
    rbm, W0, errs, _ = _digits_fit(device="cuda")
    assert rbm.weights_.device.type == "cuda"
    assert errs[-1] < 0.7 * errs[0]
