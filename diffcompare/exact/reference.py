"""The reference: f and its exact gradient in high precision at the exact float64 point.

Two exact forms, one settling rule:
- kind "sympy": SymPy's derivative (diffcompare.exact.symbolic) evaluated in mpmath,
  where SymPy can afford the problem;
- kind "mpmath": the IR's own chain rule run in mpmath (diffcompare.exact.mpchain),
  past SymPy's size or time. The two agree to 25 digits wherever both exist (a test).

Either is evaluated at two precisions, 30 and 50 digits. An element settles when the
two agree to AGREED_DIGITS significant digits (or are both exactly 0); otherwise both
precisions are doubled, up to MAX_REFERENCE_DIGITS, and nothing is guessed: an element
that cancels to nothing at every precision settles as 0 only when its magnitude is
proven below float64's smallest subnormal (|value| below the rounding floor of the
higher precision, scale·10^-(digits-5), and that floor under 2^-1075), where 0 is its
correct rounding in every dtype judged. An element that never settles is `unsettled`
in its rows, with the digits the two precisions shared.

Constants are exact rationals and the point is the exact binary value of each float64,
so the only rounding is mpmath's own. Every evaluation runs under the problem's deadline
(diffcompare.exact.budget), and mpmath's exp, sin … refuse arguments past 2^16384:
either raises ExactLimit. Past the deadline even for the chain rule in mpmath, the
reference is the long-double chain rule, with an error bound per element that the
verdicts respect (longdouble_reference).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import mpmath
import numpy as np

from diffcompare.engine.chainrule import ChainRule, point_in
from diffcompare.exact.budget import ExactLimit
from diffcompare.exact.mpchain import MpChainRule, exact_inputs
from diffcompare.exact.numeric import MPMATH, Plan, mp_is_finite_real, real_part
from diffcompare.lang.ir import topo_order

REFERENCE_DIGITS = (30, 50)
MAX_REFERENCE_DIGITS = 800
AGREED_DIGITS = 24  # float64 needs 17; a few more so that the reference's own rounding never shows
# Half float64's smallest subnormal: a true value below it rounds to 0 in every dtype judged.
ZERO_FLOOR = mpmath.mpf(2) ** -1075


@dataclass
class Reference:
    """The exact gradient at the point, in whichever form the problem's size allows.

    kind "sympy" or "mpmath": settled in mpmath (gradient holds mpf, None where undefined).
    kind "longdouble": the chain-rule engine in np.longdouble (gradient is None), with
    `bound`: an error bound per element.
    All give hi + lo per element: float64 arrays whose sum is the reference value.
    """

    kind: str
    function_defined: bool
    hi: dict[str, np.ndarray]
    lo: dict[str, np.ndarray]
    defined: dict[str, np.ndarray]  # bool: a finite real reference exists
    notes: dict[str, np.ndarray]  # var -> object array of str: what to know about an element's reference
    digits: int = 0  # the precision the last element settled at (sympy, mpmath kinds)
    escalations: int = 0  # how often the precision had to be doubled
    gradient: dict[str, np.ndarray] | None = None
    form: object = field(default=None, repr=False)
    why: str = ""  # why the SymPy reference was not had ("" where it is the SymPy one or past its size)
    unsettled: dict[str, np.ndarray] = field(default_factory=dict)  # var -> bool: never settled
    bound: dict[str, np.ndarray] = field(default_factory=dict)  # longdouble: var -> |error| bound
    breaks: str = ""  # where the float64 chain rule breaks at this point, in words ("" nowhere)

    def value(self, var: str, index: tuple):
        """One element's reference: an mpf (sympy, mpmath kinds) or a float (hi + lo is exact to ~32 digits)."""
        if self.gradient is not None:
            return self.gradient[var][index]
        return float(self.hi[var][index]) if self.defined[var][index] else None


def split(reference) -> tuple[float, float]:
    """A high-precision number as float64 hi + lo (hi + lo carries ~32 digits)."""
    if isinstance(reference, mpmath.mpf):
        hi = float(reference)
        with mpmath.workdps(60):
            lo = float(reference - mpmath.mpf(hi)) if math.isfinite(hi) else 0.0
        return hi, lo
    hi = float(reference)
    return hi, float(np.longdouble(reference) - np.longdouble(hi)) if math.isfinite(hi) else 0.0


def _sympy_evaluator(form):
    """digits -> ([f, ∂f/∂…], scale): SymPy's derivative in mpmath at the exact point, and
    the exact values of its named exponents (symbolic.exponent_symbol)."""
    cse = form.cse  # before any precision: a SymPy step, under SymPy's time limit
    return plan_evaluator(form.problem.point, cse, form.inputs, form.constant_values)


def plan_evaluator(point: dict, cse, symbols: list, constant_values: list):
    """digits -> (outputs, scale): SymPy expressions (as sympy.cse gave them) over the point's
    element symbols and named exponents (symbols, in that order), in mpmath at the exact point."""
    exact = exact_inputs(point)
    inputs = [v for var in point for v in exact[var].ravel()]

    def evaluate(digits: int, deadline=None):
        with mpmath.workdps(digits):
            plan = Plan(cse, symbols, MPMATH)
            constants = [mpmath.mpf(c.p) / c.q for c in constant_values]
            regs = plan.run([+v for v in inputs] + constants, deadline)
            scale = max((abs(r) for r in regs if mp_is_finite_real(r)), default=mpmath.mpf(0))
            return [real_part(regs[s]) for s in plan.outputs], scale

    return evaluate


def _chain_evaluator(problem):
    """digits -> ([f, ∂f/∂…], scale): the IR's chain rule in mpmath at the exact point."""
    engine = MpChainRule(problem.function, problem.wrt)
    inputs = exact_inputs(problem.point)

    def evaluate(digits: int, deadline=None):
        values, grads, scale = engine.gradient(inputs, digits, deadline)
        outputs = [values[-1][()]]
        for var in problem.wrt:
            outputs += list(grads[var].ravel())
        return outputs, scale

    return evaluate


@dataclass
class Settled:
    values: list  # mpf per output; None where not a finite real number
    notes: list[str]
    unsettled: set[int]
    digits: int
    escalations: int


def _agree(a, b) -> bool:
    return a == b or abs(a - b) <= abs(b) * mpmath.mpf(10) ** (-AGREED_DIGITS)


def _shared_digits(a, b) -> float:
    if b == 0:
        return 0.0
    with mpmath.workdps(30):
        diff = abs(a - b) / abs(b)
        return 0.0 if diff >= 1 else float(-mpmath.log10(diff)) if diff else float(AGREED_DIGITS)


def settle(evaluate, count: int, deadline=None) -> Settled:
    """Each of `count` outputs of evaluate(digits, deadline) -> (outputs, scale), raised in
    precision until two precisions agree to AGREED_DIGITS, or both lie under a rounding
    floor that proves the value below float64's smallest number (then exactly 0)."""
    low, high = REFERENCE_DIGITS
    values: list = [None] * count
    notes = [""] * count
    pending = set(range(count))
    escalations = 0
    a, scale_a = evaluate(low, deadline)
    while True:
        b, scale_b = evaluate(high, deadline)
        with mpmath.workdps(high + 10):
            for i in sorted(pending):
                if not mp_is_finite_real(b[i]):
                    if not mp_is_finite_real(a[i]):  # at both precisions: not a finite real number
                        notes[i] = _why_not(b[i])
                        values[i] = None
                        pending.discard(i)
                    continue  # finite at one precision only: raise both
                values[i] = b[i]
                if not mp_is_finite_real(a[i]):
                    continue
                if _agree(a[i], b[i]):
                    pending.discard(i)
                    continue
                floor_a = scale_a * mpmath.mpf(10) ** (5 - low)
                floor_b = scale_b * mpmath.mpf(10) ** (5 - high)
                if abs(a[i]) <= floor_a and abs(b[i]) <= floor_b and floor_b < ZERO_FLOOR:
                    values[i] = mpmath.mpf(0)
                    notes[i] = (
                        f"the reference cancels to nothing at {low} and {high} digits; its magnitude is below "
                        f"{mpmath.nstr(floor_b, 2)}, so 0 is its correct rounding"
                    )
                    pending.discard(i)
        if not pending or 2 * high > MAX_REFERENCE_DIGITS:
            break
        a, scale_a, low, high = b, scale_b, high, 2 * high
        escalations += 1
    for i in pending:  # never called agree or disagree on a guess: the rows say unsettled
        shared = _shared_digits(a[i], b[i]) if mp_is_finite_real(a[i]) and mp_is_finite_real(b[i]) else 0.0
        notes[i] = (
            f"the reference did not settle: at {low} and {high} digits it agrees with itself to only "
            f"{shared:.0f} digits (value shown: the {high}-digit one)"
        )
    return Settled(values, notes, set(pending), high, escalations)


def _assemble(kind: str, problem, shapes: dict, settled: Settled, form=None, why: str = "") -> Reference:
    gradient, reasons, hi, lo, defined, unsettled, start = {}, {}, {}, {}, {}, {}, 1
    for var in problem.wrt:
        shape = shapes[var]
        size = int(np.prod(shape))
        g, r = np.empty(size, dtype=object), np.empty(size, dtype=object)
        h, lw = np.full(size, np.nan), np.zeros(size)
        u = np.zeros(size, dtype=bool)
        for k in range(size):
            g[k] = settled.values[start + k]
            r[k] = settled.notes[start + k]
            u[k] = start + k in settled.unsettled
            if g[k] is not None:
                h[k], lw[k] = split(g[k])
        gradient[var], reasons[var] = g.reshape(shape), r.reshape(shape)
        hi[var], lo[var], unsettled[var] = h.reshape(shape), lw.reshape(shape), u.reshape(shape)
        defined[var] = np.array([v is not None for v in g], dtype=bool).reshape(shape)
        start += size
    return Reference(
        kind,
        settled.values[0] is not None,
        hi,
        lo,
        defined,
        reasons,
        settled.digits,
        settled.escalations,
        gradient=gradient,
        form=form,
        why=why,
        unsettled=unsettled,
    )


def compute_reference(form, deadline=None) -> Reference:
    """SymPy's derivative in mpmath, raised in precision until it settles. Raises
    budget.ExactLimit past the deadline (a budget.Deadline) or an argument's magnitude."""
    settled = settle(_sympy_evaluator(form), 1 + len(form.gradient_exprs), deadline)
    shapes = {var: form.derivatives[var].shape for var in form.problem.wrt}
    return _assemble("sympy", form.problem, shapes, settled, form=form)


# Seconds per element of each operation for the chain rule in mpmath at 30 and 50 digits,
# forward and reverse: measured 46-53 µs on Rosenbrock at 10^3 and 10^4 elements (x86-64,
# Python 3.11, mpmath 1.3). A problem whose estimate is past the exact side's time left is
# not started: the deadline would be spent waiting for a reference that cannot come.
CHAIN_S_PER_ELEMENT_OP = 50e-6


def chain_cost_s(problem) -> float:
    """The chain rule in mpmath's expected time for one settling round (two precisions)."""
    return CHAIN_S_PER_ELEMENT_OP * sum(max(1, math.prod(node.shape)) for node in topo_order(problem.function))


def chain_reference(problem, deadline=None, why: str = "") -> Reference:
    """The IR's chain rule in mpmath, raised in precision until it settles (same rule as
    compute_reference). why: the reason SymPy's reference was not had."""
    if deadline is not None:
        deadline.check()
    if deadline is not None and chain_cost_s(problem) > deadline.remaining():
        raise ExactLimit(
            f"the chain rule in mpmath would take about {chain_cost_s(problem):.0f} s here, "
            f"past the {max(deadline.remaining(), 0):.0f} s left to the exact side"
        )
    count = 1 + sum(problem.point[var].size for var in problem.wrt)
    settled = settle(_chain_evaluator(problem), count, deadline)
    shapes = {var: problem.point[var].shape for var in problem.wrt}
    return _assemble("mpmath", problem, shapes, settled, why=why)


def longdouble_reference(problem, why: str = "") -> Reference:
    """Past the deadline even for the chain rule in mpmath: the chain-rule engine in
    np.longdouble (a 64-bit significand on x86-64, three digits more than float64), at
    the exact float64 point, with the exact float64 constants.

    Its error is estimated per element, not assumed away: first-order rounding errors
    scale with ε, so the long-double result's error is its distance from the float64
    chain rule's times ε(longdouble)/ε(float64) = 2⁻¹¹, taken 16 times over (2⁻⁷), plus
    16 ε(longdouble)·|value|. The estimate is `bound`; a row whose verdict it could
    change is `unsettled` (running.cells). why: the reason the exact reference was not had."""
    engine = ChainRule(problem.function, np.longdouble)
    inputs = point_in(problem.point, np.longdouble)
    values = engine.forward(inputs)
    grads = engine.gradient(inputs, problem.wrt)
    doubles = ChainRule(problem.function, np.float64).gradient(point_in(problem.point, np.float64), problem.wrt)
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
    hi, lo, defined, notes, bound = {}, {}, {}, {}, {}
    for var in problem.wrt:
        g = np.asarray(grads[var], dtype=np.longdouble)
        with np.errstate(all="ignore"):
            h = g.astype(np.float64)
            lo[var] = np.where(np.isfinite(h), (g - h).astype(np.float64), 0.0)
            apart = np.abs(g - np.asarray(doubles[var], dtype=np.longdouble)).astype(np.float64)
            size = np.abs(h)
            # Where float64 failed outright, nothing says how far long double is off: the whole value.
            estimate = np.where(np.isfinite(apart), apart * 2.0**-7, size) + 16 * eps * size
        defined[var] = np.isfinite(g) & function_defined
        hi[var] = np.where(defined[var], h, np.nan)
        bound[var] = np.where(defined[var], estimate, np.nan)
        # One note per distinct estimate, shared by its elements: not a string per element (10⁷ of them are 4.8 GB).
        said: dict[str, str] = {"not finite": "not finite"}
        text = [
            said.get(k := f"{b:.1g}") or said.setdefault(k, _estimated(general, b)) if ok else said["not finite"]
            for b, ok in zip(bound[var].ravel().tolist(), defined[var].ravel().tolist(), strict=True)
        ]
        notes[var] = np.array(text, dtype=object).reshape(h.shape)
    return Reference("longdouble", function_defined, hi, lo, defined, notes, why=why, bound=bound)


def _estimated(general: list[str], b: float) -> str:
    return "; ".join([*general, f"its error is estimated at ≤ {b:.1g} (from its distance to float64)"])


def _why_not(value) -> str:
    if isinstance(value, mpmath.mpc) and mpmath.isfinite(value):
        return "not a real number"
    return "not finite"
