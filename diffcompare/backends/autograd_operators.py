"""autograd's operators past the gradient, on the function as written with autograd.numpy.

autograd's own functions (autograd.differential_operators), each in the mode it computes:

- `jacobian`: one VJP per output element (reverse), per wrt variable (`argnum`);
- `make_jvp`: forward mode proper, a JVPNode carrying each step's tangent through the trace
  (autograd.core.make_jvp; a primitive without a JVP rule raises, and its cell is skipped);
  `make_jvp_reversemode`: the VJP of the VJP, linear in its cotangent (Townsend's trick,
  "roughly 1.5x more FLOPs than forward-mode"): named reverse-over-reverse;
- `make_vjp`: reverse;
- `hessian`: jacobian(jacobian(f)), reverse-over-reverse; a cross block is the same nesting in
  two argnums;
- `hessian_vector_product`: the gradient of ⟨∇f, v⟩, reverse-over-reverse; and make_jvp of
  grad(f), forward-over-reverse, as torch.func and JAX compose it; a second derivative likewise,
  `hessian` (reverse-over-reverse) and `deriv(grad(f))` (forward-over-reverse).

f takes the wrt variables as positional arguments; the held ones, direction and cotangent
included, are arrays it closes over: constants to every operator. autograd traces f afresh on
every call, so each timed call is a trace and its passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import autograd
import autograd.numpy as anp
import numpy as np
from autograd.differential_operators import make_jvp_reversemode

from diffcompare.backends import Gradient, refusals_skipped
from diffcompare.backends.operator_values import arrange
from diffcompare.backends.timing import PerProblem, median_time
from diffcompare.lang.program import Program

MODES = {
    "gradient": ("reverse",),
    "jacobian": ("reverse",),
    "jvp": ("forward", "reverse-over-reverse"),
    "vjp": ("reverse",),
    "hessian": ("reverse-over-reverse",),
    "hvp": ("forward-over-reverse", "reverse-over-reverse"),
    "second_derivative": ("forward-over-reverse", "reverse-over-reverse"),
}

F_TIMES = PerProblem()  # f's time per problem x dtype, for all the modes of an operator problem


# autograd's words where it has no rule for a primitive: "JVP of cbrt wrt argnums (0,) not defined"
_REFUSALS = ((NotImplementedError, "JVP of ", " not defined"), (NotImplementedError, "VJP of ", " not defined"))


def call_or_skip(call: Callable[[], object]) -> object:
    """call(), or SkipCell with autograd's reason where it has no rule for a primitive."""
    return refusals_skipped(call, "autograd", _REFUSALS)


def _operator(problem, f: Callable, primals: tuple, point: dict, mode: str) -> Callable[[], object]:
    """A call that computes the problem's operator in this mode, nested as operator_values.arrange reads it."""
    operator = problem.operator
    argnums = range(len(primals))
    tangents = tuple(point[problem.direction[k]] for k in problem.wrt) if problem.direction else ()

    def together(xs):  # f of one argument, the tuple of wrt values: autograd's way to take several
        return f(*xs)

    if operator == "jacobian":
        jacobians = [autograd.jacobian(f, i) for i in argnums]
        return lambda: tuple(jacobian(*primals) for jacobian in jacobians)
    if operator == "jvp" and mode == "forward":
        jvp = autograd.make_jvp(together)(primals)
        return lambda: jvp(tangents)[1]
    if operator == "jvp":
        # make_jvp_reversemode(f)(x) is a function of the tangent: built anew each call, as make_jvp's trace
        return lambda: make_jvp_reversemode(together)(primals)(tangents)
    if operator == "vjp":
        cotangent = point[problem.cotangent]
        return lambda: autograd.make_vjp(together)(primals)[0](cotangent)
    if operator == "second_derivative" and mode == "forward-over-reverse":
        second = autograd.deriv(autograd.grad(f))  # deriv: make_jvp along 1, forward mode
        return lambda: [[second(*primals)]]
    if operator in ("hessian", "second_derivative"):
        # autograd.hessian(f, i) is jacobian(jacobian(f, i), i); a cross block, the same nesting in two argnums
        blocks = [
            [autograd.hessian(f, a) if a == b else autograd.jacobian(autograd.jacobian(f, a), b) for b in argnums]
            for a in argnums
        ]
        return lambda: [[block(*primals) for block in row] for row in blocks]
    if operator == "hvp" and mode == "forward-over-reverse":
        gradient = autograd.grad(together)
        return lambda: autograd.make_jvp(gradient)(primals)(tangents)[1]
    if operator == "hvp" and len(primals) == 1:
        hvp = autograd.hessian_vector_product(f)
        return lambda: (hvp(primals[0], tangents[0]),)
    if operator == "hvp":
        # hessian_vector_product's own construction, over a tuple of wrt variables (its tensordot takes one array)
        gradient = autograd.grad(together)

        def along(xs):  # <∇f(x), v>: its gradient is H·v
            return sum(anp.sum(g * v) for g, v in zip(gradient(xs), tangents))

        hvp = autograd.grad(along)
        return lambda: hvp(primals)
    raise ValueError(f"autograd computes no {operator} in mode {mode!r}")


def _flat(raw) -> list:
    """The arrays of a nested output, for the promotion check."""
    if isinstance(raw, (list, tuple)):
        return [a for item in raw for a in _flat(item)]
    return [raw]


def compute(problem, dtype: str, mode: str, ops: dict, quiet: Callable, promotion: Callable) -> Gradient:
    """The problem's operator in this mode (not the gradient: AutogradBackend.gradient).
    f alone is timed once per problem x dtype: the modes of a problem carry the same f_time_s."""
    if mode not in MODES[problem.operator]:
        raise ValueError(f"autograd computes {problem.operator} in {', '.join(MODES[problem.operator])}, not {mode!r}")
    start = time.perf_counter()
    program = Program(problem.function, ops)
    point = {k: np.asarray(v, dtype=dtype) for k, v in problem.point.items()}
    wrt = list(problem.wrt)

    def f(*xs):
        return program({**point, **dict(zip(wrt, xs))})

    primals = tuple(point[k] for k in wrt)
    with quiet():
        call = _operator(problem, f, primals, point, mode)
        raw = call_or_skip(call)
        setup_s = time.perf_counter() - start
        values = arrange(problem, raw, np.asarray)
        time_s = median_time(call)
        f_time_s = F_TIMES.get(problem, dtype, lambda: median_time(lambda: f(*primals)))
    message = promotion(_flat(raw), dtype)
    return Gradient(values, time_s, message=message, setup_s=setup_s, f_time_s=f_time_s)
