"""Forward mode in the chain-rule engine (issue 17): every primitive's JVP rule against its VJP
rule, forward against reverse Jacobians on every construct, and the chainrule backend's
Jacobian, J·v and uᵀ·J against derivatives written by hand here (closed forms in NumPy)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from construct_cases import CASES, PRIMITIVE_CASES

from diffcompare.backends.chainrule import ChainRuleBackend
from diffcompare.engine.chainrule import ChainRule, point_in
from diffcompare.engine.forward import local_jvp
from diffcompare.engine.tape import FORWARD_TAPE_COLUMNS, forward_tape_table, tape_table
from diffcompare.lang.ir import axis_keyword
from diffcompare.lang.primitives import PRIMITIVES, SkipCell
from diffcompare.spec.problem import build_problems

BACKEND = ChainRuleBackend()


def problem(document: dict):
    problems, errors = build_problems(document, "test.yaml", "test")
    assert not errors, errors
    return problems[0]


def case_problem(name: str):
    case = CASES[name]
    document = {"function": case.function, "point": case.point}
    if case.wrt:
        document["wrt"] = case.wrt
    return problem(document)


# --- every primitive's JVP rule is the transpose of its VJP rule ------------------------------


def _duality(name: str) -> list[tuple[str, int, float, float]]:
    """(op, operand, <vjp(u), t>, <u, jvp(t)>) for every operand of every node of primitive
    `name` in its construct case, on random tangents t and cotangents u (float64)."""
    p = case_problem(name)
    engine = ChainRule(p.function, "float64")
    values = engine.forward(point_in(p.point, "float64"))
    rng = np.random.default_rng(17)
    checks = []
    for i, node in enumerate(engine.order):
        if node.op != name or node.is_constant:
            continue
        args = [values[engine.slot[id(a)]] for a in node.args]
        primitive, params = PRIMITIVES[name], axis_keyword(node)
        u = rng.standard_normal(np.shape(values[i]))
        given = []
        for k, arg in enumerate(node.args):
            rule = primitive.jvp_rule(k)
            assert (rule is None) == (primitive.vjp(k) is None), f"{name}: JVP and VJP disagree on operand {k}"
            t = rng.standard_normal(arg.shape)
            given.append(t)
            if rule is None:
                continue
            back = np.sum(np.asarray(engine.local_vjp(node, k, u, values[i], args)) * t)
            ahead = np.sum(u * np.broadcast_to(rule(t, values[i], *args, **params), np.shape(values[i])))
            scale = np.sum(np.abs(engine.local_vjp(node, k, np.abs(u), values[i], args)) * np.abs(t))
            checks.append((name, k, back, ahead, scale))
        # every operand moving at once: the node's push (one call for a linear step) is the
        # sum of the operands' rules
        pushed = local_jvp(node, given, values[i], args)
        parts = [primitive.jvp_rule(k) for k in range(len(args))]
        alone = [r(t, values[i], *args, **params) for r, t in zip(parts, given) if r is not None]
        if alone:
            np.testing.assert_allclose(pushed, np.broadcast_to(sum(alone), np.shape(values[i])), rtol=1e-13, atol=1e-14)
    return checks


def test_every_primitive_has_a_case_and_a_jvp_rule_where_it_has_a_vjp():
    assert set(PRIMITIVE_CASES) == set(PRIMITIVES)
    for name, primitive in PRIMITIVES.items():
        if primitive.kind == "array" and primitive.vjp_any is None:  # arange, zeros, ones: folded constants
            assert primitive.jvp_rule(0) is None
        elif primitive.kind == "compare":  # only inside where(): no derivative either way
            assert primitive.jvp_rule(0) is None and primitive.jvp_rule(1) is None
        else:
            assert primitive.jvp_rule(0) is not None or primitive.jvp_rule(1) is not None, name


# every primitive but the comparisons and the constant arrays, which have no derivative
DIFFERENTIABLE = [
    n for n, p in PRIMITIVES.items() if p.kind != "compare" and not (p.kind == "array" and p.vjp_any is None)
]


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_jvp_is_the_transpose_of_the_vjp(name):
    with np.errstate(all="ignore"):  # as the engine runs its rules (digamma's vectorize warns on a 0-d array)
        checks = _duality(name)
    assert checks, f"the case for {name} has no differentiable {name} step"
    for op, k, back, ahead, scale in checks:
        assert abs(back - ahead) <= 1e-12 * max(scale, 1e-300), (op, k, back, ahead)


def test_a_nonlinear_step_without_a_declared_jvp_is_refused_not_dropped():
    # outer is bilinear: deriving its JVP from the VJP would be wrong, so without its
    # declaration there is no rule to fall back on, and the engine must not read it as 0
    bare = dataclasses.replace(PRIMITIVES["outer"], jvps=())
    with pytest.raises(NotImplementedError, match="'outer' is not linear"):
        bare.jvp_rule(0)


def test_softmax_keeps_its_one_sided_jvp_field():
    # exact.onesided reads Primitive.jvp for softmax and log_softmax: it stays, and is their rule
    for name in ("softmax", "log_softmax"):
        assert PRIMITIVES[name].jvp is not None and PRIMITIVES[name].jvp_rule(0) is PRIMITIVES[name].jvp


# --- forward and reverse Jacobians, and the gradient, on every construct ------------------------


@pytest.fixture(scope="module")
def jacobians():
    out = {}
    for name in CASES:
        p = case_problem(name)
        engine = ChainRule(p.function, "float64")
        inputs = point_in(p.point, "float64")
        wrt = list(p.wrt)
        out[name] = (
            engine.jacobian_forward(inputs, wrt),
            engine.jacobian_reverse(inputs, wrt),
            engine.gradient(inputs, wrt),
        )
    return out


def test_forward_and_reverse_jacobians_agree_on_every_construct(jacobians):
    for name, (ahead, back, grad) in jacobians.items():
        assert set(ahead) == set(back) == set(grad), name
        for var in grad:
            assert ahead[var].shape == back[var].shape == np.shape(grad[var]), (name, var)
            scale = max(1.0, float(np.max(np.abs(back[var]), initial=0.0)))
            np.testing.assert_allclose(ahead[var], back[var], rtol=0, atol=2e-15 * scale, err_msg=f"{name} {var}")
            # a scalar f's Jacobian is its gradient: the reverse pass seeded with the one-hot of
            # its only element is the gradient's pass, to the bit
            np.testing.assert_array_equal(back[var], grad[var], err_msg=f"{name} {var}")


# --- the backend, against derivatives written by hand -----------------------------------------

X = np.array([0.3, 0.7])
PAIR = {"function": "[x[0] * x[1], sin(x[0])]", "point": {"x": X.tolist()}}


def pair_jacobian(x):
    return np.array([[x[1], x[0]], [np.cos(x[0]), 0.0]])


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-16), ("float32", 1e-7)])
def test_jacobian_of_a_pair_in_both_modes(dtype, tol):
    p = problem({**PAIR, "operator": "jacobian"})
    assert BACKEND.modes(p) == ("forward", "reverse")
    for mode in ("forward", "reverse"):
        got = BACKEND.compute(p, dtype, mode)
        assert set(got.values) == {"x"} and got.values["x"].shape == (2, 2)
        np.testing.assert_allclose(got.values["x"], pair_jacobian(X), rtol=2 * tol, atol=tol)
        assert got.time_s > 0 and got.f_time_s > 0 and got.setup_s > 0


def test_jacobian_of_a_matrix_product_in_two_variables():
    A = np.array([[1.0, -2.0, 0.5], [3.0, 0.5, -1.0]])
    v = np.array([0.3, -0.2, 0.9])
    p = problem(
        {"function": "sin(A @ v) + v[0:2] ** 2", "point": {"A": A.tolist(), "v": v.tolist()}, "operator": "jacobian"}
    )
    c = np.cos(A @ v)
    want_v = c[:, None] * A + np.array([[2 * v[0], 0, 0], [0, 2 * v[1], 0]])
    want_A = np.zeros((2, 2, 3))
    for i in range(2):
        want_A[i, i, :] = c[i] * v  # ∂sin((Av)_i)/∂A_jk = cos((Av)_i) δ_ij v_k
    for mode in ("forward", "reverse"):
        got = BACKEND.compute(p, "float64", mode).values
        np.testing.assert_allclose(got["v"], want_v, rtol=1e-15, atol=1e-16)
        np.testing.assert_allclose(got["A"], want_A, rtol=1e-15, atol=1e-16)


def test_jacobians_of_reductions_along_an_axis_softmax_and_cumsum():
    A = np.array([[1.0, -2.0, 0.5], [3.0, 0.5, -1.0]])
    x = np.array([0.3, -0.2, 0.9])
    s = np.exp(x) / np.sum(np.exp(x))
    cases = [
        ("sum(A ** 2, axis=1)", {"A": A}, "A", np.einsum("ij,jk->ijk", np.eye(2), 2 * A)),
        ("prod(A, axis=0)", {"A": A}, "A", np.einsum("ik,jk->ijk", np.eye(3), A[::-1])),  # ∂(A0k A1k)/∂Ajk
        ("softmax(x)", {"x": x}, "x", np.diag(s) - np.outer(s, s)),
        ("cumsum(x)", {"x": x}, "x", np.tril(np.ones((3, 3)))),
        ("outer(x, x)[0]", {"x": x}, "x", np.array([[2 * x[0], 0, 0], [x[1], x[0], 0], [x[2], 0, x[0]]])),
    ]
    for function, point, var, want in cases:
        point = {k: v.tolist() for k, v in point.items()}
        p = problem({"function": function, "point": point, "operator": "jacobian"})
        for mode in ("forward", "reverse"):
            got = BACKEND.compute(p, "float64", mode).values[var]
            np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-16, err_msg=f"{function} {mode}")


def test_jvp_along_a_direction_per_variable():
    x, y, a, b = 0.4, 1.3, 0.5, -2.0
    p = problem(
        {
            "function": "[x * y, exp(x) + y ** 3]",
            "point": {"x": x, "y": y, "a": a, "b": b},
            "wrt": ["x", "y"],
            "operator": "jvp",
            "direction": {"x": "a", "y": "b"},
        }
    )
    assert BACKEND.modes(p) == ("forward",)
    want = np.array([y * a + x * b, np.exp(x) * a + 3 * y**2 * b])
    for dtype, tol in (("float64", 1e-15), ("float32", 1e-6)):
        got = BACKEND.compute(p, dtype, "forward").values
        assert set(got) == {"x,y"}
        np.testing.assert_allclose(got["x,y"], want, rtol=tol)


def test_vjp_with_a_cotangent():
    u = np.array([0.5, 2.0])
    p = problem(
        {**PAIR, "point": {"x": X.tolist(), "u": u.tolist()}, "wrt": ["x"], "operator": "vjp", "cotangent": "u"}
    )
    assert BACKEND.modes(p) == ("reverse",)
    want = np.array([u[0] * X[1] + u[1] * np.cos(X[0]), u[0] * X[0]])
    for dtype, tol in (("float64", 1e-15), ("float32", 1e-6)):
        np.testing.assert_allclose(BACKEND.compute(p, dtype, "reverse").values["x"], want, rtol=tol)


def test_gradient_is_reverse_mode_only_and_second_order_operators_are_skipped_with_a_reason():
    scalar = {"function": "x[0] * x[1] + sin(x[0])", "point": {"x": X.tolist(), "v": [1.0, 0.5]}, "wrt": ["x"]}
    p = problem(scalar)
    assert BACKEND.modes(p) == ("reverse",)
    got = BACKEND.compute(p, "float64", "reverse").values["x"]
    np.testing.assert_allclose(got, [X[1] + np.cos(X[0]), X[0]], rtol=1e-15)
    for extra in ({"operator": "hessian"}, {"operator": "hvp", "direction": "v"}):
        with pytest.raises(SkipCell, match="first order"):
            BACKEND.modes(problem({**scalar, **extra}))
    second = problem({"function": "sin(x) * x", "point": {"x": 0.3}, "operator": "second_derivative"})
    with pytest.raises(SkipCell, match="first order: the second derivative"):
        BACKEND.modes(second)


# --- the tape shows tangents ------------------------------------------------------------------


def test_tape_with_a_direction_shows_each_steps_tangent():
    p = problem({"function": "sin(x * y) + x", "point": {"x": 0.4, "y": 1.3}})
    engine = ChainRule(p.function, "float64")
    inputs = point_in(p.point, "float64")
    plain = engine.tape(inputs, ["x", "y"])
    steps = engine.tape(inputs, ["x", "y"], direction={"x": np.float64(1.0)})
    assert tape_table(steps) == tape_table(plain)  # the reverse tape is unchanged
    tangents = {s.name: s.tangent for s in steps}
    assert tangents["x"] == 1.0 and tangents["y"] is None  # y is not moved
    # ∂/∂x of x*y is y, of sin(x*y) + x is y cos(xy) + 1
    assert [float(s.tangent) for s in steps if s.operation == "mul(x, y)"] == [1.3]
    assert float(steps[-1].tangent) == pytest.approx(1.3 * np.cos(0.4 * 1.3) + 1, rel=1e-15)
    rows = forward_tape_table(steps)
    assert len(FORWARD_TAPE_COLUMNS) == len(rows[0]) == 6
    assert [r[:5] for r in rows] == [r[:5] for r in tape_table(steps)]
    assert rows[1][5] == "—"  # y's row
    assert rows[-1][5] == repr(float(steps[-1].tangent))


# --- through the runner: judged entry by entry against the exact reference ------------------------


def test_rows_of_every_first_order_operator_agree_with_the_reference():
    from diffcompare.api import compare

    pair = {"function": PAIR["function"], "point": {"x": X.tolist(), "u": [0.5, 2.0], "v": [1.0, -2.0]}, "wrt": ["x"]}
    expected_modes = {"jacobian": {"forward", "reverse"}, "jvp": {"forward"}, "vjp": {"reverse"}}
    for operator, given in (("jacobian", {}), ("jvp", {"direction": "v"}), ("vjp", {"cotangent": "u"})):
        rows = compare(backends=["chainrule"], operator=operator, **pair, **given)
        assert set(rows["mode"]) == expected_modes[operator], operator
        assert set(rows["dtype"]) == {"float32", "float64"}
        assert (rows["verdict"] == "agree").all(), rows[["mode", "dtype", "index", "verdict", "message"]]
        # every entry: 4 of the Jacobian per mode, 2 of J·v and of uᵀ·J, in each dtype
        assert len(rows) == {"jacobian": 16, "jvp": 4, "vjp": 4}[operator]


def test_explain_prints_a_jvps_forward_tape_with_its_tangents(capsys):
    from diffcompare.cli import main

    assert main(["explain", "problems/operators/jvp_through_kink.yaml"]) == 0
    out = capsys.readouterr().out
    assert "operator jvp: forward mode's tape" in out and "direction (v along x)" in out
    assert "tangent ∂·/∂v" in out and "[0., 2.]" in out  # J·v = (0, x1 + x0) along v = (1, 1)
    assert "Read top-down" in out
