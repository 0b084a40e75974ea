"""Interactions of a network's output and of each hidden layer (CH24), and how they change.

A hidden layer ``l`` has no scalar output of its own; as in CH24 it gets one from a linear probe
(multinomial logistic regression on standardised features) fitted on the layer's features of
*clean* (unmasked) data, and ``v^(l)(S)`` is the probe's log-odds of the target class on the
masked input ``x_S``. The model's own output is the last layer, ``"output"``. Every layer's
``v^(l)`` is split into AND and OR interactions (:func:`and_or_split`), and the salient ones
(``|I| > 0.05 max |I|``) are compared between successive layers (overlap, new, forgotten).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl.analysis._interactions_probe import LinearProbe, _column_head, fit_probe
from netsci_dl.analysis._interactions_sets import (
    SalientChange,
    compare_salient,
    count_by_order,
    salient_mask,
    set_label,
    strength_by_order,
)
from netsci_dl.analysis._interactions_split import SplitOptions, and_or_split
from netsci_dl.analysis._interactions_transform import BIT_ORDER, moebius_, set_orders
from netsci_dl.errors import InputError

__all__ = [
    "LinearProbe",
    "fit_probe",
    "LayerInteractions",
    "layer_interactions",
    "compare_layers",
    "snapshot_changes",
]

log = logging.getLogger(__name__)

#: the default AND-OR split (frozen, shared)
DEFAULT_SPLIT = SplitOptions()


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


def layer_interactions(
    model: Any,
    X: Any,
    y: Any,
    *,
    players: Sequence[Any],
    features: Callable[[np.ndarray], Mapping[str, Any]] | str | None = "layers",
    probe_data: tuple[Any, Any] | None = None,
    probes: Mapping[str, LinearProbe] | None = None,
    baseline: Any = "zero",
    relative: bool = True,
    split: SplitOptions | None = DEFAULT_SPLIT,
    salient: float = 0.05,
    rest: str = "keep",
    batch_size: int = 2048,
    device: Any = None,
    label: str = "",
) -> LayerInteractions:
    """AND and OR interactions of the output and of every hidden layer of a classifier (CH24).

    Parameters
    ----------
    model : torch nn.Module
        Logits out.
    X : (n_samples, *sample_shape) array
        The samples to explain, in the model's input layout.
    y : (n_samples,) int
        Target class of each (usually its label).
    players : sequence of index groups
        Into the flattened sample (:func:`netsci_dl.activations._masking.grid_players`).
    features : "layers", callable or None
        ``"layers"`` (default): every layer :func:`netsci_dl.activations.layer_activations`
        takes (each Linear / convolution, after its activation; channels averaged over space).
        A callable ``features(X_batch) -> {layer: (b, d) array}`` gives hidden features of any
        batch of inputs. None: only the model's output is analysed.
    probe_data : (X_fit, y_fit), optional
        Clean data the probes are fitted on (default ``(X, y)``; pass a larger set).
    probes : mapping, optional
        Probes to use as they are (e.g. fixed across snapshots); layers without one get a new
        probe fitted on ``probe_data``.
    baseline : "zero", "mean", "learned" or array
        Value of masked features ("mean": of ``probe_data``'s inputs; "learned":
        :func:`~netsci_dl.activations._masking.learn_baseline` on ``X``).
    relative : bool
        Subtract ``v(empty)`` from every ``v`` (default, CH24).
    split : SplitOptions or None
        The AND-OR split; None: AND interactions only (Harsanyi dividends of ``v``).
    salient : float
        Salient threshold, a fraction of the largest strength.
    rest, batch_size, device : see :func:`~netsci_dl.activations._masking.masked_values`.
    label : str
        Stored in the result (snapshot name).

    Returns
    -------
    LayerInteractions

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Linear(2, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.tensor([[1.0, 2.0], [0.0, 0.0]]))
    >>> r = layer_interactions(net, np.ones((1, 2)), [0], players=[[0], [1]], split=None,
    ...                        features=None)
    >>> r.layers, r.I_and[0, 0].tolist()      # additive: no interaction of order 2
    (('output',), [0.0, 1.0, 2.0, 0.0])
    """
    from netsci_dl._array import to_numpy
    from netsci_dl.activations._masking import learn_baseline, masked_values

    Xn = np.asarray(to_numpy(X), dtype=np.float32)
    yn = np.asarray(to_numpy(y)).astype(np.int64).reshape(-1)
    Xfit, yfit = (Xn, yn) if probe_data is None else probe_data
    Xfit = np.asarray(to_numpy(Xfit), dtype=np.float32)
    yfit = np.asarray(to_numpy(yfit)).astype(np.int64).reshape(-1)
    probes = dict(probes or {})
    given = set(probes)
    probe_note = "none (output only)"
    if isinstance(features, str):
        if features != "layers":
            raise InputError(f"features must be 'layers', a callable or None, got {features!r}")
        import torch

        from netsci_dl.activations import layer_activations
        from netsci_dl.activations._masking import _model_device

        probe = Xfit[: min(8, len(Xfit))]
        first = layer_activations(model, probe, batch_size=batch_size, device=device)
        with torch.no_grad():
            dev = _model_device(model, device)
            logits = model(torch.as_tensor(probe, device=dev)).detach().cpu().double().numpy()
        keep = [  # the layer that is the model's output is analysed as "output", not probed
            k
            for k, F in first.items()
            if not (np.shape(F) == logits.shape and np.allclose(F, logits, atol=1e-6))
        ]

        def features(Xb: np.ndarray) -> Mapping[str, Any]:
            A = layer_activations(model, Xb, batch_size=batch_size, device=device)
            return {k: A[k] for k in keep}

    if features is not None:
        clean = features(Xfit)
        for k, F in clean.items():
            if k not in probes:
                probes[k] = fit_probe(np.asarray(to_numpy(F)).reshape(len(yfit), -1), yfit)
        probes = {k: probes[k] for k in clean}
        probe_note = (
            "multinomial logistic regression on standardised features, "
            + (
                "fitted on probe_data"
                if probe_data is not None
                else "fitted on the explained samples"
            )
            + ("; given probes kept as they are: " + ", ".join(sorted(given)) if given else "")
        )
    for k, pr in probes.items():
        bad = np.setdiff1d(yn, pr.classes)
        if bad.size:
            raise InputError(f"targets {bad.tolist()} are not classes of the probe of {k!r}")
    heads = {k: _column_head(pr) for k, pr in probes.items()}
    if isinstance(baseline, str) and baseline == "learned":
        base = learn_baseline(model, Xn, yn, players, rest=rest, device=device)
        base_note: Any = "learned (L1 on I_and, clipped to the data range)"
    elif isinstance(baseline, str) and baseline == "mean":
        base = Xfit.reshape(Xfit.shape[0], -1).mean(axis=0)
        base_note = "mean of the probe data" if probe_data is not None else "mean of X"
    else:
        base = baseline
        base_note = baseline if isinstance(baseline, str) else "given array"
    vals = masked_values(
        model,
        Xn,
        yn,
        players,
        baseline=base,
        features=features if heads else None,
        heads=heads,
        rest=rest,
        batch_size=batch_size,
        device=device,
    )
    names = tuple(vals)
    V = np.stack([vals[k] for k in names])  # (L, S, 2**n)
    v_empty = V[..., 0].copy()
    if relative:
        V = V - V[..., :1]
    n = V.shape[-1].bit_length() - 1
    if split is not None:
        r = and_or_split(
            V,
            qthres=split.qthres,
            iterations=split.iterations,
            lr=split.lr,
            lr_end=split.lr_end,
            momentum=split.momentum,
            method=split.method,
        )
        Ia, Io, p, q, l0, l1 = r.I_and, r.I_or, r.p, r.q, r.loss_start, r.loss
        split_note: Any = split.to_dict()
    else:
        Ia = moebius_(V.copy(), n)
        Io = np.zeros_like(V)
        p = np.zeros_like(V)
        q = np.zeros_like(V)
        l0 = l1 = np.abs(Ia).sum(axis=-1)
        split_note = None
    from netsci_dl.activations._masking import check_players

    groups = check_players(players, int(np.prod(Xn.shape[1:])))
    settings = {
        "bit_order": BIT_ORDER,
        "value": "log-odds of the target class, log p / (1 - p), from logits (logsumexp)",
        "relative": bool(relative),
        "baseline": base_note,
        "rest": rest,
        "probe": probe_note,
        "split": split_note,
        "salient": float(salient),
        "n_samples": int(yn.size),
        "n_probe_samples": int(yfit.size) if features is not None else 0,
    }
    return LayerInteractions(
        layers=names,
        players=groups,
        targets=yn,
        v=V,
        v_empty=v_empty,
        I_and=Ia,
        I_or=Io,
        p=p,
        q=q,
        loss_start=np.asarray(l0),
        loss=np.asarray(l1),
        probe_accuracy=tuple(probes[k].accuracy if k in probes else None for k in names),
        label=str(label),
        settings=settings,
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
