"""Oracles for the RBM update: every term (momentum and its switch, weight decay, both sparsity
rules, both branches of the lab rule) computed by hand in float64 numpy from the documented rule,
and one definition of the reconstruction error for CD-1, CD-k and PCD.

The random draws are reproduced from a copy of the RBM's generator in the documented order
(``randperm`` of the epoch, then per batch one ``uniform_`` of shape (b, n_hidden) for the
hidden sample ``h = u < p``), so the oracle sees the same samples as the implementation.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netsci_dl.models.rbm import RBM

NV, NH, N, B = 3, 2, 4, 2
LR = 0.3


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def _data():
    return np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0.5, 0.25, 1.0]], dtype=np.float64)


def _start(**kw):
    rbm = RBM(NH, batch_size=B, learning_rate=LR, dtype="float64", seed=11, **kw)
    rbm._initialize(NV)
    W = np.array([[0.4, -0.3], [0.1, 0.6], [-0.5, 0.2]])
    rbm.set_parameters(W, np.array([0.1, -0.2, 0.05]), np.array([-0.1, 0.3]))
    return rbm


def _copy_gen(rbm):
    g = torch.Generator()
    g.set_state(rbm.generator_.get_state())
    return g


def _oracle_epochs(X, rbm, n_epochs, *, mu_schedule, wd, sparsity):
    """The documented CD-1 update (lab convention: visible means), batch by batch, in numpy."""
    W = rbm.weights_.numpy().copy()
    bv = rbm.visible_bias_.numpy().copy()
    bh = rbm.hidden_bias_.numpy().copy()
    vW, vbv, vbh = np.zeros_like(W), np.zeros_like(bv), np.zeros_like(bh)
    g = _copy_gen(rbm)
    errs, fired = [], []
    for ep in range(n_epochs):
        mu = mu_schedule[ep]
        order = torch.randperm(N, generator=g).numpy()
        err = 0.0
        for s in range(0, N, B):
            v = X[order[s : s + B]]
            b = len(v)
            u = torch.empty(b, NH, dtype=torch.float64).uniform_(generator=g).numpy()
            hp = _sig(v @ W + bh)
            hs = (u < hp).astype(np.float64)
            vm = _sig(hs @ W.T + bv)
            hn = _sig(vm @ W + bh)
            err += float(((v - vm) ** 2).sum())
            pos_W, neg_W = v.T @ hp / b, vm.T @ hn / b
            q = hp.mean(0)
            vW = mu * vW + LR * (pos_W - neg_W) - LR * wd * W
            vbv = mu * vbv + LR * (v.mean(0) - vm.mean(0))
            vbh = mu * vbh + LR * (hp.mean(0) - hn.mean(0))
            if sparsity is not None and sparsity[2] == "momentum":
                target, cost, _ = sparsity
                vbh = vbh - LR * cost * (q - target)
            W, bv, bh = W + vW, bv + vbv, bh + vbh
            if sparsity is not None and sparsity[2] == "lab":
                target, cost, _ = sparsity
                fired.append(bool(q.mean() > target))
                if q.mean() > target:
                    bh = bh - LR * cost * (q - target)
        errs.append(err / (N * NV))
    return (W, bv, bh), (vW, vbv, vbh), errs, fired


CASES = {
    "plain": {"momentum": 0.0, "final_momentum": 0.0, "weight_decay": 0.0},
    "momentum_switch": {"momentum": 0.5, "final_momentum": 0.9, "weight_decay": 0.0},
    "weight_decay": {"momentum": 0.0, "final_momentum": 0.0, "weight_decay": 0.05},
    "sparsity_momentum_rule": {
        "momentum": 0.5,
        "final_momentum": 0.9,
        "weight_decay": 0.0,
        "sparsity_target": 0.2,
        "sparsity_cost": 0.7,
        "sparsity_rule": "momentum",
    },
    "sparsity_lab_fires": {
        "momentum": 0.5,
        "final_momentum": 0.9,
        "weight_decay": 0.0,
        "sparsity_target": 0.05,
        "sparsity_cost": 1.0,
        "sparsity_rule": "lab",
    },
    "sparsity_lab_idle": {
        "momentum": 0.5,
        "final_momentum": 0.9,
        "weight_decay": 0.0,
        "sparsity_target": 0.95,
        "sparsity_cost": 1.0,
        "sparsity_rule": "lab",
    },
    "everything": {
        "momentum": 0.5,
        "final_momentum": 0.9,
        "weight_decay": 0.05,
        "sparsity_target": 0.3,
        "sparsity_cost": 0.5,
        "sparsity_rule": "lab",
    },
}


@pytest.mark.parametrize("case", list(CASES))
def test_update_matches_hand_computed_oracle(case):
    kw = dict(CASES[case], momentum_epochs=1)
    rbm = _start(**kw)
    X = _data()
    sparsity = None
    if kw.get("sparsity_target") is not None:
        sparsity = (kw["sparsity_target"], kw["sparsity_cost"], kw["sparsity_rule"])
    params, vel, errs, fired = _oracle_epochs(
        X,
        rbm,
        3,
        mu_schedule=[kw["momentum"], kw["final_momentum"], kw["final_momentum"]],
        wd=kw["weight_decay"],
        sparsity=sparsity,
    )
    Xt = rbm._as_tensor(X)
    got_errs = [rbm.fit_epoch(Xt) for _ in range(3)]
    for got, want in zip(rbm._params(), params):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-14)
    for got, want in zip(rbm.velocity_, vel):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got_errs, errs, rtol=1e-12)
    if case == "sparsity_lab_fires":
        assert all(fired)
    if case == "sparsity_lab_idle":
        assert not any(fired)


def test_lab_rule_idle_equals_no_sparsity_and_momentum_rule_does_not():
    """Below the target the lab rule does nothing; the momentum rule pushes both ways."""
    X = _data()
    base = {"momentum": 0.5, "final_momentum": 0.9, "momentum_epochs": 1}
    runs = {}
    for name, extra in {
        "none": {},
        "lab": {"sparsity_target": 0.95, "sparsity_rule": "lab"},
        "momentum": {"sparsity_target": 0.95, "sparsity_rule": "momentum"},
    }.items():
        rbm = _start(**base, **extra)
        Xt = rbm._as_tensor(X)
        for _ in range(2):
            rbm.fit_epoch(Xt)
        runs[name] = rbm.hidden_bias_.numpy().copy()
    np.testing.assert_array_equal(runs["lab"], runs["none"])
    assert np.all(runs["momentum"] > runs["none"])  # pushed up towards the 0.95 target


@pytest.mark.parametrize(
    ("k", "persistent", "sample_visible"),
    [(1, False, False), (1, False, True), (3, False, False), (1, True, False), (2, True, True)],
)
def test_reconstruction_error_one_definition(k, persistent, sample_visible):
    """CD-1, CD-k and PCD all report mean (v - E[v | h ~ p(h | v)])^2 with the pre-update
    parameters, h the sample drawn from the data in the positive phase."""
    X = _data()
    rbm = RBM(
        NH, batch_size=N, cd_k=k, persistent=persistent, sample_visible=sample_visible,
        learning_rate=LR, dtype="float64", seed=5,
    )  # fmt: skip
    rbm._initialize(NV)
    W, bv, bh = (p.numpy().copy() for p in rbm._params())
    g = _copy_gen(rbm)
    order = torch.randperm(N, generator=g).numpy()
    u = torch.empty(N, NH, dtype=torch.float64).uniform_(generator=g).numpy()
    v = X[order]
    hs = (u < _sig(v @ W + bh)).astype(np.float64)
    want = float(((v - _sig(hs @ W.T + bv)) ** 2).mean())
    got = rbm.fit_epoch(rbm._as_tensor(X))
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_reconstruction_error_same_for_cd1_cdk_pcd():
    """Same seed, same parameters, one batch: the first epoch's error does not depend on k or PCD."""
    X = _data()
    errs = []
    for k, persistent in ((1, False), (4, False), (1, True), (3, True)):
        rbm = RBM(NH, batch_size=N, cd_k=k, persistent=persistent, dtype="float64", seed=9)
        rbm._initialize(NV)
        errs.append(rbm.fit_epoch(rbm._as_tensor(X)))
    np.testing.assert_allclose(errs, errs[0], rtol=1e-13)


def test_pure_cd_step_reconstruction_is_the_same_quantity():
    from netsci_dl.models.rbm import cd_step

    X = torch.as_tensor(_data())
    rbm = _start()
    W, bv, bh = rbm._params()
    g = torch.Generator().manual_seed(3)
    g2 = torch.Generator().manual_seed(3)
    grad = cd_step(X, W, bv, bh, k=3, generator=g)
    hs = torch.empty(N, NH, dtype=torch.float64).uniform_(generator=g2) < torch.sigmoid(X @ W + bh)
    want = torch.sigmoid(hs.double() @ W.T + bv)
    torch.testing.assert_close(grad.reconstruction, want, rtol=1e-12, atol=1e-14)
