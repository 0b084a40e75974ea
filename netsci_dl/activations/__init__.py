"""Run models on data: per-layer activations, streamed batches, per-example gradients,
Hessian-vector products, masked inputs; and the measures that need a live model.

The one place that calls a model's forward or backward. The measures that need a live model
(:func:`fisher_trace`, :func:`hessian_top_eigenvalue`, :func:`hessian_trace`,
:func:`gradient_covariance`, :func:`layer_interactions`, :func:`pruning_accuracy`) are thin calls
into the pure math of
:mod:`netsci_dl.analysis`; the pipelines over run folders are in :mod:`netsci_dl.runs`.
"""

from netsci_dl.activations._baseline import learn_baseline
from netsci_dl.activations._curvature import (
    gradient_covariance,
    hessian_top_eigenvalue,
    hessian_trace,
    loss_hvp,
)
from netsci_dl.activations._data import accepts_data
from netsci_dl.activations._fisher import FISHER_KINDS, FisherTrace, fisher_trace
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
from netsci_dl.activations._interactions import layer_interactions
from netsci_dl.activations._masking import (
    coalition_masks,
    feature_players,
    grid_players,
    log_odds,
    masked_values,
)
from netsci_dl.activations._pool import check_pool
from netsci_dl.activations._pruning import PruningAccuracy, pruning_accuracy
from netsci_dl.activations._stream import STREAM_MEASURES, stream_maps, stream_similarity
from netsci_dl.activations._tokens import (
    TOKEN_MASKS,
    check_token_ids,
    takes_attention_mask,
    token_players,
)

# every data-path function also takes a Dataset, a torch Dataset or a DataLoader as X
layer_activations = accepts_data(layer_activations)
iter_activations = accepts_data(iter_activations)
open_runner = accepts_data(open_runner)
stream_similarity = accepts_data(stream_similarity)
stream_maps = accepts_data(stream_maps)
fisher_trace = accepts_data(fisher_trace)
hessian_top_eigenvalue = accepts_data(hessian_top_eigenvalue)
hessian_trace = accepts_data(hessian_trace)
gradient_covariance = accepts_data(gradient_covariance)
layer_interactions = accepts_data(layer_interactions)
pruning_accuracy = accepts_data(pruning_accuracy)
per_example_grads = accepts_data(per_example_grads)
iter_per_example_grads = accepts_data(iter_per_example_grads)
predict_log_probs = accepts_data(predict_log_probs)
masked_values = accepts_data(masked_values)
loss_hvp = accepts_data(loss_hvp)
learn_baseline = accepts_data(learn_baseline)

__all__ = [
    "Activations",
    "layer_activations",
    "iter_activations",
    "open_runner",
    "POOLS",
    "check_pool",
    "PruningAccuracy",
    "pruning_accuracy",
    "stream_similarity",
    "stream_maps",
    "STREAM_MEASURES",
    "FISHER_KINDS",
    "FisherTrace",
    "fisher_trace",
    "loss_hvp",
    "hessian_top_eigenvalue",
    "hessian_trace",
    "gradient_covariance",
    "layer_interactions",
    "GradBatch",
    "iter_per_example_grads",
    "param_groups",
    "per_example_grads",
    "predict_log_probs",
    "coalition_masks",
    "grid_players",
    "feature_players",
    "token_players",
    "TOKEN_MASKS",
    "takes_attention_mask",
    "check_token_ids",
    "learn_baseline",
    "log_odds",
    "masked_values",
]
