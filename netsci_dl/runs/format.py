"""Run folders and their snapshots: the one place that knows how a training run is laid out.

Both the trainers (:mod:`netsci_dl.models`), which write run folders, and the analyses over
training (:mod:`netsci_dl.runs.trajectory` and the data-dependent ones), which read them, use
this module, so neither has to import the other.

A run folder holds ``config.json``, ``model.safetensors``, ``history.json`` and
``snapshots/step{S:05d}_layer{L}_epoch{E:04d}.safetensors``, each with a JSON sidecar of the
same stem (written last, so a snapshot without its sidecar is incomplete and is skipped). The
format is described in :mod:`netsci_dl.models.train`.

The trainers' per-epoch numbers have one name each, in sidecars and history records alike:
:data:`TRAIN_LOSS`, :data:`TRAIN_ACCURACY`, :data:`TEST_LOSS`, :data:`TEST_ACCURACY` (a
classifier; the MLP has no test set) and :data:`RECON_ERROR` (a DBN). Run folders written before
0.3 used ``loss`` / ``accuracy`` (the MLP trainer, and the classifier's sidecars beside the
``train_*`` keys): :func:`upgrade_record` renames them, and :func:`read_sidecar` does it for
every reader.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = [
    "SNAPSHOT_DIR",
    "TRAIN_LOSS",
    "TRAIN_ACCURACY",
    "TEST_LOSS",
    "TEST_ACCURACY",
    "RECON_ERROR",
    "OLD_KEYS",
    "snapshot_stem",
    "list_snapshots",
    "read_sidecar",
    "snapshot_sources",
    "upgrade_record",
]

SNAPSHOT_DIR = "snapshots"

#: mean cross-entropy (nats) on the training data, after the epoch
TRAIN_LOSS = "train_loss"
#: accuracy on the training data, after the epoch
TRAIN_ACCURACY = "train_accuracy"
#: mean cross-entropy (nats) on the test data (null without one)
TEST_LOSS = "test_loss"
#: accuracy on the test data (null without one)
TEST_ACCURACY = "test_accuracy"
#: a DBN's mean squared reconstruction error per visible unit (null for a classifier)
RECON_ERROR = "recon_error"
#: keys of run folders written before 0.3 -> today's key
OLD_KEYS = {"loss": TRAIN_LOSS, "accuracy": TRAIN_ACCURACY}


def upgrade_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A sidecar or history record in today's vocabulary: every key of :data:`OLD_KEYS`
    renamed (where both are present, today's key keeps its value).

    Examples
    --------
    >>> upgrade_record({"epoch": 1, "loss": 0.5, "accuracy": 0.9})
    {'epoch': 1, 'train_loss': 0.5, 'train_accuracy': 0.9}
    """
    out = dict(record)
    for old, new in OLD_KEYS.items():
        if old in out:
            value = out.pop(old)
            if out.get(new) is None:
                out[new] = value
    return out


def snapshot_stem(step: int, layer: int, epoch: int) -> str:
    """The file stem of a snapshot: ``step{S:05d}_layer{L}_epoch{E:04d}`` (sorts by step).

    Examples
    --------
    >>> snapshot_stem(12, 1, 3)
    'step00012_layer1_epoch0003'
    """
    return f"step{step:05d}_layer{layer}_epoch{epoch:04d}"


def read_sidecar(path: str | os.PathLike) -> dict[str, Any] | None:
    """The JSON sidecar of a snapshot ``.safetensors`` file, or None when it has none.

    A sidecar that is not valid JSON, or that holds no ``step``, counts as none. The keys of
    older run folders come renamed (:func:`upgrade_record`).
    """
    p = Path(path)
    side = p.with_suffix(".json")
    if p.suffix != ".safetensors" or not side.is_file():
        return None
    try:
        d = json.loads(side.read_text())
    except (ValueError, UnicodeDecodeError):
        return None
    return upgrade_record(d) if isinstance(d, dict) and "step" in d else None


def list_snapshots(run_dir: str | os.PathLike) -> list[tuple[Path, dict[str, Any]]]:
    """The snapshots of a run, ordered by step: ``[(path to .safetensors, info dict), ...]``.

    ``info`` is the JSON sidecar: ``layer``, ``epoch``, ``step``, ``layers``, ``epochs``,
    ``recon_error``, ``elapsed_s``, ``image_shape`` (see :mod:`netsci_dl.models.train`). A
    snapshot without a readable sidecar is skipped. An absent folder gives ``[]``.

    Examples
    --------
    >>> list_snapshots("/nonexistent")
    []
    """
    folder = Path(run_dir) / SNAPSHOT_DIR
    if not folder.is_dir():
        return []
    out = []
    for p in folder.glob("step*_layer*_epoch*.safetensors"):
        if p.name.endswith(".state.safetensors"):
            continue
        info = read_sidecar(p)
        if info is not None:
            out.append((p, info))
    return sorted(out, key=lambda t: (t[1]["step"], t[0].name))


def _info(
    path: Path | None, info: dict[str, Any], index: int, G: LayeredGraph | None = None
) -> dict[str, Any]:
    def _int(v: Any) -> int | None:
        return None if v is None else int(v)

    if path is not None:
        label = (
            path.name.removesuffix(".safetensors") if path.suffix == ".safetensors" else path.stem
        )
        source = str(path)
    else:
        source = str((G.meta.get("source") if G is not None else None) or f"#{index}")
        label = Path(source).stem if os.sep in source or "." in source else source
    step = info.get("step")
    return {
        "step": index if step is None else int(step),
        "layer": _int(info.get("layer")),
        "epoch": _int(info.get("epoch")),
        "label": label,
        "source": source,
    }


def snapshot_sources(source: Any) -> list[tuple[Any, dict[str, Any]]]:
    """The snapshots to follow, in order: ``[(path or LayeredGraph, info), ...]``.

    ``source`` is a run folder (its snapshots via :func:`list_snapshots`, ordered by step), or a
    sequence of checkpoint paths / LayeredGraphs kept in the given order (a path that is itself a
    run folder contributes all its snapshots). ``info`` has ``step``, ``layer``, ``epoch`` (from a
    snapshot's JSON sidecar or the graph's checkpoint metadata, else ``step`` = position and the
    others None), ``label`` and ``source``.

    Examples
    --------
    >>> import numpy as np, netsci_dl as nd
    >>> Gs = [nd.from_matrices([np.eye(2)]), nd.from_matrices([2 * np.eye(2)])]
    >>> [i["step"] for _, i in snapshot_sources(Gs)]
    [0, 1]
    """
    if isinstance(source, str | os.PathLike):
        p = Path(source)
        if not p.is_dir():
            if p.exists():
                source = [p]
            else:
                raise FileNotFoundError(f"{p}: no such run folder or checkpoint")
        else:
            snaps = list_snapshots(p)
            if not snaps:
                raise InputError(
                    f"{p}: no snapshots found (expected {p}/{SNAPSHOT_DIR}/"
                    "step*_layer*_epoch*.safetensors + .json)"
                )
            return [(sp, _info(sp, info, i)) for i, (sp, info) in enumerate(snaps)]
    if isinstance(source, LayeredGraph):
        source = [source]
    out: list[tuple[Any, dict[str, Any]]] = []
    for item in source:
        if isinstance(item, LayeredGraph):
            ck = item.meta.get("checkpoint") or {}
            out.append((item, _info(None, ck if "step" in ck else {}, len(out), item)))
        elif isinstance(item, str | os.PathLike):
            p = Path(item)
            if p.is_dir():
                out.extend(snapshot_sources(p))
                continue
            if not p.exists():
                raise FileNotFoundError(f"{p}: no such checkpoint")
            out.append((p, _info(p, read_sidecar(p) or {}, len(out))))
        else:
            raise TypeError(
                f"snapshot {len(out)}: expected a path or a LayeredGraph, got {type(item).__name__}"
            )
    if not out:
        raise InputError("no snapshots given")
    return out
