"""The data flow of one forward pass, as a small graph of ops, and its resolution into node
groups, weight blocks and junctions.

Two front ends record the ops (:mod:`netsci_dl.export._fx`: torch.fx, symbolically;
:mod:`netsci_dl.export._record`: the torch functions one real forward pass calls); this module
turns either record (:class:`~netsci_dl.export._ops.Op` s) into an
:class:`~netsci_dl.export._build.ExportPlan`, with the op handlers of
:mod:`~netsci_dl.export._dataflow_layers` (weight layers) and
:mod:`~netsci_dl.export._dataflow_junctions` (ops that keep or join groups). The rules (they are
documented for users in :func:`netsci_dl.load`):

- A weight layer (Linear, Conv*, ConvTranspose*, the projections of an attention layer) makes a
  new node group of its outputs (one node per output unit; per channel for convolutions) and a
  ``weight`` block from the group it reads.
- Ops that keep the units (activations, BatchNorm and the other normalisations, dropout,
  pooling, padding, up-sampling, transposes and reshapes of the token or head axes) keep the
  group. BatchNorm's per-channel affine map can be folded into the incoming block
  (``fold_batchnorm=True``); it is not folded by default.
- The flatten of a feature map into a Linear layer: the Linear layer's ``k = h*w`` inputs of one
  channel are reduced to one edge per (channel, output) (:mod:`netsci_dl.export.conv`), in the
  order the model flattens: with shapes, the unit axis is followed through permutes, reshapes,
  flattens and indexing (:mod:`~netsci_dl.export._dataflow_shapes`), so a model that moves the
  channels last before flattening is aggregated over the right features.
- Shape ops that move the units (permute, reshape, unsqueeze, indexing that keeps every unit)
  keep the group; a Linear layer over channels-last maps is a 1x1 channel map. Ops that mix the
  units with the batch, select some units or repeat them are refused, naming the op.
- Statistics of the units (a mean or variance over them, ``keepdim=True``: norms written by
  hand) may only scale or shift the units they came from; LayerScale (a per-unit parameter
  scale) keeps the group, folded like BatchNorm with ``fold_batchnorm=True``; GLU and a chunked
  SwiGLU make a group of the gated half; a rotary embedding's ``rotate_half`` keeps the group
  (:mod:`~netsci_dl.export._dataflow_parts`).
- A **residual add** merges into one node group: every addend that is a fresh group (made by a
  weight layer or a junction and read by nothing but this add) merges into it (its incoming
  blocks now end in the sum; the biases add up); every other addend (a group also read elsewhere,
  such as the input of a residual block) joins through an ``identity`` block.
- A **concatenation** along the unit axis makes one group from its parts, in order (offsets
  recorded): fresh parts merge into their column range, other parts join through ``identity``
  blocks into their range.
- **Attention**: the data-dependent mixing of tokens is not a weight. The product of queries and
  keys ends them in a score junction (Q and K are sinks of the graph); the product of the scores
  with the values makes a new group joined to V by an ``identity`` block per feature, which the
  output projection reads.
- A data-dependent gate (``x * sigmoid(g(x))``) keeps the gated operand's group; the gate's group
  ends in a ``gate`` junction.
- Embeddings and recurrent layers (LSTM, GRU, RNN) are not exported: their outputs are new source
  groups, and their tensors are listed as skipped with that reason.
- Anything else that touches the units is refused, naming the op.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl.errors import InputError
from netsci_dl.export._build import BlockSpec, ExportPlan, GroupSpec, TensorInfo
from netsci_dl.export._dataflow_junctions import JunctionOps
from netsci_dl.export._dataflow_layers import LayerOps
from netsci_dl.export._dataflow_parts import PartOps
from netsci_dl.export._dataflow_shapes import ShapeOps
from netsci_dl.export._ops import PRODUCERS, TRANSPARENT, Op, _Group, _Piece, _Val

__all__ = ["Op", "resolve", "PRODUCERS", "TRANSPARENT"]


class _Resolver(PartOps, ShapeOps, LayerOps, JunctionOps):
    def __init__(
        self, ops: Sequence[Op], *, source: str, conv_reduce: str, fold_batchnorm: bool
    ) -> None:
        self.ops = list(ops)
        self.source = source
        self.reduce = conv_reduce
        self.fold = fold_batchnorm
        self.groups: list[_Group] = []
        self.pieces: dict[tuple[int, int, str], list[_Piece]] = {}
        self.vals: dict[int, _Val] = {}
        self.junctions: list[dict[str, Any]] = []
        self.tensors: dict[str, TensorInfo] = {}
        self.layer_types: set[str] = set()
        self.group_of_producer: dict[int, int] = {}
        self._consumers()

    # ---- pass 1: who reads whom ----------------------------------------------------------
    def _consumers(self) -> None:
        root: dict[int, int] = {}
        self.consumers: dict[int, list[int]] = {}
        for i, op in enumerate(self.ops):
            if op.kind in TRANSPARENT and op.inputs:
                root[i] = root.get(op.inputs[0], op.inputs[0])
                if op.kind in ("gate", "combine"):
                    for j in op.inputs[1:]:
                        self.consumers.setdefault(root.get(j, j), []).append(i)
            else:
                root[i] = i
                for j in op.inputs:
                    self.consumers.setdefault(root.get(j, j), []).append(i)
        self.root = root

    def _fresh(self, g: int, junction: int) -> bool:
        """Group ``g`` is read by nothing but ``junction`` (and is not a model input)."""
        grp = self.groups[g]
        if grp.origin == "input":
            return False
        return set(self.consumers.get(grp.producer, [])) == {junction}

    # ---- helpers -------------------------------------------------------------------------
    def _where(self, op: Op) -> str:
        return f"{self.source}: {op.name or op.kind}"

    def _new_group(
        self, name: str, size: int | None, origin: str, order: int, bias: Any = None, note: str = ""
    ) -> int:
        b = None if bias is None else np.asarray(bias, dtype=np.float64).reshape(-1).copy()
        self.groups.append(_Group(name, size, origin, order, order, b, note))
        self.group_of_producer[order] = len(self.groups) - 1
        return len(self.groups) - 1

    def _size(self, g: int, n: int, op: Op, what: str) -> None:
        grp = self.groups[g]
        if grp.size is None:
            grp.size = int(n)
        elif grp.size != n:
            raise InputError(f"{self._where(op)} {what} {n} units, but {grp.name!r} has {grp.size}")

    def _val(self, op: Op, pos: int = 0, parts: bool = False) -> _Val:
        """The value op ``op`` reads at ``pos``; ``parts``: a part of the units may be read (by a
        shape op, which keeps it a part)."""
        if pos >= len(op.inputs):
            raise InputError(f"{self._where(op)}: has no data input")
        v = self.vals.get(op.inputs[pos])
        ok = ("part", "rotated") if parts else ()
        if v is not None and v.layout in ("stat", "part", "rotated") and v.layout not in ok:
            self._refuse_partial(op, v)
        if v is None or v.group is None:
            what = "attention scores" if v is not None and v.layout == "scores" else "no units"
            raise InputError(
                f"{self._where(op)} reads {what} where a layer's units were expected; "
                "netsci_dl cannot map this op onto units"
            )
        return v

    def _add_piece(
        self,
        src: int,
        dst: int,
        kind: str,
        matrix: Any,
        *,
        offset: int = 0,
        name: str,
        note: str,
        layer_type: str,
        source_shape: tuple[int, ...] = (),
    ) -> None:
        key = (src, dst, kind)
        self.pieces.setdefault(key, []).append(
            _Piece(matrix, offset, name, note, layer_type, tuple(source_shape))
        )

    def _identity(self, src: int, dst: int, *, offset: int = 0, name: str) -> None:
        n = self.groups[src].size
        self._add_piece(
            src,
            dst,
            "identity",
            sp.identity(n, dtype=np.float64, format="csr"),
            offset=offset,
            name=name,
            note="identity",
            layer_type="identity",
        )

    def _note_tensor(self, op: Op, role_map: dict[str, tuple[str, str]]) -> None:
        for role, full in op.param_names.items():
            arr = op.params.get(role)
            if arr is None or full in self.tensors:
                continue
            r, reason = role_map.get(role, ("skipped", f"{role} of {op.name}"))
            self.tensors[full] = TensorInfo(
                full, tuple(int(s) for s in arr.shape), str(arr.dtype), r, reason
            )

    def _merge(self, f: int, into: int, offset: int, how: str) -> None:
        """Retarget every block ending in fresh group ``f`` to ``into`` (columns from offset)."""
        for (s, d, k), plist in list(self.pieces.items()):
            if d != f:
                continue
            del self.pieces[(s, d, k)]
            for p in plist:
                p.offset += offset
            self.pieces.setdefault((s, into, k), []).extend(plist)
        fg, tg = self.groups[f], self.groups[into]
        if fg.bias is not None:
            if tg.bias is None:
                tg.bias = np.zeros(tg.size or 0)
            tg.bias[offset : offset + fg.size] += fg.bias
        if fg.activation and not tg.activation:
            tg.activation = fg.activation
        fg.alive = False
        for v in self.vals.values():  # later readers of the fresh group read the junction
            if v.group == f:
                v.group = into

    # ---- ops -----------------------------------------------------------------------------
    def _live(self) -> set[int]:
        """Ops whose value reaches an output (a value used only by Python control flow, or not
        at all, is ignored)."""
        outs = [i for i, op in enumerate(self.ops) if op.kind == "output"]
        live, stack = set(outs), list(outs)
        while stack:
            for j in self.ops[stack.pop()].inputs:
                if j not in live:
                    live.add(j)
                    stack.append(j)
        return live

    def run(self) -> None:
        live = self._live()
        for i, op in enumerate(self.ops):
            if i not in live and op.kind != "input":
                continue
            handler = getattr(self, f"_op_{op.kind}", None)
            if handler is None:
                raise InputError(f"{self._where(op)}: op kind {op.kind!r} is not understood")
            handler(i, op)

    def _op_input(self, i: int, op: Op) -> None:
        shape = op.attrs.get("shape")
        size, layout = None, "unknown"
        if shape is not None and len(shape) >= 2:
            layout = {2: "vector", 3: "unknown"}.get(len(shape), "spatial")
            size = (
                int(shape[1]) if len(shape) >= 4 else (int(shape[-1]) if len(shape) == 2 else None)
            )
        g = self._new_group(op.name or "input", size, "input", i)
        nd = len(shape) if shape is not None else None
        axes = (1,) if nd is not None and nd != 3 and nd >= 2 else None
        self.vals[i] = _Val(g, layout, nd=nd if axes else None, axes=axes)

    def _op_const(self, i: int, op: Op) -> None:
        self.vals[i] = _Val(None, "const")

    def _op_output(self, i: int, op: Op) -> None:
        for j in op.inputs:
            if self.vals.get(j) is not None and self.vals[j].layout in ("stat", "part", "rotated"):
                self._refuse_partial(op, self.vals[j])
        self.outputs = [
            self.vals[j].group
            for j in op.inputs
            if self.vals.get(j) and self.vals[j].group is not None
        ]

    def _op_unknown(self, i: int, op: Op) -> None:
        touches = [j for j in op.inputs if self.vals.get(j) and self.vals[j].layout != "const"]
        if touches:
            raise InputError(
                f"{self._where(op)}: {op.attrs.get('desc', 'this op')} is not understood: "
                "netsci_dl cannot say what it does to the units, so it does not guess. "
                "Export the part of the model before it (layers=...), or open an issue"
            )
        self.vals[i] = _Val(None, "const")

    # ---- the plan ------------------------------------------------------------------------
    def plan(self, *, tensors: Sequence[TensorInfo], meta: dict[str, Any]) -> ExportPlan:
        self._drop_unreached()
        order = self._ordered_alive()
        index = {g: n for n, g in enumerate(order)}
        names = _unique_names([self.groups[g].name for g in order])
        groups = [
            GroupSpec(names[n], int(grp.size), grp.bias, grp.origin, grp.note)
            for n, grp in enumerate(self.groups[g] for g in order)
        ]
        blocks = self._blocks(index, names)
        meta = dict(meta)
        meta["activations"] = [self.groups[g].activation or "identity" for g in order]
        return ExportPlan(
            source=self.source,
            model_kind=meta.pop("model_kind", "mlp"),
            layout="out_in",
            tensors=tuple(tensors) + tuple(self.tensors.values()),
            groups=tuple(groups),
            blocks=tuple(blocks),
            junctions=tuple(self.junctions),
            meta=meta,
        )

    def _drop_unreached(self) -> None:
        """Drop the groups no block reaches (recorded as ``dropped`` junctions)."""
        touched = {s for s, _, _ in self.pieces} | {d for _, d, _ in self.pieces}
        for g, grp in enumerate(self.groups):
            if grp.alive and touched and g not in touched:
                # e.g. token ids read by an embedding, or an embedding read by a recurrent
                # layer: no block reaches the group, so it is not part of the graph
                grp.alive = False
                self.junctions.append(
                    {
                        "kind": "dropped",
                        "group": grp.name,
                        "note": f"{grp.origin} group joined to nothing by a weight or identity block",
                    }
                )

    def _shapes_hint(self) -> str:
        """What the user can do about a shape the resolver cannot place: pass an example input,
        or, where one was given (its shape recorded), nothing but report the model."""
        if any(op.kind == "input" and op.attrs.get("shape") is not None for op in self.ops):
            return (
                "netsci_dl cannot place it even with the shapes of the example input; please "
                "open an issue with the model"
            )
        return "pass example_input=... (CLI --input-shape) so one forward pass fixes every shape"

    def _ordered_alive(self) -> list[int]:
        """The live groups in the order of their producers; each must know its size."""
        alive = [g for g in range(len(self.groups)) if self.groups[g].alive]
        for g in alive:
            if self.groups[g].size is None:
                raise InputError(
                    f"{self.source}: the size of {self.groups[g].name!r} is unknown; "
                    f"{self._shapes_hint()}"
                )
        return sorted(alive, key=lambda g: (self.groups[g].order, g))

    def _blocks(self, index: dict[int, int], names: list[str]) -> list[BlockSpec]:
        """One block per (source, target, kind) between live groups, in the plan's order."""
        blocks = []
        for (s, d, kind), plist in sorted(
            self.pieces.items(), key=lambda kv: (index[kv[0][1]], index[kv[0][0]], kv[0][2])
        ):
            if not (self.groups[s].alive and self.groups[d].alive):
                continue
            shape = (self.groups[s].size, self.groups[d].size)
            first = plist[0]
            if (
                len(plist) == 1
                and not sp.issparse(first.matrix)
                and first.offset == 0
                and first.matrix.shape == shape
            ):
                matrix, bname, note = first.matrix, first.name, first.note
            else:
                fits = f"{names[index[s]]!r} ({shape[0]}) -> {names[index[d]]!r} ({shape[1]})"
                join = _sparse_sum if all(sp.issparse(p.matrix) for p in plist) else _dense_sum
                matrix = join(plist, shape, f"{self.source}: block", fits)
                bname = "+".join(dict.fromkeys(p.name for p in plist))
                note = "; ".join(dict.fromkeys(p.note for p in plist))
            blocks.append(
                BlockSpec(
                    bname,
                    index[s],
                    index[d],
                    kind,
                    matrix,
                    note,
                    first.layer_type,
                    first.source_shape,
                )
            )
        return blocks


def _unique_names(names: list[str]) -> list[str]:
    """``names`` with repeats numbered: ``a``, ``a#1``, ``a#2``.

    Examples
    --------
    >>> _unique_names(["fc", "relu", "fc", "fc"])
    ['fc', 'relu', 'fc#1', 'fc#2']
    """
    out, seen = list(names), {}
    for n, nm in enumerate(names):
        if nm in seen:
            seen[nm] += 1
            out[n] = f"{nm}#{seen[nm]}"
        else:
            seen[nm] = 0
    return out


def _sparse_sum(plist: list[_Piece], shape: tuple[int, int], where: str, fits: str) -> Any:
    """The sum of sparse pieces (identity or grouped) placed at their column offsets: csr, or
    a dense array when every entry is set."""
    n_s, n_d = shape
    rows, cols, vals = [], [], []
    for p in plist:
        c = p.matrix.tocoo()
        if c.shape[0] != n_s or p.offset + c.shape[1] > n_d:
            raise InputError(f"{where} {p.name!r} of shape {c.shape} does not fit {fits}")
        rows.append(c.row)
        cols.append(c.col + p.offset)
        vals.append(c.data.astype(np.float64))
    block = sp.coo_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=shape
    ).tocsr()
    block.sum_duplicates()
    return block.toarray() if block.nnz == n_s * n_d else block


def _dense_sum(plist: list[_Piece], shape: tuple[int, int], where: str, fits: str) -> Any:
    """The sum of pieces, some dense, placed at their column offsets: a dense array, or csr of
    the entries some piece covers."""
    n_s, n_d = shape
    acc = np.zeros(shape, dtype=np.float64)
    cover = np.zeros(shape, dtype=bool)
    for p in plist:
        m = p.matrix
        w = m.shape[1]
        if m.shape[0] != n_s or p.offset + w > n_d:
            raise InputError(
                f"{where} {p.name!r} of shape {m.shape} does not fit {fits} at offset {p.offset}"
            )
        if sp.issparse(m):
            c = m.tocoo()
            acc[c.row, c.col + p.offset] += c.data
            cover[c.row, c.col + p.offset] = True
        else:
            acc[:, p.offset : p.offset + w] += np.asarray(m, dtype=np.float64)
            cover[:, p.offset : p.offset + w] = True
    if cover.all():
        return acc
    indptr = np.concatenate([[0], np.cumsum(cover.sum(axis=1))])
    return sp.csr_array((acc[cover], np.nonzero(cover)[1], indptr), shape=shape)


def resolve(
    ops: Sequence[Op],
    *,
    source: str,
    conv_reduce: str = "l2",
    fold_batchnorm: bool = False,
    tensors: Sequence[TensorInfo] = (),
    meta: dict[str, Any] | None = None,
) -> ExportPlan:
    """The :class:`ExportPlan` of a recorded data flow (see the module docstring)."""
    r = _Resolver(ops, source=source, conv_reduce=conv_reduce, fold_batchnorm=fold_batchnorm)
    r.run()
    meta = dict(meta or {})
    kinds = r.layer_types
    meta.setdefault(
        "model_kind",
        "transformer" if "attention" in kinds else ("cnn" if "conv" in kinds else "mlp"),
    )
    if "conv" in kinds:
        meta["conv_reduce"] = conv_reduce
    meta["directed"] = True
    meta["fold_batchnorm"] = bool(fold_batchnorm)
    return r.plan(tensors=tensors, meta=meta)
