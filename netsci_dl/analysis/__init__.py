"""Analyses: `LayeredGraph` -> arrays and small frozen results. Pure; never mutate the input.

One module per topic:

==========================  =====================================================================
``distributions``           weights, strength, degree per layer; histograms, CCDFs
``fits``                    maximum-likelihood fits with KS and Vuong comparisons
``assortativity``           degree/strength assortativity, k_nn, degree-strength correlation
``compare``                 every structural scalar of a graph, and two graphs side by side
``effective_information``   EI of the graph over random walks (einet conventions)
``causal_plane``            EI of layers: sensitivity, degeneracy (deep-ei conventions)
``trajectory``              graph EI and causal-plane positions across training snapshots
``receptive_fields``        receptive fields of every unit, mapped back to input space
``emd``                     pairwise Earth Mover's Distance matrix engine
``modules``                 hierarchical clustering of receptive fields into modules
``module_stats``            per-module statistics (degree, strength, k_nn, EMD, links inside)
``communities``             Leiden / Louvain (igraph), SBM (graph-tool), modularity
``agreement``               ARI, NMI, contingency table between partitions
``null_models``             degree-preserving shuffles within blocks
==========================  =====================================================================

The names below are re-exported for convenience; a function named like its module
(``compare``, ``communities``, ``agreement``, ``effective_information``, ``receptive_fields``)
is reached through the module, or from the top-level ``netsci_dl`` namespace.
"""

from netsci_dl.analysis.assortativity import (
    average_neighbor_degree,
    degree_assortativity,
    degree_strength_correlation,
    knn_curve,
    strength_assortativity,
)
from netsci_dl.analysis.causal_plane import LayerEI, layer_causal_plane, layer_ei
from netsci_dl.analysis.communities import Partition, leiden, louvain, modularity, sbm
from netsci_dl.analysis.compare import StructureComparison, StructureSummary, structural_summary
from netsci_dl.analysis.distributions import (
    ccdf,
    degree,
    log_binned_histogram,
    strength,
    weight_stats,
)
from netsci_dl.analysis.effective_information import EffectiveInformation, ei_per_block
from netsci_dl.analysis.emd import EMDResult, emd_matrix, grid_error_bound
from netsci_dl.analysis.fits import FitResult, fit_distributions
from netsci_dl.analysis.modules import analyze_modules, functional_modules, module_statistics
from netsci_dl.analysis.null_models import shuffle_edges, shuffle_null
from netsci_dl.analysis.receptive_fields import to_distributions
from netsci_dl.analysis.trajectory import EITrajectory, ei_trajectory

__all__ = [
    "average_neighbor_degree",
    "degree_assortativity",
    "degree_strength_correlation",
    "knn_curve",
    "strength_assortativity",
    "LayerEI",
    "layer_causal_plane",
    "layer_ei",
    "Partition",
    "leiden",
    "louvain",
    "modularity",
    "sbm",
    "StructureComparison",
    "StructureSummary",
    "structural_summary",
    "ccdf",
    "degree",
    "log_binned_histogram",
    "strength",
    "weight_stats",
    "EffectiveInformation",
    "ei_per_block",
    "EMDResult",
    "emd_matrix",
    "grid_error_bound",
    "FitResult",
    "fit_distributions",
    "analyze_modules",
    "functional_modules",
    "module_statistics",
    "shuffle_edges",
    "shuffle_null",
    "to_distributions",
    "EITrajectory",
    "ei_trajectory",
]
