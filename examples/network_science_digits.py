"""Network science beyond degrees on a digits MLP: neuron measures and types, clusterability,
motifs, rich club, and pruning percolation against the accuracy of the pruned model.

Trains a sigmoid MLP 64-32-32-16-10 on the 1797 digits (SGD, netsci_dl's own trainer), takes
its graph (one node per unit, one signed edge per weight) and asks:

1. Which kinds of hidden neuron are there? Scabini & Bruno's eight measures per hidden neuron,
   clustered into ``--types`` groups by k-means on the standardised measures.
2. Is the net more clusterable than its weights shuffled within each layer (Filan et al.)?
3. With the 20% largest |w| kept: which feed-forward motifs and is there a rich club, against
   degree-preserving rewiring within each block?
4. Pruning the smallest weights first: where does the giant component break apart, and where
   does the accuracy fall?

What we saw (seed 0, 40 epochs, accuracy 0.999 on the training digits): four neuron types
that mostly follow the layers (all 16 units of the last hidden layer share one type, with one
unit of the layer below: strongly negative strength, low harmonic centrality); no more clusterable than its shuffled
weights at k = 4 (n-cut 2.13 against 2.14 +- 0.03, z = -0.3); motif counts within 2 sd of the
rewired blocks; no rich club (normalised phi <= 1 at every degree). Pruning the smallest weights:
P_inf falls below half only at f = 0.96, while the accuracy loses 0.1 at f = 0.75: the
accuracy fails well before the graph falls apart.

    python examples/network_science_digits.py -o out/    # about 35 s on 2 CPU cores

Writes ``out/neurons.csv`` (one row per hidden neuron, with its type), ``out/motifs.csv``,
``out/rich_club.csv``, ``out/percolation.csv`` (fraction, P_inf, accuracy) and
``out/summary.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", default="network_science_digits_out", help="output folder")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--types", type=int, default=4, help="neuron types (k-means)")
    ap.add_argument("--clusters", type=int, default=4, help="spectral clusters")
    ap.add_argument("--n-null", type=int, default=20, help="null graphs and shuffles")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import numpy as np
    import pandas as pd
    import torch

    import netsci_dl.analysis as na
    from netsci_dl import from_matrices
    from netsci_dl._files.atomic import atomic_path
    from netsci_dl.activations import pruning_accuracy
    from netsci_dl.datasets import load_digits
    from netsci_dl.models.mlp import MLPConfig, train_mlp
    from netsci_dl.threshold import by_quantile

    torch.set_num_threads(1)  # small model: extra threads only wait on a busy machine
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    data = load_digits()
    t0 = time.perf_counter()
    config = MLPConfig(layers=(64, 32, 32, 16, 10), epochs=args.epochs, learning_rate=0.2,
                       momentum=0.9, seed=args.seed)  # fmt: skip
    model, _ = train_mlp(data.X, data.y, config)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    G = from_matrices([m.weight.detach().numpy().T for m in linears])
    print(f"trained {G.layer_sizes} in {time.perf_counter() - t0:.1f} s: {G.n_edges} edges")

    # 1. neuron measures and types
    m = na.neuron_measures(G)
    t = na.neuron_types(m, k=args.types, seed=args.seed)
    neurons = m.to_frame().assign(type=t.labels)
    print(f"\n{len(m)} hidden neurons in {args.types} types (mean of each measure per type):")
    cols = ["strength", "current_flow_closeness", "bipartite_clustering", "harmonic"]
    print(neurons.groupby("type")[cols].mean().round(3).assign(n=neurons.groupby("type").size()))
    print("types per layer:", pd.crosstab(neurons["layer"], neurons["type"]).to_dict("index"))

    # 2. clusterability
    c = na.clusterability(G, k=args.clusters, n_shuffles=args.n_null, seed=args.seed)
    print(f"\nclusterability (k={args.clusters}): n-cut {c.ncut:.3f}, shuffled nets "
          f"{c.null.mean():.3f} +- {c.null.std(ddof=1):.3f}, z = {c.z:.2f}, "
          f"percentile {c.percentile:.0f}")  # fmt: skip

    # 3. motifs and rich club of the strongest 20% of the weights
    H = by_quantile(G, 0.8)
    mot = na.motif_counts(H, n_null=args.n_null, seed=args.seed)
    rc = na.rich_club(H, n_null=args.n_null, seed=args.seed)
    print(f"\nmotifs of the top 20% |w| ({H.n_edges} edges) against rewired blocks:")
    print(mot.to_frame().round(2).to_string(index=False))
    rcf = rc.to_frame()
    best = rcf.loc[rcf["normalized"].idxmax()]
    print(f"rich club: normalized phi peaks at {best['normalized']:.2f} for degree > "
          f"{best['r']:.0f} ({int(best['n_club'])} nodes)")  # fmt: skip

    # 4. pruning percolation against the accuracy of the pruned model
    fr = np.linspace(0, 1, 21)
    p = na.pruning_percolation(G, fr)
    acc = pruning_accuracy(model, data.X, data.y, fr)
    perc = p.to_frame().assign(accuracy=acc.accuracy)
    fall = fr[int(np.argmax(acc.accuracy < acc.accuracy[0] - 0.1))]
    print(f"\npruning smallest |w| first: P_inf breaks at f_c = {p.critical_fraction:.3f}; "
          f"the accuracy ({acc.accuracy[0]:.3f} unpruned) loses 0.1 at f = {fall:.2f}")  # fmt: skip
    print(perc.round(3).to_string(index=False))

    for name, df in (("neurons", neurons), ("motifs", mot.to_frame()), ("rich_club", rcf),
                     ("percolation", perc)):  # fmt: skip
        with atomic_path(out / f"{name}.csv") as tmp:
            df.to_csv(tmp, index=False)
    summary = {
        "types": {k: v for k, v in t.to_dict().items() if k != "labels"},
        "clusterability": {k: v for k, v in c.to_dict().items() if k != "labels"},
        "motifs": mot.to_dict(),
        "critical_fraction": p.critical_fraction,
        "accuracy_drop_fraction": float(fall),
    }
    with atomic_path(out / "summary.json") as tmp:
        Path(tmp).write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\ndone in {time.perf_counter() - t0:.1f} s; tables in {out}/")


if __name__ == "__main__":
    main()
