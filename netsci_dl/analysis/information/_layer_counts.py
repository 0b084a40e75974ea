"""Counting helpers of the layer EI estimator (:mod:`netsci_dl.analysis.information.causal_plane`).

Binning, one-hot encoding and exact integer matrix products give the joint histograms of all
(input, output) pairs at once; plug-in mutual information and entropies in bits.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from netsci_dl._array import import_torch

__all__: list[str] = []


def _bin(v: Any, lo: float, hi: float, bins: int) -> Any:
    """Equal-width bin of every value; values outside the range go to the edge bins."""
    return ((v - lo) * (bins / (hi - lo))).floor_().clamp_(0, bins - 1).long()


def _onehot(idx: Any, bins: int) -> Any:
    """``(S, k)`` int64 bin ids -> ``(S, k * bins)`` int8 one-hot."""
    torch = import_torch()
    S, k = idx.shape
    out = torch.zeros((S, k, bins), dtype=torch.int8, device=idx.device)
    out.scatter_(2, idx.unsqueeze(2), 1)
    return out.reshape(S, k * bins)


def _count_mm(a: Any, b: Any) -> Any:
    """Exact ``a.T @ b`` for int8 0/1 matrices ``a (S, m)``, ``b (S, n)``, as int64."""
    torch = import_torch()
    at = a.T.contiguous()
    if hasattr(torch, "_int_mm"):
        try:
            if at.device.type == "cuda":  # cuBLASLt int8: m > 16 and k, n multiples of 8
                m, k = at.shape
                n = b.shape[1]
                pm, pk, pn = max(17, -(-m // 8) * 8) - m, -(-k // 8) * 8 - k, -(-n // 8) * 8 - n
                at2 = torch.nn.functional.pad(at, (0, pk, 0, pm))
                b2 = torch.nn.functional.pad(b, (0, pn, 0, pk))
                return torch._int_mm(at2, b2)[:m, :n].long()
            return torch._int_mm(at, b).long()
        except RuntimeError:
            pass
    return (at.float() @ b.float()).round_().long()  # exact while S < 2**24


def _mi_from_counts(c: np.ndarray) -> np.ndarray:
    """Plug-in mutual information (bits) of joint counts ``c (..., bx, by)``."""
    c = np.asarray(c, dtype=np.float64)
    S = c.sum(axis=(-2, -1))

    def slog(x: np.ndarray) -> np.ndarray:
        out = np.zeros_like(x)
        nz = x > 0
        out[nz] = x[nz] * np.log2(x[nz])
        return out

    h = slog(c).sum(axis=(-2, -1)) - slog(c.sum(-1)).sum(-1) - slog(c.sum(-2)).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mi = np.where(S > 0, h / np.where(S > 0, S, 1) + np.log2(np.where(S > 0, S, 1)), 0.0)
    return np.maximum(mi, 0.0)


def _entropy_of_codes(codes: np.ndarray) -> float:
    _, cnt = np.unique(codes, return_counts=True)
    p = cnt / cnt.sum()
    return float(-(p * np.log2(p)).sum())


def _codes(bins_arr: np.ndarray, bins: int) -> np.ndarray:
    """One int64 per row of bin ids (row-unique ids when ``bins**k`` overflows int64)."""
    k = bins_arr.shape[1]
    if k * math.log2(bins) <= 62:
        return bins_arr.astype(np.int64) @ (bins ** np.arange(k, dtype=np.int64))
    return np.unique(bins_arr, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _act(torch: Any, name: str) -> Any:
    F = torch.nn.functional
    return {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "leaky_relu": F.leaky_relu,
        "elu": F.elu,
        "gelu": F.gelu,
        "silu": F.silu,
        "softplus": F.softplus,
        "identity": lambda v: v,
    }[name]


def _seeds(seed: int) -> tuple[int, int]:
    ss = np.random.SeedSequence(seed).spawn(2)
    return tuple(int(s.generate_state(1, np.uint64)[0] >> np.uint64(1)) for s in ss)  # type: ignore[return-value]


def _batch(n_cols: int, bins: int, batch_bytes: int) -> int:
    per_sample = n_cols * (bins + 12)  # one-hot int8 + float32 values + int64 bins
    return int(max(64, min(1 << 16, batch_bytes // max(per_sample, 1))))
