"""The report's "Functional modules" section and the modules / communities CLI outputs for Gephi."""

from __future__ import annotations

import functools
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from netsci_dl.report import DEFAULT_SECTIONS, write_report
from netsci_dl.report import modules as report_modules
from netsci_dl.report.modules import default_k, modules_section
from tests.conftest import random_layered


def _dbn(image_shape=(4, 4)):
    G = random_layered((16, 15, 6), seed=3).with_meta(source="dbn.safetensors")
    return G.with_meta(image_shape=list(image_shape)) if image_shape else G


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = tmp_path_factory.mktemp("repmod")
    return write_report(_dbn(), d / "report", threshold="quantile:0.7", sections=[modules_section])


def test_modules_section_in_default_page():
    assert modules_section in DEFAULT_SECTIONS
    assert [default_k(n) for n in (7, 15, 100, 2000)] == [2, 3, 20, 20]


def test_modules_section_report(report):
    d = report.parent
    page = report.read_text()
    assert 'id="functional-modules"' in page and "ARI = " in page and "Skipped" not in page
    s = json.loads((d / "summary.json").read_text())["sections"]["Functional modules"]
    assert s["layer"] == 1 and s["n_units"] == 15 and s["k"] == 3 == s["k_requested"]
    assert s["emd_ground"] == "euclidean" and 0 < s["emd_error_bound"] < 0.01
    assert sum(s["sizes"]) == 15
    df = pd.read_csv(d / "modules.csv")
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    np.testing.assert_allclose(s["ari"], adjusted_rand_score(df["module"], df["community"]))
    np.testing.assert_allclose(
        s["nmi"], normalized_mutual_info_score(df["module"], df["community"])
    )
    assert df.columns.tolist() == ["unit", "node", "module", "community"]
    np.testing.assert_array_equal(df["node"], np.arange(16, 31))
    assert sorted(df["module"].unique()) == [0, 1, 2]
    st = pd.read_csv(d / "module_stats.csv")
    assert st["size"].sum() == 15 and len(st) == 3
    files = json.loads((d / "summary.json").read_text())["files"]
    for f in (
        "modules_dendrogram",
        "modules_members",
        "modules_profiles",
        "modules_agreement",
        "communities_layers",
    ):
        for ext in ("png", "svg"):
            assert f"figures/{f}.{ext}" in files and (d / "figures" / f"{f}.{ext}").is_file()
            assert f"figures/{f}.png" in page


def test_modules_section_options(tmp_path):
    b = functools.partial(modules_section, layer=1, k=4, ground="manhattan")
    p = write_report(_dbn(), tmp_path / "r", threshold="quantile:0.7", sections=[b])
    s = json.loads((p.parent / "summary.json").read_text())["sections"]["Functional modules"]
    assert s["k_requested"] == 4 and s["k_rule"] == "given"
    assert s["emd_ground"] == "manhattan" and s["emd_error_bound"] == 0.0


def _skip_note(path, G, **kw):
    p = write_report(
        G, path, threshold="quantile:0.7", sections=[functools.partial(modules_section, **kw)]
    )
    s = json.loads((p.parent / "summary.json").read_text())["sections"]["Functional modules"]
    assert "Skipped" in p.read_text() and "netsci-dl modules" in p.read_text()
    assert not (p.parent / "modules.csv").exists()
    return s["skipped"]


def test_modules_section_skipped(tmp_path, monkeypatch):
    assert "image shape" in _skip_note(tmp_path / "a", _dbn(image_shape=None))
    assert "input layer" in _skip_note(tmp_path / "b", _dbn(), layer=0)
    assert "too few" in _skip_note(tmp_path / "c", _dbn(), layer=2, k=10)
    monkeypatch.setattr(report_modules, "MODULES_MAX_UNITS", 10)
    assert "15 units (> 10)" in _skip_note(tmp_path / "d", _dbn())
    monkeypatch.setattr(report_modules, "MODULES_MAX_UNITS", 600)
    monkeypatch.setattr(report_modules, "_SAMPLE", 4)
    monkeypatch.setattr(report_modules, "MODULES_MAX_SECONDS", 0.0)
    assert "estimated" in _skip_note(tmp_path / "e", _dbn())


def test_modules_cli_graphml(tmp_path):
    import networkx as nx

    from netsci_dl.cli import cli
    from tests.test_cli_modules import _rbm_ckpt

    ck = _rbm_ckpt(tmp_path / "m.safetensors")
    out = tmp_path / "out"
    r = CliRunner().invoke(
        cli,
        [
            "modules",
            ck,
            "--k",
            "3",
            "--ground",
            "manhattan",
            "--jobs",
            "1",
            "--threshold",
            "quantile:0.8",
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert (out / "module_members.png").is_file() and (out / "module_members.svg").is_file()
    g = nx.read_graphml(out / "graph.graphml")
    mod = np.array([g.nodes[f"n{i}"]["module"] for i in range(g.number_of_nodes())])
    lab = pd.read_csv(out / "labels.csv")["module"].to_numpy()
    assert mod.size == 64 + 12 + 5
    np.testing.assert_array_equal(mod[64:76], lab)
    assert (mod[:64] == -1).all() and (mod[76:] == -1).all()
    out2 = tmp_path / "out2"
    r = CliRunner().invoke(
        cli,
        [
            "modules",
            ck,
            "--k",
            "3",
            "--ground",
            "manhattan",
            "--jobs",
            "1",
            "--no-graphml",
            "--no-plots",
            "-o",
            str(out2),
        ],
    )
    assert r.exit_code == 0, r.output
    assert not (out2 / "graph.graphml").exists() and (out2 / "labels.csv").is_file()


def test_communities_cli_layers_figure(tmp_path):
    from netsci_dl.cli import cli
    from tests.test_cli_modules import _rbm_ckpt

    ck = _rbm_ckpt(tmp_path / "m.safetensors")
    out = tmp_path / "c"
    r = CliRunner().invoke(cli, ["communities", ck, "--threshold", "quantile:0.5", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert (out / "community_layers.png").is_file() and (out / "community_layers.svg").is_file()
    r = CliRunner().invoke(
        cli, ["communities", ck, "--no-plots", "--no-graphml", "-o", str(tmp_path / "c2")]
    )
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "c2" / "community_layers.png").exists()


def test_analyze_cli_modules_options(tmp_path):
    from netsci_dl.cli import cli
    from tests.test_cli_modules import _rbm_ckpt

    ck = _rbm_ckpt(tmp_path / "m.safetensors")
    out = tmp_path / "rep"
    r = CliRunner().invoke(
        cli,
        [
            "analyze",
            ck,
            "--threshold",
            "quantile:0.8",
            "--modules-layer",
            "1",
            "--modules-k",
            "3",
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    s = json.loads((out / "summary.json").read_text())["sections"]["Functional modules"]
    assert s["k"] == 3 and s["k_rule"] == "given" and s["n_units"] == 12
    from sklearn.metrics import adjusted_rand_score

    df = pd.read_csv(out / "modules.csv")
    np.testing.assert_allclose(s["ari"], adjusted_rand_score(df["module"], df["community"]))
