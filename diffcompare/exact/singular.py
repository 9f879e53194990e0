"""Points where a gradient element is not an ordinary number: kinks and undefined points.

- `undefined`: f or ∂f/∂xᵢ is not a finite real number at the point (log at 0,
  1/x at 0, sqrt at 0 …). Every backend's row for that element gets this
  verdict, whatever it returned; the message names the step that fails.
- `kink`: a non-smooth primitive sits exactly at a point where it is not
  differentiable (relu or abs at 0, min/max of equal arguments, clamp at a
  bound, where at the boundary of its condition) and the one-sided derivatives
  of f really differ there. Every backend's value is shown with the left and
  right derivatives and which of them (if any) it returned; none is called
  `disagree`. Where the sides agree (relu(x) - relu(-x) at 0 is just x), the
  element is ordinary and a backend that returns something else disagrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np

from diffcompare.engine.chainrule import ChainRule, point_in
from diffcompare.exact.budget import ExactLimit
from diffcompare.lang.ir import element_label


@dataclass
class Singular:
    verdict: str  # "kink" or "undefined"
    message: str
    left: float | None = None
    right: float | None = None

    def message_for(self, value: float) -> str:
        if self.verdict != "kink":
            return self.message
        sides = [name for name, side in (("left", self.left), ("right", self.right)) if side == value]
        if sides:
            which = "the " + " and ".join(sides) + " derivative"
        elif np.isfinite(value) and min(self.left, self.right) < value < max(self.left, self.right):
            which = "a value between them"
        else:
            which = "neither of them"
        return f"{self.message}; this value is {which}"


def _close(a, b) -> bool:
    with mpmath.workdps(60):
        return abs(a - b) <= mpmath.mpf(10) ** -25 * max(abs(a), abs(b), mpmath.mpf(1))


def _snap(side: float, other: float) -> float:
    # A one-sided derivative taken 2^-100 away from the point carries an O(2^-100)
    # term: a side that is exactly 0 shows as 1.6e-30. Call that 0.
    return 0.0 if abs(side) <= 1e-20 * max(1.0, abs(other)) else side


ALL = None  # the index key of a Singular that covers every element of its variable


def singular_elements(problem, reference, deadline=None) -> dict[tuple[str, tuple | None], Singular]:
    """(variable, index) -> Singular for every gradient element that is one;
    (variable, ALL) where the verdict covers the whole variable. deadline (a
    budget.Deadline) bounds the search for one-sided derivatives at kinks."""
    found: dict[tuple[str, tuple | None], Singular] = {}
    engine = ChainRule(problem.function, "float64")
    inputs = point_in(problem.point, "float64")
    # A long-double reference taken for want of the exact one says why its infinities may be overflow.
    because = f" (the reference is the long-double chain rule: {reference.why})" if reference.why else ""
    if not reference.function_defined:
        where = engine.undefined_at(inputs)
        message = "f is not finite at this point" + (f": {where}" if where else "") + because
        return {(var, ALL): Singular("undefined", message) for var in problem.wrt}
    where = None
    for var in problem.wrt:
        missing = ~reference.defined[var]
        if missing.any():
            where = engine.undefined_at(inputs) if where is None else where
        for index in zip(*np.nonzero(missing)) if missing.ndim else ([()] if missing else []):
            index = tuple(int(i) for i in index)
            note = reference.notes[var][index]
            message = f"∂f/∂{element_label(var, index)} is {note} at this point" + (f": {where}" if where else "")
            message += because if note == "not finite" else ""
            found[(var, index)] = Singular("undefined", message)
    kinks = engine.kinks(inputs, problem.wrt)
    if not kinks:
        return found
    if reference.kind != "sympy":
        # One-sided derivatives need the symbolic form; past its size, say so for every element.
        message = f"kink: {kinks[0]}; its one-sided derivatives are not computed past SymPy's size limit"
        for var in problem.wrt:
            found.setdefault((var, ALL), Singular("kink", message))
        return found
    try:
        _one_sided_kinks(problem, reference, kinks, found, deadline)
    except ExactLimit as exc:
        message = f"kink: {kinks[0]}; its one-sided derivatives are not computed: {exc}"
        for var in problem.wrt:
            found.setdefault((var, ALL), Singular("kink", message))
    return found


def _one_sided_kinks(problem, reference, kinks, found, deadline) -> None:
    for var in problem.wrt:
        for index in np.ndindex(problem.point[var].shape):
            if (var, index) in found:
                continue
            if deadline is not None:
                deadline.check("the search for one-sided derivatives")
            left, right = reference.one_sided(var, index, deadline=deadline)
            if left is None or right is None or _close(left, right):
                continue
            left, right = _snap(float(left), float(right)), _snap(float(right), float(left))
            message = f"kink: {kinks[0]}; left derivative {left:.6g}, right derivative {right:.6g}"
            found[(var, index)] = Singular("kink", message, left, right)
