"""Reports of three kinds of net (a CNN, a 6-layer MLP, the digits DBN): every image loads in
headless Chromium and no figure has overlapping text or a legend over the data."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import torch
import torch.nn as nn

import netsci_dl as nd
from netsci_dl.plot import _base
from netsci_dl.plot._layout_check import layout_problems, svg_problem
from netsci_dl.report import write_report

CHROMIUM = "/usr/bin/chromium"
DATA = Path(__file__).resolve().parents[1] / "data"

_PROBE = """<script>
window.addEventListener('load', () => {
  const imgs = Array.from(document.images);
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  document.title = 'IMAGES ' + ok + '/' + imgs.length;
});
</script>"""


def _graphs() -> dict[str, tuple[nd.LayeredGraph, dict]]:
    from netsci_dl.models.classifier import ArchConfig, build_classifier

    torch.manual_seed(0)
    cnn = build_classifier(ArchConfig("lenet", (8, 8), 10), seed=0)
    mlp = nn.Sequential(*[m for i in range(6) for m in (nn.Linear(12, 12), nn.ReLU())][:-1])
    return {
        "cnn": (nd.load(cnn, example_input=torch.zeros(1, 1, 8, 8)), {}),
        "mlp6": (nd.load(mlp), {}),
        "dbn": (
            nd.load(DATA / "dbn_digits.safetensors"),
            {"compare": nd.load(DATA / "dbn_digits_epoch0.safetensors")},
        ),
    }


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    problems: list[str] = []

    def check(fig, stem):
        problems.extend(f"{Path(stem).name}: {p}" for p in layout_problems(fig))
        bad = svg_problem(fig)
        if bad:
            problems.append(f"{Path(stem).name}: SVG {bad}")

    _base.SAVE_CHECKS.append(check)
    try:
        out = {}
        for name, (G, kw) in _graphs().items():
            d = tmp_path_factory.mktemp(name)
            out[name] = write_report(G, d / "report", name=name, **kw)
    finally:
        _base.SAVE_CHECKS.remove(check)
    return out, problems


def test_no_figure_has_overlapping_text(reports):
    _, problems = reports
    assert problems == []


@pytest.mark.parametrize("name", ["cnn", "mlp6", "dbn"])
def test_every_image_loads_in_chromium(reports, name):
    if not Path(CHROMIUM).exists() and not os.environ.get("NETSCI_DL_CI"):
        pytest.skip("Debian's chromium is not installed")
    index = reports[0][name]
    html = index.read_text()
    assert "kernel l2 norm" in html if name == "cnn" else "signed weight" in html
    probe = index.parent / "_probe.html"
    probe.write_text(html.replace("</body>", _PROBE + "</body>"))
    profile = tempfile.mkdtemp(prefix="chromium-")
    try:
        r = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--allow-file-access-from-files", f"--user-data-dir={profile}",
             "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        shutil.rmtree(profile, ignore_errors=True)
        probe.unlink()
    m = re.search(r"<title>IMAGES (\d+)/(\d+)</title>", r.stdout)
    assert m, r.stderr[-800:]
    ok, total = int(m.group(1)), int(m.group(2))
    assert total == html.count("<img ") and total >= 5 and ok == total
