"""The spec string: ``SOURCE[?normalize=M/S&resize=HxW&limit=N]``.

The options after ``?`` are the keywords of :func:`netsci_dl.datasets.load` written into the
spec, so that one string (``--data`` with ``--normalize``/``--resize``/``--limit``, a run's
``config.json``) says how the data were read and loads them again.

``normalize``: ``MEAN,STD`` (one pair for every channel) or ``M1,M2,M3/S1,S2,S3`` (one mean and
one std per channel, the two lists split by ``/``). ``resize``: ``HxW``. ``limit``: ``N``.
"""

from __future__ import annotations

from typing import Any

from netsci_dl.errors import InputError

__all__ = ["split_spec", "join_spec", "parse_normalize", "parse_resize", "parse_limit"]

_KEYS = ("normalize", "resize", "limit")


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise InputError(f"{what}: {text!r} is not a comma list of numbers") from None


def parse_normalize(text: str | None, what: str = "--normalize") -> Any:
    """``"0.5,0.25"`` -> ``(0.5, 0.25)``; ``"0.4,0.5,0.6/0.2,0.2,0.3"`` -> two lists.

    Examples
    --------
    >>> parse_normalize("0.5,0.25"), parse_normalize("0.1,0.2/0.3,0.4")
    ((0.5, 0.25), ([0.1, 0.2], [0.3, 0.4]))
    """
    if text is None:
        return None
    if "/" in text:
        m, _, s = text.partition("/")
        mean, std = _floats(m, what), _floats(s, what)
        if len(mean) != len(std):
            raise InputError(f"{what} {text!r}: {len(mean)} means but {len(std)} stds")
        return mean, std
    vals = _floats(text, what)
    if len(vals) != 2:
        raise InputError(f"{what} {text!r}: expected MEAN,STD or per channel M1,M2,M3/S1,S2,S3")
    return vals[0], vals[1]


def parse_resize(text: str | None, what: str = "--resize") -> tuple[int, int] | None:
    """``"32x32"`` -> ``(32, 32)`` (height x width).

    Examples
    --------
    >>> parse_resize("24x32")
    (24, 32)
    """
    if text is None:
        return None
    h, sep, w = text.lower().partition("x")
    if not sep or not h.strip().isdigit() or not w.strip().isdigit() or 0 in (int(h), int(w)):
        raise InputError(f"{what} {text!r}: expected HxW, e.g. 32x32")
    return int(h), int(w)


def parse_limit(text: Any, what: str = "--limit") -> int | None:
    if text is None:
        return None
    try:
        n = int(text)
    except (TypeError, ValueError):
        raise InputError(f"{what} {text!r}: expected a whole number of examples") from None
    if n < 1:
        raise InputError(f"{what} {n}: expected at least 1 example")
    return n


def _fmt_normalize(norm: Any) -> str:
    m, s = norm
    if isinstance(m, int | float) and isinstance(s, int | float):
        return f"{float(m):g},{float(s):g}"
    join = ",".join
    return f"{join(f'{float(v):g}' for v in m)}/{join(f'{float(v):g}' for v in s)}"


def join_spec(
    spec: str, *, normalize: Any = None, resize: Any = None, limit: int | None = None
) -> str:
    """``spec`` with the options written after ``?`` (none given: ``spec`` itself).

    Examples
    --------
    >>> join_spec("npz:d.npz", normalize=(0.5, 0.25), resize=(32, 32), limit=100)
    'npz:d.npz?normalize=0.5,0.25&resize=32x32&limit=100'
    """
    parts = []
    if normalize is not None:
        parts.append(f"normalize={_fmt_normalize(normalize)}")
    if resize is not None:
        parts.append(f"resize={int(resize[0])}x{int(resize[1])}")
    if limit is not None:
        parts.append(f"limit={int(limit)}")
    return spec + ("?" + "&".join(parts) if parts else "")


def split_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``(source, options)`` of a spec; a ``?`` tail that is not options stays in the source.

    Examples
    --------
    >>> split_spec("digits?limit=10&resize=4x4")
    ('digits', {'limit': 10, 'resize': (4, 4)})
    """
    base, sep, tail = spec.rpartition("?")
    if not sep:
        return spec, {}
    items = [kv.partition("=") for kv in tail.split("&")]
    if not all(k in _KEYS and eq for k, eq, _ in items):
        return spec, {}
    parse = {"normalize": parse_normalize, "resize": parse_resize, "limit": parse_limit}
    return base, {k: parse[k](v, f"{k}=") for k, _, v in items}
