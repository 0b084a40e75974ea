"""Write files under a temporary name and rename on success: no partial file on error."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "check_writable"]


def check_writable(path: str | os.PathLike, *, force: bool = False) -> Path:
    """Refuse to overwrite an existing output unless ``force``; return the path."""
    p = Path(path)
    if p.exists() and not force:
        raise FileExistsError(f"{p} exists; pass force=True (CLI: --force) to overwrite it")
    if not p.parent.exists():
        raise FileNotFoundError(f"output folder {p.parent} does not exist")
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    On any exception the temporary file is removed and ``path`` is left untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = tempfile.mkdtemp()
    >>> with atomic_path(pathlib.Path(d) / "x.txt") as tmp:
    ...     _ = tmp.write_text("hi")
    >>> (pathlib.Path(d) / "x.txt").read_text()
    'hi'
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        if tmp_path.exists():  # mkstemp makes 0600 files; give the usual permissions
            os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise
