"""Run a model on data and record each layer's output, batch by batch.

Layers of an ``nn.Module`` are modules named as in ``named_modules()``. By default every
``nn.Linear`` and ``nn.Conv2d``; its output is taken after the elementwise modules that follow
it and keep its units (activations, BatchNorm, Dropout, Identity) when that is unambiguous: the
module's output tensor goes to exactly one module, of one of those types, called once, with an
output of the same shape (an in-place activation counts as following). Otherwise (a functional
``torch.relu`` in ``forward``, a tensor used twice) the output is taken at the module itself.
The data flow is read from one traced forward pass on the first example(s); what was chosen is
recorded in :attr:`Activations.taken_at` and :attr:`Activations.followed`. A user's list of
module names is taken exactly at those modules.

netsci_dl's :class:`~netsci_dl.models.dbn.DBN` gives the hidden probabilities of each RBM,
bottom-up (``h1``, ``h2``, ...), as its ``transform``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from netsci_dl.activations._pool import POOLS
from netsci_dl.activations._result import Activations
from netsci_dl.activations._runners import _as_tensor, open_runner
from netsci_dl.errors import InputError

__all__ = ["Activations", "layer_activations", "iter_activations", "open_runner", "POOLS"]


def iter_activations(
    model: Any,
    X: Any,
    *,
    layers: Sequence[str] | None = None,
    batch_size: int = 256,
    device: Any = None,
    pool: str = "mean",
    dft_size: int | None = None,
    input_shape: Sequence[int] | None = None,
    attention_mask: Any = None,
) -> Iterator[dict[str, Any]]:
    """Each batch's activations, ``{layer: (b, units) torch tensor}`` on the device, in order.

    The model is in eval mode (hooks set) until the generator is exhausted or closed. This is
    the streaming path: feed the batches to a sufficient-statistics accumulator such as
    :class:`netsci_dl.analysis.similarity.LinearCKAStats` and no activation matrix is kept.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())
    >>> [b["0"].shape[0] for b in iter_activations(net, torch.zeros(5, 3), batch_size=2)]
    [2, 2, 1]
    """
    Xt = _as_tensor(X)
    bs = _check_batch(batch_size)
    with open_runner(
        model,
        Xt,
        layers=layers,
        device=device,
        pool=pool,
        dft_size=dft_size,
        input_shape=input_shape,
        attention_mask=attention_mask,
    ) as r:
        m = r.attention_mask
        for i in range(0, Xt.shape[0], bs):
            yield r.run(Xt[i : i + bs], None if m is None else m[i : i + bs])


def _check_batch(batch_size: int) -> int:
    if int(batch_size) < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    return int(batch_size)


def _np_dtype(dtype: Any, default: Any) -> np.dtype:
    if dtype is None:
        return np.dtype(str(default).replace("torch.", ""))
    d = np.dtype(str(dtype).replace("torch.", ""))
    if d.kind != "f":
        raise InputError(f"dtype={dtype!r}: expected a floating dtype (float32, float64)")
    return d


def layer_activations(
    model: Any,
    X: Any,
    *,
    layers: Sequence[str] | None = None,
    batch_size: int = 256,
    device: Any = None,
    dtype: Any = None,
    pool: str = "mean",
    dft_size: int | None = None,
    input_shape: Sequence[int] | None = None,
    attention_mask: Any = None,
) -> Activations:
    """Run ``model`` on ``X`` and return each layer's output, rows = examples.

    Parameters
    ----------
    model : torch nn.Module or netsci_dl DBN
        Any module (netsci_dl's MLP of :func:`~netsci_dl.models.mlp.build_mlp` included), or a
        :class:`~netsci_dl.models.dbn.DBN` (layers ``h1``, ``h2``, ...: the hidden
        probabilities of each RBM bottom-up, equal to ``dbn.transform(X, layer=i)``).
    X : (n_samples, ...) ndarray or tensor
        Rows are examples; images as ``(n, C, H, W)`` or flat (reshaped by ``input_shape``, or
        to square images when the model starts with a ``Conv2d``). A model with an
        ``nn.Embedding`` (a text model) takes integer token ids ``(n, tokens)`` as they are, and
        its ``(n, tokens, units)`` outputs are pooled over the token positions (``pool="mean"``:
        the mean over the real tokens when there is an ``attention_mask``, else over every
        position; stated in ``settings["token_pool"]``).
    layers : list of str, optional
        Module names (``named_modules()``), taken exactly at those modules. Default: every
        ``nn.Linear`` / ``nn.Conv2d`` after its elementwise followers (module docstring).
    batch_size : int
        Examples per forward pass.
    device : torch device, optional
        Where to run (default: where the model is; a module is moved there and back).
    dtype : numpy/torch float dtype, optional
        Of the returned arrays (default: the model's). The forward runs in the model's dtype.
    pool : {"mean", "none", "dft"}
        How a ``(C, H, W)`` output becomes units (see :data:`POOLS`).
    dft_size : int, optional
        With ``pool="dft"``: keep the frequencies in ``[-s/2, s/2)`` per spatial axis.
    input_shape : tuple of int, optional
        Per-example input shape, e.g. ``(1, 8, 8)``.
    attention_mask : (n_samples, tokens) array of 0/1, optional
        For token ids: 1 = a real token, 0 = padding (a :class:`~netsci_dl.datasets.Dataset`
        given as ``X`` brings its own). Passed batch by batch as ``model(ids,
        attention_mask=...)`` when the model's ``forward`` takes ``attention_mask`` (Hugging
        Face models do; ``settings["attention_mask"]`` says whether it did); token outputs are
        pooled over the real tokens only. An example then gives what it gives alone, unpadded.

    Returns
    -------
    Activations
        Ordered read-only mapping layer -> ``(n_samples, n_units)`` ndarray; the model comes
        back in the train/eval modes and on the device it had. No gradients are recorded.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 2))
    >>> A = layer_activations(net, torch.zeros(5, 3))
    >>> list(A), A["0"].shape, A.taken_at["0"], net.training
    (['0', '2'], (5, 4), '1', True)
    """
    Xt = _as_tensor(X)
    bs = _check_batch(batch_size)
    n = int(Xt.shape[0])
    out: dict[str, np.ndarray] = {}
    with open_runner(
        model,
        Xt,
        layers=layers,
        device=device,
        pool=pool,
        dft_size=dft_size,
        input_shape=input_shape,
        attention_mask=attention_mask,
    ) as r:
        dt = _np_dtype(dtype, r.dtype)
        m = r.attention_mask
        for i in range(0, n, bs):
            batch = r.run(Xt[i : i + bs], None if m is None else m[i : i + bs])
            for name, t in batch.items():
                a = t.detach().cpu().numpy()
                if name not in out:
                    out[name] = np.empty((n, a.shape[1]), dtype=dt)
                out[name][i : i + a.shape[0]] = a
        settings = {
            "pool": pool,
            "dft_size": dft_size,
            "batch_size": bs,
            "device": str(r.device),
            "dtype": str(dt),
            "n_samples": n,
            "input_shape": list(getattr(r, "input_shape", None) or []) or None,
            "layers": "default" if layers is None else [str(v) for v in layers],
            **r.token_settings(m),
        }
        return Activations(
            {k: out[k] for k in r.names},
            modules=r.modules,
            taken_at=r.taken_at,
            followed=r.followed,
            shapes=r.shapes,
            model_kind=r.model_kind,
            settings=settings,
        )
