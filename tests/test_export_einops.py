"""einops' rearrange through both front ends of the DAG export (issue 23): ``einops.rearrange``
and the ``einops.layers.torch.Rearrange`` layer move, split and merge axes like permute and
reshape, so the unit axis is followed through them.

Replicas: a ConvNeXt block whose channels-last moves are written with einops, and ViT patch
embeddings written with einops (vit-pytorch's ``b c (h p1) (w p2) -> b (h w) (p1 p2 c)``, and a
convolution's map into tokens ``b c h w -> b (h w) c``). Made linear, the graph's path sums equal
the model's Jacobian (the linear oracle of tests/test_export_families.py); the counts of groups,
blocks and edges equal a count written here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn as nn
from click.testing import CliRunner

import netsci_dl as nd
from netsci_dl.cli import cli
from netsci_dl.errors import InputError
from tests.test_export_families import check_exact, counts

einops = pytest.importorskip("einops")
from einops.layers.torch import Rearrange  # noqa: E402

from netsci_dl.export._einops import rearrange_steps  # noqa: E402


def act(linear: bool) -> nn.Module:
    return nn.Identity() if linear else nn.GELU()


class EinopsConvNeXt(nn.Module):
    """A ConvNeXt block (depthwise conv, channels-last Linear pair, LayerScale, residual) whose
    moves to and from channels-last are einops calls (``layers``: Rearrange layers)."""

    def __init__(self, linear: bool = True, layers: bool = False) -> None:
        super().__init__()
        c, k = 4, 1 if linear else 3
        self.stem = nn.Conv2d(3, c, 2, stride=2)
        self.dwconv = nn.Conv2d(c, c, k, padding=k // 2, groups=c)
        self.to_last = Rearrange("b c h w -> b h w c") if layers else None
        self.to_first = Rearrange("b h w c -> b c h w") if layers else None
        self.norm = nn.Identity() if linear else nn.LayerNorm(c)
        self.pwconv1, self.act, self.pwconv2 = nn.Linear(c, 4 * c), act(linear), nn.Linear(4 * c, c)
        self.gamma = nn.Parameter(torch.rand(c) + 0.5)
        self.head = nn.Linear(c, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        h = self.dwconv(x)
        h = (
            self.to_last(h)
            if self.to_last is not None
            else einops.rearrange(h, "b c h w -> b h w c")
        )
        h = self.gamma * self.pwconv2(self.act(self.pwconv1(self.norm(h))))
        h = (
            self.to_first(h)
            if self.to_first is not None
            else einops.rearrange(h, "b h w c -> b c h w")
        )
        return self.head((x + h).mean((-2, -1)))


class EinopsViT(nn.Module):
    """vit-pytorch's patch embedding: pixels of each p x p patch (all channels) into one token,
    a Linear over them, then an MLP with a residual over the tokens and a mean-pooled head."""

    def __init__(self, linear: bool = True, layers: bool = False, p: int = 2, d: int = 6) -> None:
        super().__init__()
        self.p = p
        pattern = "b c (h p1) (w p2) -> b (h w) (p1 p2 c)"
        self.to_tokens = Rearrange(pattern, p1=p, p2=p) if layers else None
        self.patch = nn.Linear(p * p * 3, d)
        self.ln = nn.Identity() if linear else nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), act(linear), nn.Linear(2 * d, d))
        self.head = nn.Linear(d, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.to_tokens is not None:
            t = self.to_tokens(x)
        else:
            t = einops.rearrange(x, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=self.p, p2=self.p)
        t = self.patch(t)
        t = t + self.mlp(self.ln(t))
        return self.head(t.mean(1))


class EinopsConvTokens(nn.Module):
    """A convolutional patch embedding into tokens (``b c h w -> b (h w) c``), a Linear over the
    channels of each token, a mean over tokens."""

    def __init__(self, linear: bool = True, layers: bool = False) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 5, 2, stride=2)
        self.to_tokens = Rearrange("b c h w -> b (h w) c") if layers else None
        self.fc = nn.Sequential(nn.Linear(5, 4), act(linear))
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.patch(x)
        y = (
            self.to_tokens(y)
            if self.to_tokens is not None
            else einops.rearrange(y, "b c h w -> b (h w) c")
        )
        return self.head(self.fc(y).mean(1))


@pytest.fixture(params=["fx", "recorder"])
def front_end(request, monkeypatch):
    """Both front ends: torch.fx (einops' calls traced whole), and the recorder of one forward
    pass (fx made to fail; einops' own permute and reshape calls are recorded)."""
    if request.param == "recorder":
        from netsci_dl.export import _fx

        def fail(*a, **k):
            raise _fx.TraceFailed("forced by the test")

        monkeypatch.setattr(_fx, "trace_fx", fail)
    return request.param


# (class, input shape, layer names, (groups, weight blocks, identity blocks, edges))
C, D = 4, 6
CASES = [
    (
        EinopsConvNeXt,
        (1, 3, 4, 4),
        ("input", "stem", "dwconv", "pwconv1", "pwconv2", "head"),
        # stem 3x4, dwconv 4 (diagonal), pwconv1 4x16, pwconv2 16x4, head 4x3; the residual
        # stem -> head's input is an identity block of 4 edges (into the add's group pwconv2)
        (6, 5, 1, 3 * C + C + C * 16 + 16 * C + C * 3 + C),
    ),
    (
        EinopsViT,
        (1, 3, 4, 4),
        ("input", "patch", "mlp.0", "mlp.2", "head"),
        # patch: 3 channels x 6 (the 4 pixels of a patch aggregated per channel), mlp 6x12,
        # 12x6, head 6x3, and the residual patch -> mlp.2 (6 identity edges)
        (5, 4, 1, 3 * D + D * 2 * D + 2 * D * D + D * 3 + D),
    ),
    (
        EinopsConvTokens,
        (1, 3, 4, 4),
        ("input", "patch", "fc.0", "head"),
        (4, 3, 0, 3 * 5 + 5 * 4 + 4 * 2),
    ),
]


@pytest.mark.parametrize("layers", [False, True], ids=["rearrange", "Rearrange"])
@pytest.mark.parametrize(
    ("make", "shape", "names", "count"), CASES, ids=lambda c: getattr(c, "__name__", None)
)
def test_einops_replicas_are_exact(make, shape, names, count, layers, front_end):
    torch.manual_seed(11)
    m = make(layers=layers)
    G = check_exact(m, torch.randn(*shape), fold_batchnorm=True)
    assert ("fx" in G.meta["traced"]) == (front_end == "fx"), G.meta["traced"]
    assert G.layer_names == names
    assert counts(G) == count


def test_patch_embedding_is_aggregated_per_channel_in_einops_order():
    """The patch Linear reads (p1 p2 c): channel c's features are every 3rd, from c on; the
    block is their sum, not torch's channel-major flatten."""
    torch.manual_seed(12)
    m = EinopsViT(layers=True)
    G = nd.load(m, example_input=torch.randn(1, 3, 4, 4), conv_reduce="sum")
    W = m.patch.weight.detach().double().numpy()  # (d, p*p*3)
    truth = np.stack([W[:, c::3].sum(axis=1) for c in range(3)])
    np.testing.assert_allclose(G.dense_block(0), truth, rtol=1e-6)
    wrong = W.reshape(W.shape[0], 3, -1).sum(axis=2).T
    assert not np.allclose(truth, wrong, rtol=1e-3)


@pytest.mark.parametrize("layers", [False, True], ids=["rearrange", "Rearrange"])
@pytest.mark.parametrize("name", ["EinopsConvNeXt", "EinopsViT", "EinopsConvTokens"])
def test_einops_replicas_export_from_the_cli(tmp_path, name, layers):
    torch.manual_seed(0)
    kwargs = {"linear": False, "layers": layers}
    cls = globals()[name]
    ckpt = tmp_path / "ckpt.pt"
    torch.save(cls(**kwargs).state_dict(), ckpt)
    out = tmp_path / "g.npz"
    args = ["export", str(ckpt), "--model", f"tests.test_export_einops:{name}"]
    args += ["--model-kwargs", json.dumps(kwargs), "--input-shape", "1,3,4,4"]
    r = CliRunner().invoke(cli, [*args, "--threshold", "none", "-o", str(out)])
    assert r.exit_code == 0, r.output
    G = nd.load(out)
    want = nd.load(str(ckpt), model=cls(**kwargs), example_input=torch.randn(1, 3, 4, 4))
    assert G.layer_names == want.layer_names and G.layer_sizes == want.layer_sizes
    assert G.block_kinds == want.block_kinds and G.n_edges == want.n_edges
    for a, b in zip(G.blocks, want.blocks):
        a = a.toarray() if hasattr(a, "toarray") else a
        np.testing.assert_array_equal(a, b.toarray() if hasattr(b, "toarray") else b)


def test_without_the_shapes_einops_asks_for_an_example_input():
    with pytest.raises(InputError, match=r"rearrange .*example_input"):
        nd.load(EinopsConvTokens(layers=True))


@pytest.mark.parametrize("front", ["fx", "recorder"])
def test_with_an_example_input_no_message_asks_for_one(front, monkeypatch):
    """A rearrangement that moves the batch among the units is refused, and the message names
    the op without asking for the example input it was given."""

    class BatchMove(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.fc = nn.Conv2d(3, 2, 1), nn.Linear(2, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(einops.rearrange(self.conv(x), "b c h w -> h w b c"))

    if front == "recorder":
        from netsci_dl.export import _fx

        def fail(*a, **k):
            raise _fx.TraceFailed("forced by the test")

        monkeypatch.setattr(_fx, "trace_fx", fail)
    with pytest.raises(InputError, match="batch") as e:
        nd.load(BatchMove(), example_input=torch.randn(1, 3, 2, 2))
    assert "example_input" not in str(e.value), str(e.value)
    assert ("rearrange" in str(e.value)) == (front == "fx"), str(e.value)


@pytest.mark.parametrize(
    ("pattern", "shape", "lengths", "want"),
    [
        ("b c h w -> b h w c", (2, 3, 4, 5), {}, [("permute", (0, 2, 3, 1))]),
        ("b (h d) -> b h d", (1, 6), {"h": 2}, [("reshape", (1, 2, 3))]),
        ("b c h w -> b (c h w)", (1, 3, 4, 5), {}, [("reshape", (1, 60))]),
        ("b c h w -> b c h w", (1, 3, 4, 5), {}, []),
        ("b c 1 w -> b w c", (1, 3, 1, 5), {}, [("reshape", (1, 3, 5)), ("permute", (0, 2, 1))]),
        (
            "b ... c -> b c (...)",
            (1, 2, 3, 4),
            {},
            [("permute", (0, 3, 1, 2)), ("reshape", (1, 4, 6))],
        ),
    ],
)
def test_rearrange_steps_equal_einops(pattern, shape, lengths, want):
    """The steps read from the pattern, applied with torch, give einops' own result."""
    steps = rearrange_steps(pattern, shape, lengths)
    assert steps == want
    x = torch.randn(*shape)
    y = x
    for kind, arg in steps:
        y = y.permute(*arg) if kind == "permute" else y.reshape(*arg)
    torch.testing.assert_close(y, einops.rearrange(x, pattern, **lengths), rtol=0, atol=0)


@pytest.mark.parametrize(
    ("pattern", "shape", "match"),
    [
        ("b c -> b c r", (1, 6), "differ"),  # a repeat
        ("b c h -> b c", (1, 6, 2), "differ"),  # a reduction
        ("b (c d) -> b c d", (1, 6), "not given"),
        ("b (c d) -> b c d", (1, 7), "does not split"),
        ("b c h w", (1, 6, 2, 2), "pattern"),
    ],
)
def test_rearrange_steps_refuse_what_is_not_a_rearrangement(pattern, shape, match):
    with pytest.raises(ValueError, match=match):
        rearrange_steps(pattern, shape, {"d": 2} if "7" in str(shape) else {})
