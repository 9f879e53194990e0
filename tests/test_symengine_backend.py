"""The built-in `symengine` backend (SymEngine's diff, compiled by Lambdify, issue 19): its gradient
in float64 and float32 and every operator in mode "symbolic", against derivatives written here by
hand (closed forms), never through diffcompare's own engines; what SymEngine cannot differentiate
or compile as `skipped` rows with the reason; expr_ops and expr_ops_cse beside SymPy's, counted by
SymPy's rules (numbers derived here); the forms kept per structure; and the behaviours SymEngine
differs in, kept as behaviours/symengine_*.yaml and asserted here."""

import math

import numpy as np
import pytest
from conftest import problem_file
from operator_cases import CASES

import diffcompare

se = pytest.importorskip("symengine")
sympy = pytest.importorskip("sympy")
from diffcompare.backends import BUILTIN  # noqa: E402
from diffcompare.backends.symengine_backend import LLVM, SymengineBackend, form_of  # noqa: E402
from diffcompare.backends.symengine_lowering import SYMENGINE_OPS  # noqa: E402
from diffcompare.exact.counts import count_ops  # noqa: E402
from diffcompare.lang.primitives import PRIMITIVES  # noqa: E402
from diffcompare.spec.files import load_file  # noqa: E402

DTYPES = ["float32", "float64"] if LLVM else ["float64"]


def run(document: dict, backends=("symengine",), **keys):
    document = dict(document)
    return diffcompare.compare(
        document.pop("function"), document.pop("point"), backends=list(backends), **document, **keys
    )


def values(frame, name: str) -> np.ndarray:
    rows = frame[frame.variable == name]
    return rows.value.to_numpy(dtype=np.float64)


def test_registered_as_builtin():
    backend = SymengineBackend()
    assert backend.name == "symengine" and backend.library == BUILTIN["symengine"].library == "symengine"
    assert backend.method == "exact" and backend.modes(None) == ("symbolic",)
    assert set(SYMENGINE_OPS) == set(PRIMITIVES)


@pytest.mark.parametrize("operator", list(CASES))
def test_every_operator_against_its_closed_form(operator):
    document, expected = CASES[operator]
    frame = run(document)
    assert set(frame.dtype) == set(DTYPES)
    assert set(frame["mode"]) == {"symbolic"} and set(frame.verdict) == {"agree"}, frame[["verdict", "message"]]
    for dtype in DTYPES:
        rows = frame[frame.dtype == dtype]
        for name, want in expected.items():
            got = values(rows, name)
            rel = 1e-15 if dtype == "float64" else 3e-7
            assert got == pytest.approx(np.ravel(want), rel=rel, abs=rel), (operator, dtype, name)


def test_float32_is_computed_in_float32():
    """Lambdify's LLVM float32 code rounds every step to float: σ'(29.23) = e^-29.23/(1 + e^-29.23)²
    = 2.0262659…e-13 comes out within float32's rounding of it, not as the float64 value rounded."""
    if not LLVM:
        pytest.skip("SymEngine built without LLVM: float64 only")
    frame = run({"function": "sigmoid(x)", "point": {"x": 29.23}})
    exact = math.exp(-29.23) / (1 + math.exp(-29.23)) ** 2
    f32 = values(frame[frame.dtype == "float32"], "x")[0]
    f64 = values(frame[frame.dtype == "float64"], "x")[0]
    assert f64 == pytest.approx(exact, rel=1e-14)
    assert f32 == pytest.approx(exact, rel=2e-6) and f32 != f64
    assert np.float32(f32) == f32  # a float32 value, carried in the float64 column


@pytest.mark.parametrize(
    "function, point, reason",
    [
        ("x * abs(x)", 0.5, "SymEngine's diff has no rule for abs: it leaves Derivative(abs(x), x) unevaluated"),
        ("relu(x)", 0.5, "SymEngine's diff has no rule for max: it leaves Derivative(max(0, x), x) unevaluated"),
        (
            "floor(x) + x",
            0.5,
            "SymEngine's diff has no rule for floor: it leaves Derivative(floor(x), x) unevaluated",
        ),
        (
            "lgamma(x)",
            2.5,
            "SymEngine's Lambdify (llvm) cannot compile the derivative: it has no code for polygamma(0, x)"
            if LLVM
            else "SymEngine's Lambdify (lambda) cannot compile the derivative",
        ),
        ("round(x) + x", 0.3, "symengine has no native 'round': SymEngine has no round-half-to-even function"),
    ],
)
def test_what_symengine_cannot_do_is_skipped_with_the_reason(function, point, reason):
    frame = run({"function": function, "point": {"x": point}})
    assert set(frame.verdict) == {"skipped"}
    assert all(m.startswith(reason) for m in frame.message), frame.message.tolist()


def test_expr_ops_beside_sympy():
    """d/dx sin(x²) = 2·x·cos(x²): two MULs, a COS and a POW, 4 in both. 2·(x + y)²: SymEngine's
    ∂/∂x is 4·(x + y), a MUL and an ADD (2 per entry, 4 for both); SymPy distributes a number over
    a sum, 4·x + 4·y, two MULs and an ADD (6); after CSE each is one entry and a reference (2, 3)."""
    frame = run({"function": "sin(x ** 2)", "point": {"x": 4.0}}, backends=("symengine", "sympy"))
    for backend in ("symengine", "sympy"):
        rows = frame[frame.backend == backend]
        assert set(rows.expr_ops) == {4} and set(rows.expr_ops_cse) == {4}
        assert (rows.verdict == "agree").all()
    frame = run({"function": "2 * (x + y) ** 2", "point": {"x": 0.5, "y": 0.25}}, backends=("symengine", "sympy"))
    counts = frame.groupby("backend", observed=True)[["expr_ops", "expr_ops_cse"]].first()
    assert counts.loc["symengine"].tolist() == [4, 2] and counts.loc["sympy"].tolist() == [6, 3]
    assert values(frame, "x") == pytest.approx([3.0] * len(frame[frame.variable == "x"]))


def _both(build):
    return build(se), sympy.sympify(build(sympy))


@pytest.mark.parametrize(
    "build",
    [
        lambda m: m.Symbol("x") - m.Symbol("y"),
        lambda m: -m.Symbol("x"),
        lambda m: 1 / m.Symbol("x") / m.Symbol("y"),
        lambda m: m.exp(-m.Symbol("x")) * m.Symbol("y"),
        lambda m: m.sin(m.Symbol("x")) * m.Symbol("x") + m.sin(m.Symbol("x")) ** 2,
        lambda m: -m.Symbol("x") - m.Symbol("y") + 3,
        lambda m: m.Max(m.Symbol("x"), m.Symbol("y"), 1) * m.Rational(-2, 3),
        lambda m: m.Piecewise((m.Symbol("x") ** 2, m.Symbol("x") < 1), (m.sqrt(m.Symbol("x")), True)),
        lambda m: m.Symbol("x") ** m.Rational(-3, 2) + m.E,
        lambda m: -m.exp(m.Symbol("x")) * 1,
        lambda m: -m.E + m.Symbol("x") * m.exp(-m.Symbol("y")),
        lambda m: -m.Symbol("x") / (m.Symbol("y") + 2) - m.sin(m.Symbol("x")) / 3,
    ],
)
def test_count_ops_is_sympys_count_on_the_same_tree(build):
    """Where both libraries build the same tree, the count is sympy.count_ops's."""
    mine, theirs = _both(build)
    assert count_ops([mine]) == sympy.count_ops(theirs)


def test_count_is_linear_in_the_distinct_subexpressions():
    """The logistic map's derivative at depth 12, a tree of 550,912 operations by SymPy's count
    (3.9 s for SymPy to walk), counted without walking it."""
    x = se.Symbol("x")
    e = x
    for _ in range(12):
        e = se.Rational(39, 10) * e * (1 - e)
    import time

    start = time.perf_counter()
    assert count_ops([e.diff(x)]) == 550_912
    assert time.perf_counter() - start < 1.0


def test_a_sweep_builds_once():
    """Problems that differ only in the point of the differentiated variables share one form."""
    a = diffcompare.compare("sin(x) * y", point={"x": 0.5, "y": 2.0}, wrt=["x"], backends=["symengine"])
    b = diffcompare.compare("sin(x) * y", point={"x": 1.5, "y": 2.0}, wrt=["x"], backends=["symengine"])
    assert values(a[a.dtype == "float64"], "x")[0] == pytest.approx(2 * math.cos(0.5), rel=1e-15)
    assert values(b[b.dtype == "float64"], "x")[0] == pytest.approx(2 * math.cos(1.5), rel=1e-15)
    assert a.setup_s.iloc[0] > 0 and (b.verdict == "agree").all()
    problems = [
        load_file(problem_file("sin_x_squared.yaml"))[0][0],
        load_file(problem_file("sin_x_squared_at_3.yaml"))[0][0],
    ]
    assert form_of(problems[0]) is form_of(problems[1])


def test_a_huge_integer_exponent_is_a_named_constant():
    """(0.5·x)**70000: as a number SymEngine would raise 1/2 to it in big integers at once; named,
    the form builds at once and Lambdify is given its value: 70000·0.5^70000·x^69999 underflows to 0."""
    frame = run({"function": "(0.5 * x) ** 70000", "point": {"x": 1.0}, "dtypes": ["float64"]})
    assert values(frame, "x")[0] == 0.0


# problem file -> {(dtype, variable): verdict} for the symengine rows
KEPT = {
    "symengine_sqrt_of_square.yaml": {("float32", "x"): "disagree", ("float64", "x"): "disagree"},
    "symengine_power_rule_at_zero.yaml": {
        ("float32", "x"): "agree",
        ("float32", "y"): "disagree",
        ("float64", "x"): "agree",
        ("float64", "y"): "disagree",
    },
    "symengine_float32_exact_constant.yaml": {("float32", "x"): "disagree", ("float64", "x"): "agree"},
    "symengine_no_rule_for_abs.yaml": {("float32", "x"): "skipped", ("float64", "x"): "skipped"},
    "symengine_polygamma_not_compiled.yaml": {("float32", "x"): "skipped", ("float64", "x"): "skipped"},
    "symengine_cse_name_clash.yaml": {
        ("float32", "x0"): "agree",
        ("float32", "x1"): "disagree",
        ("float64", "x0"): "agree",
        ("float64", "x1"): "disagree",
    },
    # SymEngine has no hypot: the declaration's sqrt(x**2 + y**2) overflows float32 at x = 1e20
    "tensorflow_hypot_overflow.yaml": {("float32", "x"): "disagree", ("float64", "x"): "agree"},
    # SymEngine's canonical forms, built as it constructs: exp(x)/exp(x) is 1 and x - x is 0, so
    # nothing overflows or is 0·∞ (agree, as CasADi's; torch and jax NaN)
    "casadi_quotient_of_itself.yaml": {("float32", "x"): "agree", ("float64", "x"): "agree"},
    "casadi_cancelled_difference.yaml": {("float32", "x"): "agree", ("float64", "x"): "agree"},
    # found in problems/: the symbolic form where torch's and jax's float32 lose it
    "saturated_sigmoid.yaml": {("float32", "w"): "agree", ("float32", "x"): "agree"},
    "expm1_near_minus_one.yaml": {("float32", "x"): "agree", ("float64", "x"): "agree"},
    "trap_where_untaken.yaml": {("float32", "x"): "agree", ("float64", "x"): "agree"},
}


@pytest.fixture(scope="module")
def kept():
    frame = diffcompare.run([problem_file(name) for name in KEPT], backends=["symengine", "sympy"])
    return frame


@pytest.mark.parametrize("name", list(KEPT))
def test_kept_problem_verdicts(kept, name):
    problem = load_file(problem_file(name))[0][0].name
    rows = kept[(kept.problem == problem) & (kept.backend == "symengine")]
    got = {(r.dtype, r.variable): r.verdict for r in rows.itertuples() if (r.dtype, r.variable) in KEPT[name]}
    want = {k: v for k, v in KEPT[name].items() if k[0] in DTYPES}
    assert got == want, rows[["dtype", "variable", "verdict", "message"]]


def test_kept_problems_against_sympy(kept):
    """Where SymEngine and SymPy part: sqrt(x**2) (SymPy's real symbols make it Abs: agree) and
    the power rule at a zero base (SymPy's y·x**y/x: 0/0)."""

    def verdict(problem, backend, variable="x"):
        rows = kept[(kept.problem == problem) & (kept.backend == backend) & (kept.dtype == "float64")]
        return rows[rows.variable == variable].verdict.iloc[0]

    assert verdict("symengine-sqrt-of-square", "sympy") == "agree"
    assert verdict("symengine-power-rule-at-zero", "sympy") == "disagree"
    rows = kept[(kept.problem == "symengine-float32-exact-constant") & (kept.backend == "symengine")]
    assert "157842176831737497641996064378315968350761944875 = inf" in rows[rows.dtype == "float32"].message.iloc[0]
    assert values(rows[rows.dtype == "float64"], "x")[0] == pytest.approx(
        0.75 * (0.936 / 0.3) ** 0.75 / 0.936, rel=1e-14
    )
    clash = kept[(kept.problem == "symengine-cse-name-clash") & (kept.backend == "symengine")]
    # cos(1), the value with the input x0 = 0.5 read for x1² = 0.25: 2·0.5·(cos²(0.5) − sin²(0.5))
    assert values(clash[clash.dtype == "float64"], "x1")[0] == pytest.approx(math.cos(1.0), rel=1e-15)
    assert "SymEngine's CSE named a subexpression x0" in clash.message.iloc[0]
    assert verdict("symengine-cse-name-clash", "sympy", "x1") == "agree"


# construct case -> the start of the reason its symengine rows are skipped
SKIPPED_CONSTRUCTS = {
    **{
        name: f"SymEngine's diff has no rule for {rule}"
        for name, rule in {
            "abs": "abs",
            "cbrt": "abs",
            "relu": "max",
            "relu-both-sides": "max",
            "max": "max",
            "max-of-three": "max",
            "max-of-one-array": "max",
            "amax": "max",
            "loop-mean-logsumexp-max-min": "max",
            "reductions-along-axes": "max",
            "min": "min",
            "amin": "min",
            "clamp": "min",
            "floor": "floor",
            "mod": "floor",
            "ceil": "ceiling",
            "sign": "sign",
        }.items()
    },
    **{name: "SymEngine's Lambdify" for name in ("lgamma", "gamma", "digamma")},
    "round": "symengine has no native 'round'",
    "trunc": "symengine has no native 'trunc'",
}


@pytest.mark.slow
def test_every_construct_case_agrees_in_both_dtypes_or_is_skipped_with_its_reason():
    """tests/construct_cases.py, which tests/test_backends.py walks through the other backends: each
    primitive and each syntax construct at a point, against the exact reference (about 15 s)."""
    import pandas as pd
    from construct_cases import CASES
    from test_backends import document_of

    frames = []
    for name, case in CASES.items():
        keys = {k: v for k, v in document_of(name).items() if k not in ("function", "point")}
        frames.append(diffcompare.compare(case.function, point=case.point, backends=["symengine"], name=name, **keys))
    got = pd.concat(frames, ignore_index=True)
    assert set(got["problem"]) == set(CASES) and set(got["dtype"]) == set(DTYPES)
    skipped = got[got["problem"].isin(SKIPPED_CONSTRUCTS)]
    assert (skipped["verdict"] == "skipped").all()
    assert all(m.startswith(SKIPPED_CONSTRUCTS[p]) for p, m in zip(skipped["problem"], skipped["message"]))
    rest = got[~got["problem"].isin(SKIPPED_CONSTRUCTS)]
    bad = rest[rest["verdict"] != "agree"]
    assert bad.empty, bad[["problem", "dtype", "variable", "index", "value", "reference", "message"]].to_string()
    assert rest[rest["dtype"] == "float64"]["rel_error"].max() < 1e-13
