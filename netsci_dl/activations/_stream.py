"""Streaming similarity: run one or two models batch by batch and keep only CKA's statistics.

Linear CKA (biased, debiased and minibatch) needs only sums of cross-products over examples
(:class:`netsci_dl.analysis.similarity.LinearCKAStats`), so the activation matrices are never
held: memory is one ``p x q`` float64 matrix per pair of layers plus one batch of activations.
For 60,000 examples and layers of up to 2,000 units that is ~32 MB per pair instead of ~1 GB
per layer. The other measures (RBF CKA, CCA, SVCCA, PWCCA) need the matrices: use
:func:`~netsci_dl.activations.layer_activations` and :func:`~netsci_dl.analysis.similarity.similarity_matrix`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from netsci_dl.activations._forward import _check_batch
from netsci_dl.activations._runners import _as_tensor, open_runner
from netsci_dl.errors import InputError

__all__ = ["STREAM_MEASURES", "stream_similarity", "stream_maps"]

#: measures that can be computed from streamed statistics
STREAM_MEASURES = ("cka", "cka_debiased", "cka_minibatch")


def _value(st: Any, i: int, j: int, measure: str) -> float:
    if measure == "cka_minibatch":
        return st.minibatch_cka(i, j)
    return st.cka(i, j, debiased=measure == "cka_debiased")


def stream_maps(
    model: Any,
    X: Any,
    reference: Any = None,
    *,
    measure: str = "cka",
    layers: Sequence[str] | None = None,
    reference_layers: Sequence[str] | None = None,
    batch_size: int = 256,
    device: Any = None,
    pool: str = "mean",
    dft_size: int | None = None,
    input_shape: Sequence[int] | None = None,
    within: bool = True,
    attention_mask: Any = None,
) -> tuple[tuple[str, ...], tuple[str, ...], np.ndarray | None, np.ndarray | None]:
    """``(names, reference_names, cross, within)`` computed in one streamed pass over ``X``.

    ``cross`` is ``(L, L_ref)`` (None without a reference); ``within`` is ``(L, L)`` (None when
    not asked for). ``attention_mask``: as in
    :func:`~netsci_dl.activations.layer_activations`.
    """
    from netsci_dl.analysis.similarity import LinearCKAStats

    if measure not in STREAM_MEASURES:
        raise InputError(
            f"measure={measure!r} cannot be streamed; streaming supports {STREAM_MEASURES} "
            "(compute activations with layer_activations for the others)"
        )
    if reference is None and not within:
        raise InputError("nothing to compute: no reference and within=False")
    Xt = _as_tensor(X)
    bs = _check_batch(batch_size)
    if measure == "cka_minibatch" and bs < 4:
        raise InputError(f"cka_minibatch needs batch_size >= 4, got {bs}")
    kw = {"device": device, "pool": pool, "dft_size": dft_size, "input_shape": input_shape}
    kw["attention_mask"] = attention_mask
    with contextlib.ExitStack() as stack:
        ra = stack.enter_context(open_runner(model, Xt, layers=layers, **kw))
        rb = None
        if reference is not None:
            rb = stack.enter_context(open_runner(reference, Xt, layers=reference_layers, **kw))
        La = len(ra.names)
        Lb = 0 if rb is None else len(rb.names)
        st = None
        for i in range(0, Xt.shape[0], bs):
            xb = Xt[i : i + bs]
            mb = None if ra.attention_mask is None else ra.attention_mask[i : i + bs]
            a = ra.run(xb, mb)
            batch = [a[k] for k in ra.names]
            if rb is not None:
                b = rb.run(xb, mb)
                batch += [b[k].to(batch[0].device) for k in rb.names]
            if st is None:
                pairs = [(p, La + q) for p in range(La) for q in range(Lb)]
                if within:
                    pairs += [(p, q) for p in range(La) for q in range(p, La)]
                st = LinearCKAStats([int(t.shape[1]) for t in batch], pairs, min_batch=4)
            st.update(batch)
        cross = None
        if rb is not None:
            cross = np.array(
                [[_value(st, p, La + q, measure) for q in range(Lb)] for p in range(La)]
            )
        grid = None
        if within:
            grid = np.eye(La)
            for p in range(La):
                for q in range(p, La):
                    grid[p, q] = grid[q, p] = _value(st, p, q, measure)
        return tuple(ra.names), tuple(rb.names) if rb is not None else (), cross, grid


def stream_similarity(
    model: Any,
    X: Any,
    other: Any = None,
    *,
    measure: str = "cka",
    layers: Sequence[str] | None = None,
    other_layers: Sequence[str] | None = None,
    batch_size: int = 256,
    device: Any = None,
    pool: str = "mean",
    input_shape: Sequence[int] | None = None,
    attention_mask: Any = None,
) -> Any:
    """Layer x layer linear CKA between two models (or one with itself), streamed over ``X``.

    Equal (to rounding) to ``similarity_matrix(layer_activations(model, X),
    layer_activations(other, X), measure=measure)``, but only a batch of activations and the
    cross-product statistics are in memory at any time. For ``"cka_minibatch"`` the batches
    are the minibatches (a last batch of fewer than 4 examples is left out of it).

    Parameters
    ----------
    model, other : nn.Module or DBN
        ``other=None``: ``model`` with itself.
    X : (n_samples, ...) ndarray or tensor
    measure : {"cka", "cka_debiased", "cka_minibatch"}
    layers, other_layers, batch_size, device, pool, input_shape, attention_mask
        As in :func:`~netsci_dl.activations.layer_activations`.

    Returns
    -------
    SimilarityMatrix

    Examples
    --------
    >>> import torch
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    >>> M = stream_similarity(net, torch.randn(50, 3), batch_size=16)
    >>> M.rows, [round(v, 12) for v in M.values.diagonal()]
    (('0', '2'), [1.0, 1.0])
    """
    from netsci_dl.analysis.similarity import SimilarityMatrix

    same = other is None or other is model
    names, ref_names, cross, grid = stream_maps(
        model,
        X,
        None if same else other,
        measure=measure,
        layers=layers,
        reference_layers=other_layers,
        batch_size=batch_size,
        device=device,
        pool=pool,
        input_shape=input_shape,
        within=same,
        attention_mask=attention_mask,
    )
    n = int(_as_tensor(X).shape[0])
    settings = {"streamed": True, "batch_size": int(batch_size), "pool": pool}
    if same:
        return SimilarityMatrix(grid, names, names, measure, n, settings)
    return SimilarityMatrix(cross, names, ref_names, measure, n, settings)
