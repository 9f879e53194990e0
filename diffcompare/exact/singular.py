"""Points where a gradient element is not an ordinary number, judged on f, not on the tape.

A chain rule (SymPy's, the IR's, any backend's) can break at a point where f itself is
perfectly differentiable: sqrt(s) at s = 0 inside cos(12·sqrt(s)) with s = Σx², the
unselected branch of a where. And a step can sit on a kink in float64 while the exact
point is a hair away from it. So wherever the exact chain rule does not give a finite
number, or a non-smooth step sits exactly on its kink, the element is decided from f
alone: its one-sided derivatives in that element (only the differentiated variables;
data and constants are not differentiated), by the one-sided chain rule where it decides
and else by difference quotients walked down to the kink's own scale (exact.onesided,
whose docstring gives the rule that tells a steep side from an infinite one). Three
honest outcomes, and one more:

- `kink`: both sides exist and differ (relative 1e-20). Every backend's value is shown
  with the left and right derivatives and which of them (if any) it returned, that side
  rounded to the row's dtype. The message names the steps at their kinks whose own
  one-sided derivatives in this element differ (abs(x) in x; not abs(x ** 2), which is
  flat there, nor abs(x) in the row of y), and where none does (the cone sqrt(Σx²) at 0),
  says only that f is not differentiable in that element.
- `undefined`: f is not finite here, or a side is infinite, has no limit, or does not
  exist: f is not differentiable, and no backend's value is wrong or right.
- differentiable: both sides exist and agree. The reference is that derivative, and
  the element is judged as any other: a backend's NaN or inf is a `disagree`, whose
  message names the step where the chain rule broke (the classic AD failure).
- `unsettled`: the reference did not settle (exact.reference); no verdict is guessed.

A step that float64 puts on a kink while the exact point is not on it is named that way
in every row ("the exact point is 2.1e-17 away from it"), and judged against the exact
derivative, which exists there.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import mpmath
import numpy as np

from diffcompare.engine.chainrule import ChainRule, point_in
from diffcompare.exact.budget import ExactLimit
from diffcompare.exact.mpchain import MpChainRule, exact_inputs, is_finite, kink_distance
from diffcompare.exact.onesided import OneSided, equal
from diffcompare.exact.reference import split
from diffcompare.lang.ir import element_label
from diffcompare.lang.primitives import PRIMITIVES

MAX_ONE_SIDED = 256  # elements given one-sided derivatives; past it, the element-free verdict
EXACT_KINKS = 10_000  # point elements up to which the exact forward pass always looks for kinks
ALL = None  # the index key of a Singular that covers every element of its variable
ULPS = 4  # a value within this many of its dtype's spacing of a side is that side


@dataclass
class Singular:
    verdict: str  # "kink", "undefined" or "unsettled"
    message: str
    left: float | None = None
    right: float | None = None

    def message_for(self, value: float, dtype: str = "float64") -> str:
        """The message for a row whose value is `value` in `dtype`: at a kink, which side (as
        that dtype holds it) the value is."""
        if self.verdict != "kink":
            return self.message
        sides = [name for name, side in (("left", self.left), ("right", self.right)) if _is_side(value, side, dtype)]
        if self.left is None or self.right is None:  # sides not computed (past the exact side's reach)
            return self.message
        if sides:
            which = "the " + " and ".join(sides) + " derivative"
        elif np.isfinite(value) and min(self.left, self.right) < value < max(self.left, self.right):
            which = "a value between them"
        else:
            which = "neither of them"
        return f"{self.message}; this value is {which}"

    @property
    def replaces_numbers(self) -> bool:
        """Kinks and undefined points have no reference to measure a value against."""
        return self.verdict in ("kink", "undefined")


def _is_side(value: float, side: float | None, dtype: str) -> bool:
    """value is side as dtype holds it: side rounded to dtype, give or take ULPS of that dtype's
    spacing there (float32(0.1) is the side 0.1). A side past the dtype's range is no value's."""
    if side is None or not np.isfinite(value):
        return False
    kind = np.dtype(dtype).type if dtype in ("float32", "float64") else np.float64
    with np.errstate(over="ignore"):
        rounded = kind(side)
    if not np.isfinite(rounded):
        return False
    return abs(kind(value) - rounded) <= ULPS * np.spacing(abs(rounded))


def _elements(masks: dict, wrt: list[str]) -> list[tuple[str, tuple]]:
    """(variable, index) for every element where masks[variable] is True."""
    return [
        (var, tuple(int(i) for i in index))
        for var in wrt
        for index in (zip(*np.nonzero(masks[var])) if np.ndim(masks[var]) else ([()] if masks[var] else []))
    ]


def _mark(masks: dict, engine, adjoints: list, shapes: dict, test) -> None:
    """masks[variable] |= test(its adjoint), for every differentiated variable the pass reached."""
    for node, adjoint in zip(engine.order, adjoints):
        if node.op == "var" and node.attr in masks and adjoint is not None:
            masks[node.attr] |= test(np.broadcast_to(adjoint, shapes[node.attr]))


def _not_finite_in_float(engine, values: list, wrt: list[str], shapes: dict) -> dict:
    """{variable: mask} of the elements whose float64 chain rule (as written) is not finite."""
    masks = {var: np.zeros(shapes[var], dtype=bool) for var in wrt}
    with np.errstate(all="ignore"):
        _mark(masks, engine, engine.backward(values, wrt), shapes, lambda a: ~np.isfinite(a))
    return masks


def _reached_by_kinks(engine, values: list, on_kink: list, wrt: list[str], shapes: dict) -> dict:
    """{variable: mask} of the elements that move a step on its kink to first order: the
    float64 adjoints of each kinked step's operands (seeded where the step is on its kink),
    nonzero or not finite. An element they do not reach moves the step's operands by o(s)
    only (abs(x ** 2) at 0 along x, clamp(x[147], …) along x[3]), so that step gives it
    equal sides; its own kinks reach it through their own steps."""
    masks = {var: np.zeros(shapes[var], dtype=bool) for var in wrt}
    with np.errstate(all="ignore"):
        for node, mask, _ in on_kink:
            for arg in _kink_args(node):
                start = engine.slot.get(id(arg))
                if start is None or arg.op == "const":
                    continue
                seed = mask if np.shape(mask) == np.shape(values[start]) else 1.0
                adjoints = engine.backward(values, wrt, start=start, seed=np.asarray(seed, dtype=float))
                _mark(masks, engine, adjoints, shapes, lambda a: (a != 0) | ~np.isfinite(a))
    return masks


def _at_kinks(nodes: list) -> str:
    """The steps at their kinks, in words: "'abs(x)' is at 0, where it is not differentiable"."""
    said = dict.fromkeys(f"'{node.text}' is at {PRIMITIVES[node.op].kink_words}" for node in nodes)
    words = " and ".join(said)  # floor(x) - floor(x): one text, said once
    if len(said) == 1:
        nodes = nodes[:1]
    if all(PRIMITIVES[node.op].jump for node in nodes):  # floor at an integer: a step, not a kink
        return words + (", where it jumps" if len(nodes) == 1 else ", where they jump")
    return words + (", where it is not differentiable" if len(nodes) == 1 else ", where they are not differentiable")


def judged_on_f(problem, reference, deadline=None):
    """(reference, {(variable, index): Singular}): the reference with the derivatives of f
    filled in where its chain rule broke but f is differentiable, and the elements that are
    kinks, undefined or unsettled; (variable, ALL) where the verdict covers the whole
    variable. deadline (a budget.Deadline) bounds the one-sided derivatives."""
    found: dict[tuple[str, tuple | None], Singular] = {}
    engine = ChainRule(problem.function, "float64")
    inputs = point_in(problem.point, "float64")
    # What the float64 chain rule says: one forward pass for its kinks and its gradient, and
    # the first step where it breaks, each asked once.
    floats = engine.forward(inputs)
    breaks = engine.undefined_at(inputs, problem.wrt)
    exact = MpChainRule(problem.function, problem.wrt)
    in_float = exact.kinks(floats)
    # A long-double reference taken for want of the exact one says why its infinities may be overflow.
    because = (
        f" (the reference is the long-double chain rule: {reference.why})" if reference.kind == "longdouble" else ""
    )
    if not reference.function_defined:
        message = "f is not finite at this point" + (f": {breaks}" if breaks else "") + because
        return reference, {(var, ALL): Singular("undefined", message) for var in problem.wrt}
    for var, index in _elements(reference.unsettled, list(reference.unsettled)):
        found[(var, index)] = Singular("unsettled", str(reference.notes[var][index]))
    broken = _elements({var: ~reference.defined[var] for var in problem.wrt}, problem.wrt)
    where = breaks if broken else ""
    shapes = {var: problem.point[var].shape for var in problem.wrt}
    if reference.kind == "longdouble":
        reason = "past the exact reference's reach"
        reached = _reached_by_kinks(engine, floats, in_float, problem.wrt, shapes)
        return reference, _past_exact(reference, in_float, reached, broken, found, where, because, reason)

    digits = reference.digits + 50  # the quotients' cancellation at their first steps, on top of what f needed
    # SymPy may write f otherwise (sqrt(x**2) is Abs(x) to it, whose derivative at 0 it calls 0):
    # wherever the chain rule as written breaks in float64, f itself is asked too.
    as_written = _elements(_not_finite_in_float(engine, floats, problem.wrt, shapes), problem.wrt)
    candidates = list(dict.fromkeys(broken + as_written))
    on_kink, rounding, notes, values = [], [], {}, None
    # The exact forward pass finds kinks that float64 rounding moved off; past EXACT_KINKS
    # elements it runs only where float64 sees a kink or a chain rule breaks.
    if problem.size <= EXACT_KINKS or in_float or candidates:
        try:
            values = exact.forward(exact_inputs(problem.point), digits, deadline)
        except ExactLimit as exc:
            reached = _reached_by_kinks(engine, floats, in_float, problem.wrt, shapes)
            return reference, _past_exact(reference, in_float, reached, broken, found, where, because, str(exc))
        on_kink = exact.kinks(values)
        exact_nodes = {id(node) for node, _, _ in on_kink}
        rounding = [item for item in in_float if id(item[0]) not in exact_nodes]
    if rounding:
        node, mask, _ = rounding[0]
        exact_operands = [values[exact.slot[id(a)]] for a in _kink_args(node)]
        distance = kink_distance(node, exact_operands, mask)
        notes = {
            var: f"in float64 '{node.text}' is at {PRIMITIVES[node.op].kink_words}, but the exact point is "
            f"{float(distance):.2g} away from it, where it is differentiable"
            for var in problem.wrt
        }
    reached = []
    if on_kink:
        reached = _elements(_reached_by_kinks(engine, floats, on_kink, problem.wrt, shapes), problem.wrt)
        candidates = list(dict.fromkeys(candidates + reached))
    # Without one-sided derivatives (too many elements, or past the deadline) the first kink
    # stands for every element it reaches: it is not known which of them it kinks along.
    kink_text = _at_kinks([on_kink[0][0]]) if on_kink else ""
    limits: dict[tuple[str, tuple], object] = {}
    flat: dict[tuple[str, tuple], str] = {}  # differentiable elements whose chain rule passes a kink
    try:
        if len(candidates) > MAX_ONE_SIDED:
            raise ExactLimit(f"{len(candidates)} elements are past the {MAX_ONE_SIDED} given one-sided derivatives")
        sided = OneSided(exact, exact_inputs(problem.point), values, digits, deadline) if candidates else None
        for var, index in candidates:
            if (var, index) in found:
                continue
            left, right, kinked = sided.sides(var, index)
            label = element_label(var, index)
            if left.value is None or right.value is None:
                failed = [
                    f"its {name} derivative {s.why}"
                    for name, s in (("right", right), ("left", left))
                    if s.value is None
                ]
                text = f"f is not differentiable in {label} here: " + " and ".join(failed)
                text += f"; {_at_kinks(kinked)}" if kinked else ""
                text += f"; the chain rule breaks: {where}" if where and (var, index) in broken else ""
                found[(var, index)] = Singular("undefined", text)
            elif not equal(left.value, right.value):
                lv, rv = _number(left.value), _number(right.value)
                ltext, rtext = _apart(left.value, right.value)
                at = _at_kinks(kinked) if kinked else f"f is not differentiable in {label} here"
                found[(var, index)] = Singular(
                    "kink", f"kink: {at}; left derivative {ltext}, right derivative {rtext}", lv, rv
                )
            elif (var, index) in broken:
                limits[(var, index)] = right.value
            elif kinked:  # relu(x) - relu(-x) at 0: f is x, but each relu takes one side of its kink
                flat[(var, index)] = (
                    f"f is differentiable here (both one-sided derivatives are {_text(right.value, 6)}), "
                    f"though {_at_kinks(kinked)}: a chain rule as written takes one side there"
                )
    except ExactLimit as exc:
        _fill_unsided(broken, reached, found, kink_text, where, str(exc))
    reference = _with_limits(reference, limits, notes, where, flat)
    return dataclasses.replace(reference, breaks=breaks), found


def _number(value) -> float:
    return float(value) if is_finite(value) else float("nan")


def _apart(left, right) -> tuple[str, str]:
    """Both sides with the fewest digits (at least 6) that show them different: sides of
    -2191766413.87 and -2191766413.85 are not "-2.19177e+09" twice, nor a side of 1e600
    "inf"."""
    for digits in range(6, 18):
        a, b = _text(left, digits), _text(right, digits)
        if a != b:
            return a, b
    return _text(left, 17), _text(right, 17)


def _text(value, digits: int) -> str:
    """An exact side as float64 prints it, or as mpmath does where float64 cannot hold it."""
    number = float(value)
    if value != 0 and not np.finfo(np.float64).tiny <= abs(number) < np.inf:
        return mpmath.nstr(value, digits)
    return f"{number:.{digits}g}"


def _kink_args(node):
    return node.args[0].args if node.op == "where" else node.args


def _fill_unsided(broken, reached, found, kink_text, where, reason):
    """Without f's one-sided derivatives (too many elements, or past the deadline) nothing is
    known of f at a singular step: neither a kink nor a point where f is not differentiable
    may be claimed (relu(x) - relu(-x) has both steps on their kinks and is just x), so the
    elements are `unsettled`, saying what the chain rule meets and why f was not asked."""
    for var, index in broken:
        if (var, index) not in found:
            label = element_label(var, index)
            text = f"the chain rule breaks in {label}" + (f": {where}" if where else "")
            found[(var, index)] = Singular("unsettled", f"{text}; {_not_known(label, reason)}")
    if kink_text:
        for var, index in reached:
            found.setdefault(
                (var, index), Singular("unsettled", f"{kink_text}; {_not_known(element_label(var, index), reason)}")
            )


def _not_known(label: str, reason: str) -> str:
    return f"f's one-sided derivatives are not computed ({reason}): whether f is differentiable in {label} is not known"


def _past_exact(reference, in_float: list, reached: dict, broken, found, where: str, because, reason: str):
    """Past the exact side's reach (a long-double reference): what the chain rule meets, and
    that f itself was not asked (as _fill_unsided)."""
    for var, index in broken:
        note = reference.notes[var][index]
        label = element_label(var, index)
        text = f"∂f/∂{label} is {note} in the chain rule" + (f": {where}" if where else "")
        text += because if note == "not finite" else ""
        found[(var, index)] = Singular("unsettled", f"{text}; {_not_known(label, reason)}")
    if in_float:
        kink_text = _at_kinks([in_float[0][0]])
        for var, index in _elements(reached, list(reached)):
            found.setdefault(
                (var, index), Singular("unsettled", f"{kink_text}; {_not_known(element_label(var, index), reason)}")
            )
    return found


def _with_limits(reference, limits: dict, notes: dict, where: str, flat: dict | None = None):
    """The reference with f's own derivative where the chain rule broke, and notes added: one
    per variable (notes), one per element (flat)."""
    flat = flat or {}
    if not limits and not notes and not flat:
        return reference
    hi = {k: v.copy() for k, v in reference.hi.items()}
    lo = {k: v.copy() for k, v in reference.lo.items()}
    defined = {k: v.copy() for k, v in reference.defined.items()}
    text = {k: v.copy() for k, v in reference.notes.items()}
    gradient = {k: v.copy() for k, v in reference.gradient.items()} if reference.gradient is not None else None
    for (var, index), value in limits.items():
        hi[var][index], lo[var][index] = split(value)
        defined[var][index] = True
        if gradient is not None:
            gradient[var][index] = value
        text[var][index] = (
            f"f is differentiable here (both one-sided derivatives are {float(value):.6g}), "
            f"though the chain rule breaks: {where}"
        )
    for var, note in notes.items():
        for index in np.ndindex(text[var].shape):
            text[var][index] = f"{text[var][index]}; {note}" if text[var][index] else note
    for (var, index), note in flat.items():
        text[var][index] = f"{text[var][index]}; {note}" if text[var][index] else note
    return dataclasses.replace(reference, hi=hi, lo=lo, defined=defined, notes=text, gradient=gradient)
