"""Players, masked inputs, and the values ``v(S)`` of a model on them (for interactions).

A *player* is a group of input features (an image patch, or any index group of the flattened
sample). For a sample ``x`` and a coalition ``S`` of players, the masked input ``x_S`` keeps the
features of the players in ``S`` and sets those of the other players to a baseline ``b``
(features outside every player are kept, ``rest="keep"``, or always set to the baseline,
``rest="baseline"``). Coalitions are indexed by bitmask, player ``i`` at bit ``i``, least
significant first (index 1 is ``{0}``, index ``2**n - 1`` is every player): the convention of
:mod:`netsci_dl.analysis.interactions`.

:func:`masked_values` runs all ``n_samples * 2**n`` masked inputs through the model in batches
and returns the log-odds of each sample's target class, ``log p / (1 - p) = z_y -
logsumexp(z_{k != y})`` from the logits ``z`` (float64, stable: no probability is formed), for
the model's output and, through ``heads`` (e.g. linear probes), for hidden layers whose features
come from a ``features`` callable. A baseline learned for sparse interactions is in
:mod:`._baseline`; token ids are masked as :mod:`._tokens` says.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from netsci_dl import _args
from netsci_dl.errors import InputError

__all__ = [
    "MAX_PLAYERS",
    "grid_players",
    "feature_players",
    "check_players",
    "coalition_masks",
    "feature_masks",
    "resolve_baseline",
    "log_odds",
    "masked_values",
]

#: most players a model is evaluated on (2**16 = 65,536 masked inputs per sample)
MAX_PLAYERS = 16

FeaturesFn = Callable[[np.ndarray], Mapping[str, Any]]
HeadFn = Callable[[np.ndarray], Any]


def grid_players(shape: Sequence[int], grid: Sequence[int]) -> tuple[np.ndarray, ...]:
    """Players as a grid of patches over the last two axes of a sample of shape ``shape``.

    Rows and columns are split as evenly as possible (``np.array_split``: an 8x8 image in a 3x3
    grid has patches of 3, 3 and 2 pixels a side). Player ``r * grid[1] + c`` is the patch in
    grid row ``r`` and column ``c`` (player 0 top left, then along the row); a patch holds every
    leading (channel) axis.

    Parameters
    ----------
    shape : tuple of int
        One sample, e.g. ``(8, 8)`` (images stored flat as 64 features: pass the image shape) or
        ``(1, 8, 8)`` (channels first).
    grid : (int, int)

    Returns
    -------
    tuple of (k,) int64 ndarray
        Indices of each player's features in the flattened (C-order) sample.

    Examples
    --------
    >>> [p.tolist() for p in grid_players((4, 4), (2, 2))]
    [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]
    """
    shape = tuple(int(s) for s in shape)
    grid = tuple(int(g) for g in grid)
    if len(shape) < 2 or len(grid) != 2:
        raise InputError(
            f"grid_players needs a sample shape with >= 2 axes and a 2-D grid, got shape {shape}, "
            f"grid {grid}"
        )
    H, W = shape[-2:]
    if not (1 <= grid[0] <= H and 1 <= grid[1] <= W):
        raise InputError(f"grid {grid} does not fit an image of {H}x{W} (1 <= grid <= size)")
    idx = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    out = []
    for rows in np.array_split(np.arange(H), grid[0]):
        for cols in np.array_split(np.arange(W), grid[1]):
            out.append(np.sort(idx[..., rows[:, None], cols[None, :]].ravel()))
    return tuple(out)


def feature_players(spec: str) -> tuple[np.ndarray, ...]:
    """Players as groups of feature indices (tabular data): ``"0-3,4-7,8"`` -> ``[0..3],
    [4..7], [8]`` (ranges inclusive; a ``features:`` prefix is allowed, as the CLI's
    ``--players features:0-3,4-7`` gives it). Indices are into the flattened sample. At most
    :data:`MAX_PLAYERS` groups: ``n`` players make ``2**n`` masked inputs per sample.

    Examples
    --------
    >>> [g.tolist() for g in feature_players("features:0-2,5,3-4")]
    [[0, 1, 2], [5], [3, 4]]
    """
    text = str(spec).strip()
    text = text[len("features:") :] if text.startswith("features:") else text
    groups = []
    for part in (p.strip() for p in text.split(",")):
        lo, sep, hi = part.partition("-")
        try:
            a, b = int(lo), int(hi) if sep else int(lo)
        except ValueError:
            raise InputError(
                f"players {spec!r}: expected feature groups such as features:0-3,4-7,8"
            ) from None
        if a < 0 or b < a:
            raise InputError(f"players {spec!r}: group {part!r} is not a range lo-hi, lo <= hi")
        groups.append(np.arange(a, b + 1, dtype=np.int64))
    if len(groups) > MAX_PLAYERS:
        raise InputError(
            f"players {spec!r}: {len(groups)} groups; at most {MAX_PLAYERS} players "
            f"(2**n masked inputs per sample)"
        )
    return tuple(groups)


def check_players(players: Any, n_features: int) -> tuple[np.ndarray, ...]:
    """Validate players: non-empty, disjoint groups of feature indices in ``[0, n_features)``.

    Examples
    --------
    >>> [p.tolist() for p in check_players([[0, 1], [3]], 4)]
    [[0, 1], [3]]
    """
    try:
        groups = tuple(np.asarray(p, dtype=np.int64).reshape(-1) for p in players)
    except (TypeError, ValueError):
        raise InputError("players must be a sequence of index groups (lists of ints)") from None
    n = len(groups)
    if not 1 <= n <= MAX_PLAYERS:
        raise InputError(
            f"need 1 to {MAX_PLAYERS} players, got {n} (n players make 2**n masked inputs "
            "per sample)"
        )
    seen = np.zeros(int(n_features), dtype=np.int64)
    for i, g in enumerate(groups):
        if g.size == 0:
            raise InputError(f"player {i} has no features")
        if g.min() < 0 or g.max() >= n_features:
            raise InputError(
                f"player {i} indexes features outside [0, {n_features}): {g.min()}..{g.max()}"
            )
        np.add.at(seen, g, 1)
    if seen.max(initial=0) > 1:
        raise InputError(f"players overlap at feature(s) {np.flatnonzero(seen > 1)[:5].tolist()}")
    return groups


def coalition_masks(n: int) -> np.ndarray:
    """``(2**n, n)`` bool: row ``m`` holds the players of coalition ``m`` (player i = bit i).

    Examples
    --------
    >>> coalition_masks(2).astype(int).tolist()
    [[0, 0], [1, 0], [0, 1], [1, 1]]
    """
    n = _args.count("n", n, lo=0, hi=MAX_PLAYERS)
    idx = np.arange(1 << int(n), dtype=np.int64)
    return ((idx[:, None] >> np.arange(int(n), dtype=np.int64)) & 1).astype(bool)


def feature_masks(
    players: Sequence[np.ndarray], n_features: int, *, rest: str = "keep"
) -> np.ndarray:
    """``(2**n, n_features)`` bool: True where coalition ``m`` keeps a feature of the input.

    ``rest="keep"``: features of no player are always kept; ``"baseline"``: never kept.

    Examples
    --------
    >>> feature_masks([np.array([0]), np.array([2])], 3).astype(int).tolist()
    [[0, 1, 0], [1, 1, 0], [0, 1, 1], [1, 1, 1]]
    """
    if rest not in ("keep", "baseline"):
        raise InputError(f"rest must be 'keep' or 'baseline', got {rest!r}")
    n = len(players)
    owner = np.full(int(n_features), -1, dtype=np.int64)
    for i, g in enumerate(players):
        owner[g] = i
    C = coalition_masks(n)
    out = np.zeros((1 << n, int(n_features)), dtype=bool)
    has = owner >= 0
    out[:, has] = C[:, owner[has]]
    out[:, ~has] = rest == "keep"
    return out


def resolve_baseline(baseline: Any, X: np.ndarray) -> np.ndarray:
    """The baseline as ``(n_features,)`` float32: ``"zero"``, ``"mean"`` (over ``X``'s rows) or an
    array of one sample's shape (or flat)."""
    Xf = X.reshape(X.shape[0], -1)
    if isinstance(baseline, str):
        if baseline == "zero":
            return np.zeros(Xf.shape[1], dtype=np.float32)
        if baseline == "mean":
            return Xf.mean(axis=0).astype(np.float32)
        raise InputError(f"baseline must be 'zero', 'mean' or an array, got {baseline!r}")
    b = np.asarray(baseline, dtype=np.float32).reshape(-1)
    if b.size != Xf.shape[1]:
        raise InputError(f"baseline has {b.size} values; a sample has {Xf.shape[1]} features")
    if not np.all(np.isfinite(b)):
        raise InputError("baseline holds NaN or infinite values")
    return b


def log_odds(logits: Any, targets: Any) -> np.ndarray:
    """``(b,)`` float64 log-odds ``log p_y / (1 - p_y)`` of each row's target class.

    With ``K >= 2`` logits ``z``: ``z_y - logsumexp(z_{k != y})`` (exact and stable: no
    probability is formed). With one logit (a binary classifier, ``p = sigmoid(z)``): ``z`` for
    target 1 and ``-z`` for target 0.

    Examples
    --------
    >>> float(log_odds(np.array([[2.0, 0.0]]), [0])[0])  # log(e^2 / e^0)
    2.0
    >>> float(log_odds(np.array([[1000.0, 0.0, 0.0]]), [1])[0]) == -1000.0
    True
    """
    from scipy.special import logsumexp

    from netsci_dl._array import to_numpy

    z = np.asarray(to_numpy(logits), dtype=np.float64)
    t = np.asarray(to_numpy(targets)).astype(np.int64).reshape(-1)
    if z.ndim == 1:
        z = z[:, None]
    if z.ndim != 2 or z.shape[0] != t.size:
        raise InputError(f"logits of shape {z.shape} for {t.size} targets")
    K = z.shape[1]
    if K == 1:
        if t.min(initial=0) < 0 or t.max(initial=0) > 1:
            raise InputError("a single-logit (binary) output needs targets in {0, 1}")
        return np.where(t == 1, z[:, 0], -z[:, 0])
    if t.min(initial=0) < 0 or t.max(initial=0) >= K:
        raise InputError(f"targets must be classes in [0, {K}), got {t.min()}..{t.max()}")
    rows = np.arange(t.size)
    zy = z[rows, t]
    other = z.copy()
    other[rows, t] = -np.inf
    return zy - logsumexp(other, axis=1)


@contextlib.contextmanager
def _eval_mode(model: Any) -> Iterator[None]:
    """``model.eval()`` for the block, then the model's own mode again."""
    was = getattr(model, "training", None)
    if was is not None:
        model.eval()
    try:
        yield
    finally:
        if was:
            model.train()


def _model_device(model: Any, device: Any) -> Any:
    from netsci_dl._array import import_torch, resolve_device

    torch = import_torch()
    if device is not None:
        return resolve_device(device)
    for t in list(model.parameters()) + list(model.buffers()):
        return t.device
    return torch.device("cpu")


def masked_values(
    model: Any,
    X: Any,
    y: Any,
    players: Sequence[Any],
    *,
    baseline: Any = "zero",
    features: FeaturesFn | None = None,
    heads: Mapping[str, HeadFn] | None = None,
    rest: str = "keep",
    batch_size: int = 2048,
    device: Any = None,
    attention_mask: Any = None,
    token_mask: str = "id",
    mask_id: int | None = None,
) -> dict[str, np.ndarray]:
    """Log-odds of each sample's target on all ``2**n`` masked versions of it.

    Token ids (integers, for a model with an ``nn.Embedding``) are masked per
    ``token_mask`` instead of a baseline (:mod:`netsci_dl.activations._tokens`): ``"id"``
    replaces a masked position's id by ``mask_id`` (default: the model's ``mask_token_id``,
    its tokenizer's mask token, else its ``pad_token_id``), ``"attention"`` sets its
    ``attention_mask`` to 0.

    Parameters
    ----------
    model : torch nn.Module
        A classifier with logits out (``(b, K)``, or ``(b, 1)`` / ``(b,)`` for binary). Run in
        eval mode under ``no_grad``; its training mode is restored after.
    X : (n_samples, *sample_shape) array
        The samples, in the layout the model takes (e.g. ``(n, 64)`` for an MLP on flat 8x8
        digits, ``(n, 1, 8, 8)`` for a CNN, ``(n, length)`` token ids for a text model).
    y : (n_samples,) int
        Target class of each sample.
    players : sequence of index groups
        Indices into the flattened sample (see :func:`grid_players`); at most ``MAX_PLAYERS``.
    baseline : "zero", "mean" or array
        Value of masked features ("mean": the mean of ``X``; an array: one sample's shape or flat,
        e.g. from :func:`learn_baseline`).
    features : callable, optional
        ``features(X_batch) -> {layer name: (b, d) array}``: hidden features of a batch of masked
        inputs (``netsci_dl.activations.layer_activations`` bound to the model, or your own).
        Needed with ``heads``.
    heads : mapping, optional
        ``{layer name: head}``, ``head((b, d) features) -> (b, K) logits`` (a linear probe); the
        log-odds of each head's target are returned under the layer's name.
    rest : "keep" or "baseline"
        What happens to features that belong to no player.
    batch_size : int
        Masked inputs per forward pass.
    device : torch device, optional
        Default: the model's.
    attention_mask : (n_samples, length) 0/1 array, optional
        Token data's padding (1 = real token); reaches the model when its ``forward`` takes
        ``attention_mask``, and ``features`` as ``features(X_batch, attention_mask=...)``.
    token_mask : {"id", "attention"}
        How a token outside the coalition is masked (token ids only).
    mask_id : int, optional
        The id a masked token gets with ``token_mask="id"``.

    Returns
    -------
    dict
        ``{name: (n_samples, 2**n) float64}``: one entry per head, in its order, then
        ``"output"`` (the model's own logits). Column ``m`` is coalition ``m`` (player i = bit i).
        Raw values: ``v(empty)`` is not subtracted.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Linear(2, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.tensor([[1.0, 2.0], [0.0, 0.0]]))
    >>> v = masked_values(net, np.ones((1, 2)), [0], [[0], [1]])["output"]
    >>> v.tolist()    # log-odds of class 0 = z_0 - z_1 = x0 + 2 x1 on {}, {0}, {1}, {0, 1}
    [[0.0, 1.0, 2.0, 3.0]]
    """
    from netsci_dl._array import import_torch, to_numpy
    from netsci_dl.activations import _tokens as tok

    torch = import_torch()
    tokens = tok.is_token_input(model, X)
    Xn = np.asarray(to_numpy(X), dtype=np.int64 if tokens else np.float32)
    if Xn.ndim < 2 or Xn.shape[0] < 1:
        raise InputError(f"X must hold one sample per row, got shape {Xn.shape}")
    yn = np.asarray(to_numpy(y)).astype(np.int64).reshape(-1)
    if yn.size != Xn.shape[0]:
        raise InputError(f"y has {yn.size} targets for {Xn.shape[0]} samples")
    sample_shape = Xn.shape[1:]
    Xf = Xn.reshape(Xn.shape[0], -1)
    groups = check_players(players, Xf.shape[1])
    heads = dict(heads or {})
    if heads and features is None:
        raise InputError("heads need a features callable (features(X) -> {layer: (b, d)})")
    if "output" in heads:
        raise InputError("'output' is the model's own output; name the heads otherwise")
    fm = feature_masks(groups, Xf.shape[1], rest=rest)
    n_masks = fm.shape[0]
    total = Xf.shape[0] * n_masks
    bs = max(1, int(batch_size))
    batches = _batches(model, Xn, baseline, fm, bs, attention_mask, token_mask, mask_id, tokens)
    dev = _model_device(model, device)
    names = [*heads, "output"]
    out = {k: np.empty(total, dtype=np.float64) for k in names}
    with _eval_mode(model), torch.no_grad():
        for r, i, xf, mb in batches:
            xb = xf.reshape((r.size, *sample_shape))
            t = yn[i]
            mt = None if mb is None else torch.as_tensor(mb, device=dev)
            logits = tok.logits_of(tok.call_model(model, torch.as_tensor(xb, device=dev), mt))
            out["output"][r] = log_odds(logits, t)
            if heads:
                F = features(xb) if mb is None else features(xb, attention_mask=mb)  # type: ignore
                for k, head in heads.items():
                    if k not in F:
                        raise InputError(f"features() returned no layer {k!r}; has {list(F)}")
                    f = np.asarray(to_numpy(F[k]), dtype=np.float64).reshape(r.size, -1)
                    out[k][r] = log_odds(head(f), t)
    return {k: a.reshape(Xf.shape[0], n_masks) for k, a in out.items()}


def _batches(
    model: Any,
    Xn: np.ndarray,
    baseline: Any,
    fm: np.ndarray,
    bs: int,
    attention_mask: Any,
    token_mask: str,
    mask_id: int | None,
    tokens: bool,
) -> Any:
    """``(rows, sample index, flat inputs, attention mask or None)`` per batch of masked
    inputs: a baseline for continuous inputs, ``token_mask`` for token ids."""
    from netsci_dl.activations import _tokens as tok

    Xf = Xn.reshape(Xn.shape[0], -1)
    if tokens:
        mid, _ = tok.token_mask_note(model, token_mask, mask_id)
        if not (isinstance(baseline, str) and baseline == "zero"):
            raise InputError(
                f"baseline={baseline!r} is for continuous inputs; token ids are masked by "
                "token_mask ('id': a mask id, 'attention': attention_mask = 0)"
            )
        tok.check_token_ids(model, Xf)
        M = tok.check_attention_mask(attention_mask, Xf)
        M = None if M is None else M.numpy()
        return tok.masked_token_batches(Xf, M, fm, token_mask, mid, bs)
    if attention_mask is not None:
        raise InputError("attention_mask is for token ids of a text model (integer X)")
    base = resolve_baseline(baseline, Xn)
    n_masks, total = fm.shape[0], Xf.shape[0] * fm.shape[0]

    def gen() -> Any:
        for start in range(0, total, bs):
            r = np.arange(start, min(start + bs, total))
            i, m = r // n_masks, r % n_masks
            yield r, i, np.where(fm[m], Xf[i], base[None, :]), None

    return gen()
