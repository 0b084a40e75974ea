"""Token data on a text model: the attention mask, token ids, token players and their masking.

A text model (a module with an ``nn.Embedding``) takes integer token ids ``(n, length)``. When
the data have an ``attention_mask`` (1 = a real token, 0 = padding) it reaches the model batch
by batch as ``model(ids, attention_mask=mask)`` when the model's ``forward`` names an
``attention_mask`` parameter (every Hugging Face text model does); a ``forward`` without one
gets the ids alone, and the activations record that the mask was used for pooling only. Token
outputs ``(b, length, units)`` are pooled over the real tokens only (the mean over the positions
where the mask is 1).

Token players (interactions): each player is a group of token positions. A position outside
the coalition is masked in one of two ways (``token_mask``): ``"id"`` replaces its id by a
mask id (the folder's ``mask_token_id``, else its ``pad_token_id``, or ``mask_id=``), or
``"attention"`` keeps the id and sets its attention mask to 0 (the model does not see it).
"""

from __future__ import annotations

import inspect
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.errors import InputError

__all__ = [
    "TOKEN_MASKS",
    "takes_attention_mask",
    "check_attention_mask",
    "check_token_ids",
    "call_model",
    "logits_of",
    "pool_tokens",
    "token_players",
    "resolve_mask_id",
]

log = logging.getLogger(__name__)

#: how a token outside a coalition is masked
TOKEN_MASKS = {
    "id": "its id replaced by the mask id",
    "attention": "its attention_mask set to 0 (the id kept)",
}

#: how token outputs are pooled, as stated in the results' settings
POOL_MASKED = "mean over the real tokens (attention_mask = 1)"
POOL_ALL = "mean over every token position (no attention_mask)"


def takes_attention_mask(model: Any) -> bool:
    """Whether ``model.forward`` names an ``attention_mask`` parameter (read from its signature,
    never guessed from ``**kwargs``)."""
    fwd = getattr(model, "forward", None)
    if fwd is None:
        return False
    try:
        params = inspect.signature(fwd).parameters
    except (TypeError, ValueError):
        return False
    p = params.get("attention_mask")
    return p is not None and p.kind is not inspect.Parameter.VAR_KEYWORD


def check_attention_mask(mask: Any, X: Any, where: str = "attention_mask") -> Any:
    """The mask as an int64 tensor ``(n, length)``, or None; refused unless it has ``X``'s
    shape, holds only 0 and 1, and every row has at least one real token."""
    if mask is None:
        return None
    import torch

    m = mask if torch.is_tensor(mask) else torch.from_numpy(np.array(mask))  # a writable copy
    shape = tuple(int(s) for s in X.shape)
    if tuple(m.shape) != shape[:2] or len(shape) != 2:
        raise InputError(
            f"{where} has shape {tuple(m.shape)}; the token ids (input_ids) have shape {shape}"
        )
    if m.dtype == torch.bool:
        m = m.to(torch.int64)
    if not bool(((m == 0) | (m == 1)).all()):
        raise InputError(f"{where} must hold only 0 (padding) and 1 (real token)")
    m = m.to(torch.int64)
    empty = torch.nonzero(m.sum(dim=1) == 0).reshape(-1)
    if empty.numel():
        raise InputError(
            f"{where}: example(s) {empty[:5].tolist()} have no real token (a row of zeros)"
        )
    return m


def _input_embedding(model: Any) -> Any:
    import torch.nn as nn

    get = getattr(model, "get_input_embeddings", None)
    if callable(get):
        try:
            emb = get()
        except (NotImplementedError, AttributeError):
            emb = None
        if isinstance(emb, nn.Embedding):
            return emb
    return next((m for m in model.modules() if isinstance(m, nn.Embedding)), None)


def check_token_ids(model: Any, X: Any, where: str = "input_ids") -> None:
    """Token ids (an array or a tensor) must lie in ``[0, vocabulary size)`` of the model's
    input embedding (``get_input_embeddings()``, else its first ``nn.Embedding``)."""
    from netsci_dl._array import to_numpy
    from netsci_dl.activations._data import _check_model

    _check_model("check_token_ids", model)
    emb = _input_embedding(model)
    a = np.asarray(to_numpy(X))
    if emb is None or a.dtype.kind not in "iu" or a.size == 0:
        return
    lo, hi = int(a.min()), int(a.max())
    n = int(emb.num_embeddings)
    if lo < 0 or hi >= n:
        raise InputError(
            f"{where}: token ids {lo}..{hi} do not fit the model's vocabulary of {n} "
            "(input embedding); the ids must lie in [0, vocabulary size)"
        )


def call_model(model: Any, x: Any, mask: Any = None, takes_mask: bool | None = None) -> Any:
    """``model(x, attention_mask=mask)`` when there is a mask and the model takes one, else
    ``model(x)``."""
    if mask is not None and (takes_attention_mask(model) if takes_mask is None else takes_mask):
        return model(x, attention_mask=mask)
    return model(x)


def logits_of(out: Any) -> Any:
    """The logits of a model's output: a tensor as it is, or a Hugging Face output's
    ``logits``; else an InputError."""
    import torch

    if torch.is_tensor(out):
        return out
    z = getattr(out, "logits", None)
    if torch.is_tensor(z):
        return z
    raise InputError(
        f"the model returns {type(out).__name__}, not logits: interactions need a classifier "
        "(a tensor of logits, or a Hugging Face model with a classification head)"
    )


def pool_tokens(out: Any, mask: Any, pool: str, dft_size: int | None) -> Any:
    """``(b, units)`` from a token output ``(b, units, length)`` (units first) and its mask
    ``(b, length)``: padded positions are zeroed; ``pool="mean"`` divides by the real tokens."""
    from netsci_dl.activations._pool import reduce_output

    m = mask.to(device=out.device, dtype=out.dtype)[:, None, :]
    z = out.detach() * m
    if pool == "mean":
        return z.sum(dim=-1) / m.sum(dim=-1)
    return reduce_output(z, pool, dft_size)


def token_players(spec: str, length: int) -> tuple[np.ndarray, ...]:
    """Players of token positions: ``"tokens"`` (each position a player) or
    ``"tokens:0-3,4-7"`` (groups of positions, ranges inclusive) for examples of ``length``
    tokens. At most ``MAX_PLAYERS`` players.

    Examples
    --------
    >>> [g.tolist() for g in token_players("tokens", 3)]
    [[0], [1], [2]]
    >>> [g.tolist() for g in token_players("tokens:0-1,3", 5)]
    [[0, 1], [3]]
    """
    from netsci_dl.activations._masking import MAX_PLAYERS, feature_players

    text = str(spec).strip()
    if text == "tokens":
        if int(length) > MAX_PLAYERS:
            raise InputError(
                f"players 'tokens': examples have {length} token positions; at most "
                f"{MAX_PLAYERS} players (2**n masked inputs per sample): group the positions, "
                "e.g. tokens:0-3,4-7"
            )
        return tuple(np.array([i], dtype=np.int64) for i in range(int(length)))
    if not text.startswith("tokens:"):
        raise InputError(f"players {spec!r}: expected tokens or tokens:0-3,4-7")
    groups = feature_players(text[len("tokens:") :])
    top = max(int(g.max()) for g in groups)
    if top >= int(length):
        raise InputError(f"players {spec!r}: position {top} is beyond the {length} tokens")
    return groups


def _tokenizer_mask_id(folder: Path) -> int | None:
    """The mask token's id from a folder's tokenizer files (``tokenizer_config.json``'s
    ``added_tokens_decoder``, or ``tokenizer.json``'s ``added_tokens``), else None."""
    try:
        tc = json.loads((folder / "tokenizer_config.json").read_text())
    except (OSError, ValueError):
        tc = {}
    name = tc.get("mask_token") if isinstance(tc, dict) else None
    name = name.get("content") if isinstance(name, dict) else name
    if not isinstance(name, str):
        return None
    for k, v in (tc.get("added_tokens_decoder") or {}).items():
        if isinstance(v, dict) and v.get("content") == name and str(k).isdigit():
            return int(k)
    try:
        tj = json.loads((folder / "tokenizer.json").read_text())
    except (OSError, ValueError):
        return None
    for t in tj.get("added_tokens") or [] if isinstance(tj, dict) else []:
        if isinstance(t, dict) and t.get("content") == name and isinstance(t.get("id"), int):
            return int(t["id"])
    return None


def resolve_mask_id(model: Any, mask_id: int | None) -> tuple[int, str]:
    """``(id, where it came from)``: ``mask_id`` when given, else the model's config
    ``mask_token_id``, its folder's tokenizer mask token, the config's ``pad_token_id``; else an
    InputError saying to pass it."""
    if mask_id is not None:
        return int(mask_id), "given"
    cfg = getattr(model, "config", None)
    v = getattr(cfg, "mask_token_id", None)
    if isinstance(v, int) and v >= 0:
        return v, "the config's mask_token_id"
    folder = getattr(cfg, "_name_or_path", None) or getattr(cfg, "name_or_path", None)
    if isinstance(folder, str) and folder and Path(folder).is_dir():
        v = _tokenizer_mask_id(Path(folder))
        if v is not None:
            return v, "the tokenizer's mask token"
    v = getattr(cfg, "pad_token_id", None)
    if isinstance(v, int) and v >= 0:
        return v, "the config's pad_token_id"
    raise InputError(
        "no mask id is known for this model (no mask_token_id or pad_token_id in its config): "
        "pass mask_id= (--mask-id N), or mask tokens through the attention mask "
        "(token_mask='attention', --token-mask attention)"
    )


def is_token_input(model: Any, X: Any) -> bool:
    """Integer inputs to a model with an ``nn.Embedding``: token ids (as the runners take)."""
    import torch.nn as nn

    from netsci_dl._array import to_numpy

    if not isinstance(model, nn.Module):
        return False
    kind = np.asarray(to_numpy(X[:1]) if hasattr(X, "__getitem__") else X).dtype.kind
    return kind in "iu" and any(isinstance(m, nn.Embedding) for m in model.modules())


def token_mask_note(model: Any, token_mask: str, mask_id: int | None) -> tuple[int | None, str]:
    """``(mask id or None, what a masked token becomes)`` for the results' settings."""
    if token_mask not in TOKEN_MASKS:
        raise InputError(f"token_mask={token_mask!r}: expected one of {sorted(TOKEN_MASKS)}")
    if token_mask == "attention":
        return None, "attention_mask = 0 (the token is dropped; its id kept)"
    mid, where = resolve_mask_id(model, mask_id)
    emb = _input_embedding(model)
    if mid < 0 or (emb is not None and mid >= int(emb.num_embeddings)):
        raise InputError(f"mask_id={mid} ({where}) is not an id of the model's vocabulary")
    return mid, f"token id {mid} ({where})"


def masked_token_batches(
    X: np.ndarray,
    mask: np.ndarray | None,
    keep: np.ndarray,
    token_mask: str,
    mask_id: int | None,
    batch_size: int,
) -> Any:
    """``(rows, sample index, ids, attention mask or None)`` per batch of the ``n * 2**k``
    masked versions of token examples ``X`` (``keep``: ``(2**k, length)`` bool per coalition).

    ``token_mask="attention"`` needs a real token outside every player in each example: a
    Hugging Face model given an all-zero attention mask attends to every token alike."""
    n, n_masks = X.shape[0], keep.shape[0]
    data = np.ones_like(X) if mask is None else mask
    if token_mask == "attention" and not (data * keep[0][None, :]).any(axis=1).all():
        raise InputError(
            "token_mask='attention' hides every token of an example in the empty coalition (a "
            "model given an all-zero attention mask attends to every token alike): leave a "
            "position out of the players (e.g. tokens:1-3,4-7 keeps position 0 visible) or use "
            "token_mask='id'"
        )
    total = n * n_masks
    for start in range(0, total, batch_size):
        r = np.arange(start, min(start + batch_size, total))
        i, m = r // n_masks, r % n_masks
        if token_mask == "attention":
            yield r, i, X[i], data[i] * keep[m]
        else:
            ids = np.where(keep[m], X[i], np.int64(mask_id))
            yield r, i, ids, None if mask is None else mask[i]
