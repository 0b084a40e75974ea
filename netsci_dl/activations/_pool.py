"""Reduce a layer's output of shape ``(b, C, *spatial)`` to a matrix ``(b, units)``."""

from __future__ import annotations

from typing import Any

from netsci_dl.errors import InputError

__all__ = ["POOLS", "reduce_output", "check_pool"]

#: pool -> what a convolutional (or any >2-D) output becomes
POOLS = {
    "mean": "per channel: the mean over spatial positions -> (b, C)",
    "none": "flattened in (C, *spatial) order -> (b, C * prod(spatial))",
    "dft": "2-D DFT of each channel map (orthonormal), real parts then imaginary parts",
}


def check_pool(pool: str, dft_size: int | None) -> None:
    if pool not in POOLS:
        raise InputError(f"pool={pool!r}: expected one of {sorted(POOLS)}")
    if dft_size is not None and (int(dft_size) < 1 or pool != "dft"):
        raise InputError(f"dft_size={dft_size!r}: a positive int, and only with pool='dft'")


def _low_freq(size: int, keep: int, device: Any) -> Any:
    """Indices of the DFT frequencies ``f`` with ``-keep/2 <= f < keep/2`` (google/svcca's
    ``fft_resize``)."""
    import torch

    f = torch.fft.fftfreq(size, d=1.0 / size, device=device)
    return torch.nonzero((f >= -keep / 2.0) & (f < keep / 2.0)).reshape(-1)


def reduce_output(t: Any, pool: str, dft_size: int | None = None) -> Any:
    """``(b, units)`` from a layer output ``t`` (a new tensor; the input is not kept).

    A 2-D output is copied as is. For ``(b, C, *spatial)``: ``"mean"`` averages each channel
    over its positions; ``"none"`` flattens; ``"dft"`` applies the orthonormal DFT over the
    spatial axes (R17's preprocessing for conv layers: it preserves inner products, so on the
    full spectrum CKA and CCA equal those of ``"none"``), keeps the frequencies ``f`` with
    ``-s/2 <= f < s/2`` on each spatial axis when ``dft_size=s`` (the low-pass resize R17 use to
    compare maps of different sizes), and stores the real parts, then the imaginary parts, each
    in (C, *spatial) order.
    """
    import torch

    t = t.detach()
    if t.ndim == 1:
        return t.reshape(-1, 1).clone()
    if t.ndim == 2:
        return t.clone()
    b = t.shape[0]
    spatial = tuple(range(2, t.ndim))
    if pool == "mean":
        return t.mean(dim=spatial)
    if pool == "none":
        return t.reshape(b, -1).clone()
    F = torch.fft.fftn(t, dim=spatial, norm="ortho")
    if dft_size is not None:
        for ax in spatial:
            F = F.index_select(ax, _low_freq(F.shape[ax], int(dft_size), F.device))
    return torch.cat([F.real.reshape(b, -1), F.imag.reshape(b, -1)], dim=1)
