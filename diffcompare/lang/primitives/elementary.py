"""The arithmetic and elementary primitives: + - * / ** @, sin … atanh, and neg."""

from __future__ import annotations

import math
import operator as op

import numpy as np

from diffcompare.lang.primitives.core import _declare, elementwise
from diffcompare.lang.primitives.rules import (
    _argument_hazard,
    _at_zero,
    _cancellation_hazard,
    _complex_erf,
    _complex_sigmoid,
    _complex_softplus,
    _erf,
    _expm1_hazard,
    _matmul_vjp_a,
    _matmul_vjp_b,
    _overflow_hazard,
    _saturation_hazard,
    _sigmoid,
    _tanh_hazard,
)

_SQRT_PI = math.sqrt(math.pi)

# Arithmetic, written with Python's operators in every library.
ARITHMETIC = (
    elementwise(
        "add",
        lambda g, ans, a, b: g,
        lambda g, ans, a, b: g,
        forward=np.add,
        operator=op.add,
        hazard=_cancellation_hazard,
        hazard_of="operands",
        fuzz=True,
    ),
    elementwise(
        "sub",
        lambda g, ans, a, b: g,
        lambda g, ans, a, b: -g,
        forward=np.subtract,
        operator=op.sub,
        hazard=_cancellation_hazard,
        hazard_of="operands",
        fuzz=True,
    ),
    elementwise(
        "mul", lambda g, ans, a, b: g * b, lambda g, ans, a, b: g * a, forward=np.multiply, operator=op.mul, fuzz=True
    ),
    elementwise(
        "div",
        lambda g, ans, a, b: g / b,
        lambda g, ans, a, b: -g * a / (b * b),
        forward=np.divide,
        operator=op.truediv,
        fuzz=True,
    ),
    elementwise(
        "pow",
        lambda g, ans, a, b: g * b * a ** (b - 1),
        lambda g, ans, a, b: g * np.log(a) * ans,
        forward=np.power,
        operator=op.pow,
        fuzz=True,
        fuzz_integers=((1, 2, 4),),  # a small integer power keeps pow inside its domain everywhere
    ),
    _declare(
        "matmul",
        "matmul",
        (_matmul_vjp_a, _matmul_vjp_b),
        forward=np.matmul,
        operator=op.matmul,
        partial_sums=True,
        # bilinear: the product with one factor moved, ṫ = ȧ @ b + a @ ḃ
        jvps=(lambda t, ans, a, b: np.matmul(t, b), lambda t, ans, a, b: np.matmul(a, t)),
    ),
)

# Elementary functions.
ELEMENTARY = (
    elementwise(
        "sin",
        lambda g, ans, x: g * np.cos(x),
        hazard=_argument_hazard,
        hazard_in="derivative",
        hazard_of="operands",
        latex=r"\sin",
        fuzz=True,
    ),
    elementwise(
        "cos",
        lambda g, ans, x: -g * np.sin(x),
        hazard=_argument_hazard,
        hazard_in="derivative",
        hazard_of="operands",
        latex=r"\cos",
        fuzz=True,
    ),
    elementwise("tan", lambda g, ans, x: g * (1 + ans * ans), latex=r"\tan", fuzz=True),
    elementwise("asin", lambda g, ans, x: g / np.sqrt(1 - x * x), numpy="arcsin", latex=r"\arcsin", fuzz=True),
    elementwise("acos", lambda g, ans, x: -g / np.sqrt(1 - x * x), numpy="arccos", latex=r"\arccos", fuzz=True),
    elementwise("atan", lambda g, ans, x: g / (1 + x * x), numpy="arctan", latex=r"\arctan", fuzz=True),
    elementwise("sinh", lambda g, ans, x: g * np.cosh(x), latex=r"\sinh", fuzz=True),
    elementwise("cosh", lambda g, ans, x: g * np.sinh(x), latex=r"\cosh", fuzz=True),
    elementwise(
        "tanh",
        lambda g, ans, x: g * (1 - ans * ans),
        hazard=_tanh_hazard,
        hazard_in="derivative",
        latex=r"\tanh",
        fuzz=True,
    ),
    elementwise("exp", lambda g, ans, x: g * ans, hazard=_overflow_hazard, latex=r"\exp", fuzz=True),
    elementwise(
        "expm1",
        lambda g, ans, x: g * (ans + 1),
        hazard=_expm1_hazard,
        hazard_in="derivative",
        sympy=lambda sympy: lambda u: sympy.exp(u) - 1,
        fuzz=True,
    ),
    elementwise("log", lambda g, ans, x: g / x, latex=r"\log", fuzz=True),
    elementwise("log1p", lambda g, ans, x: g / (1 + x), sympy=lambda sympy: lambda u: sympy.log(1 + u), fuzz=True),
    elementwise(
        "log2",
        lambda g, ans, x: g / (x * math.log(2)),
        sympy=lambda sympy: lambda u: sympy.log(u) / sympy.log(2),
        latex=r"\log_{2}",
        fuzz=True,
    ),
    elementwise(
        "log10",
        lambda g, ans, x: g / (x * math.log(10)),
        sympy=lambda sympy: lambda u: sympy.log(u) / sympy.log(10),
        latex=r"\log_{10}",
        fuzz=True,
    ),
    elementwise("sqrt", lambda g, ans, x: g / (2 * ans), fuzz=True),
    elementwise(
        "abs",
        lambda g, ans, x: g * np.sign(x),
        kink=_at_zero,
        kink_words="0",
        sympy="Abs",
        mpmath=lambda mpmath: abs,
        fuzz=True,
    ),
    elementwise(
        "sigmoid",
        lambda g, ans, x: g * ans * (1 - ans),
        forward=_sigmoid,
        hazard=_saturation_hazard,
        hazard_in="derivative",
        complex_forward=_complex_sigmoid,
        numpy=None,
        jax="jax.nn.sigmoid",
        sympy=lambda sympy: lambda u: 1 / (1 + sympy.exp(-u)),
        latex=r"\sigma",
        fuzz=True,
    ),
    elementwise(
        "relu",
        lambda g, ans, x: g * (x > 0),
        kink=_at_zero,
        kink_words="0",
        numpy=lambda np: lambda x: np.maximum(x, 0),
        jax="jax.nn.relu",
        sympy=lambda sympy: lambda u: sympy.Max(0, u),
        fuzz=True,
    ),
    elementwise(
        "softplus",
        lambda g, ans, x: g * _sigmoid(x),
        complex_forward=_complex_softplus,
        numpy=lambda np: lambda x: np.logaddexp(0, x),
        torch="torch.nn.functional.softplus",
        jax="jax.nn.softplus",
        sympy=lambda sympy: lambda u: sympy.log(1 + sympy.exp(u)),
        fuzz=True,
    ),
    elementwise(
        "erf",
        lambda g, ans, x: g * (2 / _SQRT_PI) * np.exp(-x * x),
        forward=_erf,
        complex_forward=_complex_erf,
        numpy=None,
        jax="jax.scipy.special.erf",
        fuzz=True,
    ),
    elementwise("asinh", lambda g, ans, x: g / np.sqrt(x * x + 1), numpy="arcsinh", fuzz=True),
    elementwise("acosh", lambda g, ans, x: g / np.sqrt((x - 1) * (x + 1)), numpy="arccosh", fuzz=True),
    elementwise("atanh", lambda g, ans, x: g / (1 - x * x), numpy="arctanh", fuzz=True),
)

# neg is declared after the functions (special ones too): the fuzzer draws from its lists in
# declaration order.
NEG = elementwise("neg", lambda g, ans, x: -g, forward=np.negative, operator=op.neg, fuzz=True)
