"""Benchmark: Fisher trace per layer of a LeNet over 1,000 digits; top Hessian eigenvalue.

    .venv/bin/python benchmarks/bench_fisher.py [--threads 1] [--n 1000] [--repeat 20]

Same run, same model (the digits LeNet, 8x8 input, float32), best of ``--repeat``:

1. ``fisher_trace`` by per-example gradient norms (``method="auto"``, all ``n`` examples in one
   batch) and the peer, BackPACK's ``BatchL2Grad`` (one forward and backward of the summed
   cross-entropy over all ``n``), timed in turns (ours, BackPACK, ours, ...), then
   ``vmap(grad(...))`` (``method="vmap"``, batches of 64, best of 3), for
   the empirical Fisher (true labels) and the sampled model Fisher (one label per example
   drawn from ``p(y | x)``; BackPACK gets the same labels, drawn in its timed forward). The
   traces must agree to 1e-6 relative. The same pair again in batches of 64 (fisher_trace's
   default ``batch_size``; BackPACK over the same batches, the labels drawn batch by batch
   from one generator, as fisher_trace draws them). Then the closed-form model Fisher (10
   labels per example): per-example norms against vmap.
2. ``hessian_top_eigenvalue`` (Lanczos on ``jvp(grad(L))`` products over 1,000 examples): time
   per iteration, against one gradient of the same loss (forward + backward) as the unit.

Measured 2026-12-07 (issue 27, fifth session of round 3) on the quiet 2-core machine (one
thread, nothing else running), three runs of ``--repeat 40``: ratio BackPACK/norms 2.10, 2.03,
2.15 (empirical) and 2.11, 2.15, 2.15 (sampled model Fisher) with all 1,000 digits in one
batch (ours 10-12 ms, BackPACK 23-26 ms); 2.32, 2.31, 2.39 and 2.28, 2.26, 2.30 in batches of 64
(fisher_trace's default; ours 28-30 ms, BackPACK 65-69 ms). Main before this session, in the
same hour: 1.89-1.93 in one batch. What changed: the model's tensors swapped once per call (not
per batch); the first convolution as one GEMM on the patches the norms need anyway (bias as a
row of ones: its norm from the same GEMM); the gradient at a Flatten's channels-last input
kept channels last (max pooling's backward had converted its input and output, 0.8 ms);
log-probabilities by logsumexp (log_softmax's CPU kernel: 128 us on (1000, 10)).
Earlier history: 1.25 and 1.89 at a26ea48; 1.83-2.00 after the round's first Fisher work
(hooks on gradient edges, norms without squared copies); channels-first convolutions were
slower (1.73-1.82), and glibc's ``MALLOC_MMAP_THRESHOLD_`` left the ratio unchanged.
"""

from __future__ import annotations

import copy
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _record import record  # noqa: E402


def best(f, k=3):
    ts, out = [], None
    for _ in range(k):
        t = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t)
    return min(ts), out


def interleaved(fs, k):
    """Best of ``k`` for each callable, run in turns (A B C A B C ...): a load that comes and
    goes reaches all of them alike. Returns ``[(seconds, last result), ...]``."""
    ts = [[] for _ in fs]
    outs = [None] * len(fs)
    for _ in range(k):
        for i, f in enumerate(fs):
            t = time.perf_counter()
            outs[i] = f()
            ts[i].append(time.perf_counter() - t)
    return [(min(t), o) for t, o in zip(ts, outs, strict=True)]


def backpack_fisher(torch, net, X, y, seed, batch_size=None):
    """The peer: BackPACK's BatchL2Grad; ``y=None`` samples one label per example (seeded),
    ``batch_size``: that many examples per forward and backward pass (default: all)."""
    from backpack import backpack, extend
    from backpack.extensions import BatchL2Grad

    model = copy.deepcopy(net)
    model.image = torch.nn.Unflatten(1, (1, 8, 8))  # BackPACK's modules only
    model = extend(model)
    lossf = extend(torch.nn.CrossEntropyLoss(reduction="sum"))

    bs = len(X) if batch_size is None else batch_size

    def run():
        g = torch.Generator().manual_seed(seed)
        sums = dict.fromkeys(name for name, _ in model.named_parameters())
        for s in range(0, len(X), bs):
            z = model(X[s : s + bs])
            if y is None:  # drawn as fisher_trace draws them: one generator, batch by batch
                p = torch.softmax(z.detach(), 1).double()
                t = torch.multinomial(p, 1, replacement=True, generator=g)[:, 0]
            else:
                t = y[s : s + bs]
            with backpack(BatchL2Grad()), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "full backward hook ... no inputs require grad"
                lossf(z, t).backward()
            for name, p in model.named_parameters():
                v = p.batch_l2.double().sum()
                sums[name] = v if sums[name] is None else sums[name] + v
                p.grad = None
        return {name: float(v) / len(X) for name, v in sums.items()}

    return run


def main() -> None:
    import torch

    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
    n = int(sys.argv[sys.argv.index("--n") + 1]) if "--n" in sys.argv else 1000
    k = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 20
    torch.set_num_threads(threads)
    from netsci_dl.activations._curvature import hessian_top_eigenvalue
    from netsci_dl.activations._fisher import fisher_trace
    from netsci_dl.datasets import load_digits
    from netsci_dl.models.classifier import ArchConfig, build_classifier

    d = load_digits()
    X, y = torch.as_tensor(d.X[:n]).float(), torch.as_tensor(d.y[:n])
    net = build_classifier(ArchConfig("lenet", (8, 8), 10), seed=0).eval()
    n_par = sum(p.numel() for p in net.parameters())
    print(f"LeNet on {n} digits, {n_par} parameters, float32, {threads} thread(s), best of {k}")
    for kind, labels in (("empirical", y), ("model", None)):
        kw = {"kind": kind, "n_samples": 1, "seed": 0}
        (t_new, f), (t_bp, ref) = interleaved(
            [
                lambda kw=kw: fisher_trace(net, X, y, batch_size=n, **kw),
                backpack_fisher(torch, net, X, labels, 0),
            ],
            k,
        )
        t_vmap, g = best(lambda kw=kw: fisher_trace(net, X, y, method="vmap", **kw), 3)
        np.testing.assert_allclose(f.tensor_traces, g.tensor_traces, rtol=1e-6)
        np.testing.assert_allclose(f.tensor_traces, list(ref.values()), rtol=1e-6)
        print(
            f"  Fisher {kind:9s}: norms {t_new:7.3f} s   vmap {t_vmap:7.3f} s   "
            f"BackPACK BatchL2Grad {t_bp:7.3f} s   ratio BackPACK/norms {t_bp / t_new:5.2f}   "
            f"vmap/norms {t_vmap / t_new:5.2f}"
        )
        record(
            f"Fisher trace {kind}",
            t_new,
            "BackPACK BatchL2Grad",
            t_bp,
            threads=threads,
            n=n,
            vmap_s=t_vmap,
        )
        # fisher_trace's default batch size, BackPACK over the same batches
        bs = 64
        (t_new, f), (t_bp, ref) = interleaved(
            [
                lambda kw=kw, bs=bs: fisher_trace(net, X, y, batch_size=bs, **kw),
                backpack_fisher(torch, net, X, labels, 0, batch_size=bs),
            ],
            max(3, k // 2),
        )
        np.testing.assert_allclose(f.tensor_traces, list(ref.values()), rtol=1e-6)
        print(
            f"  Fisher {kind:9s}, batches of {bs}: norms {t_new:7.3f} s   "
            f"BackPACK BatchL2Grad {t_bp:7.3f} s   ratio BackPACK/norms {t_bp / t_new:5.2f}"
        )
        record(
            f"Fisher trace {kind}, batches of {bs}",
            t_new,
            "BackPACK BatchL2Grad",
            t_bp,
            threads=threads,
            n=n,
            batch_size=bs,
        )
    t_new, f = best(lambda: fisher_trace(net, X, kind="model_exact", batch_size=n), min(k, 5))
    t_vmap, g = best(lambda: fisher_trace(net, X, kind="model_exact", method="vmap"), 1)
    np.testing.assert_allclose(f.tensor_traces, g.tensor_traces, rtol=1e-6)
    print(
        f"  Fisher model_exact ({10 * n} gradients): norms {t_new:7.3f} s   vmap {t_vmap:7.3f} s "
        f"(1 run)   ratio vmap/norms {t_vmap / t_new:5.2f}"
    )
    record("Fisher trace model_exact", t_new, "vmap (round 2)", t_vmap, threads=threads, n=n)
    loss = torch.nn.functional.cross_entropy
    t_grad, _ = best(lambda: torch.autograd.grad(loss(net(X), y), list(net.parameters())))
    t_l, r = best(lambda: hessian_top_eigenvalue(net, X, y, n_iter=20, tol=0.0), 1)
    per = t_l / r.n_iter
    print(
        f"  Hessian top eigenvalue (Lanczos, {r.n_iter} products on {n} examples): "
        f"{per * 1e3:7.1f} ms per iteration = {per / t_grad:4.1f} x one gradient "
        f"({t_grad * 1e3:.1f} ms); lambda = {r.eigenvalue:.4g}, residual {r.residual:.2g}"
    )
    record("Hessian top eigenvalue, per iteration", per, gradient_s=t_grad, threads=threads)


if __name__ == "__main__":
    main()
