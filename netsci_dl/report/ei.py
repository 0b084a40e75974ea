"""The report's "Effective information" section (a builder for :mod:`netsci_dl.report`).

Graph EI over random walks (Klein & Hoel; einet's conventions) of the full graph with transition
weights ``|w|`` and of the thresholded graph (the report's rule, unweighted), for the whole graph
and per layer block; and, when cheap, every layer's point in the causal plane (Marrow et al.;
sigmoid activations assumed, 8 bins, modest sample counts, all recorded in ``summary.json``).
The causal plane is not computed on a channel graph (a convolution's kernels reduced to one
value per channel pair): the page says so instead of printing numbers.
"""

from __future__ import annotations

import html
from typing import Any

from netsci_dl._sanitize import csv_frame
from netsci_dl.errors import InputError

__all__ = ["ei_section", "CAUSAL_PLANE_MAX_PAIRS"]

#: the causal-plane table is computed only when the largest layer has at most this many
#: input-output pairs (a digits DBN 64-256: 16,384; MNIST 784-500: 392,000 is skipped)
CAUSAL_PLANE_MAX_PAIRS = 20_000


def _cp_options() -> object:
    from netsci_dl.analysis.information.causal_plane import LayerEIOptions

    return LayerEIOptions(whole=False, device="cpu")  # the package's one estimator default


_CP = None  # tests may set a LayerEIOptions here


def _ei_rows(full: Any, thr: Any) -> Any:
    import pandas as pd

    rows = []
    for name, a, b in [("graph", full, thr)] + [
        (f"block {x.block_name or x.block}", x, y)
        for x, y in zip(full.blocks, thr.blocks, strict=True)
    ]:
        rows.append(
            {
                "part": name,
                "EI |w| (bits)": a.ei,
                "eff |w|": a.eff,
                "det |w| (bits)": a.determinism,
                "deg |w| (bits)": a.degeneracy,
                "EI thresholded (bits)": b.ei,
                "eff thresholded": b.eff,
                "nodes": a.n_nodes,
                "sinks |w|": a.n_sinks,
                "sinks thresholded": b.n_sinks,
            }
        )
    return pd.DataFrame(rows).set_index("part")


def _channel_blocks(G: Any) -> list[str]:
    """Names of the blocks of ``G`` made from convolution kernels (a channel graph)."""
    notes = list(G.meta.get("edge_weight") or [])
    return [
        G.block_names[b]
        for b, k in enumerate(G.block_kinds)
        if k != "identity"
        and b < len(notes)
        and ("kernel" in str(notes[b]) or "features of each channel" in str(notes[b]))
    ]


def _skipped(pairs: list[int]) -> str:
    """Why the page shows no causal plane for a net with large layers (or without torch)."""
    why = (
        f"the largest layer has {max(pairs)} input-output pairs (> {CAUSAL_PLANE_MAX_PAIRS})"
        if pairs
        else "torch is not installed"
    )
    return (
        f"<p>Causal plane skipped: {why}; run <code>netsci-dl causal-plane</code> on the "
        "checkpoint.</p>"
    )


def _not_on_channels(channels: list[str]) -> str:
    """Why the page shows no causal plane for a channel graph."""
    more = " ..." if len(channels) > 3 else ""
    return (
        "<p>Causal plane not computed: this is a channel graph (blocks "
        f"{html.escape(', '.join(channels[:3]))}{more} hold one value per pair of channels, a "
        "reduction of a convolution kernel), so a layer of it is not a map from units to units "
        "that a perturbation could be sampled through; its sensitivity and degeneracy would be "
        "numbers about a network that does not exist. Graph EI above is a property of the "
        "channel graph itself.</p>"
    )


def ei_section(ctx: Any) -> Any:
    """Section "Effective information" of the analysis report.

    Parameters
    ----------
    ctx : ReportContext

    Returns
    -------
    Section
        Tables of graph EI (full ``|w|`` graph and thresholded, whole and per block) and, when the
        layers are small enough (:data:`CAUSAL_PLANE_MAX_PAIRS`), each layer's sensitivity,
        degeneracy and EI_parts. ``ei.csv`` (and ``causal_plane.csv``) are written into the
        report folder.
    """
    from netsci_dl.analysis import effective_information
    from netsci_dl.report._core import Section, table_html

    G = ctx.G
    full = effective_information(G, weights="abs", per_block=True)
    thr = effective_information(ctx.H, weights="abs", per_block=True)
    df = _ei_rows(full, thr)
    csv_frame(df).to_csv(ctx.folder / "ei.csv")
    files = ["ei.csv"]
    direction = "directed (l \u2192 l+1)" if full.directed else "undirected (walks go both ways)"
    body = (
        "<p>Effective information of the graph over one-step random walks (Klein &amp; Hoel 2020; "
        f"einet's conventions), in bits: transition weights |w| on the full graph, and the "
        f"thresholded graph ({html.escape(ctx.rule)}, unweighted); {direction}. "
        "EI = determinism \u2212 degeneracy; eff = EI / log2 N.</p>" + table_html(df)
    )
    summary: dict[str, Any] = {
        "full_abs": full.to_dict(),
        "thresholded": dict(thr.to_dict(), threshold=ctx.rule),
    }
    pairs = [
        G.layer_sizes[s] * G.layer_sizes[d]
        for s, d, k in zip(G.block_src, G.block_dst, G.block_kinds)
        if k == "weight"
    ]
    try:
        import torch  # noqa: F401  (the causal plane samples with torch)
    except ImportError:
        pairs = []
    channels = _channel_blocks(G)
    if channels:
        body += _not_on_channels(channels)
        summary["causal_plane"] = "not applicable: channel graph"
    elif pairs and max(pairs) <= CAUSAL_PLANE_MAX_PAIRS:
        import pandas as pd

        from netsci_dl.analysis.information.causal_plane import layer_causal_plane

        o = _CP or _cp_options()
        try:
            pts = layer_causal_plane(G, options=o)
        except InputError:  # no recorded activation: the study's DBN convention, stated below
            pts = layer_causal_plane(G, activations="sigmoid", options=o)
        cp = pd.DataFrame(
            [
                {
                    "layer": p.name,
                    "activation": p.activation,
                    "sensitivity (bits)": p.sensitivity,
                    "degeneracy (bits)": p.degeneracy(),
                    "EI_parts (bits)": p.ei_parts,
                }
                for i, p in enumerate(pts)
            ]
        ).set_index("layer")
        csv_frame(cp).to_csv(ctx.folder / "causal_plane.csv")
        files.append("causal_plane.csv")
        body += (
            "<h3>Causal plane</h3><p>Each layer's sensitivity (x) and degeneracy (y) (Marrow, "
            "Michaud &amp; Hoel 2020; deep-ei's conventions; EI_parts = sensitivity \u2212 "
            "degeneracy), with the activation of each layer in the table; "
            f"bins={o.bins}, {o.n_samples} noise samples, {o.sensitivity_samples} per input for "
            f"the sensitivity, seed {o.seed} (plug-in estimates, biased upward with few samples). Over "
            "training: <code>netsci-dl causal-plane RUN_DIR -o out/</code>.</p>" + table_html(cp)
        )
        summary["causal_plane"] = [dict(p.to_dict(), layer=i) for i, p in enumerate(pts)]
        summary["causal_plane_settings"] = o.to_dict()
    else:
        body += _skipped(pairs)
    links = " ".join(f'<a href="{f}">{f}</a>' for f in files)
    body += f"<p class='files'>Data: {links}</p>"
    return Section("Effective information", body, files=tuple(files), summary=summary)
