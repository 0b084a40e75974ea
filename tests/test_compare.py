"""The structural pass and the before/after comparison."""

from __future__ import annotations

import json

import numpy as np
import pytest

import netsci_dl as nd
from netsci_dl.analysis.structure._compare import compare, structural_summary
from netsci_dl.analysis.structure.distributions import degree, strength
from tests.conftest import random_layered


def test_structural_summary_consistent_with_parts():
    G = random_layered((12, 9, 6), seed=0)
    S = structural_summary(G, threshold="quantile:0.7", name="m")
    H = nd.threshold.by_quantile(G, 0.7)
    np.testing.assert_array_equal(S.nodes["k_tot"], degree(H))
    np.testing.assert_allclose(S.nodes["s_up"], strength(G))
    assert S.block_edges_kept == H.block_n_edges
    nodes = S.nodes_frame()
    assert list(nodes.columns[:5]) == ["node", "layer", "layer_name", "index", "k_down"]
    assert len(nodes) == G.n_nodes
    assert list(S.layers_frame().index) == list(G.layer_names)
    assert len(S.blocks_frame()) == 3
    json.dumps(S.to_dict(), allow_nan=True)  # JSON-able
    assert S.threshold == "quantile:0.7" and S.threshold_record["rule"] == "quantile"
    # a thresholded graph may be passed instead of a rule
    S2 = structural_summary(G, threshold=H)
    np.testing.assert_array_equal(S2.nodes["k_tot"], S.nodes["k_tot"])


def test_compare_shift_signs():
    """T18's headline on synthetic data: mean moves negative, skewness grows."""
    rng = np.random.default_rng(1)
    before = nd.from_matrices([rng.normal(0, 0.01, (30, 20)).astype(np.float32)])
    after_w = rng.normal(0, 0.01, (30, 20)) - 0.02 + rng.exponential(0.05, (30, 20))
    after_w -= 0.06
    after = nd.from_matrices([after_w.astype(np.float32)])
    c = compare(before, after, threshold="quantile:0.9")
    sh = c.shifts()
    assert sh["weights.all.mean"][2] < 0
    assert sh["weights.all.skewness"][2] > 0.5
    df = c.to_frame()
    assert list(df.columns) == ["before", "after", "shift"]
    np.testing.assert_allclose(df["shift"], df["after"] - df["before"], equal_nan=True)
    assert c.to_dict()["shifts"]["r"]["before"] == c.before.r


def test_bad_threshold():
    G = random_layered((4, 3), seed=0)
    with pytest.raises(TypeError, match="threshold"):
        structural_summary(G, threshold=0.95)
    with pytest.raises(ValueError, match="bogus"):
        structural_summary(G, threshold="bogus:1")
