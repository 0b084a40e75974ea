"""Hugging Face folders and token models: nd.load / the CLI on tiny BERT, GPT-2, Llama and ViT
folders written by ``save_pretrained`` (no download), counted against the README's rules
(Q, K, V, O projections and MLP weights as weight blocks; V through an identity block into the
mixed group; Q and K end in the scores; residual adds join by identity blocks); strict, declared
ignorable and partial loading; errors raised by a user's own module are input errors."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import save_file

import netsci_dl as nd
from netsci_dl.cli import cli
from netsci_dl.errors import InputError
from netsci_dl.export.hf import is_hf_folder

transformers = pytest.importorskip("transformers")

H, I, L, VOCAB = 16, 32, 2, 40  # hidden, intermediate, layers, vocabulary


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _save(model, folder, **kw):
    model.save_pretrained(folder, **kw)
    return folder


@pytest.fixture
def bert_dir(tmp_path):
    torch.manual_seed(0)
    cfg = transformers.BertConfig(
        vocab_size=VOCAB,
        hidden_size=H,
        num_hidden_layers=L,
        num_attention_heads=2,
        intermediate_size=I,
        max_position_embeddings=16,
    )
    model = transformers.BertModel(cfg).eval()
    return _save(model, tmp_path / "bert"), model


def _expect(G, *, groups, blocks, edges, nodes):
    got = (len(G.layer_sizes), len(G.blocks), G.n_edges, G.n_nodes)
    want = (groups, blocks, edges, nodes)
    if got != want:
        raise AssertionError(f"(groups, blocks, edges, nodes) = {got}, expected {want}")


def _block(G, name):
    hits = [b for b, n in enumerate(G.block_names) if n == name]
    if len(hits) != 1:
        raise AssertionError(f"block {name!r}: {len(hits)} matches in {G.block_names}")
    B = G.blocks[hits[0]]
    return B.toarray() if hasattr(B, "toarray") else np.asarray(B)


def _bert_counts():
    # per layer: q, k, v, mix, attention output (residual add), intermediate, output (add)
    groups = 1 + 7 * L + 1  # embeddings (their sum) ... pooler
    # per layer: 3 projections, v->mix identity, mix->attn.out, residual identity,
    # attn.out->intermediate, intermediate->output, residual identity; the pooler
    blocks = 9 * L + 1
    edges = L * (4 * H * H + 2 * H * I + 3 * H) + H * H
    nodes = H + L * (6 * H + I) + H
    return {"groups": groups, "blocks": blocks, "edges": edges, "nodes": nodes}


def test_bert_folder(bert_dir):
    folder, model = bert_dir
    assert is_hf_folder(folder)
    G = nd.load(folder)
    _expect(G, **_bert_counts())
    assert G.meta["model_kind"] == "transformer"
    assert G.meta["hf"]["input"] == {"name": "input_ids", "shape": [1, 8], "dtype": "int64"}
    assert G.meta["hf"]["class"] == "BertModel" and G.meta["hf"]["files"] == ["model.safetensors"]
    assert G.meta["loading"]["strict"] and G.meta["loading"]["ignored_missing"] == []
    W = model.encoder.layer[1].attention.self.query.weight.detach().numpy()
    q = "encoder.layer.0.output.dense->encoder.layer.1.attention.self.query"
    np.testing.assert_allclose(_block(G, q), W.T, rtol=1e-6)
    kinds = dict(zip(G.block_names, G.block_kinds))
    v = "encoder.layer.0.attention.self.value"
    assert kinds[f"{v}->{v}.mix"] == "identity"
    np.testing.assert_array_equal(_block(G, f"{v}->{v}.mix"), np.eye(H))
    plan = nd.inspect(folder)
    assert plan.model_kind == "transformer" and plan.refusal is None


def test_bert_sharded_and_bin(bert_dir, tmp_path):
    folder, model = bert_dir
    G = nd.load(folder)
    shards = _save(model, tmp_path / "sharded", max_shard_size="20KB")
    assert (shards / "model.safetensors.index.json").is_file()
    index = json.loads((shards / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) >= 2
    S = nd.load(shards)
    assert S.meta["hf"]["files"][0] == "model.safetensors.index.json"
    assert S.layer_sizes == G.layer_sizes and S.block_names == G.block_names
    for a, b in zip(S.blocks, G.blocks):
        np.testing.assert_array_equal(
            np.asarray(a.todense() if hasattr(a, "todense") else a),
            np.asarray(b.todense() if hasattr(b, "todense") else b),
        )
    # pytorch_model.bin: read with torch.load(weights_only=True)
    binf = tmp_path / "bin"
    model.config.save_pretrained(binf)
    torch.save(model.state_dict(), binf / "pytorch_model.bin")
    B = nd.load(binf)
    assert B.meta["hf"]["files"] == ["pytorch_model.bin"] and B.n_edges == G.n_edges
    # a shard outside the folder is refused
    bad = json.loads((shards / "model.safetensors.index.json").read_text())
    first = next(iter(bad["weight_map"]))
    bad["weight_map"][first] = "../elsewhere.safetensors"
    (shards / "model.safetensors.index.json").write_text(json.dumps(bad))
    with pytest.raises(InputError, match="not a file name in the folder"):
        nd.load(shards)


def test_gpt2_tied_head(tmp_path):
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(
        vocab_size=VOCAB,
        n_embd=H,
        n_layer=L,
        n_head=2,
        n_positions=16,
        bos_token_id=0,
        eos_token_id=0,
    )
    model = transformers.GPT2LMHeadModel(cfg).eval()
    folder = _save(model, tmp_path / "gpt2")
    G = nd.load(folder)
    inner = 4 * H  # GPT-2's MLP width
    # embeddings (wte + wpe summed), per layer q, k, v, mix, attn out (add), c_fc, c_proj (add),
    # and the LM head
    _expect(
        G,
        groups=1 + 7 * L + 1,
        blocks=9 * L + 1,
        edges=L * (4 * H * H + 2 * H * inner + 3 * H) + H * VOCAB,
        nodes=H + L * (6 * H + inner) + VOCAB,
    )
    assert G.meta["model_kind"] == "transformer"
    # Conv1D stores (in, out): the fused c_attn's first third is Q, as it is
    Wq = model.transformer.h[0].attn.c_attn.weight.detach().numpy()[:, :H]
    np.testing.assert_allclose(_block(G, "transformer.wte->transformer.h.0.attn.q"), Wq, rtol=1e-6)
    # the LM head is tied to the token embedding: absent from the file, declared ignorable
    why = G.meta["loading"]["declared_ignorable"]
    assert why == {"lm_head.weight": "tied to transformer.wte.weight (the same tensor)"}


def test_llama(tmp_path):
    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(
        vocab_size=VOCAB,
        hidden_size=H,
        num_hidden_layers=L,
        num_attention_heads=2,
        num_key_value_heads=2,
        intermediate_size=I,
        max_position_embeddings=16,
    )
    model = transformers.LlamaModel(cfg).eval()
    folder = _save(model, tmp_path / "llama")
    G = nd.load(folder)
    # per layer: q, k, v, mix, attn out (add), gate, up, down (add); SwiGLU's product keeps the
    # group of act(gate_proj) (read by down_proj), up_proj ends in the gate junction
    _expect(
        G,
        groups=1 + 8 * L,
        blocks=10 * L,
        edges=L * (4 * H * H + 3 * H * I + 3 * H),
        nodes=H + L * (5 * H + 2 * I + H),
    )
    assert G.meta["model_kind"] == "transformer"
    W = model.layers[1].mlp.down_proj.weight.detach().numpy()
    np.testing.assert_allclose(
        _block(G, "layers.1.mlp.gate_proj->layers.1.mlp.down_proj"), W.T, rtol=1e-6
    )
    gates = [j for j in G.meta["junctions"] if j["kind"] == "gate"]
    assert [j["gated_by"] for j in gates] == [[f"layers.{i}.mlp.up_proj"] for i in range(L)]


def test_llama_grouped_query_attention(tmp_path):
    """4 query heads of 4 units share 2 key/value heads: K and V have 8 units, and query heads
    0, 1 read value head 0, heads 2, 3 value head 1 (a 0/1 block into the mixed group)."""
    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(
        vocab_size=VOCAB,
        hidden_size=H,
        num_hidden_layers=L,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=I,
        max_position_embeddings=16,
    )
    G = nd.load(_save(transformers.LlamaModel(cfg).eval(), tmp_path / "gqa"))
    kv = 8
    _expect(
        G,
        groups=1 + 8 * L,
        blocks=10 * L,
        edges=L * (2 * H * H + 2 * H * kv + H + 2 * H + 3 * H * I),
        nodes=H + L * (H + 2 * kv + H + H + 2 * I + H),
    )
    shared = np.zeros((kv, H))
    for j in range(H):  # mixed unit j: query head j // 4 reads value head (j // 4) // 2
        shared[(j // 4 // 2) * 4 + j % 4, j] = 1
    a = "layers.1.self_attn"
    np.testing.assert_array_equal(_block(G, f"{a}.v->{a}.mix"), shared)


def test_vit_pixels(tmp_path):
    torch.manual_seed(0)
    cfg = transformers.ViTConfig(
        image_size=8,
        patch_size=4,
        num_channels=3,
        hidden_size=H,
        num_hidden_layers=L,
        num_attention_heads=2,
        intermediate_size=I,
    )
    folder = _save(transformers.ViTModel(cfg).eval(), tmp_path / "vit")
    G = nd.load(folder)
    # the pixels' 3 channels -> the patch projection (a conv into tokens), the layers, pooler
    _expect(
        G,
        groups=2 + 7 * L + 1,
        blocks=1 + 9 * L + 1,
        edges=3 * H + L * (4 * H * H + 2 * H * I + 3 * H) + H * H,
        nodes=3 + H + L * (6 * H + I) + H,
    )
    # the patches are tokens: the class token (a parameter) joins them along the token axis,
    # which is no junction
    assert G.layer_names[:2] == ("input", "embeddings.patch_embeddings.projection")
    assert "cat" not in {j["kind"] for j in G.meta["junctions"]}
    assert G.meta["hf"]["input"] == {
        "name": "pixel_values",
        "shape": [1, 3, 8, 8],
        "dtype": "float32",
    }
    assert G.meta["model_kind"] == "transformer"


def test_cli_on_folder(bert_dir, tmp_path):
    folder, _ = bert_dir
    c = _bert_counts()
    r = run("info", folder)
    assert r.exit_code == 0, r.output
    assert "model kind: transformer" in r.output
    assert f"graph: {c['nodes']} nodes in {c['groups']} groups, {c['edges']} edges" in r.output
    out = tmp_path / "g.npz"
    r = run("export", folder, "-o", out, "--threshold", "none", "--input-shape", "1,5")
    assert r.exit_code == 0, r.output
    G = nd.load(out)
    _expect(G, **c)
    assert G.meta["hf"]["input"] == {"name": "input_ids", "shape": [1, 5], "dtype": "int64"}
    r = run("info", folder, "--input-dtype", "long")
    assert r.exit_code == 2 and "--input-dtype needs --input-shape" in r.output


def test_cli_analyze_reads_a_folder_as_a_model(bert_dir, tmp_path, monkeypatch):
    """analyze takes an HF folder as a model, not as a run folder (the full report of a
    transformer takes a minute: the report itself is stubbed, its input is checked)."""
    import netsci_dl.report as report

    folder, _ = bert_dir
    seen = {}

    def fake_report(G, out, **kw):
        seen["G"], seen["sections"] = G, kw["sections"]
        out.mkdir(parents=True, exist_ok=True)
        (out / "index.html").write_text("stub")
        return out / "index.html"

    monkeypatch.setattr(report, "write_report", fake_report)
    r = run("analyze", folder, "-o", tmp_path / "rep")
    assert r.exit_code == 0, r.output
    _expect(seen["G"], **_bert_counts())
    assert len(seen["sections"]) == len(report.DEFAULT_SECTIONS)  # no training section


def test_position_ids_and_unexpected_keys(bert_dir, tmp_path):
    folder, model = bert_dir
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    sd["embeddings.position_ids"] = torch.arange(16)[None]  # what older checkpoints hold
    save_file(sd, folder / "model.safetensors")
    G = nd.load(folder)
    assert G.meta["loading"]["declared_ignorable"] == {
        "embeddings.position_ids": "a non-persistent buffer: the model computes it itself"
    }
    sd["extra.weight"] = torch.zeros(3, 3)
    save_file(sd, folder / "model.safetensors")
    with pytest.raises(InputError, match=r"strict loading.*unexpected \['extra.weight'\]"):
        nd.load(folder)
    r = run("info", folder)
    assert r.exit_code == 2 and "extra.weight" in r.output
    P = nd.load(folder, partial=True)
    assert P.meta["loading"]["ignored_unexpected"] == ["extra.weight"]
    r = run("info", folder, "--partial")
    assert r.exit_code == 0, r.output
    assert "ignored unexpected extra.weight" in r.output
    assert "ignored embeddings.position_ids: a non-persistent buffer" in r.output


def test_state_dict_of_a_transformer_says_transformer(bert_dir, tmp_path):
    _, model = bert_dir
    path = tmp_path / "minilm.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path)
    plan = nd.inspect(path)
    assert plan.model_kind == "transformer" and plan.refusal is not None
    r = run("info", path)
    assert r.exit_code == 2 and "model kind: transformer" in r.output


def test_not_hf_folders(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text('{"data": "digits"}')  # a netsci_dl run folder
    (run_dir / "model.safetensors").write_bytes(b"")
    assert not is_hf_folder(run_dir) and not is_hf_folder(tmp_path / "none")
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "config.json").write_text('{"model_type": "no-such-model-type"}')
    save_file({"w": torch.zeros(2, 2)}, odd / "model.safetensors")
    assert is_hf_folder(odd)
    with pytest.raises(InputError, match="transformers cannot read this config"):
        nd.load(odd)
    r = run("info", odd)
    assert r.exit_code == 2 and "cannot read this config" in r.output


def test_missing_transformers_says_how_to_install(bert_dir, monkeypatch):
    folder, _ = bert_dir
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ImportError, match=r"pip install 'netsci_dl\[hf\]'"):
        nd.load(folder)


# ---- checkpoints loaded into --model: partial loading, token inputs, the user's errors ------

USER_MODULE = '''
import torch
import torch.nn as nn


class Heads(nn.Module):
    """A frozen trunk and five linear heads, of which a checkpoint holds only the heads."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Linear(6, 4)
        self.lins = nn.ModuleList(nn.Linear(4, 1, bias=False) for _ in range(5))

    def forward(self, x):
        h = self.trunk(x)
        return sum(lin(h) for lin in self.lins)


class Tokens(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(11, 4)
        self.fc = nn.Linear(4, 3)

    def forward(self, ids):
        return self.fc(self.emb(ids))


class WithPositions(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("position_ids", torch.arange(4)[None], persistent=False)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x + self.position_ids)


class BadInit(nn.Module):
    def __init__(self):
        super().__init__()
        raise RuntimeError("no GPU here")


class BadForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        raise ValueError("forward is broken")
'''


@pytest.fixture
def user_pkg(tmp_path, monkeypatch):
    pkg = tmp_path / "userpkg"
    pkg.mkdir()
    (pkg / "nets.py").write_text(USER_MODULE)
    (pkg / "broken_import.py").write_text("import no_such_package_xyz\n")
    (pkg / "broken_name.py").write_text("x = undefined_name + 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for m in [m for m in sys.modules if m.startswith("userpkg")]:
        monkeypatch.delitem(sys.modules, m)
    return tmp_path


def test_partial_checkpoint(user_pkg, tmp_path):
    from userpkg.nets import Heads

    heads = {f"lins.{i}.weight": torch.randn(1, 4) for i in range(5)}
    path = tmp_path / "heads.pt"
    torch.save(heads, path)
    with pytest.raises(InputError, match=r"strict loading\): missing \['trunk.weight'"):
        nd.load(path, model=Heads())
    G = nd.load(path, model=Heads(), partial=True)
    assert G.meta["loading"]["ignored_missing"] == ["trunk.weight", "trunk.bias"]
    assert G.meta["loading"]["loaded"] == 5 and not G.meta["loading"]["strict"]
    r = run("info", path, "--model", "userpkg.nets:Heads")
    assert r.exit_code == 2 and "--partial" in r.output
    r = run("info", path, "--model", "userpkg.nets:Heads", "--partial")
    assert r.exit_code == 0, r.output
    assert "loading: partial, 5 tensors loaded" in r.output
    assert "ignored missing trunk.weight" in r.output
    torch.save({"nothing.weight": torch.zeros(2)}, tmp_path / "none.pt")
    with pytest.raises(InputError, match="none of its 1 tensors fits Heads"):
        nd.load(tmp_path / "none.pt", model=Heads(), partial=True)
    with pytest.raises(InputError, match="partial loading is for a checkpoint loaded into"):
        nd.load(path, partial=True)


def test_non_persistent_buffer_in_checkpoint(user_pkg, tmp_path):
    """A checkpoint that holds a buffer the model declares non-persistent (as older BERT
    checkpoints hold ``embeddings.position_ids``) loads strictly into --model, and says so."""
    from userpkg.nets import WithPositions

    sd = dict(WithPositions().state_dict(), position_ids=torch.arange(4)[None])
    path = tmp_path / "pos.pt"
    torch.save(sd, path)
    r = run("info", path, "--model", "userpkg.nets:WithPositions", "--input-shape", "1,4")
    assert r.exit_code == 0, r.output
    assert "loading: strict, 2 tensors loaded" in r.output
    assert "ignored position_ids: a non-persistent buffer" in r.output


def test_token_input_dtype(user_pkg, tmp_path):
    from userpkg.nets import Tokens

    path = tmp_path / "tok.pt"
    torch.save(Tokens().state_dict(), path)
    out = tmp_path / "t.npz"
    args = ("export", path, "-o", out, "--model", "userpkg.nets:Tokens", "--threshold", "none")
    r = run(*args, "--input-shape", "1,7", "--input-dtype", "long")
    assert r.exit_code == 0, r.output
    G = nd.load(out)
    assert G.layer_sizes == (4, 3) and G.n_edges == 12
    # float token ids cannot index the embedding: the model's error, reported as input
    r = run(*args, "--input-shape", "1,7", "--force")
    assert r.exit_code == 2, r.output
    assert "internal error" not in r.output and "Tokens" in r.output


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("userpkg.broken_import:X", "cannot import 'userpkg.broken_import'"),
        ("userpkg.broken_name:X", "importing 'userpkg.broken_name' raised NameError"),
        ("userpkg.nets:BadInit", "BadInit() raised RuntimeError: no GPU here"),
    ],
)
def test_user_module_errors_are_input_errors(user_pkg, tmp_path, spec, says):
    path = tmp_path / "w.pt"
    torch.save({"fc.weight": torch.zeros(2, 3)}, path)
    r = run("info", path, "--model", spec)
    assert r.exit_code == 2, r.output
    assert says in r.output and "internal error" not in r.output
    with pytest.raises(InputError, match=says.replace("(", r"\(").replace(")", r"\)")):
        nd.export.build_model(spec)


def test_user_forward_error_is_an_input_error(user_pkg, tmp_path):
    from userpkg.nets import BadForward

    path = tmp_path / "w.pt"
    torch.save(BadForward().state_dict(), path)
    for extra in ((), ("--input-shape", "1,3")):
        r = run("info", path, "--model", "userpkg.nets:BadForward", *extra)
        assert r.exit_code == 2, r.output
        assert "ValueError: forward is broken" in r.output and "internal error" not in r.output
    with pytest.raises(InputError, match="BadForward.*forward is broken"):
        nd.load(BadForward(), example_input=torch.zeros(1, 3))


def _tiny_hf(kind: str):
    """A tiny GPT-2, Llama or ViT model of the configs above (for the CLI on folders)."""
    if kind == "gpt2":
        cfg = transformers.GPT2Config(
            vocab_size=VOCAB, n_embd=H, n_layer=L, n_head=2, n_positions=16, bos_token_id=0
        )
        return transformers.GPT2LMHeadModel(cfg)
    if kind == "llama":
        cfg = transformers.LlamaConfig(
            vocab_size=VOCAB,
            hidden_size=H,
            num_hidden_layers=L,
            num_attention_heads=2,
            num_key_value_heads=2,
            intermediate_size=I,
            max_position_embeddings=16,
        )
        return transformers.LlamaModel(cfg)
    cfg = transformers.ViTConfig(
        image_size=8,
        patch_size=4,
        num_channels=3,
        hidden_size=H,
        num_hidden_layers=L,
        num_attention_heads=2,
        intermediate_size=I,
    )
    return transformers.ViTModel(cfg)


@pytest.mark.parametrize("kind", ["gpt2", "llama", "vit"])
def test_each_hf_family_exports_from_the_cli(tmp_path, kind):
    """Issue 23's check "every family exports from the CLI (the HF folder) with exact counts":
    the command line gives the graph nd.load gives (whose counts the tests above check), and
    info prints its counts and the kind "transformer"."""
    torch.manual_seed(0)
    folder = _save(_tiny_hf(kind).eval(), tmp_path / kind)
    want = nd.load(folder)
    out = tmp_path / "g.npz"
    r = run("export", folder, "-o", out, "--threshold", "none")
    assert r.exit_code == 0, r.output
    G = nd.load(out)
    assert G.layer_names == want.layer_names and G.layer_sizes == want.layer_sizes
    assert G.block_kinds == want.block_kinds and G.n_edges == want.n_edges
    for a, b in zip(G.blocks, want.blocks):
        a = a.toarray() if hasattr(a, "toarray") else a
        np.testing.assert_array_equal(a, b.toarray() if hasattr(b, "toarray") else b)
    r = run("info", folder)
    assert r.exit_code == 0, r.output
    assert "model kind: transformer" in r.output
    assert (
        f"graph: {want.n_nodes} nodes in {want.n_layers} groups, {want.n_edges} edges" in r.output
    )
