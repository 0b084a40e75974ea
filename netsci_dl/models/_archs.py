"""Classifier architectures: an MLP, a LeNet-like CNN and a reduced All-CNN, from one config.

Every model is an ``nn.Sequential`` of named modules (``fc1``, ``conv1``, ...) that takes rows
``(n, n_features)`` (flattened images, the :class:`~netsci_dl.datasets.Dataset` layout) or images
``(n, C, H, W)`` and returns logits ``(n, n_classes)``. The module names are the layer names of
the per-layer analyses (Fisher information, curvature) and of the exported graph.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any

from netsci_dl.errors import InputError

__all__ = ["ArchConfig", "ARCHS", "build_classifier_model"]

ARCHS = ("mlp", "lenet", "allcnn")
_ACTIVATIONS = ("relu", "tanh", "sigmoid")
_DEFAULT_HIDDEN = {"mlp": (128,), "lenet": (120, 84), "allcnn": ()}
_DEFAULT_CHANNELS = {"mlp": (), "lenet": (6, 16), "allcnn": (32, 64)}


@dataclass(frozen=True)
class ArchConfig:
    """The architecture of a classifier.

    Parameters
    ----------
    kind : {"mlp", "lenet", "allcnn"}
        - ``mlp``: ``fc1 .. fc{k}`` Linear layers with ``activation`` between them.
        - ``lenet``: ``conv1`` (6 channels) -> pool -> ``conv2`` (16) -> pool -> ``fc1`` (120)
          -> ``fc2`` (84) -> ``fc3``; 5x5 kernels for images of side >= 16 (LeNet-5 on 28x28:
          400 flattened features), else 3x3 with padding 1 (8x8 digits: 16 x 2 x 2 = 64).
        - ``allcnn``: a reduced All-CNN-C (Springenberg et al. 2015): three 3x3 convolutions
          of ``channels[0]`` (the third with stride 2), three of ``channels[1]`` (the third with
          stride 2), a 1x1 convolution of ``channels[1]``, a 1x1 convolution to the classes and
          a global average pool: ``conv1 .. conv8``. The original uses (96, 192).
    input_shape : tuple of int
        ``(C, H, W)``, ``(H, W)`` (one channel) or, for an MLP only, ``(n_features,)``.
    n_classes : int
    hidden : tuple of int, optional
        Hidden Linear sizes (``mlp``: default (128,); ``lenet``: default (120, 84); unused by
        ``allcnn``).
    channels : tuple of int, optional
        Convolution channels (``lenet``: default (6, 16); ``allcnn``: default (32, 64)).
    activation : {"relu", "tanh", "sigmoid"}
    module : str, optional
        With ``kind="module"``: a user's class, ``"pkg.module:Class"``, built with
        ``module_kwargs`` under the seed; its inputs are reshaped to ``input_shape`` (rows of
        the data set in, images out) and its named modules are the layers.
    module_kwargs : dict, optional

    Examples
    --------
    >>> a = ArchConfig("lenet", (8, 8), 10)
    >>> a.input_shape, a.hidden, a.channels, a.n_features
    ((1, 8, 8), (120, 84), (6, 16), 64)
    """

    kind: str
    input_shape: tuple[int, ...]
    n_classes: int
    hidden: tuple[int, ...] | None = None
    channels: tuple[int, ...] | None = None
    activation: str = "relu"
    module: str | None = None
    module_kwargs: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.kind == "module" or self.module is not None:
            self._check_module()
            return
        if self.kind not in ARCHS:
            raise InputError(f"arch {self.kind!r}: expected one of {', '.join(ARCHS)}")
        if self.activation not in _ACTIVATIONS:
            raise InputError(
                f"activation {self.activation!r}: expected one of {', '.join(_ACTIVATIONS)}"
            )
        shape = tuple(int(s) for s in self.input_shape)
        if len(shape) == 2:
            shape = (1, *shape)
        if not shape or min(shape) < 1 or len(shape) not in (1, 3):
            raise InputError(
                f"input_shape {self.input_shape!r}: expected (C, H, W), (H, W) or (n_features,)"
            )
        if len(shape) == 1 and self.kind != "mlp":
            raise InputError(f"arch {self.kind!r} needs an image input_shape (C, H, W) or (H, W)")
        object.__setattr__(self, "input_shape", shape)
        if int(self.n_classes) < 2:
            raise InputError(f"n_classes={self.n_classes}: need at least 2 classes")
        object.__setattr__(self, "n_classes", int(self.n_classes))
        for name, default in (("hidden", _DEFAULT_HIDDEN), ("channels", _DEFAULT_CHANNELS)):
            v = getattr(self, name)
            v = default[self.kind] if v is None else tuple(int(s) for s in v)
            if any(s < 1 for s in v):
                raise InputError(f"{name}={v!r}: sizes must be positive")
            object.__setattr__(self, name, v)
        if self.kind != "mlp" and len(self.channels) != 2:
            raise InputError(f"arch {self.kind!r}: channels must hold 2 sizes, got {self.channels}")
        if self.kind == "lenet" and len(self.hidden) < 1:
            raise InputError("arch 'lenet': hidden needs at least one fully connected size")

    def _check_module(self) -> None:
        if self.kind != "module" or not self.module:
            raise InputError("a user's class needs kind='module' and module='pkg.module:Class'")
        shape = tuple(int(s) for s in self.input_shape)
        shape = (1, *shape) if len(shape) == 2 else shape
        if not shape or min(shape) < 1:
            raise InputError(f"input_shape {self.input_shape!r}: sizes must be positive")
        object.__setattr__(self, "input_shape", shape)
        object.__setattr__(self, "n_classes", int(self.n_classes))
        object.__setattr__(self, "hidden", ())
        object.__setattr__(self, "channels", ())
        object.__setattr__(self, "module_kwargs", dict(self.module_kwargs or {}))

    @property
    def n_features(self) -> int:
        """Input features per example (``C * H * W``)."""
        return math.prod(self.input_shape)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("input_shape", "hidden", "channels"):
            d[k] = list(d[k])
        return d

    def __repr__(self) -> str:
        from netsci_dl._results import changed_only

        return changed_only(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ArchConfig:
        names = {"kind", "input_shape", "n_classes", "hidden", "channels", "activation"}
        names |= {"module", "module_kwargs"}
        bad = set(d) - names
        if bad:
            raise InputError(f"unknown ArchConfig fields {sorted(bad)}; allowed: {sorted(names)}")
        return cls(**d)


def _module_classes(torch: Any) -> tuple[type, type]:
    nn = torch.nn

    class ToImage(nn.Module):
        """Reshape rows ``(n, C*H*W)`` (or images) to ``(n, C, H, W)``."""

        def __init__(self, shape: tuple[int, ...]) -> None:
            super().__init__()
            self.shape = tuple(shape)

        def forward(self, x: Any) -> Any:
            return x.reshape(x.shape[0], *self.shape)

        def extra_repr(self) -> str:
            return f"shape={self.shape}"

    class GlobalAvgPool(nn.Module):
        """Mean over the spatial dimensions: ``(n, C, H, W) -> (n, C)``."""

        def forward(self, x: Any) -> Any:
            return x.mean(dim=(-2, -1))

    return ToImage, GlobalAvgPool


def _act(torch: Any, name: str) -> Any:
    return {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}[name]()


def _to_shape(shape: tuple[int, ...], module: Any, args: tuple) -> tuple:
    """Forward pre-hook of a user's class: rows ``(n, C*H*W)`` -> ``(n, *shape)``."""
    x = args[0]
    return (x.reshape(x.shape[0], *shape), *args[1:])


def _build_module(a: ArchConfig) -> Any:
    """A user's class (``a.module``) whose inputs are reshaped to ``a.input_shape``."""
    import functools

    from netsci_dl.export.module import build_model

    net = build_model(str(a.module), a.module_kwargs)
    net.register_forward_pre_hook(functools.partial(_to_shape, tuple(a.input_shape)))
    return net


def _build(torch: Any, a: ArchConfig) -> Any:
    nn = torch.nn
    if a.kind == "module":
        return _build_module(a)
    ToImage, GlobalAvgPool = _module_classes(torch)
    mods: list[tuple[str, Any]] = []
    if a.kind == "mlp":
        sizes = (a.n_features, *a.hidden, a.n_classes)
        mods.append(("flatten", nn.Flatten()))
        for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            mods.append((f"fc{i}", nn.Linear(m, n)))
            if i < len(sizes) - 1:
                mods.append((f"act{i}", _act(torch, a.activation)))
        return nn.Sequential(OrderedDict(mods))
    c, h, w = a.input_shape
    mods.append(("image", ToImage(a.input_shape)))
    if a.kind == "lenet":
        big = min(h, w) >= 16
        k1, p1, k2, p2 = (5, 2, 5, 0) if big else (3, 1, 3, 1)
        c1, c2 = a.channels
        mods += [
            ("conv1", nn.Conv2d(c, c1, k1, padding=p1)),
            ("act1", _act(torch, a.activation)),
            ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(c1, c2, k2, padding=p2)),
            ("act2", _act(torch, a.activation)),
            ("pool2", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()),
        ]
        with torch.no_grad():
            n_flat = nn.Sequential(OrderedDict(mods))(torch.zeros(1, c, h, w)).shape[1]
        if n_flat < 1:
            raise InputError(f"input_shape {a.input_shape} is too small for the LeNet")
        sizes = (int(n_flat), *a.hidden, a.n_classes)
        for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            mods.append((f"fc{i}", nn.Linear(m, n)))
            if i < len(sizes) - 1:
                mods.append((f"act{i + 2}", _act(torch, a.activation)))
        return nn.Sequential(OrderedDict(mods))
    c1, c2 = a.channels
    spec = [  # (in, out, kernel, stride, padding)
        (c, c1, 3, 1, 1),
        (c1, c1, 3, 1, 1),
        (c1, c1, 3, 2, 1),
        (c1, c2, 3, 1, 1),
        (c2, c2, 3, 1, 1),
        (c2, c2, 3, 2, 1),
        (c2, c2, 1, 1, 0),
        (c2, a.n_classes, 1, 1, 0),
    ]
    for i, (m, n, k, s, p) in enumerate(spec, start=1):
        mods.append((f"conv{i}", nn.Conv2d(m, n, k, stride=s, padding=p)))
        if i < len(spec):
            mods.append((f"act{i}", _act(torch, a.activation)))
    mods.append(("pool", GlobalAvgPool()))
    return nn.Sequential(OrderedDict(mods))


def build_classifier_model(
    arch: ArchConfig, *, seed: int = 0, device: Any = None, dtype: str = "float32"
) -> Any:
    """The ``nn.Sequential`` of ``arch``, initialised reproducibly from ``seed``.

    torch's default initialisation of each layer, drawn on the CPU under ``seed`` (the global RNG
    state is restored afterwards), then moved to ``device`` and ``dtype``: the same seed gives
    the same weights on every device. The model carries its config as ``model.arch_config``.

    Examples
    --------
    >>> net = build_classifier_model(ArchConfig("mlp", (4,), 3, hidden=(5,)), device="cpu")
    >>> list(net.state_dict())
    ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
    """
    from netsci_dl._array import import_torch, resolve_device

    torch = import_torch()
    dev = resolve_device(device)
    dt = {"float32": torch.float32, "float64": torch.float64}.get(str(dtype))
    if dt is None:
        raise InputError(f"dtype {dtype!r}: expected 'float32' or 'float64'")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        net = _build(torch, arch)
    net = net.to(device=dev, dtype=dt)
    net.arch_config = arch
    return net


def layer_widths(arch: ArchConfig) -> list[int]:
    """Input width then the output width of each parameterised layer (channels for convs)."""
    if arch.kind == "module":
        import torch

        net = _build_module(arch)
        outs = [
            int(m.out_features if isinstance(m, torch.nn.Linear) else m.out_channels)
            for m in net.modules()
            if isinstance(m, torch.nn.Linear | torch.nn.Conv2d)
        ]
        return [arch.input_shape[0] if len(arch.input_shape) == 3 else arch.n_features, *outs]
    if arch.kind == "mlp":
        return [arch.n_features, *arch.hidden, arch.n_classes]
    c = arch.input_shape[0]
    if arch.kind == "lenet":
        return [c, *arch.channels, *arch.hidden, arch.n_classes]
    c1, c2 = arch.channels
    return [c, c1, c1, c1, c2, c2, c2, c2, arch.n_classes]
