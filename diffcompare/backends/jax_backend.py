"""`jax`: jax.grad under jax.jit on the function as written, with jax.numpy / jax.nn (and the
operators past the gradient by jax.jacfwd, jacrev, jvp, vjp: diffcompare.backends.jax_operators).

x64 is enabled so that float64 rows are float64; float32 rows pass float32 arrays.

Every compilation goes through JAX's persistent compilation cache (diffcompare.backends.jax_cache:
on by default, in the user's cache folder; --no-jax-cache or DIFFCOMPARE_JAX_CACHE=0 turn it off),
and the compiled programs are kept per process (jax_operators.compute): setup_s is what building
the program cost the first time this process built it, trace + lower + XLA's compilation, or
trace + lower + reading the compilation back where the cache had it.
"""

from __future__ import annotations

import dataclasses
import functools

import jax

jax.config.update("jax_enable_x64", True)

from diffcompare.backends import jax_cache  # noqa: E402

jax_cache.apply()  # the persistent compilation cache, before this process's first compilation

import jax.numpy as jnp  # noqa: E402  (after x64 is enabled)
import numpy as np  # noqa: E402

from diffcompare.backends import BaseBackend, jax_operators  # noqa: E402
from diffcompare.lang.primitives import library_ops  # noqa: E402


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

    def modes(self, problem):
        """gradient: reverse (jax.grad); the others by jacfwd/jacrev/jvp/vjp and their compositions."""
        return jax_operators.MODES[problem.operator]

    def compute(self, problem, dtype, mode):
        return jax_operators.compute(problem, dtype, mode, jax_ops(dtype), jax_constant(dtype))

    def gradient(self, problem, dtype):
        """jax.jit(jax.grad(f)): the gradient, whatever operator the problem asks for (as torch's)."""
        if problem.operator != "gradient":
            problem = dataclasses.replace(problem, operator="gradient", direction={}, cotangent="")
        return jax_operators.compute(problem, dtype, "reverse", jax_ops(dtype), jax_constant(dtype))
