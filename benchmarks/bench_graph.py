"""Build a LayeredGraph + edges() from workload W, against graph-tool and igraph (same run).

    .venv/bin/python benchmarks/bench_graph.py

Target (issue 3): <= 20 ms for the build and the edge arrays (graph-tool's add_edge_list takes
about 68 ms on the machine of PEERS.md); memory (issue 27): the graph and its edge arrays at most
2.5x the weight bytes. The graph holds one copy of the weights (1.0x), and edges()'s weights are
a view of it; the node ids are the narrowest signed type that holds every id and the node count
(int16 up to 32,767 nodes, int32 up to 2**31 - 1, int64 beyond), so W's 3,784 nodes take 2 x 2
bytes per edge (1.0x): 2.00x in all, measured on 2026-12-07 (3.00x with the int32 ids before).
Callers cast before arithmetic that can pass the id range (``src.astype(np.int64) * n + dst``).
The peers start from the same edge arrays (our edges()), so their times exclude making them.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import record  # noqa: E402
from workload import dbn_weights  # noqa: E402

import netsci_dl as nd  # noqa: E402


def best(f, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times)), out


def ours(Ws):
    G = nd.from_matrices(Ws)
    return G, G.edges()


GOAL = 2.5  # graph + edge arrays, in weight bytes (issue 27)


def main() -> None:
    Ws = dbn_weights()
    wbytes = sum(W.nbytes for W in Ws)
    t_min, t_med, (G, (src, dst, w)) = best(lambda: ours(Ws))
    tracemalloc.start()
    ours(Ws)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    tracemalloc.start()
    nd.from_matrices(Ws)
    _, peak_g = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"workload W: {G!r}")
    print(
        f"netsci_dl  LayeredGraph + edges(): min {t_min * 1e3:7.2f} ms  median {t_med * 1e3:7.2f} ms"
        f"  extra memory {peak / 1e6:.1f} MB = {peak / wbytes:.2f}x the weights ({wbytes / 1e6:.1f} MB)"
        f"  goal <= {GOAL}x"
    )
    t_b, _, _ = best(lambda: nd.from_matrices(Ws))
    print(
        f"netsci_dl  LayeredGraph alone:     min {t_b * 1e3:7.3f} ms  extra memory "
        f"{peak_g / 1e6:.1f} MB = {peak_g / wbytes:.2f}x (its one copy of the weights)"
    )
    print(
        f"  edges(): src, dst {src.dtype}; w shares the graph's buffer: {np.shares_memory(w, G.blocks[0])}"
    )
    mem = {"memory_x_weights": peak / wbytes, "graph_alone_x_weights": peak_g / wbytes}
    layer = G.node_layer
    peers = {}
    try:
        import graph_tool.all as gt

        def build_gt():
            g = gt.Graph(directed=False)
            g.add_vertex(G.n_nodes)
            ew = g.new_edge_property("double")
            g.add_edge_list(np.column_stack([src, dst, w.astype(np.float64)]), eprops=[ew])
            vl = g.new_vertex_property("int", vals=layer)
            return g, vl

        peers["graph-tool add_edge_list"] = best(build_gt, repeat=3)
    except ImportError:
        print("graph-tool: not installed")
    import igraph as ig

    def build_ig():
        g = ig.Graph(G.n_nodes, edges=list(zip(src.tolist(), dst.tolist())))
        g.es["weight"] = w.tolist()
        g.vs["layer"] = layer.tolist()
        return g

    peers["igraph Graph(list of tuples)"] = best(build_ig, repeat=3)
    for name, (p_min, p_med, _) in peers.items():
        print(
            f"{name:<30} min {p_min * 1e3:7.1f} ms  median {p_med * 1e3:7.1f} ms"
            f"   ratio peer/ours {p_min / t_min:6.1f}x"
        )
        record("build + edge arrays (W)", t_min, name, p_min, n_edges=G.n_edges, **mem)
    if not peers:
        record("build + edge arrays (W)", t_min, n_edges=G.n_edges, **mem)


if __name__ == "__main__":
    main()
