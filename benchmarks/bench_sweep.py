"""Threshold sweep against null models on workload W: netsci_dl vs networkx, same run.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sweep.py [--nx-cuts 12,15,19]

Workload W (a DBN 784-500-500-2000, 1,642,000 edges), 20 cuts of ``|w| > c`` from
``default_cuts`` (keeping about 20% of the edges down to about 0.05%), 10 replicas of each null
(layered random replica, curveball rewiring): 20 x (1 + 10 + 10) = 420 graphs, every metric
exact (mean geodesic from every node of the giant component).

netsci_dl: ``threshold_sweep`` end to end (thresholding, drawing the nulls, the metrics), one run.
networkx has no block-wise null models, so it computes only the metrics (edges, mean degree,
isolates, connected components, giant fraction, ``average_shortest_path_length`` on the giant,
``degree_assortativity_coefficient``) on the very same graphs (rebuilt with ``sweep_graph``);
graph construction is excluded. networkx on all 420 graphs would take hours (its all-pairs BFS
is pure Python), so it runs on a stated subset, the net and the first replica of each null at
the cuts of ``--nx-cuts``, and is extrapolated to the 420 graphs with a cost model fitted on
that subset, ``t = a * n_giant * (n_giant + 2 m)`` (one BFS of ``n + 2m`` steps per source of
the giant component). Our metric time on the same subset graphs is printed beside it.

Recorded run (2026-12-02, the shared 2-core machine at load average 9 to 13, OMP_NUM_THREADS=1;
both sides in the same run, so read the ratios, not the seconds):

    netsci_dl threshold_sweep, 420 graphs (threshold + nulls + metrics): 471.8 s (1123 ms/graph)
    subset (net, replica 0, rewire 0 at cuts 12, 15, 19; 9 graphs), metrics only:
        networkx 1011.0 s, netsci_dl 3.34 s: ratio 302x (e.g. cut 12, 7465 edges, giant 3478
        nodes: networkx 251.8 s, netsci_dl 0.75 s)
    networkx on all 420 graphs, extrapolated: 791,525 s = 220 h; ratio networkx (metrics only) /
        netsci_dl (end to end) 1678x
    all-pairs geodesics at cut 4 (93,025 edges): bit-parallel BFS 0.98 s, scipy shortest_path
        (unweighted) 40.9 s: 42x
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
from _record import record
from workload import dbn_weights

warnings.filterwarnings("ignore")  # the peers' numeric RuntimeWarnings; deprecations still show:
warnings.filterwarnings("default", category=DeprecationWarning)
warnings.filterwarnings("default", category=FutureWarning)


def nx_metrics(g, n):
    import networkx as nx

    comps = max(nx.connected_components(g), key=len)
    giant = g.subgraph(comps)
    m = g.number_of_edges()
    return {
        "n_edges": m,
        "mean_degree": 2 * m / n,
        "isolated_fraction": nx.number_of_isolates(g) / n,
        "n_components": nx.number_connected_components(g),
        "giant_fraction": len(comps) / n,
        "mean_geodesic": nx.average_shortest_path_length(giant) if len(comps) > 1 else np.nan,
        "r": nx.degree_assortativity_coefficient(g),
    }


def main() -> None:
    import networkx as nx
    from scipy.sparse.csgraph import shortest_path

    import netsci_dl as nd
    from netsci_dl.analysis.structure.null_models import allowed_patterns
    from netsci_dl.analysis.structure.sweep import (
        SweepTask,
        default_cuts,
        sweep_graph,
        threshold_sweep,
    )
    from netsci_dl.analysis.structure.sweep_metrics import METRICS, graph_metrics

    nx_cuts = [12, 15, 19]
    if "--nx-cuts" in sys.argv:
        nx_cuts = [int(v) for v in sys.argv[sys.argv.index("--nx-cuts") + 1].split(",")]
    G = nd.from_matrices(dbn_weights())
    cuts = default_cuts(G, n=20)
    print(f"workload W: {G!r}")
    print(f"20 cuts |w| > c, c = {cuts[0]:.5f} .. {cuts[-1]:.5f}; 10 replicas of each null")

    t = time.perf_counter()
    df = threshold_sweep(G, cuts, n_null=10, seed=0)
    t_ours = time.perf_counter() - t
    n_graphs = len(df)
    print(
        f"netsci_dl threshold_sweep, {n_graphs} graphs (threshold + nulls + metrics): "
        f"{t_ours:7.1f} s  ({t_ours / n_graphs * 1e3:6.0f} ms per graph)"
    )

    # ---- the same graphs for networkx: the net and replica 0 of each null at nx_cuts ----------
    allowed = allowed_patterns(G)
    subset, t_us, t_nx, t_build = [], 0.0, 0.0, 0.0
    for i in nx_cuts:
        H = nd.threshold.by_value(G, float(cuts[i]))
        for model in ("net", "replica", "rewire"):
            R = sweep_graph(SweepTask(i, float(cuts[i]), model, 0, H, allowed, 0))
            t = time.perf_counter()
            ours = graph_metrics(R)
            dt_us = time.perf_counter() - t
            t = time.perf_counter()
            g = nx.Graph()
            g.add_nodes_from(range(R.n_nodes))
            s, d, _ = R.edges()
            g.add_edges_from(zip(s.tolist(), d.tolist()))
            t_build += time.perf_counter() - t
            t = time.perf_counter()
            theirs = nx_metrics(g, R.n_nodes)
            dt_nx = time.perf_counter() - t
            row = df[(df.cut == cuts[i]) & (df.model == model) & (df.replica == 0)].iloc[0]
            for k in METRICS:  # same graphs, same values (the sweep's row and networkx)
                np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-9, atol=1e-12, err_msg=k)
                np.testing.assert_allclose(row[k], theirs[k], rtol=1e-9, atol=1e-12, err_msg=k)
            n_g = ours["giant_fraction"] * R.n_nodes
            subset.append((n_g, ours["n_edges"], dt_nx))
            t_us += dt_us
            t_nx += dt_nx
            print(
                f"  cut {i:2d} {model:8s} {ours['n_edges']:6d} edges, giant {int(n_g):4d}: "
                f"networkx {dt_nx:6.2f} s, netsci_dl metrics {dt_us * 1e3:6.1f} ms"
            )
    print(
        f"subset of {len(subset)} graphs, metrics only: networkx {t_nx:.1f} s, netsci_dl "
        f"{t_us:.2f} s: ratio networkx/netsci_dl {t_nx / t_us:.0f}x "
        f"(networkx graph construction, excluded: {t_build:.1f} s)"
    )
    work = np.array([n_g * (n_g + 2 * m) for n_g, m, _ in subset])
    a = float(np.median(np.array([x[2] for x in subset]) / work))
    n_g_all = df.giant_fraction.to_numpy() * G.n_nodes
    t_nx_all = float((a * n_g_all * (n_g_all + 2 * df.n_edges.to_numpy())).sum())
    print(
        f"networkx on all {n_graphs} graphs, extrapolated (t = a n_giant (n_giant + 2m), "
        f"a = {a:.3g} s fitted on the subset): {t_nx_all:8.0f} s = {t_nx_all / 3600:.1f} h; "
        f"ratio networkx (metrics only) / netsci_dl (end to end) {t_nx_all / t_ours:.0f}x"
    )
    print("  networkx values agree with the sweep's rows on the subset (every metric)")
    record(f"metrics on a subset of {len(subset)} graphs", t_us, "networkx", t_nx)
    record(f"sweep of {n_graphs} graphs, end to end", t_ours, "networkx, extrapolated", t_nx_all)

    # ---- geodesics: scipy's unweighted shortest_path on the net at the cut nearest 5% ----------
    i5 = int(np.argmin(np.abs(df[df.model == "net"].n_edges.to_numpy() - 0.05 * G.n_edges)))
    A = nd.threshold.by_value(G, float(cuts[i5])).adjacency(weights=None)
    from netsci_dl.analysis.structure.sweep_metrics import mean_geodesic

    t = time.perf_counter()
    ours = mean_geodesic(A)  # connected at this cut
    t_bits = time.perf_counter() - t
    t = time.perf_counter()
    D = shortest_path(A, unweighted=True, directed=False)
    t_sp = time.perf_counter() - t
    np.testing.assert_allclose(ours, D.sum() / (A.shape[0] * (A.shape[0] - 1)))
    print(
        f"all-pairs geodesics at cut {i5} ({A.nnz // 2} edges): bit-parallel BFS {t_bits:.2f} s, "
        f"scipy shortest_path {t_sp:.2f} s: ratio scipy/netsci_dl {t_sp / t_bits:.0f}x"
    )
    record("all-pairs geodesics at the 5% cut", t_bits, "scipy shortest_path", t_sp)


if __name__ == "__main__":
    main()
