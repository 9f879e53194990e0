"""One set of colours for every view of the results: the HTML report, the
notebook styling and the terminal table all read verdicts and digits the same way.

Digits run red (0 correct) through amber to green (15+, the whole of float64);
verdicts that are not a number of digits (kink, undefined, unsettled, error, skipped) have
their own colours, never on that scale, so a kink is never read as "half right".
"""

from __future__ import annotations

import math

MAX_DIGITS_SHOWN = 16.0  # the scale's top
# Digits a dtype holds, -log10(ε): a cell is coloured by the share of these it got
# right, so that 7 correct digits read as full marks in float32 and as half in float64.
DTYPE_DIGITS = {"float32": 6.92, "float64": 15.65}

VERDICT_COLOURS = {
    "agree": "#1a7f37",  # green
    "disagree": "#cf222e",  # red
    "kink": "#9a6700",  # amber: a derivative that does not exist; the sides are named
    "undefined": "#bc4c00",  # orange
    "unsettled": "#0969da",  # blue: the reference itself is not known to enough digits
    "error": "#8250df",  # purple: our own or the backend's failure
    "skipped": "#6e7781",  # grey
}
# The terminal's names for the same colours (rich styles).
VERDICT_STYLES = {
    "agree": "green",
    "disagree": "bold red",
    "kink": "yellow",
    "undefined": "yellow",
    "unsettled": "blue",
    "error": "magenta",
    "skipped": "dim",
}
# Background of a heatmap cell whose verdict carries no digits.
VERDICT_BACKGROUNDS = {
    "kink": "#fff1c2",
    "undefined": "#ffe2c7",
    "unsettled": "#ddf4ff",
    "error": "#eadcff",
    "skipped": "#eef0f2",
}

# Stops of the digits scale: (digits, colour); linear in between.
_STOPS = [
    (0.0, (0xD7, 0x30, 0x27)),
    (4.0, (0xF4, 0x6D, 0x43)),
    (8.0, (0xFE, 0xE0, 0x8B)),
    (12.0, (0xA6, 0xD9, 0x6A)),
    (16.0, (0x1A, 0x98, 0x50)),
]


def digits_colour(digits: float) -> str:
    """Background colour for a number of correct digits (NaN: no colour)."""
    if digits is None or not math.isfinite(digits):
        return ""
    d = min(max(float(digits), 0.0), MAX_DIGITS_SHOWN)
    for (d0, c0), (d1, c1) in zip(_STOPS, _STOPS[1:]):
        if d <= d1:
            t = (d - d0) / (d1 - d0)
            return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(c0, c1))
    return "#" + "".join(f"{c:02x}" for c in _STOPS[-1][1])


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on the background."""
    if not background:
        return ""
    r, g, b = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"


def share_colour(digits: float, dtype: str) -> str:
    """Background for digits as a share of what the dtype (float32, float64) holds."""
    if digits is None or not math.isfinite(digits):
        return ""
    full = DTYPE_DIGITS[dtype]
    return digits_colour(MAX_DIGITS_SHOWN * min(float(digits) / full, 1.0))


def cell_colours(verdict: str, digits: float, dtype: str = "float64") -> tuple[str, str]:
    """(background, text) of a summary cell: by the share of the dtype's digits where
    the verdict is a comparison (agree, disagree), by the verdict otherwise."""
    if verdict in ("agree", "disagree") and dtype in DTYPE_DIGITS:
        background = share_colour(digits, dtype)
    elif verdict in ("agree", "disagree"):
        # `expected` numbers ("decimal") are judged at the precision they were written
        # with, which differs row by row: agreeing is full marks, whatever the digits.
        background = digits_colour(MAX_DIGITS_SHOWN if verdict == "agree" else 0.0)
    else:
        background = VERDICT_BACKGROUNDS.get(verdict, "")
    return background, text_colour(background)
