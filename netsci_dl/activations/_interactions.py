"""Interactions of a network's output and of each hidden layer (CH24), and how they change.

A hidden layer ``l`` has no scalar output of its own; as in CH24 it gets one from a linear probe
(multinomial logistic regression on standardised features) fitted on the layer's features of
*clean* (unmasked) data, and ``v^(l)(S)`` is the probe's log-odds of the target class on the
masked input ``x_S``. The model's own output is the last layer, ``"output"``. Every layer's
``v^(l)`` is split into AND and OR interactions (:func:`and_or_split`), and the salient ones
(``|I| > 0.05 max |I|``) are compared between successive layers (overlap, new, forgotten).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from netsci_dl.analysis.interactions import (
    BIT_ORDER,
    LayerInteractions,
    LinearProbe,
    SplitOptions,
    and_interactions,
    and_or_split,
    fit_probe,
)
from netsci_dl.errors import InputError

__all__ = ["layer_interactions"]

log = logging.getLogger(__name__)

#: the default AND-OR split (frozen, shared)
DEFAULT_SPLIT = SplitOptions()


def layer_interactions(
    model: Any,
    X: Any,
    y: Any,
    *,
    players: Sequence[Any],
    features: Callable[[np.ndarray], Mapping[str, Any]] | str | None = "layers",
    probe_data: tuple[Any, Any] | None = None,
    probes: Mapping[str, LinearProbe] | None = None,
    baseline: Any = "zero",
    relative: bool = True,
    options: SplitOptions | None = DEFAULT_SPLIT,
    salient: float = 0.05,
    rest: str = "keep",
    batch_size: int = 2048,
    device: Any = None,
    label: str = "",
    attention_mask: Any = None,
    token_mask: str = "id",
    mask_id: int | None = None,
) -> LayerInteractions:
    """AND and OR interactions of the output and of every hidden layer of a classifier (CH24).

    Parameters
    ----------
    model : torch nn.Module
        Logits out.
    X : (n_samples, *sample_shape) array
        The samples to explain, in the model's input layout.
    y : (n_samples,) int
        Target class of each (usually its label).
    players : sequence of index groups
        Into the flattened sample (:func:`netsci_dl.activations._masking.grid_players`); for
        token ids, groups of token positions
        (:func:`~netsci_dl.activations._tokens.token_players`).
    features : "layers", callable or None
        ``"layers"`` (default): every layer :func:`netsci_dl.activations.layer_activations`
        takes (each Linear / convolution, after its activation; channels averaged over space).
        A callable ``features(X_batch) -> {layer: (b, d) array}`` gives hidden features of any
        batch of inputs. None: only the model's output is analysed.
    probe_data : (X_fit, y_fit) or (X_fit, y_fit, attention_mask_fit), optional
        Clean data the probes are fitted on (default ``(X, y)``; pass a larger set).
    probes : mapping, optional
        Probes to use as they are (e.g. fixed across snapshots); layers without one get a new
        probe fitted on ``probe_data``.
    baseline : "zero", "mean", "learned" or array
        Value of masked features ("mean": of ``probe_data``'s inputs; "learned":
        :func:`~netsci_dl.activations._baseline.learn_baseline` on ``X``). Token ids are
        masked by ``token_mask`` instead (leave ``baseline`` at "zero").
    relative : bool
        Subtract ``v(empty)`` from every ``v`` (default, CH24).
    options : SplitOptions or None
        The AND-OR split (default ``SplitOptions()``); None: no split, AND interactions only
        (Harsanyi dividends of ``v``).
    salient : float
        Salient threshold, a fraction of the largest strength.
    rest, batch_size, device : see :func:`~netsci_dl.activations._masking.masked_values`.
    label : str
        Stored in the result (snapshot name).
    attention_mask, token_mask, mask_id
        Token data (integer ids on a model with an ``nn.Embedding``): the padding mask of
        ``X``, and how a token outside a coalition is masked (``"id"``: replaced by
        ``mask_id``, default the model's mask / pad token id; ``"attention"``: its attention
        mask set to 0), as in :func:`~netsci_dl.activations._masking.masked_values`; stated
        in ``settings["baseline"]``. Hidden layers' token outputs are pooled over the tokens
        the model sees.

    Returns
    -------
    LayerInteractions

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Linear(2, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.tensor([[1.0, 2.0], [0.0, 0.0]]))
    >>> r = layer_interactions(net, np.ones((1, 2)), [0], players=[[0], [1]], options=None,
    ...                        features=None)
    >>> r.layers, r.I_and[0, 0].tolist()      # additive: no interaction of order 2
    (('output',), [0.0, 1.0, 2.0, 0.0])
    """
    from netsci_dl._array import to_numpy
    from netsci_dl.activations import _tokens as tok
    from netsci_dl.activations._baseline import learn_baseline
    from netsci_dl.activations._masking import masked_values

    tokens = tok.is_token_input(model, X)
    dt = np.int64 if tokens else np.float32
    Xn = np.asarray(to_numpy(X), dtype=dt)
    yn = np.asarray(to_numpy(y)).astype(np.int64).reshape(-1)
    fit = (Xn, yn, attention_mask) if probe_data is None else tuple(probe_data)
    if len(fit) not in (2, 3):
        raise InputError("probe_data must be (X_fit, y_fit) or (X_fit, y_fit, attention_mask)")
    Xfit, yfit, mfit = np.asarray(to_numpy(fit[0]), dtype=dt), fit[1], (fit[2:] or (None,))[0]
    yfit = np.asarray(to_numpy(yfit)).astype(np.int64).reshape(-1)
    probes = dict(probes or {})
    given = set(probes)
    probe_note = "none (output only)"
    if isinstance(features, str):
        if features != "layers":
            raise InputError(f"features must be 'layers', a callable or None, got {features!r}")
        features = _layer_features(model, Xfit, mfit, batch_size, device)
    if features is not None:
        clean = features(Xfit) if mfit is None else features(Xfit, attention_mask=mfit)
        for k, F in clean.items():
            if k not in probes:
                probes[k] = fit_probe(np.asarray(to_numpy(F)).reshape(len(yfit), -1), yfit)
        probes = {k: probes[k] for k in clean}
        probe_note = (
            "multinomial logistic regression on standardised features, "
            + (
                "fitted on probe_data"
                if probe_data is not None
                else "fitted on the explained samples"
            )
            + ("; given probes kept as they are: " + ", ".join(sorted(given)) if given else "")
        )
    for k, pr in probes.items():
        bad = np.setdiff1d(yn, pr.classes)
        if bad.size:
            raise InputError(f"targets {bad.tolist()} are not classes of the probe of {k!r}")
    heads = {k: pr.class_logits for k, pr in probes.items()}
    if tokens:
        base, base_note = baseline, tok.token_mask_note(model, token_mask, mask_id)[1]
    elif isinstance(baseline, str) and baseline == "learned":
        base = learn_baseline(model, Xn, yn, players, rest=rest, device=device)
        base_note: Any = "learned (L1 on I_and, clipped to the data range)"
    elif isinstance(baseline, str) and baseline == "mean":
        base = Xfit.reshape(Xfit.shape[0], -1).mean(axis=0)
        base_note = "mean of the probe data" if probe_data is not None else "mean of X"
    else:
        base = baseline
        base_note = baseline if isinstance(baseline, str) else "given array"
    vals = masked_values(
        model,
        Xn,
        yn,
        players,
        baseline=base,
        features=features if heads else None,
        heads=heads,
        rest=rest,
        batch_size=batch_size,
        device=device,
        attention_mask=attention_mask,
        token_mask=token_mask,
        mask_id=mask_id,
    )
    names = tuple(vals)
    V = np.stack([vals[k] for k in names])  # (L, S, 2**n)
    v_empty = V[..., 0].copy()
    if relative:
        V = V - V[..., :1]
    if options is not None:
        r = and_or_split(
            V,
            qthres=options.qthres,
            iterations=options.iterations,
            lr=options.lr,
            lr_end=options.lr_end,
            momentum=options.momentum,
            method=options.method,
        )
        Ia, Io, p, q, l0, l1 = r.I_and, r.I_or, r.p, r.q, r.loss_start, r.loss
        split_note: Any = options.to_dict()
    else:
        Ia = and_interactions(V)
        Io = np.zeros_like(V)
        p = np.zeros_like(V)
        q = np.zeros_like(V)
        l0 = l1 = np.abs(Ia).sum(axis=-1)
        split_note = None
    from netsci_dl.activations._masking import check_players

    groups = check_players(players, int(np.prod(Xn.shape[1:])))
    settings = {
        "bit_order": BIT_ORDER,
        "value": "log-odds of the target class, log p / (1 - p), from logits (logsumexp)",
        "relative": bool(relative),
        "baseline": base_note,
        "rest": rest,
        **(
            {
                "token_pool": "hidden token outputs: mean over the tokens the model sees "
                "(attention_mask = 1)"
            }
            if tokens
            else {}
        ),
        "probe": probe_note,
        "split": split_note,
        "salient": float(salient),
        "n_samples": int(yn.size),
        "n_probe_samples": int(yfit.size) if features is not None else 0,
    }
    return LayerInteractions(
        layers=names,
        players=groups,
        targets=yn,
        v=V,
        v_empty=v_empty,
        I_and=Ia,
        I_or=Io,
        p=p,
        q=q,
        loss_start=np.asarray(l0),
        loss=np.asarray(l1),
        probe_accuracy=tuple(probes[k].accuracy if k in probes else None for k in names),
        label=str(label),
        settings=settings,
    )


def _layer_features(
    model: Any, Xfit: np.ndarray, mfit: Any, batch_size: int, device: Any
) -> Callable[..., Mapping[str, Any]]:
    """``features(X_batch, attention_mask=None)``: every layer
    :func:`~netsci_dl.activations.layer_activations` takes, less the one that is the model's
    output (it is analysed as ``"output"``, not probed)."""
    import torch

    from netsci_dl.activations import layer_activations
    from netsci_dl.activations._masking import _model_device
    from netsci_dl.activations._tokens import call_model, logits_of

    k = min(8, len(Xfit))
    probe, pm = Xfit[:k], None if mfit is None else np.asarray(mfit)[:k]
    first = layer_activations(model, probe, batch_size=batch_size, device=device, attention_mask=pm)
    with torch.no_grad():
        dev = _model_device(model, device)
        mt = None if pm is None else torch.as_tensor(pm, device=dev)
        out = call_model(model, torch.as_tensor(probe, device=dev), mt)
        logits = logits_of(out).detach().cpu().double().numpy()
    keep = [
        k
        for k, F in first.items()
        if not (np.shape(F) == logits.shape and np.allclose(F, logits, atol=1e-6))
    ]

    def features(Xb: np.ndarray, attention_mask: Any = None) -> Mapping[str, Any]:
        A = layer_activations(
            model, Xb, batch_size=batch_size, device=device, attention_mask=attention_mask
        )
        return {k: A[k] for k in keep}

    return features
