"""`sympy`: the exact symbolic derivative, evaluated in float64.

The derivative is the one the reference uses (diffcompare.exact.truth, built once per problem);
here it is compiled, after common-subexpression elimination, into float64
NumPy steps. No text is ever parsed by SymPy. Rows carry expr_ops, the
derivative's operation count as differentiated, and expr_ops_cse, after CSE
(sympy.count_ops's numbers, counted by diffcompare.exact.counts).
Every SymPy step (and the compiled plans) is kept on the problem's SymbolicForm, so a
second call, another dtype or a repeat, pays none of it again. Past SymPy's size or
time limit (diffcompare.exact.symbolic) the rows are skipped, with the reason and the time.

Every other operator (mode "symbolic") is the exact side's own entries (Truth.operator_exprs:
exact.symbolic_operators), the ones the reference evaluates in mpmath, compiled the same way
after one CSE over all of them, so the Jacobian's or Hessian's shared subexpressions are
evaluated once, as they are for the gradient.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from fractions import Fraction

import numpy as np
import sympy

from diffcompare.backends import BaseBackend, Gradient, SkipCell
from diffcompare.backends.timing import median_time
from diffcompare.exact.counts import count_ops
from diffcompare.exact.numeric import FLOAT64, Plan, real_part
from diffcompare.exact.symbolic import SymbolicLimit, SymbolicTimeout
from diffcompare.exact.truth import truth_of


def _first_not_finite(plan: Plan, inputs: list, replacements: list) -> str:
    """The first step of SymPy's derivative whose float64 value is not finite though its operands
    are (softplus(x) at x = 800: SymPy writes it log(1 + exp(x)), whose derivative exp(x)/(1 + exp(x))
    is inf/inf), in words; "" if there is none."""
    regs = plan.run(inputs)

    def finite(slot) -> bool:
        value = real_part(regs[slot])
        return isinstance(value, (int, float, np.floating, np.integer)) and bool(np.isfinite(value))

    for _, args, slot in plan.steps:
        if not finite(slot) and all(finite(a) for a in args):
            written = [e for e, s in plan._slots.items() if s == slot]
            if not written:
                continue
            expr = next((e for e in written if not e.is_Symbol), written[0])
            # CSE's own symbols (x0, x1 …, which read as the user's variables) replaced by what
            # they stand for, the last first.
            for symbol, value in reversed(replacements):
                expr = expr.xreplace({symbol: value})
            text = str(expr) if len(str(expr)) <= 80 else str(expr)[:77] + "..."
            return f"in float64, SymPy's derivative meets {text} = {real_part(regs[slot])}"
    return ""


def _plans(form) -> tuple[Plan, Plan, float]:
    """(gradient plan, f plan, seconds they took): eliminated, compiled and called once."""
    start = time.perf_counter()
    gradient = Plan(form.gradient_cse, form.inputs, FLOAT64)
    function = Plan(form.function_cse, form.inputs, FLOAT64)
    return gradient, function, time.perf_counter() - start


@contextmanager
def _within_limits():
    """SymPy past its size or time limit (diffcompare.exact.symbolic): skipped rows, with the reason."""
    try:
        yield
    except SymbolicTimeout as exc:
        raise SkipCell(f"SymPy ran out of time: {exc}") from None
    except SymbolicLimit as exc:
        raise SkipCell(f"SymPy is not given this problem: {exc}") from None


def _inputs(problem, constant_values) -> list:
    """The plans' inputs: every point element in float64, then the named exponents."""
    inputs = [np.float64(v) for var in problem.point for v in problem.point[var].ravel()]
    return inputs + [np.float64(Fraction(c.p, c.q)) for c in constant_values]  # correctly rounded


def _operator_plans(exprs) -> tuple[Plan, Plan, tuple, float]:
    """(the operator's plan, f's plan, the operator's CSE, seconds they took). f is as the
    derived problems have it: a JVP's f(x + t·v) at t = 0 (t is no input), a VJP's <u, f>."""
    start = time.perf_counter()
    cse = sympy.cse(exprs.flat())
    plan = Plan(cse, exprs.inputs, FLOAT64)
    function = [sympy.sympify(e) for e in np.ravel(exprs.function)]
    known = set(exprs.inputs)
    function = [e.xreplace({s: sympy.Integer(0) for s in e.free_symbols - known}) for e in function]
    function = Plan(sympy.cse(function), exprs.inputs, FLOAT64)
    return plan, function, cse, time.perf_counter() - start


def _counts(exprs, cse) -> dict[str, float]:
    """expr_ops (every entry as differentiated, repeats counted) and expr_ops_cse (after CSE)."""
    replacements, reduced = cse
    return {
        "expr_ops": count_ops(exprs.flat()),
        "expr_ops_cse": count_ops([e for _, e in replacements] + list(reduced)),
    }


class SympyBackend(BaseBackend):
    name = "sympy"
    library = "sympy"
    description = "exact symbolic derivative (SymPy), evaluated in float64"
    supported_dtypes = ("float64",)

    def modes(self, problem):
        return ("symbolic",)

    def compute(self, problem, dtype, mode):
        if problem.operator == "gradient":
            return self.gradient(problem, dtype)
        with _within_limits():
            start = time.perf_counter()
            exprs = truth_of(problem).operator_exprs
            built_s = time.perf_counter() - start
            form = exprs.forms[0]
            plan, function, cse, compile_s = form.step(
                f"compiling the float64 plans of the {problem.operator}", lambda: _operator_plans(exprs)
            )
            extras = form.step(f"counting the {problem.operator}'s operations", lambda: _counts(exprs, cse))
        inputs = _inputs(problem, exprs.constant_values)
        start = time.perf_counter()
        flat = plan(inputs)
        setup_s = sum(f.build_s for f in exprs.forms) + built_s + compile_s + time.perf_counter() - start
        values, offset = {}, 0
        for name, entries in exprs.exprs.items():
            values[name] = np.array(flat[offset : offset + entries.size], dtype=np.float64).reshape(entries.shape)
            offset += entries.size
        finite = all(np.isfinite(v).all() for v in values.values())
        return Gradient(
            values,
            median_time(lambda: plan(inputs)),
            message="" if finite else _first_not_finite(plan, inputs, cse[0]),
            setup_s=setup_s,
            f_time_s=median_time(lambda: function(inputs)),
            extras=extras,
        )

    def gradient(self, problem, dtype):
        with _within_limits():
            form = truth_of(problem).symbolic
            plan, function, compile_s = form.step("compiling the float64 plans", lambda: _plans(form))
            extras = {"expr_ops": form.expr_ops, "expr_ops_cse": form.expr_ops_cse}
        inputs = _inputs(problem, form.constant_values)
        start = time.perf_counter()
        flat = plan(inputs)
        setup_s = (
            form.build_s + compile_s + time.perf_counter() - start
        )  # differentiate, eliminate, compile, first call
        values, offset = {}, 0
        for var in problem.wrt:
            shape = form.derivatives[var].shape
            size = int(np.prod(shape))
            values[var] = np.array(flat[offset : offset + size], dtype=np.float64).reshape(shape)
            offset += size
        finite = all(np.isfinite(values[var]).all() for var in values)
        return Gradient(
            values,
            median_time(lambda: plan(inputs)),
            message="" if finite else _first_not_finite(plan, inputs, form.gradient_cse[0]),
            setup_s=setup_s,
            f_time_s=median_time(lambda: function(inputs)),
            extras=extras,
        )
