"""Representation similarity: CKA, CCA, SVCCA, PWCCA, and maps across layers and training.

Inputs are activation matrices, rows = the same examples, columns = units (from
:func:`netsci_dl.activations.layer_activations`, or any arrays). Definitions in
shared/SCIENCE.md (Kornblith et al. 2019; Raghu et al. 2017; Morcos et al. 2018; Nguyen et al.
2021); computations in float64, numpy by default, torch on ``device=``.

=================================  ============================================================
:func:`cka`                        linear / RBF, biased / debiased, feature or Gram space
:func:`minibatch_cka`              unbiased HSIC terms averaged over batches, then the ratio
:func:`cca`, :func:`svcca`,        canonical correlations (QR/SVD, no covariance inversion),
:func:`pwcca`                      SVCCA's 99%-variance cut, PWCCA's projection weights
:func:`similarity_matrix`          one measure over every pair of layers of two models
:class:`LinearCKAStats`            linear CKA from statistics streamed batch by batch
:func:`similarity_over_training`   each layer vs the final snapshot, and each snapshot's grid
=================================  ============================================================

Too few samples make CCA meaningless (with ``samples <= units`` every correlation is 1): the
CCA family raises a :class:`SimilarityWarning` that says how many samples are needed. A layer
that is constant over the samples gives NaN (with a warning).
"""

from __future__ import annotations

from netsci_dl.analysis.similarity._cca import CCAResult, cca, pwcca, svcca
from netsci_dl.analysis.similarity._cka import center_gram, cka, minibatch_cka, rbf_gram
from netsci_dl.analysis.similarity._cka_stream import LinearCKAStats
from netsci_dl.analysis.similarity._maps import (
    MEASURES,
    PreparedLayers,
    SimilarityMatrix,
    SimilarityOptions,
    check_measure,
    prepare_layers,
    similarity_matrix,
)
from netsci_dl.analysis.similarity._sim_common import SimilarityWarning
from netsci_dl.analysis.similarity._training_maps import (
    SnapshotSimilarity,
    TrainingSimilarity,
    similarity_over_training,
    snapshot_similarity,
)

__all__ = [
    "cka",
    "minibatch_cka",
    "cca",
    "svcca",
    "pwcca",
    "CCAResult",
    "similarity_matrix",
    "SimilarityMatrix",
    "SimilarityOptions",
    "MEASURES",
    "PreparedLayers",
    "prepare_layers",
    "check_measure",
    "LinearCKAStats",
    "SnapshotSimilarity",
    "TrainingSimilarity",
    "snapshot_similarity",
    "similarity_over_training",
    "SimilarityWarning",
    "rbf_gram",
    "center_gram",
]
