"""The inference side of :class:`netsci_dl.models.rbm.RBM` (a mixin): hidden probabilities,
Gibbs sampling, free energy, pseudo-likelihood, reconstructions.

Sampling here uses the RBM's sampling generator (or a fresh one from ``seed``), never the
training generator ``generator_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.models._rbm_math import free_energy, sample_h_given_v, sample_v_given_h

__all__ = ["RBMInference"]


class RBMInference:
    """Inference methods of a fitted RBM (they need ``weights_``, ``visible_bias_``,
    ``hidden_bias_``, ``visible``, ``_as_tensor``, ``_out``, ``_params`` and ``_check_fitted``)."""

    def transform(self, X: Any) -> Any:
        """Hidden probabilities ``p(h=1|v)`` ``(n, n_hidden)`` (ndarray for array input, tensor for tensor)."""
        import torch

        self._check_fitted()
        Xt = self._as_tensor(X)
        return self._out(torch.sigmoid(torch.addmm(self.hidden_bias_, Xt, self.weights_)), X)

    def _sampling_generator(self, seed: int | None) -> Any:
        """The generator of sampling outside training: a fresh one for ``seed``, else the RBM's own
        sampler (seeded from the RBM's seed, advancing between calls); never ``generator_``."""
        import torch

        dev = self.weights_.device
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
                raise InputError(f"seed={seed!r}: expected an integer >= 0 or None")
            return torch.Generator(device=dev).manual_seed(int(seed))
        if getattr(self, "_sampler", None) is None:
            s = np.random.SeedSequence([int(getattr(self, "seed_", 0)), 1]).generate_state(1)[0]
            self._sampler = torch.Generator(device=dev).manual_seed(int(s))
        return self._sampler

    def gibbs(self, v: Any, *, seed: int | None = None) -> Any:
        """One Gibbs step ``v -> h ~ p(h|v) -> v ~ p(v|h)``: a visible sample of the same shape.

        Draws from ``seed`` (a fresh generator) or the RBM's sampling generator, never from the
        training generator: calling it does not change a later training run.
        """
        self._check_fitted()
        g = self._sampling_generator(seed)
        Vt = self._as_tensor(v, name="v")
        _, h = sample_h_given_v(Vt, self.weights_, self.hidden_bias_, generator=g)
        _, vs = sample_v_given_h(
            h, self.weights_, self.visible_bias_, visible=self.visible, generator=g
        )
        return self._out(vs, v)

    def free_energy(self, X: Any) -> Any:
        """``F(v)`` of each row."""
        self._check_fitted()
        Xt = self._as_tensor(X)
        return self._out(free_energy(Xt, *self._params(), visible=self.visible), X)

    def score_samples(self, X: Any, *, seed: int | None = None) -> Any:
        """Pseudo-log-likelihood of each row, as scikit-learn's ``BernoulliRBM.score_samples``.

        ``n_visible * log sigmoid(F(v~) - F(v))`` where ``v~`` is ``v`` with one randomly chosen
        unit flipped (``1 - v_i``; ``i`` drawn by ``torch.randint`` from ``seed`` or the RBM's
        sampling generator, never the training generator). Bernoulli visible units only.
        """
        import torch
        import torch.nn.functional as F

        self._check_fitted()
        if self.visible != "bernoulli":
            raise InputError("score_samples (pseudo-likelihood) needs visible='bernoulli'")
        g = self._sampling_generator(seed)
        Xt = self._as_tensor(X)
        n, d = Xt.shape
        idx = torch.randint(0, d, (n,), generator=g, device=g.device).to(Xt.device)
        rows = torch.arange(n, device=Xt.device)
        Xf = Xt.clone()
        Xf[rows, idx] = 1 - Xf[rows, idx]
        fe = free_energy(Xt, *self._params())
        fe_f = free_energy(Xf, *self._params())
        return self._out(d * F.logsigmoid(fe_f - fe), X)

    def reconstruct(self, X: Any) -> Any:
        """Mean-field reconstruction ``E[v | h = p(h|v)]`` (deterministic)."""
        import torch

        self._check_fitted()
        Xt = self._as_tensor(X)
        hp = torch.sigmoid(torch.addmm(self.hidden_bias_, Xt, self.weights_))
        r = torch.addmm(self.visible_bias_, hp, self.weights_.T)
        return self._out(torch.sigmoid(r) if self.visible == "bernoulli" else r, X)

    def reconstruction_error(self, X: Any) -> float:
        """Mean squared error per visible unit between ``X`` and :meth:`reconstruct` (deterministic).

        Mean-field: the hidden *probabilities* are propagated back, nothing is sampled. The error
        reported during training (:meth:`fit_epoch`, ``TrainHistory.recon_error``) uses one
        hidden *sample* instead, the same way for CD-1, CD-k and PCD; the two are different
        numbers and are not to be compared with each other.
        """
        import torch

        Xt = self._as_tensor(X)
        r = self.reconstruct(Xt)
        return float(torch.mean((Xt - r) ** 2))
