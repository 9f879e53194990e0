"""The exact reference of every operator, entry by entry, and its kinks and undefined entries.

First order (jacobian, jvp, vjp): each derived scalar problem (exact.derived) is judged as a
gradient is (exact.truth: SymPy's derivative or the IR's chain rule in mpmath, settled by
precision that agrees with itself; kinks and undefined points decided on the function), and
its entries are put where they belong in the operator's results. So a Jacobian entry at a
kink of f[o] is a `kink` with f[o]'s one-sided derivatives, and a JVP along a direction in
which f has a kink is one, with the directional derivatives along -v and v.

Second order (hessian, hvp, second_derivative): SymPy's second derivatives
(exact.symbolic_operators) in mpmath, settled by the same rule. What the exact side
knows about second derivatives at non-smooth points is less, and the rows say so:
- an entry whose first derivative is itself not an ordinary number (a kink or undefined
  entry of ∇f) is `undefined`: a derivative of something that has none there;
- an entry whose first derivative passes through a step sitting on its kink (relu(x)² at 0:
  f' = 2·relu(x) is continuous, f'' has no value) is `unsettled`: the exact side does not
  decide one-sided second derivatives, and guesses no verdict;
- past SymPy's size or time there is no second-order reference: every entry `unsettled`,
  with the reason.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from diffcompare.engine.chainrule import ChainRule, point_in
from diffcompare.exact.mpchain import MpChainRule, exact_inputs
from diffcompare.exact.reference import Reference, plan_evaluator, settle, split
from diffcompare.exact.singular import ALL, Singular, _reached_by_kinks
from diffcompare.exact.symbolic import SymbolicLimit
from diffcompare.exact.symbolic_operators import OperatorExprs
from diffcompare.lang.ir import element_label
from diffcompare.lang.primitives import PRIMITIVES
from diffcompare.spec.operators import describe, results

_KIND_ORDER = ("sympy", "mpmath", "longdouble", "")  # a mix is named by its least exact part


class _Entries:
    """Per-result arrays filled entry by entry, then made into a Reference."""

    def __init__(self, problem):
        self.shapes = {r.name: r.shape for r in results(problem).values()}
        size = {name: int(np.prod(shape, dtype=np.int64)) for name, shape in self.shapes.items()}
        self.hi = {n: np.full(s, np.nan) for n, s in size.items()}
        self.lo = {n: np.zeros(s) for n, s in size.items()}
        self.defined = {n: np.zeros(s, dtype=bool) for n, s in size.items()}
        self.notes = {n: np.full(s, "", dtype=object) for n, s in size.items()}
        self.unsettled = {n: np.zeros(s, dtype=bool) for n, s in size.items()}
        self.bound: dict[str, np.ndarray] = {}
        self.singular: dict[tuple, Singular] = {}

    def index(self, name: str, flat: int) -> tuple:
        return tuple(int(i) for i in np.unravel_index(flat, self.shapes[name])) if self.shapes[name] else ()

    def reference(self, kind: str, function_defined: bool, digits=0, escalations=0, breaks="", why="") -> Reference:
        def shaped(arrays):
            return {n: a.reshape(self.shapes[n]) for n, a in arrays.items()}

        return Reference(
            kind,
            function_defined,
            shaped(self.hi),
            shaped(self.lo),
            shaped(self.defined),
            shaped(self.notes),
            digits,
            escalations,
            why=why,
            unsettled=shaped(self.unsettled),
            bound=shaped(self.bound),
            breaks=breaks,
        )


def first_order_basis(problem, parts, bases) -> tuple[Reference, dict]:
    """The operator's reference and singular entries from its derived problems' judging bases
    ((reference, singular, failure) each, failure empty)."""
    entries = _Entries(problem)
    kinds, breaks, defined = [], "", True
    digits = escalations = 0
    for part, (reference, singular, _) in zip(parts, bases):
        kinds.append(reference.kind)
        breaks = breaks or reference.breaks
        defined = defined and reference.function_defined
        digits, escalations = max(digits, reference.digits), max(escalations, reference.escalations)
        for var, (name, positions) in part.targets.items():
            entries.hi[name][positions] = reference.hi[var].ravel()
            entries.lo[name][positions] = reference.lo[var].ravel()
            entries.defined[name][positions] = reference.defined[var].ravel()
            entries.notes[name][positions] = [_renamed(str(n), part.names) for n in reference.notes[var].ravel()]
            if var in reference.unsettled:
                entries.unsettled[name][positions] = reference.unsettled[var].ravel()
            if var in reference.bound:
                bound = entries.bound.setdefault(name, np.full(entries.hi[name].size, np.nan))
                bound[positions] = reference.bound[var].ravel()
            size = positions.size
            for (svar, index), item in singular.items():
                if svar != var:
                    continue
                flats = range(size) if index is ALL else [int(np.ravel_multi_index(index, problem_shape(part, var)))]
                item = dataclasses.replace(item, message=_renamed(item.message, part.names))
                for k in flats:
                    entries.singular[(name, entries.index(name, int(positions[k])))] = item
    kind = max(kinds, key=_KIND_ORDER.index) if kinds else ""
    return entries.reference(kind, defined, digits, escalations, breaks), entries.singular


def _renamed(message: str, names: dict[str, str]) -> str:
    """A derived problem's message in the operator's words: its f is f[1] (a Jacobian's row),
    its t the direction of a JVP ("f is not differentiable in t here" -> "f[1] is not
    differentiable in the direction (v along x) here")."""
    if not message:
        return message
    for old, new in names.items():
        if old == "f":
            message = re.sub(r"(?<![\w'\[])f(?= is\b|'s\b)", new, message)
        else:
            message = re.sub(rf"(?<=\bin ){re.escape(old)}\b", new, message)
    return message


def problem_shape(part, var: str) -> tuple[int, ...]:
    return tuple(np.shape(part.problem.point[var]))


# --- second order -------------------------------------------------------------------------------


def second_order_basis(problem, truth, gradient_basis, deadline) -> tuple[Reference, dict]:
    """SymPy's second derivatives settled in mpmath; entries at a non-smooth point of ∇f
    undefined or unsettled (the module's docstring). truth: the problem's exact.truth.Truth;
    gradient_basis: its gradient's (reference, singular, failure)."""
    entries = _Entries(problem)
    what = describe(problem.operator)
    try:
        exprs = truth.operator_exprs
    except SymbolicLimit as exc:
        for name in entries.shapes:
            entries.singular[(name, ALL)] = Singular("unsettled", f"no exact reference for {what}: {exc}")
        return entries.reference("", True, why=str(exc)), entries.singular
    flat = exprs.flat()
    try:
        settled = settle(_evaluator(problem, exprs), 1 + len(flat), deadline)
    except NotImplementedError as exc:  # a form of SymPy's the evaluator lacks
        for name in entries.shapes:
            entries.singular[(name, ALL)] = Singular(
                "unsettled", f"no exact reference for {what}: SymPy's form cannot be evaluated ({exc})"
            )
        return entries.reference("", True, why=str(exc)), entries.singular
    start = 1
    for name in entries.shapes:
        for k in range(entries.hi[name].size):
            value = settled.values[start + k]
            entries.notes[name][k] = settled.notes[start + k]
            entries.unsettled[name][k] = start + k in settled.unsettled
            if value is not None:
                entries.hi[name][k], entries.lo[name][k] = split(value)
                entries.defined[name][k] = True
            if entries.unsettled[name][k]:
                entries.singular[(name, entries.index(name, k))] = Singular("unsettled", settled.notes[start + k])
        start += entries.hi[name].size
    function_defined = settled.values[0] is not None
    _non_smooth(problem, entries, gradient_basis, deadline)
    return entries.reference("sympy", function_defined, settled.digits, settled.escalations), entries.singular


def _evaluator(problem, exprs: OperatorExprs):
    """digits -> ([f, entries…], scale): the expressions in mpmath at the exact point."""
    cse = exprs.forms[0].step("eliminating the second derivatives' common subexpressions", lambda: _cse(exprs))
    return plan_evaluator(problem.point, cse, exprs.inputs, exprs.constant_values)


def _cse(exprs: OperatorExprs):
    import sympy

    return sympy.cse([exprs.function.ravel()[0], *exprs.flat()])


def _non_smooth(problem, entries: _Entries, gradient_basis, deadline) -> None:
    """Entries whose first derivative is not an ordinary number (undefined), or passes
    through a step on its kink (unsettled)."""
    reference, singular, failure = gradient_basis
    broken: dict[str, str] = {}  # "x[1]" -> why ∂f/∂x[1] is no ordinary number
    for (var, index), item in singular.items():
        if item.verdict in ("kink", "undefined"):
            for i in np.ndindex(problem.point[var].shape) if index is ALL else [index]:
                broken[element_label(var, i)] = item.message
    kinked, reached = _kinked_steps(problem, deadline)
    for result in results(problem).values():
        for flat in range(result.size):
            index = entries.index(result.name, flat)
            if (result.name, index) in entries.singular:
                continue
            labels = _first_derivative_labels(problem, result, index)
            bad = next((label for label in labels if label in broken), None)
            if bad is not None:
                entries.singular[(result.name, index)] = Singular(
                    "undefined", f"∂f/∂{bad} is not an ordinary number here, so it has no derivative: {broken[bad]}"
                )
            elif any(label in reached for label in labels + _second_labels(problem, result, index)):
                entries.singular[(result.name, index)] = Singular(
                    "unsettled",
                    f"{kinked}: the first derivative may have a kink here, and the exact side does not "
                    "decide second derivatives at kinks",
                )


def _second_labels(problem, result, index: tuple) -> list[str]:
    """The element a Hessian entry differentiates in (b[j] of ∂²f/∂a[i]∂b[j]); none for the others."""
    if problem.operator != "hessian":
        return []
    a, b = result.over if len(result.over) == 2 else result.over * 2
    return [element_label(b, index[len(problem.point[a].shape) :])]


def _first_derivative_labels(problem, result, index: tuple) -> list[str]:
    """The elements whose first derivatives this entry differentiates: H[a,b][i,j] is
    ∂/∂b[j] of ∂f/∂a[i]; (H·v)[x][i] is ∂/∂x[i] of Σ ∂f/∂y[j]·v_y[j] (every y[j] with v ≠ 0)."""
    if problem.operator == "hessian":
        a = result.over[0]
        return [element_label(a, index[: len(problem.point[a].shape)])]
    if problem.operator == "hvp":
        return [
            element_label(y, j)
            for y in problem.wrt
            for j in np.ndindex(problem.point[y].shape)
            if problem.point[problem.direction[y]][j] != 0
        ]
    return [element_label(result.over[0], index)]


def _kinked_steps(problem, deadline) -> tuple[str, set[str]]:
    """("'relu(x)' is at 0, …", labels of the elements that move those steps to first order):
    the non-smooth steps on their kinks at the exact point ("", set() where none)."""
    exact = MpChainRule(problem.function, problem.wrt)
    values = exact.forward(exact_inputs(problem.point), 50, deadline)
    found = exact.kinks(values)
    if not found:
        return "", set()
    engine = ChainRule(problem.function, "float64")
    floats = engine.forward(point_in(problem.point, "float64"))
    shapes = {var: problem.point[var].shape for var in problem.wrt}
    masks = _reached_by_kinks(engine, floats, found, problem.wrt, shapes)
    reached = {element_label(var, i) for var in problem.wrt for i in np.ndindex(shapes[var]) if masks[var][i]}
    words = [f"'{node.text}' is at {PRIMITIVES[node.op].kink_words}" for node, _, _ in found[:3]]
    return "; ".join(words), reached
