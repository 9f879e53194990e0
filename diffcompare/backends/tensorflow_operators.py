"""TensorFlow's operators past the gradient, eager, on the function as written with its own table.

As TensorFlow's guide to advanced automatic differentiation composes them: the Jacobian by
`tape.jacobian` (reverse), the Hessian by nested tapes (the outer tape's Jacobian of the inner
tape's gradient, reverse over reverse), the JVP by `tf.autodiff.ForwardAccumulator` (forward),
the VJP by `tape.gradient(..., output_gradients=u)` (reverse), the HVP by an accumulator around
a tape (forward over reverse) or by the gradient of <∇f, v> (reverse over reverse), and a second
derivative both ways. Held variables, direction and cotangent included, are constants of every
tape: only the wrt tensors are watched. Where f does not reach a wrt variable its derivative is
0 (UnconnectedGradients.ZERO).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import tensorflow as tf

from diffcompare.backends import Gradient, refusals_skipped
from diffcompare.backends.operator_values import arrange
from diffcompare.backends.timing import PerProblem, median_time
from diffcompare.lang.program import Program

ZERO = tf.UnconnectedGradients.ZERO
MODES = {
    "gradient": ("reverse", "reverse-graph"),
    "jacobian": ("reverse",),
    "jvp": ("forward",),
    "vjp": ("reverse",),
    "hessian": ("reverse-over-reverse",),
    "hvp": ("forward-over-reverse", "reverse-over-reverse"),
    "second_derivative": ("forward-over-reverse", "reverse-over-reverse"),
}

F_TIMES = PerProblem()  # f's time per problem x dtype, for all the modes of an operator problem


def _operator(problem, f: Callable, primals: list, point: dict, mode: str) -> Callable[[], object]:
    """A call that computes the problem's operator in this mode, with TensorFlow's tapes."""
    operator = problem.operator
    tangents = [point[problem.direction[k]] for k in problem.wrt] if problem.direction else []

    def gradient(tape: tf.GradientTape):
        with tape:
            tape.watch(primals)
            out = f(primals)
        return tape.gradient(out, primals, unconnected_gradients=ZERO)

    if operator == "jacobian":

        def jacobian():
            with tf.GradientTape() as tape:
                tape.watch(primals)
                out = f(primals)
            return tape.jacobian(out, primals, unconnected_gradients=ZERO)

        return jacobian
    if operator == "jvp":

        def jvp():
            with tf.autodiff.ForwardAccumulator(primals, tangents) as acc:
                out = f(primals)
            return acc.jvp(out, unconnected_gradients=ZERO)

        return jvp
    if operator == "vjp":
        cotangent = point[problem.cotangent]

        def vjp():
            with tf.GradientTape() as tape:
                tape.watch(primals)
                out = f(primals)
            return tape.gradient(out, primals, output_gradients=cotangent, unconnected_gradients=ZERO)

        return vjp
    if operator in ("hessian", "second_derivative") and mode == "reverse-over-reverse":

        def hessian():
            with tf.GradientTape(persistent=True) as outer:
                outer.watch(primals)
                grads = gradient(tf.GradientTape())
            return [outer.jacobian(g, primals, unconnected_gradients=ZERO) for g in grads]

        return hessian
    if operator == "second_derivative":  # forward over reverse: f'' of one scalar variable, tangent 1
        ones = [tf.ones_like(p) for p in primals]

        def second():
            with tf.autodiff.ForwardAccumulator(primals, ones) as acc:
                grads = gradient(tf.GradientTape())
            return [[acc.jvp(g, unconnected_gradients=ZERO)] for g in grads]

        return second
    if operator == "hvp" and mode == "forward-over-reverse":

        def hvp_forward():
            with tf.autodiff.ForwardAccumulator(primals, tangents) as acc:
                grads = gradient(tf.GradientTape())
            return acc.jvp(grads, unconnected_gradients=ZERO)

        return hvp_forward
    if operator == "hvp":

        def hvp_reverse():
            with tf.GradientTape() as outer:
                outer.watch(primals)
                grads = gradient(tf.GradientTape())
                along = tf.add_n([tf.reduce_sum(g * v) for g, v in zip(grads, tangents)])
            return outer.gradient(along, primals, unconnected_gradients=ZERO)

        return hvp_reverse
    raise ValueError(f"tensorflow computes no {operator} in mode {mode!r}")


def compute(problem, dtype: str, mode: str, ops: dict, constant: Callable) -> Gradient:
    """The problem's operator in this mode (not the gradient: TensorflowBackend). f alone is
    timed once per problem x dtype: the modes of a problem carry the same f_time_s."""
    if mode not in MODES[problem.operator]:
        raise ValueError(
            f"tensorflow computes {problem.operator} in {', '.join(MODES[problem.operator])}, not {mode!r}"
        )
    start = time.perf_counter()
    tf_dtype = tf.as_dtype(dtype)
    program = Program(problem.function, ops, constant=constant)
    point = {k: tf.constant(v, dtype=tf_dtype) for k, v in problem.point.items()}
    wrt = list(problem.wrt)
    primals = [point[k] for k in wrt]

    def f(xs):
        env = dict(point)
        env.update(zip(wrt, xs))
        out = program(env)
        return out if tf.is_tensor(out) else tf.constant(out, dtype=tf_dtype)  # a constant f is a number

    call = _operator(problem, f, primals, point, mode)
    raw = call_or_skip(call)
    setup_s = time.perf_counter() - start
    values = arrange(problem, raw, lambda t: t.numpy())
    time_s = median_time(call)

    def time_f() -> float:
        f(primals)
        return median_time(lambda: f(primals))

    return Gradient(values, time_s, setup_s=setup_s, f_time_s=F_TIMES.get(problem, dtype, time_f))


# TensorFlow's own words where it has no gradient for an op: the cell is skipped with them.
_REFUSALS = ((LookupError, "No gradient defined for operation"),)


def call_or_skip(call: Callable[[], object]) -> object:
    """call(), or SkipCell with TensorFlow's reason where it cannot differentiate an op."""
    return refusals_skipped(call, "TensorFlow", _REFUSALS)
