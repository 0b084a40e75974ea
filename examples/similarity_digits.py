"""Do layers converge bottom-up? Raghu et al.'s (SVCCA, 2017) question on the embedded digits.

Trains, with netsci_dl's own trainers and snapshots at every epoch,

- a DBN 64-48-32-16 (greedy CD-1, the lab settings of shared/SCIENCE.md), and
- a sigmoid MLP classifier 64-32-32-16-10 (SGD, cross-entropy),

then follows every layer's representation of the 1797 digits over training: its similarity
(linear CKA by default) to the same layer at the end of training, and the layer x layer grid
within each snapshot. For each model it prints the step from which each layer stays above a
threshold of similarity to its final state, and says whether the lower layers got there first.

For the DBN the answer is built in: the trainer is greedy, so RBM k does not move before RBMs
1..k-1 are done. The MLP, whose layers all train at once, is the real test. What we saw (seed 0,
linear CKA, 1797 digits): the DBN converges bottom-up (0.95 of its final state from step 3, 9
and 18 for h1, h2, h3); the MLP (SGD with momentum 0.9) does not: all four layers reach 0.9
together at epochs 15-16 and 0.95 at epochs 20-21, when the accuracy jumps. With plain SGD
(``--momentum 0 --lr 0.5 --mlp-epochs 100``) the two lower layers settled before the two upper
ones (0.95 from epochs 36-38 vs 50), but the first two were not in order.

    python examples/similarity_digits.py -o out/        # well under a minute on 2 CPU cores

Writes ``out/dbn/`` and ``out/mlp/`` (run folders), and ``out/{dbn,mlp}_similarity/`` (the
tables and figures of ``netsci-dl similarity``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def _order(conv) -> str:  # noqa: ANN001
    """How the layers' convergence steps are ordered, bottom layer first."""
    import numpy as np

    if not np.all(np.isfinite(conv)):
        return "some layer never gets there"
    spread = float(conv.max() - conv.min())
    if spread <= 2:
        return f"together (within {spread:g} steps)"
    d = np.diff(conv)
    if np.all(d >= 0):
        return "bottom-up"
    if np.all(d <= 0):
        return "top-down"
    return "mixed order"


def _verdict(T, thresholds: tuple[float, ...]) -> str:  # noqa: ANN001
    lines, orders = [], []
    for t in thresholds:
        conv = T.converged_at(t)
        steps = ", ".join(
            f"{lay}: {'never' if c != c else int(c)}" for lay, c in zip(T.layers, conv)
        )
        orders.append(_order(conv))
        lines.append(f"  stays >= {t:g} of its final state from step  {steps}  -> {orders[-1]}")
    yes = all(o == "bottom-up" for o in orders)
    lines.append(f"  do the lower layers converge first here? {'yes' if yes else 'no'}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", default="similarity_digits_out", help="output folder")
    ap.add_argument("--dbn-epochs", type=int, default=6, help="epochs per RBM")
    ap.add_argument("--mlp-epochs", type=int, default=40)
    ap.add_argument("--lr", type=float, default=0.2, help="MLP learning rate")
    ap.add_argument("--momentum", type=float, default=0.9, help="MLP momentum")
    ap.add_argument("--measure", default="cka")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from netsci_dl._files.atomic import atomic_path
    from netsci_dl.datasets import load_digits
    from netsci_dl.models.mlp import MLPConfig, train_mlp
    from netsci_dl.models.train import TrainConfig, train_dbn
    from netsci_dl.plot.similarity import similarity_figures
    from netsci_dl.runs.similarity import training_similarity

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    data = load_digits()
    t0 = time.perf_counter()
    train_dbn(
        data,
        TrainConfig(
            layers=(64, 48, 32, 16),
            epochs=args.dbn_epochs,
            batch_size=50,
            snapshot_every=1,
            seed=args.seed,
        ),
        out / "dbn",
        force=True,
        progress=False,
    )
    train_mlp(
        data.X,
        data.y,
        MLPConfig(
            layers=(64, 32, 32, 16, 10),
            epochs=args.mlp_epochs,
            learning_rate=args.lr,
            momentum=args.momentum,
            seed=args.seed,
        ),
        out / "mlp",
        force=True,
        image_shape=data.image_shape,
        data_name=data.name,
    )
    t1 = time.perf_counter()
    print(f"trained the DBN and the MLP in {t1 - t0:.1f} s")
    for kind in ("dbn", "mlp"):
        T = training_similarity(out / kind, data, measure=args.measure)
        folder = out / f"{kind}_similarity"
        folder.mkdir(exist_ok=True)
        with atomic_path(folder / "similarity.csv") as tmp:
            T.to_frame().to_csv(tmp, index=False)
        with atomic_path(folder / "similarity_summary.csv") as tmp:
            T.summary_frame().to_csv(tmp, index=False)
        similarity_figures(T, folder, name=f"{kind.upper()} on digits")
        print(
            f"{kind.upper()}: {T.n_snapshots} snapshots, {args.measure} of each layer to its final state"
        )
        print(_verdict(T, (0.8, 0.9, 0.95)))
        print(
            f"  first snapshot vs final, per layer: {[round(float(v), 3) for v in T.to_reference[0]]}"
        )
    print(f"similarity maps in {time.perf_counter() - t1:.1f} s; figures and tables in {out}/")


if __name__ == "__main__":
    main()
