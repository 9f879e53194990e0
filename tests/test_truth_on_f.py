"""Issue 14: the truth holds on problems others wrote.

The reference settles by precision that agrees with itself, never by a size heuristic;
past SymPy it is the chain rule in mpmath, as exact; kinks and undefined points are
decided on f's one-sided derivatives in the differentiated variables only; a row's
message is true of f. Each case the issue reported is a problem in problems/.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

import diffcompare
from diffcompare.exact import reference as reference_module
from diffcompare.exact.derived import gradient_problems
from diffcompare.exact.reference import ZERO_FLOOR, chain_reference, longdouble_reference, settle
from diffcompare.exact.truth import Truth, truth_of
from diffcompare.running.runner import load_problems
from diffcompare.spec.problem import build_problem
from tests.conftest import BEHAVIOURS, PROBLEMS, SINGULAR_AS_WRITTEN

EXACT_AD = ["torch", "jax", "chainrule"]
BACKENDS = ["sympy", *EXACT_AD, "central", "richardson"]


def _problem(name: str):
    (problem,), errors = load_problems([PROBLEMS / f"{name}.yaml"])
    assert errors == []
    return problem


def _rows(name: str, backends=BACKENDS):
    frame = diffcompare.run(PROBLEMS / f"{name}.yaml", backends=backends, dtypes=["float64"])
    assert frame.attrs["errors"] == []
    return frame


def _row(frame, backend: str, index: str = ""):
    rows = frame[(frame["backend"] == backend) & (frame["index"] == index)]
    assert len(rows) == 1, (backend, index, rows)
    return rows.iloc[0]


# -- 1. a nonzero derivative is never settled to 0 ------------------------------------


def test_a_tiny_derivative_is_found_by_raising_the_precision_not_called_zero():
    frame = _rows("tiny_derivative", ["sympy", *EXACT_AD])
    assert (frame["reference"] == 7.743271294571112e-65).all()
    # 6.26e-65 in float64: 1.0/x rounds, and sin(1e16) turns that last bit into another value.
    assert (frame["verdict"] == "disagree").all()
    assert frame["message"].str.contains("0.7 digits correct").all()
    # ... because sin(1e16) turns the argument's last bit into the whole result (its hazard says so).
    assert (
        frame[frame["backend"] != "sympy"]["message"].str.contains("likely cause in float64: 'sin\\(1.0 / x\\)'").all()
    )


def test_a_small_element_beside_huge_intermediates_settles_at_higher_precision():
    problem = _problem("cross_in_tray_near_optimum")
    reference = truth_of(problem).reference
    assert reference.kind == "sympy" and reference.escalations >= 1
    assert reference.gradient["x"][1] == pytest.approx(-3.1735484150808082e-09, rel=1e-15)
    frame = _rows("cross_in_tray_near_optimum", ["central", "richardson", *EXACT_AD])
    assert set(frame["verdict"]) == {"agree"}


def test_settle_never_guesses_zero_and_says_unsettled():
    # Outputs that drift with the precision never agree: unsettled, at the last precision, with the digits shared.
    drifting = settle(lambda digits, deadline=None: ([mpmath.mpf(1) + mpmath.mpf(10) ** -12 * digits], 1), 1)
    assert drifting.unsettled == {0} and "agrees with itself to only 9 digits" in drifting.notes[0]
    # A cancellation to nothing settles as 0 only once its magnitude is proven below float64's smallest number.
    noise = settle(lambda digits, deadline=None: ([mpmath.mpf(10) ** (-digits)], mpmath.mpf(1)), 1)
    assert noise.values == [0] and noise.unsettled == set() and noise.digits >= 400
    assert mpmath.mpf(10) ** (5 - noise.digits) < ZERO_FLOOR
    # A tiny true value below that floor at low precision is not noise: it agrees with itself.
    tiny = settle(lambda digits, deadline=None: ([mpmath.mpf("7.7e-65")], mpmath.mpf(1e16)), 1)
    assert tiny.values[0] == mpmath.mpf("7.7e-65") and tiny.digits == 50


def test_a_reference_that_does_not_settle_is_unsettled_in_its_rows(monkeypatch):
    monkeypatch.setattr(reference_module, "MAX_REFERENCE_DIGITS", 50)  # cross-in-tray needs 100
    frame = _rows("cross_in_tray_near_optimum", ["torch"])
    row = _row(frame, "torch", "1")
    assert row["verdict"] == "unsettled" and "did not settle" in row["message"]
    assert _row(frame, "torch", "0")["verdict"] == "agree"


# -- 2. past SymPy, an exact reference too ----------------------------------------------


def _gulf_by_hand(x0, x1, x2, t, u):
    """The Gulf gradient written out by hand in mpmath at 80 digits: an independent check."""
    with mpmath.workdps(80):
        x0, x1, x2 = (mpmath.mpf(v) for v in (x0, x1, x2))
        g = [mpmath.mpf(0)] * 3
        for ti, ui in zip(t, u):
            d = mpmath.mpf(ui) - x1
            a = abs(d) ** x2
            e = mpmath.exp(-a / x0)
            r = e - mpmath.mpf(ti)
            g[0] += 2 * r * e * a / x0**2
            g[1] += 2 * r * e * (-x2 * abs(d) ** (x2 - 1) * (-mpmath.sign(d))) / x0
            g[2] += 2 * r * e * (-a * mpmath.log(abs(d))) / x0
        return g


def test_past_sympys_size_the_reference_is_the_chain_rule_in_mpmath_and_exact():
    problem = _problem("gulf_at_optimum")
    reference = truth_of(problem).reference
    assert reference.kind == "mpmath"
    exact = _gulf_by_hand(*problem.point["x"], problem.point["t"], problem.point["u"])
    for i in range(3):
        with mpmath.workdps(40):
            assert abs(reference.gradient["x"][i] - exact[i]) <= abs(exact[i]) * mpmath.mpf(10) ** -25
    # The long-double chain rule that stood in before is off here (by 1e-5 relative on one machine,
    # 4e-7 on another: its powl and expl are the C library's); its error bound says how far.
    fallback = longdouble_reference(problem)
    error = np.abs(fallback.hi["x"] + fallback.lo["x"] - reference.hi["x"])
    assert (error > 0).all() and (error <= fallback.bound["x"]).all()
    frame = _rows("gulf_at_optimum", ["torch", "chainrule"])
    assert set(frame["reference_kind"]) == {"mpmath"}


def test_a_long_double_reference_whose_bound_could_change_a_verdict_is_unsettled(monkeypatch):
    problem = _problem("gulf_at_optimum")
    truth = Truth(problem)
    truth._reference = longdouble_reference(problem, "forced for the test")
    monkeypatch.setitem(truth_of.__globals__["_TRUTHS"], problem, truth)
    from diffcompare.running.runner import run_problems

    frame = run_problems([problem], ["richardson"], ["float64"])
    # richardson's x[0] is within its own bound of the truth; what the long-double bound cannot decide is unsettled.
    assert set(frame["reference_kind"]) == {"longdouble"}
    assert set(frame["verdict"]) <= {"agree", "disagree", "unsettled"}
    assert frame["message"].str.contains("estimated at").all()


def test_the_mpmath_chain_rule_equals_the_sympy_reference_on_every_problem():
    problems, errors = load_problems([PROBLEMS, BEHAVIOURS])  # the backends' behaviours too
    assert errors == []
    compared = 0
    for problem in (scalar for p in problems for scalar in gradient_problems(p)):  # operators' too
        truth = truth_of(problem)
        if truth.reference.kind != "sympy":
            continue
        if problem.name in SINGULAR_AS_WRITTEN:
            continue
        ours = chain_reference(problem, truth.deadline)
        for var in problem.wrt:
            for index in np.ndindex(problem.point[var].shape):
                a, b = ours.gradient[var][index], truth.reference.gradient[var][index]
                assert (a is None) == (b is None), (problem.name, var, index, a, b)
                if a is None or (problem.name, var) in _AT_KINKS:
                    continue
                with mpmath.workdps(60):
                    assert abs(a - b) <= abs(b) * mpmath.mpf(10) ** -25, (problem.name, var, index, a, b)
                compared += 1
    assert compared > 40


# At a kink the chain rules' values are conventions (Heaviside(0) = ½ in both, but SymPy may
# write Max's derivative otherwise); those elements are judged on f's one-sided derivatives.
_AT_KINKS = {("max-tie", "x"), ("max-tie", "y"), ("relu-at-kink", "x"), ("clamp-at-bound", "x"), ("abs-at-kink", "x")}


# -- 3. data are not differentiated ----------------------------------------------------


def test_a_data_exponent_is_not_differentiated_and_makes_nothing_undefined():
    frame = _rows("data_exponent", ["sympy", *EXACT_AD, "central"])
    assert set(frame["verdict"]) == {"agree"}
    assert (frame[frame["index"] == "0"]["reference"] == 0).all()
    assert (frame[frame["index"] == "1"]["reference"] == 0.75).all()


# -- 4. a kink's message shows the sides that differ; rounding onto a kink is named -----


def test_a_kink_prints_its_sides_to_the_digits_that_differ_and_rounding_onto_a_kink_is_named():
    frame = _rows("kink_near_rounding", ["torch", "jax", "chainrule"])
    for backend in ("torch", "jax", "chainrule"):
        kink = _row(frame, backend, "0")
        assert kink["verdict"] == "kink" and "'abs(x[0] + 10)'" in kink["message"]
        left = kink["message"].split("left derivative ")[1].split(",")[0]
        right = kink["message"].split("right derivative ")[1].split(";")[0]
        assert left != right and abs(float(left) - float(right)) == pytest.approx(0.02, rel=1e-3)
        smooth = _row(frame, backend, "1")
        assert smooth["reference"] == pytest.approx(-1.0958832e10, rel=1e-7)
        assert "the exact point is 2.1e-17 away from it, where it is differentiable" in smooth["message"]
    # torch's and the chain rule's NaN is a failure of their chain rule at a point where f is smooth.
    assert _row(frame, "torch", "1")["verdict"] == "disagree"
    # ... and the step that rounded onto the kink is the one blamed.
    assert "likely cause in float64: 'x[1] - 0.01 * x[0] ** 2'" in _row(frame, "torch", "1")["message"]
    assert _row(frame, "jax", "1")["verdict"] == "agree"


# -- 5. f differentiable though a step of the chain rule is singular --------------------


def test_f_differentiable_through_a_singular_step_is_judged_against_its_true_derivative():
    frame = _rows("differentiable_through_sqrt_zero", ["sympy", *EXACT_AD, "central"])
    assert "undefined" not in set(frame["verdict"])
    assert (frame["reference"] == 0).all()
    for backend in ["sympy", *EXACT_AD]:
        for index in ("0", "1"):
            row = _row(frame, backend, index)
            assert row["verdict"] == "disagree" and np.isnan(row["value"])
            assert "f is differentiable here" in row["message"] and "sqrt(s)" in row["message"]
    assert set(frame[frame["backend"] == "central"]["verdict"]) == {"agree"}


@pytest.mark.parametrize(
    ("function", "point", "verdict", "words"),
    [
        ("sqrt(x)", 0.0, "undefined", "its right derivative is infinite"),
        ("sqrt(abs(x))", 0.0, "undefined", "is infinite"),
        ("x * log(abs(x) + 1e-300)", 0.0, None, None),  # smooth enough at the scale of the steps: ordinary
        ("abs(x) ** 1.5", 0.0, "agree", None),  # flat on both sides: differentiable, derivative 0
        ("relu(x) - relu(-x)", 0.0, "disagree", "true value is 1"),  # sides equal: just x; torch says 0
        ("abs(x)", 0.0, "kink", "left derivative -1, right derivative 1"),
        ("sqrt(x ** 2)", 0.0, "kink", "left derivative -1, right derivative 1"),
    ],
)
def test_singular_points_are_judged_on_f(function, point, verdict, words):
    frame = diffcompare.compare(function, {"x": point}, backends=["torch"], dtypes=["float64"])
    row = frame.iloc[0]
    if verdict is not None:
        assert row["verdict"] == verdict, row["message"]
    if words:
        assert words in row["message"]


def test_only_the_differentiated_variables_are_judged_at_a_kink_of_data():
    # abs(k) sits at its kink, but k is data: f is smooth in x.
    frame = diffcompare.compare("x * abs(k)", {"x": 2.0, "k": 0.0}, wrt=["x"], backends=["torch"], dtypes=["float64"])
    assert frame.iloc[0]["verdict"] == "agree"


# -- the chain rule in mpmath covers every primitive ---------------------------------------


def test_every_primitive_has_an_mpmath_forward_and_local_derivative_equal_to_numpys():
    from diffcompare.exact.mpchain import REDUCTIONS, _compiled
    from diffcompare.lang.primitives import PRIMITIVES

    special = {"acosh": (1.3,), "clamp": (0.5, 0.0, 1.0), "pow": (0.7, 2.5)}
    for name, p in PRIMITIVES.items():
        if p.kind in ("compare", "array") or name in ("where", "matmul"):
            continue  # where, matmul, array building: array arithmetic in mpchain; comparisons: operators
        if p.kind == "reduction":
            assert name in REDUCTIONS, name
            args = [np.array([0.3, -0.2, 0.9])] * p.arity
            forward, vjps = REDUCTIONS[name]
            mp_args = [np.array([mpmath.mpf(v) for v in a], dtype=object) for a in args]
            ans = forward(*mp_args)
            assert float(ans) == pytest.approx(float(p.forward(*args)), rel=1e-14), name
            for k in range(p.arity):
                ours = np.asarray(vjps[k](mpmath.mpf(1), ans, *mp_args), dtype=float)
                numpy = p.vjps[k](1.0, p.forward(*args), *args)
                assert np.allclose(ours, numpy, rtol=1e-13), name
            continue
        args = special.get(name, (0.3, 0.7, 0.9)[: p.arity])
        value = _compiled(name, -1, 30)(*[mpmath.mpf(a) for a in args])
        assert float(value) == pytest.approx(float(p.forward(*[np.float64(a) for a in args])), rel=1e-14), name
        for k, rule in enumerate(p.vjps):
            if rule is None:
                continue
            ours = _compiled(name, k, 30)(*[mpmath.mpf(a) for a in args])
            numpy = rule(np.float64(1.0), p.forward(*[np.float64(a) for a in args]), *[np.float64(a) for a in args])
            assert float(ours) == pytest.approx(float(numpy), rel=1e-13), (name, k)


# -- 6. blame per element ------------------------------------------------------------------


def test_a_row_is_blamed_only_on_a_step_its_element_reaches():
    frame = diffcompare.run(PROBLEMS / "blame_per_element.yaml", backends=EXACT_AD)
    x0 = frame[frame["index"] == "0"]
    assert (x0["verdict"] == "disagree").all()
    assert x0["message"].str.contains("likely cause in float(?:32|64): 'sigmoid\\(x\\[0\\]\\)'").all()
    assert not frame["message"].str.contains("cancels: the operands").any()  # x[1] - 1 is exactly 0 and costs nothing
    assert set(frame[frame["index"] == "1"]["verdict"]) == {"agree"}


def test_a_chain_rule_in_mpmath_that_cannot_finish_in_time_is_not_started():
    from diffcompare.spec.problem import build_problem

    document = {"function": "sum(sin(x))", "point": {"x": {"shape": [1000000], "fill": 0.3}}}
    reference = truth_of(build_problem(document, "<test>", "big")).reference
    assert reference.kind == "longdouble"
    assert "the chain rule in mpmath would take about 100 s here, past the" in reference.why


def test_a_differentiable_f_whose_chain_rule_passes_a_kink_says_so_in_every_row():
    """relu(u) - relu(-u) at u = 0 is u: the fuzz campaign's trap-odd template. Each relu is on
    its kink, and the backends take one side of each; the rows say why, in words true of f."""
    frame = diffcompare.compare(
        "x + 0.1 * (relu(x + 1.3) - relu(-1.3 - x))", {"x": -1.3}, backends=EXACT_AD, dtypes=["float64"]
    )
    for message in frame["message"]:
        assert "f is differentiable here (both one-sided derivatives are 1.1)" in message, message
        assert "'relu(x + 1.3)' is at 0 and 'relu(-1.3 - x)' is at 0" in message, message
    # a kink step that f does not feel to first order along x is not named
    frame = diffcompare.compare("abs(x ** 2) + x", {"x": 0.0}, backends=EXACT_AD, dtypes=["float64"])
    assert set(frame["verdict"]) == {"agree"} and set(frame["message"].fillna("")) == {""}


# The fuzz campaign's true disagreements, one problem per class (issue 14): the verdict of every
# (backend, dtype), and words each disagreeing row must carry.
CAMPAIGN_CLASSES = {
    "trap_relu_odd": (
        {"sympy/float64": "agree", "central/float32": "agree", "central/float64": "agree", "*": "disagree"},
        "though 'relu(x + 1.3)' is at 0 and 'relu(-1.3 - x)' is at 0",
    ),
    "trap_cusp": ({"*": "disagree"}, "f is differentiable here (both one-sided derivatives are 0.980067)"),
    "trap_where_untaken": (
        {"sympy/float64": "agree", "central/float32": "agree", "central/float64": "agree", "*": "disagree"},
        "non-finite value",
    ),
    "softplus_overflow_sympy": ({"sympy/float64": "disagree", "*": "agree"}, "SymPy's derivative meets exp(x) = inf"),
    "near_kink_central": (
        {
            "central/float32": "disagree",
            "central/float64": "disagree",
            "torch/float32": "disagree",
            "chainrule/float32": "disagree",
            "*": "agree",
        },
        "",
    ),
}


@pytest.mark.parametrize("name", list(CAMPAIGN_CLASSES))
def test_the_campaigns_true_disagreements_keep_their_verdicts(name):
    verdicts, words = CAMPAIGN_CLASSES[name]
    frame = diffcompare.run(PROBLEMS / f"{name}.yaml", backends=["sympy", *EXACT_AD, "central"])
    for row in frame.itertuples():
        expected = verdicts.get(f"{row.backend}/{row.dtype}", verdicts["*"])
        assert row.verdict == expected, (row.backend, row.dtype, row.message)
        if row.verdict == "disagree":
            assert words in row.message, (row.backend, row.dtype, row.message)


def test_the_mpmath_chain_rule_adds_nothing_from_what_f_does_not_read():
    """where's branch not taken and the elements an index does not select are zero by structure:
    their NaN local derivatives (sqrt of a negative number) add nothing, as in SymPy's Piecewise."""
    from diffcompare.exact.mpchain import MpChainRule, exact_inputs

    for function, point, truth in [
        ("where(x > 0.1, 2 * x, sqrt(0.1 - x))", {"x": 0.5}, [2]),
        ("sum(sqrt(x)[0:1])", {"x": [1.0, -1.0]}, [0.5, 0]),
        ("sqrt(x)[0] * where(x[1] < 0, 3.0, log(x[1]))", {"x": [4.0, -1.0]}, [0.75, 0]),
    ]:
        problem = build_problem({"function": function, "point": point}, "<t>", "t")
        _, grads, _ = MpChainRule(problem.function, problem.wrt).gradient(exact_inputs(problem.point), 30)
        assert [float(v) for v in np.ravel(grads["x"])] == truth, function
    # a numeric 0 times an infinite local derivative stays NaN: f's one-sided derivatives decide
    problem = build_problem({"function": "x * sqrt(abs(x))", "point": {"x": 0.0}}, "<t>", "t")
    _, grads, _ = MpChainRule(problem.function, problem.wrt).gradient(exact_inputs(problem.point), 30)
    assert not mpmath.isfinite(grads["x"][()])
