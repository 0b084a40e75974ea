"""Export of networks that are not chains: tracing, junctions, refusals (Issue: real architectures)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
from click.testing import CliRunner
from safetensors.torch import save_file

import netsci_dl as nd
from netsci_dl.cli import cli


def path_sum(G: nd.LayeredGraph, source: int = 0) -> dict[int, np.ndarray]:
    """The linear map from group ``source`` to every group, summed over all paths (an
    independent oracle: topological propagation of the dense blocks)."""
    R = {source: np.eye(G.layer_sizes[source])}
    for b in np.argsort(G.block_dst, kind="stable"):
        s, d = G.block_src[b], G.block_dst[b]
        if s in R:
            R[d] = R.get(d, 0) + R[s] @ G.dense_block(b).astype(np.float64)
    return R


def structure(G: nd.LayeredGraph) -> list[tuple[str, str, str, tuple[int, int]]]:
    n = G.layer_names
    return [
        (n[s], n[d], k, tuple(b.shape))
        for s, d, k, b in zip(G.block_src, G.block_dst, G.block_kinds, G.blocks)
    ]


class Basic(nn.Module):
    """A ResNet basic block (torchvision's layout)."""

    def __init__(self, cin: int, cout: int, stride: int = 1, linear: bool = False) -> None:
        super().__init__()
        k, p = (1, 0) if linear else (3, 1)
        self.conv1 = nn.Conv2d(cin, cout, k, stride, p, bias=False)
        self.bn1 = nn.Identity() if linear else nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, k, 1, p, bias=False)
        self.bn2 = nn.Identity() if linear else nn.BatchNorm2d(cout)
        self.act = nn.Identity() if linear else nn.ReLU()
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False),
                nn.Identity() if linear else nn.BatchNorm2d(cout),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.act(out)


class TinyResNet(nn.Module):
    def __init__(self, linear: bool = False) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 1 if linear else 3, padding=0 if linear else 1, bias=False)
        self.layer1 = Basic(4, 4, linear=linear)
        self.layer2 = Basic(4, 6, 1 if linear else 2, linear=linear)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(6, 5, bias=not linear)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class SkipCat(nn.Module):
    """An MLP with a residual skip and a concatenation (no biases: linear)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(5, 4, bias=False)
        self.b = nn.Linear(4, 4, bias=False)
        self.c = nn.Linear(4, 3, bias=False)
        self.out = nn.Linear(3 + 4, 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.a(x)
        r = self.b(h) + h  # residual: h is also read by the concatenation below
        return self.out(torch.cat([self.c(r), h], dim=1))


class TwoHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(6, 5), nn.ReLU())
        self.cls = nn.Linear(5, 2)
        self.box = nn.Linear(5, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.trunk(x)
        return self.cls(z), self.box(z)


class Encoder(nn.Module):
    """A transformer encoder block from Linear layers (q, k, v, o), written by hand."""

    def __init__(self, d: int = 8, heads: int = 2) -> None:
        super().__init__()
        self.h = heads
        self.q_proj, self.k_proj = nn.Linear(d, d), nn.Linear(d, d)
        self.v_proj, self.o_proj = nn.Linear(d, d), nn.Linear(d, d)
        self.ff1, self.ff2 = nn.Linear(d, 2 * d), nn.Linear(2 * d, d)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        q = self.q_proj(x).view(B, T, self.h, D // self.h).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.h, D // self.h).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.h, D // self.h).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(-2, -1) / (D // self.h) ** 0.5, dim=-1)
        y = (a @ v).transpose(1, 2).reshape(B, T, D)
        x = self.ln1(x + self.o_proj(y))
        return self.ln2(x + self.ff2(torch.relu(self.ff1(x))))


# ---- the linear oracle ------------------------------------------------------------------------
@pytest.mark.parametrize("with_input", [False, True])
def test_linear_resnet_path_sum_equals_model(with_input):
    torch.manual_seed(0)
    m = TinyResNet(linear=True).eval()
    x = torch.randn(7, 3, 5, 5)
    G = nd.load(m, conv_reduce="sum", example_input=x[:1] if with_input else None)
    assert not G.is_chain
    M = path_sum(G)[G.n_layers - 1]
    expected = m(x).detach().double().numpy()
    got = x.double().mean(dim=(2, 3)).numpy() @ M
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert G.block_kinds.count("identity") == 1  # layer1's identity shortcut


def test_linear_skip_and_concat_path_sum_equals_model():
    torch.manual_seed(1)
    m = SkipCat()
    x = torch.randn(9, 5)
    G = nd.load(m)
    M = path_sum(G)[G.n_layers - 1]
    np.testing.assert_allclose(x.double().numpy() @ M, m(x).detach().double().numpy(), atol=1e-5)
    cat = next(j for j in G.meta["junctions"] if j["kind"] == "cat")
    assert [(p["part"], p["offset"], p["as"]) for p in cat["parts"]] == [
        ("c", 0, "merged"),
        ("a", 3, "identity"),  # h is read by the residual add too: not fresh
    ]


def test_batchnorm_folding_is_the_affine_map_of_the_model():
    torch.manual_seed(2)
    m = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    with torch.no_grad():
        m[1].running_mean.uniform_(-1, 1)
        m[1].running_var.uniform_(0.5, 2)
        m[1].weight.uniform_(0.5, 1.5)
        m[1].bias.uniform_(-1, 1)
    m.eval()
    G = nd.load(m, fold_batchnorm=True)
    x = torch.randn(6, 4)
    zero = m(torch.zeros(1, 4)).detach().double().numpy()
    M = path_sum(G)[2]
    np.testing.assert_allclose(
        x.double().numpy() @ M + zero, m(x).detach().double().numpy(), atol=1e-5
    )
    # the folded bias of the BatchNorm group is the model's value at that group for x = 0
    b = G.node_attrs["bias"][G.layer_slice(1)]
    np.testing.assert_allclose(b, m[:2](torch.zeros(1, 4)).detach().numpy()[0], atol=1e-6)
    unfolded = nd.load(m)
    np.testing.assert_array_equal(unfolded.blocks[0], m[0].weight.detach().numpy().T)


# ---- graphs drawn by hand ---------------------------------------------------------------------
def test_basic_block_identity_shortcut():
    G = nd.load(Basic(4, 4))
    assert G.layer_names == ("input", "conv1", "conv2")
    assert structure(G) == [
        ("input", "conv1", "weight", (4, 4)),
        ("input", "conv2", "identity", (4, 4)),
        ("conv1", "conv2", "weight", (4, 4)),
    ]
    I = G.blocks[1]
    np.testing.assert_array_equal(I.toarray(), np.eye(4))
    assert G.meta["junctions"][0] == {
        "kind": "add",
        "group": "conv2",
        "merged": ["conv2"],
        "identity_from": ["input"],
    }


def test_basic_block_projection_shortcut():
    m = Basic(4, 6, stride=2)
    G = nd.load(m, conv_reduce="sum")
    assert G.layer_names == ("input", "conv1", "conv2")
    assert structure(G) == [
        ("input", "conv1", "weight", (4, 6)),
        ("input", "conv2", "weight", (4, 6)),
        ("conv1", "conv2", "weight", (6, 6)),
    ]
    w = m.downsample[0].weight.detach().numpy()[:, :, 0, 0]
    np.testing.assert_allclose(G.blocks[1], w.T, rtol=1e-6)  # the projection, not in series
    assert G.meta["weight_names"][1] == "downsample.0"
    assert G.meta["junctions"][0]["merged"] == ["conv2", "downsample.0"]


def test_two_heads_on_one_trunk():
    G = nd.load(TwoHead())
    assert structure(G) == [
        ("input", "trunk.0", "weight", (6, 5)),
        ("trunk.0", "cls", "weight", (5, 2)),
        ("trunk.0", "box", "weight", (5, 4)),
    ]
    assert G.meta["activations"] == ["identity", "relu", "identity", "identity"]


def test_encoder_block_projections_and_attention_junction():
    G = nd.load(Encoder(), example_input=torch.randn(1, 5, 8))
    assert structure(G) == [
        ("input", "q_proj", "weight", (8, 8)),
        ("input", "k_proj", "weight", (8, 8)),
        ("input", "v_proj", "weight", (8, 8)),
        ("v_proj", "v_proj.mix", "identity", (8, 8)),
        ("input", "o_proj", "identity", (8, 8)),
        ("v_proj.mix", "o_proj", "weight", (8, 8)),
        ("o_proj", "ff1", "weight", (8, 16)),
        ("o_proj", "ff2", "identity", (8, 8)),
        ("ff1", "ff2", "weight", (16, 8)),
    ]
    att = next(j for j in G.meta["junctions"] if j["kind"] == "attention")
    assert att["values"] == "v_proj" and att["scores_from"] == ["q_proj", "k_proj"]
    assert G.meta["model_kind"] == "transformer"
    # q and k end in the scores: no block leaves them
    for g in ("q_proj", "k_proj"):
        assert not G.blocks_from(G.layer_names.index(g))


def test_torch_transformer_layer_is_recorded_when_fx_cannot_trace():
    enc = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
    with pytest.raises(ValueError, match="cannot trace this model symbolically.*example_input"):
        nd.load(enc)
    G = nd.load(enc, example_input=torch.randn(1, 5, 8))
    assert "self_attn.v->self_attn.mix" in G.block_names
    assert ("self_attn.mix", "self_attn.out_proj", "weight", (8, 8)) in structure(G)
    plan = nd.inspect(enc, example_input=torch.randn(1, 5, 8))
    assert plan.meta["traced"] == "the torch functions of one forward pass"
    reasons = {t.name: t.reason for t in plan.tensors}
    assert "normalises over the units" in reasons["norm1.weight"]


def test_recurrent_and_embedding_are_skipped_with_reason():
    class Seq(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(10, 6)
            self.lstm = nn.LSTM(6, 5, batch_first=True)
            self.fc = nn.Linear(5, 3)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            y, _ = self.lstm(self.emb(ids))
            return self.fc(y[:, -1])

    plan = nd.inspect(Seq(), example_input=torch.randint(0, 10, (2, 7)))
    reasons = {t.name: t.reason for t in plan.tensors if t.role == "skipped"}
    assert "recurrent layer" in reasons["lstm.weight_ih_l0"]
    assert "embedding" in reasons["emb.weight"]
    G = nd.load(Seq(), example_input=torch.randint(0, 10, (2, 7)))
    assert G.layer_names == ("lstm", "fc")


def test_data_dependent_control_flow_needs_an_input():
    class Flow(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(4, 3), nn.Linear(3, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = torch.relu(self.a(x))
            if h.sum() > 0:  # Python control flow on a tensor value
                h = h * 2
            return self.b(h)

    with pytest.raises(ValueError, match="example_input"):
        nd.load(Flow())
    G = nd.load(Flow(), example_input=torch.ones(1, 4))
    assert G.layer_sizes == (4, 3, 2) and G.is_chain


def test_unknown_ops_are_refused_by_name():
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cumsum(self.a(x), dim=1)  # mixes units: not a weight, not a junction

    with pytest.raises(ValueError, match=r"cumsum\(\) is not understood"):
        nd.load(Odd())


def test_layer_selection_on_a_traced_dag():
    G = nd.load(TwoHead(), layers=["trunk.0", "cls"])
    assert G.layer_names == ("input", "trunk.0", "cls") and G.is_chain
    H = nd.load(TwoHead(), layers=["cls", "box"])  # two heads on the trunk's units: a DAG
    assert H.layer_names == ("trunk.0", "cls", "box") and not H.is_chain
    chain = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 3), nn.Linear(3, 2))
    with pytest.raises(ValueError, match="broken shape chain.*not connected"):
        nd.load(chain, layers=["0", "3"])


def test_traced_graph_is_a_copy_and_read_only():
    m = TwoHead()
    G = nd.load(m)
    before = np.array(G.blocks[0])
    with torch.no_grad():
        m.trunk[0].weight.add_(1.0)
    np.testing.assert_array_equal(G.blocks[0], before)
    assert not G.blocks[0].flags.writeable
    src, dst, w = G.edges()
    assert not (src.flags.writeable or dst.flags.writeable or w.flags.writeable)


# ---- state_dicts and files --------------------------------------------------------------------
@pytest.mark.parametrize("n", [12, 13])
@pytest.mark.parametrize("fmt", ["pt", "safetensors"])
def test_equal_width_mlp_loads_in_module_order(tmp_path, n, fmt):
    torch.manual_seed(n)
    m = nn.Sequential(*[nn.Linear(6, 6) for _ in range(n)])
    sd = {k: v.contiguous() for k, v in m.state_dict().items()}
    path = tmp_path / f"m.{fmt}"
    torch.save(sd, path) if fmt == "pt" else save_file(sd, str(path))
    G = nd.load(path)
    assert G.layer_names == ("input", *[str(i) for i in range(n)])
    for i in range(n):
        np.testing.assert_array_equal(G.blocks[i], m[i].weight.detach().numpy().T)


def test_word_names_load_right_or_refuse(tmp_path):
    torch.manual_seed(0)
    sd = {
        "input.weight": torch.randn(5, 7),
        "hidden.weight": torch.randn(4, 5),
        "output.weight": torch.randn(3, 4),
    }
    save_file(
        sd, str(tmp_path / "distinct.safetensors")
    )  # keys come back sorted: hidden, input, output
    G = nd.load(tmp_path / "distinct.safetensors")
    assert G.layer_names == ("<input>", "input", "hidden", "output")
    assert "shapes allow" in G.meta["order"]
    same = {k: torch.randn(6, 6) for k in ("input.weight", "hidden.weight", "output.weight")}
    save_file(same, str(tmp_path / "same.safetensors"))
    with pytest.raises(ValueError, match="order of .* is not recorded"):
        nd.load(tmp_path / "same.safetensors")
    torch.save(same, tmp_path / "same.pt")  # torch keeps the order
    assert nd.load(tmp_path / "same.pt").layer_names == ("<input>", "input", "hidden", "output")


def test_branch_names_refuse_a_state_dict():
    torch.manual_seed(0)
    sd = TinyResNet().state_dict()
    with pytest.raises(ValueError, match=r"layer2\.downsample\.0.*parallel branches.*--model"):
        nd.load(sd)
    bert = {
        "embeddings.word_embeddings.weight": torch.randn(30, 8),
        "encoder.layer.0.attention.self.query.weight": torch.randn(8, 8),
        "encoder.layer.0.attention.self.key.weight": torch.randn(8, 8),
        "encoder.layer.0.attention.self.value.weight": torch.randn(8, 8),
        "encoder.layer.0.attention.output.dense.weight": torch.randn(8, 8),
        "encoder.layer.0.intermediate.dense.weight": torch.randn(16, 8),
        "encoder.layer.0.output.dense.weight": torch.randn(8, 16),
    }
    with pytest.raises(ValueError, match="query.*key.*value.*parallel branches"):
        nd.load(bert, layers=r"encoder\.layer\.0\.")
    plan = nd.inspect(bert)
    assert plan.refusal and "parallel branches" in plan.refusal
    reasons = {t.name: t.reason for t in plan.tensors}
    assert "embedding table" in reasons["embeddings.word_embeddings.weight"]


def test_heads_on_a_trunk_named_in_the_refusal():
    sd = {
        "conv1.weight": torch.randn(10, 3, 3, 3),
        "conv2.weight": torch.randn(16, 10, 3, 3),
        "conv4_1.weight": torch.randn(2, 16, 1, 1),
        "conv4_2.weight": torch.randn(4, 16, 1, 1),
    }
    with pytest.raises(ValueError, match=r"conv4_2.*output of 'conv2'.*parallel heads"):
        nd.load(sd)


def test_model_argument_loads_the_checkpoint_strictly(tmp_path):
    torch.manual_seed(3)
    src = TinyResNet()
    torch.save({"epoch": 9, "model_state": src.state_dict()}, tmp_path / "r.pt")
    G = nd.load(tmp_path / "r.pt", model=TinyResNet())
    H = nd.load(src)
    assert G.layer_names == H.layer_names
    for a, b in zip(G.blocks, H.blocks):
        np.testing.assert_array_equal(
            a.toarray() if hasattr(a, "toarray") else a, b.toarray() if hasattr(b, "toarray") else b
        )
    with pytest.raises(ValueError, match="does not fit TwoHead"):
        nd.load(tmp_path / "r.pt", model=TwoHead())


def test_containers_and_prefixes(tmp_path):
    sd = nn.Sequential(nn.Linear(3, 2)).state_dict()
    for key in ("model_state", "state_dict", "net", "weights_ema_free"):
        torch.save({"epoch": 1, key: sd, "optimizer": {"lr": 0.1}}, tmp_path / f"{key}.pt")
        G = nd.load(tmp_path / f"{key}.pt")
        assert G.layer_sizes == (3, 2) and G.meta["state_dict_key"] == key
    ddp = {f"module.{k}": v for k, v in sd.items()}
    torch.save({"model": ddp}, tmp_path / "ddp.pt")
    assert nd.load(tmp_path / "ddp.pt").layer_names == ("input", "0")
    torch.save({"model": sd, "ema": sd}, tmp_path / "two.pt")
    with pytest.raises(ValueError, match="several entries hold weights: model, ema"):
        nd.load(tmp_path / "two.pt")
    assert nd.load(tmp_path / "two.pt", state_dict_key="ema").meta["state_dict_key"] == "ema"


def test_biases_are_reported_as_biases():
    plan = nd.inspect(nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1)).state_dict())
    roles = {t.name: (t.role, t.reason) for t in plan.tensors}
    assert roles["0.bias"] == ("bias", "bias of 0")
    assert "normalisation" not in roles["2.bias"][1]


def test_cli_refusals_one_line_exit_2_no_file(tmp_path):
    torch.save(TinyResNet().state_dict(), tmp_path / "resnet.pt")
    out = tmp_path / "g.graphml"
    r = CliRunner().invoke(cli, ["export", str(tmp_path / "resnet.pt"), "-o", str(out)])
    assert r.exit_code == 2
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "parallel branches" in lines[0]
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "resnet.pt"]
    r = CliRunner().invoke(cli, ["info", str(tmp_path / "resnet.pt")])
    assert r.exit_code == 2 and "export would refuse" in r.output
    assert "layer2.downsample.0.weight" in r.output  # the inventory is still shown
