"""ClassifierConfig: every setting of a classifier training run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from netsci_dl.errors import InputError
from netsci_dl.models._archs import ArchConfig
from netsci_dl.models.deficits import Deficit, schedule_epoch

__all__ = ["ClassifierConfig", "OPTIMIZERS", "SCHEDULES"]

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "step", "exponential")


@dataclass(frozen=True)
class ClassifierConfig:
    """Everything that defines a classifier training run.

    Parameters
    ----------
    arch : ArchConfig
    epochs : int
        Epochs to train (required).
    optimizer : {"sgd", "adam"}
        SGD with ``momentum`` (heavy ball, torch's convention), or Adam (betas 0.9, 0.999).
    learning_rate : float
    momentum : float
        SGD only.
    weight_decay : float
        L2 penalty added to the gradient (torch's ``weight_decay``; coupled for Adam).
    schedule : {"constant", "step", "exponential"}
        Learning rate at schedule epoch t: ``lr``, ``lr * gamma ** (t // step_size)``,
        ``lr * gamma ** t``; set at the start of each epoch. A19: exponential, gamma 0.97.
    gamma : float
    step_size : int
    batch_size : int
    deficit : Deficit or None
    lr_reset : bool
        Restart the schedule at the deficit's removal epoch
        (:func:`~netsci_dl.models.deficits.schedule_epoch`).
    snapshot_every : int
        Snapshot every this many epochs (epoch 0 and the last always; 0: only those).
    seed : int
        Fixes the initialisation and the minibatch order.
    device, dtype : str

    Examples
    --------
    >>> c = ClassifierConfig(ArchConfig("mlp", (4,), 3), epochs=5, schedule="exponential",
    ...                      gamma=0.5, learning_rate=0.1)
    >>> [round(c.lr_at(i), 4) for i in range(3)]
    [0.1, 0.05, 0.025]
    """

    arch: ArchConfig
    epochs: int
    optimizer: str = "sgd"
    learning_rate: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "constant"
    gamma: float = 0.97
    step_size: int = 30
    batch_size: int = 128
    deficit: Deficit | None = None
    lr_reset: bool = False
    snapshot_every: int = 1
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if not isinstance(self.arch, ArchConfig):
            raise InputError(f"arch must be an ArchConfig, got {type(self.arch).__name__}")
        if self.deficit is not None and not isinstance(self.deficit, Deficit):
            raise InputError(
                f"deficit must be a Deficit or None, got {type(self.deficit).__name__}"
            )
        if self.optimizer not in OPTIMIZERS:
            raise InputError(f"optimizer {self.optimizer!r}: expected one of {OPTIMIZERS}")
        if self.schedule not in SCHEDULES:
            raise InputError(f"schedule {self.schedule!r}: expected one of {SCHEDULES}")
        if self.dtype not in ("float32", "float64"):
            raise InputError(f"dtype {self.dtype!r}: expected 'float32' or 'float64'")
        for k in ("epochs", "batch_size", "step_size", "snapshot_every", "seed"):
            object.__setattr__(self, k, int(getattr(self, k)))
        if self.epochs < 0 or self.snapshot_every < 0:
            raise InputError("epochs and snapshot_every must be >= 0")
        if self.batch_size < 1 or self.step_size < 1:
            raise InputError("batch_size and step_size must be >= 1")
        if not self.learning_rate > 0:
            raise InputError(f"learning_rate={self.learning_rate}: must be > 0")
        if not 0 <= self.momentum < 1:
            raise InputError(f"momentum={self.momentum}: must be in [0, 1)")
        if self.weight_decay < 0 or not self.gamma > 0:
            raise InputError("weight_decay must be >= 0 and gamma > 0")

    def lr_at(self, epoch_index: int) -> float:
        """The learning rate of epoch ``epoch_index`` (0-based), after ``lr_reset``."""
        t = schedule_epoch(epoch_index, self.deficit, lr_reset=self.lr_reset)
        if self.schedule == "constant":
            return float(self.learning_rate)
        if self.schedule == "step":
            return float(self.learning_rate * self.gamma ** (t // self.step_size))
        return float(self.learning_rate * self.gamma**t)

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["arch"] = self.arch.to_dict()
        d["deficit"] = None if self.deficit is None else self.deficit.to_dict()
        return d

    def __repr__(self) -> str:
        from netsci_dl._results import changed_only

        return changed_only(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClassifierConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        bad = set(d) - names
        if bad:
            raise InputError(f"unknown ClassifierConfig fields {sorted(bad)}")
        d = dict(d)
        d["arch"] = ArchConfig.from_dict(d["arch"])
        if d.get("deficit") is not None:
            d["deficit"] = Deficit.from_dict(d["deficit"])
        return cls(**d)

    def replace(self, **changes: Any) -> ClassifierConfig:
        return dataclasses.replace(self, **changes)
