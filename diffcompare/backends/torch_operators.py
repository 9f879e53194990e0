"""torch's operators past the gradient, on the function as written with torch's own ops table.

torch.func's transforms (jacfwd, jacrev, jvp, vjp, grad) and their compositions, as the
torch.func documentation composes them (hessian = jacfwd(jacrev)), and the older
forward-mode path of dual numbers (torch.autograd.forward_ad), which needs no functional
transform: the issue asks for both of torch's forward paths. Held variables, direction and
cotangent included, are tensors the function closes over: constants to every transform.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.autograd.forward_ad as fwad
from torch.func import grad, jacfwd, jacrev, jvp, vjp

from diffcompare.backends import Gradient, refusals_skipped
from diffcompare.backends.operator_values import arrange
from diffcompare.backends.timing import PerProblem, median_time
from diffcompare.lang.program import Program

SECOND_ORDER = ("forward-over-reverse", "reverse-over-reverse")
MODES = {
    "gradient": ("reverse",),
    "jacobian": ("forward", "reverse"),
    "jvp": ("forward", "forward-dual"),
    "vjp": ("reverse",),
    "hessian": SECOND_ORDER,
    "hvp": SECOND_ORDER,
    "second_derivative": SECOND_ORDER,
}

F_TIMES = PerProblem()  # f's time per problem x dtype, for all the modes of an operator problem

# torch's own words where an op has no rule for a transform (torch.remainder of a number by a
# tensor, `2.5 % x`, has none in its divisor, forward or reverse): the cell is skipped with them.
_REFUSALS = (
    (RuntimeError, "derivative for ", "not implemented"),  # reverse: "derivative for aten::… is not implemented"
    (NotImplementedError, "Trying to use forward AD with ", "does not support it"),  # forward, dual numbers too
)


def call_or_skip(call: Callable[[], object]) -> object:
    """call(), or SkipCell with torch's reason where torch refuses to differentiate an op."""
    return refusals_skipped(call, "torch", _REFUSALS)


def _operator(problem, f: Callable, primals: tuple, point: dict, mode: str) -> Callable[[], object]:
    """A call that computes the problem's operator in this mode: torch.func's nesting of it."""
    argnums = tuple(range(len(primals)))
    operator = problem.operator
    tangents = tuple(point[problem.direction[k]] for k in problem.wrt) if problem.direction else ()
    if operator == "jacobian":
        jacobian = (jacfwd if mode == "forward" else jacrev)(f, argnums=argnums)
        return lambda: jacobian(*primals)
    if operator == "jvp" and mode == "forward":
        return lambda: jvp(f, primals, tangents)[1]
    if operator == "jvp":
        return lambda: _dual_jvp(f, primals, tangents)
    if operator == "vjp":
        cotangent = point[problem.cotangent]
        return lambda: vjp(f, *primals)[1](cotangent)
    if operator in ("hessian", "second_derivative"):
        outer = jacfwd if mode == "forward-over-reverse" else jacrev
        hessian = outer(jacrev(f, argnums=argnums), argnums=argnums)
        return lambda: hessian(*primals)
    if operator == "hvp" and mode == "forward-over-reverse":
        gradient = grad(f, argnums=argnums)
        return lambda: jvp(gradient, primals, tangents)[1]
    if operator == "hvp":
        hvp = grad(_along(grad(f, argnums=argnums), tangents), argnums=argnums)
        return lambda: hvp(*primals)
    raise ValueError(f"torch computes no {operator} in mode {mode!r}")


def _along(gradient: Callable, tangents: tuple) -> Callable:
    """x ↦ <∇f(x), v>: its gradient is H·v (reverse over reverse)."""
    return lambda *xs: sum((g * v).sum() for g, v in zip(gradient(*xs), tangents))


def _dual_jvp(f: Callable, primals: tuple, tangents: tuple) -> torch.Tensor:
    """J·v by dual numbers: every op of f carries its tangent forward as it runs."""
    with fwad.dual_level():
        out = f(*(fwad.make_dual(p, t) for p, t in zip(primals, tangents)))
        primal, tangent = fwad.unpack_dual(out)
        # f that does not depend on the wrt variables carries no tangent
        return torch.zeros_like(primal) if tangent is None else tangent.clone()


def compute(problem, dtype: str, mode: str, ops: dict, constant: Callable) -> Gradient:
    """The problem's operator in this mode (not the gradient: TorchBackend.gradient, by autograd).
    f alone is timed once per problem x dtype: the modes of a problem carry the same f_time_s."""
    if mode not in MODES[problem.operator]:
        raise ValueError(f"torch computes {problem.operator} in {', '.join(MODES[problem.operator])}, not {mode!r}")
    start = time.perf_counter()
    torch_dtype = getattr(torch, dtype)
    program = Program(problem.function, ops, constant=constant)
    point = {k: torch.tensor(v, dtype=torch_dtype) for k, v in problem.point.items()}
    wrt = list(problem.wrt)

    def f(*xs):
        env = dict(point)
        env.update(zip(wrt, xs))
        return torch.as_tensor(program(env), dtype=torch_dtype)  # a constant f is a Python number

    primals = tuple(point[k] for k in wrt)
    call = _operator(problem, f, primals, point, mode)
    raw = call_or_skip(call)
    setup_s = time.perf_counter() - start
    values = arrange(problem, raw, lambda t: t.numpy(force=True))

    time_s = median_time(call)

    def time_f() -> float:
        def forward():
            with torch.no_grad():
                return f(*primals)

        forward()
        return median_time(forward)

    return Gradient(values, time_s, setup_s=setup_s, f_time_s=F_TIMES.get(problem, dtype, time_f))
