"""Receptive fields of hidden units, mapped back to input space, and their conversion to
probability distributions for the Earth Mover's Distance (shared/SCIENCE.md, T18).

The receptive field (RF) of unit ``j`` of group ``l`` is column ``j`` of the linear map from the
input (group 0) to ``l``, summed over every path: ``RF_l = sum over blocks b: s -> l of
RF_s W_b`` with ``RF_0 = I``, propagated in topological order (skip connections and identity
blocks included), which on a chain is ``RF_l = W^(0) W^(1) ... W^(l-1)`` of shape
``(n_0, n_l)``: a linear projection of the incoming weights back to the input, with no biases
and no nonlinearity (the lab code's definition). Each column is reshaped to the input image
shape. A group no path from the input reaches (a source group such as an LSTM's output) has an
all-zero RF.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl.analysis.fields.emd import SignedFields
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = ["receptive_fields", "to_distributions", "SignedFields"]

_METHODS = ("shift", "abs", "pos", "signed")


def _layer_index(G: LayeredGraph, layer: int | str) -> int:
    k = G.layer_index(layer)
    if k == 0:
        raise InputError("layer=0 is the input layer: receptive fields exist for layers 1..L-1")
    return k


def _image_shape(G: LayeredGraph, image_shape: Sequence[int] | None) -> tuple[int, ...]:
    shape = image_shape if image_shape is not None else G.meta.get("image_shape")
    if shape is None:
        raise InputError(
            "the graph has no meta['image_shape'] and no image_shape= was given: "
            f"say how to reshape the {G.layer_sizes[0]} input units into an image"
        )
    shape = tuple(int(s) for s in shape)
    if int(np.prod(shape)) != G.layer_sizes[0]:
        raise InputError(
            f"image_shape={shape} has {int(np.prod(shape))} pixels but the input layer has "
            f"{G.layer_sizes[0]} units"
        )
    return shape


def _thresholds(threshold: float | Sequence[float] | None, n_stages: int) -> list[float | None]:
    if threshold is None:
        return [None] * n_stages
    if np.ndim(threshold) == 0:
        ts = [float(threshold)] * n_stages  # type: ignore[arg-type]
    else:
        ts = [float(t) for t in threshold]  # type: ignore[union-attr]
        if len(ts) < n_stages:
            raise InputError(
                f"threshold has {len(ts)} values but {n_stages} product stages are needed"
            )
    for t in ts:
        if not 0.0 <= t < 1.0:
            raise InputError(f"threshold values must be in [0, 1) (a fraction), got {t}")
    return list(ts)


def _signed_block(G: LayeredGraph, k: int) -> Any:
    """The signed weights of block ``k``: a thresholded unweighted graph keeps them in
    ``edge_attrs["weight"]``; otherwise the block itself holds them."""
    if "weight" in G.edge_attrs:
        return G.edge_attrs["weight"][k]
    return G.blocks[k]


def receptive_fields(
    G: LayeredGraph,
    layer: int | str,
    *,
    threshold: float | Sequence[float] | None = None,
    image_shape: Sequence[int] | None = None,
) -> np.ndarray:
    """Receptive fields of every unit of a layer in input space.

    ``RF_l`` is the linear map from the input to group ``l`` summed over every path (see the
    module docstring; ``W^(0) W^(1) ... W^(l-1)`` on a chain), so the RFs of group ``l`` are the
    rows of ``RF_l.T``, of shape ``(n_l, n_0)``, reshaped to the image shape. No biases, no
    nonlinearity. Products are computed in float64, block by block (never a dense product over
    the whole graph).

    Parameters
    ----------
    G : LayeredGraph
        A feed-forward graph; layer 0 is the input. For a thresholded unweighted graph the
        signed weights of the kept edges (``edge_attrs["weight"]``) are used.
    layer : int or str
        Group index (1..L-1, negative counts from the top) or name. For every group:
        ``{l: receptive_fields(G, l) for l in range(1, G.n_layers)}``.
    threshold : float or sequence of float, optional
        Per-stage threshold, off by default. After each group's RF ``RF_g`` (``g = 1, 2,
        ...``) is computed, entries with ``|x| < threshold_g * max|x|`` over it are set to zero
        before it is propagated further (a fraction in ``[0, 1)``, so one number serves every
        stage; a sequence gives one value per group ``1..l``).
    image_shape : sequence of int, optional
        Input image shape; defaults to ``G.meta["image_shape"]``. An error if neither is set.

    Returns
    -------
    ndarray
        ``(n_l, *image_shape)`` float64.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl.graph import LayeredGraph
    >>> W0 = np.array([[1., 0.], [0., 1.], [1., 1.], [0., 2.]], dtype=np.float32)
    >>> W1 = np.array([[1.], [-1.]], dtype=np.float32)
    >>> G = LayeredGraph((4, 2, 1), (W0, W1), meta={"image_shape": [2, 2]})
    >>> receptive_fields(G, 2)[0].tolist()
    [[1.0, -1.0], [0.0, -2.0]]

    Notes
    -----
    Follows T18 and the lab code (shared/SCIENCE.md, "Receptive fields and functional
    modules"). Use :func:`to_distributions` to turn RFs into distributions for
    :func:`netsci_dl.analysis.fields.emd.emd_matrix`.
    """
    shape = _image_shape(G, image_shape)
    if G.n_layers < 2:
        raise InputError("the graph has a single layer: there are no receptive fields")
    top = _layer_index(G, layer)
    ts = _thresholds(threshold, top)
    n0 = G.layer_sizes[0]
    R: dict[int, np.ndarray] = {}  # group -> (n_0, n_g) float64; group 0 is the identity
    for g in range(1, top + 1):
        acc = None
        for b in G.blocks_into(g):
            s = G.block_src[b]
            blk = _signed_block(G, b)
            if s == 0:
                term = (
                    blk.toarray().astype(np.float64)
                    if sp.issparse(blk)
                    else np.array(blk, np.float64)
                )
            elif s in R:
                P = R[s]
                term = (
                    np.asarray(blk.T.astype(np.float64) @ P.T).T
                    if sp.issparse(blk)
                    else P @ np.asarray(blk, dtype=np.float64)
                )
            else:
                continue  # a source group not reached from the input
            acc = term if acc is None else acc + term
        if acc is None:
            acc = np.zeros((n0, G.layer_sizes[g]))
        t = ts[g - 1]
        if t is not None and t > 0 and acc.size:
            cut = t * float(np.abs(acc).max())
            acc = np.where(np.abs(acc) < cut, 0.0, acc)
        R[g] = acc
    return np.ascontiguousarray(R[top].T).reshape((R[top].shape[1], *shape))


def _check_units(bad: np.ndarray, what: str, layer: Any) -> None:
    idx = np.flatnonzero(bad)
    if idx.size:
        where = f" of layer {layer}" if layer is not None else ""
        shown = ", ".join(str(i) for i in idx[:5]) + (", ..." if idx.size > 5 else "")
        raise InputError(
            f"receptive field of unit {idx[0]}{where} is {what}: no distribution can be made "
            f"({idx.size} such unit(s): {shown})"
        )


def _one(rfs: np.ndarray, method: str, layer: Any) -> np.ndarray | SignedFields:
    R = np.asarray(rfs, dtype=np.float64)
    if R.ndim < 2:
        raise InputError(f"rfs must have shape (n_units, ...), got {R.shape}")
    shape = R.shape
    R = R.reshape(shape[0], -1)
    if not np.isfinite(R).all():
        _check_units(~np.isfinite(R).all(axis=1), "not finite", layer)
    amax = np.abs(R).max(axis=1) if R.shape[1] else np.zeros(R.shape[0])
    _check_units(amax == 0, "all zero", layer)
    ptp = R.max(axis=1) - R.min(axis=1)
    _check_units(ptp <= 8 * np.finfo(np.float64).eps * amax, "constant", layer)
    if method == "shift":
        P = R - R.min(axis=1, keepdims=True)
    elif method == "abs":
        P = np.abs(R)
    elif method == "pos":
        P = np.maximum(R, 0.0)
        _check_units(P.max(axis=1) == 0, "never positive (method='pos')", layer)
    else:
        tot = np.abs(R).sum(axis=1, keepdims=True)
        pos = np.maximum(R, 0.0) / tot
        neg = np.maximum(-R, 0.0) / tot
        return SignedFields(pos.reshape(shape), neg.reshape(shape))
    return (P / P.sum(axis=1, keepdims=True)).reshape(shape)


def to_distributions(
    rfs: np.ndarray | Mapping[int, np.ndarray],
    method: str = "shift",
    *,
    layer: int | str | None = None,
) -> Any:
    """Turn receptive fields into probability distributions over pixels, for the EMD.

    Parameters
    ----------
    rfs : ndarray or dict
        ``(n_units, *image_shape)`` receptive fields (from :func:`receptive_fields`), or a dict
        ``{layer: array}``, converted layer by layer.
    method : {"shift", "abs", "pos", "signed"}
        ``"shift"`` (default): ``p = (RF - min RF) / sum``. ``"abs"``: ``|RF| / sum``.
        ``"pos"``: the positive part, normalised. ``"signed"``: the positive and negative
        parts ``RF+ / sum|RF|`` and ``RF- / sum|RF|`` as a :class:`SignedFields`;
        :func:`~netsci_dl.analysis.fields.emd.emd_matrix` then computes ``EMD(p+ + q-, q+ + p-)``
        with both sides normalised to mass 1 (shared/SCIENCE.md).
    layer : int or str, optional
        Only used to name the layer in error messages for an array input.

    Returns
    -------
    ndarray, SignedFields or dict
        Same shape as ``rfs``, float64, each unit summing to 1 (for ``"signed"``: the two parts
        together sum to 1). A dict input gives a dict.

    Raises
    ------
    ValueError
        A constant or all-zero RF (or, for ``"pos"``, one with no positive entry), naming the
        unit and its layer.

    Examples
    --------
    >>> import numpy as np
    >>> rf = np.array([[[1.0, -1.0], [0.0, 2.0]]])
    >>> to_distributions(rf).round(3).tolist()
    [[[0.333, 0.0], [0.167, 0.5]]]
    >>> s = to_distributions(rf, "signed")
    >>> s.pos.sum() + s.neg.sum()
    1.0
    >>> to_distributions(np.ones((2, 2, 2)), layer=1)
    Traceback (most recent call last):
    ...
    netsci_dl.errors.InputError: receptive field of unit 0 of layer 1 is constant: no distribution can be made (2 such unit(s): 0, 1)
    """
    if method not in _METHODS:
        raise InputError(f"method={method!r} is not one of {_METHODS}")
    if isinstance(rfs, Mapping):
        return {key: _one(r, method, key) for key, r in rfs.items()}
    return _one(rfs, method, layer)
