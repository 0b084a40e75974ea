"""The data flow of one forward pass, as a small graph of ops, and its resolution into node
groups, weight blocks and junctions.

Two front ends record the ops (:mod:`netsci_dl.export._fx`: torch.fx, symbolically;
:mod:`netsci_dl.export._record`: the torch functions one real forward pass calls); this module
turns either record into an :class:`~netsci_dl.export._build.ExportPlan`. The rules (they are
documented for users in :func:`netsci_dl.load`):

- A weight layer (Linear, Conv*, ConvTranspose*, the projections of an attention layer) makes a
  new node group of its outputs (one node per output unit; per channel for convolutions) and a
  ``weight`` block from the group it reads.
- Ops that keep the units (activations, BatchNorm and the other normalisations, dropout,
  pooling, padding, up-sampling, transposes and reshapes of the token or head axes) keep the
  group. BatchNorm's per-channel affine map can be folded into the incoming block
  (``fold_batchnorm=True``); it is not folded by default.
- The flatten of a feature map into a Linear layer: the Linear layer's ``k = h*w`` inputs of one
  channel are reduced to one edge per (channel, output) (:mod:`netsci_dl.export.conv`).
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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl.errors import InputError
from netsci_dl.export._build import BlockSpec, ExportPlan, GroupSpec, TensorInfo
from netsci_dl.export.conv import conv_block, flatten_block, reduce_kernels

__all__ = ["Op", "resolve", "PRODUCERS", "TRANSPARENT"]

#: op kinds that make a value of their own
PRODUCERS = {
    "input",
    "linear",
    "conv",
    "conv_transpose",
    "add",
    "cat",
    "matmul",
    "attention",
    "mha",
    "embedding",
    "recurrent",
}
#: op kinds whose output carries the units of their first data input
TRANSPARENT = {"pass", "bn", "flatten", "reshape", "mean", "getitem", "gate"}


@dataclass
class Op:
    """One op of the record.

    ``inputs`` are indices of earlier ops whose outputs are data (derived from the model's
    inputs); parameters are in ``params`` (numpy copies, keyed by role) with their full names
    in ``param_names``. ``attrs`` holds what the op needs: ``groups``, ``dim``, ``shape`` (the
    output's shape when known, batch included), ``in_shape``, ``activation``, ``desc``...
    """

    kind: str
    inputs: tuple[int, ...] = ()
    name: str = ""
    params: dict[str, np.ndarray | None] = field(default_factory=dict)
    param_names: dict[str, str] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Group:
    name: str
    size: int | None
    origin: str
    order: int
    producer: int
    bias: np.ndarray | None = None
    note: str = ""
    alive: bool = True
    activation: str | None = None


@dataclass
class _Val:
    group: int | None
    layout: str  # "vector", "spatial", "flat", "tokens", "unknown", "scores"
    k: int | None = None  # features per unit after a flatten
    scores_of: tuple[int, ...] = ()  # for attention scores: the query and key groups


@dataclass
class _Piece:
    matrix: Any  # (n_src, n_part): dense ndarray or csr
    offset: int
    name: str
    note: str
    layer_type: str
    source_shape: tuple[int, ...]


_UNIT_LAYOUTS = ("vector", "spatial", "flat", "tokens", "unknown")


class _Resolver:
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
                if op.kind == "gate":
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

    def _val(self, op: Op, pos: int = 0) -> _Val:
        if pos >= len(op.inputs):
            raise InputError(f"{self._where(op)}: has no data input")
        v = self.vals.get(op.inputs[pos])
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
        self.vals[i] = _Val(g, layout)

    def _op_const(self, i: int, op: Op) -> None:
        self.vals[i] = _Val(None, "const")

    def _op_linear(self, i: int, op: Op) -> None:
        v = self._val(op)
        W, b = op.params["weight"], op.params.get("bias")
        if W.ndim != 2:
            raise InputError(f"{self._where(op)}: a Linear weight must be 2-D, got {W.shape}")
        g = v.group
        n_in = W.shape[1]
        if v.layout == "spatial":
            raise InputError(
                f"{self._where(op)} acts on the last axis of a feature map (channels first), "
                "which is not a map between units: flatten or pool the map first"
            )
        if v.layout == "flat":
            C = self.groups[g].size
            if C is None or n_in % C:
                raise InputError(
                    f"{self._where(op)} takes {n_in} features, not a multiple of the "
                    f"{C} channels of {self.groups[g].name!r} before it"
                )
            k = n_in // C
            if v.k is not None and v.k != k:
                raise InputError(
                    f"{self._where(op)} takes {n_in} features but the flattened map of "
                    f"{self.groups[g].name!r} has {C} x {v.k}"
                )
            block = flatten_block(W, C, self.reduce)
            note = (
                f"{self.reduce} over the {k} features of each channel (flatten)"
                if k > 1
                else "weight"
            )
        else:
            self._size(g, n_in, op, "takes")
            block, note = W.T, "weight"
        out = self._new_group(op.name, W.shape[0], "linear", i, b)
        self._add_piece(
            g,
            out,
            "weight",
            block,
            name=op.name,
            note=note,
            layer_type="linear",
            source_shape=W.shape,
        )
        self.layer_types.add("linear")
        self._note_tensor(op, {"weight": ("linear", ""), "bias": ("bias", f"bias of {op.name}")})
        self.vals[i] = _Val(out, "tokens" if v.layout == "tokens" else "vector")

    def _op_conv(self, i: int, op: Op) -> None:
        v = self._val(op)
        W, b = op.params["weight"], op.params.get("bias")
        groups = int(op.attrs.get("groups", 1))
        if v.layout in ("flat", "tokens"):
            raise InputError(
                f"{self._where(op)}: a convolution reads {self.groups[v.group].name!r}, whose "
                "units are not channels of a feature map"
            )
        g = v.group
        self._size(g, W.shape[1] * groups, op, "takes")
        block = conv_block(W, self.groups[g].size, self.reduce).astype(np.float32)
        kernel = "x".join(map(str, W.shape[2:]))
        note = f"{self.reduce} of each {kernel} kernel" + (
            f", {groups} groups" if groups > 1 else ""
        )
        out = self._new_group(op.name, W.shape[0], "conv", i, b)
        self.groups[out].origin = "conv"
        self._add_piece(
            g,
            out,
            "weight",
            block,
            name=op.name,
            note=note,
            layer_type="conv",
            source_shape=W.shape,
        )
        self.layer_types.add("conv")
        self._note_tensor(op, {"weight": ("conv", ""), "bias": ("bias", f"bias of {op.name}")})
        self.vals[i] = _Val(out, "spatial")

    def _op_conv_transpose(self, i: int, op: Op) -> None:
        v = self._val(op)
        W, b = op.params["weight"], op.params.get("bias")  # (in, out / groups, *k)
        if int(op.attrs.get("groups", 1)) != 1:
            raise InputError(
                f"{self._where(op)}: grouped transposed convolutions are not supported"
            )
        g = v.group
        self._size(g, W.shape[0], op, "takes")
        block = reduce_kernels(W, self.reduce)  # (in, out): already block orientation
        kernel = "x".join(map(str, W.shape[2:]))
        out = self._new_group(op.name, W.shape[1], "conv", i, b)
        self._add_piece(
            g,
            out,
            "weight",
            block,
            name=op.name,
            note=f"{self.reduce} of each {kernel} kernel (transposed conv)",
            layer_type="conv",
            source_shape=W.shape,
        )
        self.layer_types.add("conv")
        self._note_tensor(op, {"weight": ("conv", ""), "bias": ("bias", f"bias of {op.name}")})
        self.vals[i] = _Val(out, "spatial")

    def _op_bn(self, i: int, op: Op) -> None:
        v = self._val(op)
        g = v.group
        n = next((int(a.shape[0]) for a in op.params.values() if a is not None), None)
        if n is not None:
            self._size(g, n, op, "normalises")
        folded = False
        if self.fold:
            folded = self._fold_bn(g, op)
        reason = (
            "BatchNorm: keeps the channel group; folded into the incoming edges"
            if folded
            else "BatchNorm: keeps the channel group (not folded; fold_batchnorm=True folds its "
            "scale into the incoming edges)"
        )
        self._note_tensor(op, dict.fromkeys(op.params, ("normalisation", reason)))
        self.vals[i] = _Val(g, v.layout, v.k)

    def _fold_bn(self, g: int, op: Op) -> bool:
        into = [(k, p) for k, p in self.pieces.items() if k[1] == g]
        if len(into) != 1 or into[0][0][2] != "weight" or len(into[0][1]) != 1:
            raise InputError(
                f"{self._where(op)}: cannot fold this BatchNorm: {self.groups[g].name!r} is not "
                "the output of exactly one weight layer"
            )
        p = op.params
        mean, var = p.get("running_mean"), p.get("running_var")
        if mean is None or var is None:
            raise InputError(
                f"{self._where(op)}: cannot fold a BatchNorm without running statistics"
            )
        eps = float(op.attrs.get("eps", 1e-5))
        gamma = p.get("weight") if p.get("weight") is not None else np.ones_like(mean)
        beta = p.get("bias") if p.get("bias") is not None else np.zeros_like(mean)
        scale = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)
        piece = into[0][1][0]
        m = piece.matrix
        piece.matrix = m.multiply(scale[None, :]).tocsr() if sp.issparse(m) else m * scale[None, :]
        grp = self.groups[g]
        bias = grp.bias if grp.bias is not None else np.zeros(len(scale))
        grp.bias = (bias - mean) * scale + beta
        grp.note = (grp.note + "; " if grp.note else "") + f"BatchNorm {op.name} folded in"
        return True

    def _op_pass(self, i: int, op: Op) -> None:
        v = self.vals.get(op.inputs[0]) if op.inputs else None
        if v is None:
            self.vals[i] = _Val(None, "const")
            return
        act = op.attrs.get("activation")
        if act and v.group is not None and self.groups[v.group].activation is None:
            self.groups[v.group].activation = act
        if v.layout == "scores":
            self.vals[i] = v
            return
        layout = op.attrs.get("layout", v.layout)
        if v.group is not None and op.params:
            self._note_tensor(
                op,
                dict.fromkeys(
                    op.params,
                    (
                        "normalisation" if op.attrs.get("norm") else "skipped",
                        op.attrs.get("param_reason", f"parameter of {op.name} (keeps the units)"),
                    ),
                ),
            )
        self.vals[i] = _Val(v.group, layout, v.k)

    def _op_getitem(self, i: int, op: Op) -> None:
        src = self.ops[op.inputs[0]] if op.inputs else None
        index = op.attrs.get("index")
        if src is not None and src.kind in ("mha", "recurrent"):
            if index != 0:
                raise InputError(
                    f"{self._where(op)} reads output {index!r} of {src.name!r} (its hidden "
                    "state or attention weights), which is not a group of units"
                )
            self._op_pass(i, op)
            return
        v = self._val(op)
        if not self._keeps_units(v, index):
            raise InputError(
                f"{self._where(op)} indexes {self.groups[v.group].name!r} with {index!r}, which "
                "selects some of its units: not supported"
            )
        layout = v.layout
        if (
            v.layout == "tokens"
            and isinstance(index, tuple)
            and len(index) == 2
            and isinstance(index[1], int)
        ):
            layout = "vector"  # one token, e.g. the class token
        self.vals[i] = _Val(v.group, layout, v.k)

    @staticmethod
    def _keeps_units(v: _Val, index: Any) -> bool:
        full = slice(None)
        idx = index if isinstance(index, tuple) else (index,)
        if v.layout == "tokens":
            return len(idx) < 3 or idx[-1] in (full, Ellipsis) or idx[2] == full
        # (batch, units, ...): the unit axis must stay whole
        return len(idx) < 2 or idx[1] == full

    def _op_mean(self, i: int, op: Op) -> None:
        """A reduction (mean, sum, max...) over some axes: allowed over space or tokens."""
        v = self._val(op)
        dims, keep = op.attrs.get("dims", ()), bool(op.attrs.get("keepdim", False))
        nd = op.attrs.get("ndim") or {"spatial": 4, "tokens": 3}.get(v.layout, 2)
        axes = {d % nd for d in dims}
        unit_axis = nd - 1 if v.layout == "tokens" else 1
        if unit_axis in axes or 0 in axes:
            raise InputError(
                f"{self._where(op)} reduces over the units (or the batch) of "
                f"{self.groups[v.group].name!r}: not a map between units"
            )
        layout = v.layout
        if not keep and v.layout == "tokens" and nd - len(axes) == 2:
            layout = "vector"
        if not keep and v.layout == "spatial" and nd - len(axes) == 2:
            layout = "vector"  # global pooling
        self.vals[i] = _Val(v.group, layout, v.k)

    def _op_flatten(self, i: int, op: Op) -> None:
        v = self._val(op)
        k = op.attrs.get("k")
        if v.layout in ("vector", "flat", "tokens"):
            self.vals[i] = _Val(v.group, v.layout, v.k)
            return
        self.vals[i] = _Val(v.group, "flat", None if k is None else int(k))

    def _op_reshape(self, i: int, op: Op) -> None:
        v = self._val(op)
        nd_out = op.attrs.get("ndim_out")
        shape = op.attrs.get("shape")
        in_shape = op.attrs.get("in_shape")
        if nd_out is None and shape is not None:
            nd_out = len(shape)
        grp = self.groups[v.group]
        if shape is not None and in_shape is not None and tuple(shape) == tuple(in_shape):
            self.vals[i] = _Val(v.group, v.layout, v.k)  # a no-op reshape
            return
        if v.layout == "spatial":
            if nd_out == 2:
                C = grp.size
                k = int(shape[1]) // C if shape is not None and C else None
                self.vals[i] = _Val(v.group, "flat", k)
                return
            raise InputError(
                f"{self._where(op)} reshapes the feature map of {grp.name!r} "
                f"into {nd_out if nd_out is not None else 'an unknown number of'} axes: only a "
                "flatten to (batch, features) keeps channels apart"
            )
        touched = any(s == v.group or d == v.group for s, d, _ in self.pieces)
        if grp.origin == "input" and not touched and nd_out is not None and nd_out >= 4:
            # the model's input (rows) reshaped into images: its units are the image channels
            C = int(shape[1]) if shape is not None else op.attrs.get("channels")
            if C is None:
                raise InputError(
                    f"{self._where(op)} reshapes the input into images of unknown channels; "
                    "pass example_input=..."
                )
            grp.size = int(C)
            self.vals[i] = _Val(v.group, "spatial")
            return
        if v.layout == "flat":
            self.vals[i] = _Val(v.group, "flat", v.k)
            return
        layout = v.layout
        if nd_out is not None:
            layout = "vector" if nd_out == 2 else "tokens"
        self.vals[i] = _Val(v.group, layout, v.k)

    def _op_gate(self, i: int, op: Op) -> None:
        v = self._val(op)
        gates = [
            self.vals[j].group
            for j in op.inputs[1:]
            if self.vals.get(j) and self.vals[j].group is not None
        ]
        if gates:
            self.junctions.append(
                {
                    "kind": "gate",
                    "group": self.groups[v.group].name,
                    "gated_by": [self.groups[g].name for g in gates],
                    "note": "a data-dependent product: the gate's group ends here",
                }
            )
        self.vals[i] = _Val(v.group, v.layout, v.k)

    def _data_groups(self, op: Op) -> list[tuple[int, _Val]]:
        out = []
        for j in op.inputs:
            v = self.vals.get(j)
            if v is None or v.layout == "const":
                continue
            if v.group is None:
                raise InputError(f"{self._where(op)} combines attention scores with units")
            out.append((v.group, v))
        return out

    def _op_add(self, i: int, op: Op) -> None:
        vals = [self.vals[j] for j in op.inputs if self.vals.get(j) is not None]
        scores = [v for v in vals if v.layout == "scores"]
        if scores and len(scores) == len([v for v in vals if v.layout != "const"]):
            self.vals[i] = scores[0]  # scores plus a mask or a bias: still scores
            return
        parts = self._data_groups(op)
        if len(parts) == 1:
            self.vals[i] = _Val(parts[0][0], parts[0][1].layout, parts[0][1].k)
            return
        sizes = {self.groups[g].size for g, _ in parts} - {None}
        if len(sizes) > 1:
            names = [self.groups[g].name for g, _ in parts]
            raise InputError(
                f"{self._where(op)} adds groups of different sizes {sorted(sizes)} ({names}): "
                "broadcasting across units is not a residual sum"
            )
        size = sizes.pop() if sizes else None
        if size is not None:
            for g, _ in parts:
                self._size(g, size, op, "adds")
        fresh = []
        for g, _ in parts:
            if self._fresh(g, i) and g not in fresh:
                fresh.append(g)
        name = self.groups[fresh[0]].name if fresh else (op.name or "add")
        J = self._new_group(name, size, "add", i)
        merged, ident = [], []
        for g, _ in parts:
            if g in fresh:
                if self.groups[g].alive:
                    merged.append(self.groups[g].name)
                    self._merge(g, J, 0, "add")
            else:
                ident.append(self.groups[g].name)
                self._identity(g, J, name=f"identity {self.groups[g].name} -> {name}")
        self.junctions.append(
            {"kind": "add", "group": name, "merged": merged, "identity_from": ident}
        )
        self.vals[i] = _Val(J, parts[0][1].layout, parts[0][1].k)

    @staticmethod
    def _is_unit_axis(v: _Val, dim: int, ndim: int | None) -> bool:
        if v.layout in ("spatial", "vector", "flat"):
            nd = ndim or (2 if v.layout != "spatial" else 4)
            return dim % nd == 1
        if v.layout == "tokens":
            return dim == -1 or (ndim is not None and dim % ndim == ndim - 1)
        return dim in (1, -1) if ndim in (None, 2) else dim == 1

    def _op_cat(self, i: int, op: Op) -> None:
        parts = self._data_groups(op)
        if not parts:
            self.vals[i] = _Val(None, "const")
            return
        unit_axis = self._is_unit_axis(
            parts[0][1], int(op.attrs.get("dim", 0)), op.attrs.get("ndim")
        )
        if not unit_axis:
            gs = {g for g, _ in parts}
            if len(gs) == 1:
                v = parts[0][1]
                self.vals[i] = _Val(v.group, v.layout, v.k)
                return
            raise InputError(
                f"{self._where(op)} concatenates different groups along an axis that is not "
                "their unit axis (tokens, batch or space)"
            )
        for g, _ in parts:
            if self.groups[g].size is None:
                raise InputError(f"{self._where(op)}: size of {self.groups[g].name!r} unknown")
        total = sum(self.groups[g].size for g, _ in parts)
        name = op.name or "cat"
        J = self._new_group(name, total, "cat", i)
        offset, record = 0, []
        for g, v in parts:
            gname, n = self.groups[g].name, self.groups[g].size
            if self._fresh(g, i) and self.groups[g].alive and parts.count((g, v)) == 1:
                self._merge(g, J, offset, "cat")
                how = "merged"
            else:
                self._identity(g, J, offset=offset, name=f"identity {gname} -> {name}")
                how = "identity"
            record.append({"part": gname, "offset": offset, "size": n, "as": how})
            offset += n
        self.junctions.append({"kind": "cat", "group": name, "parts": record})
        self.vals[i] = _Val(J, parts[0][1].layout if parts else "vector")

    def _mix(self, i: int, op: Op, values: int, queries: list[int]) -> int:
        v = self.groups[values]
        name = f"{op.name}.mix" if op.kind == "mha" else f"{v.name}.mix"
        self.layer_types.add("attention")
        M = self._new_group(name, v.size, "mix", i, note="attention: values mixed over tokens")
        self._identity(values, M, name=f"identity {v.name} -> {name}")
        self.junctions.append(
            {
                "kind": "attention",
                "group": name,
                "values": v.name,
                "scores_from": [self.groups[q].name for q in queries],
                "note": "the mixing of tokens is data-dependent, not a weight: V joins the mixed "
                "group through an identity block; Q and K end in the scores",
            }
        )
        return M

    def _op_matmul(self, i: int, op: Op) -> None:
        vals = [self.vals.get(j) for j in op.inputs]
        if len(vals) != 2 or any(v is None or v.layout == "const" for v in vals):
            raise InputError(
                f"{self._where(op)}: a matrix product with a tensor that is not a layer's "
                "output (a parameter used by hand?) is not supported; use nn.Linear"
            )
        a, b = vals
        if a.layout == "scores" and b.group is not None:
            M = self._mix(i, op, b.group, list(a.scores_of))
            self.vals[i] = _Val(M, "tokens")
        elif a.group is not None and b.group is not None:
            self.vals[i] = _Val(None, "scores", scores_of=(a.group, b.group))
        else:
            raise InputError(f"{self._where(op)}: a product of attention scores with scores")

    def _op_attention(self, i: int, op: Op) -> None:
        q, k, v = (self.vals.get(j) for j in op.inputs[:3])
        if any(x is None or x.group is None for x in (q, k, v)):
            raise InputError(f"{self._where(op)}: attention needs queries, keys and values")
        M = self._mix(i, op, v.group, [q.group, k.group])
        self.vals[i] = _Val(M, "tokens")

    def _op_mha(self, i: int, op: Op) -> None:
        ins = [self.vals.get(j) for j in op.inputs[:3]]
        if any(x is None or x.group is None for x in ins):
            raise InputError(f"{self._where(op)}: attention needs queries, keys and values")
        p = op.params
        d = int(op.attrs["embed_dim"])
        if p.get("in_proj_weight") is not None:
            Ws = np.split(p["in_proj_weight"], 3, axis=0)
        else:
            Ws = [p["q_proj_weight"], p["k_proj_weight"], p["v_proj_weight"]]
        bs = np.split(p["in_proj_bias"], 3) if p.get("in_proj_bias") is not None else [None] * 3
        qkv = []
        for tag, W, b, x in zip("qkv", Ws, bs, ins):
            self._size(x.group, W.shape[1], op, "takes")
            g = self._new_group(f"{op.name}.{tag}", d, "linear", i, b)
            self._add_piece(
                x.group,
                g,
                "weight",
                W.T,
                name=f"{op.name}.{tag}_proj",
                note="weight",
                layer_type="linear",
                source_shape=W.shape,
            )
            qkv.append(g)
        M = self._mix(i, op, qkv[2], qkv[:2])
        Wo, bo = p["out_proj.weight"], p.get("out_proj.bias")
        out = self._new_group(f"{op.name}.out_proj", Wo.shape[0], "linear", i, bo)
        self._add_piece(
            M,
            out,
            "weight",
            Wo.T,
            name=f"{op.name}.out_proj",
            note="weight",
            layer_type="linear",
            source_shape=Wo.shape,
        )
        self.layer_types.add("attention")
        self._note_tensor(
            op,
            {
                r: ("linear", "") if "weight" in r else ("bias", f"bias of {op.name}")
                for r in op.params
            },
        )
        self.vals[i] = _Val(out, "tokens")

    def _source_layer(self, i: int, op: Op, origin: str, reason: str) -> None:
        size = int(op.attrs["out_size"])
        g = self._new_group(op.name, size, origin, i, note=reason)
        self._note_tensor(op, dict.fromkeys(op.params, ("skipped", reason)))
        self.vals[i] = _Val(g, op.attrs.get("layout", "tokens"))

    def _op_embedding(self, i: int, op: Op) -> None:
        self._source_layer(
            i,
            op,
            "embedding",
            "embedding: a lookup table, not a weight between units (its output is a source group)",
        )

    def _op_recurrent(self, i: int, op: Op) -> None:
        self._source_layer(
            i,
            op,
            "recurrent",
            "recurrent layer (LSTM/GRU/RNN): its weights act "
            "over time steps, not between units of a feed-forward graph; not exported "
            "(its output is a source group)",
        )

    def _op_output(self, i: int, op: Op) -> None:
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
        alive = [g for g in range(len(self.groups)) if self.groups[g].alive]
        for g in alive:
            if self.groups[g].size is None:
                raise InputError(
                    f"{self.source}: the size of {self.groups[g].name!r} is unknown; pass "
                    "example_input=... so one forward pass fixes every shape"
                )
        order = sorted(alive, key=lambda g: (self.groups[g].order, g))
        index = {g: n for n, g in enumerate(order)}
        names = [self.groups[g].name for g in order]
        seen: dict[str, int] = {}
        for n, nm in enumerate(names):  # unique names
            if nm in seen:
                seen[nm] += 1
                names[n] = f"{nm}#{seen[nm]}"
            else:
                seen[nm] = 0
        groups = []
        for n, g in enumerate(order):
            grp = self.groups[g]
            groups.append(GroupSpec(names[n], int(grp.size), grp.bias, grp.origin, grp.note))
        blocks = []
        for (s, d, kind), plist in sorted(
            self.pieces.items(), key=lambda kv: (index[kv[0][1]], index[kv[0][0]], kv[0][2])
        ):
            if not (self.groups[s].alive and self.groups[d].alive):
                continue
            n_s, n_d = self.groups[s].size, self.groups[d].size
            first = plist[0]
            if (
                len(plist) == 1
                and not sp.issparse(first.matrix)
                and first.offset == 0
                and first.matrix.shape == (n_s, n_d)
            ):
                blocks.append(
                    BlockSpec(
                        first.name,
                        index[s],
                        index[d],
                        kind,
                        first.matrix,
                        first.note,
                        first.layer_type,
                        first.source_shape,
                    )
                )
                continue
            if all(sp.issparse(p.matrix) for p in plist):  # identity / grouped pieces: COO
                rows, cols, vals = [], [], []
                for p in plist:
                    c = p.matrix.tocoo()
                    if c.shape[0] != n_s or p.offset + c.shape[1] > n_d:
                        raise InputError(
                            f"{self.source}: block {p.name!r} of shape {c.shape} does not fit "
                            f"{names[index[s]]!r} ({n_s}) -> {names[index[d]]!r} ({n_d})"
                        )
                    rows.append(c.row)
                    cols.append(c.col + p.offset)
                    vals.append(c.data.astype(np.float64))
                block = sp.coo_array(
                    (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                    shape=(n_s, n_d),
                ).tocsr()
                block.sum_duplicates()
                if block.nnz == n_s * n_d:
                    block = block.toarray()
            else:
                acc = np.zeros((n_s, n_d), dtype=np.float64)
                cover = np.zeros((n_s, n_d), dtype=bool)
                for p in plist:
                    m = p.matrix
                    w = m.shape[1]
                    if m.shape[0] != n_s or p.offset + w > n_d:
                        raise InputError(
                            f"{self.source}: block {p.name!r} of shape {m.shape} does not fit "
                            f"{names[index[s]]!r} ({n_s}) -> {names[index[d]]!r} ({n_d}) "
                            f"at offset {p.offset}"
                        )
                    if sp.issparse(m):
                        c = m.tocoo()
                        acc[c.row, c.col + p.offset] += c.data
                        cover[c.row, c.col + p.offset] = True
                    else:
                        acc[:, p.offset : p.offset + w] += np.asarray(m, dtype=np.float64)
                        cover[:, p.offset : p.offset + w] = True
                block = (
                    acc
                    if cover.all()
                    else sp.csr_array(
                        (
                            acc[cover],
                            np.nonzero(cover)[1],
                            np.concatenate([[0], np.cumsum(cover.sum(axis=1))]),
                        ),
                        shape=(n_s, n_d),
                    )
                )
            bname = "+".join(dict.fromkeys(p.name for p in plist))
            note = "; ".join(dict.fromkeys(p.note for p in plist))
            blocks.append(
                BlockSpec(
                    bname,
                    index[s],
                    index[d],
                    kind,
                    block,
                    note,
                    first.layer_type,
                    first.source_shape,
                )
            )
        acts = [self.groups[g].activation or "identity" for g in order]
        meta = dict(meta)
        meta["activations"] = acts
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
