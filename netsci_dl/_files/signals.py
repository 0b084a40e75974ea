"""SIGTERM and SIGHUP as an exception, so that every cleanup block also runs when killed; and a
short critical section in which SIGINT, SIGTERM and SIGHUP wait."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["Terminated", "signals_raise", "signals_deferred"]

#: signals that arrived inside a :func:`signals_deferred` block (None: not in one)
_pending: list[int] | None = None


class Terminated(BaseException):
    """Raised in the main thread when the process receives SIGTERM or SIGHUP.

    A ``BaseException`` (like ``KeyboardInterrupt``) so that ``except Exception`` does not
    swallow it while every ``finally`` and cleanup block still runs.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    def __str__(self) -> str:
        return f"terminated by {signal.Signals(self.signum).name}"


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread.

    The first signal raises (at the end of a :func:`signals_deferred` block when it arrives in
    one); later ones (while cleanup runs) are ignored. Handlers are restored afterwards.
    Outside the main thread this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = []

    def handler(signum: int, frame: object) -> None:
        if fired:
            return
        fired.append(signum)
        if _pending is not None:
            _pending.append(signum)
            return
        raise Terminated(signum)

    sigs = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s]
    old = {}
    for s in sigs:
        try:
            old[s] = signal.signal(s, handler)
        except (ValueError, OSError):
            pass
    try:
        yield
    finally:
        for s, h in old.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(s, h)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """A critical section: SIGINT (with Python's default handler) and the signals of
    :func:`signals_raise` that arrive inside it raise only when it ends.

    For the few statements that create a temporary file and register it for cleanup: a signal
    between the two would leave a file nobody removes. Keep the block short (a signal waits for
    it). Nested blocks and other threads: a no-op.

    Examples
    --------
    >>> with signals_deferred():
    ...     x = 1
    """
    global _pending
    if _pending is not None or threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    old_int = None

    def on_int(signum: int, frame: object) -> None:
        pending.append(signum)

    with contextlib.suppress(ValueError, OSError, AttributeError):
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            old_int = signal.signal(signal.SIGINT, on_int)
    _pending = pending
    try:
        yield
    finally:
        _pending = None
        if old_int is not None:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signal.SIGINT, old_int)
    if pending:
        if pending[0] == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(pending[0])
