"""Export of the common architecture families, verified (Issue 23: export any real model exactly,
or refuse).

Each family is a small replica written here. Made linear (activations -> identity, norms in eval
with fixed statistics, LayerNorm -> identity, gates fixed to one), the graph's path sums equal
the model's Jacobian on inputs constant over space (with ``conv_reduce="sum"`` a kernel's sum is
its response to a constant map, so a flatten aggregated over the wrong features fails). The
counts of groups, blocks and edges equal an independent count written in each test.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.fx
import torch.nn as nn
from click.testing import CliRunner

import netsci_dl as nd
from netsci_dl.cli import cli
from netsci_dl.errors import InputError
from netsci_dl.io.write_graph import write


def path_sum(G: nd.LayeredGraph, source: int = 0) -> dict[int, np.ndarray]:
    """The linear map from group ``source`` to every group, summed over all paths."""
    R = {source: np.eye(G.layer_sizes[source])}
    for b in np.argsort(G.block_dst, kind="stable"):
        s, d = G.block_src[b], G.block_dst[b]
        if s in R:
            R[d] = R.get(d, 0) + R[s] @ G.dense_block(b).astype(np.float64)
    return R


def jacobian_of(m: nn.Module, x0: torch.Tensor, spatial: tuple[int, ...]) -> np.ndarray:
    """The model's Jacobian with respect to the channels of an input constant over space
    (``spatial``: the input's spatial shape), by finite differences of a linear model."""
    m = m.double().eval()
    C = x0.shape[1]
    base = m(torch.zeros(1, C, *spatial, dtype=torch.float64)).detach().reshape(-1)
    rows = []
    for c in range(C):
        e = torch.zeros(1, C, *spatial, dtype=torch.float64)
        e[:, c] = 1.0
        rows.append((m(e).detach().reshape(-1) - base).numpy())
    return np.stack(rows)


def check_exact(m: nn.Module, x: torch.Tensor, **kw) -> nd.LayeredGraph:
    """Load ``m`` (traced with ``x``), and check the path sums from the input group to the last
    group equal the model's Jacobian on inputs constant over space."""
    G = nd.load(m, example_input=x, conv_reduce="sum", **kw)
    M = path_sum(G)[G.n_layers - 1]
    J = jacobian_of(m, x, tuple(x.shape[2:]))
    if M.shape != J.shape:
        raise AssertionError(f"path sums {M.shape} vs Jacobian {J.shape}")
    np.testing.assert_allclose(M, J, rtol=1e-5, atol=1e-6)
    return G


def counts(G: nd.LayeredGraph) -> tuple[int, int, int, int]:
    """(groups, weight blocks, identity blocks, edges)."""
    return (
        G.n_layers,
        G.block_kinds.count("weight"),
        G.block_kinds.count("identity"),
        G.n_edges,
    )


def act(linear: bool, kind: type = nn.ReLU) -> nn.Module:
    return nn.Identity() if linear else kind()


def bn(c: int, linear: bool) -> nn.Module:
    m = nn.BatchNorm2d(c)
    with torch.no_grad():  # fixed statistics, not the defaults: the fold must be exact
        m.running_mean.uniform_(-1, 1)
        m.running_var.uniform_(0.5, 2)
        m.weight.uniform_(0.5, 1.5)
        m.bias.uniform_(-1, 1)
    return m


# ---- ResNet -------------------------------------------------------------------------------------
class Bottleneck(nn.Module):
    def __init__(self, cin: int, mid: int, cout: int, linear: bool) -> None:
        super().__init__()
        k = 1 if linear else 3
        self.conv1, self.bn1 = nn.Conv2d(cin, mid, 1, bias=False), bn(mid, linear)
        self.conv2, self.bn2 = nn.Conv2d(mid, mid, k, padding=k // 2, bias=False), bn(mid, linear)
        self.conv3, self.bn3 = nn.Conv2d(mid, cout, 1, bias=False), bn(cout, linear)
        self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), bn(cout, linear))
        self.act = act(linear)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))
        out = self.act(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.act(out + self.down(x))


class BasicBlock(nn.Module):
    def __init__(self, c: int, linear: bool) -> None:
        super().__init__()
        k = 1 if linear else 3
        self.conv1, self.bn1 = nn.Conv2d(c, c, k, padding=k // 2, bias=False), bn(c, linear)
        self.conv2, self.bn2 = nn.Conv2d(c, c, k, padding=k // 2, bias=False), bn(c, linear)
        self.act = act(linear)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.act(self.bn1(self.conv1(x)))))
        return self.act(out + x)


class ResNetish(nn.Module):
    def __init__(self, linear: bool = True) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 1, bias=False)
        self.basic = BasicBlock(4, linear)
        self.bottle = Bottleneck(4, 2, 6, linear)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(6, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.bottle(self.basic(self.stem(x)))), 1))


def test_resnet_basic_and_bottleneck_blocks_are_exact():
    torch.manual_seed(0)
    G = check_exact(ResNetish(), torch.randn(1, 3, 4, 4), fold_batchnorm=True)
    # groups: the stem (read by basic.conv1 and the shortcut), basic.conv1, the basic add
    # (basic.conv2 merges into it), bottle.conv1, bottle.conv2, the bottleneck add (conv3 and
    # the projection shortcut merge into it), fc
    assert G.layer_names == (
        "input",
        "stem",
        "basic.conv1",
        "basic.conv2",
        "bottle.conv1",
        "bottle.conv2",
        "bottle.conv3",
        "fc",
    )
    # weight blocks: stem, basic.conv1, basic.conv2, bottle.conv1..3, down, fc = 8; one identity
    # (the basic block's shortcut: the stem's group is read by conv1 too)
    edges = 3 * 4 + 4 * 4 + 4 * 4 + 4 + 4 * 2 + 2 * 2 + 2 * 6 + 4 * 6 + 6 * 5
    assert counts(G) == (8, 8, 1, edges)


# ---- DenseNet -----------------------------------------------------------------------------------
class DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int, linear: bool) -> None:
        super().__init__()
        self.norm, self.act = bn(cin, linear), act(linear)
        self.conv = nn.Conv2d(cin, growth, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.conv(self.act(self.norm(x)))], 1)


class DenseNetish(nn.Module):
    def __init__(self, linear: bool = True) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 1, bias=False)
        self.d1, self.d2 = DenseLayer(4, 2, linear), DenseLayer(6, 2, linear)
        self.fc = nn.Linear(8, 3, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.d2(self.d1(self.stem(x))).mean(dim=(2, 3)))


def test_densenet_concatenation_is_exact():
    torch.manual_seed(1)
    m = DenseNetish()
    x = torch.randn(1, 3, 3, 3)
    G = nd.load(m, example_input=x, conv_reduce="sum")  # BatchNorm before a conv: not foldable
    # the convs are fresh: they merge into the concatenations (columns 4:6 and 6:8)
    assert G.layer_names == ("input", "stem", "cat", "cat_1", "fc")
    # identity blocks: stem -> cat (4), cat -> cat_1 (6)
    edges = 3 * 4 + 4 * 2 + 4 + 6 * 2 + 6 + 8 * 3
    assert counts(G) == (5, 4, 2, edges)
    with torch.no_grad():  # the BatchNorms made the identity: the path sums are the model
        for mod in (m.d1.norm, m.d2.norm):
            mod.running_mean.zero_(), mod.running_var.fill_(1 - mod.eps)
            mod.weight.fill_(1), mod.bias.zero_()
    check_exact(m, x)


# ---- MobileNet / EfficientNet ------------------------------------------------------------------
torch.fx.wrap("stochastic_depth")


def stochastic_depth(x: torch.Tensor, p: float, mode: str, training: bool) -> torch.Tensor:
    """torchvision.ops.stochastic_depth (fx-wrapped there too): the identity in eval mode."""
    if not training or p == 0.0:
        return x
    keep = torch.empty(x.shape[0], 1, 1, 1).bernoulli_(1 - p) / (1 - p)
    return x * keep


class SqueezeExcite(nn.Module):
    def __init__(self, c: int, r: int, linear: bool) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Conv2d(c, r, 1), nn.Conv2d(r, c, 1)
        self.act, self.gate = act(linear, nn.SiLU), act(linear, nn.Sigmoid)
        if linear:  # the gate is one everywhere: the product is the identity
            with torch.no_grad():
                self.fc2.weight.zero_(), self.fc2.bias.fill_(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.gate(self.fc2(self.act(self.fc1(x.mean((2, 3), keepdim=True)))))
        return s * x  # torchvision's order: the scale first


class MBConv(nn.Module):
    """MobileNetV2's inverted residual, with EfficientNet's squeeze-excitation and stochastic
    depth when ``se``."""

    def __init__(self, c: int, expand: int, linear: bool, se: bool) -> None:
        super().__init__()
        h, k = c * expand, 1 if linear else 3
        self.expand, self.bn1 = nn.Conv2d(c, h, 1, bias=False), bn(h, linear)
        self.dw = nn.Conv2d(h, h, k, padding=k // 2, groups=h, bias=False)
        self.bn2 = bn(h, linear)
        self.se = SqueezeExcite(h, 2, linear) if se else nn.Identity()
        self.project, self.bn3 = nn.Conv2d(h, c, 1, bias=False), bn(c, linear)
        self.act, self.sd = act(linear, nn.SiLU), se

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.bn1(self.expand(x)))
        h = self.se(self.act(self.bn2(self.dw(h))))
        h = self.bn3(self.project(h))
        if self.sd:
            h = stochastic_depth(h, 0.2, "row", self.training)
        return h + x


class MobileNetish(nn.Module):
    def __init__(self, se: bool, linear: bool = True) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 1, bias=False)
        self.block = MBConv(4, 3, linear, se)
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block(self.stem(x)).mean((2, 3)))


@pytest.mark.parametrize("se", [False, True])
def test_inverted_residual_and_mbconv_are_exact(se):
    torch.manual_seed(2)
    G = check_exact(MobileNetish(se), torch.randn(1, 3, 3, 3), fold_batchnorm=True)
    h = 12
    names = ["input", "stem", "block.expand", "block.dw"]
    edges = 3 * 4 + 4 * h + h + h * 4 + 4 + 4 * 2  # the depthwise conv: one edge per channel
    if se:
        names += ["block.se.fc1", "block.se.fc2"]
        edges += h * 2 + 2 * h
    names += ["block.project", "head"]
    assert G.layer_names == tuple(names)
    assert counts(G) == (len(names), len(names) - 1, 1, edges)
    if se:
        gate = next(j for j in G.meta["junctions"] if j["kind"] == "gate")
        assert (gate["group"], gate["gated_by"]) == ("block.dw", ["block.se.fc2"])


# ---- ConvNeXt -----------------------------------------------------------------------------------
class DropPath(nn.Module):
    """timm's DropPath: the identity in eval mode."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        return x * x.new_empty(x.shape[0], 1, 1, 1).bernoulli_(1 - self.p) / (1 - self.p)


class ConvNeXtBlock(nn.Module):
    def __init__(self, c: int, linear: bool) -> None:
        super().__init__()
        k = 1 if linear else 7
        self.dwconv = nn.Conv2d(c, c, k, padding=k // 2, groups=c)
        self.norm = nn.Identity() if linear else nn.LayerNorm(c)
        self.pwconv1, self.act = nn.Linear(c, 4 * c), act(linear, nn.GELU)
        self.pwconv2 = nn.Linear(4 * c, c)
        self.gamma = nn.Parameter(torch.rand(c) + 0.5)  # LayerScale
        self.drop_path = DropPath(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.dwconv(x).permute(0, 2, 3, 1)  # channels last
        h = self.pwconv2(self.act(self.pwconv1(self.norm(h))))
        h = (self.gamma * h).permute(0, 3, 1, 2)
        return x + self.drop_path(h)


class ConvNeXtish(nn.Module):
    def __init__(self, linear: bool = True) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 2, stride=2)
        self.block = ConvNeXtBlock(4, linear)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block(self.stem(x)).mean((-2, -1)))


def test_convnext_block_is_exact():
    torch.manual_seed(3)
    m = ConvNeXtish()
    G = check_exact(m, torch.randn(1, 3, 4, 4), fold_batchnorm=True)
    assert G.layer_names == (
        "input",
        "stem",
        "block.dwconv",
        "block.pwconv1",
        "block.pwconv2",
        "head",
    )
    edges = 3 * 4 + 4 + 4 * 16 + 16 * 4 + 4 + 4 * 3
    assert counts(G) == (6, 5, 1, edges)
    # not folded: LayerScale keeps the group and says so
    plan = nd.inspect(ConvNeXtish(linear=False), example_input=torch.randn(1, 3, 8, 8))
    assert plan.refusal is None, plan.refusal
    gamma = next(t for t in plan.tensors if t.name == "block.gamma")
    assert gamma.role == "normalisation" and "LayerScale" in gamma.reason


# ---- ViT ----------------------------------------------------------------------------------------
class ViTish(nn.Module):
    def __init__(self, linear: bool = True, cls: bool = True, d: int = 8, p: int = 2) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, d, p, stride=p)
        self.cls = nn.Parameter(torch.zeros(1, 1, d)) if cls else None
        # linear: no position embedding, so a constant image makes every token equal
        self.pos = nn.Parameter(torch.randn(1, 4 + int(cls), d) * (0.0 if linear else 0.1))
        self.ln1 = nn.Identity() if linear else nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, 2, batch_first=True)
        self.ln2 = nn.Identity() if linear else nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), act(linear, nn.GELU), nn.Linear(2 * d, d))
        self.head = nn.Linear(d, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2)  # (B, tokens, d)
        if self.cls is not None:
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.pos
        h = self.ln1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        x = x + self.mlp(self.ln2(x))
        return self.head(x[:, 0] if self.cls is not None else x.mean(1))


def test_vit_encoder_is_exact():
    torch.manual_seed(4)
    # tokens all equal (a constant input, no class token): attention's mixing is the identity,
    # so the path sums are the model's Jacobian
    G = check_exact(ViTish(cls=False), torch.randn(1, 3, 4, 4))
    d = 8
    assert G.layer_names == (
        "input",
        "patch",
        "attn.q",
        "attn.k",
        "attn.v",
        "attn.mix",
        "attn.out_proj",
        "mlp.0",
        "mlp.2",
        "head",
    )
    # weights: patch, q, k, v, out_proj, mlp.0, mlp.2, head; identity: V -> mix, and the two
    # residual reads of the patch group and of the first add
    edges = 3 * d + 3 * d * d + d + d * d + d * 2 * d + 2 * d * d + d * 3 + 2 * d
    assert counts(G)[:3] == (10, 8, 3)
    assert G.n_edges == edges


def test_vit_class_token_is_a_token_not_a_unit():
    torch.manual_seed(5)
    m = ViTish(linear=False)
    G = nd.load(m, example_input=torch.randn(1, 3, 4, 4))
    assert G.layer_sizes[:2] == (3, 8)  # the class token did not add a unit
    assert G.layer_names[-1] == "head" and G.layer_sizes[-1] == 3


# ---- permute before the flatten: CREPE, ONet ------------------------------------------------
class Crepeish(nn.Module):
    """torchcrepe's layout: (B, samples) -> x[:, None, :, None] -> convs over time ->
    permute(0, 2, 1, 3) -> reshape(B, -1) -> Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 3, (1, 1))
        self.conv2 = nn.Conv2d(3, 4, (1, 1))
        self.classifier = nn.Linear(4 * 5, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2(self.conv1(x[:, None, :, None]))
        return self.classifier(x.permute(0, 2, 1, 3).reshape(-1, 4 * 5))


class ONetish(nn.Module):
    """MTCNN's ONet: conv -> permute(0, 3, 2, 1) -> flatten -> Linear (NWHC order)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.dense = nn.Linear(4 * 2 * 3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x).permute(0, 3, 2, 1).contiguous()
        return self.dense(x.view(x.shape[0], -1))


def truth_block(W: np.ndarray, order: tuple[int, ...], shape: tuple[int, ...]) -> np.ndarray:
    """The (channels, out) block summing the Linear weights of each channel, written from the
    model's own flatten: ``W``'s features laid out as the permuted ``shape``; ``order`` is
    where the channel axis went."""
    C = shape[0]
    Wr = W.reshape(W.shape[0], *[shape[a] for a in order])
    ch = order.index(0)
    return np.moveaxis(Wr, 1 + ch, 1).reshape(W.shape[0], C, -1).sum(axis=2).T


@pytest.fixture(params=["fx", "recorder"])
def front_end(request, monkeypatch):
    """Both front ends: torch.fx, and the recorder of one forward pass (fx made to fail)."""
    if request.param == "recorder":
        from netsci_dl.export import _fx

        def fail(*a, **k):
            raise _fx.TraceFailed("forced by the test")

        monkeypatch.setattr(_fx, "trace_fx", fail)
    return request.param


@pytest.mark.parametrize(
    ("make", "x", "order", "shape", "block"),
    [
        (Crepeish, torch.randn(1, 5), (1, 0, 2), (4, 5, 1), "classifier"),
        (ONetish, torch.randn(1, 3, 3, 2), (2, 1, 0), (4, 3, 2), "dense"),
    ],
)
def test_permute_before_flatten_from_the_class_is_the_truth(
    make, x, order, shape, block, front_end
):
    torch.manual_seed(6)
    m = make()
    G = nd.load(m, example_input=x, conv_reduce="sum")
    assert ("fx" in G.meta["traced"]) == (front_end == "fx")
    b = G.layer_names.index(block) - 1
    W = getattr(m, block).weight.detach().double().numpy()
    np.testing.assert_allclose(G.dense_block(b), truth_block(W, order, shape), rtol=1e-5)
    chw = W.reshape(W.shape[0], shape[0], -1).sum(axis=2).T  # torch's order: the wrong one
    assert not np.allclose(G.dense_block(b), chw, rtol=1e-3)
    if make is ONetish:
        check_exact(m, x)
    else:  # CREPE's input is samples: the group of the input is its one channel
        assert G.layer_sizes[0] == 1


def test_permute_before_flatten_from_a_bare_state_dict_refuses_or_assumes(tmp_path):
    torch.manual_seed(7)
    m = ONetish()
    sd = m.state_dict()
    with pytest.raises(InputError, match="flatten_order"):
        nd.load(sd)
    plan = nd.inspect(sd)
    assert plan.refusal is not None and "--flatten-order" in plan.refusal
    # stated: the block is the truth
    G = nd.load(sd, flatten_order="hwc", conv_reduce="sum")
    W = m.dense.weight.detach().double().numpy()
    np.testing.assert_allclose(G.dense_block(1), truth_block(W, (2, 1, 0), (4, 3, 2)), rtol=1e-5)
    assert "assumptions" not in G.meta
    # assumed: exported in torch's order, and the block is marked as assumed
    G = nd.load(sd, flatten_order="assume-chw")
    (a,) = G.meta["assumptions"]
    assert a["block"] == "dense" and "flatten_order" in a["how_to_state"]
    assert "assumptions" in nd.inspect(sd, flatten_order="assume-chw").summary()
    for ext in ("graphml", "gexf"):  # the files carry the assumption in their header
        write(G, tmp_path / f"g.{ext}")
        text = (tmp_path / f"g.{ext}").read_text()
        assert "assumptions" in text and "how_to_state" in text


def test_flatten_order_is_not_needed_without_a_flatten():
    sd = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    G = nd.load(sd.state_dict())  # 4 features from 4 channels: nothing is aggregated
    assert G.layer_sizes == (3, 4, 2)
    with pytest.raises(InputError, match="flatten_order"):
        nd.load(sd.state_dict(), flatten_order="cwh")


def test_cli_flatten_order(tmp_path):
    torch.manual_seed(8)
    path = tmp_path / "onet.pt"
    torch.save(ONetish().state_dict(), path)
    r = CliRunner().invoke(cli, ["export", str(path), "-o", str(tmp_path / "g.npz")])
    assert r.exit_code == 2 and "--flatten-order" in r.output
    r = CliRunner().invoke(
        cli, ["export", str(path), "--flatten-order", "hwc", "-o", str(tmp_path / "g.npz")]
    )
    assert r.exit_code == 0, r.output


# ---- refusals that are right -----------------------------------------------------------------
class Refused(nn.Module):
    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.a, self.b = nn.Linear(4, 4), nn.Linear({"select": 2, "batch": 4}.get(how, 8), 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.a(x)
        if self.how == "select":
            h = h[:, :2]
        elif self.how == "cat":
            h = torch.cat([h, h], 1)
        elif self.how == "batch":
            h = h.t()
        elif self.how == "repeat":
            h = h.repeat(1, 2)
        return self.b(h)


@pytest.mark.parametrize(
    ("how", "match"),
    [
        ("select", "selects some of the units"),
        ("batch", "batch"),
        ("repeat", "repeats"),
        ("cat", "with itself"),
    ],
)
def test_refusals_that_are_right_name_the_op(how, match):
    with pytest.raises(InputError, match=match):
        nd.load(Refused(how), example_input=torch.randn(4, 4))


# ---- norms by hand, GLU, SwiGLU, rotary embeddings --------------------------------------------
class Norms(nn.Module):
    """RMSNorm and LayerNorm written by hand (statistics of the units), nn.RMSNorm, nn.GLU and a
    fused SwiGLU (one projection, chunked)."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(6, 8), nn.Linear(8, 8)
        self.w = nn.Parameter(torch.ones(8))
        self.rms = nn.RMSNorm(8)
        self.glu = nn.GLU()
        self.w12, self.c = nn.Linear(4, 6), nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.a(x)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-6) * self.w  # RMSNorm
        h = self.b(h)
        mu = h.mean(-1, keepdim=True)
        h = (h - mu) / torch.sqrt(h.var(-1, keepdim=True) + 1e-5)  # LayerNorm
        h = self.glu(self.rms(h))
        u, g = self.w12(h).chunk(2, dim=-1)
        return self.c(torch.nn.functional.silu(u) * g)


def test_norms_by_hand_glu_and_swiglu(front_end):
    G = nd.load(Norms(), example_input=torch.randn(2, 6))
    named = [G.layer_names[j] for j in (0, 1, 2, 4, 6)]  # glu and mul: named by the front end
    assert named == ["input", "a", "b", "w12", "c"]
    assert G.layer_sizes == (6, 8, 8, 4, 6, 3, 2)
    # identity blocks: b -> glu (units 0:4), w12 -> mul (units 0:3): one edge per kept unit
    ident = [G.blocks[b] for b, k in enumerate(G.block_kinds) if k == "identity"]
    assert [(m.shape, m.nnz) for m in ident] == [((8, 4), 4), ((6, 3), 3)]
    gates = [j["gated_by"] for j in G.meta["junctions"] if j["kind"] == "gate"]
    assert gates == [["b[4:8]"], ["w12[3:6]"]]


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


class Rotary(nn.Module):
    """Rotary embeddings on the whole projection, or per head (Llama: view, transpose, then
    ``rotate_half`` on the last axis of each head)."""

    def __init__(self, d: int = 8, t: int = 5, wrong: bool = False, heads: int = 1) -> None:
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        ang = torch.arange(t)[:, None] * torch.rand(d // 2 // heads)[None, :]
        self.register_buffer("cos", torch.cat([ang, ang], -1).cos())
        self.register_buffer("sin", torch.cat([ang, ang], -1).sin())
        self.wrong, self.h = wrong, heads

    def split(self, t: torch.Tensor) -> torch.Tensor:
        B, T, D = t.shape
        return t.view(B, T, self.h, D // self.h).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
        if self.wrong:  # the rotated units read on their own by a layer: refused
            return self.o(rotate_half(self.q(x)))
        q = q * self.cos + rotate_half(q) * self.sin
        k = k * self.cos + rotate_half(k) * self.sin
        y = torch.nn.functional.scaled_dot_product_attention(q, k, v)
        return self.o(y.transpose(1, 2).reshape(x.shape))


@pytest.mark.parametrize("heads", [1, 2])
def test_rotary_embedding_keeps_the_groups(front_end, heads):
    G = nd.load(Rotary(heads=heads), example_input=torch.randn(1, 5, 8))
    assert G.layer_names == ("input", "q", "k", "v", "v.mix", "o")
    rotary = [j["group"] for j in G.meta["junctions"] if j["kind"] == "rotary"]
    assert rotary == ["q", "k"]
    with pytest.raises(InputError, match="rotated"):
        nd.load(Rotary(wrong=True), example_input=torch.randn(1, 5, 8))


def test_vit_like_torchvision_reshape_permute():
    """torchvision's ViT: reshape(n, d, h*w).permute(0, 2, 1), then the class token."""

    class TV(ViTish):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.patch(x)
            x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
            h = self.ln1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return self.head((x + self.mlp(self.ln2(x)))[:, 0])

    a = nd.load(TV(linear=False), example_input=torch.randn(1, 3, 4, 4))
    b = nd.load(ViTish(linear=False), example_input=torch.randn(1, 3, 4, 4))
    assert a.layer_names == b.layer_names and a.layer_sizes == b.layer_sizes


# ---- fused QKV projections: timm's ViT, GPT-2's split ---------------------------------------
class FusedAttention(nn.Module):
    """One projection for Q, K and V, taken apart three ways: timm's reshape -> permute(2, 0, 3,
    1, 4) -> unbind(0), older timm's qkv[0], qkv[1], qkv[2], GPT-2's split(d, dim=2)."""

    def __init__(self, how: str, d: int = 8, h: int = 2) -> None:
        super().__init__()
        self.how, self.h = how, h
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, C = x.shape
        if self.how == "split":
            q, k, v = (
                t.view(B, N, self.h, C // self.h).transpose(1, 2)
                for t in self.qkv(x).split(C, dim=2)
            )
        else:
            qkv = self.qkv(x).reshape(B, N, 3, self.h, C // self.h).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0) if self.how == "unbind" else (qkv[0], qkv[1], qkv[2])
        y = torch.nn.functional.scaled_dot_product_attention(q, k, v)
        return self.proj(y.transpose(1, 2).reshape(B, N, C))


@pytest.mark.parametrize("how", ["unbind", "index", "split"])
def test_fused_qkv_attention_is_exact(how, front_end):
    torch.manual_seed(9)
    m = FusedAttention(how).double()
    G = nd.load(m, example_input=torch.randn(1, 5, 8, dtype=torch.float64))
    assert G.layer_names == ("input", "qkv", "qkv.mix", "proj")
    assert G.layer_sizes == (8, 24, 8, 8)
    (ident,) = [b for b, k in enumerate(G.block_kinds) if k == "identity"]
    assert G.blocks[ident].nnz == 8 and G.dense_block(ident)[16:].trace() == 8  # V: units 16:24
    # every token equal: attention's mixing is the identity, the path sums are the Jacobian
    M = path_sum(G)[G.n_layers - 1]
    base = m(torch.zeros(1, 5, 8, dtype=torch.float64))[0, 0]
    J = np.stack(
        [
            (m(torch.eye(8, dtype=torch.float64)[c].expand(1, 5, 8))[0, 0] - base).detach().numpy()
            for c in range(8)
        ]
    )
    np.testing.assert_allclose(M, J, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("make", [ConvNeXtish, ONetish])
def test_a_permute_without_the_shapes_is_refused_not_guessed(make):
    """torch.fx without an example input knows no shapes: a permute of a feature map cannot be
    followed, so it is refused with the way out."""
    with pytest.raises(InputError, match="example_input"):
        nd.load(make())
