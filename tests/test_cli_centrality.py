"""``netsci-dl centrality``, ``clusterability`` and ``motifs``: files, numbers, refusals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner
from numpy.testing import assert_allclose

import netsci_dl as nd
from netsci_dl.analysis import (
    NEURON_MEASURES,
    clusterability,
    motif_counts,
    neuron_measures,
    neuron_types,
)
from netsci_dl.cli import cli
from netsci_dl.threshold import apply_spec


def _ckpt(path, seed=0):
    """A two-layer MLP's weights in an .npz (in, out): no torch needed."""
    rng = np.random.default_rng(seed)
    np.savez(path, W0=rng.normal(size=(12, 10)), W1=rng.normal(size=(10, 6)))
    return str(path)


def test_centrality_writes_the_table_and_types(tmp_path):
    ck, out = _ckpt(tmp_path / "m.npz"), tmp_path / "c"
    args = ["centrality", ck, "-o", str(out), "--types", "3", "--seed", "1"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["centrality.json", "neurons.csv"]
    df = pd.read_csv(out / "neurons.csv")
    m = neuron_measures(nd.load(ck))
    assert list(df.columns) == ["node", "layer", "index", *NEURON_MEASURES, "type"]
    for name in NEURON_MEASURES:
        assert_allclose(df[name], m.values[name], rtol=1e-12)
    assert_allclose(df["type"], neuron_types(m, k=3, seed=1).labels)
    summary = json.loads((out / "centrality.json").read_text())
    assert summary["types"]["params"]["k"] == 3 and summary["params"]["nodes"] == "hidden"
    r = CliRunner().invoke(cli, args)  # exists: refused, exit 2
    assert r.exit_code == 2 and "--force" in r.output
    r = CliRunner().invoke(cli, [*args, "--force", "--neuron-measures", "strength,harmonic"])
    assert r.exit_code == 0, r.output
    assert list(pd.read_csv(out / "neurons.csv").columns)[3:] == ["strength", "harmonic", "type"]
    r = CliRunner().invoke(
        cli, ["centrality", ck, "-o", str(tmp_path / "x"), "--neuron-measures", "pr"]
    )
    assert r.exit_code == 2 and "unknown measures" in r.output
    assert not (tmp_path / "x" / "neurons.csv").exists()


def test_clusterability_command(tmp_path):
    ck, out = _ckpt(tmp_path / "m.npz", 1), tmp_path / "k"
    r = CliRunner().invoke(
        cli, ["clusterability", ck, "-o", str(out), "--clusters", "3", "--n-shuffles", "4"]
    )
    assert r.exit_code == 0, r.output
    want = clusterability(nd.load(ck), k=3, n_shuffles=4)
    df = pd.read_csv(out / "clusters.csv")
    assert_allclose(df["cluster"], want.labels)
    summary = json.loads((out / "clusterability.json").read_text())
    assert_allclose(summary["null"], want.null)
    assert_allclose(summary["ncut"], want.ncut)
    r = CliRunner().invoke(
        cli, ["clusterability", ck, "-o", str(tmp_path / "z"), "--clusters", "99"]
    )
    assert r.exit_code == 2 and "k must be" in r.output


def test_motifs_command(tmp_path):
    ck, out = _ckpt(tmp_path / "m.npz", 2), tmp_path / "m"
    args = ["motifs", ck, "-o", str(out), "--threshold", "quantile:0.7", "--n-null", "5"]
    r = CliRunner().invoke(cli, [*args, "--null", "replica"])
    assert r.exit_code == 0, r.output
    H = apply_spec(nd.load(ck), "quantile:0.7")
    want = motif_counts(H, null="replica", n_null=5)
    got = pd.read_csv(out / "motifs.csv")
    assert_allclose(got["count"], want.counts)
    assert_allclose(got["z"], want.z)
    assert json.loads((out / "motifs.json").read_text())["threshold"] == "quantile:0.7"
    r = CliRunner().invoke(cli, ["motifs", ck, "-o", str(tmp_path / "n"), "--threshold", "none"])
    assert r.exit_code == 2 and "thresholded" in r.output
