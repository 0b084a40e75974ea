"""Deep belief network: a greedy layer-wise stack of RBMs (T18's 784-500-500-2000 on MNIST).

Each RBM is trained on the hidden **probabilities** of the RBM below (shared/SCIENCE.md), with
the settings of a :class:`netsci_dl.models.train.TrainConfig` (per-layer overrides allowed). The
sparsity push applies to the top RBM only by default (``sparsity_layers="top"``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.models.config import TrainConfig
from netsci_dl.models.rbm import RBM

__all__ = ["DBN"]


class DBN:
    """A stack of :class:`~netsci_dl.models.rbm.RBM` trained greedily, bottom first.

    Parameters
    ----------
    layers : sequence of int
        Layer sizes including the visible layer, e.g. ``(784, 500, 500, 2000)``.
    epochs : int or sequence of int
        Epochs per RBM (one value for all, or one per RBM). Required: no default.
    image_shape : tuple of int, optional
        Shape of the visible layer as an image; goes into the exported graph's ``meta``.
    **settings
        Any other :class:`~netsci_dl.models.train.TrainConfig` field (``learning_rate``,
        ``batch_size``, ``seed``, ``device``, ``per_layer``, ...).

    Attributes
    ----------
    rbms_ : list of RBM
        After :meth:`initialize` / :meth:`fit`; ``rbms_[i].weights_`` is ``(layers[i], layers[i+1])``.
    history_ : TrainHistory
        After :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> X = (np.random.default_rng(0).random((50, 6)) < 0.3).astype(np.float32)
    >>> dbn = DBN((6, 4, 3), epochs=2, batch_size=10, seed=0).fit(X, progress=False)
    >>> dbn.transform(X).shape, dbn.to_graph().layer_sizes
    ((50, 3), (6, 4, 3))
    """

    def __init__(
        self,
        layers: Sequence[int] | None = None,
        *,
        epochs: int | Sequence[int] | None = None,
        image_shape: Sequence[int] | None = None,
        config: TrainConfig | None = None,
        **settings: Any,
    ) -> None:
        if config is None:
            if layers is None or epochs is None:
                raise TypeError("DBN needs layers= and epochs= (or config=)")
            config = TrainConfig(layers=tuple(int(n) for n in layers), epochs=epochs, **settings)
        elif layers is not None or epochs is not None or settings:
            raise TypeError("give either config= or layers=/epochs=/settings, not both")
        self.config = config
        self.image_shape = tuple(image_shape) if image_shape else None

    def __repr__(self) -> str:
        return f"DBN(layers={self.config.layers}, epochs={self.config.epochs})"

    @property
    def layers(self) -> tuple[int, ...]:
        return self.config.layers

    # ------------------------------------------------------------------ building
    def initialize(self) -> DBN:
        """Create every RBM with its initial (epoch-0) parameters; upper RBMs too."""
        self.rbms_ = []
        for i, (nv, _nh) in enumerate(zip(self.layers, self.layers[1:])):
            rbm = RBM(**self.config.rbm_params(i))
            rbm._initialize(nv)
            self.rbms_.append(rbm)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "rbms_"):
            raise InputError(
                "this DBN has no parameters yet: call fit, initialize or DBN.load first"
            )

    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        run_dir: str | Path | None = None,
        resume: bool = False,
        callback: Any = None,
        progress: bool = True,
    ) -> DBN:
        """Train greedily (see :func:`netsci_dl.models.train.fit_dbn`); snapshots only with ``run_dir``."""
        from netsci_dl.models.train import fit_dbn

        self.history_ = fit_dbn(
            self, X, run_dir=run_dir, resume=resume, callback=callback, progress=progress
        )
        return self

    # ------------------------------------------------------------------ inference
    def transform(self, X: Any, *, layer: int = -1) -> Any:
        """Hidden probabilities of layer ``layer`` (1..n_rbms; -1 = top), propagated bottom-up."""
        self._check_fitted()
        n = len(self.rbms_)
        stop = n if layer == -1 else layer
        if not 0 <= stop <= n:
            raise InputError(f"layer={layer}: expected -1 or 0..{n}")
        out = X
        for rbm in self.rbms_[:stop]:
            out = rbm.transform(out)
        return out

    def _down(self, h: Any, start: int) -> Any:
        """Top-down pass with probabilities from the hidden layer of RBM ``start`` to the visible layer."""
        import torch

        for rbm in reversed(self.rbms_[: start + 1]):
            pre = torch.addmm(rbm.visible_bias_, h, rbm.weights_.T)
            h = torch.sigmoid(pre) if rbm.visible == "bernoulli" else pre
        return h

    def reconstruct(self, X: Any) -> Any:
        """Bottom-up then top-down with probabilities: ``(n, n_visible)``."""
        import torch

        self._check_fitted()
        top = self.transform(self.rbms_[0]._as_tensor(X))
        out = self._down(top, len(self.rbms_) - 1)
        return out if isinstance(X, torch.Tensor) else out.cpu().numpy()

    def generate(
        self, n_samples: int, *, n_gibbs: int = 200, seed: int | None = None, start: Any = None
    ) -> np.ndarray:
        """Sample the top RBM by Gibbs sampling, then propagate top-down with probabilities.

        Parameters
        ----------
        n_samples : int
        n_gibbs : int
            Alternating Gibbs steps in the top RBM.
        seed : int, optional
        start : (n_samples, n_visible_top) array, optional
            Initial visible state of the top RBM (default: Bernoulli(0.5)).

        Returns
        -------
        (n_samples, n_visible) ndarray of visible means
        """
        import torch

        from netsci_dl.models.rbm import sample_h_given_v, sample_v_given_h

        self._check_fitted()
        top = self.rbms_[-1]
        g = torch.Generator(device=top.weights_.device)
        g.manual_seed(0 if seed is None else int(seed))
        nv = top.weights_.shape[0]
        if start is None:
            v = torch.full(
                (n_samples, nv), 0.5, dtype=top.weights_.dtype, device=top.weights_.device
            )
            v = torch.bernoulli(v, generator=g)
        else:
            v = top._as_tensor(start, name="start")
        h = None
        for _ in range(max(int(n_gibbs), 1)):
            _, h = sample_h_given_v(v, top.weights_, top.hidden_bias_, generator=g)
            vm, v = sample_v_given_h(
                h, top.weights_, top.visible_bias_, visible=top.visible, generator=g
            )
        out = vm if len(self.rbms_) == 1 else self._down(vm, len(self.rbms_) - 2)
        return out.cpu().numpy()

    # ------------------------------------------------------------------ export
    def to_graph(self) -> Any:
        """The :class:`~netsci_dl.graph.LayeredGraph` of the stack (a copy of the parameters).

        Training further does not change a graph already exported.
        """
        from netsci_dl.export.rbm import from_rbm_model

        self._check_fitted()
        return from_rbm_model(self)

    def state_dict(self) -> dict[str, Any]:
        """``rbm.{i}.weights`` ``(n_visible, n_hidden)``, ``rbm.{i}.visible_bias``, ``rbm.{i}.hidden_bias``.

        CPU copies: training further does not change them.
        """
        from netsci_dl.export.rbm import rbm_state_dict

        self._check_fitted()
        cpu = [[t.detach().cpu().clone().contiguous() for t in r._params()] for r in self.rbms_]
        return rbm_state_dict(*zip(*cpu))

    def metadata(self, **extra: Any) -> dict[str, Any]:
        """The JSON stored under ``"netsci_dl"`` in saved files."""
        meta = {
            "model_kind": "dbn",
            "layers": list(self.layers),
            "image_shape": list(self.image_shape) if self.image_shape else None,
            "trainer": "netsci_dl.models (CD)",
            "config": self.config.to_dict(),
        }
        meta.update(extra)
        return meta

    def save(self, path: str | Path, *, force: bool = False, **extra_meta: Any) -> Path:
        """Write a ``.safetensors`` file that :func:`netsci_dl.load` and :meth:`DBN.load` read."""
        from safetensors.torch import save_file

        from netsci_dl._files.atomic import atomic_path, check_writable

        p = check_writable(path, force=force)
        sd = self.state_dict()
        with atomic_path(p) as tmp:
            save_file(sd, str(tmp), metadata={"netsci_dl": json.dumps(self.metadata(**extra_meta))})
        return p

    @classmethod
    def load(cls, path: str | Path, *, device: Any = "cpu") -> DBN:
        """A DBN from a file written by :meth:`save` (or any ``rbm.{i}.*`` safetensors checkpoint).

        Raises :class:`~netsci_dl.errors.InputError` for an unreadable or truncated file, missing
        or misshapen tensors, NaN/Inf parameters, or metadata that does not match the weights.
        """
        from netsci_dl._array import resolve_device
        from netsci_dl.export.rbm import RBM_KEY
        from netsci_dl.models._checks import read_safetensors

        dev = resolve_device(device)
        tensors, header = read_safetensors(path, what="DBN file")
        meta = _json_meta(header.get("netsci_dl"), f"{path}")
        idx = sorted(int(m.group(1)) for k in tensors if (m := RBM_KEY.match(k)))
        if not idx:
            raise InputError(f"{path}: no rbm.{{i}}.weights tensors found")
        if idx != list(range(len(idx))):
            raise InputError(f"{path}: RBM indices {idx} are not 0..{len(idx) - 1}")
        ws = [tensors[f"rbm.{i}.weights"] for i in idx]
        for i, w in enumerate(ws):
            if w.ndim != 2 or not w.dtype.is_floating_point:
                raise InputError(
                    f"{path}: rbm.{i}.weights is {w.dtype} {tuple(w.shape)}; expected 2-D float"
                )
            if i and w.shape[0] != ws[i - 1].shape[1]:
                raise InputError(
                    f"{path}: rbm.{i}.weights has {w.shape[0]} visible units; RBM {i - 1} has "
                    f"{ws[i - 1].shape[1]} hidden units"
                )
        layers = [int(ws[0].shape[0])] + [int(w.shape[1]) for w in ws]
        dtype = str(ws[0].dtype).replace("torch.", "")
        cfg = meta.get("config")
        try:
            if cfg:
                config = TrainConfig.from_dict(dict(cfg, device=str(dev), dtype=dtype))
            else:
                config = TrainConfig(layers=tuple(layers), epochs=0, device=str(dev), dtype=dtype)
        except (TypeError, AttributeError) as e:
            raise InputError(f"{path}: its training configuration is not valid ({e})") from None
        except InputError as e:
            raise InputError(f"{path}: its training configuration is not valid ({e})") from None
        if tuple(config.layers) != tuple(layers):
            raise InputError(
                f"{path}: weights give layers {layers}, metadata says {list(config.layers)}"
            )
        shape = meta.get("image_shape")
        if shape is not None and not (
            isinstance(shape, list) and all(isinstance(v, int) and v > 0 for v in shape)
        ):
            raise InputError(
                f"{path}: image_shape {shape!r} in its metadata is not a list of sizes"
            )
        dbn = cls(config=config, image_shape=shape)
        dbn.initialize()
        for i, r in enumerate(dbn.rbms_):
            zeros = np.zeros
            vb = tensors.get(f"rbm.{i}.visible_bias", zeros(layers[i]))
            hb = tensors.get(f"rbm.{i}.hidden_bias", zeros(layers[i + 1]))
            try:
                r.set_parameters(ws[i], vb, hb)
            except InputError as e:
                raise InputError(f"{path}: RBM {i}: {e}") from None
        return dbn


def _json_meta(text: str | None, where: str) -> dict[str, Any]:
    """The ``netsci_dl`` JSON metadata of a file (``{}`` when absent), or an InputError."""
    if text is None:
        return {}
    try:
        meta = json.loads(text)
    except ValueError:
        raise InputError(f"{where}: its netsci_dl metadata is not valid JSON") from None
    if not isinstance(meta, dict):
        raise InputError(f"{where}: its netsci_dl metadata is not a JSON object")
    return meta
