"""Benchmark: effective information of graphs and layers (issue 6).

    .venv/bin/python benchmarks/bench_ei.py          # all parts
    .venv/bin/python benchmarks/bench_ei.py --big    # only the 10M-edge graph (own process: peak RSS)

1. Graph EI on workload W thresholded at the 0.95 quantile (82,100 edges), against a dense
   networkx-based computation of the same formula (nx.to_numpy_array, dense row-normalise,
   entropies), same run, best of 3.
2. Graph EI on a 10M-edge random layered graph (undirected: 20M transitions), in a subprocess
   so its peak RSS is its own.
3. Layer EI_parts of a 500x500 sigmoid layer, 8 bins, 1e5 samples, against a naive per-pair loop
   (np.histogram2d per (input, output) pair) timed on a subset of pairs and extrapolated.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _record import record  # noqa: E402
from workload import dbn_weights  # noqa: E402

import netsci_dl as nd  # noqa: E402
from netsci_dl.analysis.information._effective_information import effective_information  # noqa: E402


def best(f, k=3):
    ts, out = [], None
    for _ in range(k):
        t = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t)
    return min(ts), out


def dense_nx_ei(Gx):
    import networkx as nx

    A = nx.to_numpy_array(Gx)
    n = A.shape[0]
    s = A.sum(1)
    out = s > 0
    P = A[out] / s[out, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        H = -np.where(P > 0, P * np.log2(P), 0.0).sum(1)
        w_in = P.mean(0)
        h_in = -np.where(w_in > 0, w_in * np.log2(w_in), 0.0).sum()
    return h_in - H.mean(), np.log2(n)


def graph_w() -> None:
    import networkx as nx

    H = nd.threshold.by_quantile(nd.from_matrices(dbn_weights()), 0.95)
    directed = bool(H.meta.get("directed", False))
    t_ours, r = best(lambda: effective_information(H))
    A = H.adjacency(directed=directed, weights="abs")
    Gx = nx.from_scipy_sparse_array(A, create_using=nx.DiGraph if directed else nx.Graph)
    t_peer, (ei_peer, _) = best(lambda: dense_nx_ei(Gx))
    print(
        f"[graph W] {H.n_edges} edges, {H.n_nodes} nodes, directed={directed}: EI={r.ei:.6f} bits"
    )
    print(f"  netsci_dl effective_information: {t_ours * 1e3:8.2f} ms  (target <= 50 ms)")
    print(f"  dense networkx (to_numpy_array + numpy): {t_peer * 1e3:8.2f} ms  EI={ei_peer:.6f}")
    print(f"  ratio peer/ours: {t_peer / t_ours:.1f}x   |diff| = {abs(ei_peer - r.ei):.2e}")
    record("EI of W (95% cut)", t_ours, "dense networkx + numpy", t_peer, diff=abs(ei_peer - r.ei))


def graph_big() -> None:
    rng = np.random.default_rng(0)
    sizes = (2000, 2500, 2000)  # 2000*2500 + 2500*2000 = 10,000,000 edges, dense float32 blocks
    blocks = tuple(
        rng.normal(0, 1, (a, b)).astype(np.float32) for a, b in zip(sizes, sizes[1:], strict=False)
    )
    G = nd.LayeredGraph(sizes, blocks, meta={"directed": False})
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    r = effective_information(G)
    dt = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"[graph 10M] {G.n_edges:,} edges undirected ({2 * G.n_edges:,} transitions): "
        f"{dt:.2f} s (target < 10 s), EI={r.ei:.4f}"
    )
    print(
        f"  peak RSS {peak:.0f} MB (graph + interpreter before the call: {base:.0f} MB; target < 2048 MB)"
    )
    record("EI of a 10M-edge graph (no peer)", dt, peak_rss_mb=peak, target_s=10)


def layer() -> None:
    import torch

    from netsci_dl.analysis.information import causal_plane as cp

    W = np.random.default_rng(0).normal(0, 0.1, (500, 500)).astype(np.float32)
    t = time.perf_counter()
    r = cp.layer_ei(
        (W, None, "sigmoid"),
        options=cp.LayerEIOptions(
            bins=8, n_samples=100_000, sensitivity=False, whole=False, device="cpu"
        ),
    )
    t_ours = time.perf_counter() - t
    print(f"[layer 500x500 sigmoid, 8 bins, 1e5 samples] EI_parts={r.ei_parts:.3f} bits")
    print(f"  netsci_dl layer_ei (int8 GEMM counts, torch {torch.__version__}): {t_ours:.2f} s")
    # naive: the same samples, one np.histogram2d + MI per pair, timed on a subset and extrapolated
    gen = torch.Generator().manual_seed(cp._seeds(0)[0])
    x = torch.rand((100_000, 500), generator=gen)
    y = torch.sigmoid(x @ torch.as_tensor(W)).numpy()
    x = x.numpy()
    n_pairs = 200
    t = time.perf_counter()
    for k in range(n_pairs):
        A, B = divmod(k * 1249, 500)
        c, _, _ = np.histogram2d(x[:, A % 500], y[:, B], bins=8, range=((0, 1), (0, 1)))
        cp._mi_from_counts(c)
    t_pair = (time.perf_counter() - t) / n_pairs
    t_naive = t_pair * 500 * 500
    print(
        f"  naive per-pair np.histogram2d loop: {t_pair * 1e3:.2f} ms/pair x 250,000 pairs = "
        f"{t_naive:.0f} s (EXTRAPOLATED from {n_pairs} pairs)"
    )
    print(f"  ratio naive/ours: {t_naive / t_ours:.0f}x")
    record("layer_ei 500x500, 1e5 samples", t_ours, "naive histogram2d (extrapolated)", t_naive)
    t = time.perf_counter()
    r = cp.layer_ei(
        (W, None, "sigmoid"),
        options=cp.LayerEIOptions(
            bins=8, n_samples=1000, sensitivity_samples=5000, whole=False, device="cpu"
        ),
    )
    print(
        f"  sensitivity (5000 samples per input, the paper's): {time.perf_counter() - t:.1f} s, "
        f"{r.sensitivity:.3f} bits"
    )


if __name__ == "__main__":
    if "--big" in sys.argv:
        graph_big()
        sys.exit(0)
    graph_w()
    subprocess.run([sys.executable, __file__, "--big"], check=True)
    layer()
