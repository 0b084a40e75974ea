"""Benchmark: clusterability (issue 26, Filan et al. 2021) against the same definitions in
networkx + scikit-learn, same run.

    .venv/bin/python benchmarks/bench_clusterability.py               # peer on 3 shuffles, scaled
    .venv/bin/python benchmarks/bench_clusterability.py --peer-shuffles 50   # the peer in full

Net: the paper's 4x256 MLP on MNIST, 784-256-256-256-256-10, random weights
N(0, 1/sqrt(fan_in)): 1,818 nodes, 399,872 edges. Ours: :func:`netsci_dl.analysis.clusterability`
with k = 12 clusters and 50 shuffles (``--jobs`` worker processes, default 2). Goal: at most
60 s on 2 cores.

The peer is the pipeline a researcher writes by hand: for the net and for each shuffled net
(entries permuted within each weight matrix, numpy), a networkx graph of |W|, its adjacency
(``nx.to_scipy_sparse_array``), scikit-learn's ``SpectralClustering(affinity="precomputed",
eigen_solver="arpack")`` with its default threads, and the n-cut summed over clusters from
``nx.cut_size`` and ``nx.volume``. It runs one process (a hand-written loop) on the net and
``--peer-shuffles`` shuffles; its time is scaled to 1 + 50 clusterings (the output says so).
The check: the peer's n-cut of the net equals ours (same labels: the same scikit-learn call).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netsci_dl import from_matrices  # noqa: E402
from netsci_dl.analysis import clusterability  # noqa: E402

SIZES = (784, 256, 256, 256, 256, 10)
K, SHUFFLES = 12, 50


def peer_ncut(mats: list[np.ndarray], k: int, seed: int) -> float:
    """networkx graph of |W|, scikit-learn spectral clustering, n-cut from networkx."""
    import networkx as nx
    from sklearn.cluster import SpectralClustering

    offs = np.concatenate([[0], np.cumsum([m.shape[0] for m in mats])])
    X = nx.Graph()
    X.add_nodes_from(range(offs[-1] + mats[-1].shape[1]))
    for i, m in enumerate(mats):
        r, c = np.nonzero(m)
        X.add_weighted_edges_from(
            zip((r + offs[i]).tolist(), (c + offs[i + 1]).tolist(), np.abs(m[r, c]).tolist())
        )
    A = nx.to_scipy_sparse_array(X, nodelist=range(X.number_of_nodes()), weight="weight")
    sc = SpectralClustering(n_clusters=k, affinity="precomputed", assign_labels="kmeans",
                            eigen_solver="arpack", random_state=seed)  # fmt: skip
    labels = sc.fit_predict(A)
    return sum(
        nx.cut_size(X, s, weight="weight") / nx.volume(X, s, weight="weight")
        for s in (set(np.flatnonzero(labels == c).tolist()) for c in range(k))
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2, help="our worker processes")
    ap.add_argument("--peer-shuffles", type=int, default=3, help="shuffles the peer runs")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    mats = [rng.normal(0, 1 / np.sqrt(a), (a, b)) for a, b in zip(SIZES, SIZES[1:])]
    G = from_matrices(mats)
    print(f"net {'-'.join(map(str, SIZES))}: {G.n_nodes} nodes, {G.n_edges} edges; k = {K}")

    t = time.perf_counter()
    r = clusterability(G, k=K, n_shuffles=SHUFFLES, seed=0, n_jobs=args.jobs)
    ours = time.perf_counter() - t

    t = time.perf_counter()
    peer_net = peer_ncut(mats, K, 0)
    srng = np.random.default_rng(1)
    for _ in range(args.peer_shuffles):
        peer_ncut([srng.permutation(m.ravel()).reshape(m.shape) for m in mats], K, 0)
    peer = (time.perf_counter() - t) * (1 + SHUFFLES) / (1 + args.peer_shuffles)

    note = (
        ""
        if args.peer_shuffles == SHUFFLES
        else f" (x{(1 + SHUFFLES) / (1 + args.peer_shuffles):.1f}: {args.peer_shuffles} shuffles run)"
    )
    print(f"ours: n-cut {r.ncut:.6g}, shuffles {r.null.mean():.6g} +- {r.null.std(ddof=1):.3g}, "
          f"z = {r.z:.3g}, percentile {r.percentile:.3g}")  # fmt: skip
    print(f"{'what':<34}{'ours (s)':>10}{'peer (s)':>10}{'ratio':>8}  check")
    check = f"peer n-cut of the net {peer_net:.6g}, rel diff {abs(peer_net - r.ncut) / r.ncut:.1e}"
    print(f"{'n-cut + 50 shuffles, k = 12':<34}{ours:>10.1f}{peer:>10.1f}{peer / ours:>7.1f}x  "
          f"{check}{note}")  # fmt: skip
    print(f"goal: ours <= 60 s on 2 cores ({'met' if ours <= 60 else 'NOT met'} here, "
          f"{args.jobs} jobs)")  # fmt: skip


if __name__ == "__main__":
    main()
