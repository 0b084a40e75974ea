"""A user's own model on the data-path commands: an own CNN class in its own module, three
checkpoints saved like ``epoch_1.pt``, digits data. The command line must give the numbers the
Python API gives on the same models (loaded here by hand, with torch)."""

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
from netsci_dl.datasets import load_dataset

NET_CODE = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, width=4):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, 6, 3)
        self.fc = nn.Linear(6 * 6 * 6, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        return self.fc(torch.flatten(x, 1))
"""

PROBE = 60  # examples of digits: enough for CKA, small for the CPU


@pytest.fixture(scope="module")
def user_run(tmp_path_factory):
    """(the module name, the class, the three checkpoint paths): a few SGD steps between saves."""
    d = tmp_path_factory.mktemp("usernet")
    (d / "usernet_mod.py").write_text(textwrap.dedent(NET_CODE))
    sys.path.insert(0, str(d))
    try:
        import usernet_mod

        torch.manual_seed(0)
        net = usernet_mod.Net(width=5)
        ds = load_dataset("digits")
        X = torch.as_tensor(ds.X[:300]).reshape(-1, 1, 8, 8)
        y = torch.as_tensor(ds.y[:300]).long()
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        paths = []
        for epoch in (1, 2, 3):
            for _ in range(5):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(net(X), y).backward()
                opt.step()
            p = d / f"epoch_{epoch}.pt"
            torch.save(net.state_dict(), p)
            paths.append(str(p))
        yield "usernet_mod:Net", usernet_mod.Net, paths
    finally:
        sys.path.remove(str(d))
        sys.modules.pop("usernet_mod", None)


def _nets(cls, paths):
    """The checkpoints loaded by hand (the oracle's models)."""
    out = []
    for p in paths:
        net = cls(width=5)
        net.load_state_dict(torch.load(p, weights_only=True))
        out.append(net.eval())
    return out


def _invoke(args):
    res = CliRunner().invoke(cli, ["-q", *args])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res


KW = ["--model", "usernet_mod:Net", "--model-kwargs", '{"width": 5}']


def test_similarity_cli_equals_python(user_run, tmp_path):
    spec, cls, paths = user_run
    _invoke(["similarity", *paths, *KW, "--probe-size", str(PROBE), "-o", str(tmp_path / "s")])
    got = pd.read_csv(tmp_path / "s" / "similarity.csv")
    ds = load_dataset("digits").subset(PROBE, seed=0)
    T = nd.runs.training_similarity(_nets(cls, paths), ds.X)
    want = T.to_frame()
    assert sorted(set(got["layer"])) == ["conv1", "conv2", "fc"]
    key = ["step", "layer", "other_layer", "comparison"]
    m = got.merge(want, on=key, suffixes=("_cli", "_py"))
    assert len(m) == len(want) == len(got)
    # same models, same data, same float32 forward: equal up to summation order
    np.testing.assert_allclose(m["value_cli"], m["value_py"], rtol=1e-6, atol=1e-7)
    # the models differ: the first snapshot is not identical to the last
    assert m.loc[m["comparison"] == "reference", "value_cli"].min() < 0.9999


def test_checkpoint_models_from_python_equal_hand_loaded(user_run):
    spec, cls, paths = user_run
    items = nd.runs.checkpoint_models(paths, cls, model_kwargs={"width": 5})
    X = load_dataset("digits").subset(PROBE, seed=0).X
    a = nd.runs.training_similarity(items, X).to_reference
    b = nd.runs.training_similarity(_nets(cls, paths), X).to_reference
    np.testing.assert_allclose(a, b, rtol=1e-6)
    assert [it.label for it in items] == ["epoch_1", "epoch_2", "epoch_3"]


def test_plain_checkpoint_without_model_is_refused_naming_model(user_run):
    _, _, paths = user_run
    with pytest.raises(nd.InputError, match="--model pkg.module:Class"):
        nd.runs.checkpoint_models(paths)


def test_strict_loading_refuses_a_wrong_class(user_run, tmp_path):
    _, _, paths = user_run
    res = CliRunner().invoke(
        cli,
        ["similarity", *paths, "--model", "usernet_mod:Net", "-o", str(tmp_path / "s")],
    )
    assert res.exit_code == 2, res.output
    assert "does not fit Net" in res.output
    assert not (tmp_path / "s" / "similarity.csv").exists()


_ = json  # used by the tests below
