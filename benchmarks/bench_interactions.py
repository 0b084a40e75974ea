"""Benchmark: Harsanyi interactions with 12 players (4,096 masked inputs) on a digits CNN (issue 16).

    .venv/bin/python benchmarks/bench_interactions.py            # about a minute on 2 cores

1. Masked forward passes per second: all 4,096 masked versions of 4 digits through netsci_dl's
   LeNet-like CNN (``ArchConfig("lenet", (8, 8), 10)``, trained 3 epochs here by
   ``train_classifier``), the output only and with a probe on every layer.
2. The AND (Moebius) transform of one such game against shapiq's exact computer (``ExactComputer
   (game)("Moebius")``, pure Python, O(3^n)) on the same values, same run; and of 20 games at once.
3. The AND-OR split (SGD, 2000 iterations) of 1 and of 8 games against (a) shapiq's Moebius of
   one game (the peer's cost for the AND part alone; shapiq has no AND-OR split) and (b) the
   original code's dense approach, ``2**n x 2**n`` matrix products per iteration (timed on 20
   iterations and scaled to 2000; the matrices are float32 as there, 64 MiB each).

Measured 2026-12-02 (one thread, another job on the other core): 127,005 masked forward passes
per second (output only), 35,550 with probes on 5 layers; the transform 0.142 ms against
shapiq's 885 ms (6238x, |diff| 1.7e-13); the split of one game 2.11 s against 74.2 s for the
dense matrices (35x; extrapolated from 20 iterations).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _record import record  # noqa: E402

from netsci_dl.activations import grid_players, layer_activations  # noqa: E402
from netsci_dl.activations._masking import masked_values  # noqa: E402
from netsci_dl.analysis.interactions import and_interactions, and_or_split, fit_probe  # noqa: E402
from netsci_dl.datasets import load_digits  # noqa: E402
from netsci_dl.models.classifier import ArchConfig, ClassifierConfig, train_classifier  # noqa: E402


def best(f, k=3):
    ts, out = [], None
    for _ in range(k):
        t = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t)
    return min(ts), out


def main() -> None:
    import torch

    torch.set_num_threads(1)
    d = load_digits()
    X = d.X  # rows of 64 grey levels: the LeNet reshapes them to 1 x 8 x 8
    cfg = ClassifierConfig(ArchConfig("lenet", (8, 8), 10), epochs=3, batch_size=32, seed=0)
    cnn, _ = train_classifier((X[:1400], d.y[:1400]), cfg)
    players = grid_players((8, 8), (3, 4))
    n = len(players)
    N = 1 << n
    xs, ys = X[1400:1404], d.y[1400:1404]

    # 1. masked forward passes
    t_out, V = best(lambda: masked_values(cnn, xs, ys, players, batch_size=4096)["output"], k=2)

    def feats(X):
        return layer_activations(cnn, X)

    clean = feats(X[:1400])
    heads = {k: fit_probe(F, d.y[:1400]).logits for k, F in clean.items()}
    t_all, _ = best(
        lambda: masked_values(cnn, xs, ys, players, features=feats, heads=heads, batch_size=4096),
        k=1,
    )
    rows = len(xs) * N
    print(f"[masked inputs] {n} players, {rows} masked inputs ({len(xs)} samples x {N})")
    print(f"  output only:              {rows / t_out:10.0f} forward passes/s ({t_out:.2f} s)")
    print(
        f"  output + {len(heads)} probed layers: {rows / t_all:10.0f} forward passes/s ({t_all:.2f} s)"
    )

    # 2. the transform against shapiq on the same game
    v = V[0] - V[0, 0]
    t_ours, I = best(lambda: and_interactions(v), k=5)
    try:
        import shapiq
    except ImportError:
        shapiq = None
    print(f"[AND transform] one game of {n} players ({N} values)")
    print(f"  netsci_dl and_interactions: {t_ours * 1e3:9.3f} ms")
    t_peer = None
    if shapiq is not None:

        def game(coalitions):
            idx = (np.asarray(coalitions, dtype=np.int64) << np.arange(n)).sum(axis=1)
            return v[idx]

        def peer():
            return shapiq.ExactComputer(game, n_players=n)("Moebius")

        t_peer, mob = best(peer, k=1)
        diff = max(
            abs(mob[tuple(i for i in range(n) if (m >> i) & 1)] - I[m]) for m in range(0, N, 7)
        )
        print(f"  shapiq ExactComputer Moebius: {t_peer * 1e3:9.1f} ms   |diff| = {diff:.1e}")
        print(f"  ratio peer/ours: {t_peer / t_ours:.0f}x")
        record(
            f"AND transform, {n} players", t_ours, "shapiq ExactComputer Moebius", t_peer, diff=diff
        )
    else:
        print("  shapiq not installed: pip install shapiq (peer skipped)")
        record(f"AND transform, {n} players", t_ours, "shapiq (not installed)", None)
    V20 = np.repeat(V - V[:, :1], 5, axis=0)  # 20 games (each of the 4 five times)
    t20, _ = best(lambda: and_interactions(V20), k=3)
    print(f"  20 games at once: {t20 * 1e3:.2f} ms ({t20 / 20 * 1e3:.3f} ms per game)")

    # 3. the AND-OR split
    t1, r1 = best(lambda: and_or_split(v, iterations=2000), k=1)
    V8 = V20[:8]
    t8, r8 = best(lambda: and_or_split(V8, iterations=2000, lr=1e-4), k=1)
    print("[AND-OR split] SGD, 2000 iterations")
    print(
        f"  netsci_dl, 1 game:   {t1:7.2f} s  (loss {float(r1.loss_start):.1f} -> {float(r1.loss):.1f})"
    )
    ratio = ", ".join(f"{x:.2f}" for x in r8.loss / r8.loss_start)
    print(
        f"  netsci_dl, 8 games (lr 1e-4): {t8:7.2f} s  ({t8 / 8:.3f} s per game); loss end/start {ratio}"
    )
    if t_peer is not None:
        print(
            f"  shapiq Moebius of 1 game (AND part only): {t_peer:.2f} s; ratio {t_peer / t1:.1f}x"
        )
    # dense peer: the original code's matrices (float32), one game
    eye = np.eye(N, dtype=np.float64)
    M = and_interactions(eye).T.astype(np.float32)  # column j = transform of e_j
    from netsci_dl.analysis.interactions import or_interactions

    O = or_interactions(eye).T.astype(np.float32)
    del eye
    a = (v / 2).astype(np.float32)

    def dense_iters(k=20):
        x = a.copy()
        for _ in range(k):
            Ia = M @ x
            Io = O @ x
            g = M.T @ np.sign(Ia) - O.T @ np.sign(Io)
            x -= 1e-6 * g
        return x

    td, _ = best(dense_iters, k=1)
    print(
        f"  dense 2^n x 2^n matrices (original code's approach), 1 game: {td / 20 * 2000:7.2f} s "
        f"(20 iterations timed: {td:.2f} s); ratio dense/ours {td / 20 * 2000 / t1:.1f}x"
    )
    record(
        "AND-OR split, 1 game, 2000 iterations",
        t1,
        "dense 2^n matrices (extrapolated)",
        td / 20 * 2000,
        shapiq_moebius_s=t_peer,
        eight_games_s=t8,
    )
    record(f"masked forward passes ({rows} inputs, no peer)", t_out, with_probes_s=t_all)


if __name__ == "__main__":
    main()
