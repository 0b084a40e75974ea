"""The report's "Training: the graph at each snapshot" section on its own (small graphs): its
table is :func:`netsci_dl.runs.graph_measures_over_training`'s, its axis says what the steps
count, and snapshots that cannot be compared skip the section, not the report."""

from __future__ import annotations

import json
from functools import partial

import networkx as nx
import numpy as np
import pandas as pd

import netsci_dl as nd
from netsci_dl.report import write_report
from netsci_dl.report.trajectory import graph_trajectory_section


def _graphs(sizes=((8, 6), (8, 6), (8, 6))):
    rng = np.random.default_rng(0)
    return [
        nd.from_matrices([rng.normal(size=s)]).with_meta(source=f"epoch_{i + 1}.npz")
        for i, s in enumerate(sizes)
    ]


def test_the_section_holds_the_python_table_and_an_oracle(tmp_path):
    Gs = _graphs()
    sec = partial(graph_trajectory_section, snapshots=Gs)
    write_report(Gs[-1], tmp_path / "r", sections=[sec], threshold="quantile:0.75")
    doc = json.loads((tmp_path / "r" / "summary.json").read_text())
    s = doc["sections"]["Training: the graph at each snapshot"]
    assert s["n_snapshots"] == 3 and s["x_label"] == "checkpoint index"  # graphs: no names
    got = pd.read_csv(tmp_path / "r" / "training_graph.csv")
    want = nd.runs.graph_measures_over_training(Gs, threshold="quantile:0.75")
    np.testing.assert_allclose(got["value"], want["value"], rtol=1e-12, equal_nan=True)
    # an oracle for one number: the edges the 75% quantile rule keeps, and networkx's
    # assortativity of the thresholded graph seen undirected
    for i, G in enumerate(Gs):
        H = nd.threshold.apply_spec(G, "quantile:0.75")
        src, dst, _ = H.edges()
        row = got[(got["step"] == i) & (got["metric"] == "edges_kept")]
        assert int(row["value"].iloc[0]) == len(src) == 12  # 25% of 48 weights
        g = nx.Graph()
        g.add_nodes_from(range(H.n_nodes))
        g.add_edges_from(zip(src.tolist(), dst.tolist()))
        r = got[(got["step"] == i) & (got["metric"] == "assortativity_r") & (got["layer"] == "all")]
        # the same Newman r, float64 sums in another order
        np.testing.assert_allclose(
            r["value"].iloc[0], nx.degree_assortativity_coefficient(g), rtol=1e-9
        )


def test_snapshots_of_different_shapes_skip_the_section_not_the_report(tmp_path):
    Gs = _graphs(((8, 6), (8, 5)))
    sec = partial(graph_trajectory_section, snapshots=Gs)
    write_report(Gs[-1], tmp_path / "r", sections=[sec])
    doc = json.loads((tmp_path / "r" / "summary.json").read_text())
    reason = doc["sections"]["Training: the graph at each snapshot"]["skipped"]
    assert "layer sizes" in reason and not (tmp_path / "r" / "training_graph.csv").exists()
