"""The tensor operations of the per-example squared gradient norms (:mod:`._sqnorms`).

A layer's per-example weight gradient is ``sum_t d_t a_t^T`` over its positions ``t`` (inputs
``a_t``, output gradients ``d_t``); :func:`_contract` takes its squared Frobenius norm the
cheapest way, :func:`_conv_cols` unfolds a convolution's input into those ``a_t``,
:func:`_by_position` lays its output gradients out to match. A first-layer ``nn.Conv2d`` runs
its forward pass as one GEMM on its unfolded input (:func:`_gemm_forward`), and the norms reuse
those patches.
"""

from __future__ import annotations

from typing import Any

__all__: list[str] = []


def _positions(x: Any, b: int, channels_last: bool) -> Any:
    """``(b, T, c)`` from ``(b, ..., c)`` (channels last) or ``(b, c, ...)``."""
    if channels_last:
        return x.reshape(b, -1, x.shape[-1])
    return x.reshape(b, x.shape[1], -1).transpose(1, 2)


def _contract(a: Any, d: Any, ones: bool = False) -> Any:
    """``||sum_t d_ts a_t^T||_F^2`` per leading index and label ``s``: ``(..., S)``.

    ``a`` ``(..., T, k)`` (a layer's inputs by position), ``d`` ``(..., T, S, o)`` (its output
    gradients for ``S`` labels), any strides. Three ways, the cheapest in operations: ``T = 1``
    the product of the norms; the Gram identity ``sum_{t,t'} (a_t . a_t') (d_ts . d_t's) =
    sum D_s * (A A^T D_s)`` (``T^2 (k + S o)``); or the direct product ``A^T [D_1 ... D_S]``
    (``T k S o``: one GEMM for every label), whose Frobenius norm is taken without a squared
    copy. In the tensors' dtype (float32 sums are pairwise: ~1e-7 relative).

    ``ones=True``: ``a``'s last column is ones (a bias); returns ``(weight, bias)`` norms, the
    bias's ``||sum_t d_ts||^2`` from the same GEMM on the direct route.
    """
    import torch

    vnorm = torch.linalg.vector_norm
    T, k, S, o = a.shape[-2], a.shape[-1], d.shape[-2], d.shape[-1]
    direct = T > 1 and T * (k + S * o) >= k * S * o
    if ones and not direct:  # the ones column apart
        return _contract(a[..., :-1], d), vnorm(d.sum(-3), dim=-1).square_()
    if T == 1:
        nd = vnorm(d, dim=(-1, -3))  # (..., S)
        return (vnorm(a, dim=(-1, -2)).unsqueeze(-1) * nd).square_()
    dm = d.reshape(*d.shape[:-2], S * o)  # (..., T, S o): the labels side by side
    if not direct:  # the Gram identity is cheaper
        m = (a @ a.transpose(-1, -2)) @ dm
        return m.mul_(dm).reshape(d.shape).sum((-1, -3))
    # the orientation that reads ``a`` without a copy: (k, T) @ (T, S o) when ``a`` is stored
    # k-major (the unfolded input of a channels-first convolution), else (S o, T) @ (T, k)
    if a.stride(-2) == 1:
        g = (a.transpose(-1, -2) @ dm).reshape(*a.shape[:-2], k, S, o)
        # the norm over two axes apart is slower than squares and a sum (measured, S = 10)
        if ones:
            w, b = g[..., :-1, :, :], g[..., -1, :, :]
            if S == 1:
                return vnorm(w, dim=(-1, -3)).square_(), vnorm(b, dim=-1).square_()
            return w.square().sum((-1, -3)), b.square().sum(-1)
        return vnorm(g, dim=(-1, -3)).square_() if S == 1 else g.square_().sum((-1, -3))
    g = (dm.transpose(-1, -2) @ a).reshape(*a.shape[:-2], S, o, k)
    if ones:
        return vnorm(g[..., :-1], dim=(-1, -2)).square_(), vnorm(g[..., -1], dim=-1).square_()
    return vnorm(g, dim=(-1, -2)).square_()


def _cat(parts: list, dim: int) -> Any:
    import torch

    return parts[0] if len(parts) == 1 else torch.cat(parts, dim)


def _conv_cols(m: Any, a: Any) -> Any:
    """The input's patches ``(b, groups, L, C_in/groups * prod(kernel))`` (any order of the
    last axis: only norms are taken), a view or one copy of the padded input's strided views.

    The copy reads the input along its unit-stride axis: channels-first for a channels-first
    input or one channel (the ``F.unfold`` layout ``(b, C k, L)``, transposed), positions by
    ``(kernel, channel)`` for a channels-last input (measured 2.7x faster than ``F.unfold``
    for one channel, 2.7x faster than the channels-first copy for six channels last)."""
    if a.ndim == 3:  # Conv1d as a 2-D convolution of height 1
        a = a.unsqueeze(2)
    grow = 2 - len(m.kernel_size)
    ks, st, dl = ((1,) * grow + tuple(t) for t in (m.kernel_size, m.stride, m.dilation))
    pd = (0, 0) if m.padding == "valid" else (0,) * grow + tuple(m.padding)
    b, C, G = a.shape[0], a.shape[1], m.groups
    last = C > 1 and a.stride(1) == 1  # channels last
    a = _windows(a, ks, st, dl, pd)  # (b, C, OH, OW, kh, kw)
    L = a.shape[2] * a.shape[3]
    if last:  # (b, L, k, G, C/G) -> (b, G, L, k C/G)
        U = a.permute(0, 2, 3, 4, 5, 1).reshape(b, L, ks[0] * ks[1], G, C // G)
        return U.permute(0, 3, 1, 2, 4).reshape(b, G, L, -1)
    U = a.permute(0, 1, 4, 5, 2, 3).reshape(b, C * ks[0] * ks[1], L)  # the F.unfold layout
    return U.reshape(b, G, -1, L).transpose(-1, -2)


class _Cols:
    """A convolution call's input patches ``(b, 1, L, C kh kw [+ 1])``, unfolded by its GEMM
    forward pass (:func:`_gemm_forward`), in place of its input."""

    __slots__ = ("a", "ones", "x")

    def __init__(self, a: Any, ones: bool, x: Any) -> None:
        self.a, self.ones = a, ones  # ones: a last column of ones (the bias's)
        self.x = x  # the call's input (for a module called more than once)


def _windows(a: Any, ks: tuple, st: tuple, dl: tuple, pd: tuple) -> Any:
    """The zero-padded 4-D input's kernel windows as a view ``(b, C, OH, OW, kh, kw)``."""
    import torch.nn.functional as F

    if any(pd):
        a = F.pad(a, [pd[1], pd[1], pd[0], pd[0]])
    for i in range(2):
        a = a.unfold(2 + i, (ks[i] - 1) * dl[i] + 1, st[i])
    if any(x > 1 for x in dl):
        a = a[(Ellipsis, *(slice(None, None, x) for x in dl))]
    return a


def _patches(m: Any, a: Any) -> Any:
    """A 2-D convolution's input patches as a view ``(C, kh, kw, b, OH, OW)`` of the padded
    input, in the weight's order."""
    pd = (0, 0) if m.padding == "valid" else tuple(m.padding)
    return _windows(a, m.kernel_size, m.stride, m.dilation, pd).permute(1, 4, 5, 0, 2, 3)


def _gemm_forward(m: Any, name: str, state: dict, pending: dict) -> Any:
    """A forward pass for the ``nn.Conv2d`` ``m`` (``groups=1``) that, on a CPU input needing no
    gradient (a first layer), computes the convolution as one GEMM, weight ``(O, C kh kw)``
    times patches ``(C kh kw, b OH OW)``, and leaves the patches in ``pending[name]`` for the
    norms, which unfold them anyway. Its output is channels last, as the channels-last weights
    make oneDNN's. On 1,000 8x8 digits (1 -> 6 channels) convolution, ReLU and max pooling take
    1.8 ms this way against 2.3 ms, gradient recorded. Any other call: the module's own."""
    import torch

    own = type(m).forward

    def forward(x: Any) -> Any:
        if not (
            state["gemm"]
            and x.ndim == 4
            and not x.requires_grad
            and x.device.type == "cpu"
            and x.dtype in (torch.float32, torch.float64)
        ):
            return own(m, x)
        P = _patches(m, x)  # (C, kh, kw, b, OH, OW)
        b, OH, OW = P.shape[3:]
        K, ones = P.shape[:3].numel(), m.bias is not None
        # the bias as a row of ones under the patches: the GEMM adds it (no broadcast copy)
        # and the norms' GEMM gives its gradient
        P2 = x.new_empty(K + ones, b * OH * OW)
        P2[:K].view(P.shape).copy_(P)
        W = m.weight.reshape(m.out_channels, K)
        if ones:
            P2[K] = 1
            W = torch.cat([W, m.bias[:, None]], 1)
        o = W @ P2  # (O, b OH OW)
        pending[name] = _Cols(P2.view(K + ones, b, -1).permute(1, 2, 0).unsqueeze(1), ones, x)
        # a copy, not a view: an in-place op on the output (ReLU(inplace=True)) must leave the
        # output's gradient edge in the graph
        o = o.view(-1, b, OH, OW).permute(1, 0, 2, 3)
        return o.clone(memory_format=torch.channels_last)

    return forward


def _stack(gs: list, dim: int) -> Any:
    """The ``S`` label gradients stacked at ``dim`` (a view for one)."""
    import torch

    return gs[0].unsqueeze(dim) if len(gs) == 1 else torch.stack(gs, dim)


def _by_position(gs: list, G: int) -> Any:
    """A convolution's output gradients ``(b, C_out, *out)`` for ``S`` labels as ``(b, G, L, S,
    C_out/G)`` (a view for one label and channels-last gradients)."""
    b, C = gs[0].shape[:2]
    g = _stack([x.reshape(b, C, -1).transpose(1, 2) for x in gs], 2)  # (b, L, S, C)
    L, S = g.shape[1], g.shape[2]
    return g.reshape(b, L, S, G, C // G).permute(0, 3, 1, 2, 4)
