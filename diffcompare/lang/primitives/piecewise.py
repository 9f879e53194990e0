"""The piecewise primitives: min, max, clamp, where and the comparisons (continuous, with
kinks), and the piecewise-constant ones, floor, ceil, round, trunc, sign and a % b, whose
derivative is 0 (1 and -floor(a/b) for a % b) away from the jumps they are declared with
(Primitive.jump): at a jump f is not continuous, so not differentiable (exact.singular says so).

round rounds half to even (2.5 -> 2, 3.5 -> 4) in NumPy, torch and jax alike, and so here:
its jumps are at the half-integers. a % b has the sign of the divisor (Python's %,
np.mod, torch.remainder, jnp.mod), a - b·floor(a/b). In SymPy each is a step function whose
derivative is 0 (`step_classes`: SymPy's own floor and sign differentiate to an
unevaluated Derivative and a DiracDelta), so SymPy's, mpmath's and the engine's derivatives
are those away from the jumps.
"""

from __future__ import annotations

import functools
import math
import operator as op

import numpy as np

from diffcompare.lang.primitives.core import comparison, elementwise
from diffcompare.lang.primitives.rules import _at_bound, _tie, _tie_share

# min, max, clamp and where: continuous, with kinks.
KINKED = (
    elementwise(
        "min",
        lambda g, ans, a, b: g * (a <= b) * _tie_share(a, b),
        lambda g, ans, a, b: g * (b <= a) * _tie_share(a, b),
        kink=_tie,
        kink_words="a tie of its arguments",
        numpy="minimum",
        sympy="Min",
        latex=r"\min",
        fuzz=True,
    ),
    elementwise(
        "max",
        lambda g, ans, a, b: g * (a >= b) * _tie_share(a, b),
        lambda g, ans, a, b: g * (b >= a) * _tie_share(a, b),
        kink=_tie,
        kink_words="a tie of its arguments",
        numpy="maximum",
        sympy="Max",
        latex=r"\max",
        fuzz=True,
    ),
    elementwise(
        "clamp",
        # torch.clamp's convention: the gradient passes on the closed interval.
        lambda g, ans, x, lo, hi: g * ((x >= lo) & (x <= hi)),
        lambda g, ans, x, lo, hi: g * (x < lo),
        lambda g, ans, x, lo, hi: g * (x > hi),
        forward=lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
        kink=_at_bound,
        kink_words="a bound",
        numpy="clip",
        sympy=lambda sympy: lambda x, lo, hi: sympy.Min(sympy.Max(x, lo), hi),
    ),
    elementwise(
        "where",
        None,
        lambda g, ans, c, a, b: np.where(c, g, 0 * g),
        lambda g, ans, c, a, b: np.where(c, 0 * g, g),
        kink=_tie,  # applied to the condition's operands: its boundary is a == b
        kink_words="the boundary of its condition",
        sympy=lambda sympy: lambda c, a, b: sympy.Piecewise((a, c), (b, True)),
    ),
)

# Comparisons: only inside where(); no derivative.
COMPARISONS = (
    comparison("lt", np.less, op.lt, "Lt"),
    comparison("le", np.less_equal, op.le, "Le"),
    comparison("gt", np.greater, op.gt, "Gt"),
    comparison("ge", np.greater_equal, op.ge, "Ge"),
    comparison("eq", np.equal, op.eq, "Eq"),
    comparison("ne", np.not_equal, op.ne, "Ne"),
)


# --- the piecewise-constant primitives ----------------------------------------------------


def _is_finite(v) -> bool:
    return v == v and abs(v) != math.inf  # floats and mpmath numbers alike


def _is_integer(v) -> bool:
    return _is_finite(v) and math.floor(v) == v


def _elementwise_mask(test):
    """A kink predicate on arrays of floats or of mpmath numbers (exact.mpchain's values)."""

    def mask(*args):
        return np.vectorize(lambda *v: bool(test(*v)), otypes=[bool])(*args)

    return mask


def _half_integer(v) -> bool:
    return _is_finite(v) and v - math.floor(v) == 0.5


def _multiple(a, b) -> bool:
    """a / b is an integer, exactly: fmod is exact in floats; mpmath's quotient carries far
    more digits than float operands' ratio can come close to an integer by."""
    if not (_is_finite(a) and _is_finite(b)) or b == 0:
        return False
    if isinstance(a, (float, np.floating, int)) and isinstance(b, (float, np.floating, int)):
        return math.fmod(a, b) == 0
    return _is_integer(a / b)


def _gap_integer(v):
    return abs(v - math.floor(v + 0.5))


def _zero_vjp(g, ans, *args):
    return np.zeros_like(np.asarray(g))


@functools.cache
def step_classes(sympy) -> dict:
    """SymPy step functions whose derivative is 0 (away from their jumps): SymPy's floor,
    ceiling and sign with that derivative, and round-half-to-even and trunc, which SymPy lacks."""
    zero = sympy.S.Zero

    class floor(sympy.floor):
        def fdiff(self, argindex=1):
            return zero

    class ceiling(sympy.ceiling):
        def fdiff(self, argindex=1):
            return zero

    class sign(sympy.sign):
        def fdiff(self, argindex=1):
            return zero

        def _eval_derivative(self, x):
            return zero

    class round_half_even(sympy.Function):
        @classmethod
        def eval(cls, u):
            if not u.is_number or not u.is_real:
                return None
            low = sympy.floor(u)
            rest = sympy.simplify(u - low - sympy.Rational(1, 2))
            if rest.is_positive:
                return low + 1
            if rest.is_negative:
                return low
            if rest.is_zero:
                return low + (low % 2)
            return None

        def fdiff(self, argindex=1):
            return zero

    class trunc(sympy.Function):
        @classmethod
        def eval(cls, u):
            if u.is_number and u.is_real:
                return sympy.sign(u) * sympy.floor(sympy.Abs(u))
            return None

        def fdiff(self, argindex=1):
            return zero

    return {"floor": floor, "ceil": ceiling, "sign": sign, "round": round_half_even, "trunc": trunc}


def _step(name: str, kink, gap, words: str, **names):
    return elementwise(
        name,
        _zero_vjp,
        kink=_elementwise_mask(kink),
        kink_gap=gap,
        kink_words=words,
        jump=True,
        sympy=lambda sympy: step_classes(sympy)[name],
        **names,
    )


PIECEWISE_CONSTANT = (
    _step("floor", _is_integer, _gap_integer, "an integer"),
    _step("ceil", _is_integer, _gap_integer, "an integer"),
    _step(
        "round",
        _half_integer,
        lambda v: abs(v - math.floor(v) - 0.5),
        "a half-integer (NumPy, torch and jax round half to even)",
        mpmath="nint",  # mpmath.nint rounds half to even too
    ),
    _step(
        "trunc",
        _is_integer,
        _gap_integer,
        "an integer",
        mpmath=lambda mpmath: lambda x: mpmath.sign(x) * mpmath.floor(abs(x)),
    ),
    _step("sign", lambda v: v == 0, abs, "0"),
    elementwise(
        "mod",
        # torch.remainder's and jax's rules: 1 in a, -floor(a / b) in b
        lambda g, ans, a, b: g,
        lambda g, ans, a, b: -g * np.floor(a / b),
        kink=_elementwise_mask(_multiple),
        kink_gap=lambda a, b: abs(a - b * math.floor(a / b + 0.5)),
        kink_words="a multiple of its divisor",
        jump=True,
        operator=op.mod,  # written a % b; Python's % has the divisor's sign, as np.mod does
        numpy="mod",
        torch="remainder",
        sympy=lambda sympy: lambda a, b: a - b * step_classes(sympy)["floor"](a / b),
        mpmath=lambda mpmath: lambda a, b: a - b * mpmath.floor(a / b),
    ),
)
