"""AND / OR interactions of a classifier and of each of its layers, for a model file or a run
folder (its final model, and with ``snapshots`` every snapshot: the changes over training).

:func:`run_interactions` draws the examples to explain from a data set, cuts each into a grid
of patches (the players), and runs :func:`netsci_dl.activations.layer_interactions` on every
model (one task each, through :func:`netsci_dl.parallel.map_tasks`); the linear probes of the
hidden layers are fitted on the whole data set. :class:`InteractionRun` holds the results and
gives the tables ``netsci-dl interactions`` writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl._args import count, device_name
from netsci_dl.analysis.interactions import SplitOptions
from netsci_dl.errors import InputError

__all__ = ["InteractionOptions", "InteractionRun", "run_interactions"]


#: Most examples one call explains (each costs 2**players forward passes per model)
MAX_EXPLAIN = 100_000


@dataclass(frozen=True)
class InteractionOptions:
    """Every choice of :func:`run_interactions`.

    Parameters
    ----------
    players : (int, int) or str
        Grid of image patches (rows, columns): ``3x3`` makes 9 players; or feature groups of
        tabular data, ``"features:0-3,4-7,8"`` (indices into the flattened sample,
        :func:`~netsci_dl.activations.feature_players`); or token positions of token data,
        ``"tokens"`` (each position a player) or ``"tokens:0-3,4-7"`` (groups of positions,
        :func:`~netsci_dl.activations.token_players`). At most 16 players (2**n coalitions).
    explain : int
        Examples of the data set to explain, drawn at random by ``seed`` (1 to ``MAX_EXPLAIN``).
    sample_shape : tuple of int, optional
        One example as the model takes it, without the batch axis (e.g. ``(1, 8, 8)``);
        default flat (the data's features).
    baseline : {"zero", "mean", "learned"}
        Value of masked patches (not for tokens: see ``token_mask``).
    split : SplitOptions
        The AND-OR split (CH24's SGD or the exact linear program).
    salient : float
        Salient threshold, a fraction of the largest strength.
    seed : int
        Which examples are drawn.
    device : str, optional
        torch device (default: the model's, the CPU).
    token_mask : {"id", "attention"}
        Token players: a token outside the coalition gets the mask id (``"id"``) or attention
        mask 0 (``"attention"``).
    mask_id : int, optional
        With ``token_mask="id"``: the mask id (default: the model's ``mask_token_id``, its
        tokenizer's mask token, else its ``pad_token_id``; none known: an InputError).

    Examples
    --------
    >>> InteractionOptions(players=(2, 2), explain=3).split.method
    'sgd'
    """

    players: tuple[int, int] | str = (3, 3)
    explain: int = 20
    sample_shape: tuple[int, ...] | None = None
    baseline: str = "zero"
    split: SplitOptions = field(default_factory=SplitOptions)
    salient: float = 0.05
    seed: int = 0
    device: str | None = None
    token_mask: str = "id"
    mask_id: int | None = None

    def __repr__(self) -> str:
        from netsci_dl._results import changed_only

        return changed_only(self)

    def to_dict(self) -> dict[str, Any]:
        """Every choice (JSON-able)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["split"] = self.split.to_dict()
        d["players"] = self.players if isinstance(self.players, str) else list(self.players)
        d["sample_shape"] = None if self.sample_shape is None else list(self.sample_shape)
        return d

    def _check_tokens(self) -> None:
        from netsci_dl.activations import TOKEN_MASKS

        if self.token_mask not in TOKEN_MASKS:
            raise InputError(
                f"token_mask={self.token_mask!r}: expected one of {sorted(TOKEN_MASKS)}"
            )
        if self.mask_id is not None:
            object.__setattr__(self, "mask_id", count("mask_id", self.mask_id, lo=0))
        tokens = isinstance(self.players, str) and self.players.strip().startswith("tokens")
        if not tokens and (self.mask_id is not None or self.token_mask != "id"):
            raise InputError("mask_id and token_mask apply to token players (players='tokens')")
        if self.token_mask == "attention" and self.mask_id is not None:
            raise InputError("mask_id is for token_mask='id'; token_mask='attention' uses none")

    def __post_init__(self) -> None:
        object.__setattr__(self, "explain", count("explain", self.explain, hi=MAX_EXPLAIN))
        object.__setattr__(self, "seed", count("seed", self.seed, lo=0))
        device_name("device", self.device)
        if isinstance(self.players, str):
            from netsci_dl.activations import feature_players

            if self.players.strip() != "tokens":  # refused when malformed or above the bound
                feature_players(self.players.strip().removeprefix("tokens:"))
        else:
            g = tuple(int(v) for v in self.players)
            if len(g) != 2 or min(g) < 1:
                raise InputError(f"players={self.players!r}: expected a grid such as (3, 3)")
            object.__setattr__(self, "players", g)
        if self.sample_shape is not None:
            s = tuple(int(v) for v in self.sample_shape)
            if not s or min(s) < 1:
                raise InputError(f"sample_shape={self.sample_shape!r}: sizes must be positive")
            object.__setattr__(self, "sample_shape", s)
        self._check_tokens()


@dataclass(frozen=True)
class InteractionRun:
    """The interactions of one or more models (snapshots in order, the final model last).

    Attributes
    ----------
    results : tuple of LayerInteractions
        One per model, labelled with its snapshot (``final`` for a run's final model).
    source : str
        The model file or run folder.
    data : str
        The data set (``digits``, ``mnist:PATH``).
    sample_indices : (explain,) int ndarray
        The explained examples' rows in the data set.
    images : ndarray
        The explained examples, in the model's input layout.
    image_shape : tuple of int
        The data's image shape (for figures).
    """

    results: tuple[Any, ...]
    source: str
    data: str
    sample_indices: np.ndarray
    images: np.ndarray
    image_shape: tuple[int, ...]

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        return summary(
            "InteractionRun",
            models=len(self.results),
            layers=self.final.layers,
            explained=len(self.sample_indices),
            source=self.source,
            data=self.data,
        )

    @property
    def final(self) -> Any:
        """The last model's :class:`~netsci_dl.analysis.interactions.LayerInteractions`."""
        return self.results[-1]

    def to_dict(self) -> dict[str, Any]:
        """The last model's summary (JSON-able), with the source, data and explained rows."""
        return dict(
            self.final.to_dict(),
            source=self.source,
            data=self.data,
            sample_indices=self.sample_indices.tolist(),
        )

    def to_frame(self) -> Any:
        """Every interaction value of every model, one row each (column ``snapshot``)."""
        import pandas as pd

        frames = [r.to_frame().assign(snapshot=r.label) for r in self.results]
        return pd.concat(frames, ignore_index=True)

    def strength_frame(self) -> Any:
        """Per layer and order: the AND / OR strength and the number of salient interactions
        of the last model."""
        import pandas as pd

        R = self.final
        sa, so = R.strength_by_order()
        ca, co = R.salient_counts()
        rows = [
            {"layer": layer, "order": k, "strength_and": sa[i, k], "strength_or": so[i, k],
             "salient_and": ca[i, k], "salient_or": co[i, k]}
            for i, layer in enumerate(R.layers)
            for k in range(R.n_players + 1)
        ]  # fmt: skip
        return pd.DataFrame(rows)

    def layer_changes_frame(self) -> Any:
        """How the salient interactions change from each layer to the next (last model)."""
        import pandas as pd

        ch = [c.to_frame() for c in self.final.changes()]
        return pd.concat(ch, ignore_index=True) if ch else pd.DataFrame()

    def snapshot_changes_frame(self) -> Any:
        """How each layer's salient interactions change from each model to the next."""
        import pandas as pd

        from netsci_dl.analysis.interactions import snapshot_changes

        sc = [c.to_frame() for pair in snapshot_changes(self.results) for c in pair]
        return pd.concat(sc, ignore_index=True) if sc else pd.DataFrame()


def _interaction_job(task: tuple[str, str], shared: tuple[Any, ...]) -> Any:
    """The interactions of one model file (a task of :func:`netsci_dl.parallel.map_tasks`)."""
    from netsci_dl.activations import layer_interactions
    from netsci_dl.runs.checkpoints import runnable

    label, path = task
    X, y, probe, groups, baseline, split, salient, device, tokens = shared
    return layer_interactions(
        runnable(path, "cpu"),
        X,
        y,
        players=groups,
        features="layers",
        probe_data=probe,
        baseline=baseline,
        **tokens,
        options=split,
        salient=salient,
        device=device,
        label=label,
    )


def run_interactions(
    source: str | os.PathLike,
    data: str = "digits",
    *,
    options: InteractionOptions | None = None,
    snapshots: bool = False,
    n_jobs: int | None = 1,
) -> InteractionRun:
    """AND / OR interactions (CH24) between image patches (or feature groups, or token
    positions), of the output and of each hidden layer of the model(s) in ``source``, for
    examples drawn from ``data``.

    Token data (``tokens:PATH``) keeps its ``attention_mask``: it reaches every model whose
    ``forward`` takes one, for the explained examples and the probes' clean data alike.

    Parameters
    ----------
    source : path, or a list of models
        A model file, or a run folder (its final model; with ``snapshots`` every snapshot
        first, in order); or a user's own models in order: torch modules, or checkpoints
        with their class (:func:`netsci_dl.runs.checkpoints.checkpoint_models`).
    data : str
        A data spec (:func:`netsci_dl.datasets.load_dataset`: ``digits``, ``npz:PATH``,
        ``tokens:PATH`` ...), with labels: the examples to explain and the clean data the
        layers' linear probes are fitted on.
    options : InteractionOptions, optional
    snapshots : bool
    n_jobs : int, optional
        Worker processes over the models (:func:`netsci_dl.parallel.map_tasks`).

    Returns
    -------
    InteractionRun

    Raises
    ------
    InputError
        A run folder without models, or a sample shape that does not hold the data's features.
    """
    from netsci_dl.datasets import load_dataset
    from netsci_dl.parallel import map_tasks

    o = options or InteractionOptions()
    ds = load_dataset(data)
    if not ds.has_labels:
        raise InputError(f"{data}: interactions explain a class; the data have no labels (y)")
    models, where = _models(source, snapshots)
    n = ds.X.shape[1]
    shape = o.sample_shape or (n,)
    if int(np.prod(shape)) != n:
        given = "x".join(map(str, shape))
        raise InputError(f"sample shape {given}: the data have {n} features per sample")
    X = ds.X.reshape((len(ds.X), *shape))
    pick = np.random.default_rng(o.seed).permutation(len(X))[: max(1, o.explain)]
    groups, tokens = _players(o, ds, shape)
    M = ds.attention_mask
    probe = (X, ds.y) if M is None else (X, ds.y, M)
    if M is not None:
        tokens = dict(tokens, attention_mask=M[pick])
    shared = (X[pick], ds.y[pick], probe, groups, o.baseline, o.split, o.salient, o.device, tokens)
    results = map_tasks(
        _interaction_job, models, shared=shared, n_jobs=n_jobs, desc="interactions", unit="model"
    )
    return InteractionRun(tuple(results), where, data, pick, X[pick], ds.image_shape)


def _players(o: InteractionOptions, ds: Any, shape: tuple[int, ...]) -> tuple[Any, dict]:
    """The players of ``o.players`` on data ``ds`` and the token keywords of
    :func:`~netsci_dl.activations.layer_interactions` (empty unless token players)."""
    from netsci_dl.activations import feature_players, grid_players, token_players

    if isinstance(o.players, str) and o.players.strip().startswith("tokens"):
        if ds.X.dtype.kind not in "iu":
            raise InputError(
                f"players {o.players!r}: {ds.name} holds {ds.X.dtype} values, not token ids "
                "(--data tokens:PATH)"
            )
        return token_players(o.players, ds.X.shape[1]), {
            "token_mask": o.token_mask,
            "mask_id": o.mask_id,
        }
    if isinstance(o.players, str):
        return feature_players(o.players), {}
    return grid_players(shape if len(shape) >= 2 else ds.image_shape, o.players), {}


def _models(source: Any, snapshots: bool) -> tuple[list[tuple[str, Any]], str]:
    """``[(label, model file, CheckpointModel or module), ...]`` and the source's name."""
    from netsci_dl.runs.checkpoints import CheckpointModel
    from netsci_dl.runs.files import model_files

    if isinstance(source, str | os.PathLike):
        return model_files(source, snapshots=snapshots), str(Path(source))
    items = list(source) if isinstance(source, list | tuple) else [source]
    if len(items) == 1 and isinstance(items[0], str | os.PathLike):
        return model_files(items[0], snapshots=snapshots), str(Path(items[0]))
    if not items or any(isinstance(it, str | os.PathLike) for it in items):
        raise InputError(
            "run_interactions reads one model file or run folder, or a list of models / "
            "CheckpointModel items (netsci_dl.runs.checkpoint_models(paths, model=...))"
        )
    labels = [
        it.label if isinstance(it, CheckpointModel) else f"model{i}" for i, it in enumerate(items)
    ]
    where = ", ".join(
        it.path if isinstance(it, CheckpointModel) else type(it).__name__ for it in items
    )
    return list(zip(labels, items, strict=True)), where
