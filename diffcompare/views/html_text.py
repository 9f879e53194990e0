"""Small pieces of HTML shared by report.html's page and its problem sections."""

from __future__ import annotations

import html
import math
import re

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


def verdict_html(verdict: str, text: str | None = None) -> str:
    """A verdict's word (or text) in its colour, palette.VERDICT_COLOURS."""
    colour = palette.VERDICT_COLOURS.get(verdict, "")
    return f'<span class="verdict" style="color:{colour}">{escape(verdict if text is None else text)}</span>'


_HEX = re.compile(r"#([0-9a-fA-F]{6})$")
_COLOUR_CLASS = re.compile(r"\bc([0-9a-f]{6})([0-9a-f]{6})\b")


def cell_style(verdict: str, digits, dtype: str, cls: str = "") -> str:
    """The attributes of a cell that shows a verdict, coloured by palette.cell_colours: the
    one rule (the verdict decides the hue family, the digits its strength) for every cell.
    A pair of hex colours is a class named after them (c + background + text, colour_css
    writes its rule once per page: a report has thousands of such cells), anything else a style."""
    try:
        digits = float(digits)
    except (TypeError, ValueError):
        digits = math.nan
    background, colour = palette.cell_colours(verdict, digits, dtype)
    if not background:
        return f" class={cls}" if cls else ""
    pair = _HEX.match(background), _HEX.match(colour or "#000000")
    if all(pair):
        name = "c" + "".join(m.group(1).lower() for m in pair)
        return f' class="{cls + " " if cls else ""}{name}"'
    style = f"background:{background}" + (f";color:{colour}" if colour else "")
    return (f" class={cls}" if cls else "") + f' style="{escape(style)}"'


def colour_css(page: str) -> str:
    """The rules of the colour classes that cell_style gave the cells of `page`."""
    pairs = sorted(set(_COLOUR_CLASS.findall(page)))
    return "".join(f".c{b}{t}{{background:#{b};color:#{t}}}" for b, t in pairs)
