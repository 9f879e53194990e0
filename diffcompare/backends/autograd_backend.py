"""`autograd`: HIPS autograd on the function as written, with autograd.numpy.

autograd traces f afresh on every call of its gradient (there is nothing to compile
and keep), so each timed call is a trace and a backward pass, as in autograd code.
Past the gradient, autograd's own operators (autograd_operators.py): `jacobian`,
`hessian`, `make_vjp`, `make_jvp` (forward mode: tangents carried through the trace),
`make_jvp_reversemode` (the VJP of the VJP) and `hessian_vector_product`.

This is the built-in; examples/diffcompare-autograd-example is the same gradient written
as a plug-in of its own (docs/extending.md), under the name `autograd_example`.
"""

from __future__ import annotations

import time
import warnings
from contextlib import contextmanager

import autograd
import autograd.scipy.special as asp
import numpy as np

from diffcompare.backends import BaseBackend, Gradient, autograd_operators
from diffcompare.backends.timing import median_time
from diffcompare.lang.primitives import Unavailable, library_ops
from diffcompare.lang.program import Program

# autograd.numpy follows NumPy's names, so the primitives' declarations give every
# function (diffcompare.lang.primitives: NumPy's name, Python's operators, the formula
# where NumPy has none); the table lists only what autograd spells differently.
# autograd.numpy.cbrt exists but has no VJP: its cells are `skipped`, saying so, not `error`.
AUTOGRAD_OPS = library_ops(
    "autograd.numpy",
    like="numpy",
    own={
        "sigmoid": asp.expit,
        "erf": asp.erf,
        "erfc": asp.erfc,
        "lgamma": asp.gammaln,
        "gamma": asp.gamma,
        "digamma": asp.digamma,
        "logsumexp": asp.logsumexp,
        "cbrt": Unavailable("autograd", "cbrt", "autograd.numpy.cbrt has no VJP"),
    },
)


@contextmanager
def quiet():
    """NumPy's overflow and divide-by-zero warnings (the rows report the non-finite values),
    and autograd's for a wrt variable f does not use (its derivative is 0, as it should be)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Output seems independent of input")
        yield


def promotion(results, dtype: str) -> str:
    """The rows' message where autograd's results are not in the dtype asked for (a rule that promotes)."""
    promoted = sorted({str(np.asarray(r).dtype) for r in results} - {dtype})
    return f"autograd returned {', '.join(promoted)} results for {dtype} inputs" if promoted else ""


class AutogradBackend(BaseBackend):
    name = "autograd"
    library = "autograd"  # the distribution whose version the rows carry
    description = (
        "HIPS autograd (grad, jacobian, hessian, make_jvp, make_vjp) with autograd.numpy, traced on every call"
    )

    def modes(self, problem):
        """gradient, jacobian, vjp: reverse; jvp: forward (make_jvp) and reverse-over-reverse
        (make_jvp_reversemode); hessian: reverse-over-reverse (autograd.hessian); hvp and
        second_derivative: forward-over-reverse (make_jvp or deriv of grad) and reverse-over-reverse
        (hessian_vector_product, hessian)."""
        return autograd_operators.MODES[problem.operator]

    def compute(self, problem, dtype, mode):
        if problem.operator == "gradient":
            return self.gradient(problem, dtype)
        return autograd_operators.compute(problem, dtype, mode, AUTOGRAD_OPS, quiet, promotion)

    def gradient(self, problem, dtype):
        start = time.perf_counter()
        program = Program(problem.function, AUTOGRAD_OPS)
        point = {k: np.asarray(v, dtype=dtype) for k, v in problem.point.items()}
        wrt = list(problem.wrt)

        def f(wrt_values):
            return program({**point, **dict(zip(wrt, wrt_values))})

        grad = autograd.grad(f)  # differentiates f in its one argument, the tuple of wrt values
        args = tuple(point[k] for k in wrt)
        with quiet():
            grads = autograd_operators.call_or_skip(lambda: grad(args))
            setup_s = time.perf_counter() - start
            time_s = median_time(lambda: grad(args))
            f_time_s = autograd_operators.F_TIMES.get(problem, dtype, lambda: median_time(lambda: f(args)))
        values = {k: np.asarray(g, dtype=np.float64) for k, g in zip(wrt, grads)}
        return Gradient(values, time_s, message=promotion(grads, dtype), setup_s=setup_s, f_time_s=f_time_s)
