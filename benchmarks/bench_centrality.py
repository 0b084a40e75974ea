"""Benchmark: neuron-level measures (issue 26) against networkx, same definitions, same run.

    .venv/bin/python benchmarks/bench_centrality.py          # networkx's slow per-source loops
                                                              # timed on 100 sources, scaled
    .venv/bin/python benchmarks/bench_centrality.py --full   # every networkx call in full

Graph: a 784-200-100-10 MLP with random weights (N(0, 1/sqrt(fan_in))), 1094 nodes, 178,000
signed edges; the positive graph keeps about half. The peer is the study's pipeline (Scabini &
Bruno compute their measures with networkx on the networkx graph): each row times our function
and networkx's on the same graph (the networkx graph built once, outside the timings), checks
that the values agree, and prints the ratio. Betweenness and harmonic centrality in networkx
are loops over sources in Python (harmonic: networkx's Dijkstra from each node, the loop
``harmonic_centrality`` runs), and counting the maximal cliques of each node a loop over nodes;
without ``--full`` they run on 100 nodes and their time is scaled by n/100 (the output says so).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _record import record  # noqa: E402

import netsci_dl.analysis as na  # noqa: E402
from netsci_dl import from_matrices  # noqa: E402

SIZES = (784, 200, 100, 10)


def timed(f):
    t = time.perf_counter()
    out = f()
    return time.perf_counter() - t, out


def main() -> None:
    import networkx as nx

    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true", help="run networkx's per-source loops in full")
    ap.add_argument("--sources", type=int, default=100)
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    mats = [rng.normal(0, 1 / np.sqrt(a), (a, b)) for a, b in zip(SIZES, SIZES[1:])]
    G = from_matrices(mats)
    n = G.n_nodes
    s, d, w = G.edges()
    S = nx.Graph()
    S.add_nodes_from(range(n))
    S.add_weighted_edges_from(zip(s.tolist(), d.tolist(), w.astype(float).tolist()))
    P = nx.Graph()
    P.add_nodes_from(range(n))
    P.add_weighted_edges_from((a, b, x) for a, b, x in S.edges(data="weight") if x > 0)
    print(
        f"graph {'-'.join(map(str, SIZES))}: {n} nodes, {G.n_edges} edges, {P.number_of_edges()} positive"
    )

    k = n if args.full else min(args.sources, n)
    sample = list(range(0, n, max(1, n // k)))[:k]
    scale = n / len(sample)
    rows = [
        ("strength", lambda: na.signed_strength(G), lambda: dict(S.degree(weight="weight")), 1),
        (
            "avg_neighbor_strength",
            lambda: na.average_neighbor_strength(G),
            lambda: nx.average_neighbor_degree(S, weight="weight"),
            1,
        ),
        (
            "current_flow_closeness",
            lambda: na.current_flow_closeness_centrality(G),
            lambda: nx.current_flow_closeness_centrality(S, weight="weight"),
            1,
        ),
        (
            "bipartite_clustering",
            lambda: na.bipartite_clustering(G),
            lambda: nx.bipartite.clustering(P, mode="max"),
            1,
        ),
        (
            "subgraph_centrality",
            lambda: na.subgraph_centrality(G, log=False),
            lambda: nx.subgraph_centrality(P),
            1,
        ),
        (
            "harmonic",
            lambda: na.harmonic_centrality(G),
            lambda: {
                v: sum(1 / x for x in nx.single_source_dijkstra_path_length(P, v).values() if x)
                for v in sample
            },
            scale,
        ),
        (
            "second_order",
            lambda: na.second_order_centrality(G),
            lambda: nx.second_order_centrality(P, weight="weight"),
            1,
        ),
        (
            "maximal_cliques",
            lambda: na.number_of_maximal_cliques(G),
            lambda: {v: sum(1 for _ in nx.find_cliques(P, nodes=[v])) for v in sample},
            scale,
        ),
        (
            "betweenness",
            lambda: na.betweenness_centrality(G).values,
            lambda: (
                nx.betweenness_centrality(P, k=len(sample), seed=0)
                if not args.full
                else nx.betweenness_centrality(P)
            ),
            scale,
        ),
    ]
    print(f"{'measure':<24}{'ours (s)':>10}{'networkx (s)':>14}{'ratio':>9}  check")
    tot_ours = tot_nx = 0.0
    for name, ours, theirs, factor in rows:
        t1, a = timed(ours)
        t2, b = timed(theirs)
        t2 *= factor
        tot_ours, tot_nx = tot_ours + t1, tot_nx + t2
        if factor == 1:
            ref = np.array([b[i] for i in range(n)])
            err = np.max(np.abs(a - ref) / np.maximum(np.abs(ref), 1e-300))
            check = f"max rel diff {err:.1e}"
        elif name == "harmonic":
            ref = np.array([b[i] for i in sample])
            check = f"max rel diff {np.max(np.abs(a[sample] - ref) / ref):.1e} (sources only)"
        elif name == "maximal_cliques":
            ref = np.array([b[i] for i in sample])
            check = f"equal on the sample: {bool(np.array_equal(a[sample], ref))}"
        else:
            check = "networkx's own sampled sources: not compared"
        note = f" (x{factor:.1f}: {len(sample)} sources)" if factor != 1 else ""
        print(f"{name:<24}{t1:>10.3f}{t2:>14.2f}{t2 / t1:>9.0f}x {check}{note}")
        record(name, t1, "networkx", t2, networkx_scaled_by=factor)
    print(f"{'total':<24}{tot_ours:>10.3f}{tot_nx:>14.2f}{tot_nx / tot_ours:>9.0f}x")
    record("total", tot_ours, "networkx", tot_nx)


if __name__ == "__main__":
    main()
