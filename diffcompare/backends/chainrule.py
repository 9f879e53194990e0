"""`chainrule`: the project's own reverse-mode engine (diffcompare.engine), in NumPy."""

from __future__ import annotations

from diffcompare.backends import BaseBackend, Gradient
from diffcompare.engine import ChainRule, point_in
from diffcompare.timing import median_time


class ChainRuleBackend(BaseBackend):
    name = "chainrule"
    description = "hand-written reverse mode over the IR in NumPy (see `explain`)"

    def gradient(self, problem, dtype):
        engine = ChainRule(problem.function, dtype)
        inputs = point_in(problem.point, dtype)
        values = engine.gradient(inputs, problem.wrt)
        return Gradient(values, median_time(lambda: engine.gradient(inputs, problem.wrt)))
