"""Rich club (unweighted, Opsahl's weighted) and DAG motifs against networkx and brute force."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from networkx.algorithms.isomorphism import DiGraphMatcher
from numpy.testing import assert_allclose

from netsci_dl import LayeredGraph, from_matrices
from netsci_dl.analysis import (
    MOTIFS,
    count_motifs,
    motif_counts,
    rich_club,
    rich_club_coefficient,
)
from netsci_dl.errors import InputError
from netsci_dl.threshold import by_quantile


def _thresholded(sizes=(8, 7, 6, 5), q=0.6, seed=0, skip=False):
    rng = np.random.default_rng(seed)
    blocks = [rng.normal(size=(a, b)) for a, b in zip(sizes, sizes[1:])]
    src, dst = list(range(len(blocks))), list(range(1, len(blocks) + 1))
    if skip:
        blocks.append(rng.normal(size=(sizes[0], sizes[2])))
        src.append(0)
        dst.append(2)
    G = LayeredGraph(sizes, tuple(blocks), block_src=tuple(src), block_dst=tuple(dst))
    return by_quantile(G, q)


def _nx(H, directed=False):
    s, d, _ = H.edges()
    X = nx.DiGraph() if directed else nx.Graph()
    X.add_nodes_from(range(H.n_nodes))
    X.add_edges_from(zip(s.tolist(), d.tolist()))
    return X


# ---- rich club -------------------------------------------------------------------------------
@pytest.mark.parametrize(("seed", "skip"), [(0, False), (1, False), (2, True)])
def test_unweighted_rich_club_is_networkx(seed, skip):
    H = _thresholded(seed=seed, skip=skip)
    r, phi = rich_club_coefficient(H)
    ref = nx.rich_club_coefficient(_nx(H), normalized=False)
    assert_allclose(r, sorted(ref))
    assert_allclose(phi, [ref[k] for k in sorted(ref)], rtol=1e-12)


def _opsahl(H, richness):
    s, d, _ = H.edges()
    w = np.abs(H.edge_values("weight").astype(np.float64))
    n = H.n_nodes
    rich = np.zeros(n)
    for a, b, x in zip(s, d, w):
        rich[a] += 1 if richness == "degree" else x
        rich[b] += 1 if richness == "degree" else x
    ranked = np.sort(w)[::-1]
    out = {}
    for r in np.unique(rich):
        club = rich > r
        if club.sum() < 2:
            continue
        inside = club[s] & club[d]
        e = int(inside.sum())
        out[r] = w[inside].sum() / ranked[:e].sum() if e else np.nan
    return out


@pytest.mark.parametrize("richness", ["degree", "strength"])
def test_weighted_rich_club_is_opsahl(richness):
    H = _thresholded(seed=3, skip=True)
    r, phi = rich_club_coefficient(H, weights="abs", richness=richness)
    ref = _opsahl(H, richness)
    assert_allclose(r, sorted(ref), rtol=1e-12)
    assert_allclose(phi, [ref[k] for k in sorted(ref)], rtol=1e-12)


def test_rich_club_refusals():
    G = from_matrices([np.ones((3, 3))])
    with pytest.raises(InputError, match="thresholded"):
        rich_club_coefficient(G)
    with pytest.raises(InputError, match="richness"):
        rich_club_coefficient(_thresholded(), richness="strength")
    with pytest.raises(InputError, match="null"):
        rich_club(_thresholded(), null="erdos")


def test_planted_rich_club_beats_the_rewired_null():
    rng = np.random.default_rng(0)
    n, core = 40, 6
    B = (rng.random((n, n)) < 0.06).astype(float)
    B[:core, :core] = 1.0  # the hubs of both layers all linked to each other
    B[:core, core:] = rng.random((core, n - core)) < 0.05
    B[core:, :core] = rng.random((n - core, core)) < 0.05
    H = LayeredGraph((n, n), (sp.csr_array(B),))
    rc = rich_club(H, n_null=20, seed=1)
    top = (rc.n_club >= 4) & (rc.n_club <= 2 * core)  # clubs of hubs only
    assert top.any()
    assert (rc.normalized[top] > 1.5).all()
    # rewiring keeps every degree: at r = 0 (every non-isolated node) phi cannot change
    assert rc.r[0] == 0
    assert_allclose(rc.null[:, 0], rc.phi[0])
    rep = rich_club(H, null="replica", n_null=5, seed=1)
    assert not np.allclose(rep.null[:, 0], rep.phi[0])
    again = rich_club(H, n_null=20, seed=1)
    assert_allclose(again.null, rc.null)
    df = rc.to_frame()
    assert list(df.columns) == ["r", "n_club", "phi", "null_mean", "null_sd", "normalized"]
    assert rc.to_dict()["params"]["null"] == "rewire" and "RichClub(" in repr(rc)


def test_weighted_null_shuffles_within_blocks():
    # each block has one weight value: shuffling within blocks changes nothing, across would
    a = sp.csr_array(np.where(np.random.default_rng(1).random((10, 10)) < 0.5, 1.0, 0.0))
    H = LayeredGraph((10, 10, 10), (a, 5.0 * a))
    rc = rich_club(H, weights="abs", richness="strength", n_null=4, seed=0)
    assert_allclose(rc.null, np.broadcast_to(rc.phi, rc.null.shape))
    assert_allclose(rc.normalized[np.isfinite(rc.normalized)], 1.0)


# ---- motifs ----------------------------------------------------------------------------------
PATTERNS = {
    "chain": [(0, 1), (1, 2)],
    "fan_in": [(0, 2), (1, 2)],
    "fan_out": [(0, 1), (0, 2)],
    "ffl": [(0, 1), (1, 2), (0, 2)],
    "chain4": [(0, 1), (1, 2), (2, 3)],
    "bi_fan": [(0, 2), (0, 3), (1, 2), (1, 3)],
    "diamond": [(0, 1), (0, 2), (1, 3), (2, 3)],
}


def _brute(X, edges):
    P = nx.DiGraph(edges)
    emb = sum(1 for _ in DiGraphMatcher(X, P).subgraph_monomorphisms_iter())
    aut = sum(1 for _ in DiGraphMatcher(P, P).isomorphisms_iter())
    return emb / aut


@pytest.mark.parametrize(("seed", "skip"), [(0, False), (4, True)])
def test_motif_counts_are_subgraph_counts(seed, skip):
    H = _thresholded((6, 5, 5, 4), q=0.5, seed=seed, skip=skip)
    c = count_motifs(H)
    X = _nx(H, directed=True)
    for name in MOTIFS:
        assert_allclose(c[name], _brute(X, PATTERNS[name]), err_msg=name)
    if skip:
        assert c["ffl"] > 0


def test_motif_nulls_and_z():
    rng = np.random.default_rng(2)
    # bi-fans planted: sources in pairs sharing the same targets
    B = np.zeros((40, 40))
    for i in range(0, 40, 2):
        t = rng.choice(40, 4, replace=False)
        B[i, t] = B[i + 1, t] = 1.0
    H = LayeredGraph((40, 40), (sp.csr_array(B),))
    m = motif_counts(H, null="replica", n_null=30, seed=0)
    assert m.z[MOTIFS.index("bi_fan")] > 3
    r = motif_counts(H, null="rewire", n_null=10, seed=0)
    for name in ("fan_in", "fan_out", "chain"):  # degrees kept: these cannot change
        i = MOTIFS.index(name)
        assert_allclose(r.null[:, i], r.counts[i])
        assert np.isnan(r.z[i])
    again = motif_counts(H, null="rewire", n_null=10, seed=0, n_jobs=2)
    assert_allclose(again.null, r.null)
    assert list(m.to_frame()["motif"]) == list(MOTIFS)
    assert set(m.to_dict()["motifs"]) == set(MOTIFS) and len(repr(m)) <= 300


def test_motifs_need_a_thresholded_graph():
    with pytest.raises(InputError, match="thresholded"):
        count_motifs(from_matrices([np.ones((2, 2))]))


def test_counts_on_a_complete_chain():
    sizes = (3, 4, 5, 2)
    G = LayeredGraph(sizes, tuple(sp.csr_array(np.ones((a, b))) for a, b in zip(sizes, sizes[1:])))
    c = count_motifs(G)
    comb = lambda x: x * (x - 1) / 2  # noqa: E731
    assert c["chain"] == 3 * 4 * 5 + 4 * 5 * 2
    assert c["chain4"] == 3 * 4 * 5 * 2
    assert c["bi_fan"] == sum(comb(a) * comb(b) for a, b in zip(sizes, sizes[1:]))
    assert c["diamond"] == 3 * 5 * comb(4) + 4 * 2 * comb(5)
    assert c["ffl"] == 0
    assert list(itertools.chain(MOTIFS)) == list(c)
