"""Linear CKA from sufficient statistics accumulated batch by batch (no activation matrix kept).

For a pair of layers ``u`` (``p`` units) and ``v`` (``q`` units) the biased and the debiased
linear CKA need only sums over examples: ``n``, ``sum u``, ``sum u u^T`` (``p x p``),
``sum u v^T`` (``p x q``), and, for the debiased estimator, with ``a = |u|^2`` and
``b = |v|^2`` per example, ``sum a``, ``sum a b``, ``sum a v``, ``sum b u``. Centring happens at
the end (``C_c = C - n m_u m_v^T`` and the expansion of the centred row norms). To keep the
subtraction accurate, every layer is shifted by the mean of its first batch before anything is
summed (CKA is invariant to translation). Minibatch CKA (Nguyen et al. 2021) comes with it: each
batch's unbiased HSIC terms are summed as the batch goes by.

Memory: one ``p x q`` float64 matrix per requested pair plus one ``p x p`` per layer; time: one
GEMM per pair and batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from netsci_dl.analysis.similarity._sim_common import const_tol, warn, xp_of
from netsci_dl.errors import InputError

__all__ = ["LinearCKAStats"]


def _centred_fro2(C: Any, n: int, mu: Any, mv: Any) -> float:
    """``||C - n mu mv^T||_F^2`` without forming the matrix (the means are small: data shifted)."""
    c = C.reshape(-1)
    return (
        float(c @ c)
        - 2 * n * float(mu @ C @ mv)
        + n * n * float((mu * mu).sum()) * float((mv * mv).sum())
    )


class _Layer:
    __slots__ = ("shift", "s", "sa", "saa", "sau", "C", "su2", "raw")

    def __init__(self) -> None:
        self.shift = None


class LinearCKAStats:
    """Accumulate what linear CKA (biased, debiased, minibatch) needs over batches of examples.

    Parameters
    ----------
    widths : sequence of int
        Units of each layer (the layers of one model or of several, in any order).
    pairs : sequence of (int, int)
        The pairs of layer indices whose CKA will be asked for (each layer's own pair is always
        kept, for the norms).
    min_batch : int
        Batches smaller than this are left out of the minibatch estimate (4 at least: the
        unbiased HSIC needs 4 examples). The full-data statistics use every example.
    device : torch device, optional
        Convert every batch to a float64 torch tensor there (torch's CPU GEMM is several times
        numpy's); default: keep each batch's own kind (numpy stays numpy, tensors stay where
        they are).

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl.analysis.similarity import cka
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.normal(size=(100, 3)), rng.normal(size=(100, 4))
    >>> st = LinearCKAStats([3, 4], [(0, 1)])
    >>> for i in range(0, 100, 30):
    ...     st.update([X[i : i + 30], Y[i : i + 30]])
    >>> bool(abs(st.cka(0, 1) - cka(X, Y)) < 1e-12)
    True
    """

    def __init__(
        self,
        widths: Sequence[int],
        pairs: Sequence[tuple[int, int]],
        *,
        min_batch: int = 4,
        device: Any = None,
    ):
        self.widths = tuple(int(w) for w in widths)
        L = len(self.widths)
        want = {(int(i), int(j)) for i, j in pairs} | {(i, i) for i in range(L)}
        for i, j in want:
            if not (0 <= i < L and 0 <= j < L):
                raise InputError(f"pair ({i}, {j}) is out of range for {L} layers")
        self.pairs = tuple(sorted(want))
        self.layers = [_Layer() for _ in range(L)]
        self.n = 0
        self.min_batch = max(4, int(min_batch))
        self.cross: dict[tuple[int, int], Any] = {}
        self.sab: dict[tuple[int, int], float] = {}
        self.sav: dict[tuple[int, int], Any] = {}
        self.sbu: dict[tuple[int, int], Any] = {}
        self.mb: dict[tuple[int, int], float] = dict.fromkeys(self.pairs, 0.0)
        self.n_batches = 0
        self.device = None
        if device is not None:
            from netsci_dl._array import resolve_device

            self.device = resolve_device(device)

    def update(self, batch: Sequence[Any]) -> None:
        """Add one batch: ``batch[i]`` is layer i's ``(b, widths[i])`` array or tensor (same rows)."""
        if len(batch) != len(self.widths):
            raise InputError(f"expected {len(self.widths)} layers in the batch, got {len(batch)}")
        xs = []
        b = None
        for i, (x, w) in enumerate(zip(batch, self.widths)):
            if self.device is not None:
                import torch

                x = torch.as_tensor(x).to(device=self.device)
            xp = xp_of(x)
            x = x.to(dtype=xp.float64) if xp is not np else np.asarray(x, dtype=np.float64)
            x = x.reshape(x.shape[0], -1)
            if x.shape[1] != w:
                raise InputError(f"layer {i}: batch has {x.shape[1]} units, expected {w}")
            if b is None:
                b = int(x.shape[0])
            elif x.shape[0] != b:
                raise InputError(f"layer {i}: batch has {x.shape[0]} rows, layer 0 has {b}")
            lay = self.layers[i]
            if lay.shift is None:
                lay.shift = x.mean(0)
            u = x - lay.shift
            su2, raw = (u * u).sum(0), (x * x).sum(0)
            if self.n == 0:
                lay.su2, lay.raw = su2, raw
            else:
                lay.su2, lay.raw = lay.su2 + su2, lay.raw + raw
            xs.append(u)
        if not b:
            return
        rows = [(u * u).sum(1) for u in xs]
        for i, (u, a) in enumerate(zip(xs, rows)):
            lay = self.layers[i]
            s, sa = u.sum(0), float(a.sum())
            if self.n == 0:
                lay.s, lay.sa = s, sa
            else:
                lay.s, lay.sa = lay.s + s, lay.sa + sa
        use_mb = b >= self.min_batch
        if use_mb:  # this batch's own centring, for its unbiased HSIC terms
            means = [u.mean(0) for u in xs]
            d = [a - 2 * (u @ m) + float((m * m).sum()) for u, a, m in zip(xs, rows, means)]
            sq = [float(di.sum()) for di in d]
        for i, j in self.pairs:
            u, v = xs[i], xs[j]
            C = u.T @ v
            sab = float((rows[i] * rows[j]).sum())
            sav = rows[i] @ v
            sbu = rows[j] @ u
            if (i, j) in self.cross:
                self.cross[i, j] += C
                self.sab[i, j] += sab
                self.sav[i, j] += sav
                self.sbu[i, j] += sbu
            else:
                self.cross[i, j], self.sab[i, j], self.sav[i, j], self.sbu[i, j] = C, sab, sav, sbu
            if use_mb:
                # ||X_b^T Y_b||^2 of the centred batch from its uncentred cross-product
                num = (
                    _centred_fro2(C, b, means[i], means[j])
                    - b / (b - 2) * float((d[i] * d[j]).sum())
                    + sq[i] * sq[j] / ((b - 1) * (b - 2))
                )
                self.mb[i, j] += num / (b * (b - 3))
        self.n += b
        self.n_batches += int(use_mb)

    # ------------------------------------------------------------------ results
    def _key(self, i: int, j: int) -> tuple[tuple[int, int], bool]:
        if (i, j) in self.cross:
            return (i, j), False
        if (j, i) in self.cross:
            return (j, i), True
        raise InputError(f"pair ({i}, {j}) was not requested")

    def _centred(self, i: int, j: int) -> tuple[float, float]:
        """``||X_c^T Y_c||_F^2`` and ``<d_x, d_y>`` (centred squared row norms) for a pair."""
        (a, b), _ = self._key(i, j)
        n = self.n
        A, B = self.layers[a], self.layers[b]
        mu, mv = A.s / n, B.s / n
        C = self.cross[a, b]
        cross2 = _centred_fro2(C, n, mu, mv)
        al, be = float((mu * mu).sum()), float((mv * mv).sum())
        dd = (
            self.sab[a, b]
            - 2 * float((mv * self.sav[a, b]).sum())
            - 2 * float((mu * self.sbu[a, b]).sum())
            + be * A.sa
            + al * B.sa
            + 4 * float(mu @ C @ mv)
            - 3 * n * al * be
        )
        return cross2, dd

    def _sq(self, i: int) -> float:
        lay = self.layers[i]
        m = lay.s / self.n
        return lay.sa - self.n * float((m * m).sum())

    def _constant(self, i: int) -> bool:
        """Every unit of layer i constant to rounding over the examples seen: its centred sum of
        squares ``<= const_tol(n)`` times its raw one (as ``_sim_common.center``)."""
        lay = self.layers[i]
        m = lay.s / self.n
        flat = lay.su2 - self.n * (m * m) <= const_tol(self.n) * lay.raw
        return bool(flat.all())

    def _hsic_num(self, i: int, j: int, debiased: bool) -> float:
        cross2, dd = self._centred(i, j)
        if not debiased:
            return cross2
        n = self.n
        return cross2 - n / (n - 2) * dd + self._sq(i) * self._sq(j) / ((n - 1) * (n - 2))

    def cka(self, i: int, j: int, *, debiased: bool = False) -> float:
        """Linear CKA of layers i and j over every example seen (NaN for a constant layer)."""
        if self.n < (4 if debiased else 2):
            raise InputError(f"{self.n} examples seen; CKA needs at least {4 if debiased else 2}")
        if self._sq(i) <= 0 or self._sq(j) <= 0 or self._constant(i) or self._constant(j):
            warn("CKA is undefined (nan): a layer is constant over the examples")
            return math.nan
        den = self._hsic_num(i, i, debiased) * self._hsic_num(j, j, debiased)
        return self._hsic_num(i, j, debiased) / math.sqrt(den) if den > 0 else math.nan

    def minibatch_cka(self, i: int, j: int) -> float:
        """Minibatch CKA: per-batch unbiased HSIC summed over batches, then the ratio."""
        if self.n_batches == 0:
            raise InputError(f"no batch of >= {self.min_batch} examples was seen")
        (a, b), _ = self._key(i, j)
        if self._constant(i) or self._constant(j):
            warn("minibatch CKA is undefined (nan): a layer is constant over the examples")
            return math.nan
        den = self.mb[i, i] * self.mb[j, j]
        return self.mb[a, b] / math.sqrt(den) if den > 0 else math.nan
