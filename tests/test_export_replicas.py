"""Faithful replicas of the public models issue 23 was measured on, written here layer for layer
(no downloads): torchcrepe's "tiny" pitch tracker (``x[:, None, :, None]``, six conv blocks,
``permute(0, 2, 1, 3)`` before the flatten), MTCNN's PNet (two 1x1 conv heads) and ONet
(``permute(0, 3, 2, 1)``, an NWHC flatten, into ``dense5``), and a ResNet-18 (torchvision's
layout). For each (issue 23, item 3):

- from the class, the conv -> linear block equals the truth written from the model's own
  flatten order (and differs from torch's NCHW order, so the check can fail);
- from the bare state_dict, the export refuses or marks the block as assumed;
- the counts of groups, weight blocks, identity blocks and edges equal a count written from the
  architecture;
- the default (``auto``) cut leaves no weight block without edges;
- the report's weight and k_nn panels are the rows of blocks.csv they name.

``scripts/measure_issue23.py`` prints the same measurements as a table.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import netsci_dl as nd
import netsci_dl.threshold as th
from netsci_dl.errors import InputError


# ---- torchcrepe "tiny" --------------------------------------------------------------------------
class CrepeTiny(nn.Module):
    """torchcrepe.Crepe("tiny"): 1024 samples -> 6 x (pad, conv, relu, batch norm, max pool over
    time) -> permute(0, 2, 1, 3) -> reshape(-1, 256) -> Linear(256, 360) -> sigmoid."""

    def __init__(self) -> None:
        super().__init__()
        ins, outs = [1, 128, 16, 16, 16, 32], [128, 16, 16, 16, 32, 64]
        self.in_features = 256
        kernels, strides = [(512, 1)] + 5 * [(64, 1)], [(4, 1)] + 5 * [(1, 1)]
        bn = functools.partial(nn.BatchNorm2d, eps=0.0010000000474974513, momentum=0.0)
        for j in range(6):
            setattr(self, f"conv{j + 1}", nn.Conv2d(ins[j], outs[j], kernels[j], strides[j]))
            setattr(self, f"conv{j + 1}_BN", bn(outs[j]))
        self.classifier = nn.Linear(self.in_features, 360)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, None, :, None]
        x = self.layer(x, self.conv1, self.conv1_BN, (0, 0, 254, 254))
        for j in range(2, 7):
            x = self.layer(x, getattr(self, f"conv{j}"), getattr(self, f"conv{j}_BN"))
        x = x.permute(0, 2, 1, 3).reshape(-1, self.in_features)
        return torch.sigmoid(self.classifier(x))

    @staticmethod
    def layer(x, conv, batch_norm, padding=(0, 0, 31, 32)) -> torch.Tensor:
        x = F.relu(conv(F.pad(x, padding)))
        return F.max_pool2d(batch_norm(x), (2, 1), (2, 1))


# ---- MTCNN (facenet-pytorch) ------------------------------------------------------------------
class PNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1, self.softmax4_1 = nn.Conv2d(32, 2, 1), nn.Softmax(dim=1)
        self.conv4_2 = nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return self.conv4_2(x), self.softmax4_1(self.conv4_1(x))


class ONet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1, self.softmax6_1 = nn.Linear(256, 2), nn.Softmax(dim=1)
        self.dense6_2, self.dense6_3 = nn.Linear(256, 4), nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = x.permute(0, 3, 2, 1).contiguous()
        x = self.prelu5(self.dense5(x.view(x.shape[0], -1)))
        return self.dense6_2(x), self.dense6_3(x), self.softmax6_1(self.dense6_1(x))


# ---- ResNet-18 (torchvision's layout) ---------------------------------------------------------
class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1, self.relu = nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet18(nn.Module):
    WIDTHS = (64, 128, 256, 512)

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1, self.relu = nn.BatchNorm2d(64), nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for j, w in enumerate(self.WIDTHS):
            stride = 1 if j == 0 else 2
            setattr(
                self,
                f"layer{j + 1}",
                nn.Sequential(BasicBlock(cin, w, stride), BasicBlock(w, w, 1)),
            )
            cin = w
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# ---- independent counts ---------------------------------------------------------------------
def independent_counts(m: nn.Module, flat: dict[str, int] | None = None) -> tuple[int, ...]:
    """(groups, weight blocks, identity blocks, edges) written from the modules: every Conv or
    Linear is a weight block of in x out channel edges (depthwise: none here; a Linear named in
    ``flat`` reads a flattened feature map of that many channels); a residual add
    takes the group of its conv branch (a downsample conv writes into that group too), and an
    identity shortcut adds one identity block of C edges; the input is one group."""
    flat = flat or {}
    named = [(n, x) for n, x in m.named_modules() if isinstance(x, (nn.Conv2d, nn.Linear))]
    weight = len(named)
    edges = sum(
        x.in_channels * x.out_channels
        if isinstance(x, nn.Conv2d)
        else flat.get(n, x.in_features) * x.out_features
        for n, x in named
    )
    downs = [b for b in m.modules() if isinstance(b, BasicBlock) and b.downsample is not None]
    idents = [b for b in m.modules() if isinstance(b, BasicBlock) and b.downsample is None]
    edges += sum(b.conv2.out_channels for b in idents)
    groups = (
        1 + weight - sum(len([x for x in b.downsample if isinstance(x, nn.Conv2d)]) for b in downs)
    )
    return groups, weight, len(idents), edges


def counts(G: nd.LayeredGraph) -> tuple[int, int, int, int]:
    return (G.n_layers, G.block_kinds.count("weight"), G.block_kinds.count("identity"), G.n_edges)


def truth_block(W: np.ndarray, order: tuple[int, ...], shape: tuple[int, ...]) -> np.ndarray:
    """The (channels, out) sum of the Linear weights of each channel, ``W``'s features laid out
    as ``shape`` (channels first) permuted by ``order`` (where the model puts each axis)."""
    Wr = W.reshape(W.shape[0], *[shape[a] for a in order])
    return np.moveaxis(Wr, 1 + order.index(0), 1).reshape(W.shape[0], shape[0], -1).sum(axis=2).T


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a.ravel())), np.argsort(np.argsort(b.ravel()))
    return float(np.corrcoef(ra, rb)[0, 1])


# (model, example input, the linear read after the flatten, (axes order, channel-first shape))
FLATTEN_CASES = {
    "crepe_tiny": (CrepeTiny, (1, 1024), "classifier", ((1, 0, 2), (64, 4, 1))),
    "onet": (ONet, (1, 3, 48, 48), "dense5", ((2, 1, 0), (128, 3, 3))),
}


def flatten_measure(name: str) -> dict[str, float]:
    """From the class: the conv -> linear block against the truth (``max_abs_error``), and the
    Spearman correlation of torch's NCHW aggregation with the truth (what a guess would get)."""
    make, shape, linear, (order, fshape) = FLATTEN_CASES[name]
    torch.manual_seed(0)
    m = make().eval()
    G = nd.load(m, example_input=torch.randn(*shape), conv_reduce="sum")
    b = G.block_names.index(next(n for n in G.block_names if n.endswith(f"->{linear}")))
    W = getattr(m, linear).weight.detach().double().numpy()
    truth = truth_block(W, order, fshape)
    nchw = W.reshape(W.shape[0], fshape[0], -1).sum(axis=2).T
    return {
        "max_abs_error": float(np.abs(G.dense_block(b) - truth).max()),
        "spearman_nchw_vs_truth": _spearman(np.abs(nchw), np.abs(truth)),
        "block": G.block_names[b],
        "graph": G,
    }


@pytest.mark.parametrize("name", sorted(FLATTEN_CASES))
def test_conv_to_linear_block_from_the_class_is_the_truth(name):
    got = flatten_measure(name)
    assert got["max_abs_error"] < 1e-5, got  # float32 sums of 4-9 weights
    assert got["spearman_nchw_vs_truth"] < 0.9, got  # the wrong order is measurably wrong


#: the chain of each model a bare state_dict can be read as (ONet's three heads are refused)
CHAINS = {
    "crepe_tiny": None,
    "onet": ["conv1", "conv2", "conv3", "conv4", "dense5", "dense6_1"],
}


@pytest.mark.parametrize("name", sorted(FLATTEN_CASES))
def test_conv_to_linear_from_a_bare_state_dict_refuses_or_assumes(name):
    make, _, linear, (order, fshape) = FLATTEN_CASES[name]
    torch.manual_seed(0)
    m = make()
    sd, chain = m.state_dict(), CHAINS[name]
    with pytest.raises(InputError, match="flatten_order"):
        nd.load(sd, layers=chain)
    G = nd.load(sd, layers=chain, flatten_order="assume-chw")
    (a,) = G.meta["assumptions"]
    assert a["block"] == linear and "not checked" in a["assumption"], a
    # channels last (the channel the minor index, whatever the order of the space axes): stated
    # by the user, the block is the truth
    G = nd.load(sd, layers=chain, flatten_order="hwc", conv_reduce="sum")
    b = G.layer_names.index(linear) - 1
    W = getattr(m, linear).weight.detach().double().numpy()
    np.testing.assert_allclose(G.dense_block(b), truth_block(W, order, fshape), rtol=1e-5)
    if chain is not None:  # the whole state_dict: the heads on one trunk are refused too
        with pytest.raises(InputError, match="heads"):
            nd.load(sd)


@pytest.mark.parametrize(
    ("make", "shape", "flat", "want"),
    [
        # crepe: input + 6 convs + classifier; 1x128 + 128x16 + 3x16x16 + 16x32 + 32x64 + 64x360
        (
            CrepeTiny,
            (1, 1024),
            {"classifier": 64},
            (8, 7, 0, 128 + 128 * 16 + 2 * 256 + 16 * 32 + 32 * 64 + 64 * 360),
        ),
        # PNet: input + 5 convs (two 1x1 heads on conv3)
        (PNet, (1, 3, 12, 12), {}, (6, 5, 0, 3 * 10 + 10 * 16 + 16 * 32 + 32 * 2 + 32 * 4)),
        # ONet: input + 4 convs + dense5 + three heads
        (
            ONet,
            (1, 3, 48, 48),
            {"dense5": 128},
            (9, 8, 0, 3 * 32 + 32 * 64 + 64 * 64 + 64 * 128 + 128 * 256 + 256 * 16),
        ),
    ],
    ids=["crepe_tiny", "pnet", "onet"],
)
def test_counts_equal_the_architecture(make, shape, flat, want):
    torch.manual_seed(0)
    m = make().eval()
    G = nd.load(m, example_input=torch.randn(*shape))
    assert counts(G) == want == independent_counts(m, flat)


def test_resnet18_counts_and_fc_block():
    torch.manual_seed(0)
    m = ResNet18().eval()
    G = nd.load(m, example_input=torch.randn(1, 3, 64, 64))
    assert counts(G) == independent_counts(m) == (19, 21, 5, counts(G)[3])
    b = G.block_names.index("layer4.1.conv2->fc")
    np.testing.assert_array_equal(G.dense_block(b), m.fc.weight.detach().numpy().T)
    with pytest.raises(InputError):  # branches: a bare state_dict cannot be ordered
        nd.load(m.state_dict())


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (CrepeTiny, (1, 1024)),
        (PNet, (1, 3, 12, 12)),
        (ONet, (1, 3, 48, 48)),
        (ResNet18, (1, 3, 32, 32)),
    ],
    ids=["crepe_tiny", "pnet", "onet", "resnet18"],
)
def test_default_cut_leaves_no_weight_block_empty(make, shape):
    torch.manual_seed(0)
    G = nd.load(make().eval(), example_input=torch.randn(*shape))
    H = th.apply_spec(G, "auto")
    empty = [
        n
        for n, k, e in zip(G.block_names, G.block_kinds, H.block_n_edges)
        if k == "weight" and e == 0
    ]
    assert not empty, (th.explain_default_rule(G), dict(zip(G.block_names, H.block_n_edges)))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("make", "shape"),
    [(PNet, (1, 3, 12, 12)), (ONet, (1, 3, 48, 48)), (CrepeTiny, (1, 1024))],
    ids=["pnet", "onet", "crepe_tiny"],
)
def test_report_panels_match_blocks_csv(make, shape, tmp_path, monkeypatch):
    from tests.test_report_dag import _cheap_causal_plane, _check_panels, _report

    _cheap_causal_plane(monkeypatch)
    torch.manual_seed(0)
    G = nd.load(make().eval(), example_input=torch.randn(*shape))
    folder, drawn = _report(G, tmp_path / "r")
    _check_panels(G, folder, drawn)
