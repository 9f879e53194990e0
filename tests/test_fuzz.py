"""Differential fuzzing: random well-conditioned problems, and the shrinker."""

import numpy as np
import pytest
import yaml

from diffcompare.spec.problem import build_problem
from diffcompare.tools.fuzz import EXACT_BACKENDS, Expr, _apply, campaign, random_problem, shrink


@pytest.mark.slow
def test_200_random_problems_in_float64_no_crash_no_unexplained_disagreement(tmp_path):
    frame, findings = campaign(200, seed=0, out=tmp_path, dtypes=("float64",), backends=EXACT_BACKENDS)
    assert frame["problem"].nunique() == 200
    assert set(frame["backend"]) == set(EXACT_BACKENDS)
    assert not (frame["verdict"] == "error").any()
    assert findings == [], findings
    assert set(frame["verdict"]) <= {"agree", "kink", "undefined"}


def test_generated_problems_parse_and_stay_in_their_domains():
    rng = np.random.default_rng(5)
    for i in range(100):
        document, expr = random_problem(rng, i, ["float64"])
        problem = build_problem(document, "<test>", document["name"])
        assert problem.function.shape == ()
        assert any(e.op == "var" for e in expr.subexpressions())
        assert np.isfinite(expr.value)


def test_shrinking_keeps_the_smallest_expression_that_still_fails(tmp_path):
    x = Expr("var", name="x", value=0.3)
    s = Expr("sigmoid", (x,), value=_apply("sigmoid", [x]))
    inner = Expr("sin", (s,), value=_apply("sin", [s]))
    big = Expr("add", (inner, Expr("cos", (x,), value=_apply("cos", [x]))), value=0.0)
    # a stand-in for "the backend still disagrees": the function still uses sigmoid
    small = shrink(big, {"x": 0.3}, 0, ["float64"], lambda doc: "sigmoid" in doc["function"])
    assert small.text() == "sigmoid(x)"
    document = {"function": small.text(), "point": {"x": 0.3}}
    assert build_problem(yaml.safe_load(yaml.safe_dump(document)), "<t>", "t").text == "sigmoid(x)"
