"""Effective information of layers: EI_parts, EI_whole, sensitivity, degeneracy, the causal plane.

Conventions of Marrow, Michaud & Hoel (2020) and their ``deep-ei`` code (see SCIENCE.md). A layer
is ``y = act(x @ W + b)`` with ``W`` of shape ``(n_in, n_out)`` (block orientation; torch's
``nn.Linear.weight`` is its transpose). Inputs are intervened on with maximum entropy (i.i.d.
uniform over ``in_range``), inputs and outputs are binned into ``bins`` equal bins, and mutual
informations are plug-in estimates in bits.

Vectorised: the joint histograms of all ``n_in * n_out`` (input, output) pairs are one integer
matrix product per batch of samples, ``onehot(x_bins).T @ onehot(y_bins)`` (int8 in, exact
int32 counts out; ``torch._int_mm``, float32 fallback), accumulated in int64. Memory is bounded:
the counts take ``8 * n_in * n_out * bins**2`` bytes (128 MB for 500 x 500 at 8 bins) and a batch
of samples about ``batch_bytes``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from netsci_dl._array import import_torch, resolve_device
from netsci_dl.analysis.information._layer_counts import (
    _act,
    _batch,
    _bin,
    _codes,
    _count_mm,
    _entropy_of_codes,
    _mi_from_counts,
    _onehot,
    _seeds,
)
from netsci_dl.analysis.information._layer_ei_types import (
    ACTIVATION_RANGES,
    LayerEI,
    LayerEIOptions,
    as_layer,
    check_range,
    identity_range,
)
from netsci_dl.errors import InputError
from netsci_dl.export.layers import linear_layer

__all__ = ["LayerEI", "LayerEIOptions", "layer_ei", "layer_causal_plane", "ACTIVATION_RANGES"]


def layer_ei(
    layer: Any,
    *,
    bias: Any = None,
    activation: Any = None,
    options: LayerEIOptions | None = None,
) -> LayerEI:
    """EI_parts, EI_whole, sensitivity, degeneracy and phi_ff of one layer ``y = act(x @ W + b)``.

    Parameters
    ----------
    layer : nn.Linear, nn.Sequential(nn.Linear, activation), ndarray/tensor W, or tuple
        A torch layer, or raw ``W`` of shape ``(n_in, n_out)`` (block orientation, as in
        ``LayeredGraph.blocks``), or ``(W, b)`` / ``(W, b, activation)``.
    bias : array-like, optional
        ``(n_out,)``; overrides the layer's bias (default: the layer's, else 0).
    activation : str or nn.Module, optional
        One of :data:`ACTIVATION_RANGES` (sigmoid, tanh, relu, the ReLU family, identity);
        overrides the layer's (default: the Sequential's / tuple's, else identity). A DBN layer
        is sigmoid.
    options : LayerEIOptions, optional
        The estimator settings (bins, samples, ranges, seed, device...; see
        :class:`LayerEIOptions`). ``in_range`` is this layer's input noise range, default
        (0, 1): (0, 1) for sigmoid inputs (the paper's first layer too), (-1, 1) after tanh.
        ``out_range`` defaults to the activation's range: sigmoid (0, 1), tanh (-1, 1), relu
        (0, 10) as in deep-ei; identity: **our choice**, the smallest interval holding every
        output reachable from ``in_range`` (deep-ei uses (-10, 10)). Values outside are put in
        the edge bins (our choice; deep-ei's histogram drops them). ``whole=True`` refuses
        (InputError) when ``bins**n_in > max_states``.

    Returns
    -------
    LayerEI
        Frozen, with every setting recorded; ``degeneracy(kind)`` and ``phi_ff`` derived.

    Notes
    -----
    ``EI_parts = sum_{A,B} I(x_A; y_B)`` with all inputs noised together (same samples for all
    pairs); ``sensitivity = sum_{A,B} I(x_A; y_B)`` with only input A noised and the others 0;
    ``degeneracy = sensitivity - EI`` (``kind="parts"`` by default); ``phi_ff = EI_whole -
    EI_parts``. Exact checks (SCIENCE.md): a linear layer with ``W = I`` over (0, 1) gives
    ``EI_parts = width * log2(bins)`` (default ranges); ``W = ones((w, w))`` gives
    ``sensitivity = w**2 * log2(bins)`` with ``out_range=(0, 1)`` (the range a single noised input
    reaches; the default identity range (0, w) would merge bins). Both up to the plug-in bias.

    Cost: ``n_samples * n_in * n_out * bins**2`` int8 multiply-adds for EI_parts (an integer
    GEMM) and ``sensitivity_samples * n_in * n_out`` activations for the sensitivity.

    References
    ----------
    S. Marrow, E. J. Michaud and E. Hoel, "Examining the causal structures of deep neural networks
    using information theory", Entropy 22(12):1429, 2020. Code:
    https://github.com/EI-research-group/deep-ei

    Examples
    --------
    >>> import numpy as np
    >>> opts = LayerEIOptions(bins=4, n_samples=20000, sensitivity_samples=2000, device="cpu")
    >>> r = layer_ei(np.eye(3), options=opts)
    >>> round(r.ei_parts, 1), round(r.sensitivity, 1), r.out_range
    (6.0, 6.0, (0.0, 1.0))
    >>> abs(r.degeneracy()) < 0.05
    True
    """
    torch = import_torch()
    o = LayerEIOptions() if options is None else options
    bins, n_samples, sensitivity_samples = o.bins, o.n_samples, o.sensitivity_samples
    in_range = (0.0, 1.0) if o.in_range is None else o.in_range
    out_range, whole, max_states, clamp, seed = o.out_range, o.whole, o.max_states, o.clamp, o.seed
    device, batch_bytes, sensitivity = o.device, o.batch_bytes, o.sensitivity
    W, b, act_name = as_layer(layer, bias, activation)
    n_in, n_out = W.shape
    bins = int(bins)
    if bins < 2:
        raise InputError(f"bins must be >= 2, got {bins}")
    if int(n_samples) < 1 or int(sensitivity_samples) < 1:
        raise InputError("n_samples and sensitivity_samples must be >= 1")
    lo_in, hi_in = check_range(in_range, "in_range")
    if out_range is None:
        default = ACTIVATION_RANGES[act_name]
        out_range = identity_range(W, b, (lo_in, hi_in)) if default is None else default
    lo_out, hi_out = check_range(out_range, "out_range")
    do_whole = whole
    if whole is None:
        do_whole = n_in * math.log2(bins) <= math.log2(max_states)
    elif whole and n_in * math.log2(bins) > math.log2(max_states):
        raise InputError(
            f"ei_whole refused: {bins}**{n_in} joint input states > max_states={max_states}; "
            "EI_whole is only meaningful for small layers with many samples (pass whole=False)"
        )
    dev = resolve_device(device)
    seed_ei, seed_sens = _seeds(int(seed))
    Wt = torch.tensor(W, device=dev)  # a copy: W may be a read-only view of a graph's block
    bt = torch.tensor(b, device=dev)
    f = _act(torch, act_name)

    # ---- EI_parts (and EI_whole) on shared noise samples ----
    gen = torch.Generator(device=dev).manual_seed(seed_ei)
    counts = torch.zeros((n_in * bins, n_out * bins), dtype=torch.int64, device=dev)
    xcodes, ycodes = [], []
    bs = _batch(n_in + n_out, bins, batch_bytes)
    done = 0
    with torch.no_grad():
        while done < n_samples:
            s = min(bs, int(n_samples) - done)
            x = torch.rand((s, n_in), generator=gen, device=dev) * (hi_in - lo_in) + lo_in
            y = f(x @ Wt + bt)
            xb, yb = _bin(x, lo_in, hi_in, bins), _bin(y, lo_out, hi_out, bins)
            counts += _count_mm(_onehot(xb, bins), _onehot(yb, bins))
            if do_whole:
                xcodes.append(_codes(xb.cpu().numpy(), bins))
                ycodes.append(yb.cpu().numpy())
            done += s
    c = counts.reshape(n_in, bins, n_out, bins).permute(0, 2, 1, 3).cpu().numpy()
    pairs = _mi_from_counts(c)
    ei_parts = float(pairs.sum())
    if clamp and ei_parts < 0.01:
        ei_parts = 0.0
    ei_whole = None
    if do_whole:
        xc = np.concatenate(xcodes)
        yc = _codes(np.concatenate(ycodes), bins)
        yu = np.unique(yc, return_inverse=True)[1].reshape(-1).astype(np.int64)
        joint = xc * (int(yu.max()) + 1) + yu
        ei_whole = max(
            _entropy_of_codes(xc) + _entropy_of_codes(yu) - _entropy_of_codes(joint), 0.0
        )

    # ---- sensitivity: only input A noised (fresh samples per A), the others 0 ----
    sens = None
    if sensitivity:
        sens = _sensitivity(
            torch,
            Wt,
            bt,
            f,
            bins,
            (lo_in, hi_in),
            (lo_out, hi_out),
            int(sensitivity_samples),
            seed_sens,
            dev,
            batch_bytes,
        )
    return LayerEI(
        ei_parts=ei_parts,
        ei_whole=ei_whole,
        sensitivity=sens,
        n_in=n_in,
        n_out=n_out,
        activation=act_name,
        bins=bins,
        in_range=(lo_in, hi_in),
        out_range=(lo_out, hi_out),
        n_samples=int(n_samples),
        sensitivity_samples=int(sensitivity_samples),
        seed=int(seed),
        device=str(dev),
        clamp=bool(clamp),
        pairs=pairs,
    )


def _sensitivity(
    torch: Any,
    Wt: Any,
    bt: Any,
    f: Any,
    bins: int,
    in_r: tuple[float, float],
    out_r: tuple[float, float],
    S: int,
    seed: int,
    dev: Any,
    batch_bytes: int,
) -> float:
    """``sum_{A,B} I(x_A; y_B)`` with ``y = f(x_A W[A] + b)``: one bincount per chunk of inputs
    over the combined index ``((A * n_out + B) * bins + x_bin) * bins + y_bin``."""
    n_in, n_out = Wt.shape
    gen = torch.Generator(device=dev).manual_seed(seed)
    x = torch.rand((S, n_in), generator=gen, device=dev) * (in_r[1] - in_r[0]) + in_r[0]
    xb_all = _bin(x, in_r[0], in_r[1], bins)
    per_a = S * n_out * 20  # float32 y, int64 bins and index per (sample, output)
    chunk = int(max(1, min(n_in, batch_bytes // max(per_a, 1))))
    total = 0.0
    with torch.no_grad():
        for a0 in range(0, n_in, chunk):
            a1 = min(n_in, a0 + chunk)
            k = a1 - a0
            y = f(x[:, a0:a1, None] * Wt[None, a0:a1, :] + bt)  # (S, k, n_out)
            yb = _bin(y, out_r[0], out_r[1], bins)
            pair = (
                torch.arange(k, device=dev)[:, None] * n_out
                + torch.arange(n_out, device=dev)[None, :]
            )
            idx = (pair[None] * bins + xb_all[:, a0:a1, None]) * bins + yb
            cnt = torch.bincount(idx.reshape(-1), minlength=k * n_out * bins * bins)
            total += float(_mi_from_counts(cnt.reshape(k * n_out, bins, bins).cpu().numpy()).sum())
    return total


def _graph_layers(
    G: Any, activations: Any
) -> list[tuple[str, int, int, np.ndarray, np.ndarray, str]]:
    """``(name, src, dst, W, b, activation)`` of every weight block of a graph, in order."""
    bias = G.node_attrs.get("bias")
    has = G.node_attrs.get("has_bias")
    weight_blocks = [b for b, k in enumerate(G.block_kinds) if k == "weight"]
    if activations is None:
        acts_meta = G.meta.get("activations")
        if acts_meta is not None and len(acts_meta) == G.n_layers:
            per_group = [str(a) for a in acts_meta]
        elif G.meta.get("model_kind") in ("rbm", "dbn"):
            per_group = ["sigmoid"] * G.n_layers
        elif (G.meta.get("checkpoint") or {}).get("model_kind") == "mlp":
            # netsci_dl's MLP trainer (models/mlp.py): sigmoid hidden layers, logits out
            per_group = ["identity"] + ["sigmoid"] * (G.n_layers - 2) + ["identity"]
        elif (G.meta.get("checkpoint") or {}).get("model_kind") == "classifier":
            # netsci_dl's classifier trainer: its arch's activation in every hidden layer
            act = str(((G.meta["checkpoint"].get("arch") or {}).get("activation")) or "relu")
            per_group = ["identity"] + [act] * (G.n_layers - 2) + ["identity"]
        else:
            raise InputError(
                "the graph does not record the activation of its layers (meta['activations']); "
                "pass activations='sigmoid' (or one per weight block) to say which"
            )
        acts = [per_group[G.block_dst[b]] for b in weight_blocks]
    elif isinstance(activations, str):
        acts = [activations] * len(weight_blocks)
    else:
        acts = list(activations)
        if len(acts) != len(weight_blocks):
            raise InputError(
                f"activations: {len(acts)} given for {len(weight_blocks)} weight blocks"
            )
    out = []
    for b, act in zip(weight_blocks, acts):
        d = G.block_dst[b]
        sl = G.layer_slice(d)
        bvec = np.zeros(G.layer_sizes[d], np.float32)
        if bias is not None:
            bvec = np.asarray(bias, dtype=np.float32)[sl].copy()
            if has is not None:
                bvec[~np.asarray(has)[sl]] = 0.0  # a unit without a bias: 0
        out.append((G.block_names[b], G.block_src[b], d, G.dense_block(b), bvec, act))
    return out


def layer_causal_plane(
    G: Any,
    *,
    activations: str | Sequence[str] | None = None,
    options: LayerEIOptions | None = None,
    n_jobs: int | None = None,
) -> tuple[LayerEI, ...]:
    """Every layer's EI, sensitivity and degeneracy: its point in the causal plane.

    Parameters
    ----------
    G : LayeredGraph or sequence of layers
        A graph: every ``weight`` block ``src -> dst`` is a layer ``y = act(x W + b)`` with the
        bias of ``dst`` (0 for units without one); identity blocks carry no learned weight and
        are skipped. Or a list of ``W`` / ``(W, b)`` / ``(W, b, act)`` / torch layers as
        :func:`layer_ei` accepts.
    activations : str or sequence of str, optional
        One per weight block, or one for all. Default: the activation the exporter recorded
        after each group (``meta["activations"]``: relu, sigmoid, tanh, identity...), sigmoid
        for RBM/DBN graphs; a graph that records none (raw matrices) must say. For a list: a
        ``(W, b, act)`` tuple or a ``Sequential(Linear, act)`` keeps its own activation (as
        :func:`layer_ei`); a bare ``W``, ``(W, b)`` or ``nn.Linear`` defaults to sigmoid.
    options : LayerEIOptions, optional
        Estimator settings. ``in_range`` is the noise range of the layers reading the model's
        input (default (0, 1)); a layer reading a hidden group takes the output range of the
        activation of that group (sigmoid (0, 1), tanh (-1, 1), relu (0, 10); identity: the
        range its own inputs reach).
    n_jobs : int, optional
        Layers in parallel (:func:`netsci_dl.parallel.map_tasks`): None (default) serial unless
        a ``joblib.parallel_config`` says otherwise, -1 all cores, or a Dask cluster inside
        ``parallel_config(backend="dask")``. Every layer uses the same ``seed``, so the numbers
        do not depend on it.

    Returns
    -------
    tuple of LayerEI
        One per weight block (``.name`` is ``"src->dst"``): x = ``sensitivity``, y =
        ``degeneracy()``.

    Notes
    -----
    Thresholded graphs use their (unit) block weights; pass the weighted graph for the network's
    own causal structure. Blocks are densified one at a time. A group fed by several blocks (a
    residual sum) gets one point per block, each with the group's bias.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((3, 2, 2), (np.ones((3, 2), np.float32), np.eye(2, dtype=np.float32)))
    >>> opts = LayerEIOptions(n_samples=5000, sensitivity_samples=1000, device="cpu")
    >>> pts = layer_causal_plane(G, activations="sigmoid", options=opts)
    >>> [p.activation for p in pts], [p.name for p in pts]
    (['sigmoid', 'sigmoid'], ['L0->L1', 'L1->L2'])
    """
    from netsci_dl.graph import LayeredGraph
    from netsci_dl.parallel import map_tasks

    o = LayerEIOptions() if options is None else options
    first = (0.0, 1.0) if o.in_range is None else check_range(o.in_range, "in_range")
    tasks: list[tuple[Any, Any, tuple[float, float], str]] = []
    if isinstance(G, LayeredGraph):
        group_range: dict[int, tuple[float, float]] = {}
        for name, s, d, W, b, act in _graph_layers(G, activations):
            rng = first if s == 0 or s not in group_range else group_range[s]
            tasks.append(((W, b), act, rng, name))
            new = _out_range(W, b, act, rng, o)
            old = group_range.get(d)
            group_range[d] = new if old is None else (min(old[0], new[0]), max(old[1], new[1]))
    else:
        layers_list = list(G)
        acts = (
            [activations] * len(layers_list)
            if isinstance(activations, str) or activations is None
            else list(activations)
        )
        if len(acts) != len(layers_list):
            raise InputError(f"activations: {len(acts)} given for {len(layers_list)} layers")
        prev = first
        for lay, a in zip(layers_list, acts, strict=True):
            # a (W, b, activation) tuple, or a Sequential(Linear, activation) read by export,
            # brings its own activation (as layer_ei); sigmoid only for a bare layer
            has_own_act = isinstance(lay, tuple | list) and len(lay) == 3
            if not has_own_act and a is None:
                read = linear_layer(lay)
                has_own_act = read is not None and read[2] is not None
            act = None if has_own_act else (a or "sigmoid")
            tasks.append((lay, act, prev, ""))
            W, b, act_name = as_layer(lay, None, act)
            prev = _out_range(W, b, act_name, prev, o)
    return tuple(map_tasks(_layer_task, tasks, shared=o, n_jobs=n_jobs, progress=False))


def _out_range(
    W: Any, b: Any, act: Any, in_range: tuple[float, float], o: LayerEIOptions
) -> tuple[float, float]:
    """The range of this layer's outputs that the next layer's noise takes, as :func:`layer_ei`
    finds it."""
    from netsci_dl.analysis.information._layer_ei_types import act_name

    W = np.asarray(W, dtype=np.float32)
    b = np.zeros(W.shape[1], np.float32) if b is None else np.asarray(b, np.float32)
    nxt = ACTIVATION_RANGES[act_name(act)]
    if nxt is not None:
        return nxt
    if o.out_range is not None:
        return check_range(o.out_range, "out_range")
    return identity_range(W, b, in_range)


def _layer_task(task: tuple, o: LayerEIOptions) -> LayerEI:
    """One layer of :func:`layer_causal_plane` (seeded by ``o.seed``, as every layer)."""
    import dataclasses

    lay, act, in_range, name = task
    r = layer_ei(lay, activation=act, options=dataclasses.replace(o, in_range=in_range))
    return dataclasses.replace(r, name=name) if name else r
