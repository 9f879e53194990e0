"""The built-in `autograd` backend (HIPS autograd, issue 19): its gradient in both dtypes and
every operator in every mode it names, against derivatives written here by hand (closed forms,
mpmath where a digit matters), never through diffcompare's own engines; the primitives and
rules autograd lacks as `skipped` rows with its reason; the float32 promotion message; and the
behaviours it differs from torch in, kept as behaviours/autograd_*.yaml and in the seed problems."""

import mpmath
import numpy as np
import pandas as pd
import pytest
from conftest import problem_file
from operator_cases import CASES

import diffcompare
from diffcompare.lang.primitives import PRIMITIVES

pytest.importorskip("autograd")
pytest.importorskip("scipy")
from diffcompare.backends import BUILTIN  # noqa: E402
from diffcompare.backends.autograd_backend import AUTOGRAD_OPS, AutogradBackend  # noqa: E402
from diffcompare.backends.autograd_operators import MODES  # noqa: E402


def run(document: dict, **keys):
    document = dict(document)
    return diffcompare.compare(
        document.pop("function"), document.pop("point"), backends=["autograd"], **document, **keys
    )


def test_the_builtin_names_its_library_and_maps_every_primitive():
    assert set(AUTOGRAD_OPS) == set(PRIMITIVES)
    assert AutogradBackend.name == "autograd" and AutogradBackend.library == BUILTIN["autograd"].library


def test_gradient_in_both_dtypes_against_the_derivative_by_hand():
    # f = Σ sin(x²)·y at x = 4, y = (1, 2): ∂f/∂x = 2x·cos(x²)·Σy, ∂f/∂yᵢ = sin(x²)
    frame = diffcompare.compare("sum(sin(x**2) * y)", point={"x": 4.0, "y": [1.0, 2.0]}, backends=["autograd"])
    assert set(frame["dtype"]) == {"float32", "float64"} and set(frame["mode"]) == {"reverse"}
    assert (frame["verdict"] == "agree").all(), frame[["dtype", "variable", "index", "value", "message"]]
    assert (frame["message"] == "").all()  # float32 gradients come back float32: no promotion to report
    assert frame["library_version"].str.startswith("autograd ").all()
    exact = {"x": [float(8 * mpmath.cos(16) * 3)], "y": [float(mpmath.sin(16))] * 2}
    for dtype, rtol in (("float64", 1e-15), ("float32", 3e-6)):
        rows = frame[frame["dtype"] == dtype]
        for variable, values in exact.items():
            got = rows.loc[rows["variable"] == variable, "value"].to_numpy(float)
            np.testing.assert_allclose(got, values, rtol=rtol, err_msg=f"{dtype} {variable}")


@pytest.mark.parametrize("operator", list(CASES))
def test_every_operator_in_every_mode_against_its_closed_form(operator):
    document, expected = CASES[operator]
    frame = run(document)
    assert set(frame["operator"]) == {operator}
    assert tuple(frame.drop_duplicates("mode")["mode"]) == MODES[operator]
    for (mode, dtype), rows in frame.groupby(["mode", "dtype"], observed=True):
        assert (rows["verdict"] == "agree").all(), (mode, dtype, rows[["variable", "index", "message"]])
        for name, value in expected.items():
            got = rows.loc[rows["variable"] == name, "value"].to_numpy(float)
            rtol = 1e-14 if dtype == "float64" else 1e-6
            np.testing.assert_allclose(got, np.ravel(value), rtol=rtol, atol=0, err_msg=f"{operator} {mode} {dtype}")


def test_the_hessian_s_cross_blocks_and_the_hvp_in_two_variables():
    # f = a²·b + sin(b), a = 0.4, b = 1.3: H = [[2b, 2a], [2a, −sin b]]
    a, b = 0.4, 1.3
    point = {"a": a, "b": b, "va": 0.5, "vb": -2.0}
    frame = diffcompare.compare(
        "a ** 2 * b + sin(b)", point, backends=["autograd"], wrt=["a", "b"], operator="hessian", dtypes=["float64"]
    )
    blocks = dict(zip(frame["variable"], frame["value"]))
    assert blocks == pytest.approx({"a": 2 * b, "a,b": 2 * a, "b,a": 2 * a, "b": -np.sin(b)}, rel=1e-15)
    hvp = diffcompare.compare(
        "a ** 2 * b + sin(b)",
        point,
        backends=["autograd"],
        wrt=["a", "b"],
        operator="hvp",
        direction={"a": "va", "b": "vb"},
        dtypes=["float64"],
    )
    for _mode, rows in hvp.groupby("mode", observed=True):
        got = dict(zip(rows["variable"], rows["value"]))
        assert got == pytest.approx({"a": 2 * b * 0.5 + 2 * a * -2.0, "b": 2 * a * 0.5 - np.sin(b) * -2.0}, rel=1e-15)
    assert set(hvp["mode"]) == {"forward-over-reverse", "reverse-over-reverse"}


def test_cbrt_has_no_vjp_in_autograd_skipped_with_the_reason():
    frame = diffcompare.compare("cbrt(x) + x", point={"x": 2.0}, backends=["autograd"])
    assert set(frame["dtype"]) == {"float32", "float64"}
    assert (frame["verdict"] == "skipped").all()
    assert frame["message"].str.contains("autograd.numpy.cbrt has no VJP").all(), frame["message"].tolist()


def test_a_float32_result_promoted_to_float64_says_so():
    """behaviours/autograd_float32_promotion.yaml: log2's VJP divides by a NumPy float64 scalar."""
    frame = diffcompare.run(problem_file("autograd_float32_promotion.yaml"), backends=["autograd"])
    assert set(frame["dtype"]) == {"float32"} and (frame["verdict"] == "agree").all()
    assert (frame["message"] == "autograd returned float64 results for float32 inputs").all()
    value = frame["value"].to_numpy(float)
    exact = np.diag([1 / (1.5 * mpmath.log(2)), 1 / (2.5 * mpmath.log(2))]).astype(float).ravel()
    # g / x in float32 (both float32), then / log(2) in float64: off by 1/x's float32 rounding alone
    by_steps = [float(np.float32(1) / np.float32(x)) / float(mpmath.log(2)) for x in (1.5, 2.5)]
    np.testing.assert_allclose(value[[0, 3]], by_steps, rtol=1e-15)
    np.testing.assert_allclose(value, exact, rtol=2**-24)
    assert (value[[0, 3]].astype(np.float32).astype(float) != value[[0, 3]]).all()  # not float32 numbers


def rows_of(name: str):
    frame = diffcompare.run(problem_file(f"{name}.yaml"), backends=["autograd"])
    assert frame.attrs["errors"] == []
    return frame


def test_prod_with_a_zero_is_nan_in_autograd():
    frame = rows_of("autograd_prod_with_a_zero")
    for _dtype, rows in frame.groupby("dtype", observed=True):
        by = rows.set_index("index")
        assert by.loc["0", "verdict"] == "disagree" and np.isnan(by.loc["0", "value"])  # exact: 2·3 = 6
        assert by.loc["0", "message"].startswith("non-finite value")
        assert list(by.loc[["1", "2"], "value"]) == [0.0, 0.0] and (by.loc[["1", "2"], "verdict"] == "agree").all()


def test_norm_of_a_zero_vector_is_nan_in_autograd():
    frame = rows_of("autograd_norm_of_zero_difference")  # exact: 2(x − y) = (0, 0)
    assert set(frame["dtype"]) == {"float32", "float64"} and len(frame) == 4
    assert (frame["verdict"] == "disagree").all() and frame["value"].isna().all()
    assert frame["message"].str.startswith("non-finite value").all()


def test_where_with_a_differentiated_scalar_branch_raises_in_autograd():
    frame = rows_of("autograd_where_scalar_branch")
    assert set(frame["dtype"]) == {"float32", "float64"} and (frame["verdict"] == "error").all()
    assert (
        frame["message"]
        == "ValueError: non-broadcastable output operand with shape () doesn't match the broadcast shape (2,)"
    ).all()
    # the same where with a constant branch: (1, 0), as by hand
    constant = diffcompare.compare("sum(where(x < 1, x, 3.0))", point={"x": [0.5, 2.0]}, backends=["autograd"])
    assert (constant["verdict"] == "agree").all() and list(constant["value"]) == [1.0, 0.0, 1.0, 0.0]


def test_clamp_with_a_variable_bound_is_skipped_with_autograd_s_reason():
    frame = rows_of("autograd_clamp_variable_bound")
    assert set(frame["dtype"]) == {"float32", "float64"} and (frame["verdict"] == "skipped").all()
    message = "autograd cannot differentiate this: VJP of clip wrt argnums 0, 1 not defined"
    assert (frame["message"] == message).all()


def test_sigmoid_has_no_forward_mode_rule_its_reverse_jvp_agrees():
    frame = rows_of("autograd_sigmoid_forward_jvp")
    forward, reverse = frame[frame["mode"] == "forward"], frame[frame["mode"] == "reverse-over-reverse"]
    assert set(frame["mode"]) == {"forward", "reverse-over-reverse"}
    assert (forward["verdict"] == "skipped").all() and len(forward) == 2  # one row per dtype: the cell
    assert (forward["message"] == "autograd cannot differentiate this: JVP of expit wrt argnums (0,) not defined").all()
    sigma = lambda u: 1 / (1 + mpmath.exp(-u))  # noqa: E731
    exact = [float(2 * sigma(1) * (1 - sigma(1)) * 1), float(2 * sigma(-2) * (1 - sigma(-2)) * 3)]
    assert (reverse["verdict"] == "agree").all()
    np.testing.assert_allclose(reverse.loc[reverse["dtype"] == "float64", "value"], exact, rtol=1e-15)
    np.testing.assert_allclose(reverse.loc[reverse["dtype"] == "float32", "value"], exact, rtol=1e-6)


def test_tie_rules_where_autograd_differs_from_torch():
    """The seed problems at kinks: autograd's maximum splits a tie evenly (relu'(0) = ½, where
    torch and jax take 0), and its clip's rule is 0 on the bound (torch's is 1); at the odd trap
    relu(u) − relu(−u) the even split gives f's true derivative, 1.1, where torch's gives 1."""
    frame = diffcompare.run(
        [problem_file("relu_at_kink.yaml"), problem_file("clamp_at_bound.yaml"), problem_file("trap_relu_odd.yaml")],
        backends=["autograd"],
    )
    x = frame[frame["variable"] == "x"].set_index(["problem", "dtype"])
    for dtype in ("float32", "float64"):
        assert (x.loc[("relu-at-kink", dtype), ["verdict", "value"]] == ["kink", 0.5]).all()
        assert x.loc[("relu-at-kink", dtype), "message"].endswith("this value is a value between them")
        assert (x.loc[("clamp-at-bound", dtype), ["verdict", "value"]] == ["kink", 0.0]).all()
        assert x.loc[("clamp-at-bound", dtype), "message"].endswith("this value is the right derivative")
        assert x.loc[("trap-relu-odd", dtype), "verdict"] == "agree"
    assert x.loc[("trap-relu-odd", "float64"), "value"] == pytest.approx(1.1, rel=1e-15)


def test_the_softmax_jacobian_at_spread_logits_agrees():
    """problems/operators/softmax_jacobian.yaml: softmax written in autograd.numpy (max-shifted,
    over a log of sums), its Jacobian by reverse mode, s₀(1 − s₀) = 1.2800100e-13 at (30, 0, −1)
    to 1e-15, where torch.softmax's backward loses 3 digits of it (a disagree row)."""
    frame = diffcompare.run(
        problem_file("operators") / "softmax_jacobian.yaml", backends=["autograd"], dtypes=["float64"]
    )
    assert (frame["verdict"] == "agree").all()
    s = [mpmath.exp(v) / sum(mpmath.exp(w) for w in (30, 0, -1)) for v in (30, 0, -1)]
    got = frame.set_index("index").loc["0,0", "value"]
    assert got == pytest.approx(float(s[0] * (1 - s[0])), rel=1e-15)


def test_every_construct_through_the_gradient():
    """Every primitive and construct (tests/construct_cases.py) in both dtypes: agree, but cbrt
    (no VJP: skipped) and prod at a zero element (NaN), to 1e-13 in float64."""
    from construct_cases import CASES, through

    frame = through(["autograd"])
    assert set(frame["problem"]) == set(CASES) and set(frame["dtype"]) == {"float32", "float64"}
    skipped = frame[frame["verdict"] == "skipped"]
    assert set(skipped["problem"]) == {"cbrt"} and skipped["message"].str.contains("has no VJP").all()
    wrong = frame[~frame["verdict"].isin(["agree", "skipped"])]
    assert set(zip(wrong["problem"], wrong["index"])) == {("prod-with-a-zero", "0")}
    assert frame.loc[(frame["dtype"] == "float64") & (frame["verdict"] == "agree"), "rel_error"].max() < 1e-13


@pytest.mark.slow
def test_forward_mode_lacks_the_special_functions_rules():
    """The JVP of every primitive's case along 0.5 in each variable, float64: autograd's make_jvp
    has no rule for expit, erf, erfc, gammaln, psi, gamma or hypot (skipped with its reason), where its
    reverse-over-reverse JVP agrees; every other forward row agrees."""
    from construct_cases import PRIMITIVE_CASES

    frames = []
    for name, c in PRIMITIVE_CASES.items():
        wrt = c.wrt or list(c.point)
        direction = {k: f"d_{k}" for k in wrt}
        point = {**c.point, **{f"d_{k}": (np.zeros(np.shape(c.point[k])) + 0.5).tolist() for k in wrt}}
        frames.append(
            diffcompare.compare(
                c.function, point, backends=["autograd"], name=name, wrt=wrt, operator="jvp", direction=direction
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    forward = frame[(frame["mode"] == "forward") & (frame["dtype"] == "float64")]
    skipped = forward[forward["verdict"] == "skipped"]
    names = {"sigmoid": "expit", "erf": "erf", "erfc": "erfc", "lgamma": "gammaln", "digamma": "psi", "gamma": "gamma"}
    names["hypot"] = "hypot"
    assert set(skipped["problem"]) == set(names) | {"cbrt"}
    for problem, function in names.items():
        message = skipped.loc[skipped["problem"] == problem, "message"].iloc[0]
        assert message.startswith(f"autograd cannot differentiate this: JVP of {function} wrt argnums"), message
    wrong = forward[~forward["verdict"].isin(["agree", "skipped"])]
    assert wrong.empty, wrong[["problem", "verdict", "message"]]
    reverse = frame[(frame["mode"] == "reverse-over-reverse") & frame["problem"].isin(list(names))]
    assert (reverse["verdict"] == "agree").all(), reverse[["problem", "dtype", "message"]]
