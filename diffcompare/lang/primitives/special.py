"""The elementary and special functions past the basic ones: atan2, hypot, cbrt, erfc,
lgamma, gamma, digamma, exp2, logaddexp.

NumPy has no erfc, lgamma, gamma or digamma: the engine's forward rules are Python's
math.erfc, math.lgamma and math.gamma element by element (measured against mpmath: erfc
within 2 ulps, gamma within 5; lgamma within 8 ε·max(1, |lgamma|), an absolute error near its
zeros at 1 and 2, which its forward_error declares for finite differences' rounding bound),
and mpmath's psi rounded to float64 for digamma and its derivative (trigamma).
Complex steps take them through their first-order complex extension
f(a + ib) = f(a) + ib·f'(a), exact to rounding for a step as small as the complex step's.

What a library lacks (Missing): torch has no cbrt (torch.pow(x, 1/3) is NaN for x < 0,
and sign(x)·|x|^(1/3) is a formula of ours, not torch's primitive) and no gamma
(torch.special has gammaln only; exp(lgamma(x)) loses Γ's sign on (-1, 0), (-3, -2), …):
their torch cells are `skipped` with that reason.

lgamma is log|Γ(x)|, as in torch, jax and math: SymPy's loggamma is read through mpmath
as the real part of the principal log Γ, which is log|Γ(x)| for negative x too; its
derivative, digamma, is the same for both.
"""

from __future__ import annotations

import math

import numpy as np

from diffcompare.lang.primitives.core import Missing, elementwise
from diffcompare.lang.primitives.piecewise import _elementwise_mask, step_classes

_LN2 = math.log(2)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def _scalar_rule(fn, pole=math.nan):
    """fn (a function of one float) on every element, in the operand's float dtype: a
    pole (ValueError) is `pole`, an overflow inf."""

    def one(v: float) -> float:
        if math.isnan(v):
            return math.nan
        try:
            return fn(v)
        except ValueError:
            return pole
        except OverflowError:
            return math.inf

    def rule(x):
        x = np.asarray(x)
        out = np.vectorize(one, otypes=[np.float64])(x)
        return np.asarray(out, dtype=x.dtype if x.dtype.kind == "f" else np.float64)

    return rule


def _psi(n: int):
    """polygamma(n, x) in float64 from mpmath (NumPy has none); NaN at the poles."""

    def psi(v: float) -> float:
        import mpmath

        if math.isinf(v):
            return math.nan if v < 0 else (math.inf if n == 0 else 0.0)
        with mpmath.workprec(80):
            return float(mpmath.psi(n, v))

    return _scalar_rule(psi)


digamma = _psi(0)
trigamma = _psi(1)
_erfc = _scalar_rule(math.erfc)
_lgamma = _scalar_rule(math.lgamma, pole=math.inf)
_gamma = _scalar_rule(math.gamma)


def polygamma(n, x):
    """polygamma(n, x) in float64, for the float64 evaluation of SymPy's derivatives."""
    return _psi(int(n))(x)


def _first_order(real, *partials):
    """The complex-step form of a real function: real(a) + i·Σ Im(z_k)·∂f/∂x_k(a), a = Re z."""

    def forward(*zs):
        zs = [np.asarray(z) for z in zs]
        parts = [np.real(z) for z in zs]
        with np.errstate(all="ignore"):
            out = np.asarray(real(*parts), dtype=np.float64) + 0j
            for z, d in zip(zs, partials):
                out = out + 1j * np.imag(z) * d(*parts)
        kinds = [z.dtype for z in zs if z.dtype.kind == "c"]
        return out.astype(np.result_type(*kinds) if kinds else np.complex128)

    return forward


def _condition_hazard(name: str, derivative):
    """How much f amplifies a relative error in its operand: |u·f'(u)/f(u)| (large near a
    pole, a root, or where f underflows), named past 10."""

    def hazard(ans, x):
        ans, x = np.asarray(ans, dtype=np.float64), np.asarray(x, dtype=np.float64)
        with np.errstate(all="ignore"):
            d = np.asarray(derivative(x), dtype=np.float64)
            if np.any((ans == 0) & (d != 0) & np.isfinite(x)):
                return math.inf, f"{name}(u) is exactly 0 (it underflows or u is its root)"
            amp = np.abs(x * d / ans)
        worst = float(np.nanmax(amp)) if np.size(amp) else 0.0
        if not worst > 10:
            return None
        return worst, f"{name}'s condition number |u·{name}'(u)/{name}(u)| is {worst:.2g} here (near a pole or a root)"

    return hazard


def _erfc_derivative(x):
    return -_TWO_OVER_SQRT_PI * np.exp(-x * x)


def _gamma_derivative(x):
    return _gamma(x) * digamma(x)


def _special(name: str, forward, derivative, jax: str, **declaration):
    """A special function of one argument NumPy lacks: forward and derivative rules given
    here, its first-order complex form, its condition number as its hazard, and jax's name
    in jax.scipy.special."""
    return elementwise(
        name,
        lambda g, ans, x: g * derivative(x),
        forward=forward,
        complex_forward=_first_order(forward, derivative),
        hazard=_condition_hazard(name, derivative),
        hazard_of="operands",
        numpy=None,
        jax=jax,
        fuzz=True,
        **declaration,
    )


def _atan2_dy(y, x):
    return x / (x * x + y * y)


def _atan2_dx(y, x):
    return -y / (x * x + y * y)


def _on_cut(y, x):
    """atan2 jumps from π to -π across y = 0 for x < 0, and has no limit at (0, 0)."""
    return y == 0 and x <= 0


SPECIAL = (
    elementwise(
        "atan2",
        lambda g, ans, y, x: g * _atan2_dy(y, x),
        lambda g, ans, y, x: g * _atan2_dx(y, x),
        numpy="arctan2",
        kink=_elementwise_mask(_on_cut),
        kink_gap=lambda y, x: abs(y),
        kink_words="its cut (y = 0, x ≤ 0: π above it, -π below)",
        jump=True,
        complex_ok=True,  # off its cut, its first-order complex form is exact
        complex_forward=_first_order(np.arctan2, _atan2_dy, _atan2_dx),
        latex=r"\operatorname{atan2}",
    ),
    elementwise(
        "hypot",
        lambda g, ans, x, y: g * x / ans,
        lambda g, ans, x, y: g * y / ans,
        complex_forward=_first_order(np.hypot, lambda x, y: x / np.hypot(x, y), lambda x, y: y / np.hypot(x, y)),
        sympy=lambda sympy: lambda x, y: sympy.sqrt(x**2 + y**2),
        fuzz=True,
    ),
    elementwise(
        "cbrt",
        lambda g, ans, x: g / (3 * ans * ans),
        complex_forward=_first_order(np.cbrt, lambda x: 1 / (3 * np.cbrt(x) ** 2)),
        torch=Missing(
            "torch has no cube root (torch.pow(x, 1/3) is NaN for x < 0, and sign(x)·|x|^(1/3) is a formula, "
            "not torch's primitive)"
        ),
        sympy=lambda sympy: lambda u: step_classes(sympy)["sign"](u) * sympy.Abs(u) ** sympy.Rational(1, 3),
        mpmath=lambda mpmath: lambda x: mpmath.sign(x) * mpmath.cbrt(abs(x)),
    ),
    _special("erfc", _erfc, _erfc_derivative, "jax.scipy.special.erfc", latex=r"\operatorname{erfc}"),
    _special(
        "lgamma",
        _lgamma,
        digamma,
        "jax.scipy.special.gammaln",
        sympy="loggamma",
        mpmath=lambda mpmath: lambda x: mpmath.re(mpmath.loggamma(x)),
        fuzz_domain=(0.05, 1e4),
        latex=r"\ln\Gamma",
        # math.lgamma: up to 6.4 ε·max(1, |ans|) on (-3, 100) against mpmath, 4 ε where lgamma
        # crosses 0 at 1 and 2 (where that is hundreds of ulps of the result)
        forward_error=lambda ans, x: 8.0 * np.maximum(1.0, np.abs(ans)),
    ),
    _special(
        "gamma",
        _gamma,
        _gamma_derivative,
        "jax.scipy.special.gamma",
        torch=Missing(
            "torch has no gamma function (torch.special has gammaln only; exp(lgamma(x)) is a formula, "
            "not torch's primitive, and loses Γ's sign on (-1, 0), (-3, -2), …)"
        ),
        fuzz_domain=(0.05, 30.0),
        latex=r"\Gamma",
    ),
    _special("digamma", digamma, trigamma, "jax.scipy.special.digamma", fuzz_domain=(0.05, 1e4), latex=r"\psi"),
    elementwise(
        "exp2",
        lambda g, ans, x: g * ans * _LN2,
        sympy=lambda sympy: lambda u: 2**u,
        mpmath=lambda mpmath: lambda x: mpmath.power(2, x),
        fuzz=True,
    ),
    elementwise(
        "logaddexp",
        lambda g, ans, a, b: g * np.exp(a - ans),
        lambda g, ans, a, b: g * np.exp(b - ans),
        complex_forward=_first_order(
            np.logaddexp,
            lambda a, b: np.exp(a - np.logaddexp(a, b)),
            lambda a, b: np.exp(b - np.logaddexp(a, b)),
        ),
        sympy=lambda sympy: lambda a, b: sympy.log(sympy.exp(a) + sympy.exp(b)),
        mpmath=lambda mpmath: lambda a, b: mpmath.log(mpmath.exp(a) + mpmath.exp(b)),
        fuzz=True,
    ),
)
