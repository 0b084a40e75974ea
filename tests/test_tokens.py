"""Token data on a text model (issue 24): the attention mask reaches the model and the pooling,
token players for interactions, and the command line on a tiny BERT read from a local Hugging
Face folder. Oracles: each example run alone without padding, and coalitions enumerated here by
hand with the transformers model called directly."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

import netsci_dl as nd
from netsci_dl.activations import layer_activations, token_players
from netsci_dl.activations._tokens import resolve_mask_id
from netsci_dl.cli import cli
from netsci_dl.datasets import load
from netsci_dl.errors import InputError

transformers = pytest.importorskip("transformers")

VOCAB, LENGTH, MASK_ID = 40, 6, 4  # MASK_ID: the tokenizer's [MASK] written below
LENGTHS = [3, 6, 4, 5, 2, 6, 5, 3, 4, 6, 5, 4]  # real tokens of each example: padding varies
# float32 forward passes of different shapes (a padded batch vs one example alone): equal to
# float32 rounding of values of order 1
TOL = {"rtol": 1e-5, "atol": 1e-5}


def _bert(num_labels=3):
    cfg = transformers.BertConfig(
        vocab_size=VOCAB, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=16, num_labels=num_labels,
    )  # fmt: skip
    torch.manual_seed(0)
    return transformers.BertForSequenceClassification(cfg).eval()


@pytest.fixture(scope="module")
def bert_folder(tmp_path_factory):
    """(the HF folder, the tokens npz, the model object, ids, mask, labels)."""
    d = tmp_path_factory.mktemp("tok")
    bert = _bert()
    bert.save_pretrained(d / "bert")  # a local folder: nothing is downloaded
    tok = {"mask_token": "[MASK]", "added_tokens_decoder": {str(MASK_ID): {"content": "[MASK]"}}}
    (d / "bert" / "tokenizer_config.json").write_text(json.dumps(tok))
    rng = np.random.default_rng(1)
    ids = np.zeros((len(LENGTHS), LENGTH), np.int64)  # 0 = pad
    mask = np.zeros_like(ids)
    for i, n in enumerate(LENGTHS):
        ids[i, :n] = rng.integers(5, VOCAB, n)
        mask[i, :n] = 1
    y = rng.integers(0, 3, len(LENGTHS))
    np.savez(d / "t.npz", input_ids=ids, attention_mask=mask, y=y)
    return d / "bert", d / "t.npz", bert, ids, mask, y


def _alone(model, ids, mask, layers=None):
    """Each example run alone, without its padding (the oracle of padded batches)."""
    out = []
    for x, m in zip(ids, mask, strict=True):
        A = layer_activations(model, x[None, : int(m.sum())], layers=layers)
        out.append({k: A[k][0] for k in A})
    return {k: np.stack([o[k] for o in out]) for k in out[0]}


def test_padded_batches_equal_each_example_alone(bert_folder):
    folder, npz, _, ids, mask, _ = bert_folder
    model = nd.runs.checkpoint_models([folder])[0].load()  # read by the loader
    ds = load(f"tokens:{npz}")
    A = layer_activations(model, ds, batch_size=5)  # the Dataset brings its attention_mask
    want = _alone(model, ids, mask)
    assert list(A) == list(want) and len(A) > 5
    for k in A:
        np.testing.assert_allclose(A[k], want[k], **TOL, err_msg=k)
    assert A.settings["attention_mask"] == "passed to the model"
    assert "real tokens" in A.settings["token_pool"]
    # without the mask the padded examples differ (the test can fail)
    B = layer_activations(model, ids)
    assert not np.allclose(B["bert.pooler.dense"], want["bert.pooler.dense"], **TOL)
    assert "every token position" in B.settings["token_pool"]


def _linear_cka(A, B):
    """Linear CKA by its closed form (Kornblith et al. 2019, eq. 5), float64."""
    A, B = A - A.mean(0), B - B.mean(0)
    return np.linalg.norm(B.T @ A) ** 2 / (np.linalg.norm(A.T @ A) * np.linalg.norm(B.T @ B))


LAYERS = ("bert.encoder.layer.0.attention.output.dense", "bert.encoder.layer.0.output.dense")


@pytest.mark.parametrize("stream", [False, True])
def test_layer_cka_on_padded_tokens_equals_closed_form(bert_folder, stream):
    folder, npz, _, ids, mask, _ = bert_folder
    items = nd.runs.checkpoint_models([folder])
    spec = nd.runs.ActivationSpec(layers=LAYERS, batch_size=5)
    T = nd.runs.training_similarity(items, load(f"tokens:{npz}"), spec=spec, stream=stream)
    acts = _alone(items[0].load(), ids, mask, layers=LAYERS)
    want = _linear_cka(acts[LAYERS[0]].astype(float), acts[LAYERS[1]].astype(float))
    # float32 activations, float64 CKA: float32 rounding
    np.testing.assert_allclose(T.snapshots[0].within[0, 1], want, rtol=1e-5)
    assert "real tokens" in T.settings["attention_mask"]


def test_model_without_attention_mask_pools_the_real_tokens():
    class Bag(torch.nn.Module):  # forward takes the ids only
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(10, 3)
            self.fc = torch.nn.Linear(3, 2)

        def forward(self, ids):
            return self.fc(self.emb(ids))

    torch.manual_seed(0)
    net = Bag().eval()
    ids = np.array([[1, 2, 0, 0], [3, 4, 5, 6]])
    mask = (np.arange(4)[None, :] < np.array([[2], [4]])).astype(np.int64)
    A = layer_activations(net, ids, attention_mask=mask)
    with torch.no_grad():
        z = net(torch.as_tensor(ids)).double().numpy()
    want = np.stack([z[0, :2].mean(0), z[1].mean(0)])  # mean over the real tokens only
    np.testing.assert_allclose(A["fc"], want, rtol=1e-6)  # float32 sums of 4 terms
    assert A.settings["attention_mask"].startswith("pooling only: Bag.forward")


def _log_odds(z, t):
    z = z.double()
    return float(z[t] - torch.logsumexp(torch.cat([z[:t], z[t + 1 :]]), 0))


def _brute_force(bert, ids, mask, y, groups, how):
    """v(S) of every coalition, each masked input built here and run through transformers."""
    n = len(groups)
    want = np.empty((len(ids), 1 << n))
    for i in range(len(ids)):
        for m in range(1 << n):
            x, a = ids[i].copy(), mask[i].copy()
            for b, g in enumerate(groups):
                if not m >> b & 1:
                    if how == "id":
                        x[list(g)] = MASK_ID
                    else:
                        a[list(g)] = 0
            with torch.no_grad():
                out = bert(
                    input_ids=torch.as_tensor(x[None]), attention_mask=torch.as_tensor(a[None])
                )
            want[i, m] = _log_odds(out.logits[0], int(y[i]))
    return want


@pytest.mark.parametrize(
    ("players", "how", "groups"),
    [
        ("tokens", "id", [[p] for p in range(LENGTH)]),
        ("tokens:1-2,3,4-5", "attention", [[1, 2], [3], [4, 5]]),  # position 0 stays seen
    ],
)
def test_token_interactions_equal_brute_force(bert_folder, players, how, groups):
    folder, npz, bert, ids, mask, y = bert_folder
    opts = nd.runs.InteractionOptions(
        players=players, explain=3, token_mask=how, split=nd.analysis.SplitOptions(iterations=5)
    )
    run = nd.runs.run_interactions(
        nd.runs.checkpoint_models([folder]), f"tokens:{npz}", options=opts
    )
    R = run.final
    k = list(R.layers).index("output")
    v = R.v[k] + R.v_empty[k][:, None]  # raw v(S), player i = bit i
    pick = run.sample_indices
    want = _brute_force(bert, ids[pick], mask[pick], y[pick], groups, how)
    # float32 forward passes in different batch sizes: float32 rounding of logits ~1
    np.testing.assert_allclose(v, want, rtol=1e-5, atol=1e-5)
    assert [g.tolist() for g in R.players] == groups
    note = R.settings["baseline"]
    assert note == ("token id 4 (the tokenizer's mask token)" if how == "id" else note)
    assert "attention_mask = 0" in note or how == "id"
    assert len(R.layers) > 1  # hidden layers probed on token features too


def test_mask_id_sources():
    bert = _bert()
    assert resolve_mask_id(bert, 7) == (7, "given")
    assert resolve_mask_id(bert, None) == (0, "the config's pad_token_id")
    bert.config.mask_token_id = 3
    assert resolve_mask_id(bert, None)[0] == 3
    bert.config.mask_token_id = None
    bert.config.pad_token_id = None
    with pytest.raises(InputError, match="--mask-id"):
        resolve_mask_id(bert, None)


def test_token_players_bounds():
    assert [g.tolist() for g in token_players("tokens:0-1,3", 4)] == [[0, 1], [3]]
    with pytest.raises(InputError, match="group the positions"):
        token_players("tokens", 17)
    with pytest.raises(InputError, match="beyond the 4 tokens"):
        token_players("tokens:0-4", 4)
    with pytest.raises(InputError, match="mask_id and token_mask apply to token players"):
        nd.runs.InteractionOptions(players=(2, 2), mask_id=3)


def _cli(args, tmp_path):
    return CliRunner().invoke(cli, ["-q", *args])


def test_cli_interactions_on_tokens_equal_python(bert_folder, tmp_path):
    folder, npz, *_ = bert_folder
    args = ["--players", "tokens:0-1,2-3,4-5", "--explain", "3", "--iterations", "5"]
    res = _cli(["interactions", str(folder), "--data", f"tokens:{npz}", *args, "-o",
                str(tmp_path / "i")], tmp_path)  # fmt: skip
    assert res.exit_code == 0, res.output + repr(res.exception)
    got = pd.read_csv(tmp_path / "i" / "interactions.csv")
    opts = nd.runs.InteractionOptions(
        players="tokens:0-1,2-3,4-5", explain=3, split=nd.analysis.SplitOptions(iterations=5)
    )
    want = nd.runs.run_interactions(
        nd.runs.checkpoint_models([folder]), f"tokens:{npz}", options=opts
    ).to_frame()
    num = [c for c in want.columns if want[c].dtype.kind == "f"]
    assert len(got) == len(want) > 0
    # the same model and examples on both sides: float32 rounding
    np.testing.assert_allclose(got[num].to_numpy(), want[num].to_numpy(), rtol=1e-5, atol=1e-6)
    summary = json.loads((tmp_path / "i" / "summary.json").read_text())
    assert "mask token" in json.dumps(summary)  # the masking is stated in the outputs


def test_cli_similarity_on_tokens_equals_python(bert_folder, tmp_path):
    folder, npz, *_ = bert_folder
    layers = ",".join(LAYERS)
    res = _cli(["similarity", str(folder), "--data", f"tokens:{npz}", "--activation-layers",
                layers, "-o", str(tmp_path / "s")], tmp_path)  # fmt: skip
    assert res.exit_code == 0, res.output + repr(res.exception)
    got = pd.read_csv(tmp_path / "s" / "similarity.csv")
    ds = load(f"tokens:{npz}")
    T = nd.runs.training_similarity(
        nd.runs.checkpoint_models([folder]), ds, spec=nd.runs.ActivationSpec(layers=LAYERS)
    )
    want = T.to_frame()
    num = [c for c in want.columns if want[c].dtype.kind == "f" and c in got.columns]
    assert num and len(got) == len(want) == 8  # 2 layers x 2, to the reference and within
    np.testing.assert_allclose(got[num].to_numpy(float), want[num].to_numpy(float), rtol=1e-6)


@pytest.mark.parametrize(
    ("ids", "mask", "match"),
    [
        (np.full((4, 6), VOCAB), None, "do not fit the model's vocabulary of 40"),
        (np.ones((4, 6)), np.zeros((4, 6)), "no real token"),
        (np.ones((4, 6)), np.full((4, 6), 2), "only 0"),
    ],
)
def test_bad_token_data_is_an_input_error_before_outputs(bert_folder, tmp_path, ids, mask, match):
    folder = bert_folder[0]
    arrays = {"input_ids": ids.astype(np.int64), "y": np.zeros(4, np.int64)}
    if mask is not None:
        arrays["attention_mask"] = mask.astype(np.int64)
    np.savez(tmp_path / "bad.npz", **arrays)
    cmds = (["interactions", "--players", "tokens:0-2,3-5"], ["similarity"])
    cmds += (["measures", "--measures", "similarity"],)
    for cmd in cmds:
        out = tmp_path / cmd[0]
        res = _cli([cmd[0], str(folder), "--data", f"tokens:{tmp_path / 'bad.npz'}", *cmd[1:],
                    "-o", str(out)], tmp_path)  # fmt: skip
        assert res.exit_code == 2, res.output + repr(res.exception)
        assert match in res.output
        assert not out.exists() or not any(out.iterdir())


def test_cli_measures_similarity_on_padded_tokens_equals_closed_form(bert_folder, tmp_path):
    folder, npz, _, ids, mask, _ = bert_folder
    other = _bert()
    with torch.no_grad():  # a second snapshot: the first one moved a little
        for p in other.parameters():
            p.add_(0.3 * torch.randn_like(p))
    other.save_pretrained(tmp_path / "bert2")
    out = tmp_path / "m"
    res = _cli(["measures", str(folder), str(tmp_path / "bert2"), "--data", f"tokens:{npz}",
                "--measures", "similarity", "--no-plots", "-o", str(out)], tmp_path)  # fmt: skip
    assert res.exit_code == 0, res.output + repr(res.exception)
    got = pd.read_csv(out / "measures.csv")
    first = got[(got.snapshot == "bert") & (got.metric == "cka_to_reference")]
    a = _alone(nd.runs.checkpoint_models([folder])[0].load(), ids, mask, layers=LAYERS)
    b = _alone(nd.runs.checkpoint_models([tmp_path / "bert2"])[0].load(), ids, mask, layers=LAYERS)
    for layer in LAYERS:
        want = _linear_cka(a[layer].astype(float), b[layer].astype(float))
        value = first.loc[first.layer == layer, "value"].to_numpy()
        assert value.size == 1 and want < 0.999  # the two snapshots differ
        np.testing.assert_allclose(value[0], want, rtol=1e-5)  # float32 activations
    # Fisher through per-example gradients does not take token ids: refused, no output
    res = _cli(["measures", str(folder), "--data", f"tokens:{npz}", "--measures", "fisher",
                "-o", str(tmp_path / "f")], tmp_path)  # fmt: skip
    assert res.exit_code == 2, res.output
    assert "fisher: per-example gradients pass no attention_mask" in res.output
    assert not (tmp_path / "f").exists() or not any((tmp_path / "f").iterdir())


BAG_CODE = """
import torch


class Bag(torch.nn.Module):  # token ids in, logits out, no attention mask
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(10, 3)
        self.fc = torch.nn.Linear(3, 2)

    def forward(self, ids):
        return self.fc(self.emb(ids).mean(1))
"""


def test_cli_fisher_on_a_plain_token_model_equals_python(tmp_path, monkeypatch):
    (tmp_path / "tokbag_mod.py").write_text(BAG_CODE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(__import__("sys").modules, "tokbag_mod", raising=False)
    import tokbag_mod

    torch.manual_seed(0)
    torch.save(tokbag_mod.Bag().state_dict(), tmp_path / "e1.pt")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "t.npz", input_ids=rng.integers(0, 10, (30, 4)), y=rng.integers(0, 2, 30))
    args = ["--model", "tokbag_mod:Bag", "--data", f"tokens:{tmp_path / 't.npz'}"]
    res = _cli(["measures", str(tmp_path / "e1.pt"), *args, "--measures", "fisher",
                "--no-plots", "-o", str(tmp_path / "m")], tmp_path)  # fmt: skip
    assert res.exit_code == 0, res.output + repr(res.exception)
    got = pd.read_csv(tmp_path / "m" / "measures.csv")
    items = nd.runs.checkpoint_models([tmp_path / "e1.pt"], "tokbag_mod:Bag")
    ds = load(f"tokens:{tmp_path / 't.npz'}")
    want = nd.runs.training_measures(items, ds, measures=("fisher",))
    assert {"emb", "fc"} <= set(got["layer"])
    assert len(got) == len(want) > 0
    # the same model, examples and seed: equal up to float32 rounding
    np.testing.assert_allclose(
        got["value"].to_numpy(float), want["value"].to_numpy(float), rtol=1e-6
    )
    # curvature casts inputs to floats: refused on token ids, naming what runs
    res = _cli(["measures", str(tmp_path / "e1.pt"), *args, "--measures", "curvature",
                "-o", str(tmp_path / "c")], tmp_path)  # fmt: skip
    assert res.exit_code == 2 and "curvature: Hessian-vector products" in res.output, res.output
