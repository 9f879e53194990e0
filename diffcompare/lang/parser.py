"""Problem expressions -> IR, through Python's `ast` and a whitelist.

Text from a problem file is untrusted: it is parsed, never evaluated. Every AST
node type is either translated below or refused with a message that names it.
"""

from __future__ import annotations

import ast
import math

from diffcompare.lang.ir import NAMED_CONSTANTS, Node, continues_chain
from diffcompare.lang.limits import LIMITS
from diffcompare.lang.primitives import FUNCTIONS


class ExpressionError(ValueError):
    """An expression the language refuses; the message names the construct."""


_BINARY = {
    ast.Add: "add",
    ast.Sub: "sub",
    ast.Mult: "mul",
    ast.Div: "div",
    ast.Pow: "pow",
    ast.MatMult: "matmul",
}
_COMPARE = {ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge", ast.Eq: "eq", ast.NotEq: "ne"}
_OPERATOR_TEXT = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.Invert: "~",
    ast.Not: "not",
}
_REFUSED = {
    ast.Attribute: "attribute access",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "comprehension",
    ast.JoinedStr: "f-string",
    ast.FormattedValue: "f-string",
    ast.NamedExpr: "walrus (:=)",
    ast.IfExp: "conditional expression (use where(cond, a, b))",
    ast.BoolOp: "and/or",
    ast.List: "list literal",
    ast.Tuple: "tuple",
    ast.Dict: "dict literal",
    ast.Set: "set literal",
    ast.Starred: "starred expression",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


def parse_expression(text: str, scope: dict[str, Node]) -> Node:
    """Parse one expression; names resolve in scope (variables, earlier lets)."""
    if not isinstance(text, str):
        raise ExpressionError(f"expected an expression as text, got {type(text).__name__}")
    if len(text) > LIMITS["length"]:
        raise ExpressionError(f"expression is {len(text)} characters long; the limit is {LIMITS['length']}")
    if not text.strip():
        raise ExpressionError("expression is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error at column {exc.offset}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"expression is nested deeper than the limit of {LIMITS['depth']}") from None
    _check_depth(tree.body)
    try:
        return _Converter(scope).convert(tree.body)
    except RecursionError:  # a chain of + or * longer than Python's own recursion allows
        raise ExpressionError(
            "expression is nested too deeply for Python to handle (a chain of hundreds of + or *?)"
        ) from None


def _continues_chain(parent: ast.AST, child: ast.AST) -> bool:
    """child is the left operand of parent, both of the same + - or * / chain (lang.ir)."""
    if not (isinstance(parent, ast.BinOp) and isinstance(child, ast.BinOp) and parent.left is child):
        return False
    return continues_chain(_BINARY.get(type(parent.op)), _BINARY.get(type(child.op)))


def _check_depth(root: ast.AST) -> None:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > LIMITS["depth"]:
            raise ExpressionError(f"expression is nested deeper than the limit of {LIMITS['depth']}")
        stack.extend(
            (child, depth + (0 if _continues_chain(node, child) else 1)) for child in ast.iter_child_nodes(node)
        )


class _Converter:
    def __init__(self, scope: dict[str, Node]):
        self.scope = scope

    def convert(self, node: ast.AST, *, condition: bool = False) -> Node:
        text = ast.unparse(node)
        if isinstance(node, ast.Constant):
            return self._number(node.value, text)
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node, text)
        if isinstance(node, ast.BinOp):
            op = _BINARY.get(type(node.op))
            if op is None:
                raise ExpressionError(f"operator '{_OPERATOR_TEXT.get(type(node.op), '?')}' is not allowed")
            return Node(op, (self.convert(node.left), self.convert(node.right)), text=text)
        if isinstance(node, ast.Call):
            return self._call(node, text)
        if isinstance(node, ast.Subscript):
            return Node("index", (self.convert(node.value),), attr=self._index(node.slice), text=text)
        if isinstance(node, ast.Compare):
            if not condition:
                raise ExpressionError(f"comparison '{text}' is only allowed as the condition of where(...)")
            if len(node.ops) != 1:
                raise ExpressionError(f"chained comparison '{text}' is not allowed; nest where(...) instead")
            op = _COMPARE.get(type(node.ops[0]))
            if op is None:
                raise ExpressionError(f"comparison '{text}' is not allowed (use < <= > >= == !=)")
            return Node(op, (self.convert(node.left), self.convert(node.comparators[0])), text=text)
        what = _REFUSED.get(type(node), type(node).__name__)
        raise ExpressionError(f"{what} is not allowed: '{text}'")

    def _number(self, value: object, text: str) -> Node:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "string literal" if isinstance(value, (str, bytes)) else f"constant {text}"
            raise ExpressionError(f"{kind} is not allowed: '{text}'")
        if isinstance(value, int) and abs(value) > 2**53:
            raise ExpressionError(f"integer {text} is too large (at most 2**53)")
        if isinstance(value, float) and not math.isfinite(value):
            raise ExpressionError(f"number {text} is not finite")
        return Node("const", attr=value, text=text)

    def _name(self, name: str) -> Node:
        if name in self.scope:
            return self.scope[name]
        if name in NAMED_CONSTANTS:
            return Node("const", attr=name, text=name)
        if name in FUNCTIONS:
            raise ExpressionError(f"function '{name}' must be called, as {name}(...)")
        raise ExpressionError(f"unknown name '{name}'")

    def _unary(self, node: ast.UnaryOp, text: str) -> Node:
        if isinstance(node.op, ast.UAdd):
            return self.convert(node.operand)
        if isinstance(node.op, ast.USub):
            operand = node.operand
            # A negative literal is one number, as Python's own tokenizer sees it.
            if isinstance(operand, ast.Constant) and type(operand.value) in (int, float):
                return self._number(-operand.value, text)
            return Node("neg", (self.convert(operand),), text=text)
        raise ExpressionError(f"operator '{_OPERATOR_TEXT.get(type(node.op), '?')}' is not allowed")

    def _call(self, node: ast.Call, text: str) -> Node:
        if not isinstance(node.func, ast.Name):
            what = _REFUSED.get(type(node.func), "a call of a computed function")
            raise ExpressionError(f"{what} is not allowed: '{ast.unparse(node.func)}'")
        name = node.func.id
        if name not in FUNCTIONS:
            raise ExpressionError(f"unknown function '{name}' (allowed: {', '.join(sorted(FUNCTIONS))})")
        if node.keywords:
            raise ExpressionError(f"{name}(...) takes no keyword arguments")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise ExpressionError(f"starred arguments are not allowed in {name}(...)")
        if len(node.args) != FUNCTIONS[name]:
            raise ExpressionError(f"{name}(...) takes {FUNCTIONS[name]} argument(s), got {len(node.args)}")
        if name == "where" and not isinstance(node.args[0], ast.Compare):
            raise ExpressionError("where(cond, a, b) needs a comparison as cond, such as x > 0")
        args = tuple(self.convert(a, condition=(name == "where" and i == 0)) for i, a in enumerate(node.args))
        return Node(name, args, text=text)

    def _index(self, node: ast.AST) -> tuple:
        parts = node.elts if isinstance(node, ast.Tuple) else [node]
        return tuple(self._index_part(p) for p in parts)

    def _index_part(self, node: ast.AST) -> int | slice:
        if isinstance(node, ast.Slice):
            bounds = [None if b is None else self._index_int(b) for b in (node.lower, node.upper, node.step)]
            if bounds[2] is not None and bounds[2] <= 0:
                raise ExpressionError(f"slice step must be positive: '{ast.unparse(node)}'")
            return slice(*bounds)
        return self._index_int(node)

    def _index_int(self, node: ast.AST) -> int:
        value = None
        if isinstance(node, ast.Constant):
            value = node.value
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            value = node.operand.value
            value = -value if type(value) is int else None
        if type(value) is not int:
            raise ExpressionError(f"an index must be an integer constant or a slice, not '{ast.unparse(node)}'")
        return value
