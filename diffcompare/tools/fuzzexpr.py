"""The fuzzer's expressions: a tree of steps, each holding its float64 value at the point.

A step is applied to its operands' values with the primitive's own NumPy forward and
local derivative (VJP) rules from diffcompare.lang.primitives. `step` refuses (None) a
step that would leave the guarantees of an ordinary problem:

- its value, over every element, is finite and at most MAX_MAGNITUDE;
- its local derivative in every operand that depends on a differentiated variable is
  finite (so no 0·∞ in the chain rule, not even in where's untaken branch);
- it amplifies rounding by at most AMPLIFICATION_LIMIT: the primitive's hazard rule,
  and for reductions, @ and the nonlinear array steps softmax and log_softmax, which
  declare none, their relative condition number Σ|xᵢ·∂f/∂xᵢ| / |f| (cancellation in a
  sum, a dot product, a logsumexp near 0); log_softmax's x - max - log Σ exp(x - max) has
  the absolute rounding of log Σ (at least 1): 1 / |f| too, so no element near 0, where one
  element takes nearly all the mass; no element of softmax's or log_softmax's value is
  below TINY in magnitude (softmax of values far apart underflows);
- it stays KINK_MARGIN away from its kinks (abs and relu away from 0, min and max away
  from a tie, clamp away from its bounds, where's condition away from equality), and its
  forward rule stays finite DOMAIN_MARGIN either side of each operand (sqrt of 1e-9,
  1/x near 0): finite differences step across neither;

so that an exact backend that disagrees on an ordinary problem has something to explain.
Steps built with check=False (the singular templates of diffcompare.tools.fuzzgen) skip
all of it: they sit on kinks and singular points on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from diffcompare.lang.primitives import PRIMITIVES

AMPLIFICATION_LIMIT = 1e3
MAX_MAGNITUDE = 1e6
KINK_MARGIN = 1e-2
DOMAIN_MARGIN = 1e-3
TINY = 1e-30
# Python's spelling of the primitives written as operators.
OPERATORS = {
    "add": "+",
    "sub": "-",
    "mul": "*",
    "div": "/",
    "pow": "**",
    "matmul": "@",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "eq": "==",
    "ne": "!=",
    "mod": "%",
}
# The name a primitive is written with where it differs: max(x) of one array is amax.
WRITTEN = {"amax": "max", "amin": "min"}
# Piecewise-constant primitives: derivative 0 away from their jumps (PRIMITIVES[…].jump).
PIECEWISE_CONSTANT = ("floor", "ceil", "round", "trunc", "sign", "mod")


@dataclass(eq=False)
class Expr:
    """One step of a generated function, or a leaf.

    op:      a primitive, "var", "const" or "index"
    name:    the variable's name, the constant's text (an index loop's variable "i", whose
             value is the vector of its indices), or the index as text ("[1:3]", "[idx]",
             "[i + 1]"); for a reduction along axes or an array-building step, its
             parameters as written after the operands (", axis=1", ", (2, 3)"), "[]" for a
             list literal, ".T" for A.T; for the reduction of an index loop, its `for` as
             written after the term (" for i in range(1, 4)")
    value:   the float64 value at the point (an array; 0-d for a scalar)
    index:   the NumPy index of an "index" step (integer arrays for a gather: x[idx] with
             idx a data variable, its leaf the step's second operand; x[i + 1] in a loop)
    live:    depends on a differentiated variable (one of wrt)
    frozen:  part of a singular template: the shrinker keeps it whole
    checked: built under the guarantees of an ordinary step (see the module)
    params:  the parameters every rule of the primitive takes as keywords (axis=, shape=, k=);
             of a gather inside an index loop, {"loop": "i"} (the shrinker keeps it)
    """

    op: str
    args: tuple[Expr, ...] = ()
    name: str = ""
    value: Any = field(default_factory=lambda: np.zeros(()))
    index: tuple | None = None
    live: bool = False
    frozen: bool = False
    checked: bool = True
    params: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(self.value)

    def text(self) -> str:
        if self.op in ("var", "const"):
            return self.name
        a = [x.text() for x in self.args]
        if self.op == "index":
            return f"{a[0]}{self.name}"
        if self.name == "[]":
            return f"[{', '.join(a)}]"
        if self.name == ".T":
            return f"{a[0]}.T"
        if self.op == "neg":
            return f"(-{a[0]})"
        if self.op in OPERATORS:
            return f"({a[0]} {OPERATORS[self.op]} {a[1]})"
        return f"{WRITTEN.get(self.op, self.op)}({', '.join(a)}{self.name})"

    def subexpressions(self, into_frozen: bool = True):
        """Every node of the tree, each once per occurrence, parents first."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            if into_frozen or not node.frozen:
                stack.extend(reversed(node.args))

    def size(self) -> int:
        return sum(1 for _ in self.subexpressions())


def leaf(op: str, name: str, value, live: bool = False) -> Expr:
    return Expr(op, name=name, value=np.asarray(value, dtype=np.float64), live=live)


def constant(text: str) -> Expr:
    """A constant as written: negative ones in parentheses, so any operator may take them."""
    written = f"({text})" if text.startswith("-") else text
    return leaf("const", written, float(text))


def index_step(arg: Expr, index: tuple, text: str, by: Expr | None = None, loop: str = "") -> Expr:
    """arg[index] written arg{text}; by: the data variable of a gather x[idx] (an operand, so
    that the problem holds it); loop: the variable of the index loop a gather x[i + 1] is in."""
    value = np.asarray(arg.value[index], dtype=np.float64)
    args = (arg,) if by is None else (arg, by)
    return Expr("index", args, text, value, index, arg.live, params={"loop": loop} if loop else {})


def _forward(op: str, values: list, params: dict | None = None) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.asarray(PRIMITIVES[op].forward(*values, **(params or {})))


def make(op: str, args, check: bool = True, params: dict | None = None, written: str = "") -> Expr | None:
    """The step op(args), or None where check is on and it breaks a guarantee. params: the
    keywords its rules take (axis=(1,) for sum along axis 1); written: how they are written
    after the operands (", axis=-1"), or "[]" (a list literal) or ".T"."""
    args, params = tuple(args), dict(params or {})
    value = step(op, args, params) if check else _forward(op, [a.value for a in args], params)
    if value is None:
        return None
    compare = PRIMITIVES[op].kind == "compare"  # where's condition: no derivative
    value = value if compare else value.astype(np.float64)
    live = not compare and any(a.live for a in args)
    return Expr(op, args, written, value=value, live=live, checked=check, params=params)


def step(op: str, args: tuple[Expr, ...], params: dict | None = None) -> np.ndarray | None:
    """The value of op(args) at the point, or None where it breaks a guarantee of the module."""
    primitive = PRIMITIVES[op]
    params = params or {}
    values = [a.value for a in args]
    value = _forward(op, values, params)
    if primitive.kind == "array":  # no kinks; linear (outer: a product) or softmax and log_softmax
        finite = np.all(np.isfinite(value)) and np.max(np.abs(value), initial=0.0) <= MAX_MAGNITUDE
        if finite and primitive.jvp is not None:  # nonlinear: conditioned, no element underflowing
            tiny = np.any(np.abs(value) < TINY)
            finite = not tiny and array_condition(primitive, value, values[0], params) <= AMPLIFICATION_LIMIT
        return value if finite else None
    if primitive.kind == "compare":  # where's condition: away from its boundary a == b
        return value if _apart(values[0], values[1]) else None
    with np.errstate(all="ignore"):
        if not np.all(np.isfinite(value)) or np.max(np.abs(value), initial=0.0) > MAX_MAGNITUDE:
            return None
        ones = np.ones_like(value, dtype=np.float64)
        for k, rule in enumerate(primitive.vjps):
            if rule is None or not (args[k].live or primitive.kind == "reduction"):
                continue
            local = np.asarray(rule(ones, value, *values, **params), dtype=np.float64)
            if not np.all(np.isfinite(local)):
                return None
            axis = params.get("axis")
            if primitive.kind == "reduction" and _condition(value, values[k], local, axis) > AMPLIFICATION_LIMIT:
                return None
        if primitive.kind == "matmul" and matmul_condition(values[0], values[1]) > AMPLIFICATION_LIMIT:
            return None
        if primitive.hazard is not None:
            hazard = primitive.hazard(value, *values)
            if hazard is not None and hazard[0] > AMPLIFICATION_LIMIT:
                return None
    if not _away_from_kinks(op, values) or not _inside_domain(op, args, values):
        return None
    return value


def _condition(value, operand, local, axis: tuple[int, ...] | None = None) -> float:
    """Relative condition number of a reduction in one operand (along axis: its worst fiber)."""
    scale = np.sum(np.abs(np.broadcast_to(operand, np.shape(local)) * local), axis=axis)
    size = np.abs(np.asarray(value, dtype=np.float64))
    with np.errstate(all="ignore"):
        ratio = np.where(size > 0, scale / size, np.where(scale > 0, np.inf, 1.0))
    return float(np.max(ratio, initial=1.0))


def array_condition(primitive, value, operand, params: dict) -> float:
    """max over i of Σⱼ|xⱼ·∂yᵢ/∂xⱼ| / |yᵢ| of a one-operand array step y = f(x) with a JVP rule
    (softmax, log_softmax): the Jacobian's columns, one tangent per element of x; log_softmax,
    a difference with log Σ exp (≥ 0, rounded in absolute terms), adds 1 / |yᵢ|."""
    x = np.asarray(operand, dtype=np.float64)
    scale = np.full(np.shape(value), 1.0 if primitive.name == "log_softmax" else 0.0)
    with np.errstate(all="ignore"):
        for j in np.ndindex(x.shape):
            tangent = np.zeros_like(x)
            tangent[j] = x[j]
            scale += np.abs(np.asarray(primitive.jvp(tangent, value, x, **params), dtype=np.float64))
        size = np.abs(np.asarray(value, dtype=np.float64))
        ratio = np.where(size > 0, scale / size, np.where(scale > 0, np.inf, 1.0))
    return float(np.max(ratio, initial=1.0))


def matmul_condition(a: np.ndarray, b: np.ndarray) -> float:
    """(|A| @ |B|) / |A @ B|, elementwise, at its worst: cancellation inside a product."""
    with np.errstate(all="ignore"):
        scale = np.abs(a) @ np.abs(b)
        size = np.abs(a @ b)
        ratio = np.where(size > 0, scale / size, np.where(scale > 0, np.inf, 1.0))
    return float(np.max(ratio, initial=1.0))


def _apart(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))
    return bool(np.all(np.abs(a - b) > KINK_MARGIN * scale))


def _away_from_kinks(op: str, values: list) -> bool:
    if op in ("abs", "relu"):
        return _apart(values[0], 0.0)
    if op in ("min", "max"):
        return _apart(values[0], values[1])
    if op == "clamp":
        return _apart(values[0], values[1]) and _apart(values[0], values[2])
    if op in ("floor", "ceil", "trunc", "sign", "cbrt"):  # jumps at the integers (sign, cbrt: at 0)
        return _apart(values[0], 0.0) and (op in ("sign", "cbrt") or _off_integers(values[0]))
    if op == "round":  # half to even: its jumps are at the half-integers
        return _off_integers(np.asarray(values[0], dtype=np.float64) - 0.5)
    if op == "mod":  # a % b jumps where a / b is an integer
        return _apart(values[1], 0.0) and _off_integers(np.asarray(values[0]) / np.asarray(values[1]))
    if op == "atan2":  # its cut: y = 0, x <= 0 (and the origin)
        y, x = np.asarray(values[0], dtype=np.float64), np.asarray(values[1], dtype=np.float64)
        scale = np.maximum(1.0, np.maximum(np.abs(y), np.abs(x)))
        return bool(np.all((np.abs(y) > KINK_MARGIN * scale) | (x > KINK_MARGIN * scale)))
    return True


def _off_integers(v) -> bool:
    """Every element KINK_MARGIN (absolute, under 50: relative past it) away from an integer."""
    with np.errstate(all="ignore"):
        v = np.asarray(v, dtype=np.float64)
        gap = np.abs(v - np.round(v))
        return bool(np.all(np.isfinite(v) & (gap > KINK_MARGIN * np.maximum(1.0, np.abs(v) / 50))))


def _inside_domain(op: str, args: tuple[Expr, ...], values: list) -> bool:
    """The forward rule stays finite DOMAIN_MARGIN either side of every live operand."""
    primitive = PRIMITIVES[op]
    if primitive.kind != "elementwise" or primitive.name == "where":
        return True
    for k, arg in enumerate(args):
        if not arg.live:
            continue
        v = np.asarray(values[k], dtype=np.float64)
        delta = DOMAIN_MARGIN * np.maximum(1.0, np.abs(v))
        if op == "div" and k == 1 and np.any(np.abs(v) <= delta):
            return False  # 1/b across 0 stays finite but changes sign
        for sign in (-1.0, 1.0):
            shifted = list(values)
            shifted[k] = v + sign * delta
            if not np.all(np.isfinite(_forward(op, shifted))):
                return False
    return True


def replace_node(expr: Expr, old: Expr, new: Expr) -> Expr | None:
    """expr with the node old replaced by new, the steps above it recomputed (checked ones
    under their guarantees); None where one of them breaks a guarantee. Unchanged
    subtrees are kept as they are (the same objects)."""
    if expr is old:
        return new
    if not expr.args or expr.frozen:
        return expr
    args = []
    for a in expr.args:
        b = replace_node(a, old, new)
        if b is None:
            return None
        args.append(b)
    if all(a is b for a, b in zip(args, expr.args)):
        return expr
    if expr.op == "index":  # (a gather's data variable is a leaf: never replaced)
        value = np.asarray(args[0].value[expr.index], dtype=np.float64)
        return replace(expr, args=tuple(args), value=value, live=args[0].live)
    made = make(expr.op, args, check=expr.checked, params=expr.params, written=expr.name)
    return None if made is None else replace(made, frozen=expr.frozen)
