"""The expression language: what it accepts, and each construct it refuses, by name."""

import re

import pytest

from diffcompare.lang.ir import Node, ShapeError, infer_shapes
from diffcompare.lang.limits import DEFAULTS
from diffcompare.lang.parser import ExpressionError, parse_expression

MAX_EXPRESSION_LENGTH, MAX_EXPRESSION_DEPTH = DEFAULTS["length"], DEFAULTS["depth"]


def scope(*names):
    return {n: Node("var", attr=n, text=n) for n in names}


def parse(text, *names):
    return parse_expression(text, scope(*(names or ("x", "y", "A"))))


@pytest.mark.parametrize(
    "text, message",
    [
        ("x.real", "attribute access is not allowed: 'x.real'"),
        ("x.__class__", "attribute access is not allowed"),
        ("__import__('os').system('true')", "attribute access is not allowed"),
        ("__import__('os')", "unknown function '__import__'"),
        ("open('f')", "unknown function 'open'"),
        ("eval('1')", "unknown function 'eval'"),
        ("lambda: 1", "lambda is not allowed"),
        ("[v for v in x]", "comprehension is not allowed"),
        ("{v: 1 for v in x}", "comprehension is not allowed"),
        ("sum(v for v in x)", "comprehension is not allowed"),
        ("'abc'", "string literal is not allowed"),
        ("b'abc'", "string literal is not allowed"),
        ("f'{x}'", "f-string is not allowed"),
        ("(z := x)", "walrus (:=) is not allowed"),
        ("x if y else 1", "conditional expression is not allowed: 'x if y else 1': write 'where(y != 0, x, 1)'"),
        ("x and y", "and/or is not allowed"),
        ("[]", "an empty list [] is not an array"),
        ("(x, y)", "tuple is not allowed"),
        ("{'a': 1}", "dict literal is not allowed"),
        ("foo(x)", "unknown function 'foo'"),
        ("z + 1", "unknown name 'z'"),
        ("sin", "function 'sin' must be called"),
        ("x > 0", "comparison 'x > 0' is only allowed as the condition of where(...)"),
        ("where(0 < x < 1, x, y)", "chained comparison"),
        ("where(x, x, y)", "needs a comparison as cond"),
        ("where(x is y, x, y)", "comparison 'x is y' is not allowed"),
        ("x // 2", "operator '//' is not allowed"),
        ("x >> 2", "operator '>>' is not allowed"),
        ("~x", "operator '~' is not allowed"),
        ("not x", "operator 'not' is not allowed"),
        ("x[y]", "an index must be an integer constant or a slice, not 'y'"),
        ("x[0.5]", "an index must be an integer constant"),
        ("x[::-1]", "slice step must be positive"),
        ("sin(x, y)", "sin(...) takes 1 argument(s), got 2"),
        ("clamp(x)", "clamp(...) takes 3 argument(s), got 1"),
        ("sin(x=1)", "sin(...) takes no keyword arguments"),
        ("sin(*x)", "starred arguments are not allowed"),
        ("x.sin()", "attribute access is not allowed"),
        ("(lambda: x)()", "lambda is not allowed"),
        ("True + x", "constant True is not allowed"),
        ("None", "constant None is not allowed"),
        ("1j * x", "constant 1j is not allowed"),
        ("1e999 * x", "is not finite"),
        ("123456789012345678901234567890 * x", "too large"),
        ("x +", "syntax error"),
        ("", "expression is empty"),
        ("x" * (MAX_EXPRESSION_LENGTH + 1), "characters long; the limit is"),
        ("sin(" * (MAX_EXPRESSION_DEPTH + 5) + "x" + ")" * (MAX_EXPRESSION_DEPTH + 5), "nested deeper than the limit"),
        ("-" * (MAX_EXPRESSION_DEPTH + 5) + "x", "nested deeper than the limit"),
        ("sin(" * 1500 + "x" + ")" * 1500, "nested"),
    ],
)
def test_refusals_name_the_construct(text, message):
    assert message in refusal(text)


def refusal(text):
    """The one-line message that refuses text."""
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_accepts_the_whole_language():
    text = (
        "sin(x) + cos(x) + tan(x) + asin(y) + acos(y) + atan(x) + sinh(x) + cosh(x) + tanh(x) + exp(x)"
        " + expm1(x) + log(x) + log1p(x) + log2(x) + log10(x) + sqrt(x) + abs(x) + sigmoid(x) + relu(x)"
        " + softplus(x) + erf(x) + min(x, y) + max(x, y) + clamp(x, 0, 1) + where(x >= y, x, -y)"
        " + sum(A) + mean(A) + prod(A) + dot(A[0], A[1]) + norm(A) + logsumexp(A) + sum(A @ A[0])"
        " + A[1, 0] + sum(A[:, 1:]) + x ** 2 / y - pi * e"
    )
    node = parse(text)
    infer_shapes(node, {"x": (), "y": (), "A": (2, 2)})
    assert node.shape == ()


def test_let_names_are_shared_nodes():
    s = scope("x")
    s["a"] = parse_expression("x * 2", s)
    node = parse_expression("a + a", s)
    assert node.args[0] is node.args[1]


def test_negative_literal_is_one_number():
    node = parse("-2")
    assert node.op == "const" and node.attr == -2


def test_exponent_tower_is_refused_not_computed():
    node = parse("9**9**9**9 * x")
    with pytest.raises(ShapeError, match="not a finite number"):
        infer_shapes(node, {"x": (), "y": (), "A": (2,)})


@pytest.mark.parametrize(
    "text, shapes, message",
    [
        ("x + y", {"x": (3,), "y": (2,)}, "do not fit in 'x + y'"),
        ("x @ y", {"x": (3,), "y": (2,)}, "inner dimensions"),
        ("x @ y", {"x": (), "y": (2,)}, "@ needs arrays"),
        ("dot(x, y)", {"x": (2, 2), "y": (2, 2)}, "dot takes two vectors"),
        ("x[5]", {"x": (3,), "y": ()}, "do not fit"),
        ("x[0, 0]", {"x": (3,), "y": ()}, "do not fit"),
    ],
)
def test_shapes_are_checked_when_parsed(text, shapes, message):
    node = parse(text, "x", "y")
    with pytest.raises(ShapeError, match=re.escape(message)):
        infer_shapes(node, shapes)


# Each refusal says what to write instead: the whole message, as a newcomer reads it.
@pytest.mark.parametrize(
    "text, message",
    [
        ("x ^ 2", "operator '^' is not allowed: use '**' for powers (x ** 2); '^' is bitwise xor in Python"),
        ("x & (y > 0)", "operator '&' is not allowed: for 'c1 and c2' nest where(...): where(c1, where(c2, a, b), b)"),
        ("x | y", "operator '|' is not allowed: for 'c1 or c2' nest where(...): where(c1, a, where(c2, a, b))"),
        ("x << 3", "operator '<<' is not allowed: bit shifts are not supported; write x * 2 ** 3"),
        ("sigmod(x)", "unknown function 'sigmod': did you mean 'sigmoid'"),
        ("Sin(x)", "unknown function 'Sin': did you mean 'sin'?"),
        (
            "frobnicate(x)",
            "unknown function 'frobnicate': the functions are listed in README.md, section 'The expression language'",
        ),
        ("ln(x)", "unknown function 'ln': write 'log(x)'"),
        ("clip(x, 0, 1)", "unknown function 'clip': write 'clamp(x, 0, 1)'"),
        ("pow(x + 1, 3)", "unknown function 'pow': write '(x + 1) ** 3' for powers"),
        ("x(y + 1)", "'x' is a variable, not a function: for a product write 'x * (y + 1)'"),
        ("pi(2)", "'pi' is the constant pi, not a function: for a product write 'pi * (2)'"),
        (
            "np.sin(x)",
            "attribute access is not allowed: 'np.sin': write 'sin(x)': functions are called by their bare names "
            "(no 'np.' prefix)",
        ),
        ("math.exp(x)", "write 'exp(x)': functions are called by their bare names (no 'math.' prefix)"),
        ("torch.tanh(x)", "write 'tanh(x)': functions are called by their bare names (no 'torch.' prefix)"),
        ("jnp.sin(x)", "write 'sin(x)': functions are called by their bare names (no 'jnp.' prefix)"),
        ("np.maximum(x, y)", "write 'max(x, y)'"),
        ("np.linalg.norm(x)", "write 'norm(x)': functions are called by their bare names (no 'np.linalg.' prefix)"),
        ("x.sum()", "write 'sum(x)': functions are called by their bare names (not as methods)"),
        ("math.pi * x", "write 'pi': constants are written by their bare names (no 'math.' prefix)"),
        ("np.foo(x)", "functions are called by their bare names, and 'foo' is not one"),
        ("x.mT", "attribute access is not allowed: 'x.mT': write 'transpose(x)'"),
        ("x.real", "attribute access is not allowed: 'x.real': the language has no attributes or methods"),
        ("z + 1", "unknown name 'z'"),
        ("xx + 1", "unknown name 'xx': did you mean 'x'?"),
        ("PI * x", "unknown name 'PI': did you mean 'pi'?"),
        ("sin + x", "function 'sin' must be called, as sin(x)"),
        ("[v ** 2 for v in x]", "operations on arrays are elementwise: write 'x ** 2' in its place"),
        ("sum(2 * v for v in x)", "write '2 * x' in its place"),
        ("lambda: x", "lambda is not allowed: 'lambda: x': write the expression itself"),
        ("'x'", "string literal is not allowed: ''x'': an expression is not text; remove the quotes"),
        ("(z := x)", "walrus (:=) is not allowed: '(z := x)': name the step in `let:` instead"),
        ("x if y > 0 else 1", "write 'where(y > 0, x, 1)'"),
        ("x and y", "and/or is not allowed: 'x and y': for 'c1 and c2' nest where(...)"),
        ("[*x]", "starred elements are not allowed in a list: '[*x]': write each element"),
        ("reshape(x, (y, 2))", "reshape: the shape must be integer constants, as (2, 3) or 4; got '(y, 2)'"),
        ("roll(x, y)", "roll: shift must be an integer constant, not 'y' (computed values are not supported)"),
        ("stack(x, x, dim=1)", "stack(...) takes no keyword 'dim' here: write axis= (NumPy's and jax's name"),
        ("reshape(x)", "reshape(...) needs its shape: write reshape(A, (2, 3))"),
        ("True * x", "constant True is not allowed: write 1"),
        ("1j * x", "constant 1j is not allowed: complex numbers are not supported"),
        ("x > 0", "only allowed as the condition of where(...): write where(x > 0, 1, 0) for a 0/1 step"),
        ("where(0 < x < 1, x, y)", "nest where(...) instead: where(0 < x, where(x < 1, a, b), b)"),
        ("where(x, x, y)", "for 'x is not zero' write where(x != 0, a, b)"),
        ("x[y]", "not 'y', a differentiated variable: an index array is data: list wrt without 'y'"),
        ("x[0.5]", "not '0.5': write an integer, as x[0]"),
        ("min()", "min(...) takes 2 argument(s), got 0: write min(x) or min(a, b, …)"),
        ("sum(x, 0)", "write sum(x) (a reduction of every element; along an axis write sum(x, axis=1))"),
        (
            "sum(x, dim=0)",
            "takes no keyword 'dim': write axis= (NumPy's and jax's name for torch's dim), as sum(x, axis=0)",
        ),
        ("sum(x, keepdims=1)", "sum(...) takes no keyword 'keepdims': the one keyword is axis=, as sum(x, axis=0)"),
        (
            "sum(x, axis=x)",
            "axis must be an integer constant or a tuple of them, as axis=1, axis=-1 or axis=(0, 1); got 'x'",
        ),
        ("sin(x)(y)", "a call of a computed function is not allowed: 'sin(x)'"),
        ("(x + 1)(y)", "for a product write '(x + 1) * (y)'"),
        ("2x", "invalid decimal literal; write '2 * x' for a product"),
        ("x²", "write x ** 2 for powers"),
        ("x − 1", "write the ASCII operators - * /"),
        ("|x|", "write abs(x) for |x|"),
        ("f = x ** 2", "write only the expression, without 'name ='"),
        ("2 x", "write '*' between the factors of a product"),
    ],
)
def test_refusals_say_what_to_write_instead(text, message):
    assert message in refusal(text)


def test_an_unknown_function_with_nothing_close_is_not_answered_with_the_whole_list():
    assert "sigmoid" not in refusal("frobnicate(x)") and len(refusal("frobnicate(x)")) < 120


def test_a_new_primitive_is_suggested_without_a_change_to_the_parser(monkeypatch):
    from diffcompare.lang.primitives import FUNCTIONS

    for name in ("floor", "transpose"):  # as if the language had neither (yet)
        monkeypatch.delitem(FUNCTIONS, name, raising=False)
    for text in ("x // 2", "x.mT", "np.floor(x)"):
        assert "floor(" not in refusal(text) and "transpose(" not in refusal(text)
    monkeypatch.setitem(FUNCTIONS, "floor", 1)
    monkeypatch.setitem(FUNCTIONS, "transpose", 1)
    monkeypatch.setitem(FUNCTIONS, "sigmoid2", 1)
    for text, message in [
        ("x // 2", "operator '//' is not allowed: write floor(x / 2)"),
        ("(x + 1) // y", "write floor((x + 1) / y)"),
        ("x.mT", "write 'transpose(x)'"),
        ("np.floor(x)", "write 'floor(x)'"),
        ("sigmod2(x)", "did you mean 'sigmoid2'"),
    ]:
        assert message in refusal(text)
