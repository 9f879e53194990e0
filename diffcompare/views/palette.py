"""One set of colours for every view of the results: the HTML report, the notebook
styling and the terminal table all colour a cell by the same rule.

**The verdict decides the hue family, the digits decide the strength within it.**
An agreeing cell is blue, a disagreeing one vermillion (orange-red), whatever its
digits: a cell that agrees with 0 correct digits (a finite difference within its own
error bound) is a pale blue, never the colour of a failure. Within a family the
strength says how far the cell is from the line between them:

- agree: the share of the dtype's digits that are right (7 of float32's 6.9 is full
  strength, 7 of float64's 15.7 is half);
- disagree: the share that is wrong (0 correct digits is the deepest vermillion).

Blue against orange is the contrast that the common colour-vision deficiencies keep
(deuteranopia and protanopia lose red against green, not blue against yellow/orange):
the families come from Okabe & Ito's palette, and `tests/test_palette.py` checks that
every agree colour stays apart from every disagree colour (CIEDE2000, `delta_e2000`) in
normal vision and under `simulate_deuteranopia` (and protanopia). Verdicts that are not a number of digits
(kink, undefined, unsettled, error, skipped) have colours of their own, outside both
families, so that a kink is never read as "half right". Every view writes the verdict's
word or glyph in the cell as well: colour is never the only carrier.
"""

from __future__ import annotations

import math

MAX_DIGITS_SHOWN = 16.0  # the scale's top
# Digits a dtype holds, -log10(ε): a cell is coloured by the share of these it got
# right, so that 7 correct digits read as full marks in float32 and as half in float64.
DTYPE_DIGITS = {"float32": 6.92, "float64": 15.65}

# Text and chip colours (white text on them, or them as text on white: each has a
# contrast of at least 4.5:1 against white, WCAG AA for small text).
VERDICT_COLOURS = {
    "agree": "#0069a8",  # Okabe-Ito blue, a shade deeper
    "disagree": "#b83f00",  # Okabe-Ito vermillion, a shade deeper
    "kink": "#574600",  # dark ochre: a derivative that does not exist; the sides are named
    "undefined": "#3f6b00",  # dark yellow-green
    "unsettled": "#655d57",  # warm grey: the reference itself is not known to enough digits
    "error": "#1f1f1f",  # near black: our own or the backend's failure
    "skipped": "#707070",  # grey
}
# The terminal's styles for the same colours (rich styles; rich maps a hex colour to
# the nearest one a terminal of 256 or 16 colours has). A disagreement is also bold.
VERDICT_STYLES = {
    "agree": "#3d8fd1",  # lighter than the chip: read on dark terminals as well as light ones
    "disagree": "bold #e8671b",
    "kink": "#c9a800",
    "undefined": "#7fb800",
    "unsettled": "#9a918b",
    "error": "bold reverse",  # inverted, as its dark cell in the report
    "skipped": "dim",
}
# Background of a heatmap cell whose verdict carries no digits.
# Chosen so that each stays apart from the others and from every colour of both
# families in normal vision and under deuteranopia and protanopia (tests/test_palette.py).
VERDICT_BACKGROUNDS = {
    "kink": "#fdfb92",  # pale yellow
    "undefined": "#aadf3c",  # yellow-green (green means nothing good or bad here: agree is blue)
    "unsettled": "#c1bbb7",  # warm grey
    "error": "#3a3a3a",  # dark grey, white text: a failure of ours or the backend's, not a verdict on digits
    "skipped": "#f2f7ee",  # paper: nothing was compared
}

# The two families: (palest, deepest) background, linear in sRGB in between. The palest
# ends keep enough colour that a pale blue and a pale orange are still told apart.
FAMILIES = {
    "agree": ((0xD2, 0xE6, 0xF7), (0x0B, 0x4F, 0x8F)),
    "disagree": ((0xFD, 0xD9, 0xB5), (0xA8, 0x34, 0x00)),
}
# Cells with digits but no verdict (a frame cut down to its digits): a neutral grey ramp.
NEUTRAL = ((0xF2, 0xF2, 0xF2), (0x5A, 0x5A, 0x5A))


def _hex(rgb) -> str:
    return "#" + "".join(f"{min(max(round(c), 0), 255):02x}" for c in rgb)


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def _mix(ends, t: float) -> str:
    (a, b), t = ends, min(max(t, 0.0), 1.0)
    return _hex(x + (y - x) * t for x, y in zip(a, b))


def family_colour(verdict: str | None, strength: float) -> str:
    """Background of the verdict's family (agree, disagree; anything else: neutral grey)
    at a strength from 0 (palest) to 1 (deepest)."""
    return _mix(FAMILIES.get(verdict, NEUTRAL), strength)


def strength(verdict: str | None, share: float) -> float:
    """A cell's strength in its family from the share (0 to 1) of the digits it got right:
    agree (and no verdict) grow with it, disagree with the share that is wrong."""
    share = min(max(share, 0.0), 1.0)
    return 1.0 - share if verdict == "disagree" else share


def digits_colour(digits: float, verdict: str | None = "agree") -> str:
    """Background for a number of correct digits on the 0 … MAX_DIGITS_SHOWN scale, in the
    verdict's family (NaN: no colour). verdict=None: the neutral grey ramp."""
    if digits is None or not math.isfinite(digits):
        return ""
    return family_colour(verdict, strength(verdict, float(digits) / MAX_DIGITS_SHOWN))


def share_colour(digits: float, dtype: str, verdict: str | None = "agree") -> str:
    """Background for digits as a share of what the dtype (float32, float64) holds."""
    if digits is None or not math.isfinite(digits):
        return ""
    return family_colour(verdict, strength(verdict, float(digits) / DTYPE_DIGITS[dtype]))


def text_colour(background: str) -> str:
    """Black or white, whichever has the higher contrast on the background (at least 4.58:1)."""
    if not background:
        return ""
    return "#000000" if contrast(background, "#000000") >= contrast(background, "#ffffff") else "#ffffff"


def cell_colours(verdict: str, digits: float, dtype: str = "float64") -> tuple[str, str]:
    """(background, text) of a summary cell: the verdict's family (agree, disagree) at the
    strength its digits give, as a share of the dtype's; the verdict's own background otherwise."""
    if verdict in FAMILIES and dtype in DTYPE_DIGITS:
        background = share_colour(digits, dtype, verdict)
        if not background:  # no digits (NaN): the family at full strength
            background = family_colour(verdict, 1.0)
    elif verdict in FAMILIES:
        # `expected` numbers ("decimal") are judged at the precision they were written
        # with, which differs row by row: the family at full strength, whatever the digits.
        background = family_colour(verdict, 1.0)
    else:
        background = VERDICT_BACKGROUNDS.get(verdict, "")
    return background, text_colour(background)


def legend(steps: int = 5) -> list[tuple[str, str, str, str]]:
    """(verdict, label, background, text) swatches of both families, palest to deepest
    by share of the dtype's digits right, for a report's legend."""
    swatches = []
    for verdict in FAMILIES:
        for k in range(steps):
            share = k / (steps - 1)
            background = family_colour(verdict, strength(verdict, share))
            swatches.append((verdict, f"{round(100 * share)}%", background, text_colour(background)))
    return swatches


# Colour-vision deficiency, simulated: Machado, Oliveira & Fernandes (2009), "A
# physiologically-based model for simulation of color vision deficiency", severity 1.0,
# applied to linear RGB.
MACHADO_DEUTERANOPIA = (
    (0.367322, 0.860646, -0.227968),
    (0.280085, 0.672501, 0.047413),
    (-0.011820, 0.042940, 0.968881),
)
MACHADO_PROTANOPIA = (
    (0.152286, 1.052583, -0.204868),
    (0.114503, 0.786281, 0.099216),
    (-0.003882, -0.048116, 1.051998),
)


def _to_linear(c: float) -> float:
    c /= 255.0
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _from_linear(c: float) -> float:
    c = min(max(c, 0.0), 1.0)
    return 255.0 * (12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055)


def _simulate(colour: str, matrix) -> str:
    linear = [_to_linear(c) for c in _rgb(colour)]
    return _hex(_from_linear(sum(m * c for m, c in zip(row, linear))) for row in matrix)


def simulate_deuteranopia(colour: str) -> str:
    """The colour ("#rrggbb") as a deuteranope sees it (Machado et al. 2009, severity 1)."""
    return _simulate(colour, MACHADO_DEUTERANOPIA)


def simulate_protanopia(colour: str) -> str:
    """The colour ("#rrggbb") as a protanope sees it (Machado et al. 2009, severity 1)."""
    return _simulate(colour, MACHADO_PROTANOPIA)


def lab(colour: str) -> tuple[float, float, float]:
    """CIELAB (D65) of an sRGB colour."""
    r, g, b = (_to_linear(c) for c in _rgb(colour))
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def delta_e(a: str, b: str) -> float:
    """CIE76 colour difference ΔE*ab between two sRGB colours (about 2.3 is just noticeable)."""
    return math.dist(lab(a), lab(b))


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""

    def luminance(colour: str) -> float:
        r, g, b = (_to_linear(c) for c in _rgb(colour))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def delta_e2000(a: str, b: str) -> float:
    """CIEDE2000 colour difference between two sRGB colours (Sharma, Wu & Dalal 2005)."""
    (l1, a1, b1), (l2, a2, b2) = lab(a), lab(b)
    c1, c2 = math.hypot(a1, b1), math.hypot(a2, b2)
    c_mean7 = ((c1 + c2) / 2) ** 7
    g = 0.5 * (1 - math.sqrt(c_mean7 / (c_mean7 + 25**7)))
    a1, a2 = a1 * (1 + g), a2 * (1 + g)
    c1, c2 = math.hypot(a1, b1), math.hypot(a2, b2)
    h1 = math.degrees(math.atan2(b1, a1)) % 360 if c1 else 0.0
    h2 = math.degrees(math.atan2(b2, a2)) % 360 if c2 else 0.0
    dl, dc = l2 - l1, c2 - c1
    dh = 0.0
    if c1 * c2:
        dh = h2 - h1
        dh -= 360 if dh > 180 else 0
        dh += 360 if dh < -180 else 0
    dh_big = 2 * math.sqrt(c1 * c2) * math.sin(math.radians(dh / 2))
    l_mean, c_mean = (l1 + l2) / 2, (c1 + c2) / 2
    h_mean = h1 + h2
    if c1 * c2:
        if abs(h1 - h2) <= 180:
            h_mean = (h1 + h2) / 2
        else:
            h_mean = (h1 + h2 + 360) / 2 if h1 + h2 < 360 else (h1 + h2 - 360) / 2
    t = (
        1
        - 0.17 * math.cos(math.radians(h_mean - 30))
        + 0.24 * math.cos(math.radians(2 * h_mean))
        + 0.32 * math.cos(math.radians(3 * h_mean + 6))
        - 0.20 * math.cos(math.radians(4 * h_mean - 63))
    )
    sl = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    sc, sh = 1 + 0.045 * c_mean, 1 + 0.015 * c_mean * t
    c_mean7 = c_mean**7
    rt = (
        -2
        * math.sqrt(c_mean7 / (c_mean7 + 25**7))
        * math.sin(math.radians(60 * math.exp(-(((h_mean - 275) / 25) ** 2))))
    )
    return math.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dh_big / sh) ** 2 + rt * (dc / sc) * (dh_big / sh))
