"""Information: effective information of a graph over random walks (einet conventions) and of
layers on given samples (deep-ei conventions), and the causal plane (sensitivity, degeneracy).
"""

from netsci_dl.analysis.information._effective_information import (
    EffectiveInformation,
    effective_information,
    ei_per_block,
)
from netsci_dl.analysis.information.causal_plane import (
    ACTIVATION_RANGES,
    LayerEI,
    LayerEIOptions,
    layer_causal_plane,
    layer_ei,
)

__all__ = [
    "EffectiveInformation",
    "effective_information",
    "ei_per_block",
    "ACTIVATION_RANGES",
    "LayerEI",
    "LayerEIOptions",
    "layer_causal_plane",
    "layer_ei",
]
