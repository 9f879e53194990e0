"""Kinks judged on f, and messages that are true of f.

A steep kink is a kink at any steepness, and an infinite side or one without a limit is
still `undefined`; a kink message names only a step that kinks along its own element;
a row is told which side it returned with that side as its dtype holds it; the float64
tape is run once per problem. Each class has its problem in problems/.
"""

from __future__ import annotations

import re

import mpmath
import numpy as np
import pytest

import diffcompare
from diffcompare.engine.chainrule import ChainRule, unbroadcast
from diffcompare.exact import singular as singular_module
from diffcompare.exact.derived import gradient_problems
from diffcompare.exact.mpchain import _unbroadcast
from diffcompare.exact.onesided import STEPS
from diffcompare.exact.singular import ALL, Singular
from diffcompare.exact.truth import truth_of
from diffcompare.spec.problem import build_problems
from tests.conftest import BEHAVIOURS, PROBLEMS, SINGULAR_AS_WRITTEN


def _basis(function: str, point: dict, **keys):
    """(reference, {(variable, index): Singular}) for one problem, from its exact side."""
    (problem,), errors = build_problems({"function": function, "point": point, **keys}, "<test>", "p")
    assert errors == []
    reference, singular, failure = truth_of(problem).judging_basis(repr)
    assert failure == ""
    return reference, singular


def _judged(function: str, point: dict, **keys) -> dict:
    return _basis(function, point, **keys)[1]


def _sides(message: str) -> tuple[float, float]:
    found = re.search(r"left derivative (\S+), right derivative ([^;\s]+)", message)
    assert found, message
    return float(found.group(1)), float(found.group(2))


# -- 1. a steep kink is a kink; an infinite side, or one without a limit, is undefined ------

SCALES = [1e10, 1e20, 1e30, 4.386326e42, 1e60]


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize(
    ("template", "point", "slope"),
    [
        ("log1p({C} * abs(x))", 0.0, 1.0),  # the one-sided chain rule, exact
        ("-(1 + {C} * abs(x - 1)) ** -0.1", 1.0, 0.1),  # the published form, off 0
        ("log1p({C} * sqrt(x ** 2))", 0.0, 1.0),  # sqrt'(0)·0: difference quotients, walked down to 1/C
        ("log1p({C} * sqrt((x - 1) ** 2))", 1.0, 1.0),
    ],
)
def test_a_steep_kink_is_a_kink_with_its_own_finite_sides(template, point, slope, scale):
    found = _judged(template.format(C=repr(scale)), {"x": point})
    kink = found[("x", ())]
    assert kink.verdict == "kink", kink.message
    assert kink.left == pytest.approx(-slope * scale, rel=1e-12)
    assert kink.right == pytest.approx(slope * scale, rel=1e-12)
    left, right = _sides(kink.message)
    assert left == pytest.approx(-slope * scale, rel=1e-5) and right == pytest.approx(slope * scale, rel=1e-5)
    assert "infinite" not in kink.message and "no limit" not in kink.message


def test_a_kink_steeper_than_float64_holds_prints_its_sides_not_inf():
    kink = _judged("log1p(1e300 * (1e300 * abs(x)))", {"x": 0.0})[("x", ())]
    assert kink.verdict == "kink"
    assert "left derivative -1.0e+600, right derivative 1.0e+600" in kink.message


@pytest.mark.parametrize("scale", ["1e-30", "1", "1e30"])
@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{C} * sqrt(abs(x))", ["its right derivative is infinite (so is the slope of 'sqrt(abs(x))'", "its left"]),
        ("{C} * abs(x) ** 0.5", ["its right derivative is infinite (so is the slope of 'abs(x) ** 0.5'", "its left"]),
        ("{C} * sqrt(x)", ["its right derivative is infinite", "its left derivative does not exist"]),
    ],
)
def test_an_infinite_side_is_undefined_whatever_its_scale(template, scale, words):
    found = _judged(template.format(C=scale), {"x": 0.0})
    item = found[("x", ())]
    assert item.verdict == "undefined" and all(w in item.message for w in words), item.message


def test_an_infinite_side_behind_a_singular_step_is_undefined_and_says_how_far_it_looked():
    # sqrt(sqrt(x²)) = |x|^½: sqrt'(0)·0 leaves the chain rule undecided, the quotients grow to the last step.
    item = _judged("sqrt(sqrt(x ** 2))", {"x": 0.0})[("x", ())]
    assert item.verdict == "undefined"
    assert f"its right derivative is infinite (its difference quotients grow at every step down to 2^-{STEPS[-1]}" in (
        item.message
    )


def test_a_side_without_a_limit_is_undefined():
    # f(0) = 0 and f(h)/h = sin(1/h): the quotients wander in [-1, 1] at every step.
    item = _judged("where(x == 0, 0, x * sin(1 / x))", {"x": 0.0})[("x", ())]
    assert item.verdict == "undefined"
    assert "its right derivative has no limit" in item.message and "its left derivative has no limit" in item.message
    # x·sin(1/x) as written is not a number at 0 at all (sin of 1/0): that is what its rows say.
    (item,) = _judged("x * sin(1 / x)", {"x": 0.0}).values()
    assert item.verdict == "undefined" and item.message.startswith("f is not finite at this point")


def test_a_jump_is_a_side_that_does_not_exist_and_the_other_side_is_not_blamed():
    item = _judged("where(x > 0, 1, 0) + x", {"x": 0.0})[("x", ())]
    assert item.verdict == "undefined"
    assert "its right derivative does not exist: f jumps by 1.0 on that side" in item.message
    assert "so f is not continuous here" in item.message and "left derivative" not in item.message


@pytest.mark.parametrize(
    ("function", "point", "reference"),
    [
        ("x * abs(x) ** 0.5", {"x": 0.0}, 0.0),  # flat on both sides, though pow'(0) is infinite
        ("sqrt(abs(x)) - sqrt(abs(x)) + 2 * x", {"x": 0.0}, 2.0),  # ∞ − ∞ is no verdict: f is 2x
        ("abs(sin(x) - x)", {"x": 0.0}, 0.0),  # abs at 0 of something flat to first order
    ],
)
def test_where_the_one_sided_chain_rule_cannot_decide_f_still_does(function, point, reference):
    exact, found = _basis(function, point)
    assert found == {}
    assert exact.hi["x"][()] == reference


@pytest.mark.slow
def test_the_published_steep_kink_problem_is_a_kink_in_every_row():
    frame = diffcompare.run(PROBLEMS / "steep_kink.yaml")
    rows = frame[frame["verdict"] != "skipped"]
    assert set(rows["verdict"]) == {"kink"}
    assert rows["message"].str.contains("left derivative -4.38633e\\+41, right derivative 4.38633e\\+41").all()


# -- 2. a kink message names the step that kinks along its own element -----------------------


@pytest.mark.parametrize(
    ("function", "point", "named"),
    [
        ("abs(x ** 2) + abs(x)", {"x": 0.0}, {"x": ["abs(x)"]}),
        ("abs(x) + abs(y)", {"x": 0.0, "y": 0.0}, {"x": ["abs(x)"], "y": ["abs(y)"]}),
        ("relu(x) + abs(x ** 3) + 2 * abs(y)", {"x": 0.0, "y": 0.0}, {"x": ["relu(x)"], "y": ["abs(y)"]}),
        ("max(x, 0) + max(y ** 2, 0)", {"x": 0.0, "y": 1.0}, {"x": ["max(x, 0)"]}),
        ("abs(x) + abs(2 * x)", {"x": 0.0}, {"x": ["abs(x)", "abs(2 * x)"]}),
        ("clamp(x, 0, 1) + clamp(2 * x, 0, 0)", {"x": 0.0}, {"x": ["clamp(x, 0, 1)"]}),
    ],
)
def test_a_kink_names_only_the_steps_that_kink_along_its_element(function, point, named):
    found = _judged(function, point)
    for var, steps in named.items():
        kink = found[(var, ())]
        assert kink.verdict == "kink", kink.message
        quoted = re.findall(r"'([^']*)' is at", kink.message)
        assert quoted == steps, kink.message
    assert set(var for var, _ in found) == set(named)  # y of max(y ** 2, 0) at 1 is no kink


@pytest.mark.parametrize(
    ("function", "point"),
    [("sqrt(sum(x ** 2))", {"x": [0.0, 0.0]}), ("sqrt(x ** 2)", {"x": 0.0}), ("norm(x)", {"x": [0.0, 0.0, 0.0]})],
)
def test_a_kink_no_single_step_accounts_for_is_said_in_plain_words(function, point):
    found = _judged(function, point)
    assert found
    for (var, index), kink in found.items():
        label = var + (f"[{index[0]}]" if index else "")
        assert kink.verdict == "kink"
        assert kink.message.startswith(f"kink: f is not differentiable in {label} here; "), kink.message
        assert "'" not in kink.message and "kink: f;" not in kink.message
        assert _sides(kink.message) == (-1.0, 1.0)


def test_the_problem_file_names_each_rows_own_step():
    frame = diffcompare.run(PROBLEMS / "kink_names_its_step.yaml", backends=["chainrule", "central"])
    assert set(frame["verdict"]) == {"kink"}
    for var in ("x", "y"):
        messages = frame[frame["variable"] == var]["message"]
        assert messages.str.startswith(f"kink: 'abs({var})' is at 0, where it is not differentiable;").all()
        assert not messages.str.contains("abs\\(x \\*\\* 2\\)").any()


# -- 3. which side a row returned, as its dtype holds that side -------------------------------


@pytest.mark.parametrize("constant", [0.1, 0.01, 1 / 3, 1e-5, 3.7e10, 2.0])
@pytest.mark.parametrize("template", ["abs({c} * x)", "{c} * abs(x)"])
def test_a_float32_row_that_returned_a_side_is_told_which(template, constant):
    # The hand derivative, evaluated in float32 as any backend's, is float32(c): the right side.
    c = repr(constant)
    frame = diffcompare.compare(template.format(c=c), {"x": 0.0}, manual={"x": c}, backends=["manual"])
    for dtype in ("float32", "float64"):
        (row,) = [r for _, r in frame[frame["dtype"] == dtype].iterrows()]
        assert row["verdict"] == "kink" and row["value"] == float(np.dtype(dtype).type(constant))
        assert row["message"].endswith("this value is the right derivative"), row["message"]


@pytest.mark.slow
def test_the_problem_file_tells_float32_its_side():
    frame = diffcompare.run(PROBLEMS / "side_claim_float32.yaml", backends=["jax", "torch"])
    jax = frame[frame["backend"] == "jax"]
    assert set(jax["verdict"]) == {"kink"} and set(jax["dtype"]) == {"float32", "float64"}
    assert jax["message"].str.endswith("this value is the right derivative").all()
    torch = frame[frame["backend"] == "torch"]
    assert torch["message"].str.endswith("this value is a value between them").all()  # torch's abs'(0) = 0


@pytest.mark.parametrize(
    ("value", "dtype", "which"),
    [
        (float(np.float32(0.1)), "float32", "the right derivative"),
        (float(np.nextafter(np.float32(0.1), np.float32(1))), "float32", "the right derivative"),  # an ulp off
        (float(np.float32(-0.1)), "float32", "the left derivative"),
        (float(np.float32(0.1)), "float64", "neither of them"),  # in float64 it is 1.5e-9 past the side
        (0.1, "float64", "the right derivative"),
        (0.1 + 2 * np.spacing(0.1), "float64", "the right derivative"),
        (0.1 * (1 + 1e-6), "float64", "neither of them"),
        (0.0, "float32", "a value between them"),
        (float("nan"), "float32", "neither of them"),
        (float("inf"), "float32", "neither of them"),
    ],
)
def test_a_side_is_compared_in_the_rows_dtype(value, dtype, which):
    kink = Singular("kink", "kink: 'abs(0.1 * x)' is at 0", -0.1, 0.1)
    assert kink.message_for(value, dtype).endswith(f"this value is {which}")


def test_a_side_past_the_dtypes_range_is_no_values():
    kink = Singular("kink", "kink", -4.386326e41, 4.386326e41)
    assert kink.message_for(float("inf"), "float32").endswith("neither of them")
    assert kink.message_for(4.386326e41, "float64").endswith("the right derivative")


# -- 4. the float64 tape once per problem; one unbroadcast ------------------------------------


def test_the_float64_forward_pass_and_undefined_at_run_once_per_problem(monkeypatch):
    calls = {"forward": 0, "undefined_at": 0}
    inside = []
    forward, undefined_at = ChainRule.forward, ChainRule.undefined_at

    def counted_forward(self, inputs):
        if not inside:  # undefined_at's own passes are its business
            calls["forward"] += 1
        return forward(self, inputs)

    def counted_undefined_at(self, *args, **kwargs):
        calls["undefined_at"] += 1
        inside.append(True)
        try:
            return undefined_at(self, *args, **kwargs)
        finally:
            inside.pop()

    monkeypatch.setattr(ChainRule, "forward", counted_forward)
    monkeypatch.setattr(ChainRule, "undefined_at", counted_undefined_at)
    for function, point in [("sqrt(x ** 2) + abs(y)", {"x": 0.0, "y": 0.0}), ("sin(x)", {"x": 1.0})]:
        calls.update(forward=0, undefined_at=0)
        found = _judged(function, point)
        assert calls == {"forward": 1, "undefined_at": 1}, (function, calls)
    assert found == {}
    assert singular_module.ALL is ALL


@pytest.mark.parametrize(
    ("shape", "target"),
    [((3,), ()), ((2, 3), (3,)), ((2, 3), (1, 3)), ((2, 3), (2, 1)), ((), (3,)), ((4, 2, 3), (2, 1)), ((2,), (2,))],
)
def test_the_mpmath_chain_rule_unbroadcasts_as_the_engine_does(shape, target):
    floats = np.arange(1.0, 1.0 + np.prod(shape, dtype=int)).reshape(shape)
    exact = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        exact[index] = mpmath.mpf(floats[index])
    ours = _unbroadcast(exact, target)
    assert isinstance(ours, np.ndarray) and ours.shape == target
    assert np.array_equal(np.asarray(ours, dtype=float), unbroadcast(floats, target))


@pytest.mark.slow
def test_the_one_sided_chain_rule_is_the_reference_wherever_f_is_smooth():
    """Both directions' slopes of every element of every problem in problems/ equal the exact
    reference to 20 digits, but at the kinks (whose sides differ) and where a step is singular."""
    from diffcompare.exact.mpchain import MpChainRule, exact_inputs
    from diffcompare.exact.onesided import OneSided
    from diffcompare.running.runner import load_problems

    problems, errors = load_problems([PROBLEMS, BEHAVIOURS])  # the backends' behaviours too
    assert errors == []
    compared = 0
    for problem in (scalar for p in problems for scalar in gradient_problems(p)):  # operators' too
        reference = truth_of(problem).reference
        if problem.size > 200 or reference.gradient is None or problem.name in SINGULAR_AS_WRITTEN:
            continue
        exact = MpChainRule(problem.function, problem.wrt)
        digits = reference.digits + 50
        point = exact_inputs(problem.point)
        sided = OneSided(exact, point, exact.forward(point, digits), digits)
        found = truth_of(problem).judging_basis(repr)[1]
        for var in problem.wrt:
            for index in np.ndindex(problem.point[var].shape):
                truth = reference.gradient[var][index]
                if (var, index) in found or (var, ALL) in found or truth is None or not mpmath.isfinite(truth):
                    continue
                right, back = (sided.slopes.along(var, index, sign)[-1] for sign in (1, -1))
                right, back = (0 if s is None or s[()] is None else s[()] for s in (right, back))
                with mpmath.workdps(digits):
                    for side in (right, -back):
                        assert abs(side - truth) <= mpmath.mpf(10) ** -20 * abs(truth), (problem.name, var, index)
                compared += 1
    assert compared > 60


def test_a_kink_in_a_long_vector_is_a_kink_of_the_elements_that_move_it_only():
    """The fuzz campaign's seed 2026, fuzz-521: only x[147] sits on the clamp's bound. Past 256
    elements the one-sided derivatives were not computed: the kink stood for all 300 elements
    (299 false kinks) and its message failed every row with a TypeError (sides of None)."""
    function = "sum(sin(x)) + 0.5 * clamp(x[147], 3e-3, 0.1)"
    frame = diffcompare.compare(function, {"x": [0.1] * 300}, backends=["chainrule", "jax"], dtypes=["float64"])
    kinks = frame[frame["verdict"] == "kink"]
    assert set(kinks["index"]) == {"147"} and len(kinks) == 2
    assert "left derivative 1.495, right derivative 0.995004" in kinks["message"].iloc[0]
    rest = frame[frame["index"] != "147"]
    assert len(rest) == 2 * 299 and set(rest["verdict"]) == {"agree"}


def test_past_the_one_sided_limit_the_elements_a_kink_reaches_are_unsettled_and_say_why():
    x = [0.0] * 270 + [1.0] * 30  # 270 elements on abs's kink: too many for one-sided derivatives
    frame = diffcompare.compare("sum(abs(x[:270])) + sum(sin(x))", {"x": x}, backends=["chainrule"], dtypes=["float64"])
    index = frame["index"].astype(int)
    kinks = frame[index < 270]
    assert set(kinks["verdict"]) == {"unsettled"}  # abs on its kink says nothing of f without its sides
    assert (
        "'abs(x[:270])' is at 0, where it is not differentiable; f's one-sided derivatives are not computed "
        "(270 elements are past the 256 given one-sided derivatives): whether f is differentiable in x[0] is not known"
    ) == kinks["message"].iloc[0]
    assert set(frame[index >= 270]["verdict"]) == {"agree"}  # x[270:] never reach an abs on its kink


def test_norm_at_zero_has_its_own_one_sided_rule_so_a_wide_cone_is_judged_by_the_chain_rule():
    """norm is positively homogeneous: along a ray from 0 it is s·‖t‖. With that rule the cone's
    slope is exact, and cos(norm(x)) at 0 with 233 elements (the seed-15 campaign's fuzz-88, which
    ran past its 10 s share under load) needs no difference quotients: f is differentiable."""
    reference, found = _basis("0.1 * cos(norm(x)) + sum(x)", {"x": [0.0] * 233})
    assert found == {}
    assert all(float(v) == 1.0 for v in reference.gradient["x"].ravel())
    cone = _judged("norm(x)", {"x": [0.0, 0.0, 0.0]})
    assert {_sides(item.message) for item in cone.values()} == {(-1.0, 1.0)}
    rows = _judged("sum(norm(A, axis=1))", {"A": [[0.0, 0.0], [1.0, 2.0]]})
    assert set(rows) == {("A", (0, 0)), ("A", (0, 1))}  # the zero row's cone; the other row is smooth
