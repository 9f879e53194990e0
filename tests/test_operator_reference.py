"""The exact side of every operator: each entry's reference against numbers derived by hand
here (never through diffcompare), kinks and undefined entries, and the problem-file checks
of operator:, direction: and cotangent:."""

from __future__ import annotations

import math

import numpy as np
import pytest

from diffcompare.backends import BaseBackend, Gradient
from diffcompare.running.cells import problem_blocks
from diffcompare.running.columns import blocks_to_frame
from diffcompare.spec.operators import OPERATORS, results
from diffcompare.spec.problem import ProblemError, build_problems


def problem_of(document: dict):
    problems, errors = build_problems(document, "test.yaml", document.get("name", "p"))
    if errors:
        raise errors[0]
    return problems[0]


class Given(BaseBackend):
    """Returns the values it is given (by result name), so that each row shows its reference."""

    name = "given_values"

    def __init__(self, values: dict):
        self.values = values

    def modes(self, problem):
        return ("test",)

    def compute(self, problem, dtype, mode):
        return Gradient({r.name: np.asarray(self.values[r.name], dtype=np.float64) for r in results(problem).values()})


def rows(document: dict, values: dict):
    problem = problem_of(document)
    return blocks_to_frame(problem_blocks(problem, {"given_values": Given(values)}, ("float64",)))


X0, X1 = 1.0, 2.0
JACOBIAN = np.array([[X1, X0], [math.cos(X0), 0.0]])  # of [x0*x1, sin(x0)]
HESSIAN = np.array([[2 * X1, 2 * X0], [2 * X0, math.exp(X1)]])  # of x0**2*x1 + exp(x1)
V = np.array([1.0, -1.0])


@pytest.mark.parametrize(
    "document, values",
    [
        ({"function": "[x[0] * x[1], sin(x[0])]", "point": {"x": [X0, X1]}, "operator": "jacobian"}, {"x": JACOBIAN}),
        (
            {"function": "[x[0] * x[1], sin(x[0])]", "point": {"x": [X0, X1], "v": list(V)}, "operator": "jvp"},
            {"x": JACOBIAN @ V},
        ),
        (
            {"function": "[x[0] * x[1], sin(x[0])]", "point": {"x": [X0, X1], "u": list(V)}, "operator": "vjp"},
            {"x": V @ JACOBIAN},
        ),
        ({"function": "x[0]**2 * x[1] + exp(x[1])", "point": {"x": [X0, X1]}, "operator": "hessian"}, {"x": HESSIAN}),
        (
            {"function": "x[0]**2 * x[1] + exp(x[1])", "point": {"x": [X0, X1], "v": list(V)}, "operator": "hvp"},
            {"x": HESSIAN @ V},
        ),
        (
            {"function": "x**2 * y + exp(y)", "point": {"x": X0, "y": X1}, "operator": "hessian"},
            {"x": HESSIAN[0, 0], "x,y": HESSIAN[0, 1], "y,x": HESSIAN[1, 0], "y": HESSIAN[1, 1]},
        ),
        (
            {"function": "sin(x) * x", "point": {"x": 0.75}, "operator": "second_derivative"},
            {"x": 2 * math.cos(0.75) - 0.75 * math.sin(0.75)},
        ),
        (  # a matrix input: the Jacobian of A @ x in A is e_i ⊗ x, shape (2, 2, 2)
            {"function": "A @ x", "point": {"A": [[1.0, 2.0], [3.0, 4.0]], "x": [0.5, -1.0]}, "operator": "jacobian"},
            {
                "A": np.einsum("ik,j->ikj", np.eye(2), [0.5, -1.0]),
                "x": np.array([[1.0, 2.0], [3.0, 4.0]]),
            },
        ),
    ],
    ids=["jacobian", "jvp", "vjp", "hessian", "hvp", "hessian-blocks", "second-derivative", "jacobian-matrix"],
)
def test_every_entry_has_its_exact_reference(document, values):
    document.setdefault("direction", "v") if document["operator"] in ("jvp", "hvp") else None
    document.setdefault("cotangent", "u") if document["operator"] == "vjp" else None
    frame = rows(document, values)
    problem = problem_of(document)
    assert list(frame["variable"].unique()) == list(results(problem))
    assert set(frame["operator"]) == {document["operator"]}
    for name, expected in values.items():
        got = frame[frame["variable"] == name]
        expected = np.ravel(expected)
        assert len(got) == expected.size
        np.testing.assert_allclose(got["reference"].to_numpy(), expected, rtol=1e-15, atol=1e-300)
        assert set(got["verdict"]) == {"agree"}, got[["index", "verdict", "message"]]


def test_a_wrong_entry_disagrees_and_says_what_it_is():
    document = {"function": "[x[0] * x[1], sin(x[0])]", "point": {"x": [X0, X1]}, "operator": "jacobian"}
    wrong = JACOBIAN.copy()
    wrong[1, 0] = 0.0
    frame = rows(document, {"x": wrong})
    bad = frame[frame["verdict"] == "disagree"]
    assert list(bad["index"]) == ["1,0"]
    assert bad["message"].iloc[0].startswith("the value is 0, but the true value is 0.5403")


def test_a_jacobian_entry_at_a_kink_of_its_row_is_a_kink_with_that_rows_sides():
    document = {"function": "[abs(x[0]), x[0] * x[1]]", "point": {"x": [0.0, 2.0]}, "operator": "jacobian"}
    frame = rows(document, {"x": np.array([[1.0, 0.0], [2.0, 0.0]])}).set_index("index")
    assert frame.loc["0,0", "verdict"] == "kink"
    assert "left derivative -1, right derivative 1" in frame.loc["0,0", "message"]
    assert "the right derivative" in frame.loc["0,0", "message"]
    assert (frame.drop(index="0,0")["verdict"] == "agree").all()


def test_a_jvp_along_a_direction_through_a_kink_is_a_kink_with_the_directional_derivatives():
    # d/dt relu(x1 - t) at 0: -1 from the left (t < 0), 0 from the right.
    document = {
        "function": "[x[0] ** 2, relu(x[1])]",
        "point": {"x": [3.0, 0.0], "v": [1.0, -1.0]},
        "operator": "jvp",
        "direction": "v",
    }
    frame = rows(document, {"x": np.array([6.0, 0.0])}).set_index("index")
    assert frame.loc["0", "verdict"] == "agree"
    assert frame.loc["1", "verdict"] == "kink"
    assert "left derivative -1, right derivative 0" in frame.loc["1", "message"]


def test_second_derivatives_at_a_kink_of_the_gradient_are_not_guessed():
    # relu(x)**2 is differentiable at 0 (f' = 2 relu(x)), but f'' has no value there: unsettled, with why.
    frame = rows({"function": "relu(x) ** 2", "point": {"x": 0.0}, "operator": "second_derivative"}, {"x": 1.0})
    assert list(frame["verdict"]) == ["unsettled"]
    assert "'relu(x)' is at 0" in frame["message"].iloc[0]
    # away from the kink, the second derivative is judged: 2 at x = 1.5
    frame = rows({"function": "relu(x) ** 2", "point": {"x": 1.5}, "operator": "second_derivative"}, {"x": 2.0})
    assert list(frame["verdict"]) == ["agree"]


def test_a_hessian_row_whose_first_derivative_has_no_value_is_undefined():
    # ∂f/∂x = sign(x)·y is a kink at x = 0: ∂²f/∂x∂y does not exist; ∂²f/∂y² = 0 is judged.
    document = {"function": "abs(x) * y", "point": {"x": 0.0, "y": 2.0}, "operator": "hessian"}
    frame = rows(document, {"x": 0.0, "x,y": 0.0, "y,x": 0.0, "y": 0.0}).set_index("variable")
    assert frame.loc["x", "verdict"] == "undefined"
    assert frame.loc["x,y", "verdict"] == "undefined"
    assert frame.loc["y", "verdict"] == "agree"
    assert "∂f/∂x is not an ordinary number" in frame.loc["x,y", "message"]


def test_a_hessian_past_sympys_reach_says_there_is_no_reference():
    document = {"function": "sum(x ** 3)", "point": {"x": {"shape": [300], "fill": 0.5}}, "operator": "hessian"}
    problem = problem_of(document)
    (result,) = results(problem).values()
    assert result.shape == (300, 300)
    frame = rows(document, {"x": np.zeros((300, 300))})
    assert set(frame["verdict"]) == {"unsettled"}
    assert frame["message"].iloc[0].startswith("no exact reference for the Hessian: 300 point elements")


@pytest.mark.parametrize(
    "document, key, words",
    [
        ({"function": "[x, x]", "point": {"x": 1.0}}, "function", "must be a scalar, it has shape (2,)"),
        ({"function": "[x, x]", "point": {"x": 1.0}, "operator": "hessian"}, "function", "for operator hessian"),
        ({"function": "x", "point": {"x": 1.0}, "operator": "jvp"}, "direction", "needs `direction:`"),
        ({"function": "x", "point": {"x": 1.0, "v": 1.0}, "direction": "v"}, "direction", "takes no direction"),
        ({"function": "x", "point": {"x": 1.0}, "operator": "jvp", "direction": "w"}, "direction", "'w' is not"),
        (
            {"function": "sum(x)", "point": {"x": [1.0, 2.0], "v": 1.0}, "operator": "hvp", "direction": "v"},
            "direction",
            "'v' has shape ()",
        ),
        (
            {"function": "[x, x]", "point": {"x": 1.0, "u": [1.0]}, "operator": "vjp", "cotangent": "u"},
            "cotangent",
            "the function's value has (2,)",
        ),
        (
            {"function": "x", "point": {"x": 1.0, "v": 1.0}, "operator": "jvp", "direction": "v", "wrt": ["x", "v"]},
            "direction",
            "is differentiated",
        ),
        ({"function": "sum(x)", "point": {"x": [1.0, 2.0]}, "operator": "second_derivative"}, "wrt", "one scalar"),
        (
            {"function": "x * y", "point": {"x": 1.0, "y": 2.0}, "operator": "hessian", "expected": {"x,z": 1.0}},
            "expected.x,z",
            "names no result of this problem's operator (x, x,y, y,x, y)",
        ),
        ({"function": "x", "point": {"x": 1.0}, "operator": "hess"}, "operator", "Input should be 'gradient'"),
    ],
)
def test_bad_operator_input_is_one_line_naming_the_key(document, key, words):
    with pytest.raises(ProblemError) as caught:
        problem_of(document)
    assert caught.value.key == key
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


def test_direction_and_cotangent_are_held_constant_and_wrt_leaves_them_out():
    problem = problem_of(
        {
            "function": "x * y",
            "point": {"x": 1.0, "y": 2.0, "v": 1.0, "w": 0.5},
            "operator": "jvp",
            "direction": {"x": "v", "y": "w"},
        }
    )
    assert problem.wrt == ["x", "y"]
    assert problem.direction == {"x": "v", "y": "w"}
    assert list(results(problem)) == ["x,y"]  # one J·v, summed over both variables' directions
    frame = rows(
        {
            "function": "x * y",
            "point": {"x": 1.0, "y": 2.0, "v": 1.0, "w": 0.5},
            "operator": "jvp",
            "direction": {"x": "v", "y": "w"},
        },
        {"x,y": 2.0 * 1.0 + 1.0 * 0.5},
    )
    assert list(frame["verdict"]) == ["agree"]


def test_every_operator_is_documented_in_the_schema_and_the_readme():
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    schema = (Path(__file__).parent.parent / "problem.schema.json").read_text()
    for name in OPERATORS:
        assert f"`{name}`" in readme, name
        assert name in schema, name


def test_messages_name_the_row_and_the_direction_not_the_derived_problem():
    # f[0] = abs(x0) has its kink along v; f[1] = x0 * x1 has none, and its messages name no kink.
    document = {
        "function": "[abs(x[0]), x[0] * x[1], 2.0]",
        "point": {"x": [0.0, 3.0], "v": [1.0, 1.0]},
        "operator": "jvp",
        "direction": "v",
    }
    frame = rows(document, {"x": np.array([1.0, 3.0, 0.0])}).set_index("index")
    assert frame.loc["0", "verdict"] == "kink"
    assert frame.loc["1", "verdict"] == "agree" and frame.loc["1", "message"] == ""
    assert frame.loc["2", "verdict"] == "agree"  # a constant entry: J·v is 0
    jacobian = {"function": "[sqrt(x[0]), x[1]]", "point": {"x": [0.0, 1.0]}, "operator": "jacobian"}
    frame = rows(jacobian, {"x": np.array([[0.0, 0.0], [0.0, 1.0]])}).set_index("index")
    assert frame.loc["0,0", "verdict"] == "undefined"
    assert frame.loc["0,0", "message"].startswith("f[0] is not differentiable in x[0] here")
