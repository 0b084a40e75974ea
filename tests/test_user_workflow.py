"""The user workflow end to end (issue 24's Check): an own CNN class in its own module file
(RGB 3x8x8 input: conv -> relu -> flatten -> linear), three own checkpoints ``epoch_1.pt`` ..
``epoch_3.pt`` (a few SGD steps apart), own RGB data saved as npz (uint8) with per-channel
``--normalize``. Each data-path command runs from the CLI and its numbers (read back from its
CSV/JSON) equal the Python API's on the same inputs; a HF Trainer layout and a Lightning
``.ckpt`` are read as runs by ``analyze``."""

from __future__ import annotations

import json
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

import netsci_dl as nd
from netsci_dl.cli import cli

NET_CODE = """
import torch
from torch import nn


class RGBNet(nn.Module):
    def __init__(self, width=6):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.fc = nn.Linear(width * 8 * 8, 4)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))
"""
MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
NORMALIZE = "0.4,0.5,0.6/0.2,0.25,0.3"
N = 64  # examples: enough for CKA on 4..6 units, small for the CPU
# same models, same data, same float32 forward in the same process: the CLI and Python agree
# up to summation order (float32 sums of a few hundred terms, then float64 statistics)
RTOL, ATOL = 1e-6, 1e-7


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A dict: the module spec, the class, the checkpoint folder and paths, the npz path, the
    data as the model takes them (scaled and normalised by hand: the oracle) and labels."""
    d = tmp_path_factory.mktemp("workflow")
    (d / "wf_net.py").write_text(textwrap.dedent(NET_CODE))
    sys.path.insert(0, str(d))
    try:
        import wf_net

        rng = np.random.default_rng(0)
        X8 = rng.integers(0, 256, size=(N, 3, 8, 8), dtype=np.uint8)
        y = (X8[:, 0].mean(axis=(1, 2)) > 127).astype(np.int64) + 2 * (
            X8[:, 2].mean(axis=(1, 2)) > 127
        )
        np.savez(d / "rgb.npz", X=X8, y=y)
        Xn = (X8 / np.float32(255) - np.reshape(MEAN, (1, 3, 1, 1))) / np.reshape(STD, (1, 3, 1, 1))
        Xn = Xn.astype(np.float32)
        torch.manual_seed(0)
        net = wf_net.RGBNet()
        opt = torch.optim.SGD(net.parameters(), lr=0.05)
        ck = d / "checkpoints"
        ck.mkdir()
        for epoch in (1, 2, 3):
            for _ in range(4):
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(
                    net(torch.as_tensor(Xn)), torch.as_tensor(y)
                )
                loss.backward()
                opt.step()
            torch.save(net.state_dict(), ck / f"epoch_{epoch}.pt")
        yield {
            "spec": "wf_net:RGBNet",
            "cls": wf_net.RGBNet,
            "folder": ck,
            "paths": [ck / f"epoch_{e}.pt" for e in (1, 2, 3)],
            "npz": d / "rgb.npz",
            "X": Xn,
            "y": y,
        }
    finally:
        sys.path.remove(str(d))
        sys.modules.pop("wf_net", None)


def _invoke(args):
    res = CliRunner().invoke(cli, ["-q", *map(str, args)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res


def _data(user):
    return ["--data", f"npz:{user['npz']}", "--normalize", NORMALIZE]


def _model(user):
    return ["--model", user["spec"], "--input-shape", "1,3,8,8"]


def test_the_data_spec_scales_and_normalises_per_channel(user):
    ds = nd.datasets.load(f"npz:{user['npz']}", normalize=(MEAN, STD))
    assert ds.image_shape == (3, 8, 8)
    # float32 rounding of (x / 255 - m) / s
    np.testing.assert_allclose(ds.X.reshape(N, 3, 8, 8), user["X"], rtol=1e-6, atol=1e-6)


def test_a_folder_of_checkpoints_is_a_run_with_epochs_from_the_names(user):
    items = nd.runs.checkpoint_models(user["folder"], user["cls"])
    assert [(it.label, it.step, it.unit, it.epoch) for it in items] == [
        (f"epoch_{e}", e, "epoch", e) for e in (1, 2, 3)
    ]
    # an explicit list in another order keeps that order, and says it is an index
    rev = nd.runs.checkpoint_models(user["paths"][::-1], user["cls"])
    assert [(it.label, it.step, it.unit) for it in rev] == [
        ("epoch_3", 0, "index"),
        ("epoch_2", 1, "index"),
        ("epoch_1", 2, "index"),
    ]


def test_similarity_cli_on_the_folder_equals_python(user, tmp_path):
    out = tmp_path / "sim"
    _invoke(["similarity", user["folder"], *_model(user), *_data(user), "--probe-size", N,
             "-o", out])  # fmt: skip
    got = pd.read_csv(out / "similarity.csv")
    doc = json.loads((out / "similarity.json").read_text())
    ds = nd.datasets.load(f"npz:{user['npz']}", normalize=(MEAN, STD))
    T = nd.runs.training_similarity(nd.runs.checkpoint_models(user["folder"], user["cls"]), ds)
    want = T.to_frame()
    key = ["step", "layer", "other_layer", "comparison"]
    m = got.merge(want, on=key, suffixes=("_cli", "_py"))
    assert len(m) == len(want) == len(got) > 0
    np.testing.assert_allclose(m["value_cli"], m["value_py"], rtol=RTOL, atol=ATOL)
    assert sorted(set(got["step"])) == [1, 2, 3]
    assert doc["settings"]["x_label"] == "epoch"
    # the oracle: the same numbers from the models loaded by hand on the hand-normalised data
    nets = []
    for p in user["paths"]:
        net = user["cls"]()
        net.load_state_dict(torch.load(p, weights_only=True))
        nets.append(net.eval())
    hand = nd.runs.training_similarity(nets, user["X"]).to_reference
    np.testing.assert_allclose(T.to_reference, hand, rtol=1e-5, atol=1e-6)
