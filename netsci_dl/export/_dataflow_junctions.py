"""Junctions of the data-flow resolution: ops that keep a group (activations, pooling,
flatten, reshapes, gates) and ops that join groups (residual adds, concatenations, attention)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl.errors import InputError
from netsci_dl.export._dataflow_shapes import layout_of
from netsci_dl.export._ops import Op, _Val

__all__ = ["JunctionOps"]


class JunctionOps:
    """The op handlers that keep or join node groups (a mixin of the resolver)."""

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
        self.vals[i] = v.keep(layout=layout) if layout != v.layout else v.keep()

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
        self.vals[i] = _Val(v.group, layout, v.k)  # the axes are not known here

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
        unit_axes = v.axes if v.axes is not None else (nd - 1 if v.layout == "tokens" else 1,)
        if set(unit_axes) <= axes and 0 not in axes and keep:
            # a statistic of the units (a norm's mean or variance): no units of its own, it may
            # only scale or shift the units it came from
            self.vals[i] = _Val(None, "stat", scores_of=(v.group,))
            return
        if set(unit_axes) & axes or 0 in axes:
            raise InputError(
                f"{self._where(op)} reduces over the units (or the batch) of "
                f"{self.groups[v.group].name!r}: not a map between units"
            )
        layout = v.layout
        if not keep and v.layout == "tokens" and nd - len(axes) == 2:
            layout = "vector"
        if not keep and v.layout == "spatial" and nd - len(axes) == 2:
            layout = "vector"  # global pooling
        if v.axes is not None and v.nd is not None:
            new = v.axes if keep else tuple(a - sum(d < a for d in axes) for a in v.axes)
            n_out = v.nd if keep else v.nd - len(axes)
            self.vals[i] = v.keep(axes=new, nd=n_out, layout=layout_of(new, n_out))
            return
        self.vals[i] = _Val(v.group, layout, v.k)

    def _op_flatten(self, i: int, op: Op) -> None:
        v = self._val(op)
        if (op.attrs.get("start", 1), op.attrs.get("end", -1)) != (1, -1):
            raise InputError(
                f"{self._where(op)}: flatten(start_dim={op.attrs.get('start')}, end_dim="
                f"{op.attrs.get('end')}) of a value whose unit axis is not known: "
                f"{self._shapes_hint()}"
            )
        k = op.attrs.get("k")
        if v.layout in ("vector", "flat", "tokens"):
            self.vals[i] = v.keep()
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
            self.vals[i] = v.keep()  # a no-op reshape
            return
        if v.layout == "spatial":
            if nd_out == 2:
                C = grp.size
                k = int(shape[1]) // C if shape is not None and C else None
                self.vals[i] = _Val(v.group, "flat", k)
                return
            raise InputError(
                f"{self._where(op)} reshapes the feature map of {grp.name!r} "
                f"into {nd_out if nd_out is not None else 'an unknown number of'} axes, and "
                f"netsci_dl cannot follow the channel axis: {self._shapes_hint()}"
            )
        touched = any(s == v.group or d == v.group for s, d, _ in self.pieces)
        if grp.origin == "input" and not touched and nd_out is not None and nd_out >= 4:
            # the model's input (rows) reshaped into images: its units are the image channels
            C = int(shape[1]) if shape is not None else op.attrs.get("channels")
            if C is None:
                raise InputError(
                    f"{self._where(op)} reshapes the input into images of unknown channels; "
                    f"{self._shapes_hint()}"
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
        self.vals[i] = v.keep()

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
            self.vals[i] = parts[0][1].keep(parts[0][0])
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
        self.vals[i] = parts[0][1].keep(J)

    @staticmethod
    def _is_unit_axis(v: _Val, dim: int, ndim: int | None) -> bool:
        if v.axes is not None and (ndim or v.nd):
            return dim % (ndim or v.nd) in v.axes
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
                self.vals[i] = parts[0][1].keep()
                return
            raise InputError(
                f"{self._where(op)} concatenates different groups along an axis that is not "
                "their unit axis (tokens, batch or space)"
            )
        seen = [g for g, _ in parts]
        twice = sorted({self.groups[g].name for g in seen if seen.count(g) > 1})
        if twice:
            raise InputError(
                f"{self._where(op)} concatenates {twice} with itself along the unit axis: it "
                "repeats the units (like cat(h, h)), which no weight describes"
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
        self.vals[i] = parts[0][1].keep(J, k=None, inner=None)

    def _mix(
        self,
        i: int,
        op: Op,
        values: int,
        queries: list[int],
        sel: tuple | None = None,
        shared: Any = None,
    ) -> int:
        """The group of the values mixed over tokens. ``sel``: the values are units
        ``[start, stop)`` of their group (a fused QKV projection, split); ``shared``: the 0/1
        matrix (values, heads) by which grouped-query attention shares each key/value head among
        several query heads."""
        v = self.groups[values]
        name = f"{op.name}.mix" if op.kind == "mha" else f"{v.name}.mix"
        self.layer_types.add("attention")
        n_sel = v.size if sel is None else sel[1] - sel[0]
        size = n_sel if shared is None else shared.shape[1]
        M = self._new_group(name, size, "mix", i, note="attention: values mixed over tokens")
        if sel is None and shared is None:
            self._identity(values, M, name=f"identity {v.name} -> {name}")
        else:
            self._add_piece(
                values,
                M,
                "identity",
                _mix_block(v.size, sel, shared),
                name=f"identity {v.name}{'' if sel is None else f'[{sel[0]}:{sel[1]}]'} -> {name}",
                note="identity"
                + ("" if sel is None else f" from units {sel[0]}:{sel[1]}")
                + (
                    "" if shared is None else " (each key/value head shared by several query heads)"
                ),
                layer_type="identity",
            )
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
            if b.layout == "part" and b.sel is None:
                self._refuse_partial(op, b)
            M = self._mix(i, op, b.group, list(a.scores_of), b.sel)
            self.vals[i] = self._mixed(b, M)
        elif a.group is not None and b.group is not None:
            self.vals[i] = _Val(None, "scores", scores_of=(a.group, b.group))
        else:
            raise InputError(f"{self._where(op)}: a product of attention scores with scores")

    def _op_attention(self, i: int, op: Op) -> None:
        q, k, v = (self.vals.get(j) for j in op.inputs[:3])
        if any(x is None or x.group is None for x in (q, k, v)):
            raise InputError(f"{self._where(op)}: attention needs queries, keys and values")
        if v.layout == "part" and v.sel is None:
            self._refuse_partial(op, v)
        M = self._mix(i, op, v.group, [q.group, k.group], v.sel)
        self.vals[i] = self._mixed(v, M)

    def _mixed(self, v: _Val, M: int) -> _Val:
        """The value of the mixed group ``M``: where ``v``'s units were, all of ``M``'s."""
        if v.axes is None:
            return _Val(M, "tokens")
        return v.keep(M, sel=None, layout=layout_of(v.axes, v.nd) if v.nd else "tokens")

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
        bs = [p.get(f"{t}_bias") for t in "qkv"]  # separate biases (grouped-query attention)
        if p.get("in_proj_bias") is not None:
            bs = np.split(p["in_proj_bias"], 3)
        qkv = []
        for tag, W, b, x in zip("qkv", Ws, bs, ins):
            self._size(x.group, W.shape[1], op, "takes")
            g = self._new_group(f"{op.name}.{tag}", int(W.shape[0]), "linear", i, b)
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
        M = self._mix(i, op, qkv[2], qkv[:2], shared=_shared_heads(op, Ws[2].shape[0], d))
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
        nd = len(op.attrs["shape"]) if op.attrs.get("shape") is not None else None
        self.vals[i] = _Val(out, "tokens", nd=nd, axes=None if nd is None else (nd - 1,))


def _shared_heads(op: Op, n_values: int, d: int) -> Any:
    """None when every query head has its own values; else the 0/1 matrix ``(n_values, d)``
    giving each query head's units the units of the key/value head it shares (grouped-query
    attention: query head ``h`` reads key/value head ``h // (heads / kv_heads)``)."""
    import scipy.sparse as sp

    if n_values == d:
        return None
    hd = op.attrs.get("head_dim")
    if not hd or n_values % hd or d % hd or (d // hd) % (n_values // hd):
        raise InputError(
            f"{op.name}: {n_values} value units for {d} query units, with no head size that "
            "shares them between heads"
        )
    rep = (d // hd) // (n_values // hd)
    cols = np.arange(d)
    rows = (cols // hd // rep) * hd + cols % hd
    return sp.csr_array((np.ones(d), (rows, cols)), shape=(n_values, d))


def _mix_block(n_values: int, sel: tuple | None, shared: Any) -> Any:
    """The 0/1 block from the values' group into the mixed group: the selected units
    ``[start, stop)`` (all without ``sel``), then each shared among query heads (``shared``)."""
    n_sel = n_values if sel is None else sel[1] - sel[0]
    start = 0 if sel is None else sel[0]
    S = sp.csr_array(
        (np.ones(n_sel), (np.arange(start, start + n_sel), np.arange(n_sel))),
        shape=(n_values, n_sel),
    )
    if shared is not None:
        S = sp.csr_array(S @ shared)
    S.sum_duplicates()
    S.sort_indices()
    return S
