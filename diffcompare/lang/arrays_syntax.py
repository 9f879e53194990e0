"""The syntax of array building (lang.primitives.arrays), for the parser: list literals
[a, b, c] (nested for matrices) as stack, A.T as transpose, and the calls stack(…, axis=),
concatenate(…, axis=), transpose(A), reshape(A, (2, 3)), roll(x, k, axis=), cumsum(x, axis=), tril(A, k),
triu(A, k), diag(v), outer(a, b), arange(a, b), zeros((n, m)), ones(n). Their parameters are
constants as written, read from the `ast` (nothing is evaluated); shapes are checked by the
IR's inference. `convert` turns an operand into IR, `fail` makes the parser's error.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from diffcompare.lang.ir import Node

SIGNATURES = {
    "stack": "stack(a, b, …, axis=0)",
    "concatenate": "concatenate(a, b, …, axis=0)",
    "transpose": "transpose(A)",
    "reshape": "reshape(A, (2, 3))",
    "roll": "roll(x, k) or roll(x, k, axis=0)",
    "cumsum": "cumsum(x) or cumsum(A, axis=1)",
    "tril": "tril(A) or tril(A, k)",
    "triu": "triu(A) or triu(A, k)",
    "diag": "diag(v)",
    "outer": "outer(a, b)",
    "arange": "arange(a, b) or arange(n)",
    "zeros": "zeros((n, m))",
    "ones": "ones((n, m))",
    "softmax": "softmax(x) or softmax(x, axis=0)",
    "log_softmax": "log_softmax(x) or log_softmax(x, axis=0)",
}
# name -> (operands: (least, most or None), keywords allowed, parameters written positionally after them)
_FORMS = {
    "stack": ((1, None), ("axis",), ()),
    "concatenate": ((1, None), ("axis",), ()),
    "transpose": ((1, 1), (), ()),
    "reshape": ((1, 1), (), ("shape",)),
    "roll": ((1, 1), ("shift", "axis"), ("shift",)),
    "cumsum": ((1, 1), ("axis",), ()),
    "tril": ((1, 1), ("k",), ("k",)),
    "triu": ((1, 1), ("k",), ("k",)),
    "diag": ((1, 1), (), ()),
    "outer": ((2, 2), (), ()),
    "arange": ((0, 0), (), ("start", "stop")),
    "zeros": ((0, 0), (), ("shape",)),
    "ones": ((0, 0), (), ("shape",)),
    "softmax": ((1, 1), ("axis",), ()),
    "log_softmax": ((1, 1), ("axis",), ()),
}
_REQUIRED = {"reshape": ("shape",), "roll": ("shift",), "zeros": ("shape",), "ones": ("shape",), "arange": ("stop",)}


def integer_constant(node: ast.AST) -> int | None:
    """An integer constant (3, -1) as written; None for anything else."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1, node.operand
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return sign * node.value
    return None


def _number(node: ast.AST) -> float | int | None:
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1, node.operand
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return sign * node.value
    return None


def _parameter(name: str, key: str, node: ast.AST, fail: Callable[[str], Exception]):
    written = ast.unparse(node)
    if key == "shape":
        items = node.elts if isinstance(node, ast.Tuple) else [node]
        sizes = tuple(integer_constant(i) for i in items)
        if not items or any(s is None for s in sizes):
            raise fail(f"{name}: the shape must be integer constants, as (2, 3) or 4; got '{written}'")
        return sizes
    value = _number(node) if key in ("start", "stop") else integer_constant(node)
    if value is None:
        kind = "a number" if key in ("start", "stop") else "an integer"
        raise fail(f"{name}: {key} must be {kind} constant, not '{written}' (computed values are not supported)")
    return value


def array_call(name: str, call: ast.Call, text: str, convert: Callable, fail: Callable[[str], Exception]) -> Node:
    """The IR of a call of an array-building function; fail(message) for what it refuses."""
    (least, most), keywords, positional = _FORMS[name]
    if any(isinstance(a, ast.Starred) for a in call.args):
        raise fail(f"starred arguments are not allowed in {name}(...): write {SIGNATURES[name]}")
    operands = call.args if most is None else call.args[:most]
    extra = [] if most is None else call.args[most:]
    if len(operands) < least or len(extra) > len(positional):
        raise fail(f"{name}(...) got {len(call.args)} argument(s): write {SIGNATURES[name]}")
    params = {}
    for key, node in zip(positional, extra):
        params[key] = _parameter(name, key, node, fail)
    for k in call.keywords:
        if k.arg not in keywords or k.arg in params:
            shown = f"'{k.arg}'" if k.arg else "**"
            advice = "write axis= (NumPy's and jax's name for torch's dim)" if k.arg == "dim" else ""
            raise fail(f"{name}(...) takes no keyword {shown} here: {advice or 'write ' + SIGNATURES[name]}")
        if name == "roll" and k.arg == "axis" and _is_none(k.value):
            params["axis"] = None  # every element in order, as np.roll without axis
        else:
            params[k.arg] = _parameter(name, k.arg, k.value, fail)
    if name == "arange" and "start" in params and "stop" not in params:
        params = {"start": 0, "stop": params["start"]}
    missing = [key for key in _REQUIRED.get(name, ()) if key not in params]
    if missing:
        raise fail(f"{name}(...) needs its {missing[0]}: write {SIGNATURES[name]}")
    return Node(name, tuple(convert(a) for a in operands), attr=params, text=text)


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def list_literal(node: ast.List, text: str, convert: Callable, fail: Callable[[str], Exception]) -> Node:
    """[a, b, c] is stack(a, b, c): an array of scalars or of equal-shape arrays."""
    if not node.elts:
        raise fail("an empty list [] is not an array: write the elements, as [a, b]")
    if any(isinstance(e, ast.Starred) for e in node.elts):
        raise fail(f"starred elements are not allowed in a list: '{text}': write each element")
    return Node("stack", tuple(convert(e) for e in node.elts), attr={"axis": 0}, text=text)
