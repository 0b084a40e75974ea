"""The README's Python blocks run as written, in order, in one namespace (from the project root's
data, outputs in a temp folder). A prelude gives the names the prose introduces: a small
ResNet-like ``MyResNet`` with a checkpoint ``resnet.pt``, an input batch ``x``, the digits ``X``,
and a short run folder ``runs/digits`` (the README's ``netsci-dl train-dbn ... -o runs/digits``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = """
import torch
from torch import nn
import netsci_dl as nd
from netsci_dl.datasets import load_digits
from netsci_dl.models.dbn import DBN

class MyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 8 * 8, 10)
    def forward(self, x):
        h = torch.relu(self.conv1(x))
        h = torch.relu(h + self.conv2(h))
        return self.fc(h.flatten(1))

torch.manual_seed(0)
model = MyResNet()
torch.save(model.state_dict(), "resnet.pt")
X = load_digits().X
x = torch.as_tensor(X[:4]).reshape(4, 1, 8, 8)
DBN((64, 16, 8), epochs=2, seed=0, image_shape=(8, 8)).fit(X[:200], run_dir="runs/digits")
"""


def python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    """Every Python block of the README run in order; the namespace and the folder."""
    tmp = tmp_path_factory.mktemp("readme")
    code = PRELUDE + "\n".join(python_blocks())
    code = code.replace('"data/', f'"{ROOT}/data/')
    mp = pytest.MonkeyPatch()
    mp.chdir(tmp)
    namespace: dict = {"__name__": "readme"}  # the cluster block runs under __main__ only
    try:
        exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
    finally:
        mp.undo()
    return namespace, tmp


def test_every_block_is_run():
    blocks = python_blocks()
    assert len(blocks) >= 9 and "nd.load(" in blocks[0]
    assert any("nd.emd_matrix(P)" in b for b in blocks)


def test_python_tour_runs(tour):
    ns, tmp = tour
    assert (tmp / "report" / "index.html").exists()
    assert (tmp / "net.graphml").exists()
    assert ns["E"].matrix.shape == (100, 100)
    assert ns["T"].to_frame().shape[0] > 0
    assert len(ns["df"]) > 0 and set(ns["df"]["model"]) == {"net", "replica", "rewire"}
    assert ns["g"].vcount() == ns["H"].n_nodes
    assert ns["G"].layer_sizes == (64, 100, 100, 200)  # block 7's dbn.to_graph()
