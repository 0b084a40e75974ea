"""Pure, vectorised torch functions of a restricted Boltzmann machine, and the fast in-place step.

Conventions: ``W`` is ``(n_visible, n_hidden)``; ``v`` is ``(batch, n_visible)``; ``h`` is
``(batch, n_hidden)``. ``visible="bernoulli"`` (binary units, logistic) or ``"gaussian"``
(real-valued units with unit variance: ``v | h ~ N(h W^T + b_v, 1)``). Hidden units are always
Bernoulli. A sample ``s ~ Bernoulli(p)`` is ``u < p`` with ``u ~ U[0, 1)`` drawn by
``uniform_(generator=g)`` (5x faster than ``torch.bernoulli`` on CPU, and the convention of
scikit-learn's ``BernoulliRBM``); every function takes one ``generator`` so a seed fixes the run.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from netsci_dl.errors import InputError

__all__ = [
    "bernoulli",
    "free_energy",
    "sample_h_given_v",
    "sample_v_given_h",
    "cd_step",
    "CDGradient",
    "VISIBLE_KINDS",
    "SPARSITY_RULES",
]

VISIBLE_KINDS = ("bernoulli", "gaussian")
SPARSITY_RULES = ("lab", "momentum")


def _check_visible(visible: str) -> None:
    if visible not in VISIBLE_KINDS:
        raise InputError(f"visible={visible!r}: expected one of {VISIBLE_KINDS}")


def free_energy(
    v: Any, W: Any, visible_bias: Any, hidden_bias: Any, *, visible: str = "bernoulli"
) -> Any:
    """Free energy ``F(v)`` of each row of ``v``, hidden units summed out; ``p(v) ∝ exp(-F(v))``.

    Bernoulli: ``F(v) = -v·b_v - Σ_j softplus(v W_{:j} + b_h,j)``; Gaussian (unit variance):
    ``F(v) = ||v - b_v||² / 2 - Σ_j softplus(v W_{:j} + b_h,j)``.

    Parameters
    ----------
    v : (n, n_visible) tensor
    W : (n_visible, n_hidden) tensor
    visible_bias : (n_visible,) tensor
    hidden_bias : (n_hidden,) tensor
    visible : {"bernoulli", "gaussian"}

    Returns
    -------
    (n,) tensor

    Examples
    --------
    >>> import torch
    >>> W = torch.zeros(3, 2); bv = torch.zeros(3); bh = torch.zeros(2)
    >>> round(float(free_energy(torch.ones(1, 3), W, bv, bh)[0]), 4)  # -2 log 2
    -1.3863
    """
    import torch
    import torch.nn.functional as F

    _check_visible(visible)
    act = F.softplus(torch.addmm(hidden_bias, v, W)).sum(1)
    if visible == "bernoulli":
        return -(v @ visible_bias) - act
    return 0.5 * ((v - visible_bias) ** 2).sum(1) - act


def bernoulli(p: Any, *, generator: Any = None, out: Any = None, noise: Any = None) -> Any:
    """A 0/1 sample of ``Bernoulli(p)`` in ``p``'s dtype: ``u < p`` with ``u ~ U[0, 1)``.

    ``out`` and ``noise`` (a scratch buffer for ``u``) avoid allocations in loops.
    """
    import torch

    u = torch.empty_like(p) if noise is None else noise
    u.uniform_(generator=generator)
    if out is None:
        return torch.lt(u, p).to(p.dtype)
    return torch.lt(u, p, out=out)


def sample_h_given_v(v: Any, W: Any, hidden_bias: Any, *, generator: Any = None) -> tuple[Any, Any]:
    """``p(h=1 | v) = sigmoid(v W + b_h)`` and one Bernoulli sample of it.

    Returns
    -------
    (probabilities, samples) : two (n, n_hidden) tensors (samples are 0/1 in the input dtype)

    Examples
    --------
    >>> import torch
    >>> p, h = sample_h_given_v(torch.ones(2, 3), torch.zeros(3, 4), torch.zeros(4),
    ...                         generator=torch.Generator().manual_seed(0))
    >>> p.shape, float(p[0, 0]), set(h.unique().tolist()) <= {0.0, 1.0}
    (torch.Size([2, 4]), 0.5, True)
    """
    import torch

    p = torch.sigmoid(torch.addmm(hidden_bias, v, W))
    return p, bernoulli(p, generator=generator)


def sample_v_given_h(
    h: Any, W: Any, visible_bias: Any, *, visible: str = "bernoulli", generator: Any = None
) -> tuple[Any, Any]:
    """The mean of ``v | h`` and one sample: Bernoulli ``sigmoid(h W^T + b_v)`` or Gaussian ``N(h W^T + b_v, 1)``.

    Returns
    -------
    (mean, samples) : two (n, n_visible) tensors

    Examples
    --------
    >>> import torch
    >>> m, v = sample_v_given_h(torch.ones(1, 2), torch.zeros(3, 2), torch.zeros(3),
    ...                         generator=torch.Generator().manual_seed(0))
    >>> m.tolist()
    [[0.5, 0.5, 0.5]]
    """
    import torch

    mean = _v_mean(h, W, visible_bias, visible)
    if visible == "bernoulli":
        return mean, bernoulli(mean, generator=generator)
    noise = torch.empty_like(mean).normal_(generator=generator)
    return mean, mean + noise


def _v_mean(h: Any, W: Any, visible_bias: Any, visible: str) -> Any:
    import torch

    _check_visible(visible)
    pre = torch.addmm(visible_bias, h, W.T)
    return torch.sigmoid(pre) if visible == "bernoulli" else pre


class CDGradient(NamedTuple):
    """A CD-k estimate of the log-likelihood gradient (ascent direction), averaged over the batch.

    ``weights`` is ``<v h>_data - <v h>_model`` ``(n_visible, n_hidden)``; ``chain`` holds the
    hidden samples at the end of the negative chain (the next persistent state);
    ``reconstruction`` is the reconstruction of the data, the same for CD-1, CD-k and PCD: the
    visible means given the hidden sample drawn from the data in the positive phase,
    ``E[v | h ~ p(h | v_data)]`` (for CD-1 it is the negative phase's visible means).
    """

    weights: Any
    visible_bias: Any
    hidden_bias: Any
    chain: Any
    reconstruction: Any


def cd_step(
    v: Any,
    W: Any,
    visible_bias: Any,
    hidden_bias: Any,
    *,
    k: int = 1,
    chain: Any = None,
    sample_visible: bool = False,
    visible: str = "bernoulli",
    generator: Any = None,
) -> CDGradient:
    """One contrastive-divergence gradient estimate (CD-k, or persistent CD when ``chain`` is given).

    Positive phase: hidden probabilities of the data. Negative phase: start from a hidden sample
    of the data (CD) or from ``chain`` (PCD), alternate ``k`` times ``v ~ p(v|h)`` (the mean when
    ``sample_visible`` is False, the lab's convention) and ``p(h|v)``; statistics use hidden
    probabilities. Random draws happen in the same order as :class:`netsci_dl.models.rbm.RBM`'s
    in-place step, so both give the same numbers for the same generator state.

    Parameters
    ----------
    v : (batch, n_visible) tensor
    W, visible_bias, hidden_bias : tensors, the parameters
    k : int
        Gibbs steps of the negative chain.
    chain : (n_chains, n_hidden) tensor, optional
        Persistent hidden states (PCD); the returned ``chain`` is the next state.
    sample_visible : bool
        Sample the visible units in the negative phase (sklearn's PCD does) or use their means.

    Returns
    -------
    CDGradient

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> grad = cd_step(torch.ones(4, 3), torch.zeros(3, 2), torch.zeros(3), torch.zeros(2), generator=g)
    >>> grad.weights.shape, grad.visible_bias.tolist()
    (torch.Size([3, 2]), [0.5, 0.5, 0.5])
    """
    import torch

    if k < 1:
        raise InputError(f"k={k}: contrastive divergence needs at least one Gibbs step")
    hp, hs = sample_h_given_v(v, W, hidden_bias, generator=generator)
    rec = _v_mean(hs, W, visible_bias, visible)  # the reconstruction, before the chain moves on
    if chain is not None:
        hs = chain
    for i in range(k):
        if sample_visible:
            _, vn = sample_v_given_h(hs, W, visible_bias, visible=visible, generator=generator)
        else:
            vn = _v_mean(hs, W, visible_bias, visible)
        hn = torch.sigmoid(torch.addmm(hidden_bias, vn, W))
        if i < k - 1 or chain is not None:
            hs = bernoulli(hn, generator=generator)
    b, m = v.shape[0], vn.shape[0]
    gW = v.T @ hp / b - vn.T @ hn / m
    gvb = v.mean(0) - vn.mean(0)
    ghb = hp.mean(0) - hn.mean(0)
    return CDGradient(gW, gvb, ghb, hs if chain is not None else None, rec)


class Workspace:
    """Preallocated buffers and the in-place CD update of one RBM (internal).

    ``step`` does, for one mini-batch, the 3 + 1 GEMMs of CD-1: biases fused (``addmm``),
    sigmoids and Bernoulli draws in place, and the weight update as ONE ``addmm_`` into the
    momentum buffer (``beta`` = momentum) of the stacked ``[v; v_neg]^T [a h_pos; -a h_neg]``
    (the data and negative statistics live side by side in ``L`` and ``R``): no allocation and
    no extra pass over the weights in the loop.
    """

    def __init__(
        self, n_visible: int, n_hidden: int, batch: int, *, dtype: Any, device: Any
    ) -> None:
        import torch

        kw = {"dtype": dtype, "device": device}
        # the positive and the negative statistics side by side: rows [0, b) the batch, rows
        # [b, b + m) the negative particles, so that one GEMM (K = b + m) gives the update
        self.L = torch.empty(2 * batch, n_visible, **kw)  # visible: data, then negative
        self.R = torch.empty(2 * batch, n_hidden, **kw)  # hidden: positive probs, then negative
        self.v = self.L[:batch]
        self.hs = torch.empty(batch, n_hidden, **kw)
        self.vx = torch.empty(batch, n_visible, **kw)  # the visible buffer not in ``L``
        self.tmp = torch.empty(batch, n_visible, **kw)
        self.uh = torch.empty(batch, n_hidden, **kw)
        self.uv = torch.empty(batch, n_visible, **kw)
        self.err = torch.zeros((), **kw)

    def step(
        self,
        b: int,
        params: tuple[Any, Any, Any],
        velocity: tuple[Any, Any, Any],
        *,
        lr: float,
        momentum: float,
        weight_decay: float,
        k: int,
        chain: Any,
        sample_visible: bool,
        visible: str,
        sparsity: tuple[float, float, str] | None,
        generator: Any,
    ) -> None:
        """Update ``params`` in place from the batch in ``self.v[:b]``; add its squared error to ``self.err``.

        ``sparsity`` is ``(target, cost, rule)``: rule ``"momentum"`` adds
        ``-lr cost (mean_batch(q) - target)`` to the hidden-bias velocity, rule ``"lab"`` subtracts
        ``lr cost (q - target)`` from the hidden biases after the update, only when the mean of
        ``q`` over units exceeds the target (``q``: the batch mean of the positive hidden
        probabilities, one value per unit). The squared error is between the data and the
        visible means given the data's hidden sample (the same definition for CD-1, CD-k, PCD).
        """
        import torch

        W, vb, hb = params
        dW, dvb, dhb = velocity
        v, hp, hs = self.L[:b], self.R[:b], self.hs[:b]
        torch.addmm(hb, v, W, out=hp).sigmoid_()
        bernoulli(hp, generator=generator, out=hs, noise=self.uh[:b])
        tmp = self.tmp[:b]
        if chain is not None or k > 1:
            # the reconstruction error (one definition for CD-1, CD-k and PCD): visible means given
            # the data's hidden sample; computed before the negative chain overwrites that sample
            torch.addmm(vb, hs, W.T, out=tmp)
            if visible == "bernoulli":
                tmp.sigmoid_()
            self.err.add_(torch.sum(tmp.sub_(v).square_()))
        if chain is not None:
            hs = chain
        m = hs.shape[0]
        # the visible units that enter the statistics sit in L (samples or means), the other in vx
        src, hn = self.L[b : b + m], self.R[b : b + m]
        vm = self.vx[:m] if sample_visible else src
        vn = src if sample_visible else self.vx[:m]
        self.vn, self.vm = vn, vm  # views of the last step's negative visible samples and means
        for i in range(k):
            torch.addmm(vb, hs, W.T, out=vm)
            if visible == "bernoulli":
                vm.sigmoid_()
                if sample_visible:
                    bernoulli(vm, generator=generator, out=vn, noise=self.uv[:m])
            elif sample_visible:
                vn.normal_(generator=generator).add_(vm)
            torch.addmm(hb, src, W, out=hn).sigmoid_()
            if i < k - 1 or chain is not None:
                dst = chain if chain is not None and i == k - 1 else self.hs[:m]
                bernoulli(hn, generator=generator, out=dst, noise=self.uh[:m])
                hs = dst
        if chain is None and k == 1:
            # CD-1: the negative phase's visible means are that reconstruction; no extra GEMM
            torch.sub(v, vm[:b], out=tmp)
            self.err.add_(torch.sum(tmp.square_()))
        a_pos, a_neg = lr / b, lr / m
        hp_sum = hp.sum(0)
        dvb.mul_(momentum).add_(v.sum(0), alpha=a_pos).add_(src.sum(0), alpha=-a_neg)
        dhb.mul_(momentum).add_(hp_sum, alpha=a_pos).add_(hn.sum(0), alpha=-a_neg)
        # one GEMM for both statistics: dW <- mu dW + [v; src]^T [a_pos hp; -a_neg hn]
        hp.mul_(a_pos)
        hn.mul_(-a_neg)
        dW.addmm_(self.L[: b + m].T, self.R[: b + m], beta=momentum)
        if weight_decay:
            dW.add_(W, alpha=-lr * weight_decay)
        rule = None
        if sparsity is not None:
            target, cost, rule = sparsity
            q = hp_sum.div_(b)
            if rule == "momentum":
                dhb.add_(q - target, alpha=-lr * cost)
        W.add_(dW)
        vb.add_(dvb)
        hb.add_(dhb)
        if rule == "lab":
            # if mean(q) > p: b_h -= lr cost (q - p); a 0/1 factor instead of `if`: no device sync
            on = (q.mean() > target).to(q.dtype)
            hb.sub_((q - target).mul_(on), alpha=lr * cost)
