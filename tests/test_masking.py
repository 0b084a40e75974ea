"""Players, masked inputs and the values v(S) of a model on them; per-layer interactions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netsci_dl.activations import layer_interactions
from netsci_dl.activations._baseline import learn_baseline
from netsci_dl.activations._masking import (
    check_players,
    coalition_masks,
    feature_masks,
    grid_players,
    log_odds,
    masked_values,
)
from netsci_dl.analysis.interactions import (
    LayerInteractions,
    SplitOptions,
    and_interactions,
    compare_layers,
    fit_probe,
    snapshot_changes,
)
from netsci_dl.errors import InputError


class Poly(torch.nn.Module):
    """Logits ``[f(x), 0]`` with f(x) = 2 + 3 x0 - x0 x1 + 0.5 x0 x1 x2: log-odds of class 0 = f."""

    def forward(self, x):
        f = 2 + 3 * x[:, 0] - x[:, 0] * x[:, 1] + 0.5 * x[:, 0] * x[:, 1] * x[:, 2]
        return torch.stack([f, torch.zeros_like(f)], dim=1)


def _hook_features(model: torch.nn.Sequential, names: list[str]):
    """features(X) -> {name: (b, d)} from forward hooks on the named children."""
    mods = dict(model.named_children())

    def features(X):
        got = {}
        hs = [
            mods[k].register_forward_hook(lambda m, i, o, k=k: got.__setitem__(k, o.detach()))
            for k in names
        ]
        try:
            with torch.no_grad():
                model(torch.as_tensor(np.asarray(X, dtype=np.float32)))
        finally:
            for h in hs:
                h.remove()
        return {k: got[k].reshape(len(X), -1).double().numpy() for k in names}

    return features


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(6, 5),
        torch.nn.Tanh(),
        torch.nn.Linear(5, 4),
        torch.nn.Tanh(),
        torch.nn.Linear(4, 3),
    )
    rng = np.random.default_rng(0)
    X = rng.random((60, 6)).astype(np.float32)
    y = (X[:, 0] > X[:, 1]).astype(np.int64) + (X[:, 2] > 0.5)  # classes 0, 1, 2
    return net, X, y


# ---------------------------------------------------------------- players and masks


def test_grid_players_partition_the_image():
    P = grid_players((8, 8), (3, 3))
    assert len(P) == 9
    assert [p.size for p in P] == [9, 9, 6, 9, 9, 6, 6, 6, 4]
    np.testing.assert_array_equal(np.sort(np.concatenate(P)), np.arange(64))
    assert P[0].tolist() == [0, 1, 2, 8, 9, 10, 16, 17, 18]
    # channels first: a patch holds every channel
    Q = grid_players((2, 4, 4), (2, 2))
    assert Q[0].tolist() == [0, 1, 4, 5, 16, 17, 20, 21]
    with pytest.raises(InputError, match="grid"):
        grid_players((8, 8), (9, 1))


def test_check_players_rejects_bad_groups():
    with pytest.raises(InputError, match="overlap"):
        check_players([[0, 1], [1]], 4)
    with pytest.raises(InputError, match="outside"):
        check_players([[0, 4]], 4)
    with pytest.raises(InputError, match="no features"):
        check_players([[0], []], 4)
    with pytest.raises(InputError, match="players"):
        check_players([[i] for i in range(17)], 20)


def test_coalition_and_feature_masks():
    C = coalition_masks(3)
    assert C.shape == (8, 3)
    assert C[5].tolist() == [True, False, True]  # 5 = 0b101 = {0, 2}
    F = feature_masks([np.array([0, 1]), np.array([3])], 5, rest="baseline")
    assert F.astype(int).tolist() == [
        [0, 0, 0, 0, 0],
        [1, 1, 0, 0, 0],
        [0, 0, 0, 1, 0],
        [1, 1, 0, 1, 0],
    ]
    assert feature_masks([np.array([0])], 2)[:, 1].all()  # rest="keep"


def test_log_odds_is_exact_and_stable():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(50, 4))
    t = rng.integers(0, 4, 50)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    py = p[np.arange(50), t]
    np.testing.assert_allclose(log_odds(z, t), np.log(py / (1 - py)), rtol=1e-12)
    # p = 1 - 1e-300 in floating point: still finite and exact
    big = np.array([[800.0, 0.0, 0.0]])
    assert log_odds(big, [0])[0] == pytest.approx(800.0 - np.log(2.0), rel=1e-15)
    assert log_odds(big, [1])[0] == pytest.approx(-800.0 - np.log1p(np.exp(-800.0)), rel=1e-15)
    # binary single logit: sigmoid(z)
    np.testing.assert_allclose(log_odds(np.array([1.5, -2.0]), [1, 0]), [1.5, 2.0])
    with pytest.raises(InputError, match="classes"):
        log_odds(z, np.full(50, 4))


# ---------------------------------------------------------------- values of a model


def test_polynomial_through_the_model():
    v = masked_values(Poly(), np.ones((1, 3)), [0], [[0], [1], [2]])["output"]
    I = and_interactions(v[0])
    expected = np.zeros(8)
    expected[[0, 1, 3, 7]] = [2.0, 3.0, -1.0, 0.5]
    np.testing.assert_allclose(I, expected, atol=1e-6)


def test_masked_values_match_direct_masking(tiny):
    net, X, y = tiny
    players = [[0, 1], [2], [3, 5]]
    base = np.linspace(0.1, 0.6, 6).astype(np.float32)
    v = masked_values(net, X[:3], y[:3], players, baseline=base, batch_size=5)["output"]
    # coalition 0b101 = players {0, 2} of sample 2: features 0, 1, 3, 5 kept, 2 and 4... 4 is no
    # player's (kept by rest="keep"), 2 set to the baseline
    x = X[2].copy()
    x[2] = base[2]
    with torch.no_grad():
        z = net(torch.as_tensor(x[None])).double().numpy()
    zo = np.delete(z[0], y[2])
    want = z[0, y[2]] - np.log(np.exp(zo).sum())
    assert v[2, 0b101] == pytest.approx(want, rel=1e-6)
    # batch size does not matter
    v2 = masked_values(net, X[:3], y[:3], players, baseline=base, batch_size=4096)["output"]
    np.testing.assert_allclose(v, v2, rtol=1e-6)
    # rest="baseline" masks feature 4 always
    v3 = masked_values(net, X[:3], y[:3], players, baseline=base, rest="baseline")["output"]
    x[4] = base[4]
    with torch.no_grad():
        z = net(torch.as_tensor(x[None])).double().numpy()
    want = z[0, y[2]] - np.log(np.exp(np.delete(z[0], y[2])).sum())
    assert v3[2, 0b101] == pytest.approx(want, rel=1e-6)


def test_mean_baseline_and_eval_mode_restored(tiny):
    net, X, y = tiny
    drop = torch.nn.Sequential(net, torch.nn.Dropout(0.5))
    drop.train()
    a = masked_values(drop, X[:2], y[:2], [[0], [1]], baseline="mean")["output"]
    b = masked_values(drop, X[:2], y[:2], [[0], [1]], baseline=X[:2].mean(0))["output"]
    np.testing.assert_array_equal(a, b)  # eval mode: dropout off, deterministic
    assert drop.training
    with pytest.raises(InputError, match="baseline"):
        masked_values(net, X[:2], y[:2], [[0]], baseline=np.zeros(5))


def test_heads_on_hidden_features(tiny):
    net, X, y = tiny
    feats = _hook_features(net, ["1"])
    pr = fit_probe(feats(X)["1"], y)
    players = [[0, 1, 2], [3, 4, 5]]
    vals = masked_values(
        net, X[:2], y[:2], players, features=feats, heads={"1": lambda F: pr.logits(F)}
    )
    assert list(vals) == ["1", "output"]
    # sample 1, coalition {1}: features 3..5 kept, 0..2 at zero
    x = X[1].copy()
    x[:3] = 0
    with torch.no_grad():
        h = torch.tanh(net[0](torch.as_tensor(x[None]))).double().numpy()
    z = pr.logits(h)[0]
    k = int(np.flatnonzero(pr.classes == y[1])[0])
    want = z[k] - np.log(np.exp(np.delete(z, k)).sum())
    assert vals["1"][1, 0b10] == pytest.approx(want, rel=1e-6)
    with pytest.raises(InputError, match="features"):
        masked_values(net, X[:2], y[:2], players, heads={"1": pr.logits})


# ---------------------------------------------------------------- per-layer interactions


def test_layer_interactions_end_to_end(tiny):
    net, X, y = tiny
    feats = _hook_features(net, ["1", "3"])
    players = [[0], [1], [2, 3], [4, 5]]
    R = layer_interactions(
        net,
        X[:4],
        y[:4],
        players=players,
        features=feats,
        probe_data=(X, y),
        options=SplitOptions(iterations=200),
        label="snap",
    )
    assert isinstance(R, LayerInteractions)
    assert R.layers == ("1", "3", "output") and R.n_players == 4 and R.n_samples == 4
    assert R.I_and.shape == R.I_or.shape == (3, 4, 16)
    np.testing.assert_array_equal(R.v[..., 0], 0.0)  # relative to v(empty)
    # output values: the model's own log-odds
    raw = masked_values(net, X[:4], y[:4], players)["output"]
    np.testing.assert_allclose(R.v[-1], raw - raw[:, :1], atol=1e-9)
    np.testing.assert_allclose(R.v_empty[-1], raw[:, 0], atol=1e-9)
    # efficiency after the split, per layer and sample
    np.testing.assert_allclose(
        R.I_and.sum(-1) + R.I_or.sum(-1), R.v[..., -1] + R.q[..., -1], atol=1e-8
    )
    assert all(a is not None and 0 <= a <= 1 for a in R.probe_accuracy[:2])
    assert R.probe_accuracy[-1] is None
    # summaries
    sa, so = R.strength_by_order()
    assert sa.shape == so.shape == (3, 5)
    ch = R.changes()
    assert [(c.before, c.after) for c in ch] == [("1", "3"), ("3", "output")]
    sal = R.salient()
    for c, l in zip(ch, range(2)):
        shared = (sal[0][l] & sal[0][l + 1]).sum() + (sal[1][l] & sal[1][l + 1]).sum()
        assert c.overlap.sum() == shared
    np.testing.assert_allclose(R.shapley().sum(-1), (R.I_and + R.I_or)[..., 1:].sum(-1))
    d = R.to_dict()
    assert d["bit_order"].startswith("player i is bit i")
    assert [L["name"] for L in d["layers"]] == ["1", "3", "output"]
    assert "fitted on probe_data" in d["settings"]["probe"]
    df = R.to_frame()
    assert len(df) == 2 * 3 * 4 * 16
    row = df[(df.layer == "3") & (df["sample"] == 2) & (df.kind == "or") & (df.set == 13)]
    assert row.interaction.iloc[0] == R.I_or[1, 2, 13] and row.players.iloc[0] == "0+2+3"
    top = R.top("output", 0, k=3)
    assert len(top) == 3 and abs(top[0][2]) >= abs(top[1][2]) >= abs(top[2][2])


def test_fixed_probes_and_snapshot_changes(tiny):
    net, X, y = tiny
    feats = _hook_features(net, ["1"])
    pr = fit_probe(feats(X)["1"], y)
    kw = {"players": [[0, 1], [2, 3], [4, 5]], "features": feats, "options": None}
    A = layer_interactions(net, X[:3], y[:3], probes={"1": pr}, label="a", **kw)
    B = layer_interactions(net, X[:3], y[:3], probes={"1": pr}, label="b", **kw)
    np.testing.assert_array_equal(A.v, B.v)
    np.testing.assert_allclose(A.I_and, and_interactions(A.v))  # no split: Harsanyi dividends
    np.testing.assert_array_equal(A.I_or, 0.0)
    (ch,) = snapshot_changes([A, B])
    assert [c.before for c in ch] == ["a:1", "a:output"]
    for c in ch:
        assert c.new.sum() == 0 and c.forgotten.sum() == 0 and c.overlap.sum() > 0
    assert "given probes" in A.settings["probe"]
    assert compare_layers(A, B)[0].jaccard() == 1.0


def test_default_features_are_the_layer_activations(tiny):
    """features="layers" (the default) probes every layer layer_activations takes."""
    from netsci_dl.activations import layer_activations

    net, X, y = tiny
    players = [[0, 1], [2, 3], [4, 5]]
    A = layer_interactions(net, X[:2], y[:2], players=players, options=None, probe_data=(X, y))
    names = list(layer_activations(net, X[:2]))
    assert names[-1] == "4" and list(A.layers) == [*names[:-1], "output"]  # logits: "output"
    B = layer_interactions(net, X[:2], y[:2], players=players, options=None, features=None)
    assert B.layers == ("output",)
    with pytest.raises(TypeError, match="split"):  # the 0.2 keyword: options=
        layer_interactions(net, X[:2], y[:2], players=players, split=None, features=None)


def test_learned_baseline_lowers_the_l1_of_and_interactions(tiny):
    net, X, y = tiny
    players = [[0, 1], [2, 3], [4, 5]]

    def l1(b):
        v = masked_values(net, X[:4], y[:4], players, baseline=b)["output"]
        return np.abs(and_interactions(v)[:, 1:]).sum()

    init = X.mean(0)
    b = learn_baseline(net, X[:4], y[:4], players, init=init, iterations=60)
    assert b.shape == (6,)
    lo, hi = X[:4].min(0), X[:4].max(0)
    assert np.all(b >= lo - 1e-7) and np.all(b <= hi + 1e-7)
    assert l1(b) < l1(np.clip(init, lo, hi))
    assert all(p.requires_grad for p in net.parameters())
