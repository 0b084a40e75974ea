"""Analyses: graphs, arrays or matrix-vector callables in; arrays and small frozen results out.

Pure: never an ``nn.Module``, never a run folder, never a file, never a mutation of the input
(the measures that run a model are in :mod:`netsci_dl.activations`, the ones over run folders in
:mod:`netsci_dl.runs`). Every public function and result class of the subpackages is importable
from here (``from netsci_dl.analysis import effective_information`` gives the function).

=================  ============================================================================
structure          distributions, fits, assortativity and k_nn, structural summary and compare,
                   null models, threshold sweep, communities and agreement, neuron
                   centralities, clusterability, rich club, motifs, pruning
                   percolation
information        EI of a graph over random walks; EI of layers and the causal plane
fields             receptive fields, the EMD engine, functional modules and their statistics
similarity         CKA (linear, RBF, debiased, minibatch), CCA, SVCCA, PWCCA; similarity maps
interactions       Harsanyi AND/OR interactions, the AND-OR split, salient sets, changes
spectra            ESD of weight matrices (alpha, norms, MP bulk, traps, Delta W); top
                   eigenvalue and trace of an operator given as matrix-vector products
=================  ============================================================================
"""

# Each subpackage lists its public names in ``__all__``; this package re-exports all of them
# (the networkx pattern: star imports kept in check by ``__all__``).
from netsci_dl.analysis import fields, information, interactions, similarity, spectra, structure
from netsci_dl.analysis.fields import *  # noqa: F403
from netsci_dl.analysis.information import *  # noqa: F403
from netsci_dl.analysis.interactions import *  # noqa: F403
from netsci_dl.analysis.similarity import *  # noqa: F403
from netsci_dl.analysis.spectra import *  # noqa: F403
from netsci_dl.analysis.structure import *  # noqa: F403

__all__ = [
    *structure.__all__,
    *information.__all__,
    *fields.__all__,
    *similarity.__all__,
    *interactions.__all__,
    *spectra.__all__,
]
