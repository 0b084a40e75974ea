"""The long table of per-snapshot measures: ``snapshot step epoch layer metric value``."""

from __future__ import annotations

from typing import Any

__all__ = ["LONG_COLUMNS", "long_rows"]

LONG_COLUMNS = ["snapshot", "step", "epoch", "layer", "metric", "value"]


def long_rows(rows: list[tuple[str, str, float]], snapshot: Any, step: Any, epoch: Any) -> Any:
    import pandas as pd

    df = pd.DataFrame(
        [
            {
                "snapshot": snapshot,
                "step": step,
                "epoch": epoch,
                "layer": l,
                "metric": m,
                "value": v,
            }
            for l, m, v in rows
        ],
        columns=LONG_COLUMNS,
    )
    for k in ("step", "epoch"):
        df[k] = df[k].astype("Int64")
    df["value"] = df["value"].astype(float)
    return df
