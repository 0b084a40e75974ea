"""The measures of one classifier snapshot: a plain function of one snapshot (one table)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from netsci_dl.runs.format import TEST_ACCURACY, TEST_LOSS, TRAIN_ACCURACY, TRAIN_LOSS

__all__ = ["snapshot_measures", "SIDECAR_METRICS"]

SIDECAR_METRICS = (TRAIN_LOSS, TRAIN_ACCURACY, TEST_LOSS, TEST_ACCURACY, "lr")


def snapshot_measures(
    path: str | os.PathLike,
    X: Any,
    y: Any,
    *,
    fisher_kind: str | None = "model_exact",
    lanczos_iter: int = 20,
    hutchinson_probes: int = 0,
    gradcov: bool = True,
    batch_size: int = 64,
    seed: int = 0,
    device: Any = None,
) -> Any:
    """Fisher trace per layer and curvature of one classifier snapshot, as one long table.

    Parameters
    ----------
    path : a snapshot ``.safetensors`` of a classifier or an MLP (with its JSON sidecar for
        step and epoch), read by :func:`netsci_dl.models.load.load_model`, or a
        :class:`~netsci_dl.runs.checkpoints.CheckpointModel` (a user's own checkpoint)
    X : (n, n_features) array, y : (n,) int labels
        The probe set (the same for every snapshot of a run). ``y`` may be None when only the
        model's Fisher is asked for (``kind="model_exact"`` or ``"model"``, no curvature).
    fisher_kind : {"model_exact", "model", "empirical"} or None
        :func:`netsci_dl.activations._fisher.fisher_trace`; None: no Fisher.
    lanczos_iter : int
        Lanczos iterations for the top Hessian eigenvalue (0: skip).
    hutchinson_probes : int
        Rademacher probes for the Hessian trace (0: skip).
    gradcov : bool
        Gradient-covariance top eigenvalue and trace (the probe set's ``M x M`` Gram).
    batch_size, seed, device :
        Passed to the analyses; ``device`` None or ``"auto"``: CUDA when present, else the CPU.

    Returns
    -------
    pandas.DataFrame
        ``snapshot step epoch layer metric value``; ``layer`` is a module name or ``"all"``.
        Metrics: ``fisher_trace`` (+ ``_stderr``, ``_share``, ``_per_param``; prefixed
        ``empirical_`` for the empirical Fisher), ``hessian_top_eigenvalue`` (+ ``_residual``),
        ``hessian_trace`` (+ ``_stderr``), ``gradcov_top_eigenvalue``, ``gradcov_trace``, and
        the sidecar's ``train_loss``, ``train_accuracy``, ``test_loss``, ``test_accuracy``,
        ``lr`` (layer ``"all"``).
    """
    import pandas as pd
    import torch

    from netsci_dl._tables import long_rows
    from netsci_dl.activations import (
        fisher_trace,
        gradient_covariance,
        hessian_top_eigenvalue,
        hessian_trace,
    )
    from netsci_dl.errors import InputError
    from netsci_dl.models.load import load_model
    from netsci_dl.runs.checkpoints import CheckpointModel
    from netsci_dl.runs.format import read_sidecar

    if isinstance(path, CheckpointModel):
        p, info, model = Path(path.path), path.info(), path.load(device)
    else:
        p = Path(path)
        info = read_sidecar(p) or {}
        model = load_model(p, device=device)
    if not isinstance(model, torch.nn.Module):
        raise InputError(
            f"{p}: a {type(model).__name__} has no class outputs; the Fisher information and "
            "the curvature need a classifier (a model trained on labels)"
        )
    if y is None and (fisher_kind == "empirical" or lanczos_iter or hutchinson_probes or gradcov):
        raise InputError(
            "the empirical Fisher and the curvature need the labels y; without them only "
            "fisher_kind='model_exact' or 'model' (no curvature)"
        )
    key = {
        "snapshot": info.get("label") or p.name.removesuffix(".safetensors"),
        "step": info.get("step"),
        "epoch": info.get("epoch"),
    }
    parts = []
    if fisher_kind is not None:
        parts.append(
            fisher_trace(
                model, X, y, kind=fisher_kind, batch_size=batch_size, seed=seed, device=device
            ).to_frame(**key)
        )
    if lanczos_iter > 0:
        parts.append(
            hessian_top_eigenvalue(
                model, X, y, n_iter=lanczos_iter, seed=seed, device=device
            ).to_frame(**key)
        )
    if hutchinson_probes > 0:
        parts.append(
            hessian_trace(
                model, X, y, n_probes=hutchinson_probes, seed=seed, device=device
            ).to_frame(**key)
        )
    if gradcov:
        parts.append(
            gradient_covariance(model, X, y, batch_size=batch_size, device=device).to_frame(**key)
        )
    side = [("all", k, info[k]) for k in SIDECAR_METRICS if info.get(k) is not None]
    if side or not parts:
        parts.append(long_rows(side, **key))
    return pd.concat(parts, ignore_index=True)
