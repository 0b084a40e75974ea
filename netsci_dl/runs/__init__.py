"""Run folders: their format, the layouts users have, and every per-snapshot pipeline.

=======================  ===================================================================
:mod:`.format`           snapshot names and sidecars: one vocabulary, read by every pipeline
                         and written by the trainers (:mod:`netsci_dl.models`)
:mod:`.trajectory`       graph EI and the causal plane at each snapshot (:func:`ei_trajectory`)
:mod:`.similarity`       each layer's similarity to its final state (:func:`training_similarity`)
:mod:`.measures`         one long table of every per-snapshot measure (:func:`training_measures`)
:mod:`.critical`         the critical-period grid of deficit windows (:func:`critical_period`)
:mod:`.interactions`     AND/OR interactions of a run's models (:func:`run_interactions`)
:mod:`.files`            the model files of a run folder (:func:`final_model`, :func:`model_files`)
:mod:`.pruning`          pruning percolation against accuracy (:func:`pruning_sweep`)
:mod:`.checkpoints`      a user's own snapshots: checkpoints and their architecture
                         (:func:`checkpoint_models`)
:mod:`.graph_measures`   structure and graph EI of every snapshot
                         (:func:`graph_measures_over_training`)
:mod:`.spectra`          the spectra of a checkpoint's weight tensors (:func:`checkpoint_spectra`)
                         and of every snapshot (:func:`spectra_over_training`)
=======================  ===================================================================

The trainers import :mod:`netsci_dl.runs.format` (a low level of the house), so this package's
``__init__`` loads the pipelines only when one of their names is asked for.
"""

from __future__ import annotations

from typing import Any

# the names each module lends this package (one list: __all__ and the lazy lookup use it)
_FORMAT = ("SNAPSHOT_DIR", "list_snapshots", "read_sidecar", "snapshot_sources", "snapshot_stem")
_TRAJECTORY = ("EITrajectory", "ei_trajectory")
_SIMILARITY = ("ActivationSpec", "training_similarity")
_MEASURES = ("MEASURE_FAMILIES", "TrainingMeasureOptions", "training_measures")
_CRITICAL = ("CriticalPeriodOptions", "CriticalPeriodResult", "critical_period")
_INTERACTIONS = ("InteractionOptions", "InteractionRun", "run_interactions")
_FILES = ("final_model", "model_files")
_CHECKPOINTS = ("CheckpointModel", "checkpoint_models")
_SPECTRA = ("checkpoint_spectra", "SpectraTrajectory", "spectra_over_training")
_PRUNING = ("PruningSweep", "pruning_sweep")
_GRAPH = ("GRAPH_METRICS", "graph_measures_over_training")

__all__ = [
    *_FORMAT,
    *_TRAJECTORY,
    *_SIMILARITY,
    *_MEASURES,
    *_CRITICAL,
    *_INTERACTIONS,
    *_FILES,
    *_SPECTRA,
    *_PRUNING,
    *_CHECKPOINTS,
    *_GRAPH,
]


def __getattr__(name: str) -> Any:
    if name in _FORMAT:
        from netsci_dl.runs import format as mod
    elif name in _TRAJECTORY:
        from netsci_dl.runs import trajectory as mod
    elif name in _SIMILARITY:
        from netsci_dl.runs import similarity as mod
    elif name in _MEASURES:
        from netsci_dl.runs import measures as mod
    elif name in _CRITICAL:
        from netsci_dl.runs import critical as mod
    elif name in _INTERACTIONS:
        from netsci_dl.runs import interactions as mod
    elif name in _FILES:
        from netsci_dl.runs import files as mod
    elif name in _CHECKPOINTS:
        from netsci_dl.runs import checkpoints as mod
    elif name in _SPECTRA:
        from netsci_dl.runs import spectra as mod
    elif name in _PRUNING:
        from netsci_dl.runs import pruning as mod
    elif name in _GRAPH:
        from netsci_dl.runs import graph_measures as mod
    else:
        raise AttributeError(f"module 'netsci_dl.runs' has no attribute {name!r}")
    return getattr(mod, name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
