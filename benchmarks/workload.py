# Copy of shared/bench/workload.py (the team's workload W), kept here so benchmarks run anywhere.
"""Workload W: the standard benchmark graph of netsci_dl (a DBN 784-500-500-2000).

    from workload import dbn_weights, threshold_95
    Ws = dbn_weights()          # [W0 (784,500), W1 (500,500), W2 (500,2000)], float32
    t = threshold_95(Ws)        # 0.0196114...: keeps 82,100 of 1,642,000 edges with |w| > t

The weights are bit-identical across numpy 1.x and 2.x: rng = default_rng(0),
W_i = rng.normal(0, 0.01, shape).astype(float32), generated in that order.
PEERS.md beside this file holds the peers' times on exactly this workload.
"""

import numpy as np

LAYERS = (784, 500, 500, 2000)


def dbn_weights(layers=LAYERS, seed=0, scale=0.01):
    rng = np.random.default_rng(seed)
    return [
        rng.normal(0.0, scale, (layers[i], layers[i + 1])).astype(np.float32)
        for i in range(len(layers) - 1)
    ]


def threshold_95(Ws):
    """The 95th percentile of |w| over all edges (keeps 5% of the edges)."""
    return float(np.quantile(np.concatenate([np.abs(W).ravel() for W in Ws]), 0.95))


if __name__ == "__main__":
    Ws = dbn_weights()
    t = threshold_95(Ws)
    kept = sum(int((np.abs(W) > t).sum()) for W in Ws)
    print(f"edges={sum(W.size for W in Ws)} t={t:.7f} kept(|w|>t)={kept}")
