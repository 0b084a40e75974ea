"""Issue 29 item 2: layer_causal_plane on a list of Sequential(Linear, ReLU) layers."""

from __future__ import annotations

import dataclasses

import pytest


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise AssertionError(msg)


def test_causal_plane_of_sequential_relu_layers_uses_relu():
    torch = pytest.importorskip("torch")
    from netsci_dl.analysis.information import LayerEIOptions, layer_causal_plane, layer_ei

    torch.manual_seed(0)
    layers = [
        torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU()),
        torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.ReLU()),
    ]
    o = LayerEIOptions(n_samples=20_000, sensitivity_samples=2_000)
    pts = layer_causal_plane(layers, options=o)
    _check([p.activation for p in pts] == ["relu", "relu"], f"{[p.activation for p in pts]}")
    # the second layer reads the first's ReLU outputs: ReLU's noise range, as the graph path
    from netsci_dl.analysis.information._layer_ei_types import ACTIVATION_RANGES

    refs = [
        layer_ei(layers[0], options=o),
        layer_ei(layers[1], options=dataclasses.replace(o, in_range=ACTIVATION_RANGES["relu"])),
    ]
    for p, q in zip(pts, refs):
        _check(
            p.activation == q.activation and abs(p.ei_parts - q.ei_parts) < 1e-12,
            f"causal plane {p} != layer_ei {q}",
        )
