"""diffcompare.lang.structure.structure_key: one key for what an expression computes, the key
the jax backend keeps its compiled programs under (diffcompare.backends.jax_operators). Two
functions with the same key must compute the same thing; two that compute differently must not
share it, or a kept program would give one problem another's values."""

import pytest

from diffcompare.lang.structure import structure_key
from diffcompare.spec.problem import build_problem


def key(function: str, let: dict | None = None, point: dict | None = None) -> str:
    document = {"function": function, "point": point or {"x": 0.5, "y": 2.0}}
    if let:
        document["let"] = let
    return structure_key(build_problem(document, "<t>", "t").function)


def test_same_computation_whatever_its_text():
    assert key("sin(x ** 2) * y") == key("sin(x**2)*y")
    assert key("sin(x ** 2) * y") == key("(sin((x ** 2)) * y)")


def test_let_names_and_inlining_do_not_count():
    assert key("sin(u) * y", {"u": "x ** 2"}) == key("sin(v) * y", {"v": "x ** 2"})
    assert key("sin(u) * y", {"u": "x ** 2"}) == key("sin(x ** 2) * y")
    assert key("w + y", {"u": "x * 2", "w": "exp(u)"}) == key("t + y", {"s": "x * 2", "t": "exp(s)"})


def test_the_same_point_values_do_not_count():
    """The point is the program's input, not part of it: a sweep over points shares one key."""
    assert key("sin(x ** 2)", point={"x": 0.5}) == key("sin(x ** 2)", point={"x": 3.0})


@pytest.mark.parametrize(
    "one, other",
    [
        ("x + 1", "x + 2"),  # constants
        ("x + 1", "x + 1.0"),  # an int constant is not a float one (x ** 2 is not x ** 2.0)
        ("x ** 2", "x ** 2.0"),
        ("x + 0.1", "x + 0.1000000000000001"),  # every bit of a float
        ("sin(x)", "cos(x)"),  # operations
        ("x * y", "x + y"),
        ("x - y", "y - x"),  # operand order
        ("x * y", "y * x"),  # even where the operation commutes: the program runs them in order
        ("sin(x) + y", "sin(y) + x"),  # which variable goes where
        ("sum(x)", "mean(x)"),
    ],
)
def test_different_computations_have_different_keys(one, other):
    point = {"x": [0.5, 1.5], "y": 2.0} if "sum" in one else None
    assert key(one, point=point) != key(other, point=point)


def test_variable_names_count():
    """Programs read their inputs by name: f(x) and the same f of y are kept apart."""
    assert key("sin(x)", point={"x": 0.5}) != key("sin(y)", point={"y": 0.5})


def test_shapes_count():
    assert key("sum(x ** 2)", point={"x": [1.0, 2.0]}) != key("sum(x ** 2)", point={"x": [1.0, 2.0, 3.0]})
    assert key("sum(x ** 2)", point={"x": [1.0, 2.0]}) != key("sum(x ** 2)", point={"x": [[1.0, 2.0]]})
    assert key("sum(x ** 2)", point={"x": 1.0}) != key("sum(x ** 2)", point={"x": [1.0]})


def test_constant_arrays_count_by_value_and_shape():
    base = key("sum(x * c)", {"c": "[1.0, 2.0]"}, point={"x": [0.5, 1.5]})
    assert base == key("sum(x * d)", {"d": "[1.0, 2.0]"}, point={"x": [0.5, 1.5]})
    assert base != key("sum(x * c)", {"c": "[1.0, 3.0]"}, point={"x": [0.5, 1.5]})


def test_dag_sharing_counts():
    """A step used twice (one node) is not the same program as the step written twice (two nodes)."""
    shared = key("s * s", {"s": "sin(x)"})
    assert shared != key("sin(x) * sin(x)")
    assert shared == key("t * t", {"t": "sin(x)"})
    assert key("sin(x) * sin(x)") == key("sin(x)*sin(x)")
