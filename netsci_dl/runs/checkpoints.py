"""Snapshots of a user's own model: checkpoint files (or local Hugging Face folders) with the
architecture that runs them, as items every data-path pipeline takes beside run folders.

A :class:`CheckpointModel` is small and picklable (a path and the architecture's name), so the
pipelines send it to worker processes and each worker builds its model itself.

Examples
--------
>>> import tempfile, os, torch
>>> net = torch.nn.Sequential(torch.nn.Linear(3, 2))
>>> d = tempfile.mkdtemp()
>>> for i in (1, 2):
...     torch.save(net.state_dict(), os.path.join(d, f"epoch_{i}.pt"))
>>> items = checkpoint_models([os.path.join(d, f"epoch_{i}.pt") for i in (1, 2)], model=net)
>>> [it.label for it in items], type(items[0].load()).__name__
(['epoch_1', 'epoch_2'], 'Sequential')
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netsci_dl.errors import InputError

__all__ = ["CheckpointModel", "checkpoint_models", "runnable"]


@dataclass(frozen=True, eq=False)
class CheckpointModel:
    """One snapshot of a user's model: a checkpoint and its architecture.

    Attributes
    ----------
    path : str
        A checkpoint file or a local Hugging Face folder.
    model : "pkg.module:Class", nn.Module class, nn.Module, or None
        The architecture (:func:`netsci_dl.export.runnable.load_module`); None for a Hugging
        Face folder.
    model_kwargs : dict, optional
    partial : bool
        Load the tensors that fit (default strict).
    state_dict_key : str, optional
    step : int
        The snapshot's place in training: the number its name gives (``epoch_3.pt`` -> 3,
        ``checkpoint-500/`` -> 500), else its position in the list.
    unit : str
        What ``step`` counts (:data:`netsci_dl.runs.format.UNIT_LABELS`): ``"step"``,
        ``"epoch"``, ``"number"`` or ``"index"`` (the position; the default).
    epoch : int, optional
        The epoch, where the checkpoint says (a HF ``trainer_state.json``, a Lightning
        ``.ckpt``, an ``epoch_N`` name).
    name : str, optional
        The label (default: the file name without its suffix, or the folder's name).
    """

    path: str
    model: Any = field(default=None, repr=False)
    model_kwargs: Mapping[str, Any] | None = None
    partial: bool = False
    state_dict_key: str | None = None
    step: int = 0
    unit: str = "index"
    epoch: int | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        """``name``, else the file name without its suffix (the folder name of a Hugging Face
        folder)."""
        if self.name:
            return self.name
        p = Path(self.path)
        return p.name if p.is_dir() else p.stem

    def info(self) -> dict[str, Any]:
        """The snapshot info every pipeline reads (``step``, ``layer``, ``epoch``, ``label``,
        ``source``, ``unit``)."""
        return {
            "step": int(self.step),
            "layer": None,
            "epoch": self.epoch,
            "label": self.label,
            "source": str(self.path),
            "unit": self.unit,
        }

    def load(self, device: Any = None) -> Any:
        """The runnable module, in eval mode, on ``device`` (None: the CPU)."""
        from netsci_dl.export.runnable import load_module

        net, _ = load_module(
            self.path,
            self.model,
            model_kwargs=self.model_kwargs,
            state_dict_key=self.state_dict_key,
            partial=self.partial,
        )
        if device is not None:
            from netsci_dl._array import resolve_device

            net = net.to(resolve_device(device))
        return net

    def graph(self, **load_kwargs: Any) -> Any:
        """The snapshot's :class:`~netsci_dl.graph.LayeredGraph` (:func:`netsci_dl.export.load`
        of the built module; ``load_kwargs`` as there), with its step in
        ``meta["checkpoint"]`` (with its ``unit`` and ``epoch``)."""
        from netsci_dl.export import load

        G = load(self.load(), **load_kwargs)
        ck = dict(G.meta.get("checkpoint") or {}, step=int(self.step), unit=self.unit)
        if self.epoch is not None:
            ck["epoch"] = int(self.epoch)
        return G.with_meta(source=str(self.path), checkpoint=ck)


def checkpoint_models(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    model: Any = None,
    *,
    model_kwargs: Mapping[str, Any] | None = None,
    partial: bool = False,
    state_dict_key: str | None = None,
) -> list[CheckpointModel]:
    """The snapshots ``paths`` of the architecture ``model``, for
    :func:`~netsci_dl.runs.training_similarity`, :func:`~netsci_dl.runs.training_measures`,
    :func:`~netsci_dl.runs.run_interactions`, :func:`~netsci_dl.runs.ei_trajectory` and
    :func:`~netsci_dl.runs.graph_measures_over_training`.

    ``paths`` is a folder of checkpoints (``epoch_3.pt``, ``step-1200.safetensors``,
    ``model_10.pth`` in natural order; Hugging Face Trainer ``checkpoint-N/`` folders;
    Lightning ``.ckpt`` files), a local Hugging Face folder, or a list of files and folders in
    training order (:func:`netsci_dl.runs.format.discover` reads them). Each item's ``step``
    and ``unit`` come from the names when they all give one kind of number, increasing, else
    from the position.

    Raises
    ------
    FileNotFoundError
        A path that does not exist.
    InputError
        No paths, a folder without checkpoints, or a plain checkpoint without ``model``.

    Examples
    --------
    >>> import tempfile, os, torch
    >>> net = torch.nn.Linear(3, 2)
    >>> d = tempfile.mkdtemp()
    >>> for e in (10, 2):
    ...     torch.save(net.state_dict(), os.path.join(d, f"epoch_{e}.pt"))
    >>> [(it.label, it.step, it.unit) for it in checkpoint_models(d, net)]
    [('epoch_2', 2, 'epoch'), ('epoch_10', 10, 'epoch')]
    """
    from netsci_dl.export.hf import is_hf_folder
    from netsci_dl.runs.format import snapshot_sources

    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    if not items:
        raise InputError("no checkpoints given")
    for p in items:
        if not Path(p).exists():
            raise FileNotFoundError(f"{p}: no such checkpoint")
    out = []
    for p, info in snapshot_sources(items):
        if model is None and not is_hf_folder(p):
            raise InputError(
                f"{p}: a checkpoint holds weights, not the code that runs them: name the "
                "architecture (--model pkg.module:Class, or model= from Python)"
            )
        out.append(
            CheckpointModel(
                str(p),
                model,
                model_kwargs,
                partial,
                state_dict_key,
                int(info["step"]),
                unit=info["unit"],
                epoch=info["epoch"],
                name=info["label"],
            )  # fmt: skip
        )
    return out


def runnable(item: Any, device: Any = None) -> Any:
    """The model of one snapshot item: a netsci_dl file (:func:`netsci_dl.models.load.load_model`),
    a :class:`CheckpointModel` (built and loaded), or a model given as an object (kept)."""
    if isinstance(item, CheckpointModel):
        return item.load(device)
    if isinstance(item, str | os.PathLike):
        from netsci_dl.models.load import load_model

        return load_model(item, device=device)
    return item
