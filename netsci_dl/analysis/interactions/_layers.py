"""The interactions of every layer of a classifier, as a result object, and how they change.

:class:`LayerInteractions` holds the AND / OR interactions of the output and of each hidden
layer on every sample (made by :func:`netsci_dl.activations.layer_interactions`, which runs the
model on masked inputs); :func:`compare_layers` and :func:`snapshot_changes` compare the salient
interactions of two results, e.g. two snapshots of one run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl.analysis.interactions._sets import (
    SalientChange,
    compare_salient,
    count_by_order,
    salient_mask,
    set_label,
    strength_by_order,
)
from netsci_dl.analysis.interactions._transform import BIT_ORDER, set_orders
from netsci_dl.errors import InputError

__all__ = ["LayerInteractions", "compare_layers", "snapshot_changes"]


@dataclass(frozen=True, eq=False)
class LayerInteractions:
    """AND / OR interactions of every layer on every sample. See :func:`layer_interactions`.

    Sets are indexed by bitmask: player ``i`` is bit ``i``, least significant first
    (``settings["bit_order"]``).

    Attributes
    ----------
    layers : tuple of str
        Hidden layers in order, then ``"output"``.
    players : tuple of int ndarray
        Feature indices (flattened sample) of each player.
    targets : (n_samples,) int64 ndarray
    v : (n_layers, n_samples, 2**n) float64 ndarray
        ``v^(l)(S)``: log-odds of the target, minus ``v(empty)`` when ``settings["relative"]``.
    v_empty : (n_layers, n_samples) float64 ndarray
        The raw log-odds on the fully masked input.
    I_and, I_or : (n_layers, n_samples, 2**n) float64 ndarray
        After the AND-OR split (without a split: ``I_and`` = Harsanyi dividends, ``I_or`` = 0).
    p, q : (n_layers, n_samples, 2**n) float64 ndarray
    loss_start, loss : (n_layers, n_samples) float64 ndarray
        ``sum |I_and| + sum |I_or|`` before and after the split.
    probe_accuracy : tuple of float or None
        Training accuracy of each layer's probe (None for ``"output"``).
    label : str
        E.g. the snapshot this came from.
    settings : dict
    """

    layers: tuple[str, ...]
    players: tuple[np.ndarray, ...] = field(repr=False)
    targets: np.ndarray = field(repr=False)
    v: np.ndarray = field(repr=False)
    v_empty: np.ndarray = field(repr=False)
    I_and: np.ndarray = field(repr=False)
    I_or: np.ndarray = field(repr=False)
    p: np.ndarray = field(repr=False)
    q: np.ndarray = field(repr=False)
    loss_start: np.ndarray = field(repr=False)
    loss: np.ndarray = field(repr=False)
    probe_accuracy: tuple[float | None, ...] = ()
    label: str = ""
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def n_players(self) -> int:
        return len(self.players)

    @property
    def n_samples(self) -> int:
        return int(self.targets.size)

    def index(self, layer: str | int) -> int:
        """Position of a layer given by name or position."""
        if isinstance(layer, (int, np.integer)):
            if not -len(self.layers) <= int(layer) < len(self.layers):
                raise InputError(f"layer {layer} out of range: {len(self.layers)} layers")
            return int(layer) % len(self.layers)
        if layer not in self.layers:
            raise InputError(f"no layer {layer!r}; layers are {list(self.layers)}")
        return self.layers.index(layer)

    def salient(self, *, threshold: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(and_mask, or_mask)``, each ``(n_layers, n_samples, 2**n)`` bool (one maximum per
        layer and sample over AND and OR; empty set excluded)."""
        t = self.settings.get("salient", 0.05) if threshold is None else threshold
        m_and, m_or = salient_mask(self.I_and, self.I_or, threshold=t)
        return m_and, m_or

    def strength_by_order(self, *, salient_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``(and, or)``, each ``(n_layers, n_players + 1)``: mean over samples of ``sum_{|S|=k}
        |I(S)|`` (only over salient sets with ``salient_only``)."""
        ma, mo = self.salient() if salient_only else (None, None)
        a = strength_by_order(self.I_and, mask=ma).mean(axis=1)
        o = strength_by_order(self.I_or, mask=mo).mean(axis=1)
        return a, o

    def salient_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """``(and, or)``, each ``(n_layers, n_players + 1)``: mean number of salient sets per
        sample at each order."""
        ma, mo = self.salient()
        return count_by_order(ma).mean(axis=1), count_by_order(mo).mean(axis=1)

    def sparsity(self) -> np.ndarray:
        """``(n_layers,)``: fraction of the ``2 * (2**n - 1)`` non-empty AND and OR
        interactions that are salient (mean over samples)."""
        ma, mo = self.salient()
        k = 2 * ((1 << self.n_players) - 1)
        return (ma.sum(axis=-1) + mo.sum(axis=-1)).mean(axis=1) / k

    def changes(self) -> tuple[SalientChange, ...]:
        """Between each layer and the next: salient interactions shared, new, forgotten."""
        ma, mo = self.salient()
        return tuple(
            compare_salient(
                (ma[l], mo[l]), (ma[l + 1], mo[l + 1]), labels=(self.layers[l], self.layers[l + 1])
            )
            for l in range(len(self.layers) - 1)
        )

    def shapley(self) -> np.ndarray:
        """``(n_layers, n_samples, n_players)``: ``sum_{S containing i} (I_and + I_or)(S) / |S|``,
        the Shapley value of ``v + q``."""
        k = set_orders(self.n_players).astype(np.float64)
        w = np.where(k > 0, 1.0 / np.maximum(k, 1), 0.0)
        members = (np.arange(1 << self.n_players)[:, None] >> np.arange(self.n_players)) & 1
        return ((self.I_and + self.I_or) * w) @ members

    def top(self, layer: str | int, sample: int, k: int = 5) -> list[tuple[str, int, float]]:
        """The ``k`` strongest non-empty interactions of one layer and sample:
        ``[(kind, set index, value), ...]``, strongest first."""
        l = self.index(layer)
        vals = np.concatenate([self.I_and[l, sample, 1:], self.I_or[l, sample, 1:]])
        order = np.argsort(-np.abs(vals), kind="stable")[: int(k)]
        m = (1 << self.n_players) - 1
        return [("and" if j < m else "or", int(j % m) + 1, float(vals[j])) for j in order]

    def to_frame(self) -> Any:
        """Every value: one row per layer, sample, kind (and/or) and set, with the set's players
        (``"0+3"``), order, ``v(S)``, the interaction and whether it is salient."""
        import pandas as pd

        L, S, M = self.I_and.shape
        ma, mo = self.salient()
        labels = np.array([set_label(m) for m in range(M)], dtype=object)
        orders = set_orders(self.n_players)

        def block(kind: str, I: np.ndarray, sal: np.ndarray) -> Any:
            return pd.DataFrame(
                {
                    "layer": np.repeat(np.array(self.layers, dtype=object), S * M),
                    "sample": np.tile(np.repeat(np.arange(S), M), L),
                    "target": np.tile(np.repeat(self.targets, M), L),
                    "kind": kind,
                    "set": np.tile(np.arange(M), L * S),
                    "players": np.tile(labels, L * S),
                    "order": np.tile(orders, L * S),
                    "v": self.v.reshape(-1),
                    "interaction": I.reshape(-1),
                    "salient": sal.reshape(-1),
                }
            )

        return pd.concat(
            [block("and", self.I_and, ma), block("or", self.I_or, mo)], ignore_index=True
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary: settings, per-layer sparsity and strength / counts by order, and
        the changes between successive layers."""
        sa, so = self.strength_by_order()
        ca, co = self.salient_counts()
        sp = self.sparsity()
        return {
            "label": self.label,
            "bit_order": BIT_ORDER,
            "n_players": self.n_players,
            "n_samples": self.n_samples,
            "players": [p.tolist() for p in self.players],
            "targets": self.targets.tolist(),
            "layers": [
                {
                    "name": name,
                    "probe_accuracy": self.probe_accuracy[l],
                    "salient_fraction": float(sp[l]),
                    "strength_by_order_and": sa[l].tolist(),
                    "strength_by_order_or": so[l].tolist(),
                    "salient_by_order_and": ca[l].tolist(),
                    "salient_by_order_or": co[l].tolist(),
                    "split_loss_start": float(self.loss_start[l].mean()),
                    "split_loss": float(self.loss[l].mean()),
                }
                for l, name in enumerate(self.layers)
            ],
            "changes": [c.to_dict() for c in self.changes()],
            "settings": dict(self.settings),
        }

    def __repr__(self) -> str:
        from netsci_dl._results import short, summary

        return summary(
            "LayerInteractions",
            *([short(self.label)] if self.label else []),
            layers=self.layers,
            n_samples=self.n_samples,
            n_players=self.n_players,
            salient=self.settings.get("salient"),
        )


def compare_layers(a: LayerInteractions, b: LayerInteractions) -> tuple[SalientChange, ...]:
    """Per layer present in both (same name): salient interactions shared, new and forgotten
    from result ``a`` to result ``b`` (e.g. two snapshots of one run on the same samples)."""
    if a.n_players != b.n_players or a.n_samples != b.n_samples:
        raise InputError("compare results on the same samples and players")
    ma, mo = a.salient()
    na, no = b.salient()
    out = []
    for name in a.layers:
        if name in b.layers:
            i, j = a.index(name), b.index(name)
            lab = (f"{a.label}:{name}", f"{b.label}:{name}")
            out.append(compare_salient((ma[i], mo[i]), (na[j], no[j]), labels=lab))
    return tuple(out)


def snapshot_changes(results: Sequence[LayerInteractions]) -> tuple[tuple[SalientChange, ...], ...]:
    """:func:`compare_layers` between each result and the next (snapshots in training order)."""
    return tuple(compare_layers(a, b) for a, b in zip(results[:-1], results[1:]))
