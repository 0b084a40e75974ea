"""Tests that kill mutants which survived the suite (issue 29, item 5): one section per mutant,
a comment naming the mutation each test kills."""

from __future__ import annotations

import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")
from click.testing import CliRunner  # noqa: E402

import netsci_dl as nd  # noqa: E402
from netsci_dl.cli import cli  # noqa: E402
from netsci_dl.errors import InputError  # noqa: E402

# ---- mutants: deleting the refusal of an index that selects some units, of an op that moves the
# batch axis, and of cat(h, h) along the unit axis (export/_dataflow_junctions.py,
# _dataflow_shapes.py). Each model really does the refused op in its forward pass; the "loop"
# variant has data-dependent control flow, so torch.fx cannot trace it and the recorder runs.
MODELS = textwrap.dedent(
    """
    import torch
    from torch import nn


    class _Base(nn.Module):
        loop = False

        def __init__(self, n_mid):
            super().__init__()
            self.a, self.b = nn.Linear(4, 6), nn.Linear(n_mid, 2)

        def forward(self, x):
            h = self.a(x)
            if self.loop:
                while h.abs().sum() > 1e6:  # data-dependent: fx cannot trace it
                    h = h / 2
            return self.b(self.refused(h))


    class Select(_Base):
        def __init__(self):
            super().__init__(3)

        def refused(self, h):
            return h[:, :3]


    class Batch(_Base):
        def __init__(self):
            super().__init__(4)

        def refused(self, h):
            return h.permute(1, 0)  # (6, batch): the batch axis among the units


    class CatTwice(_Base):
        def __init__(self):
            super().__init__(12)

        def refused(self, h):
            return torch.cat([h, h], 1)


    class BatchMean(_Base):
        def __init__(self):
            super().__init__(6)

        def refused(self, h):
            return h - h.mean(0, keepdim=True)  # centred over the batch: mixes the samples


    class SelectLoop(Select):
        loop = True


    class BatchLoop(Batch):
        loop = True


    class CatTwiceLoop(CatTwice):
        loop = True


    class BatchMeanLoop(BatchMean):
        loop = True
    """
)

# (class, what the message says about the op)
REFUSED = [
    ("Select", r"selects some of (its|the) units"),
    ("Batch", r"batch"),
    ("BatchMean", r"batch"),
    ("CatTwice", r"with itself|repeats the units"),
]


@pytest.fixture
def refused_models(tmp_path, monkeypatch):
    (tmp_path / "mut_refused.py").write_text(MODELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "mut_refused", raising=False)
    import mut_refused

    return mut_refused


def _check_refusal(msg: str, match: str, module: str) -> None:
    import re

    if not re.search(match, msg):
        raise AssertionError(f"the refusal does not name the op ({match!r}): {msg}")
    if module not in msg:
        raise AssertionError(f"the refusal does not name the module {module!r}: {msg}")


@pytest.mark.parametrize("loop", [False, True], ids=["fx", "recorder"])
@pytest.mark.parametrize(("name", "match"), REFUSED)
def test_refused_op_in_a_forward_pass(refused_models, name, match, loop):
    model = getattr(refused_models, name + ("Loop" if loop else ""))()
    x = torch.randn(4, 4)
    model(x)  # the forward pass runs: the op is really there
    with pytest.raises(InputError) as e:
        nd.load(model, example_input=x)
    _check_refusal(str(e.value), match, "'a'")


@pytest.mark.parametrize(("name", "match"), [REFUSED[0], REFUSED[2], REFUSED[3]])
def test_refused_op_without_shapes(refused_models, name, match):
    """torch.fx without an example input: no shapes, the loose rules of the resolver refuse."""
    with pytest.raises(InputError) as e:
        nd.load(getattr(refused_models, name)())
    _check_refusal(str(e.value), match, "'a'")


@pytest.mark.parametrize(("name", "match"), REFUSED)
def test_refused_op_from_the_cli(refused_models, tmp_path, name, match):
    ckpt = tmp_path / "ckpt.pt"
    torch.save(getattr(refused_models, name)().state_dict(), ckpt)
    args = ["export", str(ckpt), "--model", f"mut_refused:{name}", "--input-shape", "4,4"]
    r = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "g.npz")])
    if r.exit_code != 2:
        raise AssertionError(f"exit {r.exit_code}, not 2: {r.output}")
    _check_refusal(" ".join(r.output.split()), match, "'a'")
