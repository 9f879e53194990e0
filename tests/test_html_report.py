"""report.html: a self-contained view of the results frame (the browser test opens it)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from conftest import PROBLEMS, write

from diffcompare.api import run
from diffcompare.running.runner import load_problems
from diffcompare.views.files import write_reports
from diffcompare.views.html_report import anchors, render
from diffcompare.views.latex import expression_latex, latex_svg


@pytest.fixture(scope="module")
def page(seed_results):
    problems, _ = load_problems([PROBLEMS])
    return render(seed_results, ["p.yaml: problem 'p': key 'function': syntax error"], problems)


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links, self.sources, self.open = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
        for key in ("src", "href", "xlink:href"):
            if key in attrs and tag != "a":
                self.sources.append(attrs[key])


def test_self_contained_and_links_resolve(page):
    found = _Collect()
    found.feed(page)
    assert not [s for s in found.sources if not s.startswith("#")], "nothing may be fetched"
    assert "<script" not in page and "@import" not in page and "url(http" not in page
    internal = [link[1:] for link in found.links if link.startswith("#")]
    assert internal and set(internal) <= set(found.ids)
    assert len(found.ids) == len(set(found.ids)), "every id once (figures share a page)"


def test_disagreeing_problems_first_and_listed(page, seed_results):
    heat = page[page.index('<table class="heat">') : page.index("</table>", page.index('<table class="heat">'))]
    order = re.findall(r'<th class="problem"><a href="#([^"]+)">', heat)
    ids = anchors(pd.unique(seed_results["problem"]))
    bad = {ids[p] for p in seed_results.loc[seed_results["verdict"] == "disagree", "problem"]}
    assert set(order[: len(bad)]) == bad
    disagreements = page[page.index("id='disagreements'") : page.index("id='failures'")]
    assert 'href="#p-saturated-sigmoid"' in disagreements
    assert "σ(1-σ) cancels" in disagreements


def test_every_digit_of_the_values(page, seed_results):
    rows = seed_results[(seed_results["problem"] == "saturated-sigmoid") & (seed_results["dtype"] == "float64")]
    torch_w = rows[(rows["backend"] == "torch") & (rows["variable"] == "w")].iloc[0]
    section = page[page.index('id="p-saturated-sigmoid"') :]
    assert repr(float(torch_w["value"])) in section  # 2.0250467969162598e-13, not 2.025e-13
    assert repr(float(torch_w["reference"])) in section
    assert "0.9999999999999873" in section  # σ(32) on the tape, not "1"


def test_formulas_typeset_and_bad_input_listed(page):
    section = page[page.index('id="p-logistic-bce"') : page.index("</section>", page.index('id="p-logistic-bce"'))]
    assert section.count("<svg") >= 5  # function, let steps, derivatives, time bars
    assert "Chain-rule tape" in section
    assert "key &#x27;function&#x27;: syntax error" in page


def test_latex_as_written():
    assert expression_latex("sigmoid(w * x**2) + 1 / b**3") == r"\sigma\left(w\,{x}^{2}\right) + \frac{1}{{b}^{3}}"
    assert expression_latex("-(x + y)**2") == r"-{\left(x + y\right)}^{2}"
    assert expression_latex("(x - y) - (a - b)") == r"x - y - \left(a - b\right)"
    assert expression_latex("clamp(p, 1e-8, 1)") == r"\operatorname{clamp}\left(p, 10^{-8}, 1\right)"
    assert expression_latex("A[1, 0] * x_hat") == r"{A}_{1,0}\,x_{\mathrm{hat}}"
    assert latex_svg(r"\frac{1}{x}").startswith("<svg") and "<path" in latex_svg(r"\frac{1}{x}")
    assert latex_svg(r"\begin{cases} 1 \end{cases}") is None  # mathtext has no cases: the text is shown instead


def test_hostile_names_are_escaped(tmp_path):
    write(tmp_path, "p.yaml", "name: '<script>alert(1)</script>'\nfunction: x**2\npoint: {x: 1.5}\n")
    problems, errors = load_problems([tmp_path])
    frame = run([tmp_path], backends=["chainrule"], dtypes=["float64"])
    page = render(frame, [], problems)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


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
