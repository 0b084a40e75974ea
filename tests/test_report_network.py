"""The report's network-science sections (neurons, clusterability, rich club and motifs, weight
spectra, pruning percolation): each number equals the analysis function's on the same graph
with the settings the section states, and each section says when it does not apply."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import netsci_dl as nd
from netsci_dl import analysis as A
from netsci_dl.report import write_report
from netsci_dl.report.network import (
    BETWEENNESS_SOURCES,
    N_NULL,
    N_SHUFFLES,
    N_TYPES,
    clusterability_section,
    neurons_section,
    report_clusters,
    rich_club_motifs_section,
)
from netsci_dl.report.pruning import pruning_section, report_fractions
from netsci_dl.report.spectra import spectra_section
from netsci_dl.runs.pruning import pruning_sweep
from tests.conftest import random_layered

SECTIONS = [neurons_section, clusterability_section, rich_club_motifs_section, spectra_section,
            pruning_section]  # fmt: skip
TITLES = ["Neurons: centralities and types", "Clusterability against shuffled weights",
          "Rich club and motifs", "Weight spectra", "Pruning percolation"]  # fmt: skip


def _mlp(seed=0):
    """A random 20-16-12-6 tanh MLP and its graph (blocks = the Linear weights, transposed)."""
    import torch

    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.Tanh(), torch.nn.Linear(16, 12),
                              torch.nn.Tanh(), torch.nn.Linear(12, 6))  # fmt: skip
    mats = [m.weight.detach().numpy().T.copy() for m in net if isinstance(m, torch.nn.Linear)]
    return net, nd.from_matrices(mats)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    net, G = _mlp()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 20)).astype(np.float32)
    y = np.asarray(net(__import__("torch").as_tensor(X)).argmax(1))  # the net's own labels
    folder = tmp_path_factory.mktemp("net") / "r"
    write_report(G, folder, threshold="quantile:0.7", sections=SECTIONS, model=net, data=(X, y))
    summary = json.loads((folder / "summary.json").read_text())["sections"]
    return folder, G, net, X, y, summary


def test_every_section_is_on_the_page(report):
    folder, *_, summary = report
    html = (folder / "index.html").read_text()
    for t in TITLES:
        assert t in html and t in summary and "skipped" not in summary[t], t
    for f in ("neurons_measures.csv", "motifs.csv", "rich_club.csv", "spectra.csv", "pruning.csv",
              "figures/pruning.png", "figures/spectra_alpha.svg", "figures/spectra_esd.png"):  # fmt: skip
        assert (folder / f).is_file(), f


def test_neurons_section_equals_the_analysis(report):
    folder, G, *_, summary = report
    df = pd.read_csv(folder / "neurons_measures.csv")
    m = A.neuron_measures(G)
    for name in A.NEURON_MEASURES:
        assert_allclose(df[name], m.values[name], rtol=1e-9)  # written by pandas: 17 digits
    b = A.betweenness_centrality(G, k=BETWEENNESS_SOURCES, seed=0)
    assert_allclose(df["betweenness"], b.values[m.node], rtol=1e-9)
    assert_allclose(df["betweenness_se"], b.se[m.node], rtol=1e-9, atol=1e-15)
    t = A.neuron_types(m, k=N_TYPES, seed=0)
    assert (df["type"].to_numpy() == t.labels).all()
    s = summary["Neurons: centralities and types"]
    assert s["type_sizes"] == np.bincount(t.labels, minlength=N_TYPES).tolist()
    assert s["betweenness_sources"] == min(BETWEENNESS_SOURCES, G.n_nodes) and s["missing"] == []


def test_clusterability_section_equals_the_analysis(report):
    _, G, *_, summary = report
    s = summary["Clusterability against shuffled weights"]
    k = report_clusters(G)
    assert k == min(12, G.n_nodes // 4)  # every node of a dense net has a weight
    c = A.clusterability(G, k=k, n_shuffles=N_SHUFFLES, seed=0)
    assert_allclose([s["ncut"], s["z"], s["percentile"]], [c.ncut, c.z, c.percentile], rtol=1e-12)
    assert_allclose(s["null_mean"], c.null.mean(), rtol=1e-12)
    assert s["n_shuffles"] == N_SHUFFLES and s["k"] == k


def test_rich_club_and_motifs_equal_the_analysis(report):
    folder, G, *_, summary = report
    H = nd.threshold.apply_spec(G, "quantile:0.7")
    mot = A.motif_counts(H, n_null=N_NULL, seed=0).to_frame()
    rc = A.rich_club(H, n_null=N_NULL, seed=0).to_frame()
    got_m, got_rc = pd.read_csv(folder / "motifs.csv"), pd.read_csv(folder / "rich_club.csv")
    assert list(got_m["motif"]) == list(mot["motif"])
    for col in ("count", "null_mean", "z"):
        assert_allclose(got_m[col], mot[col], rtol=1e-9)  # NaN z (sd 0) equal NaN
        assert_allclose(got_rc["normalized"], rc["normalized"], rtol=1e-9)
    s = summary["Rich club and motifs"]
    assert_allclose(s["rich_club_peak"], np.nanmax(rc["normalized"]), rtol=1e-12)
    assert s["motifs"]["chain4"]["count"] == mot.set_index("motif").loc["chain4", "count"]


def test_spectra_section_equals_the_analysis(report):
    folder, G, *_, summary = report
    S = A.layer_spectra(G, seed=0)
    got = pd.read_csv(folder / "spectra.csv")
    assert list(got["name"]) == list(G.block_names)
    for col in ("alpha", "alpha_stderr", "ks", "stable_rank", "log_spectral_norm"):
        assert_allclose(got[col], S.to_frame()[col], rtol=1e-9)
    assert summary["Weight spectra"]["n_spikes"] == [s.mp.n_spikes for s in S]


def test_pruning_section_equals_the_sweep(report):
    folder, G, net, X, y, summary = report
    r = pruning_sweep(G, net, X, y, report_fractions())
    got = pd.read_csv(folder / "pruning.csv")
    assert_allclose(got["giant"], r.percolation.giant, rtol=1e-12)
    assert_allclose(got["accuracy"], r.accuracy.accuracy, rtol=1e-12)
    s = summary["Pruning percolation"]
    assert s["accuracy"] and s["unpruned_accuracy"] == 1.0  # labels are the net's own outputs
    assert_allclose(s["critical_fraction"], r.critical_fraction, rtol=1e-12)
    assert s["n_examples"] == 300


def test_sections_say_when_they_do_not_apply(tmp_path):
    import torch

    # a channel graph: kernel norms, no learned matrix -> no spectra
    G = random_layered((4, 6, 3), seed=2).with_meta(edge_weight=["l2 norm of each 3x3 kernel"] * 2)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3))  # not this graph's weights
    p = write_report(G, tmp_path / "a", threshold="quantile:0.5",
                     sections=[spectra_section, pruning_section], model=net,
                     data=(np.zeros((5, 4), np.float32), np.zeros(5, int)))  # fmt: skip
    s = json.loads(p.with_name("summary.json").read_text())["sections"]
    assert "kernel norms" in s["Weight spectra"]["skipped"]
    assert s["Pruning percolation"]["accuracy"] is False  # graph alone, the page says why
    assert "nn.Linear" in p.read_text()
    # a graph with a single hidden neuron per layer: no neuron types
    p = write_report(random_layered((3, 2, 3), seed=0), tmp_path / "b", threshold="quantile:0.5",
                     sections=[neurons_section])  # fmt: skip
    s = json.loads(p.with_name("summary.json").read_text())["sections"]
    assert "Does not apply" in s["Neurons: centralities and types"]["skipped"]
