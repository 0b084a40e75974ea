"""The causal-plane experiment of Marrow, Michaud & Hoel (2020), small and on the CPU.

Trains two sigmoid MLP classifiers with SGD and cross-entropy, saving snapshots in the DBN
trainer's format, then follows every layer in the causal plane (sensitivity vs degeneracy):

- Iris, 4-5-5-3 (features scaled to [0, 1]);
- scikit-learn's 8x8 digits, 64-16-16-10 (grey levels scaled to [0, 1]).

The paper reports that digits-trained layers move much more in the causal plane than
Iris-trained ones; the path length of each layer is printed so the claim can be checked (raw, in
bits, and per input-output pair, since sensitivity and degeneracy are sums over pairs).

    python examples/causal_plane.py -o out/          # about a minute on 2 CPU cores

Writes ``out/iris/`` and ``out/digits/`` (run folders with snapshots), ``out/*_trajectory.csv``
and ``out/causal_planes.{png,svg}`` (the two planes side by side).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def _iris() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_iris

    b = load_iris()
    X = np.asarray(b.data, dtype=np.float32)
    X = (X - X.min(0)) / (X.max(0) - X.min(0))
    return X, np.asarray(b.target)


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from netsci_dl.datasets import load_digits

    d = load_digits()
    return d.X, d.y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", default="causal_plane_out", help="output folder")
    ap.add_argument("--iris-epochs", type=int, default=400)
    ap.add_argument("--digits-epochs", type=int, default=60)
    ap.add_argument("--snapshots", type=int, default=20, help="snapshots per run (plus epoch 0)")
    ap.add_argument("--bins", type=int, default=8)
    ap.add_argument("--samples", type=int, default=100_000, help="noise samples for EI_parts")
    ap.add_argument("--sensitivity-samples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from netsci_dl.analysis import LayerEIOptions
    from netsci_dl.models.mlp import MLPConfig, train_mlp
    from netsci_dl.plot._base import new_figure, save_figure
    from netsci_dl.plot.ei import plot_causal_plane
    from netsci_dl.runs.trajectory import ei_trajectory

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    runs = {
        "iris": (_iris(), (4, 5, 5, 3), args.iris_epochs, 10, 1.0),
        "digits": (_digits(), (64, 16, 16, 10), args.digits_epochs, 32, 0.5),
    }
    trajectories = {}
    for name, ((X, y), layers, epochs, batch, lr) in runs.items():
        t0 = time.perf_counter()
        cfg = MLPConfig(
            layers=layers,
            epochs=epochs,
            learning_rate=lr,
            batch_size=batch,
            snapshot_every=max(1, epochs // args.snapshots),
            seed=args.seed,
            device="cpu",
        )
        _, hist = train_mlp(X, y, cfg, out / name, force=True, data_name=name)
        t1 = time.perf_counter()
        T = ei_trajectory(
            out / name,
            options=LayerEIOptions(
                bins=args.bins,
                n_samples=args.samples,
                sensitivity_samples=args.sensitivity_samples,
                seed=args.seed,
                device="cpu",
            ),
            num_threads=1,
        )
        t2 = time.perf_counter()
        T.to_frame().to_csv(out / f"{name}_trajectory.csv", index=False)
        trajectories[name] = T
        print(
            f"{name} {'-'.join(map(str, layers))}: loss {hist[0]['train_loss']:.3f} -> {hist[-1]['train_loss']:.3f}, "
            f"train accuracy {hist[-1]['train_accuracy']:.3f}; training {t1 - t0:.1f} s, "
            f"EI over {T.n_snapshots} snapshots {t2 - t1:.1f} s"
        )

    print("\ncausal-plane path length per layer (bits; per input-output pair in brackets):")
    for name, T in trajectories.items():
        cells = [
            f"L{i + 1} {a}x{b}: {raw:8.2f} ({pp:.3f})"
            for i, ((a, b), raw, pp) in enumerate(
                zip(T.layer_shapes, T.path_lengths(), T.path_lengths(per_pair=True))
            )
        ]
        print(f"  {name:7s} " + "   ".join(cells))

    fig, axes = new_figure(2, width=5.0, height=4.4)
    for ax, (name, T) in zip(axes, trajectories.items()):
        plot_causal_plane(
            T, name=f"{name} MLP {'-'.join(map(str, T.settings['layer_sizes']))}", ax=ax
        )
    png, _ = save_figure(fig, out / "causal_planes")
    print(f"\nwrote {png} (and .svg); total {time.perf_counter() - t_all:.1f} s")


if __name__ == "__main__":
    main()
