"""Write outputs so that no error, signal or concurrent writer leaves a partial or clobbered file.

- :func:`check_writable` is the check before any work: the folder exists, the output is a
  regular file (or absent), and an existing one (or a symlink, even dangling) needs ``force``.
  A FIFO, a device, a socket or a folder is refused even with ``force``.
- :func:`atomic_path` yields a temporary name beside the output (within the 255-byte name
  limit) and moves it into place on success. An output that did not exist when it was checked
  is moved in with a hard link, which never replaces: a file another process created in the
  meantime is kept, and this writer fails with ``FileExistsError``.
- :func:`atomic_outputs` does the same for a command's set of files in one folder: they are
  written into a hidden staging folder and moved in only when every one is complete.
- :func:`signals_raise` turns SIGTERM (and SIGHUP) into an exception, as SIGINT already is, so
  the cleanup of the functions above also runs when a command is killed. Every temporary file
  and folder is made by :func:`new_temp`, which registers it for that cleanup with signals
  deferred, so no signal can fall between its creation and its registration.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from netsci_dl._files.signals import Terminated, signals_deferred, signals_raise
from netsci_dl.errors import InputError

__all__ = [
    "atomic_path",
    "atomic_outputs",
    "check_writable",
    "signals_raise",
    "Terminated",
    "short_temp_prefix",
    "new_temp",
    "discard_live",
]

_NAME_MAX = 255
_lock = threading.Lock()
#: absolute output path -> did it exist when check_writable allowed it
_checked: dict[str, bool] = {}
#: temporary files and folders in flight (removed on any exit of their block)
_live: set[str] = set()


def new_temp(*, folder: bool, prefix: str, dir: str | os.PathLike, suffix: str = "") -> str:
    """Create a temporary file (empty) or folder in ``dir`` and register it as in flight.

    Creation and registration run with signals deferred (:func:`signals_deferred`): a signal
    that arrives meanwhile raises after both, so the CLI's last-resort cleanup
    (:func:`remove_live`) always knows the name. Pair with :func:`discard_live` once the file
    is moved into place or removed.
    """
    t = None
    try:
        with signals_deferred():
            if folder:
                t = tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=dir)
            else:
                fd, t = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=dir)
                os.close(fd)
            with _lock:
                _live.add(t)
    except BaseException:
        if t is not None:
            _remove(t)
            discard_live(t)
        raise
    return t


def discard_live(t: str | os.PathLike) -> None:
    """``t`` is no longer in flight (moved into place, or removed)."""
    with _lock:
        _live.discard(os.fspath(t))


def _remove(t: str) -> None:
    if os.path.isdir(t) and not os.path.islink(t):
        shutil.rmtree(t, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.unlink(t)


def _kind(mode: int) -> str | None:
    """Why a file of this mode cannot be an output (None for a regular file or a symlink)."""
    if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _lstat(p: Path) -> os.stat_result | None:
    try:
        return os.lstat(p)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise NotADirectoryError(
            errno.ENOTDIR, f"a parent of {p} is a file, not a folder", str(p)
        ) from None


def _refuse_special(p: Path, st: os.stat_result | None) -> None:
    why = _kind(st.st_mode) if st is not None else None
    if why == "a folder":
        raise IsADirectoryError(
            errno.EISDIR, "is a folder; give a file name for the output", str(p)
        )
    if why is not None:
        raise FileExistsError(
            errno.EEXIST,
            f"is {why}, not a regular file: refusing to write there (even with --force); "
            "choose another output name",
            str(p),
        )


def _check_parent(p: Path) -> None:
    parent = p.parent
    try:
        st = os.stat(parent)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "output folder does not exist", str(parent)) from None
    except NotADirectoryError:
        raise NotADirectoryError(
            errno.ENOTDIR, "a parent of the output is a file, not a folder", str(parent)
        ) from None
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(
            errno.ENOTDIR, "is a file, not a folder; the output cannot go inside it", str(parent)
        )


def _check_can_write(folder: Path) -> None:
    """A read-only folder or file system fails now, before any work (not at the end)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, "cannot write in this folder (read-only?)", str(folder))


def check_writable(path: str | os.PathLike, *, force: bool = False) -> Path:
    """Check that ``path`` may be written; return it as a Path.

    Parameters
    ----------
    path : path
        The output file.
    force : bool
        Allow replacing an existing regular file (or a symlink: the link is replaced, never
        the file it points to).

    Raises
    ------
    FileExistsError
        ``path`` exists (a regular file or a symlink, dangling or not) and ``force`` is False;
        or it is a FIFO, a device or a socket (refused even with ``force``).
    IsADirectoryError
        ``path`` is a folder.
    FileNotFoundError, NotADirectoryError
        Its folder does not exist, or a parent is a file.

    Notes
    -----
    The answer is remembered for :func:`atomic_path`: an output that did not exist here is
    later moved in without replacing anything, so a file that appears meanwhile (another
    process writing the same output) is never overwritten.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> check_writable(p) == p
    True
    >>> _ = p.write_text("old")
    >>> check_writable(p)
    Traceback (most recent call last):
    ...
    FileExistsError: ... exists; pass force=True (CLI: --force) to replace it
    """
    p = Path(path)
    st = _lstat(p)
    _refuse_special(p, st)
    if st is None:
        _check_parent(p)
    _check_can_write(p.parent)
    if st is not None and not force:
        what = "exists"
        if stat.S_ISLNK(st.st_mode):
            what = "is a symlink" + (" (dangling)" if not p.exists() else "")
        raise FileExistsError(f"{p} {what}; pass force=True (CLI: --force) to replace it")
    with _lock:
        _checked[os.path.abspath(p)] = st is not None
    return p


def check_folder(
    folder: str | os.PathLike,
    names: Iterable[str] = (),
    *,
    force: bool = False,
    nonempty_needs_force: bool = False,
) -> Path:
    """Check an output folder before any work; return it as a Path.

    Its parent must be a folder; ``folder`` must be absent or a folder (not a file, a FIFO, a
    symlink); each of ``names`` already in it needs ``force`` (:func:`check_writable`), and
    with ``nonempty_needs_force`` so does any non-empty folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> check_folder(d / "new") == d / "new"
    True
    >>> _ = (d / "f").write_text("x")
    >>> check_folder(d / "f")
    Traceback (most recent call last):
    ...
    FileExistsError: [Errno 17] exists and is not a folder: ...
    """
    p = Path(folder)
    st = _lstat(p)
    if st is None:
        _check_parent(p)
        _check_can_write(p.parent)
        return p
    if not stat.S_ISDIR(st.st_mode):
        what = (
            "is a symlink, not a folder"
            if stat.S_ISLNK(st.st_mode)
            else (f"is {_kind(st.st_mode) or 'a file'}, not a folder")
        )
        if stat.S_ISREG(st.st_mode):
            what = "exists and is not a folder"
        raise FileExistsError(errno.EEXIST, what, str(p))
    _check_can_write(p)
    _check_can_write(p.parent)  # where the staging folder goes
    if nonempty_needs_force and not force and any(p.iterdir()):
        raise FileExistsError(f"{p} exists and is not empty; pass --force to replace its files")
    for n in names:
        check_writable(p / n, force=force)
    forget_checks_for(p / n for n in names)
    return p


def forget_checks() -> None:
    """Drop what :func:`check_writable` remembered (the CLI calls it around every command)."""
    with _lock:
        _checked.clear()


def short_temp_prefix(name: str, *, extra: int = 12) -> str:
    """``"." + name + "."``, with ``name`` shortened so that the prefix plus ``extra`` bytes
    (tempfile's 8 random characters and a 4-byte suffix such as ``.tmp``) stay within the
    255-byte name limit.

    Examples
    --------
    >>> short_temp_prefix("g.graphml")
    '.g.graphml.'
    >>> len(short_temp_prefix("x" * 255).encode()) + 12
    255
    """
    b = os.fsencode(name)
    room = _NAME_MAX - extra - 2
    if len(b) > room:
        b = b[:room]
        # do not cut a UTF-8 sequence in half
        name = b.decode("utf-8", errors="ignore") if _utf8ish(b) else os.fsdecode(b)
    return f".{name}."


def _utf8ish(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError as e:
        return e.start >= len(b) - 3  # only the cut at the end is broken


def _umask() -> int:
    with _lock:
        m = os.umask(0)
        os.umask(m)
    return m


def _link_into_place(tmp: Path, target: Path) -> None:
    """Move ``tmp`` to ``target`` without ever replacing a file at ``target``."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise FileExistsError(
            errno.EEXIST,
            "appeared while this command was writing it (another process?); kept it and "
            "discarded this output",
            str(target),
        ) from None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS, errno.EXDEV):
            raise
        # a file system without hard links: the narrowest check-then-rename we can do
        if os.path.lexists(target):
            raise FileExistsError(
                errno.EEXIST, "appeared while this command was writing it", str(target)
            ) from None
        os.rename(tmp, target)
        return
    os.unlink(tmp)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, replace: bool | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it to ``path`` if the block succeeds.

    On any exception (also ``KeyboardInterrupt`` and :class:`Terminated`) the temporary file
    is removed and ``path`` is left untouched.

    Parameters
    ----------
    path : path
        The output; a folder, FIFO, device or socket there is refused.
    replace : bool, optional
        Whether an existing ``path`` may be replaced. Default: as :func:`check_writable`
        decided for it (replace only what existed and was allowed with ``force``); for a
        path that was never checked, replace what exists now (a library call overwrites, as
        ``open(path, "w")`` would). A path that did not exist is moved in with a hard link,
        so a file that appeared meanwhile is never replaced (``FileExistsError``).

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
    st = _lstat(target)
    _refuse_special(target, st)
    with _lock:
        checked = _checked.pop(os.path.abspath(target), None)
    if replace is None:
        replace = checked if checked is not None else st is not None
    if st is not None and not replace:
        raise FileExistsError(
            errno.EEXIST,
            "exists (it appeared after the check?); pass --force to replace it",
            str(target),
        )
    if st is None:
        _check_parent(target)
    tmp = new_temp(
        folder=False, prefix=short_temp_prefix(target.name), suffix=".tmp", dir=target.parent
    )
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():  # mkstemp makes 0600 files; give the usual permissions
            os.chmod(tmp_path, 0o666 & ~_umask())
        _refuse_special(target, _lstat(target))  # it may have changed while we wrote
        if replace:
            os.replace(tmp_path, target)
        else:
            _link_into_place(tmp_path, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise
    finally:
        discard_live(tmp)


@contextlib.contextmanager
def atomic_outputs(
    folder: str | os.PathLike,
    names: Iterable[str],
    *,
    force: bool = False,
    stale: Iterable[str] = (),
) -> Iterator[Path]:
    """Write a command's files into a hidden staging folder; move them into ``folder`` at the end.

    Parameters
    ----------
    folder : path
        The output folder; created if missing (its parent must exist).
    names : iterable of str
        The files the command will write (relative to ``folder``). Each is checked first with
        :func:`check_writable` (existing ones need ``force``).
    force : bool
        Replace existing files among ``names``.
    stale : iterable of str
        Outputs of this same command that this run does not write (e.g. figures when plots
        are off): with ``force`` they are removed, so the folder holds one run's results.
        Nothing else in ``folder`` is ever removed.

    Yields
    ------
    Path
        The staging folder: write ``names`` there. On an exception (or a signal) it is
        removed with everything in it and ``folder`` is left as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "res"
    >>> with atomic_outputs(out, ["a.txt"]) as stage:
    ...     _ = (stage / "a.txt").write_text("a")
    >>> sorted(p.name for p in out.iterdir())
    ['a.txt']
    """
    folder = Path(folder)
    names = list(names)
    st = _lstat(folder)
    if st is not None and not stat.S_ISDIR(os.stat(folder).st_mode):
        raise FileExistsError(errno.EEXIST, "exists and is not a folder", str(folder))
    if st is None:
        _check_parent(folder)
    else:
        for n in names:
            check_writable(folder / n, force=force)
        forget_checks_for(folder / n for n in names)
    existed = {n: os.path.lexists(folder / n) for n in names} if st is not None else {}
    stage = new_temp(folder=True, prefix=short_temp_prefix(folder.name, extra=8), dir=folder.parent)
    created = False
    try:
        yield Path(stage)
        written = [n for n in names if os.path.lexists(os.path.join(stage, n))]
        unexpected = {
            str(p.relative_to(stage)) for p in Path(stage).rglob("*") if not p.is_dir()
        } - set(names)
        if unexpected:
            raise RuntimeError(f"wrote files it did not declare: {sorted(unexpected)}")
        if not os.path.isdir(folder):
            os.mkdir(folder)
            created = True
        for n in written:  # check all before moving any
            if not existed.get(n) and os.path.lexists(folder / n):
                raise FileExistsError(
                    errno.EEXIST, "appeared while this command was writing it", str(folder / n)
                )
            _refuse_special(folder / n, _lstat(folder / n))
        for n in written:
            dst = folder / n
            dst.parent.mkdir(parents=True, exist_ok=True)
            if existed.get(n):
                os.replace(os.path.join(stage, n), dst)
            else:
                _link_into_place(Path(stage) / n, dst)
        if force:
            for n in stale:
                p = folder / n
                if n not in written and os.path.isfile(p) and not os.path.islink(p):
                    p.unlink()
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                os.rmdir(folder)
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        discard_live(stage)


def forget_checks_for(paths: Iterable[Path]) -> None:
    with _lock:
        for p in paths:
            _checked.pop(os.path.abspath(p), None)


def remove_live() -> None:
    """Remove every temporary file and staging folder still in flight (last-resort cleanup)."""
    with _lock:
        items = list(_live)
        _live.clear()
    for t in items:
        _remove(t)


# used by the readers: is this an input file we may open without blocking?
def check_input_file(path: str | os.PathLike, what: str = "input") -> os.stat_result:
    """``os.stat`` of an input that must be a regular file; refuse FIFOs, devices, folders.

    Raises
    ------
    FileNotFoundError
        No such file.
    InputError
        A folder, FIFO, device or socket (opening a FIFO would block forever).
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "no such file", os.fsdecode(path)) from None
    if not stat.S_ISREG(st.st_mode):
        why = _kind(st.st_mode) or "not a regular file"
        raise InputError(f"{os.fsdecode(path)}: is {why}, not a regular {what} file")
    return st
