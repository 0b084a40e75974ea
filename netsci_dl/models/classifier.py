"""Image classifiers (MLP, LeNet-like, reduced All-CNN) trained with SGD or Adam, with snapshots.

The trainer behind the critical-period experiment (Achille, Rovere & Soatto, ICLR 2019):
:class:`ClassifierConfig` fixes a run (architecture, optimiser, schedule, weight decay, batch
size, seed, device, an optional :class:`~netsci_dl.models.deficits.Deficit`),
:func:`train_classifier` trains it and writes a run folder in the format of
:mod:`netsci_dl.models.train` (read it with :mod:`netsci_dl.runs.format`)::

    config.json        {"config": ClassifierConfig.to_dict(), "data", "image_shape", "model_kind"}
    model.safetensors  the final state dict
    history.json       {"records": [one record per epoch, epoch 0 included]}
    snapshots/step{E:05d}_layer0_epoch{E:04d}.safetensors   (+ .json sidecar, + .state.safetensors)

Snapshots (epoch 0, every ``snapshot_every`` epochs, the last epoch) hold the model's state dict
(torch layout; ``conv1.weight``, ``fc1.bias``, ...) with header metadata ``{"netsci_dl": json}``:
``model_kind="classifier"``, ``arch`` (:meth:`ArchConfig.to_dict`), ``config``, ``layer=0``,
``epoch``, ``step`` (= epoch), ``image_shape``, ``data``. :func:`load_classifier` rebuilds the
model from one; ``netsci_dl.load(path)`` exports its graph. The JSON sidecar has the keys of the
existing format (``format``, ``file``, ``layer``, ``epoch``, ``step``, ``layers`` = the input
width then each layer's output width (channels for convolutions), ``epochs``, ``recon_error``
= null, ``elapsed_s``, ``image_shape``) plus ``model_kind``, ``train_loss``, ``train_accuracy``,
``test_loss``, ``test_accuracy`` (clean data, eval mode, after the epoch; test values null
without test data; the names of :mod:`netsci_dl.runs.format`), ``batch_loss`` (mean minibatch loss the optimiser saw, deficit included), ``lr`` and ``deficit``
(its window and whether it was active during the epoch / has been removed). The
``.state.safetensors`` beside it holds the optimiser state and the data-order generator, so
``resume=True`` continues exactly as an uninterrupted run.
"""

from __future__ import annotations

from typing import Any

from netsci_dl.models._archs import ARCHS, ArchConfig, build_classifier_model, layer_widths
from netsci_dl.models._classifier_config import OPTIMIZERS, SCHEDULES, ClassifierConfig
from netsci_dl.models._classifier_io import load_classifier, read_classifier_meta, save_classifier
from netsci_dl.models._classifier_train import train_classifier
from netsci_dl.models.deficits import Deficit

__all__ = [
    "ARCHS",
    "OPTIMIZERS",
    "SCHEDULES",
    "ArchConfig",
    "ClassifierConfig",
    "Deficit",
    "build_classifier",
    "train_classifier",
    "load_classifier",
    "save_classifier",
    "read_classifier_meta",
    "layer_widths",
]


def build_classifier(
    arch: ArchConfig, *, seed: int = 0, device: Any = None, dtype: str = "float32"
) -> Any:
    """The model of ``arch`` (see :func:`netsci_dl.models._archs.build_classifier_model`).

    Examples
    --------
    >>> net = build_classifier(ArchConfig("lenet", (8, 8), 10), device="cpu")
    >>> [n for n, _ in net.named_children() if n.startswith(("conv", "fc"))]
    ['conv1', 'conv2', 'fc1', 'fc2', 'fc3']
    >>> import torch
    >>> tuple(net(torch.zeros(2, 64)).shape)
    (2, 10)
    """
    return build_classifier_model(arch, seed=seed, device=device, dtype=dtype)
