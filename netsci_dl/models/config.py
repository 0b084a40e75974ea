"""TrainConfig (every setting of a DBN training run) and TrainHistory (its per-epoch record)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl import _args
from netsci_dl.errors import InputError

__all__ = ["TrainConfig", "TrainHistory"]

_RBM_FIELDS = (
    "learning_rate",
    "momentum",
    "final_momentum",
    "momentum_epochs",
    "weight_decay",
    "batch_size",
    "cd_k",
    "persistent",
    "sample_visible",
    "init_std",
    "sparsity_cost",
    "sparsity_rule",
)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a DBN training run (lab defaults, shared/SCIENCE.md).

    Parameters
    ----------
    layers : tuple of int
        Layer sizes including the visible layer.
    epochs : int or tuple of int
        Epochs per RBM (required).
    learning_rate, momentum, final_momentum, momentum_epochs, weight_decay, batch_size, cd_k,
    persistent, sample_visible, init_std, sparsity_cost :
        As :class:`~netsci_dl.models.rbm.RBM`.
    sparsity_target : float or None
        Target mean hidden activation, applied to the RBMs chosen by ``sparsity_layers``.
    sparsity_rule : {"lab", "momentum"}
        ``"lab"`` (default, the lab code): while the batch's mean hidden activity exceeds the
        target, ``b_h -= lr * sparsity_cost * (q - target)`` straight on the hidden biases;
        ``"momentum"``: the push goes through the hidden-bias velocity, both ways (see
        :mod:`netsci_dl.models.rbm`). Recorded in ``config.json`` and every snapshot's metadata;
        a config saved before this option existed reads as ``"momentum"`` (what it used).
    sparsity_layers : {"top", "all", "none"}
    visible : {"bernoulli", "gaussian"}
        Visible units of the bottom RBM (upper RBMs see probabilities: Bernoulli).
    per_layer : tuple of dict
        Overrides per RBM, e.g. ``({}, {"learning_rate": 0.05})``.
    snapshot_every : int
        Snapshot every this many epochs of each RBM (0: only epoch 0 and each RBM's last epoch).
    seed : int
    device, dtype : str

    Examples
    --------
    >>> c = TrainConfig(layers=(6, 4, 3), epochs=2)
    >>> c.epochs_per_layer(), c.rbm_params(1)["sparsity_target"], c.rbm_params(0)["sparsity_target"]
    ((2, 2), 0.05, None)
    """

    layers: tuple[int, ...]
    epochs: int | tuple[int, ...]
    learning_rate: float = 0.1
    momentum: float = 0.5
    final_momentum: float = 0.9
    momentum_epochs: int = 5
    weight_decay: float = 2e-4
    batch_size: int = 125
    cd_k: int = 1
    persistent: bool = False
    sample_visible: bool = False
    init_std: float = 0.1
    sparsity_target: float | None = 0.05
    sparsity_cost: float = 1.0
    sparsity_rule: str = "lab"
    sparsity_layers: str = "top"
    visible: str = "bernoulli"
    per_layer: tuple[dict, ...] = field(default_factory=tuple)
    snapshot_every: int = 0
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"

    def __post_init__(self) -> None:
        """Check every setting (so a bad one fails before a run writes anything)."""
        from netsci_dl.models.rbm import check_rbm_settings, resolve_dtype

        def is_int(v: Any) -> bool:
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

        raw = self.layers
        if isinstance(raw, (str, bytes)) or not hasattr(raw, "__len__"):
            raise InputError(f"layers={raw!r}: expected a sequence of sizes")
        if len(raw) < 2 or not all(is_int(n) and n >= 1 for n in raw):
            raise InputError(
                f"layers={raw!r}: need at least two positive integer sizes (visible, hidden...)"
            )
        layers = tuple(int(n) for n in raw)
        object.__setattr__(self, "layers", layers)
        ep = self.epochs
        if is_int(ep):
            ep = int(ep)
        elif isinstance(ep, (tuple, list)) and all(is_int(e) for e in ep):
            ep = tuple(int(e) for e in ep)
            if len(ep) != len(layers) - 1:
                raise InputError(
                    f"epochs={self.epochs}: {len(ep)} values for {len(layers) - 1} RBMs"
                )
        else:
            raise InputError(f"epochs={self.epochs!r}: expected an integer or one integer per RBM")
        object.__setattr__(self, "epochs", ep)
        if any(e < 0 for e in self.epochs_per_layer()):
            raise InputError(f"epochs={self.epochs}: must be >= 0")
        if self.sparsity_layers not in ("top", "all", "none"):
            raise InputError(f"sparsity_layers={self.sparsity_layers!r}: expected top, all or none")
        if not is_int(self.snapshot_every) or self.snapshot_every < 0:
            raise InputError(f"snapshot_every={self.snapshot_every!r}: expected an integer >= 0")
        if not is_int(self.seed) or self.seed < 0:
            raise InputError(f"seed={self.seed!r}: expected an integer >= 0")
        if not isinstance(self.device, str):
            raise InputError(f"device={self.device!r}: expected a string such as 'cpu' or 'cuda'")
        _args.device_name("device", self.device)
        if self.dtype not in ("float32", "float64"):
            resolve_dtype(self.dtype)  # InputError for an unknown name
        if not isinstance(self.per_layer, (tuple, list)) or not all(
            isinstance(d, dict) for d in self.per_layer
        ):
            raise InputError(f"per_layer={self.per_layer!r}: expected a sequence of dicts")
        per = tuple(dict(d) for d in self.per_layer)
        if len(per) > len(layers) - 1:
            raise InputError(f"per_layer has {len(per)} entries for {len(layers) - 1} RBMs")
        for i, d in enumerate(per):
            bad = set(d) - set(_RBM_FIELDS) - {"sparsity_target"}
            if bad:
                raise InputError(
                    f"per_layer[{i}]: unknown settings {sorted(bad)}; allowed: {_RBM_FIELDS}"
                )
        object.__setattr__(self, "per_layer", per)
        if self.visible not in ("bernoulli", "gaussian"):
            raise InputError(f"visible={self.visible!r}: expected 'bernoulli' or 'gaussian'")
        if self.sparsity_target is not None:
            check_rbm_settings({"sparsity_target": self.sparsity_target})
        for i in range(len(layers) - 1):
            p = self.rbm_params(i)
            p.pop("device"), p.pop("dtype")
            check_rbm_settings(p, where=f"RBM {i}: " if i < len(per) and per[i] else "")

    def epochs_per_layer(self) -> tuple[int, ...]:
        n = len(self.layers) - 1
        return self.epochs if isinstance(self.epochs, tuple) else (int(self.epochs),) * n

    def rbm_params(self, i: int) -> dict[str, Any]:
        """Keyword arguments of :class:`~netsci_dl.models.rbm.RBM` for RBM ``i``."""
        n = len(self.layers) - 1
        sparse = self.sparsity_layers == "all" or (self.sparsity_layers == "top" and i == n - 1)
        p = {k: getattr(self, k) for k in _RBM_FIELDS}
        p["sparsity_target"] = self.sparsity_target if sparse else None
        if i < len(self.per_layer):
            p.update(self.per_layer[i])
        seed = int(np.random.SeedSequence([int(self.seed), i]).generate_state(1)[0])
        p.update(
            n_hidden=self.layers[i + 1],
            visible=self.visible if i == 0 else "bernoulli",
            n_epochs=self.epochs_per_layer()[i],
            seed=seed,
            device=self.device,
            dtype=self.dtype,
        )
        return p

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["layers"] = list(self.layers)
        d["epochs"] = list(self.epochs) if isinstance(self.epochs, tuple) else self.epochs
        d["per_layer"] = [dict(x) for x in self.per_layer]
        return d

    def __repr__(self) -> str:
        from netsci_dl._results import changed_only

        return changed_only(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """The config of :meth:`to_dict` (``config.json``, a snapshot's metadata); InputError if bad.

        A dict without ``sparsity_rule`` (written before the option existed) gets
        ``"momentum"``, the rule such runs were trained with.
        """
        if not isinstance(d, dict):
            raise InputError(
                f"a training configuration must be a JSON object, not {type(d).__name__}"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        bad = set(d) - names
        if bad:
            raise InputError(f"unknown TrainConfig fields {sorted(bad)}")
        missing = {"layers", "epochs"} - set(d)
        if missing:
            raise InputError(f"the training configuration lacks {sorted(missing)}")
        d = dict(d)
        d.setdefault("sparsity_rule", "momentum")
        for key in ("layers", "epochs", "per_layer"):
            if isinstance(d.get(key), list):
                d[key] = tuple(d[key])
        return cls(**d)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class TrainHistory:
    """One record per (layer, epoch): ``layer``, ``epoch``, ``step``, ``recon_error``, ``seconds``.

    ``recon_error`` is the mean squared error per visible unit between each mini-batch and its
    reconstruction during the epoch: the visible means given the hidden sample drawn from the
    batch in the positive phase, with the parameters before the batch's update. One definition
    for CD-1, CD-k and PCD (see :meth:`netsci_dl.models.rbm.RBM.fit_epoch`).
    """

    records: tuple[dict, ...] = ()

    def layer(self, i: int) -> list[dict]:
        return [r for r in self.records if r["layer"] == i]

    def recon_errors(self, i: int) -> np.ndarray:
        return np.array([r["recon_error"] for r in self.layer(i)])

    def to_dict(self) -> dict[str, Any]:
        return {"records": [dict(r) for r in self.records]}

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(
            list(self.records), columns=["layer", "epoch", "step", "recon_error", "seconds"]
        )

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        layers = sorted({r["layer"] for r in self.records})
        last = self.records[-1] if self.records else {}
        return summary(
            "TrainHistory",
            records=len(self.records),
            layers=len(layers),
            epochs=tuple(len(self.layer(i)) for i in layers),
            steps=last.get("step"),
            recon_error=last.get("recon_error"),
        )
