"""The casadi backend (issue 19): CasADi's forward and reverse AD on SX graphs built from the IR,
against derivatives written here by hand (never through diffcompare's engines), in float64 only;
a matrix problem (NumPy's broadcasting and row-major reshape kept on CasADi's column-major
matrices); the primitives CasADi lacks and the shapes it cannot hold as `skipped`; the operators
in both of their modes; and the verdicts of the behaviours kept in behaviours/casadi_*.yaml."""

import math

import numpy as np
import pytest

import diffcompare
from diffcompare.lang.primitives import PRIMITIVES, Unavailable
from diffcompare.spec.operators import results
from diffcompare.spec.problem import build_problems

casadi = pytest.importorskip("casadi")
from conftest import BEHAVIOURS, problem_file  # noqa: E402

from diffcompare.backends import casadi_operators  # noqa: E402
from diffcompare.backends.casadi_backend import CasadiBackend, casadi_ops  # noqa: E402

BACKEND = CasadiBackend()


def problem_of(document: dict):
    problems, errors = build_problems(document, "test.yaml", "p")
    assert not errors, errors
    return problems[0]


def rows(frame, mode=None):
    got = frame[frame["backend"] == "casadi"]
    return got if mode is None else got[got["mode"] == mode]


def test_the_table_maps_every_primitive_and_says_what_casadi_lacks():
    table = casadi_ops()
    assert set(table) == set(PRIMITIVES)
    missing = {name for name, fn in table.items() if isinstance(fn, Unavailable)}
    # the constant arrays are folded when a problem loads: never lowered
    assert missing - {"arange", "zeros", "ones"} == {"cbrt", "erfc", "lgamma", "gamma", "digamma", "round", "trunc"}


def test_both_modes_agree_with_the_derivative_written_by_hand_float64_only():
    # f = sum(sin(x**2) * y): ∂f/∂x = 2x·cos(x²)·(y0 + y1), ∂f/∂y_i = sin(x²)
    frame = diffcompare.compare("sum(sin(x**2) * y)", point={"x": 4.0, "y": [1.0, 2.0]}, backends=["casadi"])
    got = rows(frame)
    assert set(got["dtype"]) == {"float64"}  # CasADi computes in double: no float32 rows
    assert list(dict.fromkeys(got["mode"])) == ["reverse", "forward"]
    want = [2 * 4.0 * math.cos(16.0) * 3.0, math.sin(16.0), math.sin(16.0)]  # x, y[0], y[1]
    for mode in ("reverse", "forward"):
        part = got[got["mode"] == mode]
        assert (part["verdict"] == "agree").all(), part[["variable", "index", "value", "message"]]
        assert list(part["variable"]) == ["x", "y", "y"]
        np.testing.assert_allclose(part["value"].to_numpy(), want, rtol=1e-15)
        assert (part["time_s"] > 0).all() and (part["setup_s"] > 0).all() and (part["f_time_s"] > 0).all()
        assert (part["expr_ops"] > 0).all()
    assert (got["library_version"] == f"casadi {casadi.__version__}").all()


def test_float32_is_not_offered():
    problem = problem_of({"function": "x ** 2", "point": {"x": 1.5}, "dtypes": ["float32", "float64"]})
    assert BACKEND.dtypes_for(problem) == ("float64",)
    assert BACKEND.modes(problem) == ("reverse", "forward")


# A of shape (2, 3), w of shape (3,): w broadcasts along A's rows as in NumPy, and reshape reads A in
# row-major order. f = sum(sin(A) * w) + sum(reshape(A, (3, 2)) * B) + A[1, :] @ w
A = np.array([[0.3, -1.2, 2.0], [1.5, 0.7, -0.4]])
W = np.array([0.5, -2.0, 1.25])
B = np.arange(1.0, 7.0).reshape(3, 2)


def test_a_matrix_problem_keeps_numpys_broadcasting_and_row_major_order():
    frame = diffcompare.compare(
        "sum(sin(A) * w) + sum(reshape(A, (3, 2)) * B) + A[1, :] @ w",
        point={"A": A.tolist(), "w": W.tolist(), "B": B.tolist()},
        wrt=["A", "w"],
        backends=["casadi"],
    )
    want_a = np.cos(A) * W + B.reshape(2, 3)  # reshape's adjoint: B read back in row-major order
    want_a[1] += W
    want_w = np.sin(A).sum(axis=0) + A[1]
    for mode in ("reverse", "forward"):
        part = rows(frame, mode)
        assert (part["verdict"] == "agree").all(), part[["variable", "index", "value", "message"]]
        a = part[part["variable"] == "A"]
        got_a = np.zeros((2, 3))
        for index, value in zip(a["index"], a["value"]):
            i, j = map(int, index.split(","))
            got_a[i, j] = value
        np.testing.assert_allclose(got_a, want_a, rtol=1e-15)
        np.testing.assert_allclose(part[part["variable"] == "w"]["value"].to_numpy(), want_w, rtol=1e-15)


def test_a_missing_primitive_and_a_3d_value_are_skipped_with_the_reason():
    frame = diffcompare.compare("lgamma(x) + x", point={"x": 2.5}, backends=["casadi"])
    got = rows(frame)
    assert set(got["mode"]) == {"reverse", "forward"}
    assert (got["verdict"] == "skipped").all()
    assert (got["message"] == "casadi has no native 'lgamma': CasADi has no log-gamma function").all()
    frame = diffcompare.compare("sum(stack(A, A) ** 2)", point={"A": [[1.0, 2.0], [3.0, 4.0]]}, backends=["casadi"])
    got = rows(frame)
    assert (got["verdict"] == "skipped").all()
    assert got["message"].str.contains("CasADi matrices are 2-D: a value of shape (2, 2, 2)", regex=False).all()


X0, X1, T, C = 0.3, 0.7, 0.9, 1.5
V, U = np.array([0.5, -1.0]), np.array([1.0, 2.0])
VECTOR_F = {"function": "[c * x[0] * x[1], sin(x[0])]", "point": {"x": [X0, X1], "c": C}, "wrt": ["x"]}
J = np.array([[C * X1, C * X0], [math.cos(X0), 0.0]])
SCALAR_F = {"function": "x[0] ** 2 * x[1] + exp(x[1])", "point": {"x": [X0, X1]}, "wrt": ["x"]}
H = np.array([[2 * X1, 2 * X0], [2 * X0, math.exp(X1)]])
SECOND = ("forward-over-reverse", "reverse-over-reverse")


def with_keys(document: dict, operator: str, **extra) -> dict:
    point = {**document["point"], **extra.pop("point", {})}
    return {**document, "operator": operator, "point": point, **extra}


OPERATORS = {
    "jacobian": (with_keys(VECTOR_F, "jacobian"), {"x": J}, ("forward", "reverse")),
    "jvp": (with_keys(VECTOR_F, "jvp", point={"v": V.tolist()}, direction={"x": "v"}), {"x": J @ V}, ("forward",)),
    "vjp": (with_keys(VECTOR_F, "vjp", point={"u": U.tolist()}, cotangent="u"), {"x": U @ J}, ("reverse",)),
    "hessian": (with_keys(SCALAR_F, "hessian"), {"x": H}, SECOND),
    "hvp": (with_keys(SCALAR_F, "hvp", point={"v": V.tolist()}, direction={"x": "v"}), {"x": H @ V}, SECOND),
    "second_derivative": (
        {"function": "sin(t) * exp(t)", "point": {"t": T}, "operator": "second_derivative"},
        {"t": np.array(2 * math.cos(T) * math.exp(T))},
        SECOND,
    ),
}
PARAMS = [(op, mode) for op, (_, _, modes) in OPERATORS.items() for mode in modes]


@pytest.mark.parametrize(("operator", "mode"), PARAMS, ids=["-".join(p) for p in PARAMS])
def test_operators_in_each_mode_against_the_closed_form(operator, mode):
    document, want, modes = OPERATORS[operator]
    problem = problem_of(document)
    assert BACKEND.modes(problem) == modes
    got = BACKEND.compute(problem, "float64", mode)
    assert list(got.values) == list(want) == list(results(problem))
    for name, value in want.items():
        assert got.values[name].shape == value.shape
        np.testing.assert_allclose(got.values[name], value, rtol=1e-14, atol=1e-15)
    assert got.extras["expr_ops"] > 0 and got.time_s > 0


def test_the_hessian_cross_blocks_and_a_matrix_jacobian_in_their_shapes():
    problem = problem_of(
        {"function": "x[0] ** 2 * y + exp(y) * x[1]", "point": {"x": [X0, X1], "y": T}, "operator": "hessian"}
    )
    want = {
        "x": np.array([[2 * T, 0.0], [0.0, 0.0]]),
        "x,y": np.array([2 * X0, math.exp(T)]),
        "y,x": np.array([2 * X0, math.exp(T)]),
        "y": np.array(math.exp(T) * X1),
    }
    for mode in SECOND:
        got = BACKEND.compute(problem, "float64", mode).values
        assert list(got) == list(want)
        for name, value in want.items():
            assert got[name].shape == value.shape
            np.testing.assert_allclose(got[name], value, rtol=1e-14)
    # f = (A.T)², A of shape (2, 3): ∂f[i,j]/∂A[j,i] = 2·A[j,i], shape f.shape + A.shape = (3, 2, 2, 3)
    problem = problem_of({"function": "A.T ** 2", "point": {"A": A.tolist()}, "operator": "jacobian"})
    want = np.zeros((3, 2, 2, 3))
    for i in range(3):
        for j in range(2):
            want[i, j, j, i] = 2 * A[j, i]
    for mode in ("forward", "reverse"):
        np.testing.assert_array_equal(BACKEND.compute(problem, "float64", mode).values["A"], want)


def test_each_mode_is_that_mode():
    # forward mode seeds one direction per input element, reverse one adjoint per output element:
    # the gradient of a scalar f of n inputs is one reverse sweep, and n forward ones
    problem = problem_of({"function": "sum(x ** 3)", "point": {"x": [1.0, 2.0, 3.0, 4.0]}})
    symbols = casadi_operators._symbols(problem, casadi.SX)
    f, _ = casadi_operators.function_of(problem, casadi_ops(), symbols)
    x = symbols["x"]
    calls = {}
    for name in ("forward", "reverse"):
        original = getattr(casadi, name)

        def spy(outs, xs, seeds, _original=original, _name=name):
            calls[_name] = len(seeds)
            return _original(outs, xs, seeds)

        setattr(casadi_operators.casadi, name, spy)
        try:
            (blocks,) = casadi_operators.jacobian_blocks([f], [x], name)
        finally:
            setattr(casadi_operators.casadi, name, original)
        value = casadi.Function("g", [x], [blocks[0]])(np.array([1.0, 2.0, 3.0, 4.0]))
        np.testing.assert_array_equal(np.asarray(value).ravel(), [3.0, 12.0, 27.0, 48.0])
    assert calls == {"forward": 4, "reverse": 1}


def test_a_kept_function_gives_the_same_values_and_setup():
    casadi_operators.forget()
    first = problem_of({"function": "sum(exp(x) * x)", "point": {"x": [0.1, 0.2]}})
    second = problem_of({"function": "sum(exp(x) * x)", "point": {"x": [1.1, -0.2]}})
    a = BACKEND.gradient(first, "float64")
    b = BACKEND.gradient(second, "float64")
    assert b.setup_s == a.setup_s  # built once, for the first problem
    np.testing.assert_allclose(b.values["x"], np.exp([1.1, -0.2]) * (1 + np.array([1.1, -0.2])), rtol=1e-15)


# behaviours/casadi_*.yaml: the verdict each earns in casadi (both modes), and torch's beside it where
# the file says so; values exact
KEPT = {
    "casadi_where_untaken_branch.yaml": {"x": ("agree", 2.0)},
    "casadi_relu_tie_split.yaml": {"x": ("agree", 1.0)},
    "casadi_sqrt_of_square.yaml": {"x": ("agree", 0.0)},
    "casadi_cancelled_difference.yaml": {"x": ("agree", 1.0)},
    "casadi_quotient_of_itself.yaml": {"x": ("agree", 1.0)},
    "casadi_norm_at_zero.yaml": {"x": ("disagree", math.nan)},
    "casadi_pow_zero_base.yaml": {"x": ("agree", 0.0), "y": ("disagree", math.nan)},
}


def test_every_kept_problem_is_asserted():
    assert {p.name for p in BEHAVIOURS.glob("casadi_*.yaml")} == set(KEPT)


@pytest.mark.parametrize("name", KEPT)
def test_kept_behaviours_earn_their_verdicts(name):
    got = rows(diffcompare.run(problem_file(name), backends=["casadi"]))
    assert set(got["mode"]) == {"reverse", "forward"}
    for variable, (verdict, value) in KEPT[name].items():
        part = got[got["variable"] == variable]
        assert (part["verdict"] == verdict).all(), part[["mode", "index", "value", "verdict", "message"]]
        if math.isnan(value):
            assert part["value"].isna().all()
        else:
            assert (part["value"] == value).all()


@pytest.mark.slow
def test_every_construct_case_agrees_in_both_modes_or_is_skipped_for_what_casadi_lacks():
    """tests/construct_cases.py, which tests/test_backends.py walks through the other backends: each
    primitive and each array construct at a point, against the exact reference (about 13 s)."""
    from construct_cases import CASES, through

    lacking = {"cbrt", "erfc", "lgamma", "gamma", "digamma", "round", "trunc"}
    got = through(["casadi"])
    assert set(got["problem"]) == set(CASES)
    skipped = got[got["problem"].isin(lacking)]
    assert (skipped["verdict"] == "skipped").all()
    assert all(f"casadi has no native '{p}'" in m for p, m in zip(skipped["problem"], skipped["message"]))
    rest = got[~got["problem"].isin(lacking)]
    assert set(rest["mode"]) == {"reverse", "forward"}
    bad = rest[rest["verdict"] != "agree"]
    assert bad.empty, bad[["problem", "mode", "variable", "index", "value", "reference", "message"]].to_string()
    assert rest["rel_error"].max() < 1e-13


def test_a_point_past_the_sx_limit_is_skipped(monkeypatch):
    monkeypatch.setattr(casadi_operators, "MAX_ELEMENTS", 3)
    got = rows(diffcompare.compare("sum(x ** 2)", point={"x": [1.0, 2.0, 3.0, 4.0]}, backends=["casadi"]))
    assert (got["verdict"] == "skipped").all()
    assert (got["message"] == "an SX graph has a node per scalar: 4 point elements, past 3").all()


def test_a_table_of_its_own_never_gets_the_built_ins_functions():
    problem = problem_of({"function": "sin(x)", "point": {"x": 0.5}})
    assert float(BACKEND.gradient(problem, "float64").values["x"]) == math.cos(0.5)
    own = {**casadi_ops(), "sin": casadi_ops()["cos"]}  # a plug-in's table: sin replaced by cos
    got = casadi_operators.compute(problem, "float64", "reverse", own).values["x"]
    assert float(got) == pytest.approx(-math.sin(0.5), rel=1e-15)
