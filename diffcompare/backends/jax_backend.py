"""`jax`: jax.grad under jax.jit on the function as written, with jax.numpy / jax.nn.

x64 is enabled so that float64 rows are float64; float32 rows pass float32 arrays.
"""

from __future__ import annotations

import functools
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402  (after x64 is enabled)
import numpy as np  # noqa: E402

from diffcompare.backends import BaseBackend, Gradient  # noqa: E402
from diffcompare.backends.timing import median_time  # noqa: E402
from diffcompare.lang.primitives import library_ops  # noqa: E402
from diffcompare.lang.program import Program  # noqa: E402


def _where(dtype: str):
    """jnp.where in the row's dtype. Given two Python numbers for branches, jax (x64 on)
    makes a float64 array of them, weakly typed: in a float32 row, the steps after it
    ran in float64 until they met a float32 array."""

    def where(cond, a, b):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            a, b = jnp.asarray(a, dtype=dtype), jnp.asarray(b, dtype=dtype)
        return jnp.where(cond, a, b)

    return where


def jax_constant(dtype: str):
    """Numbers stay Python numbers (weakly typed); a constant array is a jax array of the
    row's dtype (a NumPy float64 array would carry a float32 row's steps in float64)."""
    return lambda v: jnp.asarray(v, dtype=dtype) if isinstance(v, np.ndarray) else v


@functools.cache
def jax_ops(dtype: str) -> dict:
    """jax.numpy's functions by the primitives' declarations (diffcompare.lang.primitives:
    NumPy's names, Python's operators, jax.nn and jax.scipy.special where they differ), for
    a row of this dtype. Constants stay Python numbers (weakly typed: they take the dtype
    of the arrays they meet), except where no array is there to meet (_where)."""
    return library_ops("jax", own={"where": _where(dtype)})


JAX_OPS = jax_ops("float64")  # the float64 table (tests/test_backends.py)


class JaxBackend(BaseBackend):
    name = "jax"
    library = "jax"
    description = f"jax.jit(jax.grad(f)) (jax {jax.__version__})"

    def gradient(self, problem, dtype):
        start = time.perf_counter()
        program = Program(problem.function, jax_ops(dtype), constant=jax_constant(dtype))
        wrt = list(problem.wrt)
        held = [k for k in problem.point if k not in wrt]

        def f(wrt_values, held_values):
            env = dict(zip(wrt, wrt_values))
            env.update(zip(held, held_values))
            return jnp.asarray(program(env), dtype=dtype)

        grad = jax.jit(jax.grad(f))
        args = (
            tuple(jnp.asarray(problem.point[k], dtype=dtype) for k in wrt),
            tuple(jnp.asarray(problem.point[k], dtype=dtype) for k in held),
        )

        def run():
            return jax.block_until_ready(grad(*args))

        grads = run()  # traces and compiles, then runs
        setup_s = time.perf_counter() - start
        values = {k: np.asarray(g, dtype=np.float64) for k, g in zip(wrt, grads)}
        function = jax.jit(f)

        def forward():
            return jax.block_until_ready(function(*args))

        forward()  # compiles f alone
        return Gradient(values, median_time(run), setup_s=setup_s, f_time_s=median_time(forward))
