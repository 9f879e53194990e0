"""The reference: f and its exact gradient in high precision at the exact float64 point.

The symbolic derivative (diffcompare.exact.symbolic) is evaluated in mpmath at two
precisions, 30 and 50 digits. Where the two do not agree to AGREED_DIGITS
significant digits, cancellation ate them, and both precisions are doubled
until they do (up to 800 digits); the higher precision's value is kept. Constants are exact rationals and the point is the exact
binary value of each float64, so the only rounding is mpmath's own.

Every evaluation runs under the problem's deadline (diffcompare.exact.budget), and
mpmath's exp, sin … refuse arguments past 2^16384: either raises ExactLimit, and the
reference is then the long-double chain rule (longdouble_reference, with the reason).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import mpmath
import numpy as np

from diffcompare.engine.chainrule import ChainRule, point_in
from diffcompare.exact.numeric import MPMATH, Plan, mp_is_finite_real, real_part

REFERENCE_DIGITS = (30, 50)
MAX_REFERENCE_DIGITS = 800
AGREED_DIGITS = 24  # float64 needs 17; a few more so that the reference's own rounding never shows


@dataclass
class Reference:
    """The exact gradient at the point, in whichever form the problem's size allows.

    kind "sympy": SymPy's derivative in mpmath (gradient holds mpf, None where undefined).
    kind "longdouble": the chain-rule engine in np.longdouble (gradient is None).
    Both give hi + lo per element: float64 arrays whose sum is the reference value.
    """

    kind: str
    function_defined: bool
    hi: dict[str, np.ndarray]
    lo: dict[str, np.ndarray]
    defined: dict[str, np.ndarray]  # bool: a finite real reference exists
    notes: dict[str, np.ndarray]  # var -> object array of str: what to know about an element's reference
    digits: int = 0  # the precision the last element settled at (sympy kind)
    escalations: int = 0  # how often the precision had to be doubled
    gradient: dict[str, np.ndarray] | None = None
    form: object = field(default=None, repr=False)
    why: str = ""  # longdouble kind: why the exact reference was not had ("" past SymPy's size)

    def value(self, var: str, index: tuple):
        """One element's reference: an mpf (sympy kind) or a float (hi + lo is exact to ~32 digits)."""
        if self.gradient is not None:
            return self.gradient[var][index]
        return float(self.hi[var][index]) if self.defined[var][index] else None

    def one_sided(self, var: str, index: tuple, digits: int = 50, deadline=None) -> tuple[object, object]:
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
            outputs, _ = _evaluate(self.form, digits, shifted, deadline)
            value = outputs[offset]
            sides.append(value if mp_is_finite_real(value) else None)
        return sides[0], sides[1]


def split(reference) -> tuple[float, float]:
    """A high-precision number as float64 hi + lo (hi + lo carries ~32 digits)."""
    if isinstance(reference, mpmath.mpf):
        hi = float(reference)
        with mpmath.workdps(60):
            lo = float(reference - mpmath.mpf(hi)) if math.isfinite(hi) else 0.0
        return hi, lo
    hi = float(reference)
    return hi, float(np.longdouble(reference) - np.longdouble(hi)) if math.isfinite(hi) else 0.0


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


def _evaluate(form, digits: int, inputs: list[Fraction], deadline=None) -> tuple[list, mpmath.mpf]:
    """Outputs [f, ∂f/∂…] at `digits`, and the largest magnitude met on the way
    (the scale against which a result that cancels to nothing counts as zero)."""
    with mpmath.workdps(digits):
        plan = Plan(form.cse, form.inputs, MPMATH)
        regs = plan.run([mpmath.mpf(q.numerator) / q.denominator for q in inputs], deadline)
        scale = max((abs(r) for r in regs if mp_is_finite_real(r)), default=mpmath.mpf(0))
        return [real_part(regs[s]) for s in plan.outputs], scale


def _settled(a, b, scale_a, scale_b, low: int, high: int):
    """(value, done): b when a and b agree to AGREED_DIGITS; 0 when both vanish
    against the magnitudes they were computed from; else not done."""
    with mpmath.workdps(high + 10):
        if a == b or abs(a - b) <= abs(b) * mpmath.mpf(10) ** (-AGREED_DIGITS):
            return b, True
        if abs(a) <= scale_a * mpmath.mpf(10) ** (-(low - 5)) and abs(b) <= scale_b * mpmath.mpf(10) ** (-(high - 5)):
            return mpmath.mpf(0), True
    return b, False


def compute_reference(form, deadline=None) -> Reference:
    """SymPy's derivative in mpmath, raised in precision until it settles. Raises
    budget.ExactLimit past the deadline (a budget.Deadline) or an argument's magnitude."""
    inputs = _exact_inputs(form)
    low, high = REFERENCE_DIGITS
    count = 1 + len(form.gradient_exprs)
    values: list = [None] * count
    notes = [""] * count
    pending = set(range(count))
    undefined: set[int] = set()
    escalations = 0
    while True:
        a, scale_a = _evaluate(form, low, inputs, deadline)
        b, scale_b = _evaluate(form, high, inputs, deadline)
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

    gradient, reasons, hi, lo, defined, start = {}, {}, {}, {}, {}, 1
    for var in form.problem.wrt:
        shape = form.derivatives[var].shape
        size = int(np.prod(shape))
        g, r = np.empty(size, dtype=object), np.empty(size, dtype=object)
        h, lw = np.full(size, np.nan), np.zeros(size)
        for k in range(size):
            g[k] = None if start + k in undefined else values[start + k]
            r[k] = notes[start + k]
            if g[k] is not None:
                h[k], lw[k] = split(g[k])
        gradient[var], reasons[var] = g.reshape(shape), r.reshape(shape)
        hi[var], lo[var] = h.reshape(shape), lw.reshape(shape)
        defined[var] = np.array([v is not None for v in g], dtype=bool).reshape(shape)
        start += size
    return Reference(
        "sympy", 0 not in undefined, hi, lo, defined, reasons, high, escalations, gradient=gradient, form=form
    )


def longdouble_reference(problem, why: str = "") -> Reference:
    """Past the size where SymPy is affordable: the chain-rule engine in
    np.longdouble (a 64-bit significand on x86-64, three digits more than
    float64), at the exact float64 point, with the exact float64 constants.
    why: the reason the exact reference was not had, noted on every element."""
    engine = ChainRule(problem.function, np.longdouble)
    inputs = point_in(problem.point, np.longdouble)
    values = engine.forward(inputs)
    grads = engine.gradient(inputs, problem.wrt)
    function_defined = bool(np.all(np.isfinite(np.asarray(values[-1], dtype=np.longdouble))))
    general = [f"the reference is the long-double chain rule: {why}"] if why else []
    eps = float(np.finfo(np.longdouble).eps)
    if eps >= float(np.finfo(np.float64).eps):
        general.append("np.longdouble is float64 on this machine: this reference is no more precise than float64")
    # Only the local-derivative hazards (σ(1-σ) at saturation …) reach the gradient for sure.
    hazards = [(amp, why) for amp, why in engine.hazards(inputs, derivative_only=True) if amp * eps > 1e-17]
    if hazards:
        amp, why = hazards[0]
        general.append(f"the long-double reference itself may be off by ≈{min(amp * eps, 1):.0e} here: {why}")
    hi, lo, defined, notes = {}, {}, {}, {}
    for var in problem.wrt:
        g = np.asarray(grads[var], dtype=np.longdouble)
        with np.errstate(all="ignore"):
            h = g.astype(np.float64)
            lo[var] = np.where(np.isfinite(h), (g - h).astype(np.float64), 0.0)
        defined[var] = np.isfinite(g) & function_defined
        hi[var] = np.where(defined[var], h, np.nan)
        notes[var] = np.where(defined[var], "; ".join(general), "not finite").astype(object)
    return Reference("longdouble", function_defined, hi, lo, defined, notes, why=why)


def _why_not(value) -> str:
    if isinstance(value, mpmath.mpc) and mpmath.isfinite(value):
        return "not a real number"
    return "not finite"
