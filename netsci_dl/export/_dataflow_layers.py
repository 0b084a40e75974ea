"""Weight layers of the data-flow resolution: Linear, convolutions, BatchNorm, and the
source layers (embeddings, recurrent layers) that are not exported."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl.errors import InputError
from netsci_dl.export._dataflow_shapes import layout_of
from netsci_dl.export._ops import Op, _Val
from netsci_dl.export.conv import conv_block, flatten_block, kernel_note, reduce_kernels

__all__ = ["LayerOps"]


class LayerOps:
    """The op handlers that make node groups and ``weight`` blocks (a mixin of the resolver)."""

    def _weight_layer(
        self, i: int, op: Op, src: int, block: Any, n_out: int, kind: str, note: str, layout: str
    ) -> None:
        """A weight layer: the group of its ``n_out`` outputs and a ``weight`` block from ``src``."""
        out = self._new_group(op.name, n_out, kind, i, op.params.get("bias"))
        self._add_piece(
            src,
            out,
            "weight",
            block,
            name=op.name,
            note=note,
            layer_type=kind,
            source_shape=op.params["weight"].shape,
        )
        self.layer_types.add(kind)
        self._note_tensor(op, {"weight": (kind, ""), "bias": ("bias", f"bias of {op.name}")})
        shape = op.attrs.get("shape")
        nd = len(shape) if shape is not None else None
        axes = None if nd is None else ((1,) if layout == "spatial" else (nd - 1,))
        self.vals[i] = _Val(out, layout_of(axes, nd) if axes else layout, nd=nd, axes=axes)

    def _op_linear(self, i: int, op: Op) -> None:
        v = self._val(op)
        W = op.params["weight"]
        if W.ndim != 2:
            raise InputError(f"{self._where(op)}: a Linear weight must be 2-D, got {W.shape}")
        g = v.group
        n_in = W.shape[1]
        if v.layout in ("spatial", "moved", "heads"):
            where = "a feature map (channels first)" if v.layout == "spatial" else "this value"
            raise InputError(
                f"{self._where(op)} acts on the last axis of {where}, which is not the unit axis "
                f"of {self.groups[g].name!r} (axes {v.axes}): flatten, pool or permute first"
            )
        if v.layout == "flat":
            block, note = self._flat_block(op, v, W)
        else:
            self._size(g, n_in, op, "takes")
            block, note = W.T, "weight"
        self._weight_layer(
            i,
            op,
            g,
            block,
            W.shape[0],
            "linear",
            note,
            "tokens" if v.layout == "tokens" else "vector",
        )

    def _flat_block(self, op: Op, v: _Val, W: np.ndarray) -> tuple[Any, str]:
        """The block of a Linear layer reading a flattened map, aggregated per unit in the
        order the model flattens (``v.inner``: features per step of the unit index)."""
        g, n_in = v.group, W.shape[1]
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
        inner = k if v.inner is None else int(v.inner)
        block = flatten_block(W, C, self.reduce, inner=inner)
        if k == 1:
            return block, "weight"
        order = "channel-major" if inner == k else f"{inner} features per channel step"
        note = f"{self.reduce} over the {k} features of each channel (flatten, {order})"
        return block, note

    def _op_conv(self, i: int, op: Op) -> None:
        v = self._val(op)
        W = op.params["weight"]
        groups = int(op.attrs.get("groups", 1))
        in_shape = self._shape(op.inputs[0])
        if v.axes not in (None, (1,)) and self._untouched_input(v) and in_shape is not None:
            # the model's input (rows, or samples) reshaped into images: its units are channels
            self.groups[v.group].size = int(in_shape[1])
            v = v.keep(axes=(1,), layout="spatial", k=None, inner=None)
        if v.layout in ("flat", "tokens", "moved", "heads"):
            raise InputError(
                f"{self._where(op)}: a convolution reads {self.groups[v.group].name!r}, whose "
                "units are not channels of a feature map"
            )
        g = v.group
        self._size(g, W.shape[1] * groups, op, "takes")
        block = conv_block(W, self.groups[g].size, self.reduce).astype(np.float32)
        note = kernel_note(self.reduce, tuple(W.shape[2:]), groups)
        layout = op.attrs.get("layout", "spatial")  # "tokens": patches embedded as tokens
        self._weight_layer(i, op, g, block, W.shape[0], "conv", note, layout)

    def _op_conv_transpose(self, i: int, op: Op) -> None:
        v = self._val(op)
        W = op.params["weight"]  # (in, out / groups, *k)
        if int(op.attrs.get("groups", 1)) != 1:
            raise InputError(
                f"{self._where(op)}: grouped transposed convolutions are not supported"
            )
        g = v.group
        self._size(g, W.shape[0], op, "takes")
        block = reduce_kernels(W, self.reduce)  # (in, out): already block orientation
        kernel = "x".join(map(str, W.shape[2:]))
        note = f"{self.reduce} of each {kernel} kernel (transposed conv)"
        self._weight_layer(i, op, g, block, W.shape[1], "conv", note, "spatial")

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
        self.vals[i] = v.keep()

    def _op_scale(self, i: int, op: Op) -> None:
        """A per-unit scale by a parameter (LayerScale): kept like BatchNorm, folded into the
        incoming edges with ``fold_batchnorm=True``."""
        u = self.vals.get(op.inputs[0])
        if u is not None and u.layout in ("part", "rotated", "stat"):
            self.vals[i] = u  # a rotary embedding's sin, a norm's weight on its statistic
            return
        v = self._val(op)
        g = v.group
        gamma = np.asarray(op.params["weight"], dtype=np.float64)
        n = self.groups[g].size
        axes = self._unit_axes(v)
        per_unit = n is not None and gamma.size == n
        if per_unit and n > 1 and axes is not None and v.nd is not None:
            at = axes[0] - (v.nd - gamma.ndim)  # broadcasting aligns the axes to the right
            per_unit = len(axes) == 1 and 0 <= at < gamma.ndim and gamma.shape[at] == n
        if not per_unit:  # a constant of another shape (rotary cos/sin): elementwise, units kept
            reason = f"an elementwise product of shape {gamma.shape} (keeps the units)"
            self._note_tensor(op, {"weight": ("skipped", reason)})
            self.vals[i] = v.keep()
            return
        if self.fold:
            self._fold_affine(g, op, gamma.reshape(-1), None, "LayerScale")
            reason = "LayerScale: a per-unit scale, folded into the incoming edges"
        else:
            reason = (
                "LayerScale: a per-unit scale, keeps the group (not folded; fold_batchnorm=True "
                "folds it into the incoming edges)"
            )
        self._note_tensor(op, {"weight": ("normalisation", reason)})
        self.vals[i] = v.keep()

    def _fold_affine(
        self, g: int, op: Op, scale: np.ndarray, shift: np.ndarray | None, what: str
    ) -> None:
        """Fold ``y = x * scale + shift`` per unit into the one weight block ending in ``g``."""
        into = [(k, p) for k, p in self.pieces.items() if k[1] == g]
        if len(into) != 1 or into[0][0][2] != "weight" or len(into[0][1]) != 1:
            raise InputError(
                f"{self._where(op)}: cannot fold this {what}: {self.groups[g].name!r} is not "
                "the output of exactly one weight layer"
            )
        piece = into[0][1][0]
        m = piece.matrix
        piece.matrix = m.multiply(scale[None, :]).tocsr() if sp.issparse(m) else m * scale[None, :]
        grp = self.groups[g]
        bias = grp.bias if grp.bias is not None else np.zeros(len(scale))
        grp.bias = bias * scale + (0 if shift is None else shift)
        grp.note = (grp.note + "; " if grp.note else "") + f"{what} {op.name} folded in"

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
