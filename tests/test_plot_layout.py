"""Every figure of netsci_dl.plot, at 2, 4, 6 and 9 layers and on a graph that is not a chain:
no two text boxes intersect (matplotlib's own ``get_window_extent`` after ``canvas.draw()``),
no legend covers an axes, panels wrap at 4 per row, axes name their values, and the SVG is
well-formed XML, hostile layer names included.

The structural analysis (``structural_summary``) does not run on DAGs yet, so the non-chain
summary is assembled here from arrays computed directly on the graph's edges.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import scipy.stats as st

from netsci_dl.analysis import EffectiveInformation, StructureSummary, structural_summary
from netsci_dl.analysis.information.causal_plane import LayerEI
from netsci_dl.analysis.structure.assortativity import DegreeStrengthCorrelation, KnnCurve
from netsci_dl.analysis.structure.distributions import WeightDistribution, WeightStats
from netsci_dl.analysis.structure.fits import fit_distributions
from netsci_dl.graph import LayeredGraph
from netsci_dl.plot import ei, structure
from netsci_dl.plot._base import MAX_COLS, pyplot
from netsci_dl.plot._layout_check import layout_problems, svg_problem
from netsci_dl.runs.trajectory import EITrajectory

DEPTHS = (2, 4, 6, 9)
HOSTILE = ("in\x07put", "h1\ufffe", "h2\x1b[31m", 'a<b>&"c"', "$\\alpha$", "x--y\n\tz")


def _names(L: int, hostile: bool) -> tuple[str, ...]:
    if not hostile:
        return tuple(f"layer_{l}" for l in range(L))
    return tuple(HOSTILE[l % len(HOSTILE)] + f"{l}" for l in range(L))


def _chain(L: int, *, seed: int = 0, hostile: bool = False) -> LayeredGraph:
    rng = np.random.default_rng(seed + L)
    sizes = tuple(int(n) for n in rng.integers(6, 16, L))
    blocks = tuple(rng.normal(0, 1, (a, b)).astype(np.float32) for a, b in zip(sizes, sizes[1:]))
    notes = ["l2 of each 3x3 kernel" if b == 0 else "weight" for b in range(L - 1)]
    return LayeredGraph(
        sizes, blocks, layer_names=_names(L, hostile), meta={"edge_weight": notes, "name": "net"}
    )


def _dag(*, hostile: bool = False) -> LayeredGraph:
    """A 7-group DAG: a chain 0-1-2-3-4-6 with two skip connections (one an identity block)
    and a side head 2 -> 5 (group 5 is a sink in the middle of the order)."""
    rng = np.random.default_rng(7)
    sizes = (12, 10, 10, 8, 8, 5, 4)
    src = (0, 1, 2, 3, 4, 1, 0, 2)
    dst = (1, 2, 3, 4, 6, 3, 4, 5)
    kinds = ("weight",) * 5 + ("identity", "weight", "weight")
    blocks = []
    for s, d, k in zip(src, dst, kinds):
        if k == "identity":
            blocks.append(np.eye(sizes[s], sizes[d], dtype=np.float32))
        else:
            blocks.append(rng.normal(0, 1, (sizes[s], sizes[d])).astype(np.float32))
    return LayeredGraph(
        sizes, tuple(blocks), layer_names=_names(7, hostile), block_src=src, block_dst=dst,
        block_kinds=kinds, meta={"edge_weight": ["weight"] * 8},
    )  # fmt: skip


def _wstats(name: str, w: np.ndarray) -> WeightStats:
    counts, edges = np.histogram(w, bins=30)
    return WeightStats(
        name, int(w.size), float(w.mean()), float(w.std()), float(st.skew(w)),
        float(st.kurtosis(w)), float(w.min()), float(w.max()), float(np.mean(w < 0)),
        ((0.5, float(np.median(w))),), tuple(int(c) for c in counts),
        tuple(float(e) for e in edges),
    )  # fmt: skip


def _knn(name: str, src: np.ndarray, dst: np.ndarray, n: int) -> KnnCurve:
    k = np.bincount(src, minlength=n) + np.bincount(dst, minlength=n)
    tot = np.bincount(src, weights=k[dst], minlength=n) + np.bincount(
        dst, weights=k[src], minlength=n
    )
    ks = np.unique(k[k > 0])
    knn = np.array([np.mean(tot[k == v] / v) for v in ks])
    cnt = np.array([np.sum(k == v) for v in ks])
    ref = float(np.sum(k.astype(float) ** 2) / max(k.sum(), 1))
    return KnnCurve(name, ks, knn, cnt, ref)


def _dag_summary(G: LayeredGraph, name: str = "dag net") -> StructureSummary:
    """The summary fields the figures read, computed from the edges of a DAG; per-block fields
    for the weight blocks only, as :func:`structural_summary` has them."""
    src, dst, w = G.edges()
    w = w.astype(np.float64)
    keep = np.abs(w) >= np.quantile(np.abs(w), 0.6)
    n, nl = G.n_nodes, G.node_layer
    ks, kd = src[keep], dst[keep]
    k_up, k_down = np.bincount(ks, minlength=n), np.bincount(kd, minlength=n)
    learned = np.repeat(np.array([k != "identity" for k in G.block_kinds]), G.block_n_edges)
    s_up = np.bincount(src[learned], weights=w[learned], minlength=n)
    s_down = np.bincount(dst[learned], weights=w[learned], minlength=n)
    eb = G.edge_block()
    wb = [b for b, k in enumerate(G.block_kinds) if k != "identity"]
    knn_blocks = [
        _knn(G.block_names[b], src[keep & (eb == b)], dst[keep & (eb == b)], n) for b in wb
    ]
    pear, spear = [], []
    for l in range(G.n_layers):
        m = nl == l
        up = l in G.block_src
        k, s = (k_up if up else k_down)[m], (s_up if up else s_down)[m]
        pear.append(float(st.pearsonr(k, s)[0]) if np.ptp(k) and np.ptp(s) else np.nan)
        spear.append(float(st.spearmanr(k, s)[0]) if np.ptp(k) and np.ptp(s) else np.nan)
    ws = tuple(_wstats(G.block_names[b], w[eb == b]) for b in wb)
    nodes = {"layer": nl, "index": G.node_index, "k_down": k_down, "k_up": k_up,
             "k_tot": k_up + k_down, "s_up": s_up, "s_down": s_down}  # fmt: skip
    return StructureSummary(
        name=name, threshold="quantile:0.6", threshold_record={}, layer_names=G.layer_names,
        layer_sizes=G.layer_sizes, block_names=tuple(G.block_names[b] for b in wb),
        block_edges_kept=tuple(int(np.sum(keep & (eb == b))) for b in wb),
        block_edges_total=tuple(G.block_n_edges[b] for b in wb),
        weights=WeightDistribution(ws, _wstats("all", w)),
        nodes=nodes, r=-0.1, r_blocks=tuple(-0.1 for _ in wb),
        r_strength=0.0, knn=_knn("all", ks, kd, n), knn_blocks=tuple(knn_blocks),
        degree_strength=DegreeStrengthCorrelation(
            G.layer_names, G.layer_sizes, tuple(pear), tuple(spear), "up", "signed"
        ),
        degree_fit=fit_distributions(k_up + k_down),
    )  # fmt: skip


@functools.lru_cache(maxsize=2)
def _summaries(case: str):
    hostile = case.endswith("hostile")
    if case.startswith("dag"):
        G = _dag(hostile=hostile)
        return G, _dag_summary(G), _dag_summary(G, "before")
    L = int(case.split("-")[0])
    G = _chain(L, hostile=hostile)
    R = _chain(L, seed=100, hostile=hostile)
    return (
        G,
        structural_summary(G, threshold="quantile:0.8", name="net"),
        structural_summary(R, threshold="quantile:0.8", name="before"),
    )


_SLOW = pytest.mark.slow  # each case draws five figures (seconds on a loaded machine)
#: the default run covers 9 layers and the DAG with hostile names (7 groups, 8 blocks);
#: --runslow adds chains of 2, 4 and 6 layers and the rest
CASES = [
    *(pytest.param(f"{L}-layers", marks=() if L == 9 else _SLOW) for L in DEPTHS),
    pytest.param("dag", marks=_SLOW),
    "dag-hostile",
    pytest.param("4-hostile", marks=_SLOW),
]


def _check(fig, *, max_cols: int = MAX_COLS) -> None:
    problems = layout_problems(fig)
    assert not problems, problems[:5]
    fig.set_layout_engine("none")  # laid out by the draw above: keep it for the SVG
    assert svg_problem(fig) == ""
    cols = {
        ax.get_subplotspec().get_gridspec().get_geometry()[1]
        for ax in fig.axes
        if ax.get_subplotspec() is not None
    }
    assert max(cols, default=1) <= max_cols
    pyplot().close(fig)


FIGURES = ("weights", "strength", "knn", "degree_strength", "degree_ccdf")


@pytest.mark.parametrize("figure", FIGURES)
@pytest.mark.parametrize("case", CASES)
def test_structure_figures_layout(case, figure):
    G, S, R = _summaries(case)
    nb, L = G.block_kinds.count("weight"), G.n_layers  # a panel per weight block
    if figure == "weights":
        fig = structure.plot_weight_distributions(S, reference=R, G=G)
        assert len(fig.axes) == nb
        labels = [ax.get_xlabel() for ax in fig.axes]
        if case.startswith("dag"):
            assert all(lab.startswith("signed weight") for lab in labels)
            # the panel after the identity block (G's block 5) is G's block 6
            want = structure.display_name(G.block_names[6], max_len=40)
            assert fig.axes[5].get_title().startswith(want)
        else:
            assert labels[0].startswith("kernel l2 norm")
            assert nb == 1 or labels[-1].startswith("signed weight")
    elif figure == "strength":
        fig = structure.plot_strength_distributions(S, reference=R, G=G)
        assert len(fig.axes) == L
        # a sink (no outgoing block: the last group, and a side head of the DAG) shows s_down
        sinks = [l for l in range(L) if l not in G.block_src]
        for l, ax in enumerate(fig.axes):
            assert ("(s_down)" if l in sinks else "(s_up)") in ax.get_title()
        assert len(sinks) == (2 if case.startswith("dag") else 1)
    elif figure == "knn":
        fig = structure.plot_knn(S, reference=R, G=G)
        assert len(fig.axes) == 1 + nb
    elif figure == "degree_strength":
        fig = structure.plot_degree_strength(S, G=G)
        assert len(fig.axes) == L
    else:
        fig = structure.plot_degree_ccdf(S, reference=R, G=G)
        assert fig.axes[0].get_xscale() == "log"
    _check(fig)


def _trajectory(L: int, *, n_snap: int = 9, hostile: bool = False) -> EITrajectory:
    """An EITrajectory of ``L`` layers with made-up values: RBM ``s // 3`` trained at snapshot
    ``s``, values near 0 (below any floor) in the first snapshot, a negative degeneracy."""
    rng = np.random.default_rng(L)
    shapes = [(int(a), int(b)) for a, b in rng.integers(3, 12, (L, 2))]
    planes = []
    for s in range(n_snap):
        row = []
        for l, (a, b) in enumerate(shapes):
            sens = 7.1e-13 if s == 0 else float(a * b * 0.05 * (1 + s) * (1 + 0.1 * l))
            parts = sens * float(rng.uniform(0.2, 0.9)) if s else -1e-3
            row.append(LayerEI(parts, None, sens, a, b, "sigmoid", 8, (0.0, 1.0), (0.0, 1.0),
                               1000, 100, 0, "cpu", False, np.zeros((a, b))))  # fmt: skip
        planes.append(tuple(row))
    g = EffectiveInformation(1.0, 0.1, 2.0, 1.0, 0.2, 0.1, 3.0, 1.0, 10, 8, 2, 40, "abs", False,
                             np.zeros(10), np.ones(10, bool))  # fmt: skip
    names = [HOSTILE[l % len(HOSTILE)] for l in range(L)] if hostile else None
    return EITrajectory(
        labels=tuple(f"s{s}" for s in range(n_snap)), steps=np.arange(n_snap) * 5,
        layers=tuple(s // 3 for s in range(n_snap)), epochs=tuple(s % 3 for s in range(n_snap)),
        graph=(g,) * n_snap, planes=tuple(planes), sources=("x",) * n_snap,
        settings={"bins": 8, "n_samples": 20000, "sensitivity_samples": 5000, "weights": "abs",
                  "layer_sizes": [3] * (L + 1), "block_names": names},
    )  # fmt: skip


@pytest.mark.parametrize(
    "case", [*(pytest.param(str(L), marks=_SLOW) for L in DEPTHS), "9-hostile"]
)
def test_ei_figures_layout(case):
    L = int(case.split("-")[0])
    T = _trajectory(L, hostile=case.endswith("hostile"))
    fig = ei.plot_causal_plane(T, name="net\x00 A", noise_floor=ei.noise_floor(T))
    _check(fig)
    fig = ei.plot_ei_trajectory(T, name="net", noise_floor=0.01)
    _check(fig)


def _module_inputs(k: int, *, seed: int = 0):
    """A layer of ``3 k`` units in ``k`` modules: EMD-like distances, RFs, statistics."""
    from netsci_dl.analysis import agreement
    from netsci_dl.analysis.fields.module_stats import ModuleStatistics
    from netsci_dl.analysis.fields.modules import functional_modules

    rng = np.random.default_rng(seed)
    n = 3 * k
    pts = np.repeat(rng.normal(0, 5, (k, 2)), 3, axis=0) + rng.normal(0, 0.3, (n, 2))
    D = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    mods = functional_modules(D[np.triu_indices(n, 1)], k=k)
    rfs = rng.normal(size=(n, 6, 6))
    z = np.abs(rng.normal(2, 1, k))
    stats = ModuleStatistics(
        layer=1, size=np.bincount(mods.labels, minlength=k), degree_mean=z, degree_sd=2 * z,
        strength_mean=rng.normal(0, 1, k), strength_sd=z, knn_mean=z + 1, knn_sd=3 * z,
        emd_within=z, emd_between=z, links_inside=z / 10, links_inside_expected=z / 20,
        medoid=np.zeros(k, int), mean_rf=rng.normal(size=(k, 6, 6)),
    )  # fmt: skip
    ag = agreement(mods.labels, rng.integers(0, max(k // 2, 2), n))
    return mods, rfs, stats, ag, D


_MODULE_FIGURES = ("dendrogram", "rfs", "profiles", "members", "agreement")


@pytest.mark.parametrize("figure", _MODULE_FIGURES)
@pytest.mark.parametrize("k", [pytest.param(3, marks=_SLOW), 12, pytest.param(20, marks=_SLOW)])
def test_module_figures_layout(k, figure):
    from netsci_dl.plot import modules as M

    mods, rfs, stats, ag, D = _module_inputs(k)
    make = {
        "dendrogram": lambda: M.plot_dendrogram(mods, title="layer h1\x07: EMD"),
        "rfs": lambda: M.plot_module_rfs(stats),
        "profiles": lambda: M.plot_module_profiles(stats, value="kernel l2 norm"),
        "members": lambda: M.plot_module_members(rfs, mods.labels, emd=D, n_members=4,
                                                 title="h1\ufffe"),
        "agreement": lambda: M.plot_agreement(ag, title="h1 $x"),
    }  # fmt: skip
    _check(make[figure](), max_cols=50)  # member rows are modules, not panels


@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=_SLOW) for c in ("2", "4", "6")] + ["9", "dag-hostile"]
)
def test_community_layers_layout(case):
    from netsci_dl.plot.modules import plot_community_layers

    G = _dag(hostile=True) if case.startswith("dag") else _chain(int(case))
    lab = np.random.default_rng(1).integers(0, 30, G.n_nodes)
    lab[:3] = [30, 31, 32]  # three singletons
    fig = plot_community_layers(lab, G, max_communities=25)
    assert len(fig.axes[0].get_legend().get_texts()) == G.n_layers
    _check(fig)
