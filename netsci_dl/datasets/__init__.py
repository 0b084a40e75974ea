"""Data sets from one spec string: :func:`load`.

Nothing is downloaded. Sources (``SPEC``, also the CLI's ``--data``):

============================  ==============================================================
``digits``                    scikit-learn's 8x8 digits (shipped with scikit-learn)
``mnist:PATH``                MNIST IDX files (raw or ``.gz``, a folder or the images file) or
                              keras' ``mnist.npz``; ``mnist-test:PATH`` the test split
``npz:PATH``                  arrays ``X`` (any shape ``(n, ...)``) and optional ``y``
``pt:PATH``                   tensors (``X``, ``(X, y)`` or a dict), ``weights_only=True``
``folder:PATH``               one sub-folder of PNG/JPEG images per class (sorted); RGB kept
``cifar10:PATH``              CIFAR-10's binary version (``data_batch_*.bin``;
                              ``cifar10-test:PATH`` reads ``test_batch.bin``)
``tokens:PATH``               an npz of ``input_ids`` (optional ``attention_mask``, ``y``)
============================  ==============================================================

The scaling rule, the same for every source and stated in :meth:`Dataset.describe`: ``uint8``
values are divided by 255; other integers and all floats are kept as given (float32; a float
set whose maximum is 2.0 stays so); digits' grey levels 0..16 are divided by 16; token ids stay
integers. Then, on request and in this order: ``limit`` (the first N examples), ``resize``
(bilinear, images), ``normalize`` (``(x - mean) / std`` per channel, the channel axis being
axis 1 of ``(n, C, H, W)``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from netsci_dl.datasets._core import PROBE_SIZE, Dataset, as_arrays, finish
from netsci_dl.datasets._mnist import load_digits, load_mnist, read_idx
from netsci_dl.datasets._sources import (
    load_cifar10,
    load_folder,
    load_npz,
    load_pt,
    load_tokens,
)
from netsci_dl.datasets._spec import (
    join_spec,
    parse_limit,
    parse_normalize,
    parse_resize,
    split_spec,
)
from netsci_dl.errors import InputError

__all__ = [
    "Dataset",
    "PROBE_SIZE",
    "SOURCES",
    "as_arrays",
    "load",
    "load_cifar10",
    "load_dataset",
    "load_digits",
    "load_folder",
    "load_mnist",
    "load_npz",
    "load_pt",
    "load_tokens",
    "read_idx",
    "join_spec",
    "split_spec",
    "parse_normalize",
    "parse_resize",
    "parse_limit",
]

#: the kinds of spec :func:`load` reads (``digits`` alone; the others as ``KIND:PATH``)
SOURCES = (
    "digits",
    "mnist",
    "mnist-test",
    "npz",
    "pt",
    "folder",
    "cifar10",
    "cifar10-test",
    "tokens",
)


def _read(kind: str, path: str, resize: Any) -> Dataset:
    if kind in ("mnist", "mnist-train", "mnist-test"):
        return load_mnist(path, split="test" if kind == "mnist-test" else "train")
    if kind in ("cifar10", "cifar10-test"):
        return load_cifar10(path, split="test" if kind == "cifar10-test" else "train")
    if kind == "folder":
        return load_folder(path, resize=resize)
    return {"npz": load_npz, "pt": load_pt, "tokens": load_tokens}[kind](path)


def load(
    spec: str | Path,
    *,
    normalize: Any = None,
    resize: Any = None,
    limit: int | None = None,
) -> Dataset:
    """The data set of ``spec`` (module docstring: the sources and the scaling rule).

    Parameters
    ----------
    spec : str
        ``digits`` or ``KIND:PATH`` with KIND one of :data:`SOURCES`, optionally followed by
        ``?normalize=M/S&resize=HxW&limit=N`` (the keywords below written into the spec, as
        the CLI's ``--normalize``/``--resize``/``--limit`` do; a keyword given here wins).
    normalize : (mean, std), optional
        Per channel (a number or one per channel each): ``(x - mean) / std`` after scaling.
    resize : (H, W), optional
        Images only, bilinear (an image folder is resized by Pillow as it is read, so its
        images may differ in size).
    limit : int, optional
        Keep the first ``limit`` examples (``Dataset.subset`` draws a seeded random subset).

    Returns
    -------
    Dataset
        Rows ``X``, labels ``y`` (-1 without), ``image_shape`` (one example's shape), ``spec``
        (the full spec with absolute paths and options: it loads the same set again), and
        ``describe()``, which states every step applied.

    Raises
    ------
    InputError
        An unknown spec, a file that is not what its kind expects (named), bad options.
    FileNotFoundError
        No such file or folder.

    Examples
    --------
    >>> d = load("digits", normalize=(0.5, 0.25), limit=100)
    >>> len(d), d.image_shape, round(float(d.X.min()), 2)
    (100, (8, 8), -2.0)
    """
    spec, given = split_spec(str(spec))
    normalize = given.get("normalize") if normalize is None else normalize
    resize = given.get("resize") if resize is None else resize
    limit = given.get("limit") if limit is None else limit
    read_resize = resize
    if spec == "digits":
        ds = load_digits()
    else:
        kind, sep, rest = spec.partition(":")
        if not sep or not rest or (kind not in SOURCES and kind != "mnist-train"):
            raise InputError(
                f"--data {spec!r}: expected 'digits' or KIND:PATH with KIND one of "
                f"{', '.join(SOURCES[1:])}"
            )
        ds = _read(kind, rest, resize)
        if kind == "folder":
            resize = None  # done by Pillow while reading
    ds = finish(ds, normalize=normalize, resize=resize, limit=limit)
    full = join_spec(ds.spec or spec, normalize=normalize, resize=read_resize, limit=limit)
    return replace(ds, spec=full)


def load_dataset(spec: str, **options: Any) -> Dataset:
    """:func:`load` (its older name, kept).

    Examples
    --------
    >>> load_dataset("digits").image_shape
    (8, 8)
    """
    return load(spec, **options)
