"""Every family replica of tests/test_export_families.py exports from the command line as from
Python: a checkpoint loaded into ``--model pkg.module:Class`` (``--model-kwargs``), traced on
``--input-shape``, gives the same groups, blocks and edges as ``nd.load(ckpt, model=...)``,
whose counts that file checks against independent counts. Models with their nonlinearities
(``linear=False``), as users have them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import netsci_dl as nd
from netsci_dl.cli import cli
from tests import test_export_families as F

FAMILIES = [
    ("ResNetish", {"linear": False}, (1, 3, 4, 4)),
    ("DenseNetish", {"linear": False}, (1, 3, 3, 3)),
    ("MobileNetish", {"se": True, "linear": False}, (1, 3, 3, 3)),
    ("ConvNeXtish", {"linear": False}, (1, 3, 4, 4)),
    ("ViTish", {"linear": False}, (1, 3, 4, 4)),
    ("Crepeish", {}, (1, 5)),
    ("ONetish", {}, (1, 3, 3, 2)),
]


@pytest.mark.parametrize(("name", "kwargs", "shape"), FAMILIES)
def test_each_family_exports_from_the_cli(tmp_path, name, kwargs, shape):
    torch.manual_seed(0)
    cls = getattr(F, name)
    ckpt = tmp_path / "ckpt.pt"
    torch.save(cls(**kwargs).state_dict(), ckpt)
    out = tmp_path / "g.npz"
    args = ["export", str(ckpt), "--model", f"tests.test_export_families:{name}"]
    args += ["--model-kwargs", json.dumps(kwargs), "--input-shape", ",".join(map(str, shape))]
    r = CliRunner().invoke(cli, [*args, "--threshold", "none", "-o", str(out)])
    assert r.exit_code == 0, r.output
    G = nd.load(out)
    want = nd.load(str(ckpt), model=cls(**kwargs), example_input=torch.randn(*shape))
    assert G.layer_sizes == want.layer_sizes and G.layer_names == want.layer_names
    assert G.block_kinds == want.block_kinds and G.n_edges == want.n_edges
    for a, b in zip(G.blocks, want.blocks):
        np.testing.assert_array_equal(  # the same weights, copied exactly from one checkpoint
            a.toarray() if hasattr(a, "toarray") else a, b.toarray() if hasattr(b, "toarray") else b
        )
    info = CliRunner().invoke(cli, ["info", *args[1:]])
    assert info.exit_code == 0, info.output
    head = f"graph: {want.n_nodes} nodes in {want.n_layers} groups, {want.n_edges} edges"
    assert head in info.output, info.output
