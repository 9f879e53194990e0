"""`chainrule`: the project's own reverse-mode engine (diffcompare.engine.chainrule), in NumPy."""

from __future__ import annotations

from diffcompare.backends import BaseBackend, Gradient
from diffcompare.backends.timing import median_time, timed
from diffcompare.engine.chainrule import ChainRule, point_in


class ChainRuleBackend(BaseBackend):
    name = "chainrule"
    library = "numpy"
    description = "hand-written reverse mode over the IR in NumPy (see `explain`)"

    def gradient(self, problem, dtype):
        (engine, inputs, values), setup_s = timed(lambda: self._first(problem, dtype))
        return Gradient(
            values,
            median_time(lambda: engine.gradient(inputs, problem.wrt)),
            setup_s=setup_s,
            f_time_s=median_time(lambda: engine.forward(inputs)),
        )

    @staticmethod
    def _first(problem, dtype):
        engine = ChainRule(problem.function, dtype)
        inputs = point_in(problem.point, dtype)
        return engine, inputs, engine.gradient(inputs, problem.wrt)
