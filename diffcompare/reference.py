"""The reference: f and its exact gradient in high precision at the exact float64 point.

The symbolic derivative (diffcompare.symbolic) is evaluated in mpmath at two
precisions, 30 and 50 digits. Where the two do not agree to AGREED_DIGITS
significant digits, cancellation ate them, and both precisions are doubled
until they do (up to 800 digits); the higher precision's value is kept. Constants are exact rationals and the point is the exact
binary value of each float64, so the only rounding is mpmath's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import mpmath
import numpy as np

from diffcompare.numeric import MPMATH, Plan, mp_is_finite_real

REFERENCE_DIGITS = (30, 50)
MAX_REFERENCE_DIGITS = 800
AGREED_DIGITS = 24  # float64 needs 17; a few more so that the reference's own rounding never shows


@dataclass
class Reference:
    function: mpmath.mpf | None  # f at the point; None where not a finite real number
    gradient: dict[str, np.ndarray]  # var -> object array of mpf, or None where not finite/real
    notes: dict[str, np.ndarray]  # var -> object array of str: why an element has no reference
    digits: int  # the precision the last element settled at
    escalations: int = 0  # how often the precision had to be doubled
    form: object = field(default=None, repr=False)

    def one_sided(self, var: str, index: tuple, digits: int = 50) -> tuple[object, object]:
        """∂f/∂var[index] just left and just right of the point (δ = 2⁻¹⁰⁰·max(1, |x|)):
        at a kink these are the two one-sided derivatives."""
        offset = _output_offset(self.form, var, index)
        position = _input_position(self.form, var, index)
        inputs = _exact_inputs(self.form)
        delta = Fraction(1, 2**100) * max(Fraction(1), abs(inputs[position]))
        sides = []
        for sign in (-1, 1):
            shifted = list(inputs)
            shifted[position] += sign * delta
            outputs, _ = _evaluate(self.form, digits, shifted)
            value = outputs[offset]
            sides.append(value if mp_is_finite_real(value) else None)
        return sides[0], sides[1]


def _exact_inputs(form) -> list[Fraction]:
    return [Fraction(float(v)) for var in form.problem.point for v in form.problem.point[var].ravel()]


def _input_position(form, var: str, index: tuple) -> int:
    start = 0
    for name, value in form.problem.point.items():
        if name == var:
            return start + int(np.ravel_multi_index(index, value.shape)) if value.shape else start
        start += value.size
    raise KeyError(var)


def _output_offset(form, var: str, index: tuple) -> int:
    start = 1  # output 0 is f itself
    for name in form.problem.wrt:
        shape = form.derivatives[name].shape
        if name == var:
            return start + (int(np.ravel_multi_index(index, shape)) if shape else 0)
        start += int(np.prod(shape))
    raise KeyError(var)


def _evaluate(form, digits: int, inputs: list[Fraction]) -> tuple[list, mpmath.mpf]:
    """Outputs [f, ∂f/∂…] at `digits`, and the largest magnitude met on the way
    (the scale against which a result that cancels to nothing counts as zero)."""
    with mpmath.workdps(digits):
        plan = Plan(form.cse, form.inputs, MPMATH)
        regs = plan.run([mpmath.mpf(q.numerator) / q.denominator for q in inputs])
        scale = max((abs(r) for r in regs if mp_is_finite_real(r)), default=mpmath.mpf(0))
        return [regs[s] for s in plan.outputs], scale


def _settled(a, b, scale_a, scale_b, low: int, high: int):
    """(value, done): b when a and b agree to AGREED_DIGITS; 0 when both vanish
    against the magnitudes they were computed from; else not done."""
    with mpmath.workdps(high + 10):
        if a == b or abs(a - b) <= abs(b) * mpmath.mpf(10) ** (-AGREED_DIGITS):
            return b, True
        if abs(a) <= scale_a * mpmath.mpf(10) ** (-(low - 5)) and abs(b) <= scale_b * mpmath.mpf(10) ** (-(high - 5)):
            return mpmath.mpf(0), True
    return b, False


def compute_reference(form) -> Reference:
    inputs = _exact_inputs(form)
    low, high = REFERENCE_DIGITS
    count = 1 + len(form.gradient_exprs)
    values: list = [None] * count
    notes = [""] * count
    pending = set(range(count))
    undefined: set[int] = set()
    escalations = 0
    while True:
        a, scale_a = _evaluate(form, low, inputs)
        b, scale_b = _evaluate(form, high, inputs)
        for i in sorted(pending):
            if not mp_is_finite_real(b[i]):
                notes[i] = _why_not(b[i])
                undefined.add(i)
                pending.discard(i)
                continue
            if not mp_is_finite_real(a[i]):
                continue  # finite only at the higher precision: raise both
            value, done = _settled(a[i], b[i], scale_a, scale_b, low, high)
            values[i] = value
            if done:
                pending.discard(i)
        if not pending or high >= MAX_REFERENCE_DIGITS:
            for i in pending:  # kept, with a note: the row says its reference is uncertain
                notes[i] = f"the reference did not settle below {high} digits"
            break
        low, high = high, 2 * high
        escalations += 1

    gradient, reasons, start = {}, {}, 1
    for var in form.problem.wrt:
        shape = form.derivatives[var].shape
        size = int(np.prod(shape))
        g = np.empty(size, dtype=object)
        r = np.empty(size, dtype=object)
        for k in range(size):
            g[k] = None if start + k in undefined else values[start + k]
            r[k] = notes[start + k]
        gradient[var], reasons[var] = g.reshape(shape), r.reshape(shape)
        start += size
    function = None if 0 in undefined else values[0]
    return Reference(function, gradient, reasons, high, escalations, form)


def _why_not(value) -> str:
    if isinstance(value, mpmath.mpc) and mpmath.isfinite(value):
        return "not a real number"
    return "not finite"
