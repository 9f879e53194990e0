"""`complex_step`: Im f(x + ih) / h, exact to rounding for analytic f.

There is no subtraction, so the step can be tiny: h = 1e-200 in complex128 for
float64 rows. For float32 rows the arithmetic is complex64, where 1e-200 would
underflow to 0, so h = 2⁻⁶⁶ ≈ 1.4e-20 (h² is still far below float32's ε).
The function must be analytic: one that uses abs, relu, min, max, clamp or
where gives `skipped` rows naming the primitive.

The IR runs on NumPy's complex ufuncs; the few primitives whose real forward
rule is not complex-safe get a complex one here. erf has no complex form in
NumPy: for it the first-order extension erf(a + ib) = erf(a) + ib·erf'(a) is
used, exact to rounding while |b| is of the order of h, as it is here.
"""

from __future__ import annotations

import math

import numpy as np

from diffcompare.backends import BaseBackend, Gradient, SkipCell
from diffcompare.backends.finite import FiniteDifferences
from diffcompare.backends.timing import median_time
from diffcompare.engine.chainrule import NUMPY_OPS
from diffcompare.lang.ir import topo_order
from diffcompare.lang.primitives import PRIMITIVES

STEP = {"float64": 1e-200, "float32": 2.0**-66}
COMPLEX = {"float64": np.complex128, "float32": np.complex64}


def _sigmoid(z):
    # The branch whose exponential cannot overflow, chosen by the real part.
    return np.where(np.real(z) >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))


def _softplus(z):
    return np.where(np.real(z) > 0, z + np.log1p(np.exp(-z)), np.log1p(np.exp(z)))


def _erf(z):
    z = np.asarray(z)
    a, b = np.real(z), np.imag(z)
    real = np.vectorize(math.erf, otypes=[np.float64])(a)
    return (real + 1j * b * (2 / math.sqrt(math.pi)) * np.exp(-a * a)).astype(z.dtype)


def _logsumexp(z):
    m = np.max(np.real(z))
    return m + np.log(np.sum(np.exp(z - m)))


COMPLEX_OPS = {
    **NUMPY_OPS,
    "sigmoid": _sigmoid,
    "softplus": _softplus,
    "erf": _erf,
    "norm": lambda z: np.sqrt(np.sum(z * z)),
    "logsumexp": _logsumexp,
}


def non_analytic_step(problem):
    """The first step complex arithmetic cannot take (abs, relu, min, max, clamp, where,
    a comparison), or None where the function is analytic."""
    for node in topo_order(problem.function):
        primitive = PRIMITIVES.get(node.op)
        if primitive is not None and not node.is_constant and (not primitive.smooth or primitive.kind == "compare"):
            return node
    return None


class ComplexStepBackend(BaseBackend):
    name = "complex_step"
    library = "numpy"
    method = "complex-step"
    description = "Im f(x + ih)/h with h = 1e-200 (complex128) or 2^-66 (complex64)"

    def gradient(self, problem, dtype):
        node = non_analytic_step(problem)
        if node is not None:
            raise SkipCell(f"the function uses the non-analytic primitive '{node.op}' ('{node.text}')")
        fd = FiniteDifferences(problem, dtype, "complex steps", forward=COMPLEX_OPS)
        h, complex_dtype = STEP[dtype], COMPLEX[dtype]

        def run():
            values = {}
            for var in problem.wrt:
                x = fd.inputs[var].ravel().astype(complex_dtype) + np.asarray(1j * h, dtype=complex_dtype)
                with np.errstate(all="ignore"):
                    values[var] = (np.imag(fd.every.at(var, x)) / h).reshape(fd.inputs[var].shape)
            return values

        values = run()
        setup_s = fd.setup_s()
        # Im f(x + ih) is h·f'(x): with h = 1e-200 it falls below the normal range when |f'| < ~1e-108.
        normal = float(np.finfo(dtype).tiny)
        lost = [var for var, v in values.items() if np.any((np.abs(v) * h < normal) & (v != 0))]
        message = (
            f"h·∂f/∂{lost[0]} is below {dtype}'s normal range: the imaginary part lost digits to underflow"
            if lost
            else ""
        )
        return Gradient(values, median_time(run), message, setup_s=setup_s, f_time_s=fd.f_time_s())
