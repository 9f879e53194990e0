"""torch and jax past the gradient (issue 17): every operator in every mode each backend
names, against closed-form derivatives written here by hand with NumPy (never through
diffcompare's own engines), in float64 to ~1e-12 and in float32 loosely; the Hessian's
cross blocks and a matrix input's Jacobian in the shapes spec.operators.results gives;
torch's own refusals as skipped cells."""

import numpy as np
import pytest
from operator_cases import CASES, SCALAR_F, VECTOR_F, X0, X1, T, U, V

from diffcompare import api
from diffcompare.backends import SkipCell
from diffcompare.spec.operators import results
from diffcompare.spec.problem import build_problems

pytest.importorskip("torch")
pytest.importorskip("jax")
from diffcompare.backends.jax_backend import JaxBackend  # noqa: E402
from diffcompare.backends.torch_backend import TorchBackend  # noqa: E402

BACKENDS = {"torch": TorchBackend(), "jax": JaxBackend()}


def problem_of(document: dict):
    problems, errors = build_problems(document, "test.yaml", "p")
    assert not errors, errors
    return problems[0]


SECOND = ("forward-over-reverse", "reverse-over-reverse")
MODES = {
    "torch": {
        "gradient": ("reverse",),
        "jacobian": ("forward", "reverse"),
        "jvp": ("forward", "forward-dual"),
        "vjp": ("reverse",),
        "hessian": SECOND,
        "hvp": SECOND,
        "second_derivative": SECOND,
    },
    "jax": {
        "gradient": ("reverse",),
        "jacobian": ("forward", "reverse"),
        "jvp": ("forward",),
        "vjp": ("reverse",),
        "hessian": SECOND,
        "hvp": SECOND,
        "second_derivative": SECOND,
    },
}
PARAMS = [(b, op, mode) for b, by_op in MODES.items() for op, modes in by_op.items() for mode in modes]


def relative_error(got, want) -> float:
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("operator", CASES)
def test_each_backend_names_its_modes(backend, operator):
    assert BACKENDS[backend].modes(problem_of(CASES[operator][0])) == MODES[backend][operator]


@pytest.mark.parametrize(("backend", "operator", "mode"), PARAMS, ids=["-".join(p) for p in PARAMS])
def test_operator_against_the_closed_form(backend, operator, mode):
    document, want = CASES[operator]
    problem = problem_of(document)
    assert list(want) == list(results(problem))
    got = BACKENDS[backend].compute(problem, "float64", mode)
    for name, value in want.items():
        assert got.values[name].dtype == np.float64 and got.values[name].shape == value.shape
        assert relative_error(got.values[name], value) <= 1e-12, (name, got.values[name], value)
    assert got.time_s > 0 and got.f_time_s > 0 and got.setup_s > 0
    got32 = BACKENDS[backend].compute(problem, "float32", mode)
    for name, value in want.items():
        v32 = got32.values[name]
        assert v32.shape == value.shape and np.array_equal(v32.astype(np.float32), v32)  # computed in float32
        # float32 rounds the point too (0.3 is not a float32): a few ε of float32
        assert relative_error(v32, value) <= 1e-5, (name, v32, value)


def test_the_gradient_is_computed_as_before():
    problem = problem_of(SCALAR_F)
    for backend in BACKENDS.values():
        before = backend.gradient(problem, "float64").values
        assert np.array_equal(backend.compute(problem, "float64", "reverse").values["x"], before["x"])


# f = x0²·y + exp(y)·x1, x of shape (2,) and y a scalar: four blocks, each of its own shape
CROSS = {"function": "x[0] ** 2 * y + exp(y) * x[1]", "point": {"x": [X0, X1], "y": T}, "operator": "hessian"}
CROSS_BLOCKS = {
    "x": np.array([[2 * T, 0.0], [0.0, 0.0]]),  # ∂²f/∂x∂x: shape (2, 2)
    "x,y": np.array([2 * X0, np.exp(T)]),  # ∂²f/∂x∂y: shape (2,) + ()
    "y,x": np.array([2 * X0, np.exp(T)]),  # ∂²f/∂y∂x: shape () + (2,)
    "y": np.array(np.exp(T) * X1),  # ∂²f/∂y²: shape ()
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_several_wrt_variables_give_the_hessian_cross_blocks(backend):
    problem = problem_of(CROSS)
    assert list(results(problem)) == list(CROSS_BLOCKS)
    for mode in SECOND:
        got = BACKENDS[backend].compute(problem, "float64", mode).values
        assert list(got) == list(CROSS_BLOCKS)
        for name, want in CROSS_BLOCKS.items():
            assert got[name].shape == want.shape
            np.testing.assert_allclose(got[name], want, rtol=1e-13, atol=0)


# two wrt variables, x of shape (2,) and y a scalar, moved along v and w
W = -0.4
TWO_WRT = {"point": {"x": [X0, X1], "y": T, "v": V.tolist(), "w": W}, "wrt": ["x", "y"]}
TWO_DIRECTIONS = {"direction": {"x": "v", "y": "w"}}
# f = [x0·y, sin(x1) + y²]: J_x·v + J_y·w, one result named by both variables
JVP_TWO = {"function": "[x[0] * y, sin(x[1]) + y ** 2]", "operator": "jvp", **TWO_WRT, **TWO_DIRECTIONS}
JVP_TWO_WANT = {"x,y": np.array([T * V[0] + X0 * W, np.cos(X1) * V[1] + 2 * T * W])}
# CROSS's H·(v, w): per variable, H_xx·v + H_xy·w and H_yx·v + H_yy·w
HVP_TWO = {"function": CROSS["function"], "operator": "hvp", **TWO_WRT, **TWO_DIRECTIONS}
HVP_TWO_WANT = {
    "x": CROSS_BLOCKS["x"] @ V + CROSS_BLOCKS["x,y"] * W,
    "y": np.array(CROSS_BLOCKS["y,x"] @ V + CROSS_BLOCKS["y"] * W),
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_several_wrt_variables_a_jvp_sums_over_them_an_hvp_gives_each(backend):
    for document, want in ((JVP_TWO, JVP_TWO_WANT), (HVP_TWO, HVP_TWO_WANT)):
        problem = problem_of(document)
        for mode in MODES[backend][problem.operator]:
            got = BACKENDS[backend].compute(problem, "float64", mode).values
            assert list(got) == list(want)
            for name, value in want.items():
                assert got[name].shape == value.shape
                np.testing.assert_allclose(got[name], value, rtol=1e-13, atol=0)


# f = (A.T)², A of shape (2, 3): f has shape (3, 2), ∂f[i,j]/∂A[k,l] = 2·A[j,i] where k = j, l = i
A = np.array([[1.0, -2.0, 0.5], [3.0, 0.5, -1.0]])
MATRIX = {"function": "A.T ** 2", "point": {"A": A.tolist()}, "operator": "jacobian"}


def matrix_jacobian() -> np.ndarray:
    want = np.zeros((3, 2, 2, 3))
    for i in range(3):
        for j in range(2):
            want[i, j, j, i] = 2 * A[j, i]
    return want


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_array_valued_f_of_a_matrix_has_the_jacobian_in_shape_f_then_x(backend):
    problem = problem_of(MATRIX)
    assert results(problem)["A"].shape == (3, 2, 2, 3)
    for mode in ("forward", "reverse"):
        got = BACKENDS[backend].compute(problem, "float64", mode).values["A"]
        assert got.shape == (3, 2, 2, 3)
        np.testing.assert_array_equal(got, matrix_jacobian())


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_second_derivative_that_is_structurally_zero_is_a_zero(backend):
    # torch's rule for abs' derivative, sgn(x), gives a ZeroTensor as its own derivative:
    # an array with no storage, which NumPy's conversion refuses unless forced
    problem = problem_of({"function": "abs(x) * y", "point": {"x": -1.3, "y": 0.5}, "operator": "hessian"})
    for mode in SECOND:
        got = BACKENDS[backend].compute(problem, "float64", mode).values
        assert {k: float(v) for k, v in got.items()} == {"x": 0.0, "x,y": -1.0, "y,x": -1.0, "y": 0.0}


# `2.5 % x`: torch.remainder of a number by a tensor has no derivative in the divisor,
# reverse or forward: the cell is skipped with torch's words.
REMAINDER = {"function": "2.5 % x + x", "point": {"x": 1.415, "v": 1.0}}
TORCH_REFUSALS = {
    ("jacobian", "forward"): "Trying to use forward AD with aten::remainder that does not support it",
    ("jacobian", "reverse"): "derivative for aten::remainder is not implemented",
    ("jvp", "forward-dual"): "Trying to use forward AD with aten::remainder that does not support it",
    ("hessian", "reverse-over-reverse"): "derivative for aten::remainder is not implemented",
}


@pytest.mark.parametrize(("operator", "mode"), TORCH_REFUSALS)
def test_torch_skips_what_it_cannot_differentiate_with_its_own_reason(operator, mode):
    extra = {"direction": {"x": "v"}} if operator == "jvp" else {}
    problem = problem_of({**REMAINDER, "operator": operator, "wrt": ["x"], **extra})
    with pytest.raises(SkipCell, match=TORCH_REFUSALS[operator, mode]):
        BACKENDS["torch"].compute(problem, "float64", mode)


@pytest.mark.slow  # the exact reference of both problems (SymPy, mpmath): about 10 s
def test_rows_through_the_runner_agree_with_the_exact_reference_in_every_mode():
    frames = [
        api.compare(CROSS["function"], CROSS["point"], backends=list(BACKENDS), operator="hessian"),
        api.compare(
            VECTOR_F["function"],
            {**VECTOR_F["point"], "u": U.tolist()},
            backends=list(BACKENDS),
            wrt=["x"],
            operator="vjp",
            cotangent="u",
        ),
    ]
    for frame in frames:
        assert set(frame["verdict"]) == {"agree"}, frame[["backend", "mode", "variable", "message"]].to_string()
    hessian, vjp = frames
    # one set of rows per backend, dtype and mode: four blocks of 4 + 2 + 2 + 1 entries each
    assert hessian.groupby(["backend", "dtype", "mode"]).size().to_dict() == {
        (b, d, m): 9 for b in BACKENDS for d in ("float32", "float64") for m in SECOND
    }
    assert set(vjp["mode"]) == {"reverse"} and len(vjp) == 2 * 2 * 2
