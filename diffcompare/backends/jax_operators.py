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
from diffcompare.backends.timing import median_time
from diffcompare.lang.program import Program

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


def compute(problem, dtype: str, mode: str, ops: dict, constant: Callable) -> Gradient:
    """The problem's operator in this mode (the gradient too: JaxBackend.gradient)."""
    if mode not in MODES[problem.operator]:
        raise ValueError(f"jax computes {problem.operator} in {', '.join(MODES[problem.operator])}, not {mode!r}")
    start = time.perf_counter()
    program = Program(problem.function, ops, constant=constant)
    wrt = list(problem.wrt)
    held = [k for k in problem.point if k not in wrt]

    def f(wrt_values, held_values):
        env = dict(zip(wrt, wrt_values))
        env.update(zip(held, held_values))
        return jnp.asarray(program(env), dtype=dtype)

    operator = jax.jit(_operator(problem, f, held, mode))
    args = (
        tuple(jnp.asarray(problem.point[k], dtype=dtype) for k in wrt),
        tuple(jnp.asarray(problem.point[k], dtype=dtype) for k in held),
    )

    def run():
        return jax.block_until_ready(operator(*args))

    raw = run()  # traces and compiles, then runs
    setup_s = time.perf_counter() - start
    values = arrange(problem, raw, np.asarray)
    function = jax.jit(f)

    def forward():
        return jax.block_until_ready(function(*args))

    forward()  # compiles f alone
    return Gradient(values, median_time(run), setup_s=setup_s, f_time_s=median_time(forward))
