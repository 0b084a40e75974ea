"""Graph structure: distributions, fits, assortativity, summaries, null models, sweeps,
communities.

=============================  ===============================================================
distributions                  weights, strength, degree per group and block; histograms, CCDFs
fits                           maximum-likelihood fits with KS and Vuong comparisons
assortativity                  degree/strength assortativity, k_nn, degree-strength correlation
structural summary, compare    every structural scalar of a graph, and two graphs side by side
null models                    layered random replica, rewiring within blocks, shuffles
sweep                          threshold sweep of the net against its null models
communities, agreement         Leiden / Louvain (igraph), SBM (graph-tool), ARI / NMI
centrality                     neuron measures (Scabini & Bruno), betweenness, eigenvector, Katz
clusterability                 spectral clustering, n-cut, within-block shuffle null (Filan)
rich club, motifs              rich-club coefficients and DAG motif counts against layered nulls
percolation                    the giant component as weights are pruned
=============================  ===============================================================
"""

from netsci_dl.analysis.structure._agreement import Agreement, agreement, restrict
from netsci_dl.analysis.structure._clusterability import (
    Clusterability,
    clusterability,
    n_cut,
    shuffle_weights,
    spectral_clustering,
)
from netsci_dl.analysis.structure._communities import (
    Partition,
    communities,
    leiden,
    louvain,
    modularity,
    sbm,
)
from netsci_dl.analysis.structure._compare import (
    StructureComparison,
    StructureSummary,
    compare,
    structural_summary,
)
from netsci_dl.analysis.structure.assortativity import (
    DegreeStrengthCorrelation,
    KnnCurve,
    average_neighbor_degree,
    block_assortativity,
    degree_assortativity,
    degree_strength_correlation,
    knn_curve,
    strength_assortativity,
)
from netsci_dl.analysis.structure.betweenness import (
    Betweenness,
    betweenness_centrality,
    eigenvector_centrality,
    katz_centrality,
)
from netsci_dl.analysis.structure.blockwise import (
    blockwise_assortativity,
    blockwise_degree,
    blockwise_knn,
    blockwise_quantile_cut,
    blockwise_strength,
    blockwise_topk,
    blockwise_weight_moments,
)
from netsci_dl.analysis.structure.centrality import (
    NEURON_MEASURES,
    average_neighbor_strength,
    bipartite_clustering,
    current_flow_closeness_centrality,
    harmonic_centrality,
    number_of_maximal_cliques,
    second_order_centrality,
    signed_strength,
    subgraph_centrality,
)
from netsci_dl.analysis.structure.distributions import (
    ccdf,
    degree,
    log_binned_histogram,
    strength,
    weight_stats,
)
from netsci_dl.analysis.structure.fits import FitResult, fit_distributions
from netsci_dl.analysis.structure.motifs import (
    MOTIFS,
    MotifCounts,
    count_motifs,
    motif_counts,
)
from netsci_dl.analysis.structure.neurons import (
    NeuronMeasures,
    NeuronTypes,
    neuron_measures,
    neuron_types,
)
from netsci_dl.analysis.structure.null_models import (
    NullResult,
    layered_replica,
    rewire_blocks,
    shuffle_edges,
    shuffle_null,
)
from netsci_dl.analysis.structure.percolation import (
    Percolation,
    prune_masks,
    pruning_percolation,
)
from netsci_dl.analysis.structure.rich_club import (
    RichClub,
    rich_club,
    rich_club_coefficient,
)
from netsci_dl.analysis.structure.sweep import default_cuts, threshold_sweep

__all__ = [
    "blockwise_assortativity",
    "blockwise_degree",
    "blockwise_knn",
    "blockwise_quantile_cut",
    "blockwise_strength",
    "blockwise_topk",
    "blockwise_weight_moments",
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
    "DegreeStrengthCorrelation",
    "KnnCurve",
    "average_neighbor_degree",
    "block_assortativity",
    "degree_assortativity",
    "degree_strength_correlation",
    "knn_curve",
    "strength_assortativity",
    "NEURON_MEASURES",
    "Betweenness",
    "NeuronMeasures",
    "NeuronTypes",
    "average_neighbor_strength",
    "betweenness_centrality",
    "bipartite_clustering",
    "current_flow_closeness_centrality",
    "eigenvector_centrality",
    "harmonic_centrality",
    "katz_centrality",
    "neuron_measures",
    "neuron_types",
    "number_of_maximal_cliques",
    "second_order_centrality",
    "signed_strength",
    "subgraph_centrality",
    "Clusterability",
    "clusterability",
    "n_cut",
    "shuffle_weights",
    "spectral_clustering",
    "MOTIFS",
    "MotifCounts",
    "count_motifs",
    "motif_counts",
    "RichClub",
    "rich_club",
    "rich_club_coefficient",
    "Percolation",
    "prune_masks",
    "pruning_percolation",
    "ccdf",
    "degree",
    "log_binned_histogram",
    "strength",
    "weight_stats",
    "FitResult",
    "fit_distributions",
    "NullResult",
    "layered_replica",
    "rewire_blocks",
    "shuffle_edges",
    "shuffle_null",
    "default_cuts",
    "threshold_sweep",
]
