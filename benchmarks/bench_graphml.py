"""GraphML write of workload W: netsci_dl vs igraph, graph-tool (full) and networkx (thresholded).

Each writer runs in its own subprocess (best of 3 with time.perf_counter; peak RSS from
resource.getrusage ru_maxrss of that process), so peak memory is not shared between libraries.
Also times the conversions to_igraph / to_graph_tool / to_networkx on the thresholded graph.

    .venv/bin/python benchmarks/bench_graphml.py
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _record import record  # noqa: E402
from workload import dbn_weights, threshold_95  # noqa: E402


def _graph(thresholded: bool):
    import netsci_dl as nd

    Ws = dbn_weights()
    G = nd.from_matrices(Ws, directed=False)
    if thresholded:
        G = nd.threshold.by_value(G, threshold_95(Ws))
    return G


def _best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def child(name: str, thresholded: bool, out: str) -> dict:
    G = _graph(thresholded)
    from netsci_dl import convert

    if name == "netsci_dl":
        from netsci_dl.io.graphml import write_graphml

        t = _best(lambda: write_graphml(G, out))
    elif name == "netsci_dl.gz":
        from netsci_dl.io.graphml import write_graphml

        t = _best(lambda: write_graphml(G, out + ".gz"), repeat=1)
        out += ".gz"
    elif name == "igraph":  # the peers carry `layer` and `weight` only, as in PEERS.md
        import igraph as ig

        u, v, w = G.edges()
        g = ig.Graph(G.n_nodes, edges=list(zip(u.tolist(), v.tolist(), strict=False)))
        g.es["weight"] = w.tolist()
        g.vs["layer"] = G.node_layer.tolist()
        t = _best(lambda: g.write_graphml(out))
    elif name == "graph-tool":
        import graph_tool.all as gt
        import numpy as np

        u, v, w = G.edges()
        g = gt.Graph(directed=False)
        g.add_vertex(G.n_nodes)
        ew = g.new_edge_property("double")
        g.add_edge_list(np.column_stack([u, v, w]).astype(np.float64), eprops=[ew])
        g.ep["weight"] = ew
        g.vp["layer"] = g.new_vertex_property("int", vals=G.node_layer)
        t = _best(lambda: g.save(out, fmt="graphml"))
    elif name == "networkx":
        import networkx as nx

        u, v, w = G.edges()
        H = nx.Graph()
        H.add_nodes_from((i, {"layer": lv}) for i, lv in enumerate(G.node_layer.tolist()))
        H.add_weighted_edges_from(zip(u.tolist(), v.tolist(), w.tolist(), strict=False))
        t = _best(lambda: nx.write_graphml(H, out), repeat=1 if not thresholded else 3)
    elif name.startswith("to_"):
        fn = getattr(convert, name)
        fn(G)  # warm the import
        t = _best(lambda: fn(G))
        return {"time": t, "rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}
    else:
        raise ValueError(name)
    size = os.path.getsize(out) / 1e6
    return {
        "time": t,
        "rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        "mb": size,
    }


def run(name: str, thresholded: bool) -> dict:
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "w.graphml")
        code = [sys.executable, __file__, "--child", name, "thr" if thresholded else "full", out]
        res = subprocess.run(code, capture_output=True, text=True, check=True)
        return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    rows = []
    for name, thr in [
        ("netsci_dl", False),
        ("igraph", False),
        ("graph-tool", False),
        ("netsci_dl.gz", False),
        ("netsci_dl", True),
        ("igraph", True),
        ("graph-tool", True),
        ("networkx", True),
    ]:
        r = run(name, thr)
        rows.append((name, thr, r))
        print(
            f"write {'thr 82,100' if thr else 'full 1,642,000':>16} {name:>13}: {r['time']:7.3f} s  "
            f"peak RSS {r['rss_gb']:.3f} GB  file {r['mb']:.1f} MB",
            flush=True,
        )
    ours = {thr: r for n, thr, r in rows if n == "netsci_dl"}
    for n, thr, r in rows:
        if n != "netsci_dl" and n != "netsci_dl.gz":
            print(
                f"ratio {n:>10} / netsci_dl ({'thr' if thr else 'full'}): time x{r['time'] / ours[thr]['time']:.2f}, "
                f"RSS x{r['rss_gb'] / ours[thr]['rss_gb']:.2f}"
            )
            o = ours[thr]
            record(
                f"write GraphML ({'thr 82,100' if thr else 'full 1,642,000'} edges)",
                o["time"],
                n,
                r["time"],
                rss_gb=o["rss_gb"],
                peer_rss_gb=r["rss_gb"],
                mb=o["mb"],
            )
    for fn in ("to_igraph", "to_graph_tool", "to_networkx"):
        r = run(fn, True)
        print(f"convert thr {fn:>14}: {r['time'] * 1e3:8.1f} ms")
        record(f"convert thr {fn} (no peer)", r["time"])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3] == "thr", sys.argv[4])))
    else:
        main()
