"""Make untrusted text (layer names, paths, metadata from a file) safe where it is shown.

Names come from checkpoints and graph files, which anyone can write. Before such text reaches

- a **terminal**: :func:`for_terminal` shows control characters (ESC, CR, backspace, bidi
  overrides, ...) as visible escapes, so a name cannot move the cursor, recolour or rewrite the
  screen, or hide text;
- a **CSV cell**: :func:`csv_cell` (and :func:`csv_frame` for a table) prefixes a cell that a
  spreadsheet would run as a formula (leading ``=``, ``+``, ``-``, ``@``, tab, CR) with ``'``;
- an **HTML page**: :func:`for_html` escapes ``& < > " '`` and drops what XML/HTML forbid.
"""

from __future__ import annotations

import html
import re
from typing import Any

__all__ = ["for_terminal", "terminal_lines", "csv_cell", "csv_frame", "for_html"]

# C0 and C1 controls, DEL, zero-width and bidirectional formatting characters, BOM, non-chars,
# and lone surrogates (a non-UTF-8 file name decoded with surrogateescape)
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb"
    "\ufffe\uffff\ud800-\udfff]"
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|nan)", re.IGNORECASE)


def _escape(m: re.Match[str]) -> str:
    c = m.group()
    o = ord(c)
    if c == "\n":
        return "\\n"
    if c == "\r":
        return "\\r"
    if c == "\t":
        return "\\t"
    if 0xDC80 <= o <= 0xDCFF:  # an undecodable byte of a file name: show the byte
        return f"\\x{o - 0xDC00:02x}"
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def for_terminal(text: Any) -> str:
    """``text`` as one line without control characters: each is shown as an escape.

    Examples
    --------
    >>> for_terminal("fc\\x1b[31m1\\nnext")
    'fc\\\\x1b[31m1\\\\nnext'
    >>> for_terminal("layer\\u202eevil")
    'layer\\\\u202eevil'
    """
    return _UNSAFE.sub(_escape, str(text))


def terminal_lines(text: Any) -> str:
    """Like :func:`for_terminal`, but keeps the line breaks of a multi-line text.

    Examples
    --------
    >>> print(terminal_lines("a\\x07\\nb"))
    a\\x07
    b
    """
    return "\n".join(for_terminal(line) for line in str(text).split("\n"))


def csv_cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet runs as a formula; numbers and non-strings are unchanged.

    A string starting with ``=``, ``+``, ``-``, ``@``, tab or CR (and their full-width forms)
    gets a leading ``'`` (OWASP's advice), unless it is a plain number such as ``-1.5``.

    Examples
    --------
    >>> csv_cell("=HYPERLINK(\\"http://x\\")"), csv_cell("-1.5"), csv_cell("fc1"), csv_cell(3)
    ('\\'=HYPERLINK("http://x")', '-1.5', 'fc1', 3)
    """
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(_FORMULA) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_frame(df: Any) -> Any:
    """A copy of a pandas DataFrame whose string cells and column names pass :func:`csv_cell`.

    Examples
    --------
    >>> import pandas as pd
    >>> csv_frame(pd.DataFrame({"layer": ["@SUM(A1)", "ok"], "k": [1, 2]}))["layer"].tolist()
    ["'@SUM(A1)", 'ok']
    """
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if col.dtype == object or str(col.dtype).startswith(("string", "str", "category")):
            out[c] = col.astype(object).map(csv_cell)
    out.columns = [csv_cell(str(c)) if isinstance(c, str) else c for c in out.columns]
    if any(isinstance(v, str) for v in out.index[:1]) or out.index.dtype == object:
        out.index = out.index.map(lambda v: csv_cell(v) if isinstance(v, str) else v)
    return out


def for_html(text: Any) -> str:
    """HTML-escaped text (``& < > " '``) with control and non-characters removed.

    Examples
    --------
    >>> for_html('<script>alert("x")</script>\\x00')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
    """
    s = _UNSAFE.sub(lambda m: m.group() if m.group() in "\n\t" else "", str(text))
    return html.escape(s, quote=True)
