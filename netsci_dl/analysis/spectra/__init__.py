"""Spectra: eigenvalues of operators and matrices.

The curvature math on given matrix-vector products: the top eigenvalue of a symmetric operator
by Lanczos or power iteration, Hutchinson's trace estimate, and the result objects of the
curvature measures (the callables that run a model are in :mod:`netsci_dl.activations`).
"""

from netsci_dl.analysis.spectra._curvature_results import (
    GradientCovariance,
    TopEigenvalue,
    TraceEstimate,
)
from netsci_dl.analysis.spectra._operators import hutchinson_trace, top_eigenvalue

__all__ = [
    "GradientCovariance",
    "TopEigenvalue",
    "TraceEstimate",
    "hutchinson_trace",
    "top_eigenvalue",
]
