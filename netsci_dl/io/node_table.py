"""Per-node columns from a CSV or ``.npz`` file (e.g. ``netsci-dl analyze``'s ``nodes.csv``)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from netsci_dl.errors import InputError

__all__ = ["read_node_table"]

#: columns that describe node identity rather than computed values; not returned
ID_COLUMNS = ("node", "id", "layer", "layer_name", "index", "x", "y")


def _column(values: list[str]) -> np.ndarray:
    """int64 when every cell is an integer, else float64 (empty -> NaN), else strings."""
    try:
        return np.array(values, dtype=np.int64)
    except (ValueError, OverflowError):
        pass
    try:
        return np.array([float(v) if v != "" else np.nan for v in values], dtype=np.float64)
    except ValueError:
        return np.array(values, dtype=str)


def read_node_table(
    path: str | os.PathLike, n_nodes: int, *, drop: tuple[str, ...] = ID_COLUMNS
) -> dict[str, np.ndarray]:
    """Read per-node columns (one row per node, global node order) from ``.csv`` or ``.npz``.

    Parameters
    ----------
    path : str or path
        A CSV with a header row (ints stay ints, numbers become float64, empty cells NaN, the
        rest strings), or an ``.npz`` of 1-D arrays (read with ``allow_pickle=False``).
    n_nodes : int
        Expected number of rows; any other length raises a ValueError naming the column.
    drop : tuple of str
        Identity columns to leave out (they are written by the graph writers themselves).

    Returns
    -------
    dict of str to (n_nodes,) ndarray

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "nodes.csv")
    >>> _ = open(p, "w").write("node,layer,degree,strength,module\\n0,0,2,0.5,a\\n1,1,1,-1.5,b\\n")
    >>> t = read_node_table(p, 2)
    >>> sorted(t), t["degree"].tolist(), t["strength"].tolist(), t["module"].tolist()
    (['degree', 'module', 'strength'], [2, 1], [0.5, -1.5], ['a', 'b'])
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"node table {p} does not exist")
    cols: dict[str, np.ndarray] = {}
    if p.suffix.lower() == ".npz":
        try:
            with np.load(p, allow_pickle=False) as z:
                cols = {k: np.asarray(z[k]) for k in z.files}
        except (ValueError, OSError) as e:
            raise InputError(f"{p}: not a readable .npz of arrays ({e})") from e
    else:
        with open(p, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        if not rows:
            raise InputError(f"{p}: empty node table (expected a header row)")
        header, body = rows[0], rows[1:]
        if any(len(r) != len(header) for r in body):
            raise InputError(f"{p}: every row must have {len(header)} cells like the header")
        for j, name in enumerate(header):
            cols[name.strip()] = _column([r[j].strip() for r in body])
    out = {}
    for k, v in cols.items():
        if k in drop:
            continue
        if v.ndim != 1 or len(v) != n_nodes:
            raise InputError(
                f"{p}: column {k!r} has shape {v.shape}, expected ({n_nodes},) (one row per node)"
            )
        out[k] = v
    if not out:
        raise InputError(f"{p}: no node columns besides {', '.join(drop)}")
    return out
