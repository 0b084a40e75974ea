"""Write (and read back) a `LayeredGraph` in the format its file name (or ``fmt``) asks for."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from netsci_dl._files.atomic import check_writable
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = ["FORMATS", "format_of", "check_output", "write", "save", "read", "is_graph_file"]


def _npz(G: LayeredGraph, path: Path, **kw: Any) -> None:
    from netsci_dl.io.npz import save_graph

    save_graph(G, path, **kw)


def _graphml(G: LayeredGraph, path: Path, **kw: Any) -> None:
    from netsci_dl.io.graphml import write_graphml

    write_graphml(G, path, **kw)


def _graphml_gz(G: LayeredGraph, path: Path, **kw: Any) -> None:
    from netsci_dl.io.graphml import write_graphml

    write_graphml(G, path, compress=True, **kw)


def _gexf(G: LayeredGraph, path: Path, **kw: Any) -> None:
    from netsci_dl.io.gexf import write_gexf

    write_gexf(G, path, **kw)


#: format name -> (file suffixes, writer(G, path, **options)); every writer writes atomically
FORMATS: dict[str, tuple[tuple[str, ...], Callable[..., None]]] = {
    "npz": ((".npz",), _npz),
    "graphml": ((".graphml",), _graphml),
    "graphml.gz": ((".graphml.gz",), _graphml_gz),
    "gexf": ((".gexf",), _gexf),
    "gexf.gz": ((".gexf.gz",), _gexf),
}


def _read_npz(path: Path) -> LayeredGraph:
    from netsci_dl.io.npz import load_graph

    return load_graph(path)


def _read_graphml(path: Path) -> LayeredGraph:
    from netsci_dl.io.graphml import read_graphml

    return read_graphml(path)


def _read_gexf(path: Path) -> LayeredGraph:
    from netsci_dl.io.gexf import read_gexf

    return read_gexf(path)


_READERS: dict[str, Callable[[Path], LayeredGraph]] = {
    "npz": _read_npz,
    "graphml": _read_graphml,
    "graphml.gz": _read_graphml,
    "gexf": _read_gexf,
    "gexf.gz": _read_gexf,
}


def format_of(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The format of ``path``: ``fmt`` when given, else from the file suffix."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise InputError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
        return fmt
    name = str(path).lower()
    for f, (suffixes, _) in sorted(FORMATS.items(), key=lambda kv: -max(map(len, kv[1][0]))):
        if name.endswith(suffixes):
            return f
    known = ", ".join(s for suffixes, _ in FORMATS.values() for s in suffixes)
    raise InputError(f"{path}: cannot tell the output format from its name; use one of {known}")


def check_output(path: str | os.PathLike, *, force: bool = False, fmt: str | None = None) -> Path:
    """Validate an output path before any work: known format, folder exists, no overwrite."""
    format_of(path, fmt)
    return check_writable(path, force=force)


def write(
    G: LayeredGraph,
    path: str | os.PathLike,
    *,
    force: bool = False,
    fmt: str | None = None,
    **options: Any,
) -> Path:
    """Write ``G`` to ``path`` atomically; refuse to overwrite unless ``force``."""
    f = format_of(path, fmt)
    p = check_writable(path, force=force)
    FORMATS[f][1](G, p, **options)
    return p


def save(G: LayeredGraph, path: str | os.PathLike, *, force: bool = False) -> Path:
    """Write ``G`` losslessly to ``path`` (``.npz``: arrays plus a JSON header, no pickle);
    ``netsci_dl.load(path)`` reads it back. Atomic; an existing file needs ``force=True``."""
    return write(G, path, force=force, fmt="npz")


def is_graph_file(path: str | os.PathLike) -> bool:
    """True for a graph file netsci_dl writes: ``.graphml[.gz]``, ``.gexf[.gz]``, or an
    ``.npz`` saved by :meth:`LayeredGraph.save` (an ``.npz`` of weights is a checkpoint)."""
    name = str(path).lower()
    if name.endswith(".npz"):
        from netsci_dl.io.npz import is_graph_npz

        return os.path.isfile(path) and is_graph_npz(path)
    return name.endswith((".graphml", ".graphml.gz", ".gexf", ".gexf.gz"))


def read(path: str | os.PathLike, fmt: str | None = None) -> LayeredGraph:
    """Read a graph file written by :func:`write` (format from ``fmt`` or the suffix).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> G = LayeredGraph((2, 1), (np.ones((2, 1), np.float32),))
    >>> d = tempfile.mkdtemp()
    >>> all(read(write(G, os.path.join(d, "g" + s))).equals(G) for s in (".npz", ".graphml.gz", ".gexf"))
    True
    """
    return _READERS[format_of(path, fmt)](Path(path))
