"""`complex_step`: Im f(x + ih) / h, exact to rounding for analytic f.

There is no subtraction, so the step can be tiny: h = 1e-200 in complex128 for
float64 rows. For float32 rows the arithmetic is complex64, where 1e-200 would
underflow to 0, so h = 2⁻⁶⁶ ≈ 1.4e-20 (h² is still far below float32's ε).
The function must be analytic: one that uses abs, relu, min, max, clamp or
where gives `skipped` rows naming the primitive.

The IR runs on NumPy's complex ufuncs (diffcompare.engine.complex): the few
primitives whose real forward rule is not complex-safe declare a complex one
(Primitive.complex_forward). erf has no complex form in NumPy: for it the
first-order extension erf(a + ib) = erf(a) + ib·erf'(a) is used, exact to
rounding while |b| is of the order of h, as it is here.
"""

from __future__ import annotations

import numpy as np

from diffcompare.backends import BaseBackend, Gradient, Method, SkipCell
from diffcompare.backends.finite import FiniteDifferences
from diffcompare.backends.timing import median_time
from diffcompare.engine.complex import COMPLEX, COMPLEX_OPS, STEP, non_analytic_step


class ComplexStepBackend(BaseBackend):
    name = "complex_step"
    library = "numpy"
    method = Method.COMPLEX_STEP
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
