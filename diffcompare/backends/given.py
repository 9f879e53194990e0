"""Gradients a person wrote down: `manual` (a hand-derived formula from the
problem's `manual:` key, evaluated in NumPy per dtype) and `expected` (numbers
from elsewhere, a notebook or a paper, from the `expected:` key)."""

from __future__ import annotations

import numpy as np

from diffcompare.backends import BaseBackend, Gradient, Method
from diffcompare.backends.timing import median_time, timed
from diffcompare.engine.chainrule import numpy_program, point_in


class ManualBackend(BaseBackend):
    name = "manual"
    library = "numpy"
    description = "the problem's hand-derived formula (`manual:`), evaluated in NumPy"

    def variables(self, problem):
        return list(problem.manual)

    def gradient(self, problem, dtype):
        inputs = point_in(problem.point, dtype)
        programs = {var: numpy_program(node, dtype) for var, node in problem.manual.items()}

        def evaluate():
            with np.errstate(all="ignore"):
                return {var: program(inputs) for var, program in programs.items()}

        raw, setup_s = timed(evaluate)
        values = {
            var: np.broadcast_to(np.asarray(v, dtype=np.float64), problem.point[var].shape).copy()
            for var, v in raw.items()
        }
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

    def gradient(self, problem, dtype):
        values, bounds, lows = {}, {}, {}
        for var, numbers in problem.expected.items():
            shape = problem.point[var].shape
            values[var] = np.broadcast_to(numbers.values, shape).copy()
            bounds[var] = np.broadcast_to(numbers.half_units, shape).copy()
            if numbers.remainders is not None:
                lows[var] = np.broadcast_to(numbers.remainders, shape).copy()
        return Gradient(values, bounds=bounds, values_lo=lows)
