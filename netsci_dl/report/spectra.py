"""The report's "Weight spectra" section (issue 25): heavy-tailed self-regularisation per layer.

:func:`netsci_dl.analysis.layer_spectra` of every block of signed weights (a matrix the model
learned, ``(n_src, n_dst)``): the eigenvalues of ``W^T W``, the power-law exponent alpha of
the tail (the package's CSN fit, xmin by KS) with its standard error and KS distance,
alpha_weighted, the log spectral and Frobenius norms, the stable rank, the Marchenko-Pastur
bulk (sigma, spikes above the bulk edge) and correlation traps (spikes of the matrix with its
entries shuffled, seeded). Figures: alpha per matrix, and the ESD of at most
:data:`ESD_PANELS` matrices (evenly spaced) with the fit and the MP bulk edge.

Where it does not apply, the page says so: a channel graph's convolution blocks hold kernel
norms (one number per channel pair), not the kernels, so they are left out (``netsci-dl
spectra CHECKPOINT`` reads the raw kernels); identity blocks hold no learned weight. An RBM's
weights are matrices like any other and get their spectra; the band ``2 <= alpha <= 6`` where
Martin & Mahoney find well-trained layers was established on nets trained by SGD on labels,
so for an RBM or DBN alpha describes the spectrum without that reading (the page says so).
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from netsci_dl._sanitize import csv_frame

__all__ = ["spectra_section", "ESD_PANELS", "SPECTRA_MAX_ENTRIES"]

#: the report's ESD figure draws at most this many matrices
ESD_PANELS = 6
#: graphs whose signed weight blocks hold more entries in all are skipped (``netsci-dl spectra``)
SPECTRA_MAX_ENTRIES = 20_000_000
COLUMNS = ["name", "shape", "alpha", "alpha_stderr", "ks", "xmin", "n_tail", "alpha_weighted",
           "log_spectral_norm", "stable_rank", "mp_sigma", "n_spikes", "n_traps"]  # fmt: skip


def signed_weight_blocks(G: Any) -> list[int]:
    """The blocks of ``G`` that hold signed weights (learned matrices), in block order."""
    from netsci_dl.threshold import block_value_kinds

    return [b for b, v in enumerate(block_value_kinds(G)) if v == "signed weight"]


def spectra_section(ctx: Any) -> Any:
    """Section "Weight spectra"."""
    from netsci_dl.analysis import layer_spectra
    from netsci_dl.analysis.spectra import LayerSpectra
    from netsci_dl.plot import plot_alpha, plot_esd, save_figure
    from netsci_dl.report._core import Section, figure_html, rel, table_html

    title = "Weight spectra"
    G = ctx.G
    blocks = signed_weight_blocks(G)
    left = [G.block_names[b] for b, k in enumerate(G.block_kinds) if k != "identity"
            and b not in blocks]  # fmt: skip
    if not blocks:
        why = "Does not apply: no block holds a learned weight matrix (" + (
            f"{', '.join(left)} hold kernel norms; netsci-dl spectra CHECKPOINT reads the raw "
            "kernels)" if left else "no weight blocks)"
        )  # fmt: skip
        return Section(title, f"<p>{html.escape(why)}</p>", summary={"skipped": why})
    size = sum(int(np.prod(G.blocks[b].shape)) for b in blocks)
    if size > SPECTRA_MAX_ENTRIES:
        why = (f"Skipped: {size:,} weights (> {SPECTRA_MAX_ENTRIES:,}); run netsci-dl spectra "
               "CHECKPOINT -o out/ for them.")  # fmt: skip
        return Section(title, f"<p>{html.escape(why)}</p>", summary={"skipped": why})
    S = layer_spectra([(G.block_names[b], G.dense_block(b)) for b in blocks], seed=0,
                      progress=False)  # fmt: skip
    df = S.to_frame()
    csv_frame(df).to_csv(ctx.folder / "spectra.csv", index=False)
    pick = np.unique(np.linspace(0, len(S) - 1, min(ESD_PANELS, len(S))).round().astype(int))
    named = dict(S.settings, source=ctx.name)  # the figures' titles name the model
    few = LayerSpectra(tuple(S[int(i)] for i in pick), named)
    alpha_png, alpha_svg = save_figure(
        plot_alpha(LayerSpectra(S.matrices, named)), ctx.figures / "spectra_alpha"
    )
    esd_png, esd_svg = save_figure(plot_esd(few), ctx.figures / "spectra_esd")
    rbm = str(G.meta.get("model_kind", "")).lower() in ("dbn", "rbm")
    notes = [f"left out (kernel norms, not matrices): {', '.join(left)}"] if left else []
    if rbm:
        notes.append("an RBM/DBN: the 2 <= alpha <= 6 band of well-trained layers comes from "
                     "nets trained by SGD on labels; here alpha describes the spectrum only")  # fmt: skip
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    body = (
        f"<p>Per weight matrix ({len(S)}): eigenvalues of W<sup>T</sup>W, the power-law "
        "exponent alpha of their tail (CSN fit, xmin by KS, +- standard error), the "
        "Marchenko-Pastur bulk (spikes above its edge) and correlation traps (spikes of the "
        "matrix with its entries shuffled).</p>"
        + (f"<ul>{items}</ul>" if items else "")
        + figure_html(ctx, alpha_png, "alpha per weight matrix")
        + figure_html(ctx, esd_png, f"ESD of {len(few)} matrices with the fit and the MP edge")
        + table_html(df[[c for c in COLUMNS if c in df]].set_index("name"))
        + "<p class='files'>Data: <a href='spectra.csv'>spectra.csv</a></p>"
    )  # fmt: skip
    a = S.alpha
    summary = {
        "matrices": list(S.names),
        "alpha": [float(x) if np.isfinite(x) else None for x in a],
        "alpha_median": float(np.median(a[np.isfinite(a)])) if np.isfinite(a).any() else None,
        "n_spikes": [int(s.mp.n_spikes) for s in S],
        "n_traps": [s.n_traps for s in S],
        "left_out": left,
    }
    files = ("spectra.csv", *(rel(ctx, p) for p in (alpha_png, alpha_svg, esd_png, esd_svg)))
    return Section(title, body, files=files, summary=summary)
