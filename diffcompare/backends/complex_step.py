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

Operators: the Jacobian is Im f(x + ih·eⱼ)/h per input element j, all of f at once; the JVP
one complex step along v, Im f(x + ih·v)/h (the imaginary part hv carries no cancellation,
so the direction needs no correction); the VJP uᵀ·J, the complex-step Jacobian contracted
with u in float64 (the same n steps as the gradient: a complex step has no reverse mode).
One complex step gives first derivatives only (the h² term of the real part is below
rounding), so the Hessian, HVP and second derivative are skipped with that reason.
"""

from __future__ import annotations

import numpy as np

from diffcompare.backends import BaseBackend, Gradient, Method, SkipCell
from diffcompare.backends.finite import FiniteDifferences
from diffcompare.backends.timing import median_time
from diffcompare.engine.complex import COMPLEX, COMPLEX_OPS, STEP, non_analytic_step

MODE = "complex-step"
FIRST_ORDER = ("gradient", "jacobian", "jvp", "vjp")


class ComplexStepBackend(BaseBackend):
    name = "complex_step"
    library = "numpy"
    method = Method.COMPLEX_STEP
    description = "Im f(x + ih)/h with h = 1e-200 (complex128) or 2^-66 (complex64)"

    def modes(self, problem):
        if problem.operator not in FIRST_ORDER:
            raise SkipCell(
                "one complex step gives first derivatives only (f(x + ih) = f + ih·f' - h²f''/2 …, and h²f'' "
                "is far below rounding): a second derivative needs multicomplex steps, which this backend does not take"
            )
        return (MODE,)

    def compute(self, problem, dtype, mode):
        if problem.operator == "gradient":
            return self.gradient(problem, dtype)
        self.modes(problem)
        fd = self._prepared(problem, dtype)
        h, complex_dtype = STEP[dtype], COMPLEX[dtype]
        out_shape = tuple(problem.function.shape)
        m = int(np.prod(out_shape, dtype=np.int64))

        def column_steps(var):
            """Im f(x + ih·eⱼ)/h for every element j of var: (n, size of f)."""
            x = fd.inputs[var].ravel().astype(complex_dtype) + np.asarray(1j * h, dtype=complex_dtype)
            with np.errstate(all="ignore"):
                return (np.imag(fd.every.at(var, x)).astype(np.float64) / h).reshape(x.size, m)

        def run():
            if problem.operator == "jvp":
                moved = {}
                for var in problem.wrt:
                    v = fd.inputs[problem.direction[var]].astype(np.float64)
                    step = (1j * h * v).astype(complex_dtype)
                    moved[var] = (fd.inputs[var].astype(complex_dtype) + step)[None]
                with np.errstate(all="ignore"):
                    f = fd.points.at(moved)[0][0]
                return {",".join(problem.wrt): np.imag(f).astype(np.float64).reshape(out_shape) / h}
            if problem.operator == "vjp":
                u = fd.inputs[problem.cotangent].astype(np.float64).ravel()
                return {var: (column_steps(var) @ u).reshape(fd.inputs[var].shape) for var in problem.wrt}
            return {var: column_steps(var).T.reshape(out_shape + fd.inputs[var].shape) for var in problem.wrt}

        values = run()
        setup_s = fd.setup_s()
        return Gradient(values, median_time(run), _underflow(values, dtype, h), setup_s=setup_s, f_time_s=fd.f_time_s())

    @staticmethod
    def _prepared(problem, dtype) -> FiniteDifferences:
        node = non_analytic_step(problem)
        if node is not None:
            raise SkipCell(f"the function uses the non-analytic primitive '{node.op}' ('{node.text}')")
        return FiniteDifferences(problem, dtype, "complex steps", forward=COMPLEX_OPS)

    def gradient(self, problem, dtype):
        fd = self._prepared(problem, dtype)
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
        return Gradient(values, median_time(run), _underflow(values, dtype, h), setup_s=setup_s, f_time_s=fd.f_time_s())


def _underflow(values: dict, dtype: str, h: float) -> str:
    """Im f(x + ih) is h·f'(x): with h = 1e-200 it falls below the normal range when |f'| < ~1e-108."""
    normal = float(np.finfo(dtype).tiny)
    lost = [var for var, v in values.items() if np.any((np.abs(v) * h < normal) & (v != 0))]
    if not lost:
        return ""
    return f"h·∂f/∂{lost[0]} is below {dtype}'s normal range: the imaginary part lost digits to underflow"
