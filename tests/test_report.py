"""The report folder: files, JSON, CSVs, index.html (checked in headless Chromium)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from netsci_dl.report import Section, write_report
from tests.conftest import random_layered

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = tmp_path_factory.mktemp("rep")
    G = random_layered((16, 12, 8), seed=0).with_meta(source="netA.pt")
    G0 = random_layered((16, 12, 8), seed=1).with_meta(source="netA_epoch0.pt")
    return write_report(G, d / "report", compare=G0, threshold="quantile:0.8")


def test_report_files(report):
    d = report.parent
    for f in (
        "index.html",
        "summary.json",
        "layers.csv",
        "blocks.csv",
        "nodes.csv",
        "comparison.csv",
    ):
        assert (d / f).is_file(), f
    for name in ("weights", "strength", "degree_ccdf", "knn", "degree_strength"):
        assert (d / "figures" / f"{name}.png").is_file() and (
            d / "figures" / f"{name}.svg"
        ).is_file()
    assert not [p for p in d.parent.iterdir() if p.name.startswith(".")]  # temp folder gone
    assert not (d / ".figs.json").exists()
    s = json.loads((d / "summary.json").read_text())
    assert s["threshold"] == "quantile:0.8"
    assert "strength" in s["structure"]["conventions"]
    assert "r" in s["structure"]["scalars"] and "weights.all.mean" in s["structure"]["scalars"]
    assert "weights.all.mean" in s["comparison"]["shifts"]
    nodes = pd.read_csv(d / "nodes.csv")
    assert len(nodes) == 36
    for col in (
        "node",
        "layer",
        "layer_name",
        "index",
        "k_down",
        "k_up",
        "k_tot",
        "s_up",
        "s_down",
        "s_tot",
        "knn",
    ):
        assert col in nodes.columns
    assert len(pd.read_csv(d / "layers.csv")) == 3
    html = (d / "index.html").read_text()
    for src in re.findall(r'(?:src|href)="([^"#]+)"', html):
        assert not src.startswith(("/", "http")), src  # relative links only
        assert (d / src).exists(), src


def test_existing_folder_needs_force(report):
    G = random_layered((4, 3), seed=0)
    with pytest.raises(FileExistsError, match="force"):
        write_report(G, report.parent, threshold="quantile:0.5")
    keep = report.parent / "mine.txt"
    keep.write_text("x")
    p = write_report(G, report.parent, threshold="quantile:0.5", force=True)
    assert p.exists() and keep.exists()  # other files are left alone


def test_error_leaves_no_partial_report(tmp_path):
    G = random_layered((4, 3), seed=0)
    with pytest.raises(ValueError, match="nonsense"):
        write_report(G, tmp_path / "r", threshold="nonsense:3")
    assert list(tmp_path.iterdir()) == []


def test_extra_section(tmp_path):
    def my_section(ctx):
        (ctx.folder / "extra.txt").write_text("hello")
        return Section(
            "Effective information",
            "<p id='ei'>EI here</p>",
            files=("extra.txt",),
            summary={"ei": 1.5},
        )

    p = write_report(
        random_layered((5, 4), seed=0),
        tmp_path / "r",
        threshold="quantile:0.5",
        extra_sections=[my_section],
    )
    html = p.read_text()
    assert "<p id='ei'>EI here</p>" in html and 'href="#effective-information"' in html
    s = json.loads((p.parent / "summary.json").read_text())
    assert s["sections"]["Effective information"] == {"ei": 1.5}
    assert (p.parent / "extra.txt").read_text() == "hello"


_PROBE = """<script>
window.addEventListener('load', function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) { if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++; }
  document.title = 'IMAGES ' + ok + '/' + imgs.length;
});
</script>"""


def test_index_html_images_load_in_chromium(report):
    if not Path(CHROMIUM).exists():
        pytest.skip(
            "Debian's chromium is not installed (make setup installs it where apt is usable)"
        )
    d = report.parent
    probe = d / "_probe.html"
    probe.write_text(report.read_text().replace("</body>", _PROBE + "</body>"))
    profile = tempfile.mkdtemp(prefix="chromium-")
    try:
        out = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--allow-file-access-from-files",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=10000",
                "--dump-dom",
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=90,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("chromium did not finish within 90 s")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
        probe.unlink()
    m = re.search(r"<title>IMAGES (\d+)/(\d+)</title>", out.stdout)
    assert m, (out.stdout[-500:], out.stderr[-1000:])
    ok, total = int(m.group(1)), int(m.group(2))
    assert total == report.read_text().count("<img ") and ok == total
