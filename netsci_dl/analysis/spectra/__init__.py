"""Spectra: eigenvalues of weight matrices and of operators.

- Weight matrices (Martin & Mahoney's heavy-tailed self-regularisation): :func:`esd` (the
  eigenvalues of ``W^T W``, kernels' slices pooled), :func:`layer_spectra` (per matrix: the
  power-law alpha with its standard error and KS distance, ``xmin`` by KS or by the ESD's peak,
  alpha_weighted, log norms, stable rank, the Marchenko-Pastur bulk and its spikes, correlation
  traps, and the same for the change ``W - W_ref``), :func:`mp_fit`, :func:`peak_window`.
- Operators given as matrix-vector products: the top eigenvalue by Lanczos or power iteration,
  Hutchinson's trace estimate, and the result objects of the curvature measures (the callables
  that run a model are in :mod:`netsci_dl.activations`).
"""

from netsci_dl.analysis.spectra._curvature_results import (
    GradientCovariance,
    TopEigenvalue,
    TraceEstimate,
)
from netsci_dl.analysis.spectra._esd import ESD, MPFit, esd, mp_fit, peak_window
from netsci_dl.analysis.spectra._layer_spectra import LayerSpectra, MatrixSpectrum, layer_spectra
from netsci_dl.analysis.spectra._operators import hutchinson_trace, top_eigenvalue

__all__ = [
    "ESD",
    "GradientCovariance",
    "LayerSpectra",
    "MPFit",
    "MatrixSpectrum",
    "TopEigenvalue",
    "TraceEstimate",
    "esd",
    "hutchinson_trace",
    "layer_spectra",
    "mp_fit",
    "peak_window",
    "top_eigenvalue",
]
