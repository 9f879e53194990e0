"""Gradients a person wrote down: `manual` (a hand-derived formula from the
problem's `manual:` key, evaluated in NumPy per dtype) and `expected` (numbers
from elsewhere, a notebook or a paper, from the `expected:` key).

Both are keyed by the operator's results (spec.operators.results: "x", or "x,y" for a
Hessian's cross block), each broadcast to its result's shape, and computed in one mode,
"given", for whatever operator the problem asks for: they hold what was written for it."""

from __future__ import annotations

import numpy as np

from diffcompare.backends import BaseBackend, Gradient, Method
from diffcompare.backends.timing import median_time, timed
from diffcompare.engine.chainrule import numpy_program, point_in
from diffcompare.spec.operators import results

MODE = "given"


class ManualBackend(BaseBackend):
    name = "manual"
    library = "numpy"
    description = "the problem's hand-derived formula (`manual:`), evaluated in NumPy"

    def variables(self, problem):
        return list(problem.manual)

    def modes(self, problem):
        return (MODE,) if problem.manual else ()

    def compute(self, problem, dtype, mode):
        return self.gradient(problem, dtype)

    def gradient(self, problem, dtype):
        inputs = point_in(problem.point, dtype)
        programs = {var: numpy_program(node, dtype) for var, node in problem.manual.items()}

        def evaluate():
            with np.errstate(all="ignore"):
                return {var: program(inputs) for var, program in programs.items()}

        raw, setup_s = timed(evaluate)
        shapes = {name: r.shape for name, r in results(problem).items()}
        values = {var: np.broadcast_to(np.asarray(v, dtype=np.float64), shapes[var]).copy() for var, v in raw.items()}
        function = numpy_program(problem.function, dtype)

        def forward():
            with np.errstate(all="ignore"):
                return function(inputs)

        return Gradient(values, median_time(evaluate), setup_s=setup_s, f_time_s=median_time(forward))


class ExpectedBackend(BaseBackend):
    name = "expected"
    method = Method.GIVEN
    description = "values copied from elsewhere (`expected:`), judged at the precision they were written with"

    def dtypes_for(self, problem):
        return ("decimal",) if problem.expected else ()

    def variables(self, problem):
        return list(problem.expected)

    def modes(self, problem):
        return (MODE,) if problem.expected else ()

    def compute(self, problem, dtype, mode):
        return self.gradient(problem, dtype)

    def gradient(self, problem, dtype):
        values, bounds, lows = {}, {}, {}
        shapes = {name: r.shape for name, r in results(problem).items()}
        for var, numbers in problem.expected.items():
            shape = shapes[var]
            values[var] = np.broadcast_to(numbers.values, shape).copy()
            bounds[var] = np.broadcast_to(numbers.half_units, shape).copy()
            if numbers.remainders is not None:
                lows[var] = np.broadcast_to(numbers.remainders, shape).copy()
        return Gradient(values, bounds=bounds, values_lo=lows)
