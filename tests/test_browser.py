"""The HTML report in a real browser: headless Chromium, the network cut off.

.ci/run installs Debian's chromium; where it is missing (a developer's laptop)
the test is skipped with that reason rather than pretending to pass.

What it holds the report of problems/ (the seed run) to: the colour rule (every cell
painted by palette.cell_colours, no agreeing cell in the disagree family, the two
families apart under a deuteranopia simulation), the width at 420 px (the page itself
never scrolls sideways, every section open), formulas findable as text, the first
screen holding every problem that disagrees, a header that sticks, the page whole
without JavaScript, and its weight (bytes and DOM nodes).
"""

from __future__ import annotations

import math

import pytest
from browser import blank_share, chromium_path, visit
from conftest import PROBLEMS

pytestmark = pytest.mark.slow  # a real browser: end to end
pytest.importorskip("playwright")
if chromium_path() is None:
    pytest.skip("no chromium on PATH (.ci/run installs Debian's chromium)", allow_module_level=True)

# the seed report: 1.30 MB measured with issue 19's four more systems (13 built-in backends, two
# of them in two modes of the gradient), 0.97 MB with issue 17's operators and 9 backends, 0.86 MB
# before, 2.35 MB before issue 16
MAX_BYTES = 1_400_000
# Elements of the seed report: 56,227 measured with issue 19's 13 built-in backends; 40,308 with
# issue 17's 9 (78 problems, 8 of them operators: the value tables' cells, each glyph of a typeset
# formula a <use>); 35,051 for the 69 gradient problems before issue 17, 36,838 before issue 16,
# with 2.7 times the bytes.
MAX_DOM_NODES = 60_000


@pytest.fixture(scope="module")
def report(seed_results, tmp_path_factory):
    from diffcompare.running.runner import load_problems
    from diffcompare.views.files import write_reports

    problems, _ = load_problems([PROBLEMS])
    out = tmp_path_factory.mktemp("report")
    write_reports(seed_results, [], out, problems)
    return out / "report.html"


def _filter_to_disagree(page):
    """Choose 'disagree' in the verdict filter: the problems it leaves shown."""
    page.select_option(".filter select[aria-label='any verdict']", "disagree")
    shown = page.evaluate("() => [...document.querySelectorAll('section[id]')].filter(s => s.offsetParent).length")
    rows = page.evaluate(
        "() => [...document.querySelectorAll('table.heat tbody tr')].filter(r => r.offsetParent).length"
    )
    page.select_option(".filter select[aria-label='any verdict']", "")
    return {"sections": shown, "heat_rows": rows}


@pytest.fixture(scope="module")
def seen(report):
    return visit(report, width=1280, height=900, actions=_filter_to_disagree)


@pytest.fixture(scope="module")
def narrow(report):
    return visit(report, width=420, height=860)


def _rgb(css: str) -> str:
    """'rgb(12, 34, 56)' as '#0c2238'."""
    parts = css[css.index("(") + 1 : css.index(")")].split(",")
    return "#" + "".join(f"{int(float(p)):02x}" for p in parts[:3])


def test_renders_without_console_errors_or_requests(seen):
    assert seen.page_errors == []
    assert seen.console_errors == []
    assert seen.outside_requests == [], "the report must open offline"
    assert seen.failed_requests == []


def test_screenshot_is_not_blank(seen):
    assert len(seen.screenshot) > 10_000
    # The top of the page is the title, the verdict chips and the coloured heatmap:
    # far from a white page.
    assert blank_share(seen.screenshot) < 0.85


def test_layout(seen, seed_results):
    from diffcompare.views import modes

    layout = seen.layout
    problems = seed_results["problem"].nunique()
    assert layout["sections"] == problems
    assert layout["broken_links"] == []
    assert seen.opened["missing_glyphs"] == [], "every glyph of a formula is defined once in the page"
    assert layout["visible_svgs"] >= 10  # the open sections' formulas
    assert seen.opened["visible_svgs"] > problems  # every section's formulas, once open
    # A column per backend × mode × dtype, as the view labels them (views/modes.labelled): every
    # row spans them all, a run of columns without a cell as one cell.
    labelled = modes.labelled(seed_results)
    backends = labelled[labelled["backend"] != ""]
    columns = (backends["backend"].astype(str) + "/" + backends["dtype"].astype(str)).nunique()
    assert layout["heat_columns"] == columns
    assert layout["heat_cells"] == problems * columns


def test_sections_open_where_a_row_disagrees_or_fails(seen, seed_results):
    from diffcompare.views.html_report import anchors

    ids = anchors(seed_results["problem"].unique())
    bad = seed_results[seed_results["verdict"].isin(["disagree", "error"])]["problem"].unique()
    assert sorted(seen.layout["open_sections"]) == sorted(ids[p] for p in bad)


def test_first_screen_holds_every_problem_that_disagrees(seen):
    """The summary fits one screen: at 1280 × 900 the heatmap's rows of the problems that
    disagree (with their likely cause) are all above the fold."""
    layout = seen.layout
    assert layout["bad_rows"] > 10
    assert layout["bad_rows_bottom"] <= 900


def test_header_sticks(seen):
    assert seen.layout["header_top"] == 0
    assert seen.opened["header_after_scroll"] == 0, "the bar stays at the top of the window, far down the page"


def test_colour_rule_every_cell_by_cell_colours_and_no_agree_in_the_disagree_family(seen, seed_results):
    """Every heatmap cell is painted palette.cell_colours(verdict, digits, dtype) of its cell,
    read back from the browser; no cell that agrees is nearer the disagree family than the
    agree family (ΔE2000), and the other way round; every cell of the gradient tables
    carries its verdict word and a colour of its verdict's family."""
    from diffcompare.views import palette
    from diffcompare.views.summary import cell_summary, problem_labels

    labels = problem_labels(seed_results)  # a row is named 'softmax-jacobian · jacobian' past the gradient
    cells = cell_summary(seed_results)
    summary = {(labels[r.problem], r.column): r for r in cells.itertuples(index=False)}
    painted = {"agree": set(), "disagree": set()}
    found = 0
    for cell in seen.layout["heat"]:
        r = summary.get((cell["problem"], cell["column"]))
        if r is None:
            assert cell["text"] == "", cell  # a column this problem was not asked of: empty
            continue
        found += 1
        want = palette.cell_colours(r.verdict, r.digits, cell["column"].rsplit("/", 1)[1])[0]
        assert _rgb(cell["background"]) == want, (cell, r.verdict, r.digits)
        assert ("✓" in cell["text"]) == (r.verdict == "agree") and ("✗" in cell["text"]) == (r.verdict == "disagree")
        if r.verdict in painted:
            painted[r.verdict].add(want)
    families = {v: [palette.family_colour(v, k / 50) for k in range(51)] for v in ("agree", "disagree")}

    def nearest(colour: str) -> str:
        return min(families, key=lambda v: min(palette.delta_e2000(colour, f) for f in families[v]))

    assert found == len(cells), "every cell of the summary is in the heatmap"
    assert painted["agree"] and painted["disagree"]
    for verdict, colours in painted.items():
        assert {nearest(c) for c in colours} == {verdict}
    grad = seen.opened["grad"]
    assert len(grad) > 1000
    for cell in grad:
        word = cell["text"].split()[0]
        if word in families:
            assert nearest(_rgb(cell["background"])) == word, cell


def test_colour_families_apart_under_deuteranopia(seen):
    """What a reader with deuteranopia sees: every agree cell's colour against every disagree
    cell's, and the two chips, at least 20 ΔE2000 apart (tests/test_palette.py's family gap)."""
    from diffcompare.views import palette

    simulate = getattr(palette, "simulate_deuteranopia", None)
    if simulate is None:
        pytest.skip("palette.simulate_deuteranopia is not there yet (issue 16's palette change)")
    cells = {"agree": set(), "disagree": set()}
    for cell in seen.opened["grad"]:
        word = cell["text"].split()[0]
        if word in cells:
            cells[word].add(_rgb(cell["background"]))
    gap = min(palette.delta_e2000(simulate(a), simulate(d)) for a in cells["agree"] for d in cells["disagree"])
    assert gap >= 20, gap
    chips = seen.layout["chips"]
    assert palette.delta_e2000(simulate(_rgb(chips["agree"])), simulate(_rgb(chips["disagree"]))) >= 20


def test_no_sideways_scroll_at_420_px(narrow):
    """At 420 px the page itself never scrolls sideways, even with every section open: wide
    tables and formulas scroll in their own boxes."""
    assert narrow.layout["client_width"] <= 420
    assert narrow.layout["scroll_width"] <= 420
    assert narrow.opened["scroll_width"] <= 420
    assert narrow.page_errors == []


def test_derivatives_are_text(seen):
    """SymPy's derivative is text as well as a picture: find-in-page and copy reach it. The
    section of erf-underflow-float32 is open (it disagrees); every section's once opened."""
    assert "-4*exp(-sinh(2/x)**2)*cosh(2/x)/(sqrt(pi)*x**2)" in seen.layout["text"]
    assert "x**2*exp(-w*x**2)/(1 + exp(-w*x**2))**2" in seen.layout["text"]  # saturated-sigmoid, ∂f/∂w
    assert "sinh(Piecewise((x0" in seen.opened["text"]  # sympy-cosh-of-nested-where, closed at first
    assert r"\frac{x^{2} e^{- w x^{2}}}" in seen.opened["text"]  # its LaTeX, behind its toggle


def test_tape_in_both_dtypes_marks_the_lost_step(seen):
    text = seen.opened["text"]
    assert "Chain-rule tape, float64 and float32" in text
    assert "local derivative: σ(u) rounds to exactly 1, so σ(1-σ) is 0 (all digits lost)" in text


def test_filter_and_the_page_without_javascript(seen, report, seed_results):
    """The script's filter shows the problems that disagree, and hides the rest; without
    JavaScript there is no filter and every section is there, the open ones open."""
    bad = seed_results.loc[seed_results["verdict"] == "disagree", "problem"].nunique()
    assert seen.layout["filter"]
    assert seen.layout["actions"] == {"sections": bad, "heat_rows": bad}
    plain = visit(report, width=1280, height=900, javascript=False)
    assert not plain.layout["filter"]
    assert plain.layout["shown_sections"] == plain.layout["sections"] == seed_results["problem"].nunique()
    assert plain.layout["open_sections"] == seen.layout["open_sections"]
    assert plain.page_errors == [] and plain.outside_requests == []


def test_page_weight(report, seen):
    """The seed report under 1 MB, and its elements under a bound measured with a margin."""
    size = report.stat().st_size
    assert size < MAX_BYTES, f"report.html is {size} bytes"
    assert seen.layout["dom_nodes"] < MAX_DOM_NODES, seen.layout["dom_nodes"]
    # 93,699 px measured at 1280 px with issue 19's 13 built-in backends (each problem's section
    # has a row per backend and mode); 47,000 px with 9 before issue 17
    assert math.isfinite(seen.layout["page_height"]) and seen.layout["page_height"] < 100_000
