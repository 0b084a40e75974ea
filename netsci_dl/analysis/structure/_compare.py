"""The whole structural pass on one graph, and two checkpoints side by side.

:func:`structural_summary` computes every quantity of :mod:`~netsci_dl.analysis.structure.distributions`
and :mod:`~netsci_dl.analysis.structure.assortativity` for a graph and its thresholding;
:func:`compare` does it for two graphs (e.g. before and after learning) and tabulates the shift
``after - before`` of every scalar (T18's headline: after learning the weight mean moves negative
and the skewness grows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl.analysis.structure.assortativity import (
    DegreeStrengthCorrelation,
    KnnCurve,
    average_neighbor_degree,
    block_assortativity,
    degree_assortativity,
    degree_strength_correlation,
    knn_curve,
    strength_assortativity,
)
from netsci_dl.analysis.structure.distributions import (
    WeightDistribution,
    degree,
    strength,
    weight_stats,
)
from netsci_dl.analysis.structure.fits import FitResult, fit_distributions
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = [
    "StructureSummary",
    "structural_summary",
    "StructureComparison",
    "compare",
    "CONVENTIONS",
]

#: the choices every summary records (and the report prints)
CONVENTIONS = {
    "strength": "s_up(i) = sum_j W_ij towards the next layer, signed (T18); the last layer uses "
    "s_down (incoming); s_tot = s_up + s_down; computed on the full graph",
    "degree": "k_down / k_up / k_tot counted on the thresholded graph; isolated nodes kept (k=0)",
    "weights": "signed weights of the full graph; skewness = biased g1, kurtosis = biased excess",
    "assortativity": "Newman r on the thresholded graph seen undirected (== networkx "
    "degree_assortativity_coefficient); per block: degrees inside the block",
    "knn": "knn(i) = (1/k_i) sum_j A_ij k_j; Barrat knn_w(i) = (1/s_i) sum_j |w_ij| A_ij k_j; "
    "NaN for isolated nodes; reference <k^2>/<k>",
    "degree_strength": "per layer Pearson / Spearman of (k_up, s_up): k thresholded, s signed full",
    "fits": "degree k_tot > 0: MLE of power law / exponential / lognormal (discrete forms), "
    "xmin by KS (Clauset-Shalizi-Newman), compared with Vuong's likelihood-ratio test",
}


@dataclass(frozen=True)
class StructureSummary:
    """Every structural quantity of one graph (full ``G``) and its thresholding ``H``."""

    name: str
    threshold: str
    threshold_record: dict[str, Any]
    layer_names: tuple[str, ...]
    layer_sizes: tuple[int, ...]
    block_names: tuple[str, ...]
    block_edges_kept: tuple[int, ...]
    block_edges_total: tuple[int, ...]
    weights: WeightDistribution
    nodes: dict[str, np.ndarray]
    r: float
    r_blocks: tuple[float, ...]
    r_strength: float
    knn: KnnCurve
    knn_blocks: tuple[KnnCurve, ...]
    degree_strength: DegreeStrengthCorrelation
    degree_fit: FitResult
    conventions: dict[str, str] = field(default_factory=lambda: dict(CONVENTIONS))
    block_values: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def scalars(self) -> dict[str, float]:
        """Every scalar, flat: ``"weights.L0-L1.mean"``, ``"r"``, ``"pearson.L1"``..."""
        out: dict[str, float] = {
            "r": self.r,
            "r_strength_abs": self.r_strength,
            "knn_reference": self.knn.reference,
        }
        for s in (*self.weights.blocks, self.weights.overall):
            for k, v in s.scalars().items():
                out[f"weights.{s.name}.{k}"] = float(v)
        for b, r in zip(self.block_names, self.r_blocks):
            out[f"r.{b}"] = r
        for b, kept in zip(self.block_names, self.block_edges_kept):
            out[f"edges_kept.{b}"] = float(kept)
        lay = self.layers_frame()
        for col in (
            "k_tot_mean",
            "k_tot_max",
            "isolated",
            "s_up_mean",
            "s_up_std",
            "s_up_frac_negative",
            "pearson_k_s",
            "spearman_k_s",
        ):
            for name, v in zip(lay.index, lay[col]):
                out[f"{col}.{name}"] = float(v)
        pl = [f for f in self.degree_fit.fits if f.name == "power_law"]
        out["degree_fit.xmin"] = float(self.degree_fit.xmin)
        if pl:
            out["degree_fit.power_law.alpha"] = float(pl[0].params["alpha"])
            out["degree_fit.power_law.ks"] = pl[0].ks
        return out

    def layers_frame(self) -> Any:
        """One row per layer: size, degree and strength summaries, degree-strength correlation."""
        import pandas as pd

        nd = self.nodes
        off = np.concatenate([[0], np.cumsum(self.layer_sizes)])
        rows = []
        for l, name in enumerate(self.layer_names):
            sl = slice(off[l], off[l + 1])
            k, s = nd["k_tot"][sl], nd["s_up"][sl]
            n = len(k)
            rows.append(
                {
                    "layer": name,
                    "n": n,
                    "k_down_mean": _mean(nd["k_down"][sl]),
                    "k_up_mean": _mean(nd["k_up"][sl]),
                    "k_tot_mean": _mean(k),
                    "k_tot_max": float(k.max()) if n else np.nan,
                    "isolated": int(np.count_nonzero(k == 0)),
                    "s_up_mean": _mean(s),
                    "s_up_std": float(s.std()) if n else np.nan,
                    "s_up_frac_negative": float(np.mean(s < 0)) if n else np.nan,
                    "s_down_mean": _mean(nd["s_down"][sl]),
                    "s_abs_tot_mean": _mean(nd["s_abs_tot"][sl]),
                    "knn_mean": float(np.nanmean(nd["knn"][sl]))
                    if np.isfinite(nd["knn"][sl]).any()
                    else np.nan,
                    "pearson_k_s": self.degree_strength.pearson[l],
                    "spearman_k_s": self.degree_strength.spearman[l],
                }
            )
        return pd.DataFrame(rows).set_index("layer")

    def blocks_frame(self) -> Any:
        """One row per block (+ ``all``): weight statistics, edges kept, per-block ``r``."""
        df = self.weights.to_frame()
        df["edges_total"] = [*self.block_edges_total, sum(self.block_edges_total)]
        df["edges_kept"] = [*self.block_edges_kept, sum(self.block_edges_kept)]
        df["r_degree"] = [*self.r_blocks, self.r]
        return df

    def nodes_frame(self) -> Any:
        """One row per node: ``node, layer, layer_name, index``, degrees, strengths, ``knn``."""
        import pandas as pd

        layer = self.nodes["layer"]
        df = pd.DataFrame(
            {
                "node": np.arange(len(layer)),
                "layer": layer,
                "layer_name": np.asarray(self.layer_names, dtype=object)[layer],
            }
        )
        for k, v in self.nodes.items():
            if k != "layer":
                df[k] = v
        return df

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: every scalar, the per-block statistics, curves, fits and conventions."""
        return {
            "name": self.name,
            "threshold": self.threshold,
            "threshold_record": self.threshold_record,
            "layers": dict(zip(self.layer_names, self.layer_sizes)),
            "scalars": self.scalars(),
            "weights": self.weights.to_dict(),
            "knn": self.knn.to_dict(),
            "knn_blocks": [c.to_dict() for c in self.knn_blocks],
            "degree_strength": self.degree_strength.to_dict(),
            "degree_fit": self.degree_fit.to_dict(),
            "conventions": dict(self.conventions),
        }

    def __repr__(self) -> str:
        from netsci_dl._results import short, summary

        return summary(
            "StructureSummary",
            short(self.name),
            layer_sizes=self.layer_sizes,
            threshold=self.threshold,
            edges_kept=f"{sum(self.block_edges_kept)} of {sum(self.block_edges_total)}",
            r=self.r,
            r_strength=self.r_strength,
            degree_fit=self.degree_fit.best or "none",
        )


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if len(x) else np.nan


def _thresholded(G: LayeredGraph, threshold: Any) -> tuple[LayeredGraph, str]:
    from netsci_dl.threshold import apply_spec

    if isinstance(threshold, LayeredGraph):
        if threshold.layer_sizes != G.layer_sizes:
            raise InputError(
                f"threshold graph has layers {threshold.layer_sizes}, G has {G.layer_sizes}"
            )
        recs = threshold.meta.get("thresholds") or [{}]
        return threshold, str(recs[-1].get("rule", "given"))
    if not isinstance(threshold, str):
        raise TypeError(
            f"threshold must be a spec string like 'quantile:0.95' or a LayeredGraph, "
            f"got {type(threshold).__name__}"
        )
    return apply_spec(G, threshold), threshold


def _notes(G: LayeredGraph, H: LayeredGraph, spec: str, wb: list[int]) -> list[str]:
    """Why some quantities are undefined (NaN) or panels empty, in words for the report."""
    out = []
    kept = H.block_n_edges
    for b in wb:
        if kept[b] == 0:
            out.append(
                f"block {G.block_names[b]} keeps no edge at {spec}: its degrees are 0 and its "
                "per-block r and k_nn are undefined; lower the cut or threshold per block "
                "(quantile-block:0.95)"
            )
    from netsci_dl.analysis.structure.distributions import degree

    k = degree(H, direction="up")
    for g, name in enumerate(G.layer_names):
        kg = k[G.layer_slice(g)]
        if len(kg) > 1 and np.ptp(kg) == 0:
            out.append(
                f"layer {name}: every unit has degree {int(kg[0])} after thresholding, so the "
                "degree-strength correlation is undefined"
            )
    return out


def structural_summary(
    G: LayeredGraph,
    *,
    threshold: str | LayeredGraph = "auto",
    name: str | None = None,
) -> StructureSummary:
    """Every quantity of the structural analysis for one graph.

    Parameters
    ----------
    G : LayeredGraph
        The full (weighted) graph: weights and strengths come from it.
    threshold : str or LayeredGraph
        A rule for :func:`netsci_dl.threshold.apply_spec` (default ``"auto"``: keep the 5%
        largest ``|w|``, per block when blocks hold different kinds of values), or an already
        thresholded version of ``G``. Degrees, assortativity, ``knn`` come from the thresholded
        graph. Per-block quantities are for the weight blocks (identity blocks carry no learned
        weight).
    name : str, optional
        Model name for reports; default ``G.meta["source"]`` or ``"model"``.

    Returns
    -------
    StructureSummary

    Examples
    --------
    >>> import numpy as np
    >>> import netsci_dl as nd
    >>> rng = np.random.default_rng(0)
    >>> G = nd.from_matrices([rng.normal(size=(4, 3)), rng.normal(size=(3, 2))])
    >>> S = structural_summary(G, threshold="quantile:0.5")
    >>> S.nodes["k_tot"].tolist()
    [1, 0, 3, 2, 3, 4, 2, 2, 1]
    """
    H, spec = _thresholded(G, threshold)
    name = name or str(G.meta.get("name") or G.meta.get("source") or "model")
    nl = G.node_layer
    nodes = {
        "layer": nl,
        "index": G.node_index,
        "k_down": degree(H, direction="down", fallback=False),
        "k_up": degree(H, direction="up", fallback=False),
        "k_tot": degree(H, direction="total"),
        "s_up": strength(G, direction="up"),
        "s_down": strength(G, direction="down", fallback=False),
        "s_tot": strength(G, direction="total"),
        "s_abs_tot": strength(G, direction="total", weights="abs"),
        "s_pos_up": strength(G, direction="up", weights="pos"),
        "s_neg_up": strength(G, direction="up", weights="neg"),
        "knn": average_neighbor_degree(H),
        "knn_w": average_neighbor_degree(H, weights="abs"),
    }
    if "bias" in G.node_attrs:
        bias = np.asarray(G.node_attrs["bias"], dtype=np.float64).copy()
        has = G.node_attrs.get("has_bias")
        if has is not None:
            bias[~np.asarray(has)] = np.nan  # the table shows no value for a unit without bias
        nodes["bias"] = bias
    recs = H.meta.get("thresholds") or [{}]
    wb = [b for b, k in enumerate(G.block_kinds) if k != "identity"]
    r_all = block_assortativity(H)
    from netsci_dl.threshold import block_value_kinds

    kinds = block_value_kinds(G)
    notes = _notes(G, H, spec, wb)
    return StructureSummary(
        name=name,
        threshold=spec,
        threshold_record=dict(recs[-1]),
        layer_names=tuple(G.layer_names),
        layer_sizes=tuple(G.layer_sizes),
        block_names=tuple(G.block_names[b] for b in wb),
        block_values=tuple(kinds[b] for b in wb),
        notes=tuple(notes),
        block_edges_kept=tuple(H.block_n_edges[b] for b in wb),
        block_edges_total=tuple(G.block_n_edges[b] for b in wb),
        weights=weight_stats(G),
        nodes=nodes,
        r=float(degree_assortativity(H)),
        r_blocks=tuple(float(r_all[b]) for b in wb),
        r_strength=strength_assortativity(G, weights="abs"),
        knn=knn_curve(H),
        knn_blocks=tuple(knn_curve(H, block=b) for b in wb),
        degree_strength=degree_strength_correlation(G, H, direction="up"),
        degree_fit=fit_distributions(nodes["k_tot"]),
    )


@dataclass(frozen=True)
class StructureComparison:
    """Two structural summaries (``before``, ``after``) and the shift of every scalar."""

    before: StructureSummary
    after: StructureSummary

    def shifts(self) -> dict[str, tuple[float, float, float]]:
        """``name -> (before, after, after - before)`` for every scalar both summaries have."""
        a, b = self.before.scalars(), self.after.scalars()
        return {k: (a[k], b[k], b[k] - a[k]) for k in a if k in b}

    def to_frame(self) -> Any:
        """One row per scalar: ``before``, ``after``, ``shift``."""
        import pandas as pd

        rows = [
            {"quantity": k, "before": v[0], "after": v[1], "shift": v[2]}
            for k, v in self.shifts().items()
        ]
        return pd.DataFrame(rows).set_index("quantity")

    def to_dict(self) -> dict[str, Any]:
        return {
            "before": self.before.name,
            "after": self.after.name,
            "shifts": {
                k: {"before": v[0], "after": v[1], "shift": v[2]} for k, v in self.shifts().items()
            },
        }

    def __repr__(self) -> str:
        from netsci_dl._results import short, summary

        return summary(
            "StructureComparison",
            f"{short(self.before.name)} -> {short(self.after.name)}",
            quantities=len(self.shifts()),
            layer_sizes=self.before.layer_sizes,
        )


def _by_position(a: StructureSummary, b: StructureSummary) -> StructureSummary:
    """``b`` with the layer and block names of ``a`` (same architecture by position)."""
    import dataclasses

    if len(a.layer_sizes) != len(b.layer_sizes) or len(a.block_names) != len(b.block_names):
        raise InputError(
            f"compare_by='position' needs the same number of layers and blocks: "
            f"{len(a.layer_sizes)} layers / {len(a.block_names)} blocks vs "
            f"{len(b.layer_sizes)} / {len(b.block_names)}"
        )
    names = dict(zip(b.block_names, a.block_names))
    weights = dataclasses.replace(
        b.weights,
        blocks=tuple(
            dataclasses.replace(w, name=names.get(w.name, w.name)) for w in b.weights.blocks
        ),
    )
    ds = dataclasses.replace(b.degree_strength, layers=tuple(a.layer_names))
    return dataclasses.replace(
        b, layer_names=a.layer_names, block_names=a.block_names, weights=weights, degree_strength=ds
    )


def compare(
    G_before: LayeredGraph | StructureSummary,
    G_after: LayeredGraph | StructureSummary,
    *,
    threshold: str = "auto",
    names: tuple[str, str] = ("before", "after"),
    compare_by: str = "name",
) -> StructureComparison:
    """The structural statistics of two checkpoints side by side, with the shift of each.

    Each graph is thresholded by the same rule (a quantile rule gives each graph its own cut).
    Summaries already computed may be passed instead of graphs.

    Parameters
    ----------
    G_before, G_after : LayeredGraph or StructureSummary
    threshold : str
        The rule for both (default ``"auto"``).
    names : (str, str)
    compare_by : {"name", "position"}
        ``"name"`` (default): layers and blocks are paired by name, and any name the two do not
        share is an error that lists them (never a silently shorter table). ``"position"``:
        pair them by index (same number of layers and blocks), e.g. two architectures whose
        layers are named differently.

    Examples
    --------
    >>> import numpy as np
    >>> import netsci_dl as nd
    >>> rng = np.random.default_rng(0)
    >>> A = nd.from_matrices([rng.normal(size=(4, 3))])
    >>> B = nd.from_matrices([rng.normal(-1.0, 1.0, size=(4, 3))])
    >>> c = compare(A, B, threshold="quantile:0.5")
    >>> c.shifts()["weights.all.mean"][2] < 0
    True
    """
    if compare_by not in ("name", "position"):
        raise InputError(f"compare_by must be 'name' or 'position', got {compare_by!r}")

    def summ(G: Any, nm: str) -> StructureSummary:
        return (
            G
            if isinstance(G, StructureSummary)
            else structural_summary(G, threshold=threshold, name=nm)
        )

    a, b = summ(G_before, names[0]), summ(G_after, names[1])
    if compare_by == "position":
        b = _by_position(a, b)
    else:
        la, lb = set(a.layer_names), set(b.layer_names)
        ba, bb = set(a.block_names), set(b.block_names)
        if la != lb or ba != bb:
            only_a = sorted((la - lb) | (ba - bb))
            only_b = sorted((lb - la) | (bb - ba))
            raise InputError(
                f"the two graphs do not have the same layers: only in {names[0]}: {only_a}; "
                f"only in {names[1]}: {only_b}. Pass compare_by='position' (CLI: --compare-by "
                "position) to pair them by index"
            )
    return StructureComparison(a, b)
