"""Points where a gradient element is not an ordinary number, judged on f, not on the tape.

A chain rule (SymPy's, the IR's, any backend's) can break at a point where f itself is
perfectly differentiable: sqrt(s) at s = 0 inside cos(12·sqrt(s)) with s = Σx², the
unselected branch of a where. And a step can sit on a kink in float64 while the exact
point is a hair away from it. So wherever the exact chain rule does not give a finite
number, or a non-smooth step sits exactly on its kink, the element is decided from f
alone: its one-sided derivatives in that element (only the differentiated variables;
data and constants are not differentiated), from exact difference quotients in mpmath
at steps 2⁻⁸⁰, 2⁻¹⁰⁰ and 2⁻¹²⁰ (times max(1, |x|)), Richardson-extrapolated. Three
honest outcomes, and one more:

- `kink`: both sides exist and differ (relative 1e-20). Every backend's value is shown
  with the left and right derivatives and which of them (if any) it returned.
- `undefined`: f is not finite here, or a side is infinite or has no limit: f is not
  differentiable, and no backend's value is wrong or right.
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
from diffcompare.exact.reference import split
from diffcompare.lang.ir import element_label
from diffcompare.lang.primitives import PRIMITIVES

STEPS = (80, 100, 120)  # the difference quotients' steps, 2^-p · max(1, |x|)
EQUAL_SIDES = mpmath.mpf(10) ** -20  # relative: the sides' own error is O(2^-180)
MAX_ONE_SIDED = 256  # elements given one-sided derivatives; past it, the element-free verdict
EXACT_KINKS = 10_000  # point elements up to which the exact forward pass always looks for kinks
ALL = None  # the index key of a Singular that covers every element of its variable


@dataclass
class Singular:
    verdict: str  # "kink", "undefined" or "unsettled"
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

    @property
    def replaces_numbers(self) -> bool:
        """Kinks and undefined points have no reference to measure a value against."""
        return self.verdict in ("kink", "undefined")


@dataclass
class Side:
    value: object = None  # mpf: the one-sided derivative, where it exists
    why: str = ""  # where it does not: "is infinite", "has no limit", "is not finite"


def _richardson(d1, d2, h1, h2):
    """The limit of D(h) = c + k·h from two steps: exact for the linear term."""
    return (d2 * h1 - d1 * h2) / (h1 - h2)


def _side(quotients: list, steps: list) -> Side:
    """A one-sided derivative from difference quotients at shrinking steps."""
    if not all(is_finite(q) for q in quotients):
        return Side(why="does not exist (f is not a finite real number on that side)")
    d1, d2, d3 = quotients
    if d1 == d2 == d3:
        return Side(d3)
    l12 = _richardson(d1, d2, steps[0], steps[1])
    l23 = _richardson(d2, d3, steps[1], steps[2])
    if abs(l12 - l23) <= mpmath.mpf(10) ** -9 * max(abs(l12), abs(l23)):
        return Side(l23)
    ratio = mpmath.mpf(2) ** -9
    if abs(d3) <= ratio * abs(d2) and abs(d2) <= ratio * abs(d1):
        return Side(mpmath.mpf(0))  # shrinks like |h|^a, a ≥ ½: a flat side (x·|x|^½ at 0)
    if abs(d3) > 2 * abs(d2) > 4 * abs(d1):
        return Side(why="is infinite")
    return Side(why="has no limit")


class OneSided:
    """Exact one-sided derivatives of f in single elements of the differentiated variables."""

    def __init__(self, problem, digits: int, deadline=None):
        self.engine = MpChainRule(problem.function, problem.wrt)
        self.point = exact_inputs(problem.point)
        self.digits = digits
        self.deadline = deadline
        self.f0 = self.engine.value(self.point, digits, deadline)

    def sides(self, var: str, index: tuple) -> tuple[Side, Side]:
        out = []
        with mpmath.workdps(self.digits):
            x = self.point[var][index]
            scale = max(mpmath.mpf(1), abs(x))
            for sign in (-1, 1):
                steps, quotients = [], []
                for p in STEPS:
                    h = sign * scale * mpmath.mpf(2) ** -p
                    shifted = dict(self.point)
                    shifted[var] = self.point[var].copy()
                    shifted[var][index] = x + h
                    value = self.engine.value(shifted, self.digits, self.deadline)
                    with mpmath.workdps(self.digits):
                        quotients.append((value - self.f0) / h if is_finite(value) else mpmath.nan)
                    steps.append(h)
                out.append(_side(quotients, steps))
        return out[0], out[1]


def _equal(left, right) -> bool:
    return left == right or abs(left - right) <= EQUAL_SIDES * max(abs(left), abs(right))


def _number(value) -> float:
    return float(value) if is_finite(value) else float("nan")


def judged_on_f(problem, reference, deadline=None):
    """(reference, {(variable, index): Singular}): the reference with the derivatives of f
    filled in where its chain rule broke but f is differentiable, and the elements that are
    kinks, undefined or unsettled; (variable, ALL) where the verdict covers the whole
    variable. deadline (a budget.Deadline) bounds the one-sided derivatives."""
    found: dict[tuple[str, tuple | None], Singular] = {}
    engine = ChainRule(problem.function, "float64")
    inputs = point_in(problem.point, "float64")
    # A long-double reference taken for want of the exact one says why its infinities may be overflow.
    because = (
        f" (the reference is the long-double chain rule: {reference.why})" if reference.kind == "longdouble" else ""
    )
    if not reference.function_defined:
        where = engine.undefined_at(inputs, problem.wrt)
        message = "f is not finite at this point" + (f": {where}" if where else "") + because
        return reference, {(var, ALL): Singular("undefined", message) for var in problem.wrt}
    for var, mask in reference.unsettled.items():
        for index in zip(*np.nonzero(mask)) if mask.ndim else ([()] if mask else []):
            index = tuple(int(i) for i in index)
            found[(var, index)] = Singular("unsettled", str(reference.notes[var][index]))
    broken = [
        (var, tuple(int(i) for i in index))
        for var in problem.wrt
        for index in (
            zip(*np.nonzero(~reference.defined[var]))
            if reference.defined[var].ndim
            else ([()] if not reference.defined[var] else [])
        )
    ]
    if reference.kind == "longdouble":
        return reference, _past_exact(
            problem, reference, engine, inputs, broken, found, because, "past the exact reference's reach"
        )

    exact = MpChainRule(problem.function, problem.wrt)
    digits = reference.digits + 50  # the quotients' cancellation, 2^-120, on top of what f needed
    in_float = exact.kinks(engine.forward(inputs))
    # SymPy may write f otherwise (sqrt(x**2) is Abs(x) to it, whose derivative at 0 it calls 0):
    # wherever the chain rule as written breaks in float64, f itself is asked too.
    with np.errstate(all="ignore"):
        as_written = engine.gradient(inputs, problem.wrt)
    candidates = list(broken) + [
        (var, tuple(int(i) for i in index))
        for var in problem.wrt
        for index in np.ndindex(problem.point[var].shape)
        if not np.isfinite(np.asarray(as_written[var])[index]) and (var, tuple(int(i) for i in index)) not in broken
    ]
    on_kink, rounding, notes = [], [], {}
    # The exact forward pass finds kinks that float64 rounding moved off; past EXACT_KINKS
    # elements it runs only where float64 sees a kink or a chain rule breaks.
    if problem.size <= EXACT_KINKS or in_float or candidates:
        try:
            values = exact.forward(exact_inputs(problem.point), digits, deadline)
        except ExactLimit as exc:
            return reference, _past_exact(problem, reference, engine, inputs, broken, found, because, str(exc))
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
    if on_kink:
        taken = set(candidates)
        candidates += [
            (var, tuple(int(i) for i in index))
            for var in problem.wrt
            for index in np.ndindex(problem.point[var].shape)
            if (var, tuple(int(i) for i in index)) not in taken
        ]
    where = engine.undefined_at(inputs, problem.wrt) if broken else ""
    kink_text = ""
    if on_kink:
        node = on_kink[0][0]
        kink_text = f"'{node.text}' is at {PRIMITIVES[node.op].kink_words}, where it is not differentiable"
    limits: dict[tuple[str, tuple], object] = {}
    try:
        if len(candidates) > MAX_ONE_SIDED:
            raise ExactLimit(f"{len(candidates)} elements are past the {MAX_ONE_SIDED} given one-sided derivatives")
        sided = OneSided(problem, digits, deadline) if candidates else None
        for var, index in candidates:
            if (var, index) in found:
                continue
            left, right = sided.sides(var, index)
            label = element_label(var, index)
            if left.value is None or right.value is None:
                failed = [
                    f"its {name} derivative {s.why}"
                    for name, s in (("right", right), ("left", left))
                    if s.value is None
                ]
                text = f"f is not differentiable in {label} here: " + " and ".join(failed)
                text += f"; {kink_text}" if kink_text else ""
                text += f"; the chain rule breaks: {where}" if where and (var, index) in broken else ""
                found[(var, index)] = Singular("undefined", text)
            elif not _equal(left.value, right.value):
                lv, rv = _number(left.value), _number(right.value)
                ltext, rtext = _apart(lv, rv)
                text = f"kink: {kink_text or 'f'}; left derivative {ltext}, right derivative {rtext}"
                found[(var, index)] = Singular("kink", text, lv, rv)
            elif (var, index) in broken:
                limits[(var, index)] = right.value
    except ExactLimit as exc:
        _fill_unsided(problem, broken, found, kink_text, where, f"its one-sided derivatives are not computed: {exc}")
    reference = _with_limits(reference, limits, notes, where)
    return dataclasses.replace(reference, breaks=where or engine.undefined_at(inputs, problem.wrt)), found


def _apart(left: float, right: float) -> tuple[str, str]:
    """Both sides with the fewest digits (at least 6) that show them different: sides of
    -2191766413.87 and -2191766413.85 are not "-2.19177e+09" twice."""
    for digits in range(6, 18):
        a, b = f"{left:.{digits}g}", f"{right:.{digits}g}"
        if a != b:
            return a, b
    return repr(left), repr(right)


def _kink_args(node):
    return node.args[0].args if node.op == "where" else node.args


def _fill_unsided(problem, broken, found, kink_text, where, reason):
    for var, index in broken:
        if (var, index) not in found:
            text = f"∂f/∂{element_label(var, index)} is not finite at this point" + (f": {where}" if where else "")
            found[(var, index)] = Singular("undefined", f"{text}; {reason}")
    if kink_text:
        for var in problem.wrt:
            found.setdefault((var, ALL), Singular("kink", f"kink: {kink_text}; {reason}"))


def _past_exact(problem, reference, engine, inputs, broken, found, because, reason: str):
    """Past the exact side's reach (a long-double reference): the chain rule's verdicts, said so."""
    where = engine.undefined_at(inputs, problem.wrt) if broken else ""
    for var, index in broken:
        note = reference.notes[var][index]
        text = f"∂f/∂{element_label(var, index)} is {note} at this point" + (f": {where}" if where else "")
        found[(var, index)] = Singular("undefined", text + (because if note == "not finite" else ""))
    kinks = engine.kinks(inputs, problem.wrt)
    if kinks:
        message = f"kink: {kinks[0]}; its one-sided derivatives are not computed: {reason}"
        for var in problem.wrt:
            found.setdefault((var, ALL), Singular("kink", message))
    return found


def _with_limits(reference, limits: dict, notes: dict, where: str):
    """The reference with f's own derivative where the chain rule broke, and notes added."""
    if not limits and not notes:
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
    return dataclasses.replace(reference, hi=hi, lo=lo, defined=defined, notes=text, gradient=gradient)
