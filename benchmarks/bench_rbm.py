"""Benchmark: one epoch of CD-1 on 60000 x 784 binary data (p = 0.13), 500 hidden, batch 100.

    .venv/bin/python benchmarks/bench_rbm.py [--threads 2]

Same run, 2 torch threads, best of 3: netsci_dl's RBM (CD-1, float32), scikit-learn's
``BernoulliRBM(n_components=500, batch_size=100, n_iter=1)`` on float32 X (PCD-1), and the
GEMM-only ceiling (the same 5 GEMMs per batch and nothing else). Prints times and ratios.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _record import record  # noqa: E402

N, D, H, B = 60000, 784, 500, 100


def best(f, k=3):
    ts = []
    for _ in range(k):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return min(ts)


def main() -> None:
    import torch

    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 2
    torch.set_num_threads(threads)
    from sklearn.neural_network import BernoulliRBM

    from netsci_dl.models.rbm import RBM

    X = (np.random.default_rng(0).random((N, D)) < 0.13).astype(np.float32)
    Xt = torch.from_numpy(X)

    rbm = RBM(H, batch_size=B, n_epochs=0, seed=0, weight_decay=2e-4).fit(X[:10])
    rbm.n_features_in_ = D
    t_ours = best(lambda: rbm.fit_epoch(Xt))

    def sk():
        BernoulliRBM(n_components=H, batch_size=B, n_iter=1, learning_rate=0.1, random_state=0).fit(
            X
        )

    from threadpoolctl import threadpool_limits

    with threadpool_limits(threads):  # numpy's BLAS gets the same thread count
        t_sk = best(sk)

    W = torch.randn(D, H) * 0.01
    hp = torch.empty(B, H)
    vn = torch.empty(B, D)
    hn = torch.empty(B, H)
    dW = torch.zeros(D, H)

    def ceiling():
        for s in range(0, N, B):
            v = Xt[s : s + B]
            torch.mm(v, W, out=hp)
            torch.mm(hp, W.T, out=vn)
            torch.mm(vn, W, out=hn)
            dW.addmm_(v.T, hp)
            dW.addmm_(vn.T, hn, alpha=-1.0)

    t_ceil = best(ceiling)
    print(
        f"one CD-1 epoch, {N}x{D} binary (p=0.13), {H} hidden, batch {B}, {threads} threads, best of 3"
    )
    print(f"  netsci_dl RBM (CD-1)           {t_ours:7.3f} s")
    print(
        f"  sklearn BernoulliRBM (float32) {t_sk:7.3f} s   ratio sklearn/ours  {t_sk / t_ours:5.2f}"
    )
    print(
        f"  GEMM-only ceiling (5 GEMMs)    {t_ceil:7.3f} s   ratio ours/ceiling  {t_ours / t_ceil:5.2f}"
    )
    record("CD-1 epoch", t_ours, "sklearn BernoulliRBM", t_sk, threads=threads, ceiling_s=t_ceil)


if __name__ == "__main__":
    main()
