"""The demo job: a DBN on the embedded digits, exported, thresholded and written to a folder.

Until netsci_dl's own trainer lands, the DBN is a greedy stack of scikit-learn ``BernoulliRBM``
(PCD-1), each trained on the hidden probabilities of the layer below.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["run_demo", "DEMO_LAYERS"]

DEMO_LAYERS = (64, 100, 100, 200)


def _save_rbm_checkpoint(path: Path, weights: list, vbs: list, hbs: list, meta: dict[str, Any]) -> None:
    from safetensors.numpy import save_file

    from netsci_dl.export.rbm import rbm_state_dict
    from netsci_dl.io._atomic import atomic_path

    sd = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in rbm_state_dict(weights, vbs, hbs).items()}
    with atomic_path(path) as tmp:
        save_file(sd, str(tmp), metadata={"netsci_dl": json.dumps(meta)})


def run_demo(
    output: str | Path,
    *,
    force: bool = False,
    seed: int = 0,
    epochs: int = 10,
    echo: Callable[[str], None] = print,
) -> dict[str, Path]:
    """Train, export and threshold a digits DBN; return the paths written.

    Parameters
    ----------
    output : folder
        Created if missing; existing files are replaced only with ``force``.
    seed : int
    epochs : int
        Passes over the data per RBM.
    """
    from sklearn.neural_network import BernoulliRBM

    import netsci_dl as nd
    from netsci_dl.datasets import load_digits
    from netsci_dl.io._atomic import check_writable

    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    names = {
        "checkpoint": out / "dbn_digits.safetensors",
        "initial": out / "dbn_digits_epoch0.safetensors",
        "info": out / "info.txt",
        "graph": out / "graph.npz",
        "graph_q95": out / "graph_q95.npz",
        "summary": out / "summary.json",
    }
    for p in names.values():
        check_writable(p, force=force)

    data = load_digits()
    echo(f"training a {'-'.join(map(str, DEMO_LAYERS))} DBN on {data.name} ({len(data)} images)")
    X = data.X.astype(np.float32)
    rng = np.random.default_rng(seed)
    init = [0.01 * rng.standard_normal((a, b)).astype(np.float32) for a, b in zip(DEMO_LAYERS, DEMO_LAYERS[1:])]
    weights, vbs, hbs = [], [], []
    for i, n_hidden in enumerate(DEMO_LAYERS[1:]):
        rbm = BernoulliRBM(n_components=n_hidden, learning_rate=0.05, batch_size=20, n_iter=epochs, random_state=seed + i)
        rbm.fit(X)
        weights.append(rbm.components_.T)
        vbs.append(rbm.intercept_visible_)
        hbs.append(rbm.intercept_hidden_)
        X = rbm.transform(X).astype(np.float32)
        echo(f"  RBM {i + 1}: {DEMO_LAYERS[i]} -> {n_hidden} trained")
    meta = {"image_shape": list(data.image_shape), "data": data.name, "trainer": "sklearn BernoulliRBM (PCD-1)", "epochs": epochs, "seed": seed}
    _save_rbm_checkpoint(names["checkpoint"], weights, vbs, hbs, meta)
    zeros = [np.zeros(n, np.float32) for n in DEMO_LAYERS]
    _save_rbm_checkpoint(names["initial"], init, zeros[:-1], zeros[1:], dict(meta, epochs=0))

    plan = nd.inspect(names["checkpoint"])
    names["info"].write_text(plan.summary() + "\n")
    G = nd.load(names["checkpoint"])
    G.save(names["graph"])
    H = nd.threshold.by_quantile(G, 0.95, on="abs")
    H.save(names["graph_q95"])
    summary = {
        "graph": repr(G),
        "thresholded": repr(H),
        "layers": dict(zip(G.layer_names, G.layer_sizes)),
        "threshold": H.meta["thresholds"][-1],
    }
    names["summary"].write_text(json.dumps(summary, indent=2) + "\n")
    echo(plan.summary())
    echo(f"thresholded: {H!r}")
    return names
