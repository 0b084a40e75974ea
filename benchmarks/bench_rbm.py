"""Benchmark: one epoch of CD-1 on 60000 x 784 binary data (p = 0.13), 500 hidden, batch 100.

    .venv/bin/python benchmarks/bench_rbm.py [--threads 2] [--repeat 3]

Same run, best of ``--repeat``, in two conditions: "quiet" (the machine as it is) and "busy" (a
busy-loop process pinned to one core, started by this script and ended after). In each:
netsci_dl's RBM (CD-1, float32, ``num_threads="auto"`` capped at ``--threads``: it picks its
thread count from the free cores at each epoch), scikit-learn's ``BernoulliRBM(n_components=500,
batch_size=100, n_iter=1)`` on float32 X (PCD-1; numpy's BLAS limited to ``--threads``, the
same number of updates), and the GEMM-only ceiling at our thread count (the same 3 + 1 fused
GEMMs per batch and nothing else). Prints times and the ratios sklearn/ours.
"""

from __future__ import annotations

import os
import subprocess
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


def busy_loop() -> subprocess.Popen:
    """A process that spins on the last core this process may use (pinned there)."""
    core = max(os.sched_getaffinity(0))
    code = f"import os\nos.sched_setaffinity(0, {{{core}}})\nwhile True:\n    pass\n"
    p = subprocess.Popen([sys.executable, "-c", code])
    time.sleep(0.5)  # let it start spinning
    return p


def condition(name: str, threads: int, repeat: int, X: np.ndarray) -> None:
    import torch
    from sklearn.neural_network import BernoulliRBM
    from threadpoolctl import threadpool_limits

    from netsci_dl._array import free_threads
    from netsci_dl.models.rbm import RBM

    Xt = torch.from_numpy(X)
    torch.set_num_threads(threads)  # the cap of num_threads="auto"
    rbm = RBM(H, batch_size=B, n_epochs=0, seed=0, weight_decay=2e-4).fit(X[:10])
    rbm.n_features_in_ = D
    chosen = free_threads()
    t_ours = best(lambda: rbm.fit_epoch(Xt), repeat)

    def sk():
        BernoulliRBM(n_components=H, batch_size=B, n_iter=1, learning_rate=0.1, random_state=0).fit(
            X
        )

    with threadpool_limits(threads):  # numpy's BLAS gets the same thread count
        t_sk = best(sk, repeat)

    W = torch.randn(D, H) * 0.01
    L, R = torch.zeros(2 * B, D), torch.zeros(2 * B, H)
    hp, vn, hn, dW = R[:B], L[B:], R[B:], torch.zeros(D, H)

    def ceiling():
        for s in range(0, N, B):
            v = Xt[s : s + B]
            torch.mm(v, W, out=hp)
            torch.mm(hp, W.T, out=vn)
            torch.mm(vn, W, out=hn)
            dW.addmm_(L.T, R, beta=0.5)

    torch.set_num_threads(chosen)
    t_ceil = best(ceiling, repeat)
    torch.set_num_threads(threads)
    print(f"{name}: load average {os.getloadavg()[0]:.2f}; ours chose {chosen} thread(s)")
    print(f"  netsci_dl RBM (CD-1)           {t_ours:7.3f} s")
    print(
        f"  sklearn BernoulliRBM (float32) {t_sk:7.3f} s   ratio sklearn/ours  {t_sk / t_ours:5.2f}"
    )
    print(
        f"  GEMM-only ceiling (3+1 GEMMs)  {t_ceil:7.3f} s   ratio ours/ceiling  {t_ours / t_ceil:5.2f}"
    )
    record("CD-1 epoch", t_ours, "sklearn BernoulliRBM", t_sk, threads=threads, ceiling_s=t_ceil)


def main() -> None:
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 2
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
    X = (np.random.default_rng(0).random((N, D)) < 0.13).astype(np.float32)
    print(
        f"one CD-1 epoch, {N}x{D} binary (p=0.13), {H} hidden, batch {B}, "
        f"at most {threads} threads, best of {repeat}"
    )
    condition("quiet (the machine as it is)", threads, repeat, X)
    spinner = busy_loop()
    try:
        condition("busy (a busy loop pinned to one core)", threads, repeat, X)
    finally:
        spinner.kill()
        spinner.wait()


if __name__ == "__main__":
    main()
