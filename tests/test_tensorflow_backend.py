"""The tensorflow backend: tf.GradientTape eager ("reverse") and in a tf.function ("reverse-graph"),
float32 and float64, TensorFlow's own primitives, its operators, and what TensorFlow does
differently (behaviours/tensorflow_*.yaml), each against numbers worked out by hand.

TensorFlow's import takes about 6 s and 0.8 GB: this module imports it once, and its tests stay in
one process (the README's test line runs files whole, `--dist loadfile`; the xdist_group below
does the same under `--dist loadgroup`)."""

import math

import numpy as np
import pytest
from conftest import BEHAVIOURS

import diffcompare
from diffcompare.backends import threads as thread_share
from diffcompare.lang.primitives import PRIMITIVES, Unavailable

pytestmark = pytest.mark.xdist_group("tensorflow")
tf = pytest.importorskip("tensorflow")
from diffcompare.backends.tensorflow_backend import (  # noqa: E402
    TENSORFLOW_OPS,
    TensorflowBackend,
)

MODES = ["reverse", "reverse-graph"]
# relative error a float32 row may show in these small computations, and a float64 row
REL = {"float32": 1e-6, "float64": 1e-14}


def rows(frame, mode=None, dtype=None, variable=None):
    got = frame
    if mode is not None:
        got = got[got["mode"] == mode]
    if dtype is not None:
        got = got[got["dtype"] == dtype]
    if variable is not None:
        got = got[got["variable"] == variable]
    return got


def values(frame, mode, dtype, variable) -> np.ndarray:
    return rows(frame, mode, dtype, variable)["value"].to_numpy(dtype=float)


def test_the_table_is_tensorflows_own_functions():
    assert set(TENSORFLOW_OPS) == set(PRIMITIVES)
    # by the primitives' names in tf.math, listing only where TensorFlow differs
    for name in ("sin", "tanh", "sigmoid", "softplus", "erf", "erfc", "lgamma", "digamma", "expm1", "log1p"):
        assert TENSORFLOW_OPS[name] is getattr(tf.math, name), name
    assert TENSORFLOW_OPS["asin"] is tf.math.asin  # not NumPy's arcsin
    assert TENSORFLOW_OPS["relu"] is tf.nn.relu
    assert TENSORFLOW_OPS["cumsum"] is tf.math.cumsum
    assert TENSORFLOW_OPS["softmax"] is tf.math.softmax
    assert TENSORFLOW_OPS["log2"] is tf.experimental.numpy.log2  # tf.math has none
    for name, fn in TENSORFLOW_OPS.items():
        if isinstance(fn, Unavailable):
            assert name == "gamma", name
            assert "TensorFlow has no gamma function" in fn.message
        else:
            module = getattr(fn, "__module__", "") or ""
            # TensorFlow's, Python's operators, or an adapter of the backend's that calls TensorFlow's
            assert module.startswith(("tensorflow", "_operator", "diffcompare.backends.tensorflow_backend")), name


def test_gradient_in_both_dtypes_and_both_modes_against_the_exact_derivative():
    frame = diffcompare.compare("sum(sin(x**2) * y)", point={"x": 4.0, "y": [1.0, 2.0]}, backends=["tensorflow"])
    assert set(frame["mode"]) == set(MODES)
    assert set(frame["dtype"]) == {"float32", "float64"}
    assert (frame["verdict"] == "agree").all()
    assert frame["library_version"].str.startswith("tensorflow-cpu ").all()
    for mode in MODES:
        for dtype, rel in REL.items():
            # d/dx = 2x cos(x²)·(1 + 2), d/dy_i = sin(x²)
            assert values(frame, mode, dtype, "x") == pytest.approx([24 * math.cos(16)], rel=rel)
            assert values(frame, mode, dtype, "y") == pytest.approx([math.sin(16)] * 2, rel=rel)
    # the float32 rows were computed in float32: they carry its rounding
    assert rows(frame, dtype="float32")["rel_error"].max() > 1e-9
    assert rows(frame, dtype="float64")["rel_error"].max() < 1e-14
    for column in ("time_s", "setup_s", "f_time_s"):
        assert (frame[column] > 0).all(), column


def test_constants_as_tensorflow_code_writes_them():
    """A constant array is a tf.constant of the row's dtype (float32 beside float64 is TF's error);
    numbers stay numbers, given the tensor's dtype where TF would refuse them (tf.where(c, 3, x)
    makes 3 an int32, atan2(0.7, x) makes 0.7 a float32: fuzz-66, fuzz-139); where() of two
    numbers is a constant, whose gradient is 0."""
    frame = diffcompare.compare(
        "sum(x * [1.0, 2.0]) + 0.5 * max(x[0], 0.25) + where(y > 0, 0.7, 0.3) + where(y > 0, 3, x[1])"
        " + atan2(0.7, x[0])",
        point={"x": [3.0, -1.0], "y": 2.0},
        backends=["tensorflow"],
    )
    assert (frame["verdict"] == "agree").all(), frame[["dtype", "mode", "variable", "value", "message"]]
    for mode in MODES:
        for dtype, rel in REL.items():
            # d/dx0 atan2(0.7, x0) = -0.7 / (0.7² + x0²)
            assert values(frame, mode, dtype, "x") == pytest.approx([1.5 - 0.7 / 9.49, 2.0], rel=rel)
            assert list(values(frame, mode, dtype, "y")) == [0.0]


def test_rows_carry_the_threads_tensorflow_runs_on():
    frame = diffcompare.compare("exp(x)", point={"x": 0.5}, backends=["tensorflow"])
    assert (frame["threads"] == thread_share.current()).all()
    intra = tf.config.threading.get_intra_op_parallelism_threads()
    assert intra == thread_share.current() or (intra == 0 and thread_share.current() == thread_share.cores())
    assert (frame["message"] == "").all()  # the pools hold the share: nothing to say


def test_a_primitive_tensorflow_lacks_is_skipped_with_the_reason():
    frame = diffcompare.compare("gamma(x) + x", point={"x": 2.5}, backends=["tensorflow"])
    assert (frame["verdict"] == "skipped").all()
    assert frame["message"].str.contains("tensorflow has no native 'gamma': TensorFlow has no gamma function").all()
    assert set(frame["dtype"]) == {"float32", "float64"}


# --- what TensorFlow does differently: behaviours/tensorflow_*.yaml ------------------------------


@pytest.fixture(scope="module")
def tensorflow_problems():
    frame = diffcompare.run(sorted(BEHAVIOURS.glob("tensorflow_*.yaml")), backends=["tensorflow"])
    assert frame.attrs["errors"] == []
    assert set(frame["mode"]) == set(MODES)
    assert set(frame["dtype"]) == {"float32", "float64"}
    return frame


def problem(frame, name):
    return frame[frame["problem"] == name]


def test_sqrt_gradient_is_zero_where_its_adjoint_is(tensorflow_problems):
    """tf's SqrtGrad gives 0 for a 0 adjoint: the untaken sqrt(-0.5) costs nothing (torch, jax: NaN)."""
    got = problem(tensorflow_problems, "tensorflow-where-sqrt-untaken")
    assert len(got) == 4 and (got["verdict"] == "agree").all()
    assert (got["value"] == 2.0).all()
    # not Pow's rule: (x - 1) ** 0.5 untaken is NaN in TensorFlow too
    got = problem(tensorflow_problems, "tensorflow-where-pow-half-untaken")
    assert len(got) == 4 and (got["verdict"] == "disagree").all()
    assert got["value"].isna().all() and (got["reference"] == 2.0).all()


def test_a_tie_goes_to_the_first_argument(tensorflow_problems):
    """max(x, y) + min(x, y) = x + y at x = y: ∇f = (1, 1); TensorFlow gives (2, 0)."""
    got = problem(tensorflow_problems, "tensorflow-max-min-tie")
    assert len(got) == 8 and (got["verdict"] == "disagree").all()
    assert (got["reference"] == 1.0).all()
    for mode in MODES:
        for dtype in REL:
            assert list(values(got, mode, dtype, "x")) == [2.0]
            assert list(values(got, mode, dtype, "y")) == [0.0]


def test_expm1_derivative_as_exp_keeps_float32(tensorflow_problems):
    """d/dx expm1(c·x) = c·exp(c·x), c = expm1(3): TensorFlow's exp(u) does not cancel."""
    import mpmath

    c = mpmath.expm1(3)
    exact = float(c * mpmath.exp(c * mpmath.mpf(-0.645)))
    got = problem(tensorflow_problems, "tensorflow-expm1-derivative")
    assert len(got) == 4 and (got["verdict"] == "agree").all()
    for mode in MODES:
        assert values(got, mode, "float32", "x") == pytest.approx([exact], rel=1e-6)
        assert values(got, mode, "float64", "x") == pytest.approx([exact], rel=1e-12)


def test_tnp_hypot_overflows_in_float32(tensorflow_problems):
    """hypot(x, 1) at 1e20 by tf.experimental.numpy.hypot, sqrt(x² + 1): x² overflows float32."""
    got = problem(tensorflow_problems, "tensorflow-hypot-overflow")
    f32, f64 = rows(got, dtype="float32"), rows(got, dtype="float64")
    assert len(f32) == 2 and (f32["verdict"] == "disagree").all() and (f32["value"] == 0.0).all()
    assert len(f64) == 2 and (f64["verdict"] == "agree").all() and (f64["value"] == 1.0).all()


def test_pow_derivative_in_the_exponent_is_zero_at_a_negative_base(tensorflow_problems):
    got = problem(tensorflow_problems, "tensorflow-pow-negative-base")
    x, y = rows(got, variable="x"), rows(got, variable="y")
    assert len(x) == 4 and (x["verdict"] == "agree").all() and (x["value"] == -4.0).all()
    assert len(y) == 4 and (y["verdict"] == "undefined").all() and (y["value"] == 0.0).all()


def test_the_graph_rewritten_by_grappler_agrees_with_the_exact_derivative(tensorflow_problems):
    """Eager and tf.function round differently here (Grappler's rewrites), both within √ε."""
    exact = 2.5 * (0.936 / 0.3) ** -0.25
    got = problem(tensorflow_problems, "tensorflow-graph-rewrite")
    assert len(got) == 4 and (got["verdict"] == "agree").all()
    for mode in MODES:
        assert values(got, mode, "float32", "x") == pytest.approx([exact], rel=1e-6)
        assert values(got, mode, "float64", "x") == pytest.approx([exact], rel=1e-15)


# --- operators ---------------------------------------------------------------------------------

POINT = {"x": [1.0, 2.0], "y": 3.0, "vx": [1.0, -1.0], "vy": 2.0, "u": [1.0, 2.0]}


def operator_rows(function, operator, **keys):
    frame = diffcompare.compare(
        function, point=POINT, backends=["tensorflow"], wrt=["x", "y"], operator=operator, **keys
    )
    assert (frame["verdict"] == "agree").all(), frame[["dtype", "mode", "variable", "value", "reference", "message"]]
    return frame


def check(frame, mode, expected: dict):
    assert mode in set(frame["mode"])
    for dtype, rel in REL.items():
        for variable, value in expected.items():
            assert values(frame, mode, dtype, variable) == pytest.approx(value, rel=rel, abs=1e-30), (dtype, variable)


def test_jacobian_jvp_and_vjp():
    # f = x² y at x = (1, 2), y = 3
    frame = operator_rows("x**2 * y", "jacobian")
    assert set(frame["mode"]) == {"reverse"}
    check(frame, "reverse", {"x": [6.0, 0.0, 0.0, 12.0], "y": [1.0, 4.0]})
    frame = operator_rows("x**2 * y", "jvp", direction={"x": "vx", "y": "vy"})
    assert set(frame["mode"]) == {"forward"}  # tf.autodiff.ForwardAccumulator
    check(frame, "forward", {"x,y": [2 * 1 * 3 * 1 + 1 * 2, 2 * 2 * 3 * -1 + 4 * 2]})
    frame = operator_rows("x**2 * y", "vjp", cotangent="u")
    check(frame, "reverse", {"x": [6.0, 24.0], "y": [9.0]})


def test_hessian_and_hvp_by_nested_tapes():
    # f = sum(x³)·y: ∂²f/∂x² = diag(6 x y), ∂²f/∂x∂y = 3x², ∂²f/∂y² = 0
    frame = operator_rows("sum(x**3) * y", "hessian")
    assert set(frame["mode"]) == {"reverse-over-reverse"}
    check(
        frame, "reverse-over-reverse", {"x": [18.0, 0.0, 0.0, 36.0], "x,y": [3.0, 12.0], "y,x": [3.0, 12.0], "y": [0.0]}
    )
    frame = operator_rows("sum(x**3) * y", "hvp", direction={"x": "vx", "y": "vy"})
    assert set(frame["mode"]) == {"forward-over-reverse", "reverse-over-reverse"}
    for mode in ("forward-over-reverse", "reverse-over-reverse"):
        check(frame, mode, {"x": [18 * 1 + 3 * 2, 36 * -1 + 12 * 2], "y": [3 * 1 - 12 * 1]})


def test_second_derivative_both_ways():
    frame = diffcompare.compare("sin(x) * x", point={"x": 0.5}, backends=["tensorflow"], operator="second_derivative")
    assert (frame["verdict"] == "agree").all()
    assert set(frame["mode"]) == {"forward-over-reverse", "reverse-over-reverse"}
    for mode in ("forward-over-reverse", "reverse-over-reverse"):
        for dtype, rel in REL.items():
            # (x sin x)'' = 2 cos x − x sin x
            assert values(frame, mode, dtype, "x") == pytest.approx([2 * math.cos(0.5) - 0.5 * math.sin(0.5)], rel=rel)


def test_graph_mode_is_traced_once_per_problem_and_dtype():
    """reverse-graph: one trace (setup_s), warm calls timed; the modes are asked as the protocol asks."""
    from diffcompare.backends.protocol import compute
    from diffcompare.spec.problem import build_problem

    backend = TensorflowBackend()
    problem_ = build_problem({"function": "sum(tanh(x) * x)", "point": {"x": [0.5, -1.0, 2.0]}}, "<t>", "t")
    assert backend.modes(problem_) == ("reverse", "reverse-graph")
    traces = []
    original = tf.function

    def counting(fn=None, **kwargs):
        if fn is None:  # @tf.function(input_signature=…): the decorator
            return lambda fn: counting(fn, **kwargs)
        made = original(fn, **kwargs)
        traces.append(made)
        return made

    tf.function = counting
    try:
        graph = compute(backend, problem_, "float64", "reverse-graph")
    finally:
        tf.function = original
    x = np.array([0.5, -1.0, 2.0])
    expected = np.tanh(x) + x / np.cosh(x) ** 2
    assert graph.values["x"] == pytest.approx(expected, rel=1e-14)
    # the gradient's function and f's, each traced exactly once for all its timed calls
    assert [t.experimental_get_tracing_count() for t in traces] == [1, 1]
    assert graph.setup_s > graph.time_s
