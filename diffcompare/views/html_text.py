"""Small pieces of HTML shared by report.html's page and its problem sections."""

from __future__ import annotations

import html
import json
import math
import re

from diffcompare.engine.tape import exact_text
from diffcompare.lang.printable import visible
from diffcompare.views import palette


def escape(text) -> str:
    """Text as HTML: markup escaped, and control characters (ESC, NUL …) shown as escapes."""
    return html.escape(visible(text, layout=True), quote=True)


def json_attribute(value) -> str:
    """value as JSON in a single-quoted attribute value (quotes included): its double quotes
    left as they are (a section's data-cells were a fifth &quot;), the rest escaped."""
    return "'" + escape(json.dumps(value, separators=(",", ":"))).replace("&quot;", '"') + "'"


def exact_number(value) -> str:
    """Shortest text that reads back as the same float64: every digit a value claims ("" for NaN)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return ""
    return exact_text(value, nan="")


def verdict_html(verdict: str, text: str | None = None) -> str:
    """A verdict's word (or text) in its colour, palette.VERDICT_COLOURS (a class per verdict,
    its rule in VERDICT_CSS: the index and the errors list have hundreds of them)."""
    known = verdict in palette.VERDICT_COLOURS
    cls = f'"verdict {verdict}"' if known else "verdict"
    return f"<span class={cls}>{escape(verdict if text is None else text)}</span>"


VERDICT_CSS = "".join(f".verdict.{v}{{color:{c}}}" for v, c in palette.VERDICT_COLOURS.items())


_HEX = re.compile(r"#([0-9a-fA-F]{6})$")
# A colour class as cell_style writes it, in its cell's class attribute (its own or after one
# other class): only such attributes are renamed, never text that happens to look alike.
_COLOUR_ATTRIBUTE = re.compile(r' class="(\w+ )?c([0-9a-f]{6})([0-9a-f]{6})"')


def cell_style(verdict: str, digits, dtype: str, cls: str = "") -> str:
    """The attributes of a cell that shows a verdict, coloured by palette.cell_colours: the
    one rule (the verdict decides the hue family, the digits its strength) for every cell.
    A pair of hex colours is a class named after them (c + background + text; short_colour_classes
    gives it a short name and writes its rule once per page: a report has thousands of such
    cells), anything else a style."""
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


def short_colour_classes(page: str) -> tuple[str, str]:
    """`page` with each colour class of cell_style renamed c0, c1 … (in order of first use; a
    report has thousands of coloured cells, and the 13-letter names were 5 % of its bytes),
    and the style rules of the short names."""
    names: dict[tuple[str, str], str] = {}

    def rename(found: re.Match) -> str:
        name = names.setdefault((found[2], found[3]), f"c{len(names)}")
        return f' class="{found[1]}{name}"' if found[1] else f" class={name}"

    page = _COLOUR_ATTRIBUTE.sub(rename, page)
    return page, "".join(f".{name}{{background:#{b};color:#{t}}}" for (b, t), name in names.items())
