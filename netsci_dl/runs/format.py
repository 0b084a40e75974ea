"""Run folders and their snapshots: the one place that knows how a training run is laid out
(netsci_dl's own run folders, and the layouts users have: :func:`discover`).

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
import re
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
    "read_run_config",
    "CONFIG_FILE",
    "snapshot_sources",
    "upgrade_record",
    "UNIT_LABELS",
    "CHECKPOINT_SUFFIXES",
    "name_step",
    "folder_checkpoints",
    "discover",
    "axis_label",
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


#: The largest step, epoch or layer number a sidecar may hold (int64 arithmetic stays exact).
MAX_COUNTER = 2**53


def read_sidecar(path: str | os.PathLike) -> dict[str, Any] | None:
    """The JSON sidecar of a snapshot ``.safetensors`` file, or None when it has none.

    A sidecar that is not valid JSON, or that holds no ``step``, counts as none. The keys of
    older run folders come renamed (:func:`upgrade_record`).

    Raises
    ------
    InputError
        A sidecar whose ``step``, ``epoch`` or ``layer`` is not an integer in
        ``[0, MAX_COUNTER]`` (a string, a float, a negative or a huge number): named with the
        file and the key.
    """
    p = Path(path)
    side = p.with_suffix(".json")
    if p.suffix != ".safetensors" or not side.is_file():
        return None
    try:
        d = json.loads(side.read_text())
    except (ValueError, UnicodeDecodeError):
        return None
    if not (isinstance(d, dict) and "step" in d):
        return None
    d = upgrade_record(d)
    for key in ("step", "epoch", "layer"):
        v = d.get(key)
        if key != "step" and v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_COUNTER:
            raise InputError(
                f"{side}: {key!r} is {str(v)[:40]!r}; expected an integer in [0, {MAX_COUNTER}]"
            )
    return d


#: a run folder's settings: ``{"config": {...}, "data": spec, "image_shape": [...], ...}``
CONFIG_FILE = "config.json"
#: the keys of ``config.json`` netsci_dl reads, and what each must hold
_CONFIG_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "config": ((dict, type(None)), "an object"),
    "data": ((str, type(None)), "a data spec (a string) or null"),
    "model_kind": ((str, type(None)), "a model kind (a string) or null"),
    "image_shape": ((list, type(None)), "a list of positive integers or null"),
}


def read_run_config(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The ``config.json`` of a run folder as a dict, or None when the folder has none.

    Raises
    ------
    InputError
        A file that is not a regular file, not JSON, not a JSON object, or whose
        ``config``, ``data``, ``model_kind`` or ``image_shape`` has the wrong type: named with
        the file and the key.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> read_run_config(d) is None
    True
    >>> _ = (d / "config.json").write_text('{"data": 3}')
    >>> read_run_config(d)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    netsci_dl.errors.InputError: .../config.json: key 'data' is 3; expected a data spec (a string) or null
    """
    p = Path(run_dir) / CONFIG_FILE
    if not os.path.lexists(p):
        return None
    if not p.is_file():
        raise InputError(f"{p}: not a regular file (a FIFO, a device or a folder): refused")
    try:
        doc = json.loads(p.read_bytes()[: 1 << 24].decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(f"{p}: not valid JSON ({str(e)[:80]}): a broken run folder") from None
    if not isinstance(doc, dict):
        raise InputError(
            f"{p}: holds a JSON {type(doc).__name__}, not an object: a broken run folder"
        )
    for key, (types, expected) in _CONFIG_KEYS.items():
        v = doc.get(key)
        ok = isinstance(v, types) and not isinstance(v, bool)
        if ok and key == "image_shape" and v is not None:
            ok = all(
                isinstance(s, int) and not isinstance(s, bool) and 0 < s <= MAX_COUNTER for s in v
            )
        if not ok:
            raise InputError(f"{p}: key {key!r} is {repr(v)[:40]}; expected {expected}")
    return doc


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
        if info is not None and not p.is_file():
            raise InputError(f"{p}: not a regular file (a FIFO, a device or a folder): refused")
        if info is not None:
            out.append((p, info))
    return sorted(out, key=lambda t: (t[1]["step"], t[0].name))


def _label(path: Path) -> str:
    if path.suffix == ".safetensors":
        return path.name.removesuffix(".safetensors")
    return path.stem


def _entry(it: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """``(path or graph, info)`` of a discovered item (its unit settled)."""
    side = it.get("side") or {}

    def _int(v: Any) -> int | None:
        return None if v is None else int(v)

    epoch = side.get("epoch")
    if epoch is None and it["unit"] == "epoch":
        epoch = it["step"]
    info = {
        "step": int(it["step"]),
        "layer": _int(side.get("layer")),
        "epoch": _int(epoch),
        "label": it.get("label") or _label(Path(it["path"])),
        "source": it.get("source") or str(it["path"]),
        "unit": it["unit"],
    }
    return it.get("graph", it["path"]), info


def _graph_item(G: LayeredGraph) -> dict[str, Any]:
    ck = G.meta.get("checkpoint") or {}
    source = str(G.meta.get("source") or "graph")
    label = Path(source).stem if os.sep in source or "." in source else source
    has = "step" in ck
    return {
        "path": source,
        "graph": G,
        "step": int(ck["step"]) if has else None,
        "unit": str(ck.get("unit") or "run") if has else "index",
        "side": ck if has else {},
        "label": label,
        "source": source,
    }


def _folder_items(p: Path) -> list[dict[str, Any]]:
    """The checkpoints of one folder: a netsci_dl run's snapshots, else :func:`discover`'s
    other layouts."""
    snaps = list_snapshots(p)
    if snaps:
        read_run_config(p)  # a broken config.json is named before any work
        return [
            {"path": sp, "step": int(info["step"]), "unit": "run", "side": info}
            for sp, info in snaps
        ]
    sd = p / SNAPSHOT_DIR
    if sd.is_dir():
        n = len(list(sd.glob("*.safetensors")))
        raise InputError(
            f"{sd}: {n} .safetensors file(s) but no snapshot with its JSON sidecar (a run "
            "folder's snapshots are step*_layer*_epoch*.safetensors + .json; an interrupted "
            "run writes the sidecar last)"
        )
    if (p / "config.json").is_file() and _hf_weights(p) is not None:
        return [_item(p)]  # one Hugging Face model folder
    files = folder_checkpoints(p)
    if not files:
        raise InputError(
            f"{p}: not a run, no checkpoints: expected a netsci_dl run folder ({SNAPSHOT_DIR}/), "
            f"Hugging Face Trainer checkpoint-N/ folders, or checkpoint files "
            f"({', '.join(CHECKPOINT_SUFFIXES)})"
        )
    return [_item(f) for f in files]


def snapshot_sources(source: Any) -> list[tuple[Any, dict[str, Any]]]:
    """The snapshots to follow, in order: ``[(path or LayeredGraph, info), ...]``.

    ``source`` is a run folder in any layout :func:`discover` reads, or a sequence of
    checkpoint paths / LayeredGraphs kept in the given order (a folder in it contributes all
    its checkpoints, a HF ``checkpoint-N/`` folder itself). ``info`` has ``step``, ``layer``,
    ``epoch``, ``label``, ``source`` and ``unit`` (:data:`UNIT_LABELS`): a netsci_dl snapshot's
    JSON sidecar (``unit`` ``"run"``), else the number in the names (``"step"``, ``"epoch"``,
    ``"number"``) when every name has one of one kind, increasing, else the position
    (``"index"``).

    Examples
    --------
    >>> import numpy as np, netsci_dl as nd
    >>> Gs = [nd.from_matrices([np.eye(2)]), nd.from_matrices([2 * np.eye(2)])]
    >>> [(i["step"], i["unit"]) for _, i in snapshot_sources(Gs)]
    [(0, 'index'), (1, 'index')]
    """
    if isinstance(source, str | os.PathLike):
        p = Path(source)
        if not p.exists():
            raise FileNotFoundError(f"{p}: no such run folder or checkpoint")
        source = [p]
    if isinstance(source, LayeredGraph):
        source = [source]
    items: list[dict[str, Any]] = []
    for item in source:
        if isinstance(item, LayeredGraph):
            items.append(_graph_item(item))
        elif isinstance(item, str | os.PathLike):
            p = Path(item)
            if not p.exists():
                raise FileNotFoundError(f"{p}: no such checkpoint")
            one = p.is_file() or re.fullmatch(r"checkpoint-\d+", p.name) is not None
            items.extend([_item(p)] if one else _folder_items(p))
        else:
            raise TypeError(
                f"snapshot {len(items)}: expected a path or a LayeredGraph, "
                f"got {type(item).__name__}"
            )
    if not items:
        raise InputError("no snapshots given")
    _units(items)
    return [_entry(it) for it in items]


# ---------------------------------------------------------------------- the layouts users have
#: the x axis of a series of checkpoints, by the unit their steps count
UNIT_LABELS = {
    "run": "training step (epochs)",
    "step": "training step",
    "epoch": "epoch",
    "number": "number in the checkpoint names",
    "index": "checkpoint index",
}
#: checkpoint files of a plain folder (a netsci_dl run folder is read by its sidecars)
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".safetensors", ".bin", ".ckpt", ".npz")
#: files beside the weights that are not checkpoints (HF Trainer, optimisers, schedulers)
_NOT_MODELS = re.compile(
    r"optim|scheduler|rng_state|training_args|trainer_state|scaler|\.state$", re.IGNORECASE
)
_EPOCH = re.compile(r"(?:^|[^a-z])(?:epoch|ep|e)[_\-=]?(\d+)", re.IGNORECASE)
_STEP = re.compile(
    r"(?:^|[^a-z])(?:global_step|step|iteration|iter|it|checkpoint|ckpt)[_\-=]?(\d+)",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"(\d+)")
_HF_WEIGHTS = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")


def name_step(name: str) -> tuple[int | None, str]:
    """``(number, unit)`` read from a checkpoint's name: ``step`` (``step-1200``,
    ``checkpoint-500``, ``global_step=8``), ``epoch`` (``epoch_3``, ``ckpt_e5``), ``number``
    (``model_10``: a number without a unit word), or ``(None, "index")``. A name with both a
    step and an epoch (Lightning's ``epoch=2-step=300``) gives the step.

    Examples
    --------
    >>> [name_step(n) for n in ("epoch_3", "step-1200", "model_10", "ckpt_e5", "final")]
    [(3, 'epoch'), (1200, 'step'), (10, 'number'), (5, 'epoch'), (None, 'index')]
    >>> name_step("epoch=2-step=300")
    (300, 'step')
    """
    for rx, unit in ((_STEP, "step"), (_EPOCH, "epoch")):
        m = rx.findall(name)
        if m:
            return int(m[-1]), unit
    m = _NUMBER.findall(name)
    return (int(m[-1]), "number") if m else (None, "index")


def _natural(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _hf_weights(folder: Path) -> Path | None:
    """What to load of a HF Trainer ``checkpoint-N/``: the folder (it has ``config.json``) or
    its weights file; None without weights."""
    files = [folder / n for n in _HF_WEIGHTS if (folder / n).is_file()]
    if not files:
        return None
    return folder if (folder / "config.json").is_file() else files[0]


def _trainer_epoch(folder: Path) -> int | None:
    """The epoch a HF ``trainer_state.json`` gives (rounded down), or None."""
    try:
        doc = json.loads((folder / "trainer_state.json").read_text())
        return int(float(doc["epoch"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _lightning_meta(path: Path) -> dict[str, int]:
    """``epoch`` and ``global_step`` of a Lightning ``.ckpt`` (read with ``weights_only=True``,
    memory-mapped); empty when it cannot be read safely."""
    try:
        import torch

        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # not loadable safely: the name and position are used instead
        return {}
    if not isinstance(obj, Mapping):
        return {}
    keys = (("epoch", "epoch"), ("global_step", "step"))
    return {out: int(obj[k]) for k, out in keys if isinstance(obj.get(k), int)}


def _item(path: Path) -> dict[str, Any]:
    """What one checkpoint (file, or HF ``checkpoint-N/`` folder) says of itself."""
    side = read_sidecar(path) if path.is_file() else None
    if side is not None:
        return {"path": path, "step": int(side["step"]), "unit": "run", "side": side}
    name = path.name if path.is_dir() else path.stem
    step, unit = name_step(name)
    out: dict[str, Any] = {"path": path, "step": step, "unit": unit, "side": {}}
    if path.is_dir():
        load = _hf_weights(path)
        if load is None:
            raise InputError(f"{path}: a checkpoint folder without {' or '.join(_HF_WEIGHTS)}")
        out.update(path=load, label=path.name, side={"epoch": _trainer_epoch(path)})
    elif path.suffix == ".ckpt":
        meta = _lightning_meta(path)
        if "step" in meta:
            out.update(step=meta["step"], unit="step")
        elif "epoch" in meta:
            out.update(step=meta["epoch"], unit="epoch")
        out["side"] = {"epoch": meta.get("epoch")}
    return out


def folder_checkpoints(folder: str | os.PathLike) -> list[Path]:
    """The checkpoints of a folder that is not a netsci_dl run: its Hugging Face Trainer
    ``checkpoint-N/`` sub-folders if it has any, else its checkpoint files
    (:data:`CHECKPOINT_SUFFIXES`; optimiser, scheduler and trainer files left out), in natural
    order of their names (``epoch_2`` before ``epoch_10``)."""
    p = Path(folder)
    subs = [d for d in p.iterdir() if d.is_dir() and re.fullmatch(r"checkpoint-\d+", d.name)]
    subs = [d for d in subs if _hf_weights(d) is not None]
    if subs:
        return sorted(subs, key=lambda d: _natural(d.name))
    files = [
        f
        for f in p.iterdir()
        if f.is_file()
        and f.suffix in CHECKPOINT_SUFFIXES
        and not _NOT_MODELS.search(f.name.removesuffix(f.suffix))
        and not f.name.endswith(".state.safetensors")
    ]
    return sorted(files, key=lambda f: _natural(f.name))


def _units(items: list[dict[str, Any]]) -> None:
    """One unit for the series: the items' own when they agree and their numbers increase,
    else each item's position (``index``)."""
    units = {it["unit"] for it in items}
    steps = [it["step"] for it in items]
    ok = len(units) == 1 and None not in steps
    if ok and "run" not in units:
        ok = all(a < b for a, b in zip(steps, steps[1:], strict=False))
    if not ok:
        for i, it in enumerate(items):
            it["step"], it["unit"] = i, "index"


def discover(source: Any) -> list[tuple[str, int, str, Path]]:
    """The checkpoints of a run, in order: ``[(label, step, unit, path), ...]``.

    ``source`` is a netsci_dl run folder (its snapshots, ``unit`` ``"run"``: steps count
    epochs), a folder of Hugging Face Trainer ``checkpoint-N/`` folders (N = the global step),
    a folder of checkpoint files (``epoch_3.pt``, ``step-1200.safetensors``, ``model_10.pth``,
    Lightning ``.ckpt`` whose ``global_step``/``epoch`` are read safely), one file, or a list of
    any of these. ``unit`` is ``"step"``, ``"epoch"``, ``"number"`` (a number in the names
    without a unit word) or ``"index"`` (names without numbers, or numbers that disagree);
    :data:`UNIT_LABELS` gives the axis label.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> for n in ("epoch_10.pt", "epoch_2.pt", "optimizer.pt"):
    ...     _ = (d / n).write_bytes(b"")
    >>> [(label, step, unit) for label, step, unit, _ in discover(d)]
    [('epoch_2', 2, 'epoch'), ('epoch_10', 10, 'epoch')]
    """
    return [(i["label"], i["step"], i["unit"], Path(s)) for s, i in snapshot_sources(source)]


def axis_label(infos: Any) -> str:
    """The x-axis label of a series of snapshot infos (or units): :data:`UNIT_LABELS` of their
    one unit; ``"training step (epochs)"`` when they do not say (netsci_dl's runs).

    Examples
    --------
    >>> axis_label([{"unit": "epoch"}, {"unit": "epoch"}]), axis_label(["index"])
    ('epoch', 'checkpoint index')
    """
    units = {i.get("unit", "run") if isinstance(i, Mapping) else str(i) for i in infos}
    return UNIT_LABELS.get(units.pop(), UNIT_LABELS["run"]) if len(units) == 1 else "training step"
