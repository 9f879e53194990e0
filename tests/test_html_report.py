"""report.html: a self-contained view of the results frame (the browser test opens it)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from conftest import PROBLEMS, write

from diffcompare.api import run
from diffcompare.running.runner import load_problems
from diffcompare.views.files import write_reports
from diffcompare.views.html_report import CSP, anchors, render
from diffcompare.views.latex import expression_latex, glyph_defs, latex_svg


@pytest.fixture(scope="module")
def page(seed_results):
    problems, _ = load_problems([PROBLEMS])
    return render(seed_results, ["p.yaml: problem 'p': key 'function': syntax error"], problems)


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links, self.sources, self.scripts, self.meta = [], [], [], [], []
        self.sections: dict[str, bool] = {}  # section id -> its <details> open
        self._section = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
        for key in ("src", "href", "xlink:href"):
            if key in attrs and tag != "a":
                self.sources.append(attrs[key])
        if tag == "script":
            self.scripts.append(attrs)
        if tag == "meta":
            self.meta.append(attrs)
        if tag == "section":
            self._section = attrs["id"]
        elif tag == "details" and self._section is not None:
            self.sections[self._section] = "open" in attrs
            self._section = None


def _parsed(page) -> _Collect:
    found = _Collect()
    found.feed(page)
    return found


def test_self_contained_and_links_resolve(page):
    found = _parsed(page)
    assert not [s for s in found.sources if not s.startswith("#")], "nothing may be fetched"
    assert found.scripts == [{}], "one inline script (the filter), no src"
    assert {"http-equiv": "Content-Security-Policy", "content": CSP} in found.meta
    assert "default-src 'none'" in CSP and "http" not in CSP
    assert "@import" not in page and "url(http" not in page
    internal = [link[1:] for link in found.links if link.startswith("#")]
    assert internal and set(internal) <= set(found.ids)
    assert {s[1:] for s in found.sources} <= set(found.ids), "every glyph a formula uses is defined"
    assert len(found.ids) == len(set(found.ids)), "every id once (figures share a page)"


def test_sections_collapsed_but_the_disagreeing_ones_and_an_index(page, seed_results):
    found = _parsed(page)
    ids = anchors(pd.unique(seed_results["problem"]))
    bad = set(seed_results.loc[seed_results["verdict"].isin(["disagree", "error"]), "problem"])
    assert found.sections == {ids[p]: p in bad for p in ids}
    index = page[page.index("<h2 id='index'>") : page.index("<h2 id='problems'>")]
    assert set(re.findall(r'href="#([^"]+)"', index)) == set(ids.values())
    assert page.count("href='#top'") == len(ids)  # every section's way back


def test_page_weight(page):
    """The seed report under 1.4 MB: 1.30 MB measured with issue 19's four more systems (13
    built-in backends, casadi and tensorflow in two modes of the gradient), 0.97 MB with issue
    17's operators and 9 backends, 2.35 MB before issue 16: glyphs defined once, cells coloured by
    short classes, table cells without their end tags, equal cells spanning their run, time bars
    in HTML."""
    assert len(page.encode("utf-8")) < 1_400_000


def test_disagreeing_problems_first_and_listed(page, seed_results):
    heat = page[page.index("<table class=heat>") : page.index("</table>", page.index("<table class=heat>"))]
    order = re.findall(r'<th class=problem><a href="#([^"]+)"', heat)
    ids = anchors(pd.unique(seed_results["problem"]))
    bad = {ids[p] for p in seed_results.loc[seed_results["verdict"] == "disagree", "problem"]}
    assert set(order[: len(bad)]) == bad
    disagreements = page[page.index("id='disagreements'") : page.index("id='failures'")]
    assert 'href="#p-saturated-sigmoid"' in disagreements
    assert "σ(1-σ) cancels" in disagreements
    why = re.search(r'href="#p-saturated-sigmoid".*?<td class=why title=\'([^\']*)\'>', heat).group(1)
    assert "float32: &#x27;sigmoid(w * x ** 2)&#x27;: σ(u) rounds to exactly 1, so σ(1-σ) is 0" in why


def _heat_cells(heat: str) -> dict[str, dict[str, tuple[str, str]]]:
    """The heatmap as the page writes it: row label -> column -> (the cell's attributes, its
    text); a run of columns a problem was not asked of is one <td colspan=n>, each column empty."""
    columns = re.findall(r"<th title='([^']+)'>", heat)
    rows = {}
    for row in heat.split("<tr>")[2:]:
        cells = []
        for attributes, text in re.findall(r"<td((?! class=why)[^>]*)>([^<]*(?:<small>[^<]*</small>)?)", row):
            span = re.search(r"colspan=(\d+)", attributes)
            cells += [(attributes, text)] * (int(span.group(1)) if span else 1)
        assert len(cells) == len(columns)
        rows[html.unescape(re.search(r">([^<]+)</a>", row).group(1))] = dict(zip(columns, cells))
    return rows


def test_cells_coloured_by_the_one_rule(page, seed_results):
    """Every heatmap cell's colour class is palette.cell_colours(verdict, digits, dtype) of its
    cell, by the rule the page defines for the class; agree and disagree cells carry ✓ and ✗.
    Rows are named as the view names them ('softmax-jacobian · jacobian'), columns by backend,
    mode and dtype ('torch (forward)/float64')."""
    from diffcompare.views.palette import cell_colours
    from diffcompare.views.summary import cell_summary, problem_labels

    heat = page[page.index("<table class=heat>") : page.index("</table>", page.index("<table class=heat>"))]
    rules = {
        name: (b, t) for name, b, t in re.findall(r"\.(c\d+)\{background:(#[0-9a-f]{6});color:(#[0-9a-f]{6})\}", page)
    }
    rows, labels = _heat_cells(heat), problem_labels(seed_results)
    summary = cell_summary(seed_results)
    for r in summary.itertuples(index=False):
        attributes, text = rows[labels[r.problem]][r.column]
        background, colour = cell_colours(r.verdict, r.digits, r.column.rsplit("/", 1)[1])
        name = re.fullmatch(r" class=(c\d+)", attributes).group(1)
        assert rules[name] == (background.lower(), colour.lower()), (r, attributes)
        assert text.endswith({"agree": "✓", "disagree": "✗"}.get(r.verdict, f"<small>{r.verdict}</small>"))
    asked = {(labels[r.problem], r.column) for r in summary.itertuples(index=False)}
    empty = [cell for label, row in rows.items() for column, cell in row.items() if (label, column) not in asked]
    assert empty and all(text == "" for _, text in empty)  # a gradient problem's Hessian columns


def test_every_digit_of_the_values(page, seed_results):
    rows = seed_results[(seed_results["problem"] == "saturated-sigmoid") & (seed_results["dtype"] == "float64")]
    torch_w = rows[(rows["backend"] == "torch") & (rows["variable"] == "w")].iloc[0]
    section = page[page.index('id="p-saturated-sigmoid"') :]
    assert repr(float(torch_w["value"])) in section  # 2.0250467969162598e-13, not 2.025e-13
    assert repr(float(torch_w["reference"])) in section
    assert "0.9999999999999873" in section  # σ(32) on the tape, not "1"


def test_tape_in_both_dtypes_with_the_lost_step_marked(page):
    start = page.index('id="p-saturated-sigmoid"')
    tape = page[
        page.index("<details class=tape>", start) : page.index("</details>", page.index("<details class=tape>", start))
    ]
    assert "Chain-rule tape, float64 and float32 (9 steps); digits lost in float64 at step 5 (t5 = sigmoid(t4))" in tape
    step5 = tape[tape.index("<td rowspan=2>5<") : tape.index("<td rowspan=2>6<")]
    float64, float32 = step5.split("<tr><td>float32")
    assert "<td>0.9999999999999873<td>∂/∂t4 = 1.2656542480726624e-14" in float64
    assert "σ(1-σ) cancels in 1-σ (up to ≈2e-02 relative error)" in float64
    assert float32.startswith('<td>1.0<td>∂/∂t4 = 0.0<td>1.0<td class="lost c')
    assert "local derivative: σ(u) rounds to exactly 1, so σ(1-σ) is 0 (all digits lost)" in float32
    assert tape.count('class="lost') == 2  # the other steps lose nothing worth naming


def test_tape_marks_and_the_table_explain_prints():
    """engine.tape: the marks come from the blame analysis of the same engine; the 6-column
    table is unchanged, the marked one adds the mark."""
    from diffcompare.engine.chainrule import ChainRule, point_in
    from diffcompare.engine.tape import marked_tape_table, tape_marks, tape_table
    from diffcompare.running.blame import Explainer
    from diffcompare.spec.files import load_file

    (problem,), _ = load_file(PROBLEMS / "saturated_sigmoid.yaml")
    steps = ChainRule(problem.function, "float32").tape(point_in(problem.point, "float32"), problem.wrt)
    marks = tape_marks(steps, Explainer().analysis(problem, "float32"))
    assert list(marks) == [5] and marks[5].all_lost and marks[5].hazard_in == "derivative"
    rows = marked_tape_table(steps, marks)
    assert [row[:6] for row in rows] == tape_table(steps) and all(len(r) == 6 for r in tape_table(steps))
    assert rows[4][3:] == ("1.0", ["∂/∂t4 = 0.0"], "1.0", marks[5].text)
    assert [r[6] for r in rows if r[6]] == [
        "local derivative: σ(u) rounds to exactly 1, so σ(1-σ) is 0 (all digits lost)"
    ]


def test_formulas_typeset_and_as_text_and_bad_input_listed(page):
    section = page[page.index('id="p-logistic-bce"') : page.index("</section>", page.index('id="p-logistic-bce"'))]
    assert section.count("<svg") >= 4  # function, let steps, derivatives
    assert section.count("<div class=text><code>") == section.count("<details class=tex>") >= 4
    assert "Chain-rule tape" in section and "<table class=bars>" in section
    assert "key &#x27;function&#x27;: syntax error" in page
    erf = page[page.index('id="p-erf-underflow-float32"') :]
    derivative = erf[erf.index("<div class=derivative>") : erf.index("</details>", erf.index("<div class=derivative>"))]
    assert "<code>-4*exp(-sinh(2/x)**2)*cosh(2/x)/(sqrt(pi)*x**2)</code>" in derivative  # SymPy's, as text
    assert r"\cosh{\left(\frac{2}{x} \right)}" in derivative  # and its LaTeX
    closed = page[page.index('id="p-sympy-cosh-of-nested-where"') :]
    closed = closed[: closed.index("</section>")]
    assert "<details>" in closed and "<details open>" not in closed
    derivative = closed[closed.index("<h3>Symbolic derivative</h3>") : closed.index("<h3>Gradient</h3>")]
    assert "sinh(Piecewise((x0" in derivative and "<svg" not in derivative  # typeset only where it opens
    assert "<svg" in closed[: closed.index("<h3>Symbolic derivative</h3>")]  # the function is


def test_latex_as_written():
    assert expression_latex("sigmoid(w * x**2) + 1 / b**3") == r"\sigma\left(w\,{x}^{2}\right) + \frac{1}{{b}^{3}}"
    assert expression_latex("-(x + y)**2") == r"-{\left(x + y\right)}^{2}"
    assert expression_latex("(x - y) - (a - b)") == r"x - y - \left(a - b\right)"
    assert expression_latex("clamp(p, 1e-8, 1)") == r"\operatorname{clamp}\left(p, 10^{-8}, 1\right)"
    assert expression_latex("A[1, 0] * x_hat") == r"{A}_{1,0}\,x_{\mathrm{hat}}"
    svg = latex_svg(r"\frac{1}{x}")
    assert svg.startswith("<svg") and svg.count("<use ") == 2 and "<rect " in svg  # 1, x and the bar
    uses = re.findall(r'href="#([^"]+)"', svg)
    defs = glyph_defs(svg)
    assert all(f'id="{u}"' in defs for u in uses) and defs.count("<path ") == 2
    assert glyph_defs("<p>no formula</p>") == ""
    assert latex_svg(r"\begin{cases} 1 \end{cases}") is None  # mathtext has no cases: the text is shown instead


def test_hostile_names_are_escaped(tmp_path):
    write(tmp_path, "p.yaml", "name: '<script>alert(1)</script>'\nfunction: x**2\npoint: {x: 1.5}\n")
    problems, errors = load_problems([tmp_path])
    frame = run([tmp_path], backends=["chainrule"], dtypes=["float64"])
    page = render(frame, [], problems)
    assert page.count("<script") == 1 and "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the one is ours


@pytest.mark.slow  # two runs and a matplotlib figure: 3 s
def test_sweep_family_gets_a_scaling_plot_and_sweeps_are_picked_up(tmp_path):
    from diffcompare.spec.files import load_file
    from diffcompare.tools.sweep import write_sweep

    path = write(
        tmp_path,
        "family.yaml",
        "name: squares\nfunction: sum(x**2)\npoint: {x: {shape: [n], fill: 0.5}}\nsweep: {n: [10, 100, 1000]}\n"
        "---\nname: sine\nfunction: sin(x)\npoint: {x: 1.0}\n",
    )
    problems, _ = load_file(path)
    out = tmp_path / "reports"
    write_sweep(problems[-1], "x", (), out)
    frame = run([path], backends=["chainrule", "central"], dtypes=["float64"])
    write_reports(frame, [], out, problems)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<h2 id='scaling'>Scaling</h2>" in page and "<h3>squares</h3>" in page
    sine = page[page.index('id="p-sine"') :]
    assert "Finite-difference step sweep" in sine
    # the family members' sections show each cell's worst element, not 1000 rows
    member = page[page.index('id="p-squares-n-1000"') : page.index("</section>", page.index('id="p-squares-n-1000"'))]
    assert "1000 elements: each cell's worst element" in member and member.count("<tr>") < 12


def test_dollar_signs_in_names_are_text_not_mathtext(tmp_path):
    """A name with `$` would be typeset by matplotlib (and a malformed one would fail
    the figure): the family's scaling plot and a step sweep are drawn all the same."""
    from diffcompare.spec.files import load_file
    from diffcompare.tools.sweep import write_sweep

    path = write(
        tmp_path,
        "dollars.yaml",
        "name: 'cost $\\frac{1$ x'\nfunction: sum(x**2)\npoint: {x: {shape: [n], fill: 0.5}}\nsweep: {n: [2, 20]}\n"
        "---\nname: 'one $\\frac{2$ two'\nfunction: sin(x)\npoint: {x: 1.0}\n",
    )
    problems, errors = load_file(path)
    assert errors == []
    out = tmp_path / "reports"
    write_sweep(problems[-1], "x", (), out)
    frame = run([path], backends=["chainrule"], dtypes=["float64"])
    paths = write_reports(frame, [], out, problems)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert out / "report.html" in paths
    assert "Finite-difference step sweep" in page and "<h2 id='scaling'>Scaling</h2>" in page
