"""Receptive fields: every unit's field mapped back to input space, the pairwise Earth Mover's
Distance engine, functional modules by hierarchical clustering of the fields, and their
statistics.
"""

from netsci_dl.analysis.fields._receptive_fields import receptive_fields, to_distributions
from netsci_dl.analysis.fields.emd import EMDOptions, EMDResult, emd_matrix, grid_error_bound
from netsci_dl.analysis.fields.module_stats import ModuleStatistics
from netsci_dl.analysis.fields.modules import (
    FunctionalModules,
    ModuleAnalysis,
    analyze_modules,
    functional_modules,
    module_statistics,
)

__all__ = [
    "receptive_fields",
    "to_distributions",
    "EMDOptions",
    "EMDResult",
    "emd_matrix",
    "grid_error_bound",
    "ModuleStatistics",
    "FunctionalModules",
    "ModuleAnalysis",
    "analyze_modules",
    "functional_modules",
    "module_statistics",
]
