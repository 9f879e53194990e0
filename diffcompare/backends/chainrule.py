"""`chainrule`: the project's own engine (diffcompare.engine.chainrule), in NumPy: reverse mode,
and forward mode (engine.forward) for the operators it serves.

Modes per operator: the gradient in reverse mode (as before operators); the Jacobian in both
(forward: a tangent pass per input element; reverse: a backward pass per output element);
J·v in forward mode (one pass along the direction); uᵀ·J in reverse mode (one pass seeded with
u). It is first order: a second derivative would need its rules to run on their own
derivatives (dual numbers through the VJPs), which NumPy arrays do not carry.
"""

from __future__ import annotations

from diffcompare.backends import BaseBackend, Gradient, SkipCell
from diffcompare.backends.timing import median_time, timed
from diffcompare.engine.chainrule import ChainRule, point_in
from diffcompare.spec.operators import describe

MODES = {
    "gradient": ("reverse",),
    "jacobian": ("forward", "reverse"),
    "jvp": ("forward",),
    "vjp": ("reverse",),
}


class ChainRuleBackend(BaseBackend):
    name = "chainrule"
    library = "numpy"
    description = "hand-written reverse and forward mode over the IR in NumPy (see `explain`)"

    def modes(self, problem):
        if problem.operator not in MODES:
            raise SkipCell(
                f"the chain-rule engine is first order: {describe(problem.operator)} needs derivatives of its "
                "derivative rules, which its NumPy arrays do not carry (torch and jax nest their AD)"
            )
        return MODES[problem.operator]

    def compute(self, problem, dtype, mode):
        if mode not in self.modes(problem):
            raise ValueError(f"chainrule computes {describe(problem.operator)} in {self.modes(problem)}, not {mode!r}")
        (engine, inputs), setup_s = timed(lambda: (ChainRule(problem.function, dtype), point_in(problem.point, dtype)))
        run = self._operator(problem, engine, inputs, mode)
        values, first_s = timed(run)
        return Gradient(
            values,
            median_time(run),
            setup_s=setup_s + first_s,
            f_time_s=median_time(lambda: engine.forward(inputs)),
        )

    def gradient(self, problem, dtype):
        return self.compute(problem, dtype, "reverse")

    @staticmethod
    def _operator(problem, engine, inputs, mode):
        """The call that computes the problem's operator in this mode, values keyed by the
        operator's results (spec.operators.results)."""
        wrt, operator = list(problem.wrt), problem.operator
        if operator == "gradient":
            return lambda: engine.gradient(inputs, wrt)
        if operator == "jacobian":
            if mode == "forward":
                return lambda: engine.jacobian_forward(inputs, wrt)
            return lambda: engine.jacobian_reverse(inputs, wrt)
        if operator == "jvp":
            direction = {var: inputs[problem.direction[var]] for var in wrt}
            return lambda: {",".join(wrt): engine.jvp(inputs, direction)}
        cotangent = inputs[problem.cotangent]
        return lambda: engine.vjp(inputs, wrt, cotangent)
