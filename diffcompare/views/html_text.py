"""Small pieces of HTML shared by report.html's page and its problem sections."""

from __future__ import annotations

import html

from diffcompare.engine.tape import exact_text
from diffcompare.lang.printable import visible
from diffcompare.views import palette


def escape(text) -> str:
    """Text as HTML: markup escaped, and control characters (ESC, NUL …) shown as escapes."""
    return html.escape(visible(text, layout=True), quote=True)


def exact_number(value) -> str:
    """Shortest text that reads back as the same float64: every digit a value claims ("" for NaN)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return ""
    return exact_text(value, nan="")


def verdict_html(verdict: str) -> str:
    return f'<span class="verdict" style="color:{palette.VERDICT_COLOURS.get(verdict, "")}">{escape(verdict)}</span>'
