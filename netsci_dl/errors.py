"""The project's error classes.

:class:`InputError` is raised for a problem with what the caller passed (a value, a file, a
shape, a name): it is a ``ValueError``, so ``except ValueError`` still catches it. The command
line turns an ``InputError`` (and the ``OSError`` family for paths) into one line on stderr and
exit code 2; any other exception is an internal error (exit 1, traceback with ``--debug``), so a
programming mistake is never reported as the user's fault.
"""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """Bad input: the message names the offending value, file, layer or shape.

    Examples
    --------
    >>> try:
    ...     raise InputError("layer 'fc9' not found")
    ... except ValueError as e:
    ...     print(e)
    layer 'fc9' not found
    """
