"""Run models on data: per-layer activations, streamed batches, similarity over training,
per-example gradients (for the Fisher information and curvature), masked inputs (for the
interactions).

The one place that knows how to run a model on examples (shared/DESIGN.md); the measures that
use the results are plain array functions in :mod:`netsci_dl.analysis`.
"""

from netsci_dl.activations._forward import (
    POOLS,
    Activations,
    iter_activations,
    layer_activations,
    open_runner,
)
from netsci_dl.activations._gradients import (
    GradBatch,
    iter_per_example_grads,
    param_groups,
    per_example_grads,
    predict_log_probs,
)
from netsci_dl.activations._masking import (
    coalition_masks,
    grid_players,
    learn_baseline,
    log_odds,
    masked_values,
)
from netsci_dl.activations._run_measures import (
    MEASURE_FAMILIES,
    TrainingMeasureOptions,
    training_measures,
)
from netsci_dl.activations._stream import STREAM_MEASURES, stream_maps, stream_similarity
from netsci_dl.activations._training import (
    ActivationSpec,
    SnapshotTask,
    run_snapshot_task,
    training_similarity,
)

__all__ = [
    "Activations",
    "layer_activations",
    "iter_activations",
    "open_runner",
    "POOLS",
    "stream_similarity",
    "stream_maps",
    "STREAM_MEASURES",
    "ActivationSpec",
    "SnapshotTask",
    "run_snapshot_task",
    "training_similarity",
    "training_measures",
    "TrainingMeasureOptions",
    "MEASURE_FAMILIES",
    "GradBatch",
    "iter_per_example_grads",
    "param_groups",
    "per_example_grads",
    "predict_log_probs",
    "coalition_masks",
    "grid_players",
    "learn_baseline",
    "log_odds",
    "masked_values",
]
