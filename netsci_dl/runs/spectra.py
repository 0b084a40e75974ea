"""Spectra of a checkpoint's weight tensors: export's reader, then :func:`layer_spectra`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

__all__ = ["checkpoint_spectra"]


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
