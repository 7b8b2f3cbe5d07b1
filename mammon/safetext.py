"""Making any string safe to print on one terminal line.

A plan, a recommendation or a file name can carry newlines, ANSI escape sequences, bidi overrides or
zero-width characters. Printed as they are, a newline in `reason` could add a fake "Warnings  none" line
to a review, and an escape sequence could recolour or erase what the reviewer sees. `printable` shows
every such character as a Python-style escape instead (`\\n`, `\\x1b`, `\\u202e`), and leaves everything
else (including non-ASCII letters) as it is.
"""

from __future__ import annotations



def _escape(ch: str) -> str:
    code = ord(ch)
    simple = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if ch in simple:
        return simple[ch]
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str) -> str:
    """`text` with every character str.isprintable() refuses escaped, except the plain space.

    That covers C0/C1 controls and DEL, line and paragraph separators, format characters (bidi overrides,
    zero-width joiners, the BOM), unassigned and private-use code points, and spaces other than ' '.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else _escape(ch) for ch in text)


__all__ = ["printable"]
