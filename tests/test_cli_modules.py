"""``netsci-dl modules`` and ``netsci-dl communities``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

from netsci_dl.cli import cli


def _rbm_ckpt(path, seed=0):
    """A 2-layer RBM stack on an 8x8 grid whose 12 hidden units look at 3 image regions."""
    from safetensors.numpy import save_file

    from netsci_dl.export.rbm import rbm_state_dict

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:8, 0:8]
    W0 = []
    for cy, cx in [(1.5, 1.5), (1.5, 6.0), (6.0, 3.5)]:
        for _ in range(4):
            oy, ox = rng.normal(0, 0.3, 2)
            W0.append(
                np.exp(-((yy - cy - oy) ** 2 + (xx - cx - ox) ** 2) / 2.0).ravel()
                + 0.02 * rng.random(64)
            )
    W0 = np.ascontiguousarray(np.array(W0, np.float32).T)  # (64, 12); safetensors needs C order
    W1 = rng.normal(size=(12, 5)).astype(np.float32)
    sd = rbm_state_dict(
        [W0, W1],
        [np.zeros(64, np.float32), np.zeros(12, np.float32)],
        [np.zeros(12, np.float32), np.zeros(5, np.float32)],
    )
    save_file(sd, str(path), metadata={"netsci_dl": json.dumps({"image_shape": [8, 8]})})
    return str(path)


def test_modules_cli(tmp_path):
    ck = _rbm_ckpt(tmp_path / "m.safetensors")
    out = tmp_path / "out"
    args = [
        "modules",
        ck,
        "--layer",
        "1",
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
    ]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    from sklearn.metrics import adjusted_rand_score

    lab = pd.read_csv(out / "labels.csv")
    assert adjusted_rand_score(np.repeat(np.arange(3), 4), lab["module"]) == 1.0  # planted groups
    D = np.load(out / "emd.npy")
    assert D.shape == (12, 12)
    np.testing.assert_array_equal(D, D.T)
    st = pd.read_csv(out / "module_stats.csv")
    assert st["size"].tolist() == [4, 4, 4] and (st["emd_within"] < st["emd_between"]).all()
    s = json.loads((out / "summary.json").read_text())
    assert s["modules"]["k"] == 3 and s["emd"]["ground"] == "manhattan"
    for f in ("dendrogram", "module_rfs", "module_profiles"):
        assert (out / f"{f}.png").is_file()
    # existing outputs need --force
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2 and "--force" in r.output
    r = CliRunner().invoke(cli, [*args, "--force", "--no-plots"])
    assert r.exit_code == 0, r.output


def test_modules_cli_bad_input(tmp_path):
    ck = _rbm_ckpt(tmp_path / "m.safetensors")
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["modules", ck, "--layer", "0", "-o", str(out)])
    assert r.exit_code == 2 and "error" in r.output and not out.exists()
    r = CliRunner().invoke(
        cli, ["modules", ck, "--k", "50", "--ground", "manhattan", "--jobs", "1", "-o", str(out)]
    )
    assert r.exit_code == 2 and "k=" in r.output and not out.exists()


def test_communities_cli(tmp_path):
    ck = _rbm_ckpt(tmp_path / "m.safetensors")
    for method, extra in [
        ("leiden", []),
        ("louvain", ["--resolution", "0.8"]),
        ("sbm", ["--keep-layers-apart", "--threshold", "quantile:0.5"]),
    ]:
        out = tmp_path / method
        r = CliRunner().invoke(cli, ["communities", ck, "--method", method, "-o", str(out), *extra])
        assert r.exit_code == 0, r.output
        df = pd.read_csv(out / "communities.csv")
        assert len(df) == 64 + 12 + 5 and {"node", "layer", "index", "community"} <= set(df.columns)
        s = json.loads((out / "summary.json").read_text())
        assert s["method"] == method and s["n_communities"] == df["community"].nunique()
        if method == "sbm":
            assert df.groupby("community")["layer"].nunique().max() == 1
        import networkx as nx

        g = nx.read_graphml(out / "graph.graphml")
        assert sorted({d["community"] for _, d in g.nodes(data=True)}) == sorted(
            df["community"].unique()
        )
    r = CliRunner().invoke(
        cli, ["communities", ck, "--method", "leiden", "--nested", "-o", str(tmp_path / "x")]
    )
    assert r.exit_code == 2 and not (tmp_path / "x").exists()
