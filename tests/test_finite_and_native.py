"""The finite-difference backends and the native (torch, jax) backends, by class of bug.

1. The batched evaluator (engine/batched.py) gives f at many perturbed points at once, with
   a leading batch axis on the perturbed variable: it must give, point by point, what the
   one-point evaluator gives, for every primitive, every @ of 1-D, 2-D and 3-D operands,
   every index and every broadcast, whichever operands carry the batch axis.
2. A Python constant takes the dtype of the computation in torch and jax, where() with two
   constant branches or a constant condition included (torch made those float32 tensors,
   or refused them).
3. The error bound of central and richardson is never 0 where the values f was computed at
   carry rounding (f = 0 at the point, but not at x ± h).
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import torch
from conftest import PROBLEMS

from diffcompare import backends as registry
from diffcompare.backends.finite import FiniteDifferences
from diffcompare.backends.jax_backend import jax_ops
from diffcompare.backends.torch_backend import torch_ops
from diffcompare.engine.batched import BatchedProgram
from diffcompare.engine.chainrule import NUMPY_OPS, numpy_constant
from diffcompare.engine.complex import COMPLEX_OPS, non_analytic_step
from diffcompare.exact.reference import split
from diffcompare.lang.primitives import PRIMITIVES, matmul_shape
from diffcompare.lang.program import Program
from diffcompare.running.verdicts import judge_cell
from diffcompare.spec.files import load_file
from diffcompare.spec.problem import build_problem

FINITE = ["central", "richardson", "complex_step"]
DTYPES = ["float32", "float64"]


def _problem(function: str, point: dict | None = None, **keys):
    return build_problem({"function": function, "point": point or POINT, **keys}, "test", "t")


def _file_problem(name: str):
    """The problem called name in problems/, the file named after it (one problem per file)."""
    (problem,), errors = load_file(PROBLEMS / (name.replace("-", "_") + ".yaml"))
    assert errors == [] and problem.name == name
    return problem


def _mp(value):
    """A number or nested list as exact mpmath numbers of its float64 values (the
    reference's point)."""
    return [_mp(e) for e in value] if isinstance(value, list) else mpmath.mpf(float(value))


def _judged_exactly(problem, backend: str, dtype: str, truth, var: str = "x") -> tuple:
    """(bound, true value, Judged) of the backend's gradient in var, judged as the run
    judges it (the method's own bound, or √ε of the dtype) against truth(the point as
    mpmath numbers, the float64 point's exact values)."""
    loaded = registry.load(backend)
    gradient = loaded.gradient(problem, dtype)
    point = {k: v.tolist() for k, v in problem.point.items()}
    true = np.ravel(np.array(truth({k: _mp(v) for k, v in point.items()}), dtype=object))
    hi, lo = (np.array([split(v)[i] for v in true]) for i in (0, 1))
    bound = gradient.bounds[var].ravel() if var in gradient.bounds else None
    return bound, hi, judge_cell(gradient.values[var], hi, lo, method=loaded.method, dtype=dtype, bounds=bound)


# --- 1. batched evaluation against one point at a time ----------------------------------

POINT = {
    "x": [[0.9, -1.7, 2.3], [1.1, 0.4, -0.6]],
    "y": [[0.3, 1.9], [-1.2, 0.8], [2.1, -0.5]],
    "v": [0.75, -1.3],
    "u": [1.4, 0.2, -0.9],
    "s": 0.6,
    "z": [[[0.5, -0.4], [1.3, 0.2], [-0.7, 1.6]], [[0.1, 0.9], [-1.1, 0.6], [0.8, -0.3]]],
}


# Operands of every shape, each of which depends on one or more variables (or none:
# the literal); a batched variable reaches them through indexing, @ and broadcasting.
OPERANDS = [
    *("s", "x[1, 2]", "v[-1]", "sum(x)", "u @ u", "v @ x @ u", "dot(u, x[0, :])"),
    *("v", "x[:, 1]", "x @ u", "(x @ y)[:, 1]", "y[1:, 0]", "x[:, 0] * s", "x[1, ::2]"),
    *("u", "x[0, :]", "v @ x", "y @ v", "x[-1]", "x[:, 1] @ x"),
    *("x", "x * u", "x - s", "(x @ y) @ x", "where(x > u, x, u)"),
    *("y", "y * v", "y[1:, :]", "x[:, 1:]"),
    *("x @ y", "x[:, :2]", "y[1:, :] * v"),
    *("z", "z * v", "x @ z", "z[:, 1:, :]", "z @ x"),
]


def _shape(text: str) -> tuple:
    return _problem(f"sum({text})").function.args[0].shape


ARRAYS = [(_shape(text), text) for text in OPERANDS]
# For broadcasting, what matters is the ranks and which side carries the batch axis:
# two operands of each shape, a variable and one built from others, are enough.
PAIRS = [
    (shape, text) for shape in dict.fromkeys(s for s, _ in ARRAYS) for text in [t for s, t in ARRAYS if s == shape][:2]
]


def _scalar(text: str, shape: tuple | None = None) -> str:
    """text, summed where it is not a scalar (shape: known, or found by parsing)."""
    shape = _shape(text) if shape is None else shape
    return text if shape == () else f"sum({text})"


def _matmuls() -> list[str]:
    """a @ b for every pair of operands whose shapes fit, 1-D and 2-D on either side."""
    found = []
    for (sa, a), (sb, b) in itertools.product(ARRAYS, ARRAYS):
        if not sa or not sb:
            continue
        try:
            shape = matmul_shape(sa, sb)
        except ValueError:
            continue
        found.append(_scalar(f"({a}) @ ({b})", shape))
    return found


def _elementwise() -> list[str]:
    """Binary arithmetic, min/max, where and clamp on every pair of shapes that broadcast."""
    found = []
    for (sa, a), (sb, b) in itertools.product(PAIRS, PAIRS):
        try:
            shape = tuple(np.broadcast_shapes(sa, sb))
        except ValueError:
            continue
        forms = [f"({a}) * ({b}) - ({a}) / (2 + ({b}) ** 2)", f"where(({a}) > ({b}), ({a}), 0.7)"]
        if sa == sb and a < b:  # the rarer forms once per pair of the same shape
            forms += [f"max({a}, {b}) + min({a}, 0.3)", f"clamp({a}, -0.5, {b})", f"where({a} <= {b}, 0.7, 0.1)"]
        found += [_scalar(form, shape) for form in forms]
    return found


def _reductions_and_indexing() -> list[str]:
    found = []
    for shape, text in ARRAYS:
        found += [f"{name}({text})" for name, p in PRIMITIVES.items() if p.kind == "reduction" and p.arity == 1]
        if len(shape) >= 1:
            found += [_scalar(f"({text})[0]"), _scalar(f"({text})[1:]"), _scalar(f"({text})[-1] * ({text})")]
        if len(shape) == 2:
            found += [f"({text})[-1, 0]", f"sum(({text})[:, -1])", f"sum(({text})[1:, ::2])"]
    found += [f"dot({a}, {b})" for (sa, a), (sb, b) in itertools.product(ARRAYS, ARRAYS) if sa == sb and len(sa) == 1]
    return found


EXPRESSIONS = sorted(set(_matmuls() + _elementwise() + _reductions_and_indexing()))


def _batched_against_pointwise(problem, ops: dict, perturb) -> None:
    """f batched in each variable in turn, against f at each of those points alone."""
    inputs = dict(problem.point)
    one_point = Program(problem.function, ops, constant=numpy_constant("float64"))
    rng = np.random.default_rng(0)
    got, want = [], []
    for var, base in inputs.items():
        batch = np.stack([perturb(base, rng) for _ in range(3)])
        got.append(BatchedProgram(problem.function, var, ops, numpy_constant("float64"))(inputs, batch))
        want.append([one_point({**inputs, var: row}) for row in batch])
    np.testing.assert_allclose(np.concatenate(got), np.concatenate(want), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("function", EXPRESSIONS)
def test_batched_evaluation_is_evaluation_at_each_point(function):
    """In real numbers, and in complex ones where f is analytic: the complex step's batches
    (COMPLEX_OPS) take the same path."""
    problem = _problem(function)
    _batched_against_pointwise(problem, NUMPY_OPS, lambda base, rng: base + rng.uniform(-0.3, 0.3, base.shape))
    if non_analytic_step(problem) is None:
        _batched_against_pointwise(
            problem, COMPLEX_OPS, lambda base, rng: base + 1j * rng.uniform(-0.3, 0.3, base.shape)
        )


# The fuzzer's cases, with their true values (problems/fd_vector_matrix_*.yaml and the others say why).
BATCHED_MATMUL = {
    "fd-vector-matrix-same-variable": lambda p: [[2, 8, 2], [5, 20, 5]],
    "fd-vector-matrix-same-variable-mean": lambda p: [
        [mpmath.mpf(v) / 3 for v in row] for row in ([2, 8, 2], [5, 20, 5])
    ],
    "fd-vector-matrix-vector": lambda p: [[36, 5, 6], [110, 42, 51]],
    "fd-data-vector-matrix": lambda p: [[0.5, 0.5, 0.5], [0.25, 0.25, 0.25]],
    "fd-stack-matrix": lambda p: [[1.5, 1.5, 1.5], [2.25, 2.25, 2.25]],
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", FINITE)
@pytest.mark.parametrize("name", list(BATCHED_MATMUL))
def test_batched_matmul_problems_agree(name, backend, dtype):
    problem = _file_problem(name)
    _, _, judged = _judged_exactly(problem, backend, dtype, BATCHED_MATMUL[name])
    assert list(judged.verdict) == ["agree"] * 6, judged.message
    assert np.all(judged.rel_error < (1e-2 if dtype == "float32" else 1e-6))


# --- 2. constants in the dtype of the computation (torch, jax) ------------------------

# Every primitive that takes a constant, with constants that are not binary fractions
# (0.7, 0.1, 1/3): float32(0.7) differs from float64's by 1.7e-8, past √ε of float64.
CONSTANT_FORMS = [
    "where(x >= 0.01, 0.7, 0.01) / x",
    "where(x > 1/3, 0.1, 1/3) ** x",
    "where(x < 0.1, x, 0.7) * x + where(x > 0.1, 1/3, x)",
    "where(1 > 0, x, 0.7) * x",
    "where(0.1 > 1/3, 0.7, x) * x",
    "x ** 0.7 + 0.7 ** x + x ** (1/3)",
    "max(x, 0.7) * x + max(0.1, x)",
    "min(x, 0.1) + min(0.7, x) * x + min(x, 1) * 1/3",
    "clamp(x, 0.1, 0.7) * x + clamp(x, 1/3, 1.1) + clamp(0.7, x - 0.5, 1.1) * x",
    "x / 0.7 + 0.1 / x - 1/3 * x + (0.7 - x) * 0.1",
    "sigmoid(0.7 * x) + tanh(x - 0.1) + log(x + 1/3) + exp(-0.7 * x)",
    "sum(where(v > 0.5, 0.7, 0.1) * v)",
    "sum(where(v > 0.5, 0.7, 0.1) ** 2 * v) + sum(clamp(v, 0.1, 0.7) * v)",
    "sum(max(v, 0.7) * min(v, 0.1)) + norm(v * 0.7) + logsumexp(v / 0.7)",
    "dot(v, where(v > 1/3, 0.7, 0.1)) + prod(v + 0.1)",
]
CONSTANT_POINT = {"x": 0.73, "v": [0.3, 0.9, 0.55]}


def _step_dtypes(backend: str, problem, dtype: str) -> set[str]:
    """The dtypes of the values of f's steps (constants apart: they stay Python numbers),
    booleans apart, run with the backend's table for the row's dtype; jax's traced only
    (jax.eval_shape: every dtype, nothing compiled)."""
    if backend == "torch":
        program = Program(problem.function, torch_ops(getattr(torch, dtype)))
        env = {k: torch.tensor(v, dtype=getattr(torch, dtype)) for k, v in problem.point.items()}
        run = program.run_all
    else:
        program = Program(problem.function, jax_ops(dtype))
        env = {k: jnp.asarray(v, dtype=dtype) for k, v in problem.point.items()}
        run = lambda env: jax.eval_shape(program.run_all, env)  # noqa: E731
    values = run(env)
    steps = [values[i] for i, _, _ in program.steps]
    return {str(v.dtype).removeprefix("torch.") for v in steps if "bool" not in str(v.dtype)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("function", CONSTANT_FORMS)
def test_every_step_is_computed_in_the_rows_dtype(function, backend, dtype):
    """No step of f, those of constants included, is in another float dtype than the row's."""
    assert _step_dtypes(backend, _problem(function, CONSTANT_POINT), dtype) == {dtype}


@pytest.mark.parametrize("function", CONSTANT_FORMS)
def test_batched_evaluation_with_constants_is_evaluation_at_each_point(function):
    """The same forms through the finite differences' batches: constant branches and
    conditions of where, constants in clamp, min and max, broadcast against a batch."""
    problem = _problem(function, CONSTANT_POINT)
    _batched_against_pointwise(problem, NUMPY_OPS, lambda base, rng: base + rng.uniform(-0.3, 0.3, base.shape))


@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("function", CONSTANT_FORMS)
def test_float64_constants_keep_their_float64_value(function, backend):
    """torch's and jax's float64 gradient is NumPy's (the chain-rule engine, float64
    constants) to rounding: a float32 constant anywhere would be 1e-8 away."""
    problem = _problem(function, CONSTANT_POINT)
    native = registry.load(backend).gradient(problem, "float64").values
    numpy = registry.load("chainrule").gradient(problem, "float64").values
    for var in problem.wrt:
        np.testing.assert_allclose(native[var], numpy[var], rtol=1e-13, atol=1e-15, err_msg=var)


CONSTANT_FILE = {
    "native-where-constant-branches": {"x": lambda p: -0.7 / p["x"] ** 2},
    "native-where-constant-branches-vector": {"v": lambda p: [0.1, 0.7, 0.7]},
    "native-where-constant-condition": {"x": lambda p: 2 * p["x"]},
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("name", list(CONSTANT_FILE))
def test_constant_problems_agree(name, backend, dtype):
    problem = _file_problem(name)
    ((var, truth),) = CONSTANT_FILE[name].items()
    _, _, judged = _judged_exactly(problem, backend, dtype, truth, var)
    assert set(judged.verdict) == {"agree"}, judged.message
    if dtype == "float64":
        assert np.all(judged.rel_error < 1e-14)


# --- 3. the finite-difference bound where f is 0 at the point ---------------------------

# f is 0 at the point (so ε·|f| and every step's ε·|v·v̄| there are 0), but f(x ± h) is
# not, and carries rounding: (function, point, the true derivative in x, in mpmath at the
# float64 point's exact values).
ZERO_AT_POINT = {
    "quotient": ("x / y", {"x": 0.0, "y": -0.471}, lambda p: 1 / p["y"]),
    "product": ("x * y", {"x": 0.0, "y": 0.3}, lambda p: p["y"]),
    "sin-quotient": ("sin(x) / y", {"x": 0.0, "y": -0.471}, lambda p: 1 / p["y"]),
    "log-at-one": ("log(x) * y", {"x": 1.0, "y": 0.7}, lambda p: p["y"]),
    "expm1": ("expm1(x) * y", {"x": 0.0, "y": 1 / 3}, lambda p: p["y"]),
    "asinh": ("asinh(x) / y", {"x": 0.0, "y": 0.1}, lambda p: 1 / p["y"]),
    "shifted-tanh": ("tanh(x - 0.5) * y", {"x": 0.5, "y": 0.7}, lambda p: p["y"]),
    # two products that cancel at x ± h: the rounding is of h·y and h·z, not of f
    "cancelling-products": ("x * y - x * z", {"x": 0.0, "y": 0.3, "z": 0.3001}, lambda p: p["y"] - p["z"]),
    "vector": ("sum(w * x) / 3", {"x": [0.0, 0.0, 0.0], "w": [0.3, -1.7, 2.1]}, lambda p: [v / 3 for v in p["w"]]),
}


@pytest.mark.parametrize("function", EXPRESSIONS[::40] + ["sum(x * s - x * u[0])", "sqrt(s - 0.6) + s"])
def test_rounding_at_the_unperturbed_point_is_the_engines(function):
    """The batched rounding sums with every row at the point itself are the chain-rule
    engine's ε·Σ|v·v̄|: the same estimate, moved to where f is evaluated."""
    problem = _problem(function)
    fd = FiniteDifferences(problem, "float64", "test")
    for var in problem.wrt:
        base = fd.inputs[var].ravel()
        _, sums = fd.every.at_with_rounding(var, base[:2], fd._weights())
        np.testing.assert_allclose(fd.eps * sums, fd.noise(), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", ["central", "richardson"])
@pytest.mark.parametrize("case", list(ZERO_AT_POINT))
def test_bound_is_not_zero_where_the_values_carry_rounding(case, backend, dtype):
    function, point, truth = ZERO_AT_POINT[case]
    bound, hi, judged = _judged_exactly(_problem(function, point, wrt=["x"]), backend, dtype, truth)
    assert np.all(bound > 0), bound
    assert set(judged.verdict) == {"agree"}, judged.message
    # generous, not vacuous: most of the dtype's digits
    assert np.all(bound < (1e-3 if dtype == "float64" else 0.1) * np.abs(hi))


ZERO_AT_POINT_FILE = {
    "fd-quotient-zero-numerator": ZERO_AT_POINT["quotient"][2],
    "fd-cancelling-products-at-zero": ZERO_AT_POINT["cancelling-products"][2],
    "fd-zero-vector": ZERO_AT_POINT["vector"][2],
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", ["central", "richardson"])
@pytest.mark.parametrize("name", list(ZERO_AT_POINT_FILE))
def test_zero_at_point_problems_agree_within_a_bound_above_zero(name, backend, dtype):
    problem = _file_problem(name)
    bound, _, judged = _judged_exactly(problem, backend, dtype, ZERO_AT_POINT_FILE[name])
    assert np.all(bound > 0) and set(judged.verdict) == {"agree"}, (bound, judged.message)


def test_central_differences_bound_includes_lgammas_own_forward_error():
    """math.lgamma is good to 8 ε·max(1, |lgamma|), not to an ulp of its result (a fuzz
    campaign: lgamma at 1.362, central 4.6e-11 off against a bound of 1.8e-11): its declared
    forward_error enters the rounding bound, so central differences agree around its minimum
    and its zeros, and the bound stays tight (under 1e-8, with lgamma' of order 0.1 to 1)."""
    import diffcompare

    for x in (1.05, 1.2, 1.362, 1.4616, 1.7, 1.95, 2.1, 2.6):
        rows = diffcompare.compare("lgamma(x)", point={"x": x}, backends=["central"], dtypes=["float64"])
        (row,) = rows.itertuples()
        assert row.verdict == "agree", (x, row.message)
        assert row.tolerance < 1e-8, x
    error = PRIMITIVES["lgamma"].forward_error(np.array(-0.12), np.array(1.362))
    assert error == 8.0
