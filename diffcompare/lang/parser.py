"""Problem expressions -> IR, through Python's `ast` and a whitelist.

Text from a problem file is untrusted: it is parsed, never evaluated. Every AST
node type is either translated below or refused with a message that names it.
"""

from __future__ import annotations

import ast
import difflib
import math
import re
from collections.abc import Callable

from diffcompare.lang.arrays_syntax import SIGNATURES, array_call, list_literal
from diffcompare.lang.arrays_syntax import integer_constant as _axis_number
from diffcompare.lang.ir import NAMED_CONSTANTS, Node, continues_chain
from diffcompare.lang.limits import LIMITS
from diffcompare.lang.loops import (
    LOOP_REDUCTIONS,
    bare_loop_message,
    data_subscript,
    is_loop,
    loop_subscript,
    lower_loop,
    over_range,
)
from diffcompare.lang.primitives import FUNCTIONS, PRIMITIVES


class ExpressionError(ValueError):
    """An expression the language refuses; the message names the construct."""


_BINARY = {
    ast.Add: "add",
    ast.Sub: "sub",
    ast.Mult: "mul",
    ast.Div: "div",
    ast.Pow: "pow",
    ast.MatMult: "matmul",
    ast.Mod: "mod",
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
    ast.IfExp: "conditional expression",
    ast.BoolOp: "and/or",
    ast.Tuple: "tuple",
    ast.Dict: "dict literal",
    ast.Set: "set literal",
    ast.Starred: "starred expression",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}

# What to write instead, for what a newcomer (or a NumPy habit) writes. The functions the
# language has are read from FUNCTIONS when a message is made, so a new primitive is
# suggested, and an alias whose function is missing is never suggested.
LANGUAGE_LIST = "the functions are listed in README.md, section 'The expression language'"
_ALIASES = {  # a name from NumPy, math, torch or SciPy -> the language's name
    "ln": "log",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
    "arctan2": "atan2",
    "fabs": "abs",
    "absolute": "abs",
    "maximum": "max",
    "minimum": "min",
    "fmax": "max",
    "fmin": "min",
    "clip": "clamp",
    "expit": "sigmoid",
    "logistic": "sigmoid",
    "logaddexp": "logsumexp",
    "vdot": "dot",
    "inner": "dot",
    "average": "mean",
    "product": "prod",
    "fsum": "sum",
    "select": "where",
    "fmod": "mod",
    "remainder": "mod",
    "floor_divide": "floor",
    "signum": "sign",
    "sgn": "sign",
    "matmul": "@",
    "pow": "**",
    "power": "**",
    "square": "**",
    "T": "transpose",
}
# Where a library keeps its functions: a prefix such as 'np.' is dropped, not refused as a method.
_LIBRARY_PREFIXES = {
    "np",
    "numpy",
    "math",
    "cmath",
    "torch",
    "jnp",
    "jax",
    "sp",
    "sympy",
    "scipy",
    "special",
    "F",
    "tf",
}
_CONSTANT_ALIASES = {"PI": "pi", "Pi": "pi", "E": "e", "euler": "e"}


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _operand(node: ast.AST) -> str:
    """An operand as it must be written inside a product or a call argument."""
    text = ast.unparse(node)
    atomic = (ast.Name, ast.Constant, ast.Call, ast.Subscript, ast.Attribute)
    return text if isinstance(node, atomic) else f"({text})"


def _one_of(names: list[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def close_names(name: str, candidates) -> list[str]:
    """Names a mistyped name probably meant: the same but for case, else difflib's close matches."""
    candidates = sorted(set(candidates))
    same = [c for c in candidates if c.lower() == name.lower()]
    # x2 for x1 is a ratio of 0.5: short names take a lower cutoff.
    return same or difflib.get_close_matches(name, candidates, n=3, cutoff=0.5 if len(name) == 2 else 0.6)


_EXTREMES = ("max", "min")


def _operand_text(args: list[ast.AST]) -> str:
    return ", ".join(ast.unparse(a) for a in args)


def signature(name: str) -> str:
    """How a function is called: min(a, b), clamp(x, lo, hi), sin(x)."""
    known = {
        "min": "min(x) or min(a, b, …)",
        "max": "max(x) or max(a, b, …)",
        "clamp": "clamp(x, lo, hi)",
        "where": "where(cond, a, b)",
    }
    if name in known:
        return known[name]
    if name in SIGNATURES:
        return SIGNATURES[name]
    arity = FUNCTIONS.get(name, 1)
    return f"{name}({', '.join(('x',) if arity == 1 else ('a', 'b', 'c', 'd', 'e')[:arity])})"


def _alias_advice(name: str, args: list[ast.AST]) -> str | None:
    """'write log(x)' for ln(x), 'write x ** 2' for square(x); None where none applies."""
    target = _ALIASES.get(name)
    texts = [_operand(a) for a in args]
    if target == "**":
        if name == "square" and len(texts) == 1:
            return f"write '{texts[0]} ** 2' for powers"
        if len(texts) == 2:
            return f"write '{texts[0]} ** {texts[1]}' for powers"
        return "write a ** b for powers"
    if target == "@":
        return f"write '{texts[0]} @ {texts[1]}' for a matrix product" if len(texts) == 2 else "write a @ b"
    if target in FUNCTIONS:
        return f"write '{target}({', '.join(ast.unparse(a) for a in args)})'" if args else f"write '{target}'"
    return None


def unknown_function(name: str, args: list[ast.AST] = ()) -> str:
    """The advice for a call of a name the language does not have (without the name itself)."""
    alias = _alias_advice(name, list(args))
    if alias:
        return alias
    close = close_names(name, FUNCTIONS)
    if close:
        return f"did you mean {_one_of(close)}?"
    return LANGUAGE_LIST


def _operator_advice(op: type, left: ast.AST | None, right: ast.AST | None) -> str:
    """What to write instead of an operator the language does not have."""
    a = "a" if left is None else _operand(left)
    b = "b" if right is None else _operand(right)
    if op is ast.BitXor:
        return f"use '**' for powers ({a} ** {b}); '^' is bitwise xor in Python"
    if op is ast.FloorDiv:
        if "floor" in FUNCTIONS:
            return f"write floor({a} / {b})"
        return "integer division is not supported ('/' divides)"
    if op is ast.Mod:
        if "mod" in FUNCTIONS:
            return f"write mod({a}, {b})"
        if "floor" in FUNCTIONS:
            return f"write {a} - {b} * floor({a} / {b})"
        return "the remainder is not supported"
    if op in (ast.BitAnd, ast.BitOr, ast.Not, ast.Invert):
        return _condition_advice(op)
    if op in (ast.LShift, ast.RShift):
        return f"bit shifts are not supported; write {a} * 2 ** {b}" if op is ast.LShift else f"write {a} / 2 ** {b}"
    return "the operators are + - * / ** and @"


def _condition_advice(op: type) -> str:
    if op in (ast.BitAnd, ast.And):
        return "for 'c1 and c2' nest where(...): where(c1, where(c2, a, b), b)"
    if op in (ast.BitOr, ast.Or):
        return "for 'c1 or c2' nest where(...): where(c1, a, where(c2, a, b))"
    return "for 'not c' swap where's branches: where(c, b, a) (or reverse the comparison: x <= 0 for not x > 0)"


def _comprehension_advice(node: ast.AST) -> str:
    """'write x ** 2 in place of [v ** 2 for v in x]' where the comprehension is that simple."""
    general = "operations on arrays are elementwise: write sum(x ** 2), not sum(v ** 2 for v in x)"
    if not isinstance(node, (ast.ListComp, ast.GeneratorExp)) or len(node.generators) != 1:
        return general
    loop = node.generators[0]
    if loop.ifs or loop.is_async or not isinstance(loop.target, ast.Name):
        return general
    target, array = loop.target.id, loop.iter

    class Substitute(ast.NodeTransformer):
        def visit_Name(self, name: ast.Name) -> ast.AST:
            return array if name.id == target else name

    elementwise = Substitute().visit(ast.parse(ast.unparse(node.elt), mode="eval").body)
    return f"operations on arrays are elementwise: write '{_short(ast.unparse(elementwise))}' in its place"


_REFUSED_ADVICE = {
    ast.Lambda: "write the expression itself (name a step in `let:` to use it twice)",
    ast.JoinedStr: "an expression is not text; remove the quotes",
    ast.FormattedValue: "an expression is not text; remove the quotes",
    ast.NamedExpr: "name the step in `let:` instead",
    ast.Dict: "values belong in `point:`; an expression uses their names",
    ast.Set: "values belong in `point:`; an expression uses their names",
    ast.Tuple: "the function is one scalar expression; write one problem (document) per function",
    ast.Starred: "pass each argument by itself",
}
# Text that Python's own syntax error does not explain to someone who writes mathematics.
# (words of Python's message, what the text holds, the hint)
_SYNTAX_HINTS = (
    ("decimal literal", re.compile(r"(?<![\w.])(\d+(?:\.\d*)?)([A-Za-z_]\w*)"), "write '{0} * {1}' for a product"),
    ("", re.compile(r"[²³]"), "write x ** 2 for powers"),
    ("", re.compile(r"[−×·÷]"), "write the ASCII operators - * /"),
    ("", re.compile(r"\|"), "write abs(x) for |x|"),
    ("", re.compile(r"(?<![=<>!])=(?!=)"), "write only the expression, without 'name ='"),
    ("invalid syntax", re.compile(r"[\w)\]]\s+[A-Za-z_(]"), "write '*' between the factors of a product"),
)


def parse_expression(
    text: str,
    scope: dict[str, Node],
    *,
    unknown_name: Callable[[str], str] | None = None,
    data: dict | None = None,
) -> Node:
    """Parse one expression; names resolve in scope (variables, earlier lets).

    unknown_name(name), where given, says what to do about a name the scope lacks (add it
    to `point:` …); the message suggests the close names of the scope either way.
    data: the values of the point's variables outside wrt, which x[idx] may index with
    (an integer index array is read when the problem loads, lang.loops).
    """
    if not isinstance(text, str):
        raise ExpressionError(f"expected an expression as text, got {type(text).__name__}")
    if len(text) > LIMITS["length"]:
        raise ExpressionError(f"expression is {len(text)} characters long; the limit is {LIMITS['length']}")
    if not text.strip():
        raise ExpressionError("expression is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error at column {exc.offset}: {exc.msg}{_syntax_hint(text, exc.msg)}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"expression is nested deeper than the limit of {LIMITS['depth']}") from None
    _check_depth(tree.body)
    try:
        return _Converter(scope, unknown_name, data).convert(tree.body)
    except RecursionError:  # a chain of + or * longer than Python's own recursion allows
        raise ExpressionError(
            "expression is nested too deeply for Python to handle (a chain of hundreds of + or *?)"
        ) from None


def _syntax_hint(text: str, message: str) -> str:
    for words, pattern, hint in _SYNTAX_HINTS:
        match = pattern.search(text) if words in message else None
        if match:
            return "; " + hint.format(*match.groups())
    return ""


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
    def __init__(
        self,
        scope: dict[str, Node],
        unknown_name: Callable[[str], str] | None = None,
        data: dict | None = None,
        loops: dict | None = None,
    ):
        self.scope = scope
        self.unknown_name = unknown_name
        self.data = data or {}
        self.loops = loops or {}  # the loop index in scope -> its range (start, stop)

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
                advice = _operator_advice(type(node.op), node.left, node.right)
                raise ExpressionError(f"operator '{_OPERATOR_TEXT.get(type(node.op), '?')}' is not allowed: {advice}")
            return Node(op, (self.convert(node.left), self.convert(node.right)), text=text)
        if isinstance(node, ast.Call):
            return self._call(node, text)
        if isinstance(node, ast.Subscript):
            return self._subscript(node, text)
        if isinstance(node, ast.Compare):
            if not condition:
                raise ExpressionError(
                    f"comparison '{text}' is only allowed as the condition of where(...): "
                    f"write where({_short(text)}, 1, 0) for a 0/1 step, where({_short(text)}, a, b) to choose"
                )
            if len(node.ops) != 1:
                raise ExpressionError(
                    f"chained comparison '{text}' is not allowed; nest where(...) instead: {_chain(node)}"
                )
            op = _COMPARE.get(type(node.ops[0]))
            if op is None:
                raise ExpressionError(f"comparison '{text}' is not allowed (use < <= > >= == !=)")
            return Node(op, (self.convert(node.left), self.convert(node.comparators[0])), text=text)
        if isinstance(node, ast.List):
            return list_literal(node, text, self.convert, ExpressionError)
        if isinstance(node, ast.Attribute):
            if node.attr == "T" and "transpose" in FUNCTIONS:  # A.T, and no other attribute
                return Node("transpose", (self.convert(node.value),), attr={}, text=text)
            raise ExpressionError(self._attribute(node))
        if is_loop(node) and over_range(node):
            raise ExpressionError(bare_loop_message(text))
        what = _REFUSED.get(type(node), type(node).__name__)
        raise ExpressionError(f"{what} is not allowed: '{_short(text)}'{_refused_advice(node)}")

    def _number(self, value: object, text: str) -> Node:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if isinstance(value, (str, bytes)):
                raise ExpressionError(
                    f"string literal is not allowed: '{_short(text)}': an expression is not text; remove the quotes"
                )
            if isinstance(value, bool):
                advice = f"write {int(value)}"
            else:
                advice = "complex numbers are not supported" if isinstance(value, complex) else "write a number"
            raise ExpressionError(f"constant {text} is not allowed: {advice}")
        if isinstance(value, int) and abs(value) > 2**53:
            raise ExpressionError(
                f"integer {_short(text)} is too large (at most 2**53): write it with an exponent, as 1e30"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ExpressionError(f"number {_short(text)} is not finite: float64 holds at most about 1.8e308")
        return Node("const", attr=value, text=text)

    def _name(self, name: str) -> Node:
        if name in self.scope:
            return self.scope[name]
        if name in NAMED_CONSTANTS:
            return Node("const", attr=name, text=name)
        if name in FUNCTIONS:
            raise ExpressionError(f"function '{name}' must be called, as {signature(name)}")
        close = close_names(name, [*self.scope, *NAMED_CONSTANTS])
        if not close and _CONSTANT_ALIASES.get(name) in NAMED_CONSTANTS:
            close = [_CONSTANT_ALIASES[name]]
        advice = self.unknown_name(name) if self.unknown_name else ""
        if close:
            advice = f"did you mean {_one_of(close)}?" + (f" Otherwise {advice}" if advice else "")
        raise ExpressionError(f"unknown name '{name}'" + (f": {advice}" if advice else ""))

    def _unary(self, node: ast.UnaryOp, text: str) -> Node:
        if isinstance(node.op, ast.UAdd):
            return self.convert(node.operand)
        if isinstance(node.op, ast.USub):
            operand = node.operand
            # A negative literal is one number, as Python's own tokenizer sees it.
            if isinstance(operand, ast.Constant) and type(operand.value) in (int, float):
                return self._number(-operand.value, text)
            return Node("neg", (self.convert(operand),), text=text)
        advice = _operator_advice(type(node.op), None, node.operand)
        raise ExpressionError(f"operator '{_OPERATOR_TEXT.get(type(node.op), '?')}' is not allowed: {advice}")

    def _call(self, node: ast.Call, text: str) -> Node:
        if isinstance(node.func, ast.Attribute):
            raise ExpressionError(self._attribute(node.func, node))
        if not isinstance(node.func, ast.Name):
            what = _REFUSED.get(type(node.func), "a call of a computed function")
            func = ast.unparse(node.func)
            if what in _REFUSED.values():
                raise ExpressionError(f"{what} is not allowed: '{_short(func)}'{_refused_advice(node.func)}")
            product = f"{_operand(node.func)} * ({', '.join(ast.unparse(a) for a in node.args)})"
            raise ExpressionError(
                f"{what} is not allowed: '{_short(func)}': functions are called by their names, as sin(x); "
                f"for a product write '{_short(product)}'"
            )
        name = node.func.id
        if name not in FUNCTIONS:
            raise ExpressionError(self._unknown_function(name, node))
        if getattr(PRIMITIVES.get(name), "kind", None) == "array":
            return array_call(name, node, text, self.convert, ExpressionError)
        if name in LOOP_REDUCTIONS and len(node.args) == 1 and is_loop(node.args[0]) and over_range(node.args[0]):
            return self._loop(name, node, text)
        axis = self._axis(name, node) if node.keywords else None
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise ExpressionError(f"starred arguments are not allowed in {name}(...): write {signature(name)}")
        if name in _EXTREMES and node.args:
            return self._extreme(name, node, text, axis)
        if len(node.args) != FUNCTIONS[name]:
            along = getattr(PRIMITIVES.get(name), "axis", False)
            note = f" (a reduction of every element; along an axis write {name}(x, axis=1))" if along else ""
            raise ExpressionError(
                f"{name}(...) takes {FUNCTIONS[name]} argument(s), got {len(node.args)}: write {signature(name)}{note}"
            )
        if name == "where" and _combined_condition(node.args[0]):
            self.convert(node.args[0])  # refused with the advice for its & | and or not ~
        if name == "where" and not isinstance(node.args[0], ast.Compare):
            cond = _operand(node.args[0])
            raise ExpressionError(
                f"where(cond, a, b) needs a comparison as cond, such as x > 0: for '{_short(cond)} is not zero' "
                f"write where({_short(cond)} != 0, a, b)"
            )
        args = tuple(self.convert(a, condition=(name == "where" and i == 0)) for i, a in enumerate(node.args))
        return Node(name, args, attr=axis, text=text)

    def _axis(self, name: str, node: ast.Call):
        """axis= of a reduction, as written: an integer constant (negative counts from the
        end) or a tuple of them; the IR's shape inference checks it against the operand."""
        reduces = getattr(PRIMITIVES.get(name), "axis", False) or (name in _EXTREMES and len(node.args) == 1)
        words = [k.arg for k in node.keywords]
        if not reduces:
            note = " (axis= is for sum, mean, prod, max(x), min(x), norm, logsumexp)" if "axis" in words else ""
            raise ExpressionError(f"{name}(...) takes no keyword arguments: write {signature(name)}{note}")
        for k in node.keywords:
            if k.arg != "axis":
                shown = f"'{k.arg}'" if k.arg else "**"
                advice = (
                    "write axis= (NumPy's and jax's name for torch's dim)"
                    if k.arg == "dim"
                    else "the one keyword is axis="
                )
                raise ExpressionError(f"{name}(...) takes no keyword {shown}: {advice}, as {name}(x, axis=0)")
        value = node.keywords[-1].value
        if len(words) > 1:
            raise ExpressionError(f"axis= is given twice in {name}(...)")
        items = value.elts if isinstance(value, ast.Tuple) else [value]
        axes = tuple(_axis_number(v) for v in items)
        if any(a is None for a in axes) or (isinstance(value, ast.Tuple) and not axes):
            raise ExpressionError(
                f"axis must be an integer constant or a tuple of them, as axis=1, axis=-1 or axis=(0, 1); "
                f"got '{_short(ast.unparse(value))}'"
            )
        return axes if isinstance(value, ast.Tuple) else axes[0]

    def _extreme(self, name: str, node: ast.Call, text: str, axis) -> Node:
        """max(x)/min(x) of one array is a reduction (amax/amin, as NumPy names it); of two
        or more arguments it is elementwise. max(a, b, c) is nested binary max(max(a, b), c),
        as one writes it with torch.maximum or jnp.maximum (neither takes three arguments), so
        every backend runs the same nesting: at a tie of all three the nested form splits
        the adjoint ¼, ¼, ½ in every backend alike, and f has a kink there whatever the split."""
        if len(node.args) == 1:
            return Node("a" + name, (self.convert(node.args[0]),), attr=axis, text=text)
        if axis is not None:
            raise ExpressionError(f"axis= is for {name}(x) of one array, not {name}(a, b, …) of several")
        args = [self.convert(a) for a in node.args]
        out = Node(name, (args[0], args[1]), text=text if len(args) == 2 else f"{name}({_operand_text(node.args[:2])})")
        for i in range(2, len(args)):
            inner = text if i == len(args) - 1 else f"{name}({_operand_text(node.args[: i + 1])})"
            out = Node(name, (out, args[i]), text=inner)
        return out

    def _kind(self, name: str) -> str | None:
        """What a name of the scope is, in words; None for a name the scope lacks."""
        if name not in self.scope:
            return f"the constant {name}" if name in NAMED_CONSTANTS else None
        op = self.scope[name].op
        return "a variable" if op == "var" else "a constant" if op == "const" else "a `let` step"

    def _unknown_function(self, name: str, node: ast.Call) -> str:
        kind = self._kind(name)
        if kind:
            product = f"{name} * ({', '.join(ast.unparse(a) for a in node.args)})"
            return f"'{name}' is {kind}, not a function: for a product write '{_short(product)}'"
        return f"unknown function '{name}': {unknown_function(name, node.args)}"

    def _attribute(self, node: ast.Attribute, call: ast.Call | None = None) -> str:
        """np.sin(x) -> sin(x), x.sum() -> sum(x), math.pi -> pi, x.T -> transpose(x) where the language has it."""
        text, attr, owner = ast.unparse(node), node.attr, ast.unparse(node.value)
        refused = f"attribute access is not allowed: '{_short(text)}'"
        library = isinstance(node.value, (ast.Name, ast.Attribute)) and owner.split(".")[0] in _LIBRARY_PREFIXES
        library = library and owner.split(".")[0] not in self.scope
        if call is None:
            if library and attr in NAMED_CONSTANTS:
                return f"{refused}: write '{attr}': constants are written by their bare names (no '{owner}.' prefix)"
            if attr in ("T", "mT", "H") or attr == "transpose":
                if "transpose" in FUNCTIONS:
                    return f"{refused}: write 'transpose({owner})'"
                return f"{refused}: transpose is not available yet (write the transposed array in `point:`)"
            return f"{refused}: the language has no attributes or methods; functions are called by name, as sin(x)"
        args = list(call.args) if library else [node.value, *call.args]
        name = attr if attr in FUNCTIONS or _ALIASES.get(attr) not in FUNCTIONS else _ALIASES[attr]
        if name in FUNCTIONS:
            written = f"{name}({', '.join(ast.unparse(a) for a in args)})"
            how = f"no '{owner}.' prefix" if library else "not as methods"
            return f"{refused}: write '{_short(written)}': functions are called by their bare names ({how})"
        alias = _alias_advice(attr, args)
        if alias:
            return f"{refused}: {alias}"
        if library:
            return f"{refused}: functions are called by their bare names, and '{attr}' is not one: {unknown_function(attr)}"
        return f"{refused}: the language has no attributes or methods; functions are called by name, as sin(x)"

    def _subscript(self, node: ast.Subscript, text: str) -> Node:
        """x[0], x[1:], A[:, 1]; x[i + 1] inside a loop; x[idx] with idx a data variable."""
        names = {n.id for n in ast.walk(node.slice) if isinstance(n, ast.Name)}
        if names & set(self.loops):
            base = self.convert(node.value)
            return loop_subscript(base, node.slice, text, self.loops, self._loop_constant, ExpressionError)
        if isinstance(node.slice, ast.Name) and node.slice.id in self.scope:
            name = node.slice.id
            if name in self.data:
                return data_subscript(self.convert(node.value), name, self.data[name], text, ExpressionError)
            if self.scope[name].op == "var":
                raise ExpressionError(
                    f"an index must be an integer constant or a slice, not '{name}', a differentiated variable: "
                    f"an index array is data: list wrt without '{name}' (wrt: [x]) and give '{name}' integers"
                )
        return Node("index", (self.convert(node.value),), attr=self._index(node.slice), text=text)

    def _loop(self, name: str, node: ast.Call, text: str) -> Node:
        if node.keywords:
            raise ExpressionError(
                f"{name}(...) of a loop takes no keyword arguments: write {name}(… for i in range(n))"
            )
        if self.loops:
            raise ExpressionError(
                f"'{_short(text)}': nested loops are not supported; write one loop, or the inner one out by hand"
            )

        def converter(index_name: str, index: Node, bounds: tuple):
            scope = {**self.scope, index_name: index}
            return _Converter(scope, self.unknown_name, self.data, {index_name: bounds}).convert

        return lower_loop(name, node.args[0], text, converter, self.convert, self.scope, ExpressionError)

    def _loop_constant(self, node: ast.AST) -> int | None:
        """An integer in a loop's index: a constant, or a sweep parameter with an integer value."""
        value = _axis_number(node)
        if value is None and isinstance(node, ast.Name) and getattr(self.scope.get(node.id), "op", None) == "const":
            written = self.scope[node.id].attr
            if isinstance(written, (int, float)) and float(written).is_integer():
                value = int(written)
        return value

    def _index(self, node: ast.AST) -> tuple:
        parts = node.elts if isinstance(node, ast.Tuple) else [node]
        return tuple(self._index_part(p) for p in parts)

    def _index_part(self, node: ast.AST) -> int | slice:
        if isinstance(node, ast.Slice):
            bounds = [None if b is None else self._index_int(b) for b in (node.lower, node.upper, node.step)]
            if bounds[2] is not None and bounds[2] <= 0:
                raise ExpressionError(
                    f"slice step must be positive: '{ast.unparse(node)}' (reversed slices are not supported)"
                )
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
            written = ast.unparse(node)
            advice = (
                "write an integer, as x[0]"
                if isinstance(value, (float, bool))
                else "computed indices are not supported; write x[0], x[1:], A[:, 1]"
            )
            raise ExpressionError(f"an index must be an integer constant or a slice, not '{_short(written)}': {advice}")
        return value


def _chain(node: ast.Compare) -> str:
    """where(0 < x, where(x < 1, a, b), b) for 0 < x < 1."""
    terms = [node.left, *node.comparators]
    conditions = [ast.unparse(ast.Compare(terms[i], [op], [terms[i + 1]])) for i, op in enumerate(node.ops)]
    written = "a"
    for condition in reversed(conditions):
        written = f"where({condition}, {written}, b)"
    return _short(written, 120)


def _combined_condition(node: ast.AST) -> bool:
    """c1 & c2, c1 | c2, c1 and c2, not c: conditions combined as Python would, which where(...) nests instead."""
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, (ast.BitAnd, ast.BitOr))
    return isinstance(node, ast.BoolOp) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.Invert))
    )


def _refused_advice(node: ast.AST) -> str:
    """': what to write instead' for a refused construct, or nothing."""
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        return ": " + _comprehension_advice(node)
    if isinstance(node, ast.IfExp):
        test = ast.unparse(node.test) if isinstance(node.test, ast.Compare) else f"{_operand(node.test)} != 0"
        written = f"where({test}, {ast.unparse(node.body)}, {ast.unparse(node.orelse)})"
        return f": write '{_short(written, 120)}'"
    if isinstance(node, ast.BoolOp):
        return ": " + _condition_advice(type(node.op))
    advice = _REFUSED_ADVICE.get(type(node))
    return f": {advice}" if advice else ""
