"""Analyses: `LayeredGraph` -> arrays and small frozen results. Pure; never mutate the input.

Every public function and result class is importable from here
(``from netsci_dl.analysis import effective_information`` gives the function). Topics:

=============================  ===============================================================
distributions                  weights, strength, degree per group and block; histograms, CCDFs
fits                           maximum-likelihood fits with KS and Vuong comparisons
assortativity                  degree/strength assortativity, k_nn, degree-strength correlation
structural summary, compare    every structural scalar of a graph, and two graphs side by side
effective information          EI of the graph over random walks (einet conventions)
causal plane                   EI of layers: sensitivity, degeneracy (deep-ei conventions)
trajectory                     graph EI and causal-plane positions across training snapshots
receptive fields               receptive fields of every unit, mapped back to input space
emd                            pairwise Earth Mover's Distance matrix engine
modules, module statistics     hierarchical clustering of receptive fields into modules
communities, agreement         Leiden / Louvain (igraph), SBM (graph-tool), ARI / NMI
null models                    layered random replica, rewiring within blocks, shuffles
sweep                          threshold sweep of the net against its null models
interactions                   Harsanyi AND/OR interactions, the AND-OR split, per layer
fisher, curvature              Fisher information per layer; Hessian and gradient-covariance spectra
similarity                     CKA (linear, RBF, debiased, minibatch), CCA, SVCCA, PWCCA; maps
=============================  ===============================================================

Implementation modules whose name is a public function's (``_effective_information``,
``_compare``, ``_communities``, ``_agreement``, ``_receptive_fields``) are private.
"""

from netsci_dl.analysis._agreement import Agreement, agreement, restrict
from netsci_dl.analysis._communities import Partition, communities, leiden, louvain, modularity, sbm
from netsci_dl.analysis._compare import (
    StructureComparison,
    StructureSummary,
    compare,
    structural_summary,
)
from netsci_dl.analysis._effective_information import (
    EffectiveInformation,
    effective_information,
    ei_per_block,
)
from netsci_dl.analysis._receptive_fields import receptive_fields, to_distributions
from netsci_dl.analysis.assortativity import (
    DegreeStrengthCorrelation,
    KnnCurve,
    average_neighbor_degree,
    block_assortativity,
    degree_assortativity,
    degree_strength_correlation,
    knn_curve,
    strength_assortativity,
)
from netsci_dl.analysis.causal_plane import LayerEI, LayerEIOptions, layer_causal_plane, layer_ei
from netsci_dl.analysis.curvature import (
    GradientCovariance,
    TopEigenvalue,
    TraceEstimate,
    gradient_covariance,
    hessian_top_eigenvalue,
    hessian_trace,
    hutchinson_trace,
    loss_hvp,
    top_eigenvalue,
)
from netsci_dl.analysis.distributions import (
    ccdf,
    degree,
    log_binned_histogram,
    strength,
    weight_stats,
)
from netsci_dl.analysis.emd import EMDResult, emd_matrix, grid_error_bound
from netsci_dl.analysis.fisher import FISHER_KINDS, FisherTrace, fisher_trace
from netsci_dl.analysis.fits import FitResult, fit_distributions
from netsci_dl.analysis.interactions import (
    AndOrSplit,
    LayerInteractions,
    LinearProbe,
    SalientChange,
    SplitOptions,
    and_interactions,
    and_or_split,
    compare_layers,
    compare_salient,
    fit_probe,
    layer_interactions,
    or_interactions,
    salient_mask,
    shapley_values,
    snapshot_changes,
    strength_by_order,
    zeta_transform,
)
from netsci_dl.analysis.module_stats import ModuleStatistics
from netsci_dl.analysis.modules import (
    FunctionalModules,
    ModuleAnalysis,
    analyze_modules,
    functional_modules,
    module_statistics,
)
from netsci_dl.analysis.null_models import (
    NullResult,
    layered_replica,
    rewire_blocks,
    shuffle_edges,
    shuffle_null,
)
from netsci_dl.analysis.similarity import (
    CCAResult,
    SimilarityMatrix,
    SimilarityOptions,
    TrainingSimilarity,
    cca,
    cka,
    minibatch_cka,
    pwcca,
    similarity_matrix,
    similarity_over_training,
    svcca,
)
from netsci_dl.analysis.sweep import default_cuts, threshold_sweep
from netsci_dl.analysis.trajectory import EITrajectory, ei_trajectory

__all__ = [
    "Agreement",
    "agreement",
    "restrict",
    "Partition",
    "communities",
    "leiden",
    "louvain",
    "modularity",
    "sbm",
    "StructureComparison",
    "StructureSummary",
    "compare",
    "structural_summary",
    "EffectiveInformation",
    "effective_information",
    "ei_per_block",
    "receptive_fields",
    "to_distributions",
    "DegreeStrengthCorrelation",
    "KnnCurve",
    "average_neighbor_degree",
    "block_assortativity",
    "degree_assortativity",
    "degree_strength_correlation",
    "knn_curve",
    "strength_assortativity",
    "LayerEI",
    "LayerEIOptions",
    "layer_causal_plane",
    "layer_ei",
    "ccdf",
    "degree",
    "log_binned_histogram",
    "strength",
    "weight_stats",
    "EMDResult",
    "emd_matrix",
    "grid_error_bound",
    "FitResult",
    "fit_distributions",
    "ModuleStatistics",
    "FunctionalModules",
    "ModuleAnalysis",
    "analyze_modules",
    "functional_modules",
    "module_statistics",
    "NullResult",
    "shuffle_edges",
    "shuffle_null",
    "layered_replica",
    "rewire_blocks",
    "default_cuts",
    "threshold_sweep",
    "EITrajectory",
    "ei_trajectory",
    "AndOrSplit",
    "LayerInteractions",
    "LinearProbe",
    "SalientChange",
    "SplitOptions",
    "and_interactions",
    "and_or_split",
    "compare_layers",
    "compare_salient",
    "fit_probe",
    "layer_interactions",
    "or_interactions",
    "salient_mask",
    "shapley_values",
    "snapshot_changes",
    "strength_by_order",
    "zeta_transform",
    "FISHER_KINDS",
    "FisherTrace",
    "fisher_trace",
    "GradientCovariance",
    "TopEigenvalue",
    "TraceEstimate",
    "gradient_covariance",
    "hessian_top_eigenvalue",
    "hessian_trace",
    "hutchinson_trace",
    "loss_hvp",
    "top_eigenvalue",
    "CCAResult",
    "SimilarityMatrix",
    "SimilarityOptions",
    "TrainingSimilarity",
    "cca",
    "cka",
    "minibatch_cka",
    "pwcca",
    "similarity_matrix",
    "similarity_over_training",
    "svcca",
]
