"""The one colour rule (diffcompare/views/palette.py): the verdict decides the hue family,
the digits the strength within it, and the families stay apart for colour-blind readers.

Distances are CIEDE2000 (ΔE00, `palette.delta_e2000`, checked below against Sharma, Wu &
Dalal's test pairs). A ΔE00 of about 1 is just noticeable between two large patches side by
side; heatmap cells are small and read one at a time, away from the colour they must not be
taken for, where the difference needed grows several-fold (Stone, Albers Szafir & Setlur
2014 measured it growing steeply as marks shrink). So:

- every agree colour against every disagree colour: at least FAMILY_GAP = 20, in normal
  vision and under deuteranopia and protanopia (Machado et al. 2009, full severity). The
  old red–green scale, whose ends a deuteranope sees as the same olive, has them 9.6 apart:
  the rule fails it (test below);
- the five verdicts without digits: at least OTHER_GAP = 10 from each other and from
  every colour of both families, in the three visions (these cells also carry their word).
"""

import itertools

import pytest

from diffcompare.views import palette
from diffcompare.views.palette import (
    DTYPE_DIGITS,
    VERDICT_BACKGROUNDS,
    VERDICT_COLOURS,
    cell_colours,
    contrast,
    delta_e2000,
    simulate_deuteranopia,
    simulate_protanopia,
)

FAMILY_GAP = 20.0
OTHER_GAP = 10.0
VISIONS = {"normal": lambda c: c, "deuteranopia": simulate_deuteranopia, "protanopia": simulate_protanopia}
SHARES = [k / 20 for k in range(21)]


def family(verdict: str) -> list[str]:
    """Every background cell_colours gives the verdict: both dtypes, 0 to all of their digits, and decimal."""
    colours = {cell_colours(verdict, share * DTYPE_DIGITS[d], d)[0] for d in DTYPE_DIGITS for share in SHARES}
    colours |= {cell_colours(verdict, 3.0, "decimal")[0], cell_colours(verdict, float("nan"), "float64")[0]}
    return sorted(colours)


def test_the_simulation_is_machado_2009():
    # Pure red and green collapse towards the same olive/yellow for a deuteranope.
    assert simulate_deuteranopia("#ff0000") == "#a39000"
    assert simulate_protanopia("#ff0000") == "#6d5f00"
    assert delta_e2000(simulate_deuteranopia("#ff0000"), simulate_deuteranopia("#00ff00")) < 20
    assert delta_e2000("#ff0000", "#00ff00") > 80
    for grey in ("#000000", "#808080", "#ffffff"):  # greys stay grey (rows of the matrix sum to 1)
        assert delta_e2000(simulate_deuteranopia(grey), grey) < 1.0
        assert delta_e2000(simulate_protanopia(grey), grey) < 1.0


def test_ciede2000_matches_sharmas_test_pairs(monkeypatch):
    pairs = [
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0000),
        ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
        ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ]
    for first, second, want in pairs:
        monkeypatch.setattr(palette, "lab", lambda c, first=first, second=second: first if c == "a" else second)
        assert abs(palette.delta_e2000("a", "b") - want) < 5e-4


def test_the_old_red_green_scale_would_fail_the_rule():
    """The check can fail: the red (0 digits) and green (16) of the old scale under deuteranopia."""
    red, green = "#d73027", "#1a9850"
    assert delta_e2000(red, green) > FAMILY_GAP
    assert delta_e2000(simulate_deuteranopia(red), simulate_deuteranopia(green)) < FAMILY_GAP


@pytest.mark.parametrize("vision", VISIONS)
def test_every_agree_colour_stays_apart_from_every_disagree_colour(vision):
    see = VISIONS[vision]
    agree, disagree = family("agree"), family("disagree")
    assert len(agree) > 10 and len(disagree) > 10  # the digits do change the strength
    gap, a, d = min((delta_e2000(see(a), see(d)), a, d) for a in agree for d in disagree)
    assert gap >= FAMILY_GAP, (vision, a, d, gap)


@pytest.mark.parametrize("vision", VISIONS)
def test_the_verdicts_without_digits_stay_apart_from_each_other_and_the_families(vision):
    see = VISIONS[vision]
    both = family("agree") + family("disagree")
    for verdict, colour in VERDICT_BACKGROUNDS.items():
        assert cell_colours(verdict, float("nan"))[0] == colour
        gap = min(delta_e2000(see(colour), see(f)) for f in both)
        assert gap >= OTHER_GAP, (vision, verdict, gap)
    for (v, a), (w, b) in itertools.combinations(VERDICT_BACKGROUNDS.items(), 2):
        assert delta_e2000(see(a), see(b)) >= OTHER_GAP, (vision, v, w)


@pytest.mark.parametrize("vision", VISIONS)
def test_the_chip_colours_of_agree_and_disagree_stay_apart(vision):
    see = VISIONS[vision]
    assert delta_e2000(see(VERDICT_COLOURS["agree"]), see(VERDICT_COLOURS["disagree"])) >= FAMILY_GAP


def test_chip_colours_read_with_white_and_on_white():
    for verdict, colour in VERDICT_COLOURS.items():
        assert contrast(colour, "#ffffff") >= 4.5, verdict  # WCAG AA for small text


def test_the_verdict_decides_the_family_and_the_digits_the_strength():
    # A cell that agrees with 0 correct digits (a finite difference within its bound) is
    # the palest agree, not the colour of a failure; 0 digits that disagree is the deepest.
    pale_agree = cell_colours("agree", 0.0, "float32")[0]
    assert pale_agree in family("agree") and pale_agree not in family("disagree")
    assert cell_colours("agree", 0.0, "float32")[0] == palette.family_colour("agree", 0.0)
    assert cell_colours("agree", 16.0, "float64")[0] == palette.family_colour("agree", 1.0)
    assert cell_colours("agree", 7.0, "float32")[0] == palette.family_colour("agree", 1.0)  # full marks in float32
    assert cell_colours("disagree", 0.0, "float32")[0] == palette.family_colour("disagree", 1.0)
    assert cell_colours("disagree", 3.2, "float64")[0] == palette.family_colour("disagree", 1 - 3.2 / 15.65)
    # Strength is lightness: more digits, a deeper agree; more digits, a paler disagree.
    assert palette.lab(cell_colours("agree", 12.0, "float64")[0])[0] < palette.lab(pale_agree)[0]
    lightness = [palette.lab(cell_colours("disagree", d, "float64")[0])[0] for d in (0.0, 5.0, 10.0, 15.0)]
    assert lightness == sorted(lightness)


def test_text_on_every_cell_is_readable():
    for verdict in ("agree", "disagree"):
        for background in family(verdict):
            text = palette.text_colour(background)
            assert contrast(background, text) >= 4.5, (verdict, background)
    for verdict, background in VERDICT_BACKGROUNDS.items():
        assert contrast(background, cell_colours(verdict, 0.0)[1]) >= 4.5, verdict


def test_the_legend_swatches_are_the_cells_colours():
    swatches = palette.legend(5)
    assert [s[0] for s in swatches] == ["agree"] * 5 + ["disagree"] * 5
    assert swatches[4][2] == cell_colours("agree", DTYPE_DIGITS["float64"], "float64")[0]
    assert swatches[5][2] == cell_colours("disagree", 0.0, "float64")[0]
