"""Blame per element (issue 14, item 6): a hazardous step explains a gradient element only
if the element depends on it and the error it can cause there accounts for the error seen."""

import pickle

import mpmath
import numpy as np
import pytest
from conftest import PROBLEMS

from diffcompare.engine.chainrule import ChainRule, point_in
from diffcompare.exact.truth import truth_of
from diffcompare.lang.primitives import PRIMITIVES
from diffcompare.running.blame import Explainer
from diffcompare.running.verdicts import judge_cell
from diffcompare.spec.files import load_file
from diffcompare.spec.problem import build_problem


def problem(function: str, point: dict, **keys):
    return build_problem({"function": function, "point": point, **keys}, "<test>", "blame")


def chainrule_rows(p, dtype: str) -> dict:
    """The chain-rule engine as the backend: (value, abs_error, verdict) per variable, judged
    against the exact reference as cells.py judges an exact method's rows."""
    reference, _, failure = truth_of(p).judging_basis(str)
    assert not failure
    grads = ChainRule(p.function, dtype).gradient(point_in(p.point, dtype), p.wrt)
    rows = {}
    for var in p.wrt:
        j = judge_cell(grads[var], reference.hi[var], reference.lo[var], method="exact", dtype=dtype)
        rows[var] = (np.asarray(grads[var], np.float64).ravel(), j.abs_error, j.verdict)
    return rows


def step_of(blame_message: str) -> list[str]:
    """The steps a message names, in its order."""
    return [part.split("'")[1] for part in blame_message.removeprefix("likely cause in ").split("; ")]


# --- the engine: contributions and blame ---------------------------------------------------


def test_contributions_through_a_cut_add_up_to_the_gradient():
    p = problem("x * y + sin(x)", {"x": 0.7, "y": -1.3})
    engine = ChainRule(p.function, "float64")
    inputs = point_in(p.point, "float64")
    steps = {node.text: i for i, node in enumerate(engine.order)}
    product = engine.contributions(inputs, ["x", "y"], steps["x * y"])
    sine = engine.contributions(inputs, ["x", "y"], steps["sin(x)"])
    assert product["x"] == pytest.approx(-1.3) and product["y"] == pytest.approx(0.7)
    assert sine["x"] == pytest.approx(np.cos(0.7)) and sine["y"] == 0
    gradient = engine.gradient(inputs, ["x", "y"])
    for var in ("x", "y"):
        assert product[var] + sine[var] == pytest.approx(gradient[var])
    # The ordinary pass is a pass begun at the root with ones.
    values = engine.forward(inputs)
    root = len(engine.order) - 1
    default, explicit = engine.backward(values, ["x", "y"]), engine.backward(values, ["x", "y"], root, 1.0)
    assert all((a is None and b is None) or np.array_equal(a, b) for a, b in zip(default, explicit))


def test_infinite_amplification_times_no_effect_is_zero_not_nan():
    # In float32 x = 1 + 5e-8 rounds to 1: x - 1.0 is exactly 0 (amplification inf, all
    # digits lost), and nothing in the gradient moves with it: d/dx of 2(x - 1) + x is 3
    # whatever x - 1 is; its error is 0, not inf × 0.
    # (floor: the sum's amplification, 1, is not a hazard worth analysing.)
    p = problem("(x - 1.0) * 2 + x", {"x": 1 + 5e-8})
    blames = ChainRule(p.function, "float32").blame(p.point, ["x"], 1e-6)
    assert [b.step for b in blames] == ["x - 1.0"] and blames[0].amplification == np.inf
    assert blames[0].relative == 1 and blames[0].error["x"] == 0.0
    # sigmoid saturated (σ(1-σ) all digits lost in float32), but its adjoint is y = 0.
    p = problem("sigmoid(20 * x) * y", {"x": 2.0, "y": 0.0})
    blames = ChainRule(p.function, "float32").blame(p.point, ["x", "y"])
    assert [b.step for b in blames] == ["sigmoid(20 * x)"]
    assert blames[0].error["x"] == 0.0 and np.isfinite(blames[0].error["y"])


def test_a_derivative_hazard_off_every_path_is_not_a_step_to_blame():
    # σ(20y)'s local derivative is on no path to x: with wrt [x] it cannot be blamed.
    p = problem("sigmoid(20 * y) * x", {"x": 2.0, "y": 2.0}, wrt=["x"])
    assert ChainRule(p.function, "float32").blame(p.point, ["x"]) == []


# --- the explainer: the case ---------------------------------------------------------


def test_an_exactly_zero_step_only_x1_reaches_is_not_named_on_x0s_row():
    # In float32, x[1] = 1 + 5e-8 rounds to 1: x[1] - 1.0 is exactly 0 (amplification inf),
    # and d/dx[1] is 0 against 0.447. x[0]'s row disagrees for its own reason, the saturated
    # sigmoid; the problem-wide explainer named the one step for both rows.
    p = problem("sigmoid(x[0] * 20) + sqrt((x[1] - 1.0) ** 2 + 1e-14)", {"x": [1.5, 1 + 5e-8]})
    value, error, verdict = chainrule_rows(p, "float32")["x"]
    assert list(verdict) == ["disagree", "disagree"] and value[1] == 0.0
    messages = Explainer()(p, "float32", "x", error, verdict)
    assert step_of(messages[0]) == ["sigmoid(x[0] * 20)"]
    assert "σ(u) rounds to exactly 1" in messages[0] and "all digits lost" in messages[0]
    assert step_of(messages[1]) == ["x[1] - 1.0"]
    assert messages[1].startswith("likely cause in float32: 'x[1] - 1.0': a ± b cancels")
    # x[0]'s row disagreeing for no hazard's reason at all: nothing, rather than x[1]'s step.
    p = problem("x[0] ** 2 * 3 + sqrt((x[1] - 1.0) ** 2 + 1e-14)", {"x": [1.5, 1 + 5e-8]})
    value, error, verdict = chainrule_rows(p, "float32")["x"]
    assert list(verdict) == ["agree", "disagree"]
    error, verdict = np.array([1e-2, error[1]]), np.array(["disagree", "disagree"], dtype=object)
    messages = Explainer()(p, "float32", "x", error, verdict)
    assert messages[0] == ""
    assert step_of(messages[1]) == ["x[1] - 1.0"]


def test_a_step_one_element_of_which_lost_its_digits_blames_only_the_element_it_reaches():
    # x - 1.0 is one step of two elements: only its first is exactly 0.
    p = problem("sum(sqrt((x - 1.0) ** 2 + 1e-14))", {"x": [1 + 5e-8, 2.5]})
    value, error, verdict = chainrule_rows(p, "float32")["x"]
    assert verdict[0] == "disagree"
    verdict = np.array(["disagree", "disagree"], dtype=object)  # x[1]'s row, for another reason
    messages = Explainer()(p, "float32", "x", np.array([error[0], 1e-3]), verdict)
    assert step_of(messages[0]) == ["x - 1.0"] and messages[1] == ""


def test_a_cancelled_value_explains_the_rows_that_use_it_not_only_those_that_reach_it():
    # d/dx[0] of x[0]·(x[1] - 1) is x[1] - 1: x[0]'s adjoint path does not cross the step,
    # but its value is the whole derivative (0 in float32, 5e-8 exactly).
    p = problem("x[0] * (x[1] - 1.0)", {"x": [2.0, 1 + 5e-8]})
    value, error, verdict = chainrule_rows(p, "float32")["x"]
    assert list(verdict) == ["disagree", "agree"]
    messages = Explainer()(p, "float32", "x", error, np.array(["disagree", "disagree"], dtype=object))
    assert step_of(messages[0]) == ["x[1] - 1.0"]
    assert messages[1] == ""  # d/dx[1] = x[0] does not move with it


# --- the saturated sigmoid, and a hazard too small for the error -----------------------------


def saturated(w: float, x: float, b: float = 0.0):
    p = problem("sigmoid(w * x + b)", {"w": w, "x": x, "b": b})
    u = mpmath.mpf(w) * x + b
    with mpmath.workdps(50):
        s = 1 / (1 + mpmath.exp(-u))
        exact = float(s * (1 - s) * x)  # d/dw
    return p, exact


def test_saturated_sigmoid_in_float64_is_blamed_on_sigma_one_minus_sigma_for_w():
    # u = 32: 1 - σ is 1.3e-14, kept to two or three digits; torch and jax print 2.02505e-13
    # for d/dw at the seed's w·x² = 32, against 2.02627e-13 (relative error 6e-4).
    p, exact = saturated(4.0, 8.0)
    value = float(ChainRule(p.function, "float64").gradient(point_in(p.point, "float64"), p.wrt)["w"])
    assert 1e-5 < abs(value - exact) / exact < 1e-2  # the engine loses them as the backends do
    abs_error = np.array([abs(value - exact)])
    messages = Explainer()(p, "float64", "w", abs_error, np.array(["disagree"], dtype=object))
    assert messages[0] == (
        "likely cause in float64: 'sigmoid(w * x + b)': σ(u) is within 1.3e-14 of 1, "
        "so σ(1-σ) cancels in 1-σ (up to ≈2e-02 relative error)"
    )
    # The rows of every variable come from the same rows of the engine as the exact side judges them.
    for var, (_, error, verdict) in chainrule_rows(p, "float64").items():
        assert list(verdict) == ["disagree"]
        assert step_of(Explainer()(p, "float64", var, error, verdict)[0]) == ["sigmoid(w * x + b)"]


def test_a_hazard_far_below_the_error_seen_is_not_blamed():
    # u = 20: σ(1-σ) keeps all but ≈1e-7 of its digits in float64; an error of 1e-3 relative
    # is not its doing (nor anything's the analysis knows): the row says nothing.
    p, exact = saturated(4.0, 5.0)
    explainer = Explainer()
    verdict = np.array(["disagree"], dtype=object)
    assert explainer(p, "float64", "w", np.array([1e-3 * exact]), verdict)[0] == ""
    # The same step does account for an error of its own size.
    message = explainer(p, "float64", "w", np.array([1e-7 * exact]), verdict)[0]
    assert step_of(message) == ["sigmoid(w * x + b)"] and "up to ≈1e-07 relative error" in message


# --- a hazard counts only where a rounding reaches it --------------------------------------
#
# The reference is computed at the exact binary value of the float64 point, with the float64
# constants. In float64 an input is that number itself; in float32 it is rounded unless float32
# holds it. a ± b and sin/cos are correctly rounded: they amplify only a rounding their
# operands carry (Primitive.hazard_of == "operands").

PI = 3.141592653589793
ARGUMENT_HAZARDS = sorted(n for n, p in PRIMITIVES.items() if p.hazard_of == "operands" and p.arity == 1)


def blamed_steps(function: str, point: dict, dtype: str) -> dict[str, float]:
    """step -> its relative error, for the steps the analysis finds a rounding reaching."""
    p = problem(function, point)
    return {b.step: b.relative for b in ChainRule(p.function, dtype).blame(p.point, p.wrt, floor=1e-6)}


def test_argument_hazards_are_declared_for_sin_cos_and_the_special_functions():
    # sin and cos amplify the argument's rounding at large arguments and near their roots; erfc,
    # gamma, lgamma and digamma by their condition number |u·f'(u)/f(u)| (poles, roots, underflow)
    assert ARGUMENT_HAZARDS == ["cos", "digamma", "erfc", "gamma", "lgamma", "sin"]


@pytest.mark.parametrize(
    ("function", "point", "dtype", "blamed"),
    [
        ("lgamma(x * 0.1)", {"x": 10.000001}, "float32", True),  # lgamma(1.0000001) is near its root at 1
        ("lgamma(x * 0.1)", {"x": 10.000001}, "float64", False),  # float64's rounding of 0.1·x: 1e-9 there
        ("digamma(x * 0.1)", {"x": 14.616321}, "float32", True),  # near ψ's root at 1.4616321…
        ("gamma(x)", {"x": 3.0}, "float64", False),  # the point itself: nothing rounded
    ],
)
def test_a_special_function_is_blamed_near_its_roots_where_its_argument_is_rounded(function, point, dtype, blamed):
    assert (function in blamed_steps(function, point, dtype)) is blamed


@pytest.mark.parametrize("prim", ["cos", "sin"])
@pytest.mark.parametrize(
    ("function", "point", "dtype", "rounded"),
    [
        ("{}(x)", {"x": PI}, "float64", False),  # the point itself
        ("{}(x)", {"x": PI}, "float32", True),  # float32's π is 3.1415927
        ("{}(x)", {"x": 1e16}, "float64", False),  # 10^16 = 2^16·5^16: float64 holds it
        ("{}(x)", {"x": 1e16}, "float32", True),
        ("{}(x)", {"x": 2.0**53}, "float32", False),  # a power of two: float32 holds it
        ("{}(x[0]) + x[1]", {"x": [PI, 2.0]}, "float64", False),  # a selection rounds nothing
        ("{}(-x)", {"x": PI}, "float64", False),
        ("{}(2 * x)", {"x": PI / 2}, "float64", False),  # exact: 2·(π/2) is float64's π
        ("{}(1.0 / x)", {"x": 1e-16}, "float64", True),  # 1/1e-16 is rounded
        ("{}(x * 0.1)", {"x": 10 * PI}, "float64", True),
    ],
)
def test_an_argument_hazard_counts_only_where_the_argument_carries_rounding(prim, function, point, dtype, rounded):
    function = function.format(prim)
    step = function.split(" + ")[0]
    found = blamed_steps(function, point, dtype)
    if rounded:
        assert step in found and found[step] > 1e-3
    else:
        assert step not in found


@pytest.mark.parametrize(
    ("function", "point", "noted"),
    [
        ("cos(x)", {"x": PI}, False),
        ("cos(x[0]) + x[1]", {"x": [PI, 2.0]}, False),
        ("cos(-x)", {"x": PI}, False),
        ("cos(1.0 / x)", {"x": 1e-16}, True),
    ],
)
def test_the_long_double_references_note_takes_its_inputs_as_exact(function, point, noted):
    # ChainRule.hazards has nothing wider to measure with: the long-double engine's inputs are
    # the float64 point itself, a selection or negation rounds nothing, anything else is rounded.
    p = problem(function, point)
    engine = ChainRule(p.function, np.longdouble)
    found = [why for _, why in engine.hazards(point_in(p.point, np.longdouble), derivative_only=True)]
    step = function.split(" + ")[0]
    assert any(why.startswith(f"'{step}': at an argument") for why in found) == noted


@pytest.mark.parametrize(
    ("function", "point", "dtype", "rounded"),
    [
        ("(x - y) ** 2", {"x": 1.0, "y": 1.0 + 2.0**-52}, "float64", False),  # exact (Sterbenz)
        ("(x - y) ** 2", {"x": 1.0, "y": 1.0 + 2.0**-52}, "float32", True),  # y rounds to 1
        ("(x - 1.0) ** 2", {"x": 1.0}, "float32", False),  # exactly 0, and rightly so
        ("(0.1 * x - y) ** 2", {"x": 3.0, "y": 0.30000000000000004}, "float64", True),  # 0.1·x is rounded
        ("(x + 0.1) ** 2", {"x": -0.1}, "float64", False),  # the constant is the point's own number
    ],
)
def test_a_cancellation_counts_only_where_its_operands_carry_rounding(function, point, dtype, rounded):
    step = function.split(" ** ")[0].strip("()")
    assert (step in blamed_steps(function, point, dtype)) == rounded


def test_a_hazard_of_the_steps_own_rounding_counts_with_exact_inputs():
    # σ(u) is rounded whatever u is; exp(100) overflows float32 from an exact 100.
    assert blamed_steps("sigmoid(x)", {"x": 32.0}, "float64") == {"sigmoid(x)": pytest.approx(0.017, rel=0.1)}
    assert blamed_steps("exp(x)", {"x": 100.0}, "float32") == {"exp(x)": 1.0}


# The published false finding and its minimal form: cos of the point ±π, beside a cancellation.
COS_OF_INPUT = "cos(x) + (0.1 * x - 0.3141592653589793) ** 2"
BRANIN_RESIDUAL = "x[1] - 5.1 / (4 * pi ** 2) * x[0] ** 2 + 5 / pi * x[0] - 6"
BRANIN = f"({BRANIN_RESIDUAL}) ** 2 + 10 * (1 - 1 / (8 * pi)) * cos(x[0]) + 10"  # Branin (rcos)
# Each element its own cause: x[0] the saturated sigmoid, x[1] the cancellation only it reaches.
TWO_CAUSES = "sigmoid(x[0] * 20) + (0.1 * x[1] - 0.1) ** 2"
TWO_CAUSES_NAMED = [["sigmoid(x[0] * 20)"], ["0.1 * x[1] - 0.1"]]

# (function, point, dtype, each element's verdict, the steps its row names): the chain-rule
# engine's own rows, judged against the exact reference.
EXPLAINED = {
    "cos-of-exact-input-float64": (
        COS_OF_INPUT,
        {"x": PI},
        "float64",
        ["disagree"],
        [["0.1 * x - 0.3141592653589793"]],
    ),
    "cos-of-rounded-input-float32": (COS_OF_INPUT, {"x": PI}, "float32", ["disagree"], [["cos(x)"]]),
    "branin-optimum-float64": (BRANIN, {"x": [PI, 2.275]}, "float64", ["disagree"] * 2, [[BRANIN_RESIDUAL]] * 2),
    "branin-optimum-float32": (
        BRANIN,
        {"x": [PI, 2.275]},
        "float32",
        ["disagree"] * 2,
        [["cos(x[0])"], [BRANIN_RESIDUAL]],
    ),
    **{
        f"two-causes-{dtype}": (TWO_CAUSES, {"x": [1.5, 1 + 1e-12]}, dtype, ["disagree"] * 2, TWO_CAUSES_NAMED)
        for dtype in ("float32", "float64")
    },
    "sin-of-rounded-large-input-float32": ("sin(x)", {"x": 1e16}, "float32", ["disagree"], [["sin(x)"]]),
    "sin-of-exact-large-input-float64": ("sin(x)", {"x": 1e16}, "float64", ["agree"], [[]]),
    "exp-overflow-of-exact-input": ("exp(x)", {"x": 100.0}, "float32", ["disagree"], [["exp(x)"]]),
}


@pytest.mark.parametrize("case", EXPLAINED)
def test_each_row_names_the_steps_that_cause_its_error(case):
    function, point, dtype, verdicts, named = EXPLAINED[case]
    p = problem(function, point)
    (var,) = p.wrt
    _, error, verdict = chainrule_rows(p, dtype)[var]
    assert list(verdict) == verdicts
    messages = Explainer()(p, dtype, var, error, verdict)
    assert [step_of(m) if m else [] for m in messages] == named


def test_the_blame_cos_of_input_problem_names_its_true_cause():
    (p,), errors = load_file(PROBLEMS / "blame_cos_of_input.yaml")
    assert errors == []
    expected = {
        "float64": "likely cause in float64: '0.1 * x - 0.3141592653589793': a ± b cancels to exactly 0 "
        "(all digits lost)",
        "float32": "likely cause in float32: 'cos(x)': at an argument of 3.14, one rounding of the argument "
        "moves the result and its derivative 3.6e+07× as much (all digits lost)",
    }
    for dtype, message in expected.items():
        _, error, verdict = chainrule_rows(p, dtype)["x"]
        assert list(verdict) == ["disagree"]
        assert list(Explainer()(p, dtype, "x", error, verdict)) == [message]


def test_an_argument_hazard_too_small_for_the_error_is_not_named():
    # cos(3.14) in float32: 3.14 is rounded, amplified 2e3× (≈7e-5 relative): it accounts for
    # an error of that size, not for one of 1e-2.
    p = problem("cos(x)", {"x": 3.14})
    (blame,) = ChainRule(p.function, "float32").blame(p.point, ["x"], floor=1e-6)
    assert 1e-5 < blame.relative < 1e-4
    gradient = abs(np.sin(3.14))
    explainer, disagree = Explainer(), np.array(["disagree"], dtype=object)
    assert explainer(p, "float32", "x", np.array([1e-2 * gradient]), disagree)[0] == ""
    message = explainer(p, "float32", "x", np.array([1e-4 * gradient]), disagree)[0]
    assert step_of(message) == ["cos(x)"] and "up to ≈7e-05 relative error" in message


# --- the tape's structure --------------------------------------------------------------------


def test_an_undefined_derivative_names_its_operand_from_the_tape_not_from_its_text():
    # The folded constant min(0.0, 1.0) has a comma in its text: the operand in x is x.
    p = problem("min(0.0, 1.0) ** x", {"x": 0.5})
    where = ChainRule(p.function, "float64").undefined_at(point_in(p.point, "float64"), p.wrt)
    assert where == "the derivative of pow(min(0.0, 1.0), x) in x is not a number"
    p = problem("x[0] * sqrt(x[1])", {"x": [1.0, 0.0]})
    where = ChainRule(p.function, "float64").undefined_at(point_in(p.point, "float64"), p.wrt)
    assert where == "the derivative of sqrt(t3) in t3 is infinite"


def test_the_public_names_stay_importable_from_chainrule():
    from diffcompare.engine import chainrule

    for name in ("ChainRule", "Blame", "TapeStep", "kink_steps", "undefined_at", "unbroadcast", "point_in"):
        assert hasattr(chainrule, name), name


# --- the explainer's contract --------------------------------------------------------------


def test_the_explainer_speaks_only_on_disagreeing_rows_and_never_raises():
    p, exact = saturated(4.0, 8.0)
    explainer = Explainer()
    for verdict in ("agree", "kink", "undefined", "error"):
        assert list(explainer(p, "float64", "w", np.array([exact]), np.array([verdict], dtype=object))) == [""]
    disagree = np.array(["disagree"], dtype=object)
    assert list(explainer(p, "decimal", "w", np.array([exact]), disagree)) == [""]  # not a NumPy dtype
    assert list(explainer(p, "float64", "nothing", np.array([exact]), disagree)) == [""]
    assert list(explainer(p, "float64", "w", np.array([1.0, 2.0]), disagree)) == [""]  # wrong length
    assert list(explainer(None, "float64", "w", np.array([exact]), disagree)) == [""]
    # A value that is not finite (abs_error inf) is a step's that loses all digits.
    p = problem("sigmoid(w * x ** 2)", {"w": 2.0, "x": 4.0})
    assert step_of(explainer(p, "float32", "w", np.array([np.inf]), disagree)[0]) == ["sigmoid(w * x ** 2)"]
    assert explainer(p, "float64", "w", np.array([np.inf]), disagree)[0] == ""  # 2e-2 of the digits: not inf


def test_the_analysis_is_kept_per_problem_and_dtype_and_the_explainer_pickles_without_it():
    p, exact = saturated(4.0, 8.0)
    explainer = Explainer()
    first = explainer.analysis(p, "float64")
    assert explainer.analysis(p, "float64") is first
    assert explainer.analysis(p, "float32") is not first
    other, _ = saturated(4.0, 8.0)
    assert explainer.analysis(other, "float64") is not first  # another problem, however alike
    copy = pickle.loads(pickle.dumps(explainer))
    assert len(copy._cache) == 0 and copy.share == explainer.share


@pytest.mark.slow
def test_torch_rows_of_the_saturated_sigmoid_seed_are_blamed_on_the_sigmoid():
    pytest.importorskip("torch")
    from diffcompare.api import run
    from diffcompare.running.runner import load_problems

    frame = run(PROBLEMS / "saturated_sigmoid.yaml", backends=["torch"])
    (p,), _ = load_problems([PROBLEMS / "saturated_sigmoid.yaml"])
    explainer = Explainer()
    seen = 0
    for (dtype, var), rows in frame.groupby(["dtype", "variable"], observed=True):
        messages = explainer(p, dtype, var, rows.abs_error.to_numpy(), rows.verdict.to_numpy())
        for verdict, message in zip(rows.verdict, messages):
            if verdict == "disagree":
                seen += 1
                assert step_of(message) == ["sigmoid(w * x ** 2)"]
            else:
                assert message == ""
    assert seen == 4  # w and x, in float32 and float64; b agrees
