"""The report on DAGs (Issue 23, item 5): every panel is the block it names, the default cut is
per block where block scales differ, 1x1 kernels keep their sign, and sections that do not apply
to a net say so instead of printing numbers."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
import torch.nn as nn

import netsci_dl as nd
import netsci_dl.threshold as th
from netsci_dl.analysis.information.causal_plane import LayerEIOptions
from netsci_dl.plot import _base
from netsci_dl.report import ei as report_ei
from netsci_dl.report import write_report
from tests.test_export_dag import SkipCat, TinyResNet


# ---- helpers ----------------------------------------------------------------------------------
def _report(G: nd.LayeredGraph, folder: Path, **kw) -> tuple[Path, dict[str, list[tuple]]]:
    """Write the report of ``G``; return its folder and, per figure, every panel's
    (title, x label) as drawn."""
    drawn: dict[str, list[tuple[str, str]]] = {}

    def grab(fig, stem) -> None:
        drawn[Path(stem).name] = [(ax.get_title(), ax.get_xlabel()) for ax in fig.axes]
        legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
        drawn[Path(stem).name + ":legend"] = [
            t.get_text() for lg in legends if lg is not None for t in lg.get_texts()
        ]

    _base.SAVE_CHECKS.append(grab)
    try:
        p = write_report(G, folder, **kw)
    finally:
        _base.SAVE_CHECKS.remove(grab)
    return p.parent, drawn


def _title_parts(title: str) -> tuple[str, str]:
    """(the name lines, the statistics line) of a panel title."""
    lines = title.split("\n")
    if len(lines) < 2:
        raise AssertionError(f"panel title {title!r} has no statistics line")
    return " ".join(lines[:-1]), lines[-1]


def _close(printed: str, expected: float, what: str) -> None:
    """``printed`` (3-4 significant digits) is ``expected`` (NaN prints as nan)."""
    got = float(printed)
    if math.isnan(expected):
        if not math.isnan(got):
            raise AssertionError(f"{what}: printed {printed}, blocks.csv has NaN")
        return
    if not math.isclose(got, expected, rel_tol=6e-3, abs_tol=6e-3):
        raise AssertionError(f"{what}: printed {printed}, blocks.csv has {expected}")


def _check_panels(G: nd.LayeredGraph, folder: Path, drawn: dict[str, list[tuple]]) -> None:
    """Every weight and k_nn panel carries the name, value name and statistics of its row of
    ``blocks.csv``; no identity block is drawn as a weight block."""
    blocks = pd.read_csv(folder / "blocks.csv", index_col=0).drop(index="all")
    weight_names = [n for n, k in zip(G.block_names, G.block_kinds) if k != "identity"]
    if list(blocks.index) != weight_names:
        raise AssertionError(f"blocks.csv rows {list(blocks.index)} != {weight_names}")
    wb = [b for b, k in enumerate(G.block_kinds) if k != "identity"]
    for b, (name, row) in zip(wb, blocks.iterrows()):  # the table is the graph's blocks
        blk = G.blocks[b]
        vals = blk.data if sp.issparse(blk) else np.asarray(blk).ravel()  # the stored edges
        _close(f"{vals.astype(np.float64).mean():.4g}", row["mean"], f"{name} in G")
    panels = drawn["weights"]
    if len(panels) != len(blocks):
        raise AssertionError(f"{len(panels)} weight panels for {len(blocks)} blocks")
    for (title, xlabel), (name, row) in zip(panels, blocks.iterrows()):
        head, stats = _title_parts(title)
        if head != name:
            raise AssertionError(f"weight panel titled {head!r} draws block {name!r}")
        m = re.match(r"mean (\S+), skew (\S+)", stats)
        if m is None:
            raise AssertionError(f"panel {name}: statistics {stats!r}")
        _close(m.group(1), row["mean"], f"{name} mean")
        _close(m.group(2), row["skewness"], f"{name} skewness")
        if not xlabel.replace("\n", " ").startswith(row["value"]):
            raise AssertionError(f"panel {name}: x axis {xlabel!r}, the block holds {row['value']}")
    knn = drawn["knn"]
    if len(knn) != len(blocks) + 1 or not knn[0][0].startswith("whole graph"):
        raise AssertionError(f"knn panels {[t for t, _ in knn]}")
    for (title, _), (name, row) in zip(knn[1:], blocks.iterrows()):
        head, stats = _title_parts(title)
        if head != f"block {name}":
            raise AssertionError(f"knn panel titled {head!r} draws block {name!r}")
        _close(re.match(r"r = (\S+),", stats).group(1), row["r_degree"], f"{name} r")


def _cheap_causal_plane(monkeypatch) -> None:
    monkeypatch.setattr(
        report_ei, "_CP", LayerEIOptions(n_samples=500, sensitivity_samples=20, device="cpu")
    )


@pytest.fixture(scope="module")
def resnet_report(tmp_path_factory):
    """A ResNet-like net (conv stem, a basic block with an identity shortcut, one with a 1x1
    projection, pooling, fc) exported as a channel graph, and its report (default threshold)."""
    torch.manual_seed(0)
    m = TinyResNet().eval()
    G = nd.load(m, example_input=torch.randn(1, 3, 8, 8))
    if G.block_kinds.count("identity") != 1:
        raise AssertionError(f"expected one identity shortcut: {G.block_kinds}")
    folder, drawn = _report(G, tmp_path_factory.mktemp("res") / "report")
    return G, folder, drawn


# ---- every panel is its block -----------------------------------------------------------------
def test_resnet_panels_are_the_blocks_they_name(resnet_report):
    G, folder, drawn = resnet_report
    _check_panels(G, folder, drawn)
    blocks = pd.read_csv(folder / "blocks.csv", index_col=0)
    if blocks.loc["layer2.conv2->fc", "value"] != "signed weight":
        raise AssertionError("the fc holds signed weights")
    if blocks.loc["layer1.conv1->layer1.conv2", "value"] != "kernel l2 norm":
        raise AssertionError("a 3x3 convolution after the skip holds kernel l2 norms")


def test_skip_mlp_panels_are_the_blocks_they_name(tmp_path, monkeypatch):
    _cheap_causal_plane(monkeypatch)
    torch.manual_seed(1)
    G = nd.load(SkipCat().eval())
    if "identity" not in G.block_kinds:
        raise AssertionError(f"SkipCat exports a skip: {G.block_kinds}")
    folder, drawn = _report(G, tmp_path / "r")
    _check_panels(G, folder, drawn)
    page = (folder / "index.html").read_text()
    ident = [n for n, k in zip(G.block_names, G.block_kinds) if k == "identity"]
    weight_names = [n for n, k in zip(G.block_names, G.block_kinds) if k != "identity"]
    for name in ident:  # a skip is listed as identity, never drawn as a block of weights
        heads = [_title_parts(t)[0] for t, _ in drawn["weights"]]
        if heads.count(name) != weight_names.count(name):
            raise AssertionError(f"identity block {name} drawn as a weight panel: {heads}")
    if "identity" not in page:
        raise AssertionError("the overview lists the identity block")


# ---- 1x1 kernels keep their sign ----------------------------------------------------------------
@pytest.mark.parametrize("groups", [1, 2])
def test_one_by_one_convolution_is_its_signed_weight(groups):
    torch.manual_seed(2)
    m = nn.Sequential(nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 4, 1, groups=groups))
    G = nd.load(m.eval(), example_input=torch.randn(1, 4, 5, 5))
    W = m[2].weight.detach().numpy()[:, :, 0, 0]  # (out, in / groups)
    blk = G.dense_block(1).astype(np.float64)
    per = 6 // groups
    for o in range(4):
        g = o // (4 // groups)
        np.testing.assert_allclose(blk[g * per : (g + 1) * per, o], W[o], rtol=1e-6)
    if not (blk < 0).any():
        raise AssertionError("the signed 1x1 block lost its negative weights")
    if th.block_value_kinds(G)[1] != "signed weight":
        raise AssertionError(th.block_value_kinds(G))
    if nd.plot.block_value_names(G) != ("kernel l2 norm", "signed weight"):
        raise AssertionError(nd.plot.block_value_names(G))


def test_resnet_projection_shortcut_is_signed(resnet_report):
    G, folder, _ = resnet_report
    blocks = pd.read_csv(folder / "blocks.csv", index_col=0)
    row = blocks.loc["layer1.conv2->layer2.conv2"]  # the 1x1 downsample
    if row["value"] != "signed weight" or not row["frac_negative"] > 0:
        raise AssertionError(f"the 1x1 projection: {row['value']}, {row['frac_negative']}")


# ---- the default cut --------------------------------------------------------------------------
def _two_scales(ratio: float) -> nd.LayeredGraph:
    rng = np.random.default_rng(3)
    a = rng.normal(0, 1.0, (20, 20)).astype(np.float32)
    b = rng.normal(0, 1.0 / ratio, (20, 20)).astype(np.float32)
    return nd.LayeredGraph((20, 20, 20), (a, b))


def test_auto_cuts_per_block_when_scales_differ():
    rule, why = th.explain_default_rule(_two_scales(100.0))
    if rule != "quantile-block:0.95" or "differ" not in why or "10" not in why:
        raise AssertionError((rule, why))
    rule, why = th.explain_default_rule(_two_scales(3.0))
    if rule != "quantile:0.95" or "one scale" not in why:
        raise AssertionError((rule, why))
    H = th.apply_spec(_two_scales(100.0), "auto")
    if min(H.block_n_edges) == 0:
        raise AssertionError(f"auto left a block empty: {H.block_n_edges}")


def test_report_tables_each_blocks_kept_fraction(tmp_path, monkeypatch):
    _cheap_causal_plane(monkeypatch)
    G = _two_scales(100.0)
    folder, _ = _report(G, tmp_path / "r")
    s = json.loads((folder / "summary.json").read_text())
    if s["threshold_rule"] != "quantile-block:0.95" or s["threshold_scale_factor"] != 10.0:
        raise AssertionError((s["threshold_rule"], s["threshold_scale_factor"]))
    rows = s["threshold_blocks"]
    if [r["block"] for r in rows] != list(G.block_names):
        raise AssertionError(rows)
    for r in rows:
        if not 0.03 <= r["kept fraction"] <= 0.07:
            raise AssertionError(f"per-block 0.95 cut keeps about 5%: {r}")
    page = (folder / "index.html").read_text()
    if "Threshold per block" not in page or "kept fraction" not in page:
        raise AssertionError("the page has no per-block threshold table")
    if "warnings" in re.sub(r"<style>.*?</style>", "", page, flags=re.S).split("<main>")[1][:40]:
        raise AssertionError("no block is empty: no warning box expected")


def test_an_empty_block_is_warned_in_the_box(tmp_path, monkeypatch):
    _cheap_causal_plane(monkeypatch)
    G = _two_scales(100.0)
    with pytest.warns(UserWarning, match="keeps 0 of 400 edges"):
        folder, _ = _report(G, tmp_path / "r", threshold="quantile:0.95")
    page = (folder / "index.html").read_text()
    box = re.search(r"<div class='warnings'.*?</div>", page, flags=re.S)
    if box is None or "keeps 0 of 400 edges" not in box.group(0):
        raise AssertionError("the warning box does not name the empty block")
    s = json.loads((folder / "summary.json").read_text())
    if "differ" not in s["threshold_reason"]:
        raise AssertionError(f"an asked global cut on unequal scales: {s['threshold_reason']}")


# ---- sections that do not apply say so --------------------------------------------------------
def test_resnet_report_prints_no_meaningless_number(resnet_report):
    G, folder, drawn = resnet_report
    page = (folder / "index.html").read_text()
    s = json.loads((folder / "summary.json").read_text())
    # the causal plane of a channel graph
    if (folder / "causal_plane.csv").exists() or "Causal plane not computed" not in page:
        raise AssertionError("the causal plane of a channel graph was computed")
    if s["sections"]["Effective information"]["causal_plane"] != "not applicable: channel graph":
        raise AssertionError(s["sections"]["Effective information"])
    # power-law fits on a 32-node tail
    if "No distribution fit shown" not in page or "Vuong tests" in page:
        raise AssertionError("fits of a tail under 50 values are shown")
    if any("power law" in t for t in drawn["degree_ccdf:legend"]):
        raise AssertionError("the CCDF draws a power law through a short tail")
    # pooled moments of kernel norms and signed weights
    if "pooled moments mean nothing" not in page:
        raise AssertionError("the overview prints the mean of norms and weights together")
    if "s_up adds values of different kinds" not in page:
        raise AssertionError("layer1.conv2's strength mixes l2 norms and signed weights unsaid")


def test_comparison_of_channel_graphs_leaves_pooled_weights_out(tmp_path):
    torch.manual_seed(4)
    x = torch.randn(1, 3, 8, 8)
    G, G0 = (nd.load(TinyResNet().eval(), example_input=x) for _ in range(2))
    folder, _ = _report(G, tmp_path / "r", compare=G0)
    s = json.loads((folder / "summary.json").read_text())
    shown = s["sections"]["Comparison"]
    if any(k.startswith("weights.all.") for k in shown) or "r" not in shown:
        raise AssertionError(f"comparison headline of a channel graph: {sorted(shown)}")
    page = (folder / "index.html").read_text()
    section = page.split('id="comparison"')[1].split("</section>")[0]
    if "pooled weights.all shifts are left out" not in section:
        raise AssertionError("the comparison does not say why the pooled shifts are missing")
    if "<th>weights.all.mean</th>" in section.split("<details>")[0]:
        raise AssertionError("the headline table shows the pooled mean shift")
