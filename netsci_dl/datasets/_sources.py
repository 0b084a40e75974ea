"""Data sources beyond digits and MNIST: arrays in ``.npz`` or torch files, image folders,
CIFAR-10's binary version and token ids. Every reader refuses what it cannot read with an
InputError naming the file and what was expected; nothing is unpickled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.datasets._core import RULE_TOKENS, Dataset, scale
from netsci_dl.datasets._core import labels as check_labels
from netsci_dl.errors import InputError

__all__ = ["load_npz", "load_pt", "load_folder", "load_cifar10", "load_tokens", "IMAGE_SUFFIXES"]

#: the image files an image folder is read from (through Pillow)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _exists(p: Path, what: str) -> Path:
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such {what}")
    return p


def _arrays(X: Any, y: Any, source: str, name: str, spec: str) -> Dataset:
    X = np.asarray(X)
    if X.ndim < 1 or len(X) == 0:
        raise InputError(f"{source}: X has shape {X.shape}; expected (n_examples, ...)")
    if y is not None:
        y = np.asarray(y).reshape(-1) if np.ndim(y) == 2 and np.shape(y)[1] == 1 else y
    shape = tuple(int(s) for s in X.shape[1:]) or (1,)
    rows, rule = scale(X.reshape(len(X), -1), source)
    return Dataset(rows, check_labels(y, len(X), source), shape, name, spec, (rule,))


def load_npz(path: str | Path) -> Dataset:
    """An ``.npz`` with an array ``X`` (``x`` also read) of any shape ``(n, ...)`` and an
    optional ``y`` (read without pickle).

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> f = tempfile.mkdtemp() + "/d.npz"
    >>> np.savez(f, X=np.full((3, 2, 2), 2.0), y=[0, 1, 1])
    >>> d = load_npz(f); d.image_shape, float(d.X.max())
    ((2, 2), 2.0)
    """
    from netsci_dl._files.npz_safe import npz_names, read_npz

    p = _exists(Path(path), "npz file")
    names = npz_names(p)
    xk = next((k for k in ("X", "x") if k in names), None)
    if xk is None:
        raise InputError(f"{p}: no array 'X' (has {names}); expected X and optionally y")
    yk = next((k for k in ("y", "Y") if k in names), None)
    z = read_npz(p, [xk] + ([yk] if yk else []))
    return _arrays(z[xk], z.get(yk), str(p), p.stem, f"npz:{p.resolve()}")


def load_pt(path: str | Path) -> Dataset:
    """A torch file read with ``weights_only=True``: a tensor ``X``, a pair/list ``(X, y)``, or a
    dict with ``X``/``x``/``data``/``inputs`` and optionally ``y``/``labels``/``targets``."""
    import pickle

    import torch

    p = _exists(Path(path), "torch file")
    if not p.is_file():
        raise InputError(f"{p}: not a regular file")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, OSError, ValueError) as e:
        msg = str(e).splitlines()[0][:200]
        raise InputError(f"{p}: not a torch file of tensors (weights_only=True: {msg})") from None
    X = y = None
    if torch.is_tensor(obj):
        X = obj
    elif isinstance(obj, tuple | list) and len(obj) in (1, 2):
        X, y = obj[0], obj[1] if len(obj) == 2 else None
    elif isinstance(obj, dict):
        X = next((obj[k] for k in ("X", "x", "data", "inputs") if k in obj), None)
        y = next((obj[k] for k in ("y", "labels", "targets") if k in obj), None)
    if not torch.is_tensor(X) or (y is not None and not torch.is_tensor(y)):
        raise InputError(
            f"{p}: expected a tensor X, a pair (X, y) or a dict with 'X' (and 'y') of tensors, "
            f"got {type(obj).__name__}"
        )
    yn = None if y is None else y.detach().cpu().numpy()
    return _arrays(X.detach().cpu().numpy(), yn, str(p), p.stem, f"pt:{p.resolve()}")


def _read_image(f: Path, resize: Any) -> np.ndarray:
    """One image -> ``(C, H, W)`` uint8 (grey ``L`` keeps one channel, all else is RGB)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(f) as im:
            im = im.convert("L" if im.mode in ("L", "1") else "RGB")
            if resize is not None:
                h, w = (int(v) for v in resize)
                im = im.resize((w, h), Image.Resampling.BILINEAR)
            a = np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as e:
        raise InputError(f"{f}: not a readable PNG/JPEG image ({e})") from None
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def load_folder(path: str | Path, *, resize: Any = None) -> Dataset:
    """An image folder: one sub-folder per class (sorted names = classes 0, 1, ...), PNG/JPEG
    files in each (sorted). Grey images give one channel, others RGB (alpha dropped; a folder
    mixing both is read as RGB). Sizes must agree unless ``resize=(H, W)`` (bilinear, Pillow).
    """
    p = _exists(Path(path), "image folder")
    if not p.is_dir():
        raise InputError(f"{p}: expected a folder with one sub-folder of images per class")
    classes = sorted(d.name for d in p.iterdir() if d.is_dir() and not d.name.startswith("."))
    files, ys = [], []
    for c, name in enumerate(classes):
        fs = sorted(f for f in (p / name).iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        files += fs
        ys += [c] * len(fs)
    if not files:
        raise InputError(
            f"{p}: no images (expected sub-folders, one per class, of {'/'.join(IMAGE_SUFFIXES)})"
        )
    imgs = [_read_image(f, resize) for f in files]
    sizes = {im.shape[1:] for im in imgs}
    if len(sizes) > 1:
        raise InputError(
            f"{p}: images of different sizes {sorted(sizes)[:4]}; pass resize=(H, W) (--resize HxW)"
        )
    if len({im.shape[0] for im in imgs}) > 1:
        imgs = [np.repeat(im, 3, axis=0) if im.shape[0] == 1 else im for im in imgs]
    X = np.stack(imgs)
    rows, rule = scale(X.reshape(len(X), -1), str(p))
    steps = (rule,)
    if resize is not None:
        steps += (f"resize: bilinear to {X.shape[2]}x{X.shape[3]} (Pillow, before scaling)",)
    y = np.asarray(ys, np.int64)
    return Dataset(rows, y, tuple(X.shape[1:]), p.name, f"folder:{p.resolve()}", steps)


_CIFAR_RECORD = 1 + 3 * 32 * 32


def load_cifar10(path: str | Path, *, split: str = "train") -> Dataset:
    """CIFAR-10's binary version: a folder with ``data_batch_1.bin`` .. ``data_batch_5.bin``
    (train) and ``test_batch.bin`` (test), or one ``.bin`` file. Each record is one label byte
    and 3072 pixel bytes (red, green, blue planes of 32x32) -> ``(3, 32, 32)``, / 255."""
    p = _exists(Path(path), "CIFAR-10 folder or file")
    if p.is_dir():
        pat = "data_batch_*.bin" if split == "train" else "test_batch.bin"
        files = sorted(p.glob(pat))
        if not files:
            raise InputError(f"{p}: no {pat} (expected CIFAR-10's binary version)")
    else:
        files = [p]
    chunks = []
    for f in files:
        raw = np.fromfile(f, dtype=np.uint8)
        if raw.size == 0 or raw.size % _CIFAR_RECORD:
            raise InputError(
                f"{f}: {raw.size} bytes, not a multiple of {_CIFAR_RECORD} (1 label + 3072 pixel "
                "bytes per record of CIFAR-10's binary version)"
            )
        chunks.append(raw.reshape(-1, _CIFAR_RECORD))
    rec = np.concatenate(chunks)
    if rec[:, 0].max() > 9:
        raise InputError(f"{files[0]}: label bytes above 9; not CIFAR-10's binary version")
    rows, rule = scale(rec[:, 1:], str(p))
    name = "cifar10" + ("-test" if split == "test" else "")
    spec = f"{'cifar10-test' if split == 'test' else 'cifar10'}:{p.resolve()}"
    y = rec[:, 0].astype(np.int64)
    return Dataset(rows, y, (3, 32, 32), name, spec, (rule,))


def load_tokens(path: str | Path) -> Dataset:
    """An ``.npz`` of token ids: ``input_ids`` (n, length) integers, optional
    ``attention_mask`` of the same shape, optional ``y``. Ids stay int64."""
    from netsci_dl._files.npz_safe import npz_names, read_npz

    p = _exists(Path(path), "tokens npz")
    names = npz_names(p)
    if "input_ids" not in names:
        raise InputError(f"{p}: no array 'input_ids' (has {names}); expected token ids")
    keys = ["input_ids"] + [k for k in ("attention_mask", "y", "labels") if k in names]
    z = read_npz(p, keys)
    ids = z["input_ids"]
    if ids.ndim != 2 or ids.dtype.kind not in "iu" or len(ids) == 0:
        raise InputError(
            f"{p}: input_ids has shape {ids.shape} and dtype {ids.dtype}; expected (n, length) integers"
        )
    mask = z.get("attention_mask")
    if mask is not None and mask.shape != ids.shape:
        raise InputError(f"{p}: attention_mask has shape {mask.shape}, input_ids {ids.shape}")
    y = check_labels(z.get("y", z.get("labels")), len(ids), str(p))
    return Dataset(
        ids.astype(np.int64),
        y,
        (ids.shape[1],),
        p.stem,
        f"tokens:{p.resolve()}",
        (RULE_TOKENS,),
        None if mask is None else mask.astype(np.int64),
    )
