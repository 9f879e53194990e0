"""Differential fuzzing: what the generator draws, the expectations it records, the campaign, the shrinker."""

import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import yaml

from diffcompare.cli import main
from diffcompare.engine.chainrule import ChainRule, point_in
from diffcompare.running.runner import run_problems
from diffcompare.spec.problem import build_problem
from diffcompare.tools.fuzz import (
    CAMPAIGN_BACKENDS,
    EXPECTED_VERDICTS,
    TEMPLATES,
    Generated,
    campaign,
    classify,
    expectations_of,
    random_problem,
    shrink,
    twin_gradient,
)
from diffcompare.tools.fuzzexpr import constant, index_step, leaf, make, replace_node, step
from diffcompare.tools.fuzzgen import INDEX, features, is_binary_fraction, ordinary_problem, well_conditioned

OUTCOMES = {"expected", "expected disagreement", "disagreement", "mismatch", "error", "skipped"}


@pytest.fixture(scope="module")
def drawn():
    """300 problems as the loader reads them: (generated, document, problem)."""
    rng = np.random.default_rng(14)
    out = []
    for i in range(300):
        generated = random_problem(rng, i, ["float64"])
        document = yaml.safe_load(yaml.safe_dump(generated.document(), sort_keys=False))
        out.append((generated, document, build_problem(document, "<fuzz>", document["name"])))
    return out


def test_generated_problems_parse_and_cover_what_broke(drawn):
    tags = Counter(tag for _, document, _ in drawn for tag in document["tags"])
    texts = [document["function"] for _, document, _ in drawn]
    for problem in (p for _, _, p in drawn):
        assert problem.function.shape == ()
        assert problem.size <= 300
    for feature in ["array", "matrix", "index", "slice", "reduction", "matmul", "where", "broadcast", "data"]:
        assert tags[feature] >= 10, (feature, tags)
    for feature in ["data-exponent", "real-exponent", "clamp"]:
        assert tags[feature] >= 5, (feature, tags)
    assert tags["decimal-constant"] >= 100
    assert sum(" @ " in t for t in texts) >= 10
    for reduction in ["sum(", "mean(", "prod(", "norm(", "logsumexp(", "dot("]:
        assert sum(reduction in t for t in texts) >= 3, reduction
    assert any(tag.startswith("expect:") for tag in tags)
    kinds = Counter(tag.split(":")[1] for tag in tags.elements() if tag.startswith("expect:"))
    for kind in ["kink", "undefined", "trap", "cusp", "near", "smooth"]:
        assert kinds[kind] >= 2, kinds
    ordinary = sum(1 for g, _, _ in drawn if g.kind == "ordinary")
    assert 150 <= ordinary <= 250  # 70 % of them
    constants = {
        e.name.strip("()") for g, _, _ in drawn for e in g.expr.subexpressions() if e.op == "const" and not e.shape
    }
    assert {"0.1", "1.7", "3e-3"} <= constants and not all(map(is_binary_fraction, constants))
    # issue 15's constructs: reductions along axis=, array building, the new functions, jumps
    for feature in ["axis", "build", "piecewise", "special"]:
        assert tags[feature] >= 10, (feature, tags)
    assert tags["list"] >= 5, tags
    assert sum("axis=(" in t for t in texts) >= 1
    for building in ["stack(", "concatenate(", "reshape(", "roll(", "diag(", "outer("]:
        assert sum(building in t for t in texts) >= 1, building
    assert sum(".T" in t or "transpose(" in t for t in texts) >= 1
    assert sum("tril(" in t or "triu(" in t for t in texts) >= 1
    for function in ["floor(", "ceil(", "round(", "trunc(", "sign(", " % ", "atan2(", "cbrt(", "hypot(", "erfc("]:
        assert sum(function in t for t in texts) >= 2, function
    for function in ["lgamma(", "digamma(", "exp2(", "logaddexp("]:
        assert sum(function in t for t in texts) >= 2, function
    assert sum(re.search(r"\bgamma\(", t) is not None for t in texts) >= 2
    for template in ["undefined-jump", "undefined-cut", "kink-extreme"]:
        assert tags[f"template:{template}"] >= 1, template


def test_softmax_gathers_loops_and_nested_lists_are_drawn(drawn):
    """Issue 16's constructs: softmax/log_softmax along axis=, x[idx] of integers from data (some
    repeated), index loops in the four reductions an ordinary problem may use, [[a, b], [c, d]]."""
    tags = Counter(tag for _, document, _ in drawn for tag in document["tags"])
    texts = {feature: [d["function"] for _, d, _ in drawn if feature in d["tags"]] for feature in tags}
    for feature in ["softmax", "gather", "loop"]:
        assert tags[feature] >= 5, (feature, tags)
    for feature in ["repeated-index", "nested-list", "template:kink-loop-extreme"]:
        assert tags[feature] >= 2, (feature, tags)
    assert all(re.search(r"\b(log_)?softmax\(", t) for t in texts["softmax"])
    assert any("softmax(" in t and "axis=" in t for t in texts["softmax"])
    assert any("log_softmax(" in t for t in texts["softmax"])
    assert all(f"[{INDEX}]" in t for t in texts["gather"])
    assert all("[[" in t and "], [" in t for t in texts["nested-list"])
    loops = texts["loop"]
    assert all(re.search(r" for (\w) in range\([^)]*\)\)", t) for t in loops)
    assert any(re.search(r"\[\w [+-] \d\]", t) for t in loops)  # x0[i + 1], x0[i - 1]
    for reduction in ["sum", "prod", "mean", "logsumexp"]:
        assert any(re.search(rf"\b{reduction}\([^()]*(\([^()]*\))*[^()]* for ", t) for t in loops), reduction
    for _, document, _ in drawn:
        if INDEX in document["point"]:  # integers in range for what it gathers
            idx = np.asarray(document["point"][INDEX])
            assert idx.dtype.kind == "i" and idx.min() >= 0, document
            assert INDEX not in document["wrt"]
        if "repeated-index" in document["tags"]:
            assert len(set(np.ravel(document["point"][INDEX]))) < np.size(document["point"][INDEX])
        if "template:kink-loop-extreme" in document["tags"]:
            assert re.search(r"\b(max|min)\(x\d\[[^\]]+\] for ", document["function"]), document["function"]


def test_loops_and_gathers_hold_their_values_and_shrink_to_problems_that_load(drawn):
    """Each Expr step holds f's value at the point as the loader computes it, and a loop or a
    gather stays valid however the shrinker cuts the function down (here: as far as it goes)."""
    checked = 0
    for generated, document, problem in drawn:
        if not {"loop", "gather", "softmax", "nested-list"} & set(document["tags"]):
            continue
        engine = ChainRule(problem.function, "float64")
        value = engine.forward(point_in(problem.point, "float64"))[-1]
        assert np.isclose(float(value), float(generated.expr.value), rtol=1e-12, atol=1e-300), document["function"]
        small = shrink(generated, lambda g: True, budget=30)
        shrunk = yaml.safe_load(yaml.safe_dump(small.document(), sort_keys=False))
        build_problem(shrunk, "<shrunk>", shrunk["name"])
        assert set(features(small.expr, small.wrt)) & {"loop", "gather"} <= set(document["tags"])
        checked += 1
    assert checked >= 20


def test_softmax_steps_keep_the_ordinary_guarantees():
    """log_softmax near 0 (one element takes nearly all the mass) cancels; softmax of values far
    apart underflows: neither is an ordinary step. Well spread, both are."""
    spread = leaf("var", "x", [0.3, -0.2, 0.5], live=True)
    assert step("softmax", (spread,), {"axis": 0}) is not None
    assert step("log_softmax", (spread,), {"axis": 0}) is not None
    dominated = leaf("var", "x", [30.0, 0.1, -0.2], live=True)
    assert step("softmax", (dominated,), {"axis": 0}) is not None
    assert step("log_softmax", (dominated,), {"axis": 0}) is None  # log_softmax(x)[0] ≈ -1e-13
    apart = leaf("var", "x", [[80.0, -1.0], [79.5, 0.2]], live=True)
    assert step("softmax", (apart,), {"axis": 1}) is None  # exp(-81) below TINY
    assert step("softmax", (apart,), {"axis": 0}) is not None


def test_ordinary_problems_stay_in_their_domains_and_well_conditioned(drawn):
    for generated, document, problem in drawn:
        if generated.kind != "ordinary":
            continue
        assert generated.expr.live and not generated.expectations()
        for e in generated.expr.subexpressions():
            if e.value.dtype != bool:
                assert np.all(np.isfinite(e.value)), document["function"]
        engine = ChainRule(problem.function, "float64")
        assert engine.kinks(point_in(problem.point, "float64"), problem.wrt) == [], document["function"]
        assert well_conditioned(document)


def test_singular_points_sit_where_the_expectation_says(drawn):
    for generated, document, problem in drawn:
        expectations = expectations_of(document["tags"])
        assert expectations == generated.expectations()
        engine = ChainRule(problem.function, "float64")
        kinks = engine.kinks(point_in(problem.point, "float64"), problem.wrt)
        if generated.kind in ("kink", "smooth"):
            assert kinks, document["function"]  # on the kink, exactly (smooth: a kink whose sides agree)
        if generated.kind == "near":
            assert kinks == [], document["function"]  # off it, by a few ulps to 1e-9
        gradient = engine.gradient(point_in(problem.point, "float64"), problem.wrt)
        if generated.template in ("undefined-jump", "undefined-cut"):
            assert kinks, document["function"]  # on the jump (the chain rule's derivative is finite: 0)
        elif generated.kind == "undefined":
            assert not all(np.all(np.isfinite(g)) for g in gradient.values()), document["function"]
        if generated.kind in (
            "trap",
            "cusp",
        ):  # the chain rule as written misses f's derivative (NaN, or relu's 0 at 0)
            twin = twin_gradient(generated)
            assert not all(np.allclose(gradient[v], twin[v], rtol=1e-9, atol=1e-12) for v in problem.wrt)


def test_every_kind_has_its_expected_verdicts():
    kinds = {"ordinary"}
    rng = np.random.default_rng(3)
    for template, _ in TEMPLATES.values():
        for _ in range(20):
            point = {"x0": np.array([0.5, -1.2, 0.7]), "x1": np.array(0.3)}
            term = template(rng, point, ["x0", "x1"])
            if term is not None:
                kinds.add(term.kind)
    assert kinds == set(EXPECTED_VERDICTS)
    for kind, methods in EXPECTED_VERDICTS.items():
        assert set(methods) == {"exact", "finite-difference"}, kind
    assert EXPECTED_VERDICTS["kink"]["exact"] == {"kink"}
    assert EXPECTED_VERDICTS["trap"]["exact"] == {"agree", "disagree"}


def _rows(generated: Generated, rows: list[tuple]) -> pd.DataFrame:
    columns = ["problem", "backend", "dtype", "variable", "index", "verdict", "reference", "method", "message"]
    return pd.DataFrame([(generated.name, *r, "") for r in rows], columns=columns)


def _singular(kind: str, template: str | None = None) -> Generated:
    rng = np.random.default_rng(0)
    for i in range(2000):
        generated = random_problem(rng, i, ["float64"])
        if generated.kind == kind and (template is None or generated.template == template):
            return generated
    raise AssertionError(kind)


def test_the_campaign_compares_each_verdict_with_the_expected_one():
    kink = _singular("kink")
    label = kink.elements[0]
    var, index = (label.split("[")[0], label.split("[")[1].rstrip("]")) if "[" in label else (label, "")
    frame = _rows(
        kink,
        [
            ("chainrule", "float64", var, index, "kink", np.nan, "exact"),
            ("central", "float64", var, index, "kink", np.nan, "finite-difference"),
            ("torch", "float64", var, index, "undefined", np.nan, "exact"),
            ("jax", "float64", var, index, "agree", 1.0, "exact"),
        ],
    )
    assert list(classify(frame, {kink.name: kink})["outcome"]) == ["expected", "expected", "mismatch", "mismatch"]

    ordinary = ordinary_problem(np.random.default_rng(1), 7, ["float64"])
    var = ordinary.wrt[0]
    index = ",".join(map(str, next(np.ndindex(ordinary.point[var].shape)))) if ordinary.point[var].ndim else ""
    frame = _rows(
        ordinary,
        [
            ("chainrule", "float64", var, index, "agree", 1.0, "exact"),
            ("torch", "float64", var, index, "disagree", 1.0, "exact"),
            ("sympy", "float64", var, index, "kink", 1.0, "exact"),
            ("jax", "float64", var, index, "error", np.nan, "exact"),
        ],
    )
    outcomes = list(classify(frame, {ordinary.name: ordinary})["outcome"])
    assert outcomes == ["expected", "disagreement", "mismatch", "error"]

    trap = _singular("trap", "trap-radius")
    var = trap.elements[0]
    index = ",".join(["0"] * trap.point[var].ndim)
    truth = float(twin_gradient(trap)[var].ravel()[0])  # f's derivative: the chain rule's on the template's twin
    frame = _rows(
        trap,
        [
            ("chainrule", "float64", var, index, "disagree", truth, "exact"),  # the chain rule's NaN: expected
            ("sympy", "float64", var, index, "undefined", np.nan, "exact"),  # the reference gave up: mismatch
            ("central", "float64", var, index, "disagree", truth, "finite-difference"),
            ("torch", "float64", var, index, "agree", truth + 0.5, "exact"),  # a wrong reference: mismatch
        ],
    )
    classified = classify(frame, {trap.name: trap})
    assert list(classified["outcome"]) == ["expected disagreement", "mismatch", "disagreement", "mismatch"]
    assert np.isfinite(classified["expected_reference"]).all()


def test_shrinking_an_array_problem_keeps_shapes_and_the_smallest_failure():
    x = leaf("var", "x", [0.3, -0.2, 0.5], live=True)
    inner = make("sin", [make("mul", [make("sigmoid", [x]), constant("1.7")])])
    big = make("add", [make("sum", [inner]), make("cos", [index_step(x, (0,), "[0]")])])
    generated = Generated(0, big, {"x": np.array([0.3, -0.2, 0.5])}, ["x"], ["float64"])
    assert big.text() == "(sum(sin((sigmoid(x) * 1.7))) + cos(x[0]))"
    # a stand-in for "the backend still disagrees": the function still uses sigmoid
    small = shrink(generated, lambda g: "sigmoid" in g.document()["function"])
    assert small.expr.text() == "sum(sigmoid(x))"  # sum stays: its operand has another shape
    document = yaml.safe_load(yaml.safe_dump(small.document()))
    assert build_problem(document, "<t>", "t").text == "sum(sigmoid(x))"
    # a replacement that leaves a step's domain is not tried: log(x + 2) -> log(x) at x < 0
    y = leaf("var", "y", -1.5, live=True)
    shifted = make("add", [y, constant("2")])
    assert replace_node(make("log", [shifted]), shifted, y) is None


def test_shrinking_a_singular_problem_keeps_its_template_whole():
    generated = _singular("kink", "kink-abs")
    small = shrink(generated, lambda g: g.holds_singular())
    assert small.holds_singular() and small.expectations() == generated.expectations()
    assert generated.singular.text() in small.expr.text()
    assert small.expr.size() <= generated.expr.size()


@pytest.mark.slow
def test_a_small_campaign_runs_and_compares_with_the_expectations(tmp_path):
    result = campaign(25, 5, tmp_path, backends=CAMPAIGN_BACKENDS, shrink_limit=1, shrink_budget=5, timeout=None)
    frame, findings = result
    counts = result.counts()
    assert counts["problems"] == 25 and counts["unbuildable"] == 0
    assert set(frame["backend"]) == set(CAMPAIGN_BACKENDS)
    assert set(frame["outcome"]) <= OUTCOMES
    assert (frame["expected"] != "ordinary").any()  # singular problems were judged against their kind
    assert set(counts) >= {"rows", "disagreements", "mismatches", "expected disagreement rows", "error rows"}
    for finding in findings:
        document = yaml.safe_load(finding.path.read_text(encoding="utf-8"))
        build_problem(document, str(finding.path), document["name"])


def test_the_fuzz_command_prints_its_figures(tmp_path, capsys):
    argv = ["fuzz", "--count", "4", "--seed", "2", "--out", str(tmp_path), "--backends", "chainrule,central"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "4 problems" in out
    assert "disagreement(s)" in out and "differ from the expected ones" in out and "error rows" in out


def test_forms_sympy_hangs_on_are_drawn_and_left_out_only_when_asked(monkeypatch):
    from diffcompare.tools import fuzzgen
    from diffcompare.tools.fuzzgen import known_hang

    x = leaf("var", "x", 0.789, live=True)
    # By default they are drawn: SymPy past its time is stopped, the reference is mpmath's chain rule.
    assert not known_hang("tanh", make("pow", [x, constant("1.7")]))
    monkeypatch.setattr(fuzzgen, "KNOWN_HANGS", True)
    assert known_hang("tanh", make("pow", [x, constant("1.7")]))  # tanh(x ** 1.7).diff(x) never returns
    assert not known_hang("tanh", make("pow", [x, constant("2.5")]))  # a short binary fraction is fine
    assert not known_hang("exp", make("pow", [x, constant("1.7")]))
    scaled = make("pow", [make("div", [x, constant("0.3")]), constant("2.5")])
    assert known_hang("pow", make("pow", [scaled, constant("0.5")]), constant("0.3"))


@pytest.mark.slow
@pytest.mark.parametrize("template", ["undefined-jump", "undefined-cut", "kink-extreme", "kink-loop-extreme"])
def test_jumps_cuts_and_tied_extremes_are_judged_as_their_template_says(template):
    """floor, ceil, sign, round, trunc, % on a jump and atan2 on its cut: `undefined` in the element
    that jumps (atan2's x, where it is a variable, is ordinary: f is π along it); max(x)/min(x)
    with its extreme tied, of one array or of an index loop (max(x0[i] for i in range(3))):
    `kink` in both tied elements, every other element ordinary."""
    generated = _singular("undefined" if template.startswith("undefined") else "kink", template)
    document = yaml.safe_load(yaml.safe_dump(generated.document(), sort_keys=False))
    problem = build_problem(document, "<fuzz>", document["name"])
    frame = run_problems([problem], ["chainrule", "jax", "central"], ["float64"])
    classified = classify(frame, {generated.name: generated})
    assert set(classified["outcome"]) <= {"expected", "expected disagreement"}, classified[["verdict", "message"]]
    named = classified[classified["expected"] != "ordinary"]
    assert len(named) == len(generated.elements) * 3
    assert set(named["verdict"]) == ({"undefined"} if template.startswith("undefined") else {"kink"})
    assert set(classified[classified["expected"] == "ordinary"]["verdict"]) <= {"agree"}


def test_a_tie_in_an_index_loop_is_a_kink_in_the_tied_elements_only():
    """max(x0[i] for i in range(…)) with two gathered elements tied at the top: `kink` in those
    two, `agree` in every other element (gathered or not), by the chain-rule engine."""
    generated = _singular("kink", "kink-loop-extreme")
    document = yaml.safe_load(yaml.safe_dump(generated.document(), sort_keys=False))
    assert re.search(r"\b(max|min)\(x\d\[[^\]]+\] for \w in range\(", document["function"]), document["function"]
    problem = build_problem(document, "<fuzz>", document["name"])
    frame = classify(run_problems([problem], ["chainrule"], ["float64"]), {generated.name: generated})
    assert set(frame["outcome"]) == {"expected"}, frame[["variable", "index", "verdict", "message"]]
    tied = {(label.split("[")[0], label.split("[")[1].rstrip("]")) for label in generated.elements}
    assert len(tied) == 2
    kinks = {(r.variable, r.index) for r in frame.itertuples() if r.verdict == "kink"}
    assert kinks == tied
    assert set(frame[[(r.variable, r.index) not in tied for r in frame.itertuples()]]["verdict"]) == {"agree"}


@pytest.mark.parametrize("template", ["kink-steep", "smooth-abs"])
def test_steep_kinks_and_kinks_that_do_not_move_are_judged_as_their_template_says(template):
    """log1p(C·|u|) with C up to 1e60 is a kink whose linear regime is far below any fixed step;
    abs(u ** 2) is a kink step that f does not feel: every exact row earns its expected verdict."""
    generated = _singular("kink" if template == "kink-steep" else "smooth", template)
    document = yaml.safe_load(yaml.safe_dump(generated.document(), sort_keys=False))
    problem = build_problem(document, "<fuzz>", document["name"])
    frame = run_problems([problem], ["chainrule", "jax"], ["float64"])
    classified = classify(frame, {generated.name: generated})
    assert set(classified["outcome"]) <= {"expected", "expected disagreement"}, classified[["verdict", "message"]]
    named = classified[classified["expected"] != "ordinary"]
    assert len(named) and set(named["verdict"]) == ({"kink"} if template == "kink-steep" else {"agree"})
