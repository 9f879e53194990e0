"""Text shown to a person, with its control characters made visible.

Problem names, file names, keys and messages come from files anyone may write, and
reach a terminal, stderr, summary.md, report.html and one-line errors. A raw ESC
would drive the terminal (colours, titles, hyperlinks: ANSI and OSC sequences), a
NUL or a newline would break a line that is meant to be one, and a bidi override
would make the text read other than it is. `visible` writes each such character as
Python writes it in a string literal (\\n, \\x1b, \\u202e), so what the file holds
is what the person sees, on one line. Every sink uses it; each adds its own
escaping (HTML, Markdown, rich markup) on top.
"""

from __future__ import annotations

import re

# C0 and C1 controls and DEL (Cc), line and paragraph separators (Zl, Zp), and the
# format characters that reorder or hide text: bidi embeddings, overrides and
# isolates, the directional marks, and the byte-order mark.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _show(match: re.Match) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_KEEP_LAYOUT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\ufeff]")


def visible(text, *, layout: bool = False) -> str:
    """str(text) with every control, line-separating or reordering character written
    as its escape (\\n, \\x1b, \\u202e): safe to print, and always one line.
    layout: keep newlines and tabs as they are (for HTML, where they are only white space)."""
    text = str(text)
    pattern = _KEEP_LAYOUT if layout else _INVISIBLE
    return pattern.sub(_show, text) if pattern.search(text) else text
