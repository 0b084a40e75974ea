"""A runnable ``nn.Module`` from a checkpoint and its architecture: what the data-path commands
run on data (the loader options ``--model``, ``--model-kwargs``, ``--partial``,
``--state-dict-key`` mean here what they mean to :func:`netsci_dl.export.load`).

The architecture is a user's class (``"pkg.module:Class"``, the class itself, or a built
module, which is copied so one template serves every snapshot) whose weights come from the
checkpoint (strict, or ``partial``), or a local Hugging Face folder (built by transformers
from the folder's files only).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from typing import Any

from netsci_dl.errors import InputError
from netsci_dl.export.checkpoint import read_checkpoint, tensors_from_mapping
from netsci_dl.export.hf import is_hf_folder, load_hf_model, read_folder_tensors
from netsci_dl.export.module import build_model, load_weights

__all__ = ["load_module"]


def _instance(model: Any, model_kwargs: Mapping[str, Any] | None) -> Any:
    """A fresh module of the architecture ``model``."""
    import torch

    if isinstance(model, str):
        return build_model(model, model_kwargs)
    if isinstance(model, type) and issubclass(model, torch.nn.Module):
        try:
            return model(**dict(model_kwargs or {}))
        except TypeError as e:
            raise InputError(
                f"{model.__name__}: cannot build it with {model_kwargs}: {e}"
            ) from None
    if isinstance(model, torch.nn.Module):
        if model_kwargs:
            raise InputError("model_kwargs need a class or 'pkg.module:Class', not a built module")
        return copy.deepcopy(model)
    raise InputError(
        f"model must be 'pkg.module:Class', an nn.Module class or an nn.Module, got "
        f"{type(model).__name__}"
    )


def load_module(
    source: str | os.PathLike,
    model: Any = None,
    *,
    model_kwargs: Mapping[str, Any] | None = None,
    state_dict_key: str | None = None,
    partial: bool = False,
) -> tuple[Any, dict[str, Any]]:
    """The model of ``source`` with its weights, in eval mode, and what the loading ignored.

    Parameters
    ----------
    source : path
        A checkpoint file (``.pt``, ``.pth``, ``.bin``, ``.ckpt``, ``.safetensors``, ``.npz``;
        read without unpickling code) or a local Hugging Face folder.
    model : "pkg.module:Class", nn.Module class or nn.Module, optional
        The architecture (a module given is copied, never changed). None: ``source`` must be a
        Hugging Face folder (its ``config.json`` names the class).
    model_kwargs : dict, optional
        Keyword arguments of the class.
    state_dict_key : str, optional
        The key of a dict checkpoint that holds the weights, when several do.
    partial : bool
        Load the tensors that fit and leave the rest as built (listed in the returned dict);
        default strict.

    Returns
    -------
    (torch.nn.Module, dict)
        The module (on the CPU, eval mode) and ``meta["loading"]``-style notes.

    Raises
    ------
    InputError
        No architecture for a plain checkpoint, a class that cannot be built, a checkpoint that
        does not fit (strict loading), a file that cannot be read safely.

    Examples
    --------
    >>> import tempfile, os, torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 2))
    >>> path = os.path.join(tempfile.mkdtemp(), "w.pt")
    >>> torch.save(net.state_dict(), path)
    >>> m, _ = load_module(path, net)
    >>> bool(torch.equal(m[0].weight, net[0].weight)), m is net
    (True, False)
    """
    if model is None:
        if is_hf_folder(source):
            net, _built, loading = load_hf_model(source, partial=partial)
            return net, loading
        raise InputError(
            f"{source}: a checkpoint holds weights, not the code that runs them: name the "
            "architecture (--model pkg.module:Class, or model= from Python)"
        )
    net = _instance(model, model_kwargs)
    tensors, where = read_tensors(source, state_dict_key)
    loading = load_weights(net, tensors, where=where, partial=partial)
    return net.eval(), loading


def read_tensors(source: Any, state_dict_key: str | None = None) -> tuple[dict[str, Any], str]:
    """The weights of a state_dict mapping, a Hugging Face folder or a checkpoint file (read
    without unpickling code), and the name of where they came from."""
    if isinstance(source, Mapping):
        tensors, _ = tensors_from_mapping(source, source="<state_dict>", key=state_dict_key)
        return tensors, "<state_dict>"
    if is_hf_folder(source):
        tensors, _ = read_folder_tensors(source)
        return tensors, str(source)
    ckpt = read_checkpoint(source, key=state_dict_key)
    return ckpt.tensors, ckpt.source
