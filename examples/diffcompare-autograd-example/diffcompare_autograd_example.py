"""`autograd_example`: HIPS autograd's reverse mode on the function as written, with autograd.numpy.

autograd traces f afresh on every call of its gradient (there is nothing to compile
and keep), so each timed call is a trace and a backward pass, as in autograd code.
diffcompare's built-in `autograd` backend grew from this plug-in; this one stays the
worked example of docs/extending.md, under a name of its own so that both can be installed.
"""

from __future__ import annotations

import time
import warnings

import autograd
import autograd.scipy.special as asp
import numpy as np

from diffcompare.backends import BaseBackend, Gradient
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


class AutogradExampleBackend(BaseBackend):
    name = "autograd_example"
    library = "autograd"  # the distribution whose version the rows carry
    description = "autograd.grad (HIPS autograd) with autograd.numpy, traced on every call (the plug-in example)"

    def gradient(self, problem, dtype):
        start = time.perf_counter()
        program = Program(problem.function, AUTOGRAD_OPS)
        point = {k: np.asarray(v, dtype=dtype) for k, v in problem.point.items()}
        wrt = list(problem.wrt)

        def f(wrt_values):
            return program({**point, **dict(zip(wrt, wrt_values))})

        grad = autograd.grad(f)  # differentiates f in its one argument, the tuple of wrt values
        args = tuple(point[k] for k in wrt)
        # Quiet: NumPy's overflow and divide-by-zero warnings (the rows report the non-finite
        # values), and autograd's for a wrt variable f does not use (its gradient is 0, as it should be).
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Output seems independent of input")
            grads = grad(args)
            setup_s = time.perf_counter() - start
            time_s = median_time(lambda: grad(args))
            f_time_s = median_time(lambda: f(args))
        values = {k: np.asarray(g, dtype=np.float64) for k, g in zip(wrt, grads)}
        # Say so where autograd's result is not in the dtype asked for (a rule that promotes).
        promoted = sorted({str(np.asarray(g).dtype) for g in grads} - {dtype})
        message = f"autograd returned {', '.join(promoted)} gradients for {dtype} inputs" if promoted else ""
        return Gradient(values, time_s, message=message, setup_s=setup_s, f_time_s=f_time_s)
