"""Restricted Boltzmann machine: pure torch functions and a scikit-learn-style estimator.

Bernoulli-Bernoulli RBM (and Gaussian visible units with unit variance for real-valued input),
trained by contrastive divergence (CD-k) or persistent CD, with momentum, L2 weight decay, an
optional sparsity target on the hidden biases and mini-batches. Defaults are the lab settings of
shared/SCIENCE.md (Testolin et al.): learning rate 0.1, weight decay 2e-4, momentum 0.5 then 0.9
from the 6th epoch, batch 125, ``W ~ 0.1 N(0, 1)``, biases 0, CD-1 with hidden probabilities in
the positive phase, hidden states sampled once and visible means in the reconstruction.

Update rule (per mini-batch of size ``b``; ``m`` negative particles, ``m = b`` for CD)::

    vel_W  <- mu vel_W  + lr ( <v h>_data / b - <v h>_model / m - wd W )
    vel_bv <- mu vel_bv + lr ( sum v_data / b - sum v_model / m )
    vel_bh <- mu vel_bh + lr ( sum h_data / b - sum h_model / m  [- cost (q - target)] )
    W += vel_W ;  b_v += vel_bv ;  b_h += vel_bh
    [if mean(q) > target:  b_h -= lr cost (q - target)]

``q`` is the batch mean of the positive-phase hidden probabilities (one value per hidden unit).
The sparsity push (only with ``sparsity_target``) is one of two rules: ``sparsity_rule="lab"``
(the default, the lab code's rule: the last line, applied straight to the hidden biases and only
while the mean activity exceeds the target) or ``"momentum"`` (the bracket in the velocity line,
in both directions, carried by momentum). With ``mu = 0``, ``wd = 0``, persistent CD-1 and
sampled visible units the update is exactly scikit-learn's ``BernoulliRBM`` update (tested).

Random numbers: training draws from the RBM's generator ``generator_`` only (initialisation,
data order, samples), so a seed fixes a run. Sampling outside training (:meth:`RBM.gibbs`,
:meth:`RBM.score_samples`) uses its own generator and never advances ``generator_``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.models._checks import _checked, check_rbm_settings
from netsci_dl.models._rbm_infer import RBMInference
from netsci_dl.models._rbm_math import (
    CDGradient,
    Workspace,
    cd_step,
    free_energy,
    sample_h_given_v,
    sample_v_given_h,
)

__all__ = [
    "RBM",
    "free_energy",
    "sample_h_given_v",
    "sample_v_given_h",
    "cd_step",
    "CDGradient",
    "resolve_dtype",
    "check_rbm_settings",
]


def resolve_dtype(dtype: Any) -> Any:
    """``"float32"`` / ``"float64"`` / a torch floating dtype -> the torch dtype."""
    import torch

    table = {
        "float32": torch.float32,
        "float64": torch.float64,
        "float16": torch.float16,
        "bfloat16": torch.bfloat16,
    }
    if isinstance(dtype, torch.dtype):
        if not dtype.is_floating_point:
            raise InputError(f"dtype={dtype}: a floating dtype is needed")
        return dtype
    if str(dtype) not in table:
        raise InputError(f"dtype={dtype!r}: expected one of {sorted(table)}")
    return table[str(dtype)]


class RBM(RBMInference):
    """A restricted Boltzmann machine trained by contrastive divergence (scikit-learn contract).

    Parameters
    ----------
    n_hidden : int
    visible : {"bernoulli", "gaussian"}
        Gaussian visible units have unit variance (standardise real-valued input first).
    learning_rate : float
    momentum, final_momentum : float
        ``momentum`` for the first ``momentum_epochs`` epochs, ``final_momentum`` afterwards.
    momentum_epochs : int
    weight_decay : float
        L2 penalty on the weights (not the biases).
    batch_size : int
    cd_k : int
        Gibbs steps in the negative phase.
    persistent : bool
        Persistent CD (the chains carry over between mini-batches; ``batch_size`` chains).
    sample_visible : bool
        Sample the negative visible units (scikit-learn does) instead of using their means (lab).
    sparsity_target : float or None
        Target mean activation of the hidden units; pushes the hidden biases.
    sparsity_rule : {"lab", "momentum"}
        How (see the module docstring): ``"lab"`` only while the mean activity exceeds the
        target, straight onto the hidden biases; ``"momentum"`` through the velocity, both ways.
    sparsity_cost : float
        Scales the sparsity push (1: the lab rule exactly).
    init_std : float
        ``W ~ init_std * N(0, 1)``; biases start at 0.
    n_epochs : int
        Passes over the data in :meth:`fit`.
    seed : int or None
        Seeds the one ``torch.Generator`` that draws everything (init, data order, samples).
    device : str or torch.device
        ``"cpu"``, ``"cuda"``, ``"auto"``.
    dtype : {"float32", "float64"}
    num_threads : "auto", int or None
        torch CPU threads while training (restored after). ``"auto"`` (default): torch's setting
        less the cores other processes keep busy now (:func:`netsci_dl._array.free_threads`,
        chosen at each epoch; one thread when the machine is busy: threads that share a core
        with another process slow the GEMMs down several-fold); an integer: that many; None:
        torch's setting. Ignored on a GPU.

    Attributes
    ----------
    weights_ : (n_visible, n_hidden) tensor on ``device``
    visible_bias_ : (n_visible,) tensor
    hidden_bias_ : (n_hidden,) tensor
    epochs_done_ : int
    generator_ : torch.Generator
        Draws everything in training (and nothing else).

    Examples
    --------
    >>> import numpy as np
    >>> X = (np.random.default_rng(0).random((40, 6)) < 0.3).astype(np.float32)
    >>> rbm = RBM(4, n_epochs=3, batch_size=10, seed=0).fit(X)
    >>> tuple(rbm.weights_.shape), rbm.transform(X).shape
    ((6, 4), (40, 4))
    """

    def __init__(
        self,
        n_hidden: int = 256,
        *,
        visible: str = "bernoulli",
        learning_rate: float = 0.1,
        momentum: float = 0.5,
        final_momentum: float = 0.9,
        momentum_epochs: int = 5,
        weight_decay: float = 2e-4,
        batch_size: int = 125,
        cd_k: int = 1,
        persistent: bool = False,
        sample_visible: bool = False,
        sparsity_target: float | None = None,
        sparsity_rule: str = "lab",
        sparsity_cost: float = 1.0,
        init_std: float = 0.1,
        n_epochs: int = 10,
        seed: int | None = None,
        device: Any = "cpu",
        dtype: Any = "float32",
        num_threads: Any = "auto",
    ) -> None:
        self.n_hidden = n_hidden
        self.visible = visible
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.final_momentum = final_momentum
        self.momentum_epochs = momentum_epochs
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.cd_k = cd_k
        self.persistent = persistent
        self.sample_visible = sample_visible
        self.sparsity_target = sparsity_target
        self.sparsity_rule = sparsity_rule
        self.sparsity_cost = sparsity_cost
        self.init_std = init_std
        self.n_epochs = n_epochs
        self.seed = seed
        self.device = device
        self.dtype = dtype
        self.num_threads = num_threads

    # ------------------------------------------------------------------ sklearn plumbing
    _PARAMS = (
        "n_hidden",
        "visible",
        "learning_rate",
        "momentum",
        "final_momentum",
        "momentum_epochs",
        "weight_decay",
        "batch_size",
        "cd_k",
        "persistent",
        "sample_visible",
        "sparsity_target",
        "sparsity_rule",
        "sparsity_cost",
        "init_std",
        "n_epochs",
        "seed",
        "device",
        "dtype",
        "num_threads",
    )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyper-parameters, as given."""
        return {k: getattr(self, k) for k in self._PARAMS}

    def set_params(self, **params: Any) -> RBM:
        for k, v in params.items():
            if k not in self._PARAMS:
                raise InputError(f"invalid parameter {k!r} for RBM; valid: {self._PARAMS}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        return f"RBM(n_hidden={self.n_hidden}, visible={self.visible!r}, cd_k={self.cd_k}, persistent={self.persistent})"

    def _validate(self) -> None:
        check_rbm_settings(
            {
                k: getattr(self, k)
                for k in self._PARAMS
                if k not in ("device", "dtype", "num_threads")
            }
        )
        from netsci_dl._array import check_threads, resolve_device

        if self.num_threads != "auto":
            check_threads(self.num_threads)

        self._device = resolve_device(self.device)
        self._dtype = resolve_dtype(self.dtype)

    # ------------------------------------------------------------------ state
    def _check_fitted(self) -> None:
        if not hasattr(self, "weights_"):
            raise InputError("this RBM is not fitted yet: call fit or partial_fit first")

    def _initialize(self, n_visible: int) -> None:
        """Draw the initial parameters (the epoch-0 state) and reset the training state."""
        import torch

        self._validate()
        dev, dt = self._device, self._dtype
        g = torch.Generator(device=dev)
        if self.seed is None:
            self.seed_ = int(
                g.seed()
            )  # a fresh seed for this generator; the global RNG is untouched
        else:
            self.seed_ = int(self.seed)
            g.manual_seed(self.seed_)
        self.generator_ = g
        self._sampler = None
        W = torch.empty(n_visible, self.n_hidden, dtype=dt, device=dev).normal_(generator=g)
        self.weights_ = W.mul_(self.init_std)
        self.visible_bias_ = torch.zeros(n_visible, dtype=dt, device=dev)
        self.hidden_bias_ = torch.zeros(self.n_hidden, dtype=dt, device=dev)
        self.velocity_ = tuple(torch.zeros_like(p) for p in self._params())
        self.chain_ = None
        self.epochs_done_ = 0
        self.n_features_in_ = n_visible
        self._ws = None

    def _params(self) -> tuple[Any, Any, Any]:
        return self.weights_, self.visible_bias_, self.hidden_bias_

    def train_state(self) -> dict[str, Any]:
        """The state a resumed run needs besides the parameters: CPU copies, and the epoch count.

        Keys: ``velocity.weights`` / ``velocity.visible_bias`` / ``velocity.hidden_bias``,
        ``generator`` (``generator_.get_state()``, specific to the generator's device type),
        ``epochs_done`` ``(1,)`` int64, and ``chain`` for persistent CD once it exists.
        """
        import torch

        self._check_fitted()
        state = {
            "velocity.weights": self.velocity_[0],
            "velocity.visible_bias": self.velocity_[1],
            "velocity.hidden_bias": self.velocity_[2],
            "generator": self.generator_.get_state(),
            "epochs_done": torch.tensor([self.epochs_done_], dtype=torch.int64),
        }
        if self.chain_ is not None:
            state["chain"] = self.chain_
        return {k: v.detach().cpu().clone().contiguous() for k, v in state.items()}

    def load_train_state(self, state: dict[str, Any], *, where: str = "training state") -> None:
        """Restore :meth:`train_state` (parameters are set separately), after checking it.

        Without a ``"generator"`` entry the generator is left as it is (the caller reseeds it, e.g.
        when the state comes from another device type). Raises
        :class:`~netsci_dl.errors.InputError` (prefixed with ``where``) for a missing entry, a
        wrong shape or dtype, a non-finite value, a chain that is not 0/1, or a generator state
        that does not fit this RBM's generator.
        """
        import torch

        self._check_fitted()
        dev = self.weights_.device
        vel = []
        for name, like in zip(("weights", "visible_bias", "hidden_bias"), self._params()):
            vel.append(
                _checked(state, f"velocity.{name}", tuple(like.shape), where).to(dev, like.dtype)
            )
        ep = state.get("epochs_done")
        if (
            not isinstance(ep, torch.Tensor)
            or ep.shape != (1,)
            or ep.dtype != torch.int64
            or int(ep[0]) < 0
        ):
            raise InputError(f"{where}: 'epochs_done' is missing or not a non-negative int64 count")
        chain = None
        if "chain" in state:
            c = _checked(state, "chain", (int(self.batch_size), int(self.n_hidden)), where)
            if not bool(((c == 0) | (c == 1)).all()):
                raise InputError(f"{where}: 'chain' holds values other than 0 and 1")
            chain = c.to(dev, self.weights_.dtype)
        if "generator" in state:
            g = state["generator"]
            if not isinstance(g, torch.Tensor) or g.dtype != torch.uint8 or g.ndim != 1:
                raise InputError(f"{where}: 'generator' is not a generator state (uint8 vector)")
            try:
                self.generator_.set_state(g.cpu())
            except RuntimeError:
                raise InputError(
                    f"{where}: the generator state ({g.numel()} bytes) does not fit a "
                    f"{dev.type} generator (a state from another device, or corrupt)"
                ) from None
        self.velocity_ = tuple(vel)
        self.epochs_done_ = int(ep[0])
        self.chain_ = chain

    def set_parameters(self, weights: Any, visible_bias: Any, hidden_bias: Any) -> None:
        """Copy given parameters (tensors or arrays, finite, of the fitted shapes) into the RBM."""
        import torch

        self._check_fitted()
        srcs = []
        for name, dst, src in zip(
            ("weights", "visible_bias", "hidden_bias"),
            self._params(),
            (weights, visible_bias, hidden_bias),
        ):
            src = torch.as_tensor(np.asarray(src) if not isinstance(src, torch.Tensor) else src)
            if tuple(src.shape) != tuple(dst.shape):
                raise InputError(
                    f"{name} has shape {tuple(src.shape)}; expected {tuple(dst.shape)}"
                )
            if not (src.dtype.is_floating_point or src.dtype in (torch.int32, torch.int64)):
                raise InputError(f"{name} has dtype {src.dtype}; expected a floating dtype")
            if not bool(torch.isfinite(src).all()):
                raise InputError(f"{name} contains NaN or Inf")
            srcs.append(src)
        for dst, src in zip(self._params(), srcs):
            dst.copy_(src)

    # ------------------------------------------------------------------ input
    def _as_tensor(self, X: Any, *, name: str = "X", training: bool = False) -> Any:
        """``X`` as a 2-D finite tensor on the RBM's device and dtype (a copy for array input).

        ``training``: Bernoulli visible units also need values in [0, 1] (probabilities).
        """
        import torch

        dev = self.weights_.device if hasattr(self, "weights_") else self._device
        dt = self.weights_.dtype if hasattr(self, "weights_") else self._dtype
        if isinstance(X, torch.Tensor):
            t = X
        else:
            a = np.asarray(X)
            if a.dtype.kind not in "biuf":
                raise InputError(f"{name} has dtype {a.dtype}; expected numbers")
            t = torch.from_numpy(a)
        if t.ndim != 2:
            raise InputError(f"{name} has shape {tuple(t.shape)}; expected (n_samples, n_visible)")
        if hasattr(self, "n_features_in_") and t.shape[1] != self.n_features_in_:
            raise InputError(
                f"{name} has {t.shape[1]} features; the RBM has {self.n_features_in_} visible units"
            )
        t = t.to(device=dev, dtype=dt)
        if not bool(torch.isfinite(t).all()):
            raise InputError(f"{name} contains NaN or Inf")
        if training and self.visible == "bernoulli" and t.numel():
            lo, hi = float(t.min()), float(t.max())
            if lo < 0 or hi > 1:
                raise InputError(
                    f"{name} holds values in [{lo:g}, {hi:g}]; Bernoulli visible units need "
                    "probabilities in [0, 1] (scale the data, or use visible='gaussian')"
                )
        return t

    @staticmethod
    def _out(t: Any, like: Any) -> Any:
        import torch

        return t if isinstance(like, torch.Tensor) else t.detach().cpu().numpy()

    # ------------------------------------------------------------------ training
    def current_momentum(self) -> float:
        return float(
            self.momentum if self.epochs_done_ < self.momentum_epochs else self.final_momentum
        )

    def _threads(self) -> int | None:
        """The torch thread count for this epoch (None: leave torch's setting)."""
        from netsci_dl._array import check_threads, free_threads

        if self.weights_.device.type != "cpu":
            return None
        if self.num_threads == "auto":
            return free_threads()
        return check_threads(self.num_threads)

    def _pass(self, X: Any, order: Any) -> float:
        """One pass over the rows ``order`` of tensor ``X``; returns the mean squared reconstruction error."""
        from netsci_dl._array import torch_threads

        with torch_threads(self._threads()):
            return self._pass_in(X, order)

    def _pass_in(self, X: Any, order: Any) -> float:
        import torch

        n = int(order.shape[0])
        B = int(self.batch_size)
        nv, nh = self.weights_.shape
        rows = B if self.persistent else max(min(B, n), 1)  # PCD keeps batch_size chains
        ws = self._ws
        if ws is None or ws.v.shape[0] != rows:
            ws = self._ws = Workspace(
                nv, nh, rows, dtype=self.weights_.dtype, device=self.weights_.device
            )
        if self.persistent and self.chain_ is None:
            self.chain_ = torch.zeros(B, nh, dtype=self.weights_.dtype, device=self.weights_.device)
        ws.err.zero_()
        sparsity = (
            None
            if self.sparsity_target is None
            else (float(self.sparsity_target), float(self.sparsity_cost), str(self.sparsity_rule))
        )
        mu = self.current_momentum()
        for start in range(0, n, B):
            idx = order[start : start + B]
            b = int(idx.shape[0])
            torch.index_select(X, 0, idx, out=ws.v[:b])
            ws.step(
                b,
                self._params(),
                self.velocity_,
                lr=float(self.learning_rate),
                momentum=mu,
                weight_decay=float(self.weight_decay),
                k=int(self.cd_k),
                chain=self.chain_ if self.persistent else None,
                sample_visible=bool(self.sample_visible),
                visible=self.visible,
                sparsity=sparsity,
                generator=self.generator_,
            )
        err = float(ws.err) / max(n * nv, 1)
        if not math.isfinite(err) or not all(bool(torch.isfinite(p).all()) for p in self._params()):
            raise InputError(
                f"training diverged in epoch {self.epochs_done_ + 1} (reconstruction error {err}, "
                f"non-finite parameters): lower the learning rate (learning_rate={self.learning_rate})"
            )
        return err

    def fit_epoch(self, X: Any) -> float:
        """One epoch on ``X`` (a tensor already on the device) in a random order.

        Returns the epoch's reconstruction error: the mean over the epoch's mini-batches and the
        visible units of ``(v - r)^2``, where ``r = E[v | h]`` is the visible mean given the hidden
        sample ``h ~ p(h | v)`` drawn from the data in the positive phase (computed with the
        parameters before the batch's update). The same definition for CD-1, CD-k and PCD; for
        CD-1 ``r`` is the negative phase's reconstruction. Raises InputError when training
        diverges (a non-finite error or parameter).
        """
        import torch

        order = torch.randperm(X.shape[0], generator=self.generator_, device=self.generator_.device)
        if order.device != X.device:
            order = order.to(X.device)
        err = self._pass(X, order)
        self.epochs_done_ += 1
        return err

    def fit(self, X: Any, y: Any = None) -> RBM:
        """Initialise and train for ``n_epochs`` epochs on the rows of ``X`` (values in [0, 1])."""
        if np.ndim(X) != 2:
            raise InputError(f"X has shape {np.shape(X)}; expected (n_samples, n_visible)")
        self._initialize(int(np.shape(X)[1]))
        Xt = self._as_tensor(X, training=True)
        for _ in range(int(self.n_epochs)):
            self.fit_epoch(Xt)
        return self

    def partial_fit(self, X: Any, y: Any = None) -> RBM:
        """One pass of mini-batch updates over ``X`` in the given order (initialises when unfitted)."""
        import torch

        if not hasattr(self, "weights_"):
            if np.ndim(X) != 2:
                raise InputError(f"X has shape {np.shape(X)}; expected (n_samples, n_visible)")
            self._initialize(int(np.shape(X)[1]))
        Xt = self._as_tensor(X, training=True)
        self._pass(Xt, torch.arange(Xt.shape[0], device=Xt.device))
        return self
