"""Safetensors checkpoints opened lazily: one file, or the shards of an index.

Only the headers are read (and checked: offsets, dtypes and shapes against each file's size);
every tensor is a :class:`~netsci_dl._files.safetensors_safe.LazyTensor`, read from its own
memory map when an analysis asks for it and freed after, so a per-matrix loop holds one matrix
at a time. ``BF16``/``F16`` stay as stored until read (``read(np.float64)`` decodes straight
to the kernel's type, chunk by chunk).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from netsci_dl._files.safetensors_safe import LazyTensor, open_safetensors
from netsci_dl.errors import InputError

__all__ = ["open_lazy", "is_lazy_source", "lazy_blocks", "LazyBlocks", "LazyTensor"]

_INDEX = "model.safetensors.index.json"


def _index_of(p: Path) -> Path | None:
    """The safetensors index (or single file) a folder holds, or None."""
    for name in ("model.safetensors", _INDEX):
        if (p / name).is_file():
            return p / name
    return None


def is_lazy_source(source: Any) -> bool:
    """Whether ``source`` is a ``.safetensors`` file, a safetensors index
    (``*.safetensors.index.json``) or a folder holding ``model.safetensors`` or its index.

    Examples
    --------
    >>> is_lazy_source("model.pt"), is_lazy_source(123)
    (False, False)
    """
    if not isinstance(source, (str, os.PathLike)):
        return False
    p = Path(source)
    if p.is_dir():
        return _index_of(p) is not None
    name = p.name.lower()
    return name.endswith(".safetensors") or name.endswith(".safetensors.index.json")


def open_lazy(source: str | os.PathLike) -> tuple[dict[str, LazyTensor], dict[str, str], list[str]]:
    """Every tensor of a safetensors file or sharded checkpoint, unread.

    Parameters
    ----------
    source : path
        A ``.safetensors`` file, an index ``model.safetensors.index.json`` (its ``weight_map``
        names the shards, plain file names beside it), or a folder holding either.

    Returns
    -------
    tensors : dict of str to LazyTensor
        By name (sorted); a sharded checkpoint's tensors from every shard.
    metadata : dict of str to str
        The file's string metadata (a single file; empty for shards).
    files : list of str
        The files opened (the index first).

    Raises
    ------
    InputError
        A forged or truncated file (as :func:`netsci_dl._files.safetensors_safe.read_safetensors`);
        an index naming a shard outside its folder or absent, a tensor in two shards, in
        another shard than the index says, or named by the index and absent.

    Examples
    --------
    >>> import tempfile, os, json, numpy as np
    >>> from safetensors.numpy import save_file
    >>> d = tempfile.mkdtemp()
    >>> save_file({"a.weight": np.ones((2, 3), np.float32)}, os.path.join(d, "s1.safetensors"))
    >>> save_file({"b.weight": np.ones((3, 2), np.float32)}, os.path.join(d, "s2.safetensors"))
    >>> wm = {"a.weight": "s1.safetensors", "b.weight": "s2.safetensors"}
    >>> with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
    ...     json.dump({"weight_map": wm}, f)
    >>> t, _, files = open_lazy(d)
    >>> {k: v.shape for k, v in t.items()}, files[1:]
    ({'a.weight': (2, 3), 'b.weight': (3, 2)}, ['s1.safetensors', 's2.safetensors'])
    """
    from netsci_dl.export.hf import _shard_files

    p = Path(source)
    if p.is_dir():
        found = _index_of(p)
        if found is None:
            raise InputError(f"{p}: no model.safetensors or {_INDEX} in this folder")
        p = found
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    if not p.name.lower().endswith(".index.json"):
        tensors, meta = open_safetensors(p)
        if not tensors:
            raise InputError(f"{p}: the safetensors file holds no tensors")
        return tensors, meta, [p.name]
    shards, wmap = _shard_files(p.parent, p.name)
    out: dict[str, LazyTensor] = {}
    for f in shards:
        for k, v in open_safetensors(f)[0].items():
            if k in out:
                raise InputError(f"{p.parent}: tensor {k!r} is in two shards")
            if wmap.get(k, f.name) != f.name:
                raise InputError(f"{p}: puts {k!r} in {wmap[k]!r}, not in {f.name!r}")
            out[k] = v
    absent = [k for k in wmap if k not in out]
    if absent:
        raise InputError(f"{p}: names {absent[:5]}, absent from their shards")
    return dict(sorted(out.items())), {}, [p.name] + [f.name for f in shards]


class LazyBlocks:
    """The weight matrices of a checkpoint as graph blocks read one at a time: the part of
    the :class:`~netsci_dl.graph.LayeredGraph` interface that the block-by-block analyses of
    :mod:`netsci_dl.analysis.structure.blockwise` use (``layer_sizes``, ``block_src``,
    ``block_dst``, ``block_names``, ``block_kinds``, ``n_blocks``, ``dense_block(b)``).

    ``dense_block(b)`` reads block ``b`` from disk each time it is called (float32,
    ``(n_src, n_dst)``: a torch matrix ``(out, in)`` transposed, as :func:`netsci_dl.load`
    orients it) and keeps no reference to it.

    Build it with :func:`lazy_blocks`.
    """

    def __init__(self, tensors: dict[str, Any], sizes: list[int], src: list[int], dst: list[int]):
        self._tensors = list(tensors.values())
        self.block_names = tuple(tensors)
        self.layer_sizes = tuple(sizes)
        self.block_src, self.block_dst = tuple(src), tuple(dst)
        self.block_kinds = ("weight",) * len(src)

    @property
    def n_blocks(self) -> int:
        return len(self._tensors)

    @property
    def n_nodes(self) -> int:
        return int(sum(self.layer_sizes))

    @property
    def offsets(self) -> Any:
        import numpy as np

        return np.concatenate([[0], np.cumsum(self.layer_sizes)]).astype(np.int64)

    def dense_block(self, b: int) -> Any:
        import numpy as np

        return np.asarray(self._tensors[b], dtype=np.float32).T

    def __repr__(self) -> str:
        return f"LazyBlocks({self.n_blocks} blocks, {self.n_nodes} nodes, read on demand)"


def lazy_blocks(
    source: str | os.PathLike, *, layout: str = "chain", layers: Any = None
) -> LazyBlocks:
    """The 2-D weight matrices of a safetensors checkpoint (a file, an index, a folder) as
    :class:`LazyBlocks`.

    Parameters
    ----------
    source : path
        As :func:`open_lazy`; the matrices are those :func:`netsci_dl.export.weight_tensors`
        keeps, in its order (kernels and other tensors of more than 2 dimensions are left out).
    layout : {"chain", "matrices"}
        ``"chain"``: matrix ``b`` (``(out, in)``) joins group ``b`` to group ``b + 1``; the
        shapes must chain (an MLP, a DBN). ``"matrices"``: every matrix is its own bipartite
        graph (groups ``2b -> 2b + 1``), for models whose data flow is not a chain (a
        transformer's attention and MLP projections).
    layers : regex or list, optional
        Which matrices (as :func:`netsci_dl.export.weight_tensors`).

    Raises
    ------
    InputError
        Not a safetensors source, no 2-D matrix, or (``"chain"``) shapes that do not chain.
    """
    from netsci_dl.export.weights import weight_tensors

    if layout not in ("chain", "matrices"):
        raise InputError(f"layout must be 'chain' or 'matrices', got {layout!r}")
    if not is_lazy_source(source):
        raise InputError(f"{source}: lazy blocks need a safetensors file, index or folder")
    mats = {k: v for k, v in weight_tensors(source, layers=layers).items() if v.ndim == 2}
    if not mats:
        raise InputError(f"{source}: holds no 2-D weight matrix")
    shapes = [v.shape for v in mats.values()]
    if layout == "matrices":
        sizes = [s for out, inp in shapes for s in (inp, out)]
        idx = list(range(len(shapes)))
        return LazyBlocks(mats, sizes, [2 * b for b in idx], [2 * b + 1 for b in idx])
    for b in range(1, len(shapes)):
        if shapes[b][1] != shapes[b - 1][0]:
            names = list(mats)
            raise InputError(
                f"{source}: {names[b - 1]} {shapes[b - 1]} does not chain into {names[b]} "
                f"{shapes[b]} (out, in); use layout='matrices'"
            )
    sizes = [shapes[0][1]] + [s[0] for s in shapes]
    return LazyBlocks(mats, sizes, list(range(len(shapes))), list(range(1, len(shapes) + 1)))
