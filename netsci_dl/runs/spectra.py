"""Spectra of a checkpoint's weight tensors (export's reader, then :func:`layer_spectra`), and
of every snapshot of a training run."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["checkpoint_spectra", "SpectraTrajectory", "spectra_over_training", "TRAJECTORY_METRICS"]

#: the per-matrix columns of :meth:`SpectraTrajectory.to_frame` (metric names of the long table)
TRAJECTORY_METRICS = (
    "alpha",
    "alpha_stderr",
    "ks",
    "alpha_weighted",
    "log_spectral_norm",
    "log_frobenius_norm",
    "stable_rank",
    "n_spikes",
    "n_traps",
)


def checkpoint_spectra(
    source: str | os.PathLike,
    *,
    reference: str | os.PathLike | None = None,
    layers: str | Sequence[str] | None = None,
    layout: str = "auto",
    state_dict_key: str | None = None,
    xmin: float | str | None = None,
    compat: str | None = None,
    traps: bool = True,
    seed: int = 0,
    n_jobs: int | None = 1,
    progress: bool | None = None,
) -> Any:
    """The spectra of every weight matrix and kernel of a checkpoint file.

    Reads the raw tensors with :func:`netsci_dl.export.weight_tensors` (kernels stay kernels:
    their ``kh*kw`` slices are pooled, not reduced as in a graph) and runs
    :func:`netsci_dl.analysis.layer_spectra` on them.

    Parameters
    ----------
    source : path
        A checkpoint (``.pt``/``.pth``/``.bin``/``.ckpt``, ``.safetensors``, ``.npz``).
    reference : path, optional
        A second checkpoint: the spectra of the change ``W - W_ref`` instead, paired by name
        (a snapshot against the initialisation, a fine-tuned model against its base).
    layers, layout, state_dict_key :
        Which tensors (see :func:`netsci_dl.export.weight_tensors`; the same for the reference).
    xmin, compat, traps, seed, n_jobs, progress :
        As :func:`netsci_dl.analysis.layer_spectra`.

    Returns
    -------
    LayerSpectra
        ``settings`` also holds ``source`` (and ``reference``).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> np.savez(path, W0=np.random.default_rng(0).normal(size=(40, 20)))
    >>> checkpoint_spectra(path).names
    ('W0',)
    """
    import dataclasses

    from netsci_dl.analysis import layer_spectra
    from netsci_dl.export import weight_tensors

    def read(path: Any) -> dict[str, Any]:
        return weight_tensors(path, layers=layers, layout=layout, state_dict_key=state_dict_key)

    S = layer_spectra(
        read(source),
        reference=None if reference is None else read(reference),
        xmin=xmin,
        compat=compat,
        traps=traps,
        seed=seed,
        n_jobs=n_jobs,
        progress=progress,
    )
    settings = {**S.settings, "source": os.fspath(source)}
    if reference is not None:
        settings["reference"] = os.fspath(reference)
    return dataclasses.replace(S, settings=settings)


@dataclass(frozen=True, eq=False)
class SpectraTrajectory:
    """The spectra of every snapshot of a run (see :func:`spectra_over_training`).

    Attributes
    ----------
    labels : tuple of str
        One per snapshot (the file's stem).
    steps : (n_snapshots,) int64 ndarray
    epochs : tuple of int or None
    spectra : tuple of LayerSpectra
        ``spectra[s]``: every matrix of snapshot ``s`` (of ``W_s - W_first`` with ``delta``).
    settings : dict
    """

    labels: tuple[str, ...]
    steps: np.ndarray
    epochs: tuple[int | None, ...]
    spectra: tuple[Any, ...] = field(repr=False)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        """Every matrix name, in order of first appearance."""
        return tuple(dict.fromkeys(n for S in self.spectra for n in S.names))

    def metric(self, name: str = "alpha") -> np.ndarray:
        """``(n_snapshots, n_matrices)`` float64 of one column of :meth:`LayerSpectra.to_frame`
        (NaN where a snapshot lacks the matrix), matrices in :attr:`names` order."""
        cols = {n: j for j, n in enumerate(self.names)}
        out = np.full((len(self.spectra), len(cols)), np.nan)
        for s, S in enumerate(self.spectra):
            for m in S:
                v = m.row()[name]
                out[s, cols[m.name]] = np.nan if v is None else float(v)
        return out

    def to_frame(self) -> Any:
        """The long table ``snapshot step epoch layer metric value`` (``layer`` = the matrix's
        name; metrics :data:`TRAJECTORY_METRICS`), as the other per-snapshot pipelines."""
        import pandas as pd

        from netsci_dl._tables import LONG_COLUMNS, long_rows

        parts = []
        for s, S in enumerate(self.spectra):
            rows = []
            for m in S:
                r = m.row()
                rows += [(m.name, k, np.nan if r[k] is None else r[k]) for k in TRAJECTORY_METRICS]
            parts.append(long_rows(rows, self.labels[s], int(self.steps[s]), self.epochs[s]))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=LONG_COLUMNS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "steps": self.steps.tolist(),
            "epochs": list(self.epochs),
            "settings": dict(self.settings),
            "snapshots": [S.to_dict() for S in self.spectra],
        }

    def __repr__(self) -> str:
        a = self.metric("alpha")
        last = a[-1][np.isfinite(a[-1])] if len(a) else a
        end = f"; last alpha median {np.median(last):.3g}" if len(last) else ""
        what = "W - W_first" if self.settings.get("delta") else "W"
        return (
            f"SpectraTrajectory({len(self.labels)} snapshots, {len(self.names)} matrices, "
            f"{what}{end})"
        )


def spectra_over_training(
    source: Any,
    *,
    delta: bool = False,
    layers: str | Sequence[str] | None = None,
    layout: str = "auto",
    xmin: float | str | None = None,
    compat: str | None = None,
    traps: bool = True,
    seed: int = 0,
    n_jobs: int | None = 1,
    progress: bool | None = None,
) -> SpectraTrajectory:
    """Alpha and the other spectral measures of every weight matrix at every snapshot of a run.

    Parameters
    ----------
    source : run folder, or sequence of checkpoint paths / LayeredGraphs
        The snapshots in training order (:func:`netsci_dl.runs.format.snapshot_sources`).
        Checkpoints are read raw (:func:`netsci_dl.export.weight_tensors`: kernels stay
        kernels); a LayeredGraph gives its weight blocks.
    delta : bool
        The spectra of ``W_t - W_first`` instead, ``W_first`` being each matrix in the first
        snapshot that holds it (how far training moved the weights, and whether the change
        is random-like or has spikes).
    layers, layout :
        Which tensors of a checkpoint (:func:`netsci_dl.export.weight_tensors`).
    xmin, compat, traps, seed, n_jobs, progress :
        As :func:`netsci_dl.analysis.layer_spectra` (``n_jobs``: the matrices of a snapshot).

    Returns
    -------
    SpectraTrajectory

    Examples
    --------
    >>> import numpy as np, netsci_dl as nd
    >>> rng = np.random.default_rng(0)
    >>> Gs = [nd.from_matrices([rng.normal(size=(30, 20)) * (1 + t)]) for t in range(3)]
    >>> T = spectra_over_training(Gs, traps=False)
    >>> T.metric("log_spectral_norm").shape
    (3, 1)
    """
    from netsci_dl.analysis import layer_spectra
    from netsci_dl.export import weight_tensors
    from netsci_dl.graph import LayeredGraph
    from netsci_dl.runs.format import snapshot_sources

    items = snapshot_sources(source)
    first: dict[str, Any] = {}
    out = []
    for item, _info in items:
        if isinstance(item, LayeredGraph):
            w = {item.block_names[b]: item.dense_block(b) for b in range(item.n_blocks)
                 if item.block_kinds[b] == "weight"}  # fmt: skip
        else:
            w = weight_tensors(item, layers=layers, layout=layout)
        for k, v in w.items():
            first.setdefault(k, v)
        ref = {k: first[k] for k in w} if delta else None
        out.append(layer_spectra(w, reference=ref, xmin=xmin, compat=compat, traps=traps,
                                 seed=seed, n_jobs=n_jobs, progress=progress))  # fmt: skip
    settings = {**out[0].settings, "delta": bool(delta), "layers": layers, "layout": layout}
    return SpectraTrajectory(
        labels=tuple(i["label"] for _, i in items),
        steps=np.array([i["step"] for _, i in items], dtype=np.int64),
        epochs=tuple(i["epoch"] for _, i in items),
        spectra=tuple(out),
        settings=settings,
    )
