"""Which model files a run folder offers: its final model, and its snapshots in order.

A run folder (written by the trainers, :mod:`netsci_dl.models`) holds ``model.safetensors``
(the final model) and ``snapshots/`` (:mod:`netsci_dl.runs.format`). The commands that take
"a checkpoint or a run folder" ask here which files to open.
"""

from __future__ import annotations

import os
from pathlib import Path

from netsci_dl.errors import InputError
from netsci_dl.runs.format import list_snapshots, snapshot_sources

__all__ = ["FINAL_MODEL", "final_model", "model_files"]

#: the final model of a run folder
FINAL_MODEL = "model.safetensors"


def final_model(run_dir: str | os.PathLike) -> Path:
    """The final model of a run folder: its ``model.safetensors``, else its last snapshot, or
    for the other layouts (:func:`netsci_dl.runs.format.discover`) its last checkpoint.

    Raises
    ------
    InputError
        A folder with none of them (not a run).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "model.safetensors").write_bytes(b"")
    >>> final_model(d).name
    'model.safetensors'
    """
    run = Path(run_dir)
    f = run / FINAL_MODEL
    if f.is_file():
        return f
    snaps = list_snapshots(run)
    if snaps:
        return Path(snaps[-1][0])
    # the other layouts (checkpoint files, HF Trainer checkpoint-N/, Lightning .ckpt): the last
    return Path(snapshot_sources(run)[-1][0])


def model_files(source: str | os.PathLike, *, snapshots: bool = False) -> list[tuple[str, str]]:
    """``(label, path)`` of the models to open: a model file itself (labelled by its stem), or
    a run folder's final model (labelled ``final``) after, with ``snapshots``, every snapshot
    in order (labelled by its stem); a folder in another layout
    (:func:`netsci_dl.runs.format.discover`) gives its last checkpoint, or with ``snapshots``
    all of them.

    Raises
    ------
    InputError
        A folder with none of them.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "model.safetensors").write_bytes(b"")
    >>> [label for label, _ in model_files(d)], model_files(d / "model.safetensors")[0][0]
    (['final'], 'model')
    """
    src = Path(source)
    if not src.is_dir():
        return [(src.stem, str(src))]
    models = [(p.stem, str(p)) for p, _ in list_snapshots(src)] if snapshots else []
    final = src / FINAL_MODEL
    if final.exists():
        models.append(("final", str(final)))
    if not models and not (src / "snapshots").is_dir():  # another layout: its checkpoints
        found = [(i["label"], str(p)) for p, i in snapshot_sources(src)]
        models = found if snapshots else found[-1:]
    if not models:
        raise InputError(f"{src}: a run folder needs {FINAL_MODEL} or snapshots")
    return models
