"""Does a critical-period grid show the shape A19 reports? Plain checks, stated in words."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["shape_checks", "GAP"]

GAP = 0.02  # accuracy difference (2 points) counted as a real effect


def _spearman(x: Any, y: Any) -> float:
    from scipy.stats import spearmanr

    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def shape_checks(summary: Any, trajectory: Any) -> dict[str, Any]:
    """The study's three shapes, checked on a finished grid.

    - ``removal``: runs with the earliest onset and several windows: final test accuracy should
      fall as the removal epoch grows (Spearman rho < 0 and the latest removal at least
      :data:`GAP` below the control).
    - ``onset``: runs with one window and several onsets: a late deficit should hurt less than
      an early one (accuracy rises with onset, rho > 0, and the earliest onset's loss exceeds
      the latest's by :data:`GAP`).
    - ``fisher``: the control run's total Fisher trace should rise, then fall (its peak is not
      at the first or last measured epoch and the final value is at most 80% of the peak).

    Each check gives ``{"applicable", "holds", "text", ...}``; ``verdict`` joins the texts.
    """
    out: dict[str, Any] = {}
    ctrl = summary[summary["window"] == 0]
    base = float(ctrl["final_test_accuracy"].iloc[0]) if len(ctrl) else None
    runs = summary[summary["window"] > 0]

    first = runs[runs["onset"] == runs["onset"].min()] if len(runs) else runs
    if len(first) >= 2:
        s = first.sort_values("removal_epoch")
        rho = _spearman(s["removal_epoch"], s["final_test_accuracy"])
        acc = s["final_test_accuracy"].to_numpy()
        ref = base if base is not None else float(acc[0])
        late_loss = ref - float(acc[-1])
        holds = bool((np.isnan(rho) or rho < 0) and acc[-1] < acc[0] and late_loss >= GAP)
        out["removal"] = {
            "applicable": True,
            "holds": holds,
            "spearman": rho,
            "loss_at_latest_removal": late_loss,
            "text": (
                f"final test accuracy vs removal epoch {s['removal_epoch'].tolist()}: "
                f"{np.round(acc, 3).tolist()} (control {ref:.3f}); "
                + (
                    "falls with later removal: compatible with A19"
                    if holds
                    else "does not fall by >= 2 points with later removal: A19's shape NOT shown"
                )
            ),
        }
    else:
        out["removal"] = {"applicable": False, "holds": None, "text": "removal: one window only"}

    w = runs["window"].mode().iloc[0] if len(runs) else None
    same = runs[runs["window"] == w] if w is not None else runs
    if len(same) >= 2 and same["onset"].nunique() >= 2:
        s = same.sort_values("onset")
        acc = s["final_test_accuracy"].to_numpy()
        rho = _spearman(s["onset"], acc)
        ref = base if base is not None else float(acc.max())
        early, late = ref - float(acc[0]), ref - float(acc[-1])
        holds = bool((np.isnan(rho) or rho > 0) and early - late >= GAP)
        out["onset"] = {
            "applicable": True,
            "holds": holds,
            "spearman": rho,
            "loss_earliest": early,
            "loss_latest": late,
            "text": (
                f"final test accuracy vs onset {s['onset'].tolist()} (window {int(w)}): "
                f"{np.round(acc, 3).tolist()} (control {ref:.3f}); "
                + (
                    "early deficits hurt more than late ones: compatible with A19"
                    if holds
                    else "late deficits hurt about as much as early ones (< 2 points apart): "
                    "A19's shape NOT shown"
                )
            ),
        }
    else:
        out["onset"] = {"applicable": False, "holds": None, "text": "onset: one onset only"}

    name = "control" if len(ctrl) else (summary["run"].iloc[0] if len(summary) else None)
    f = trajectory[
        (trajectory["run"] == name)
        & (trajectory["layer"] == "all")
        & (trajectory["metric"].isin(["fisher_trace", "empirical_fisher_trace"]))
    ].sort_values("epoch")
    if len(f) >= 3:
        v = f["value"].to_numpy()
        k = int(np.argmax(v))
        holds = bool(0 < k < len(v) - 1 and v[-1] <= 0.8 * v[k])
        out["fisher"] = {
            "applicable": True,
            "holds": holds,
            "run": name,
            "peak_epoch": int(f["epoch"].iloc[k]),
            "peak": float(v[k]),
            "final": float(v[-1]),
            "text": (
                f"Fisher trace of run {name!r}: peak {v[k]:.3g} at epoch {int(f['epoch'].iloc[k])}, "
                f"final {v[-1]:.3g}; "
                + (
                    "rises then falls: compatible with A19"
                    if holds
                    else "does not rise then fall by >= 20%: A19's shape NOT shown"
                )
            ),
        }
    else:
        out["fisher"] = {"applicable": False, "holds": None, "text": "fisher: too few snapshots"}
    out["verdict"] = " | ".join(c["text"] for c in out.values() if isinstance(c, dict))
    return out
