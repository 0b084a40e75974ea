"""CNN -> channel graph: one node per channel, one edge per (input channel, output channel).

The weight of the edge ``c_in -> c_out`` is a reduction of the kernel ``W[c_out, c_in, :, :]``:

==========  ===========================================
``l2``      sqrt(sum w^2)  (default; >= 0)
``l1``      sum |w|        (>= 0)
``sum``     sum w          (signed: the response to a constant input)
``mean``    mean w         (signed)
``max_abs`` max |w|        (>= 0)
==========  ===========================================

A **1x1 (single-tap) kernel** holds one weight: its edge is that weight, signed, whatever the
reduction (a norm would drop the sign of a plain channel-mixing matrix). Readers tell such blocks
by their note, ``"<reduce> of each 1x1 kernel"`` (:func:`netsci_dl.threshold.single_tap`): their
values are signed weights.

Grouped convolutions (``groups > 1``) connect each output channel only to the input channels of
its group: the block is a csr_array holding one edge per kernel.

**Flatten into the first Linear layer.** A Linear layer after a convolution takes
``F = C * k`` features, where torch's flatten is channel-major (the ``k = h*w`` features of
channel 0 come first). Its input side is aggregated per channel: the edge ``c -> j`` gets the same
reduction applied to ``W[j, c*k:(c+1)*k]``. With global pooling (``F == C``) nothing is reduced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl.errors import InputError

__all__ = ["REDUCTIONS", "reduce_kernels", "conv_block", "flatten_block"]

REDUCTIONS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "l2": lambda a, ax: np.sqrt(np.sum(np.square(a, dtype=np.float64), axis=ax)),
    "l1": lambda a, ax: np.sum(np.abs(a), axis=ax, dtype=np.float64),
    "sum": lambda a, ax: np.sum(a, axis=ax, dtype=np.float64),
    "mean": lambda a, ax: np.mean(a, axis=ax, dtype=np.float64),
    "max_abs": lambda a, ax: np.max(np.abs(a), axis=ax).astype(np.float64),
}


def _reducer(reduce: str) -> Callable[[np.ndarray, int], np.ndarray]:
    try:
        return REDUCTIONS[reduce]
    except KeyError:
        raise InputError(f"conv_reduce={reduce!r} is not one of {', '.join(REDUCTIONS)}") from None


def kernel_note(reduce: str, spatial: tuple[int, ...], groups: int = 1) -> str:
    """What a channel block of kernels of shape ``spatial`` holds, for ``meta["edge_weight"]``:
    ``"l2 of each 3x3 kernel"``; a single-tap (1x1) kernel holds its weight, signed, whatever the
    reduction: ``"signed weight of each 1x1 kernel"``.

    Examples
    --------
    >>> kernel_note("l2", (3, 3), 2), kernel_note("l2", (1, 1))
    ('l2 of each 3x3 kernel, 2 groups', 'signed weight of each 1x1 kernel')
    """
    k = "x".join(map(str, spatial))
    head = "signed weight" if all(int(d) == 1 for d in spatial) else reduce
    return f"{head} of each {k} kernel" + (f", {groups} groups" if groups > 1 else "")


def reduce_kernels(weight: np.ndarray, reduce: str = "l2") -> np.ndarray:
    """``(out, in, *kernel)`` -> ``(out, in)`` by reducing every kernel to one number.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.ones((2, 1, 3, 3))
    >>> reduce_kernels(w, "l1").tolist()
    [[9.0], [9.0]]
    >>> reduce_kernels(-np.ones((1, 1, 1, 1)), "l2").tolist()   # 1x1: the weight, signed
    [[-1.0]]
    """
    if weight.ndim < 3:
        raise InputError(f"a conv weight has at least 3 dims, got shape {weight.shape}")
    flat = weight.reshape(weight.shape[0], weight.shape[1], -1)
    _reducer(reduce)  # validate the name
    if flat.shape[2] == 1:  # a 1x1 (single-tap) kernel is one weight: kept signed, any reduce
        return flat[:, :, 0].astype(np.float64)
    return _reducer(reduce)(flat, 2)


def conv_block(weight: np.ndarray, n_in_channels: int, reduce: str = "l2") -> Any:
    """The ``(n_in_channels, out)`` block of a (possibly grouped) convolution.

    Parameters
    ----------
    weight : (out, in / groups, *kernel) ndarray
    n_in_channels : int
        Channels entering the convolution; ``groups = n_in_channels / weight.shape[1]``.
    reduce : str
        See the module docstring.

    Returns
    -------
    ndarray or csr_array
        Dense when ``groups == 1``; with groups, a csr_array holding only the (input channel,
        output channel) pairs the convolution joins (one edge per kernel).

    Examples
    --------
    >>> import numpy as np
    >>> w = np.ones((4, 1, 2, 2))          # depthwise-like: 2 groups of 2 outputs, 1 input each
    >>> conv_block(w, 2, "sum").toarray().tolist()
    [[4.0, 4.0, 0.0, 0.0], [0.0, 0.0, 4.0, 4.0]]
    """
    out_c, in_per_group = weight.shape[:2]
    if n_in_channels % in_per_group:
        raise InputError(
            f"conv weight {weight.shape} takes {in_per_group} channels per group, which does "
            f"not divide the {n_in_channels} input channels"
        )
    groups = n_in_channels // in_per_group
    if out_c % groups:
        raise InputError(
            f"conv weight {weight.shape}: {out_c} outputs not divisible by {groups} groups"
        )
    red = reduce_kernels(weight, reduce)  # (out, in_per_group)
    if groups == 1:
        return red.T
    out_per_group = out_c // groups
    o = np.arange(out_c)
    g = o // out_per_group
    rows = g[:, None] * in_per_group + np.arange(in_per_group)[None, :]  # (out, in_per_group)
    cols = np.broadcast_to(o[:, None], rows.shape)
    block = sp.coo_array(
        (red.reshape(-1), (rows.reshape(-1), cols.reshape(-1))), shape=(n_in_channels, out_c)
    ).tocsr()
    block.sort_indices()
    return block


def flatten_block(
    weight: np.ndarray, n_channels: int, reduce: str = "l2", *, inner: int | None = None
) -> np.ndarray:
    """The ``(n_channels, out)`` block of a Linear layer fed by a flattened conv output.

    Parameters
    ----------
    weight : (out, F) ndarray
        torch layout; ``F`` must be a multiple of ``n_channels``.
    inner : int, optional
        The order of the flatten: feature ``f`` belongs to channel ``(f // inner) % C``.
        Default ``k = F / C``: channel-major, torch's flatten of ``(C, H, W)``; ``inner=1``:
        channels last (a flatten of ``(H, W, C)``).

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([[1.0, 1.0, 2.0, 2.0]])   # 1 output, 2 channels of 2 features
    >>> flatten_block(w, 2, "sum").tolist()
    [[2.0], [4.0]]
    >>> flatten_block(w, 2, "sum", inner=1).tolist()   # channels last: features 0, 2 are channel 0
    [[3.0], [3.0]]
    """
    out, feats = weight.shape
    if feats % n_channels:
        raise InputError(
            f"Linear weight {weight.shape} takes {feats} features, not a multiple of the "
            f"{n_channels} channels of the convolution before it"
        )
    k = feats // n_channels
    if k == 1:
        return weight.T.astype(np.float64)
    inner = k if inner is None else int(inner)
    if inner < 1 or k % inner:
        raise InputError(f"inner={inner} does not divide the {k} features of each channel")
    w = weight.reshape(out, k // inner, n_channels, inner).transpose(0, 2, 1, 3)
    return _reducer(reduce)(w.reshape(out, n_channels, k), 2).T
