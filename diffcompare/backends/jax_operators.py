"""jax's operators past the gradient, under jax.jit, on the function as written with jax.numpy.

jax.jacfwd, jax.jacrev, jax.jvp, jax.vjp and jax.grad, composed as JAX's documentation
composes them (hessian = jacfwd(jacrev); an HVP is the JVP of the gradient, or the gradient
of <∇f, v>). f takes the wrt variables and the held ones as two tuples, as the gradient's
does (JaxBackend.gradient); the operator differentiates in the first alone, so the held
variables, direction and cotangent included, are constants of every transform.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from diffcompare.backends import Gradient
from diffcompare.backends.operator_values import arrange
from diffcompare.backends.timing import PerProblem, median_time
from diffcompare.lang.memo import Kept
from diffcompare.lang.program import Program
from diffcompare.lang.structure import structure_key

SECOND_ORDER = ("forward-over-reverse", "reverse-over-reverse")
MODES = {
    "gradient": ("reverse",),
    "jacobian": ("forward", "reverse"),
    "jvp": ("forward",),
    "vjp": ("reverse",),
    "hessian": SECOND_ORDER,
    "hvp": SECOND_ORDER,
    "second_derivative": SECOND_ORDER,
}


def _operator(problem, f: Callable, held: list[str], mode: str) -> Callable:
    """operator(wrt_values, held_values): the problem's operator in this mode, JAX's nesting of it."""
    operator = problem.operator
    # where the direction and cotangent sit among the held values (they are point variables)
    tangent_at = [held.index(problem.direction[k]) for k in problem.wrt] if problem.direction else []

    def tangents(h):
        return tuple(h[i] for i in tangent_at)

    if operator == "gradient":
        return jax.grad(f)
    if operator == "jacobian":
        return (jax.jacfwd if mode == "forward" else jax.jacrev)(f)
    if operator == "jvp":
        return lambda w, h: jax.jvp(lambda w: f(w, h), (w,), (tangents(h),))[1]
    if operator == "vjp":
        at = held.index(problem.cotangent)
        return lambda w, h: jax.vjp(lambda w: f(w, h), w)[1](h[at])[0]
    if operator in ("hessian", "second_derivative"):
        return (jax.jacfwd if mode == "forward-over-reverse" else jax.jacrev)(jax.jacrev(f))
    gradient = jax.grad(f)
    if operator == "hvp" and mode == "forward-over-reverse":
        return lambda w, h: jax.jvp(lambda w: gradient(w, h), (w,), (tangents(h),))[1]
    if operator == "hvp":

        def along(w, h):  # <∇f(w), v>: its gradient is H·v
            return sum(jnp.sum(g * v) for g, v in zip(gradient(w, h), tangents(h)))

        return jax.grad(along)
    raise ValueError(f"jax computes no {operator} in mode {mode!r}")


def _program_key(problem, dtype: str, ops: dict) -> tuple:
    """What f's program depends on: the computation (structure_key: operations, constants,
    shapes, variable names; not the text), the wrt and held variables in order, every point
    variable's shape (so that a kept program never meets a new shape: no retracing), the dtype,
    and the table of functions it is lowered with (a plug-in that subclasses the jax backend
    with a table of its own never gets the built-in's programs: jax_ops' tables live as long
    as the process, and _OPS_SEEN keeps any other alive, so that its id is never reused)."""
    wrt = tuple(problem.wrt)
    held = tuple(k for k in problem.point if k not in wrt)
    shapes = tuple(np.shape(problem.point[k]) for k in wrt + held)
    _OPS_SEEN.setdefault(id(ops), ops)
    return (structure_key(problem.function), wrt, held, shapes, dtype, id(ops))


MEMO_SIZE = 256  # programs kept per process, for operators and for f alone each
_OPS_SEEN: dict[int, dict] = {}  # id -> the tables of functions the kept programs were lowered with
_OPERATORS = Kept(MEMO_SIZE)  # key -> (jitted operator, setup_s)
_FUNCTIONS = Kept(MEMO_SIZE)  # program key -> jitted f
_F_TIMES = PerProblem()  # f's time, once per problem x dtype for all its modes


def forget() -> None:
    """Drop the kept programs and f's times (tests; a process that wants every build afresh)."""
    _OPERATORS.clear()
    _FUNCTIONS.clear()
    _F_TIMES.clear()


def _function(problem, dtype: str, ops: dict, constant: Callable) -> Callable:
    """f(wrt_values, held_values) on a Program of the problem's function with these ops."""
    program = Program(problem.function, ops, constant=constant)
    wrt = list(problem.wrt)
    held = [k for k in problem.point if k not in wrt]

    def f(wrt_values, held_values):
        env = dict(zip(wrt, wrt_values))
        env.update(zip(held, held_values))
        return jnp.asarray(program(env), dtype=dtype)

    return f


def compute(problem, dtype: str, mode: str, ops: dict, constant: Callable) -> Gradient:
    """The problem's operator in this mode (the gradient too: JaxBackend.gradient).

    The jitted operator is kept (per process, MEMO_SIZE of them, least recently used
    forgotten) under _program_key and the operator, mode, direction and cotangent: a later
    problem that computes the same thing in the same shapes (a sweep over points) calls the
    same compiled program. setup_s is the cost of building it: the Program, jax's tracing
    and lowering, XLA's compilation (or reading it back from the persistent compilation
    cache, diffcompare.backends.jax_cache: then setup_s is trace + lower + the read) and the
    first call. A problem that finds its program kept reports the setup_s measured when it
    was built, so that setup_s does not depend on which problems ran before in the process.
    f alone is jitted and kept the same way (without the operator and mode) and timed once
    per problem x dtype: the modes of an operator problem carry the same f_time_s."""
    if mode not in MODES[problem.operator]:
        raise ValueError(f"jax computes {problem.operator} in {', '.join(MODES[problem.operator])}, not {mode!r}")
    start = time.perf_counter()
    key = _program_key(problem, dtype, ops)
    wrt, held = key[1], key[2]
    args = (
        tuple(jnp.asarray(problem.point[k], dtype=dtype) for k in wrt),
        tuple(jnp.asarray(problem.point[k], dtype=dtype) for k in held),
    )
    along = (problem.operator, mode, tuple(sorted(problem.direction.items())), problem.cotangent)
    found = _OPERATORS.get(key + along)
    if found is not None:
        operator, setup_s = found
        raw = jax.block_until_ready(operator(*args))
    else:
        f = _function(problem, dtype, ops, constant)
        operator = jax.jit(_operator(problem, f, list(held), mode))
        raw = jax.block_until_ready(operator(*args))  # traces and compiles, then runs
        setup_s = time.perf_counter() - start
        _OPERATORS.put(key + along, (operator, setup_s))
    values = arrange(problem, raw, np.asarray)

    def run():
        return jax.block_until_ready(operator(*args))

    time_s = median_time(run)

    def time_f() -> float:
        function, _ = _FUNCTIONS.keep(key, lambda: jax.jit(_function(problem, dtype, ops, constant)))

        def forward():
            return jax.block_until_ready(function(*args))

        forward()  # compiles f alone, where it is not kept
        return median_time(forward)

    f_time_s = _F_TIMES.get(problem, dtype, time_f)
    return Gradient(values, time_s, setup_s=setup_s, f_time_s=f_time_s)
