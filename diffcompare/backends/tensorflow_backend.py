"""`tensorflow`: tf.GradientTape on the function as written, with TensorFlow's own primitives.

Two modes for the gradient, each a set of rows of its own: "reverse" is the eager tape, as
TensorFlow 2 runs by default; "reverse-graph" is the same tape inside a `tf.function`, traced
once per problem × dtype (an input_signature of the point's fixed shapes and the row's dtype,
so nothing retraces; without AutoGraph, which has no tensor-dependent Python control flow to
convert here), its tracing and Grappler's rewriting (on the first call) counted in setup_s and
its warm calls timed; f alone is timed in a tf.function of its own. Tensors are of
the row's dtype (float32 or float64) and constants are passed as hand-written TF code passes
them: Python numbers stay numbers (TF gives them the tensor's dtype), a constant array is a
tf.constant of the row's dtype (a float32 constant beside a float64 tensor would be TF's
dtype error). Where TensorFlow would make a number float32 (int32 for 3) beside a float64
tensor and refuse it (tf.where(c, 3, x), atan2(0.7, x), tnp.hypot(x, 0.01)), the number is
given the tensor's dtype, as code that runs would write it.

The table is tf.math's by the primitives' names (tf.math.sigmoid, tf.math.tanh, tf.math.erf,
Python's operators for + - * / ** % and the comparisons), listing only where TensorFlow
differs: the reductions are tf.math.reduce_*, min/max tf.math.minimum/maximum, clamp
tf.clip_by_value, relu tf.nn.relu, the array steps tf.stack, tf.concat, tf.linalg.*; where
tf.math has no function (log2, log10, exp2, cbrt, hypot, logaddexp, trunc, tril, triu) the
one TensorFlow offers is in its NumPy API, tf.experimental.numpy, and is used as written
there (hypot is sqrt(x² + y²), cbrt sign(x)·|x|^(1/3): TF's formulas, with their overflow and
their NaN at 0). TensorFlow has no gamma function (tf.math.lgamma only): its cells are
`skipped` with that reason.

Importing this module imports TensorFlow (about 6 s and 0.7 GB): only the backend does, never
diffcompare itself. TF_CPP_MIN_LOG_LEVEL=3 is set before the import where it is unset or 1
(TensorFlow's C++ INFO, WARNING and ERROR lines: the CPU-feature notice, and "oneDNN supports
DT_INT32 only on platforms with AVX-512" at the first tape.jacobian, a fallback logged as an
error; what goes wrong in an op reaches the backend as a Python exception all the same, and its
rows say it); the two lines TensorFlow
2.21 writes to stderr while it loads ("oneDNN custom operations are on", written before its
logging is set up, whatever that variable says) are kept from the terminal by holding stderr
during the import, and TensorFlow's Python logger is set to ERROR (tape.jacobian's pfor warns of
retracing on every fifth call), unless TF_CPP_MIN_LOG_LEVEL is 0 (then they see everything).
That the variable is set says nothing of the user's wish: jax's own import sets it to 1 where it
is unset (jax/__init__.py), and the main job loads jax before TensorFlow in every worker.

Threads: TensorFlow's own pools (intra-op: within one op; inter-op: ops side by side in a
graph) are set, when this module loads, from the process's share (backends.threads.current():
the worker's share in a run, every core in one process) as torch's are, intra-op to the share
and inter-op to 1, so that a cell runs on at most its `threads` cores. TensorFlow fixes its
pools when it first runs an op: a process whose TensorFlow already ran keeps its pools, and the
rows say so in their message where they differ from the share.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

import numpy as np

from diffcompare.backends import BaseBackend, Gradient
from diffcompare.backends import threads as thread_share
from diffcompare.backends.timing import PerProblem, median_time
from diffcompare.lang.primitives import Unavailable, library_ops
from diffcompare.lang.program import Program


@contextlib.contextmanager
def _stderr_held(hold: bool):
    """fd 2 to /dev/null while TensorFlow loads (its pre-logging lines), restored after."""
    if not hold:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_VERBOSE = os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0"  # not merely set: jax sets it to 1
if os.environ.get("TF_CPP_MIN_LOG_LEVEL") in (None, "1"):  # unset, or jax's default
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
with _stderr_held(not _VERBOSE and "tensorflow" not in sys.modules):
    import tensorflow as tf
    import tensorflow.experimental.numpy as tnp

if not _VERBOSE:
    # TensorFlow's Python warnings too: tape.jacobian's pfor traces a tf.function on every call
    # and says so ("triggered tf.function retracing") from the fifth call of a timed loop on.
    tf.get_logger().setLevel("ERROR")

from diffcompare.backends import tensorflow_operators  # noqa: E402  (imports tensorflow: after the quiet import)


def _set_pools() -> str:
    """TensorFlow's pools from the process's share; '' where they hold it, else why not."""
    share = thread_share.current()
    try:
        if tf.config.threading.get_intra_op_parallelism_threads() != share:
            tf.config.threading.set_intra_op_parallelism_threads(share)
        if tf.config.threading.get_inter_op_parallelism_threads() != 1:
            tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already ran: its pools are fixed for this process
        pass
    intra = tf.config.threading.get_intra_op_parallelism_threads()
    if intra == share or (intra == 0 and share == thread_share.cores()):
        return ""  # 0: TensorFlow's default, every core: the share of a process of its own
    return f"TensorFlow's intra-op pool has {intra or 'every core'} threads (fixed before the share of {share} was set)"


_set_pools()


# --- the table -----------------------------------------------------------------------------


def _like(xs, dtype=None):
    """The operands as tensors of one dtype: numbers given the tensors' (or the given)
    dtype, as TF's own conversion does for x + 0.5, where a function does not (tnp.hypot's
    float64 square of 0.01 beside a float32 tensor is TF's error)."""
    like = dtype or next((x.dtype for x in xs if tf.is_tensor(x)), tf.float64)
    return [x if tf.is_tensor(x) else tf.constant(x, dtype=like) for x in xs]


def _with_tensors(fn):
    return lambda a, b: fn(*_like((a, b)))


def _matmul(a, b):
    """@ as TF spells it by rank: tf.linalg.matmul of matrices, matvec of a matrix and a
    vector, tensordot of a vector on the left (tf.linalg.matmul wants rank 2 or more)."""
    if a.shape.rank >= 2 and b.shape.rank >= 2:
        return tf.linalg.matmul(a, b)
    if a.shape.rank >= 2:
        return tf.linalg.matvec(a, b)
    return tf.tensordot(a, b, axes=1)


def _where(dtype):
    def where(cond, a, b):
        if not tf.is_tensor(cond):  # a comparison of constants, folded when the problem loads
            cond = tf.constant(bool(cond))
        if not (tf.is_tensor(a) and tf.is_tensor(b)):
            # a number beside a tensor: tf.where makes it float32 (int32 for 3) and refuses it
            # beside a float64 one; hand-written code gives it the dtype
            a, b = _like((a, b), dtype)
        return tf.where(cond, a, b)

    return where


def _clamp(x, lo, hi):
    if tf.is_tensor(lo) or tf.is_tensor(hi):
        x, lo, hi = _like((x, lo, hi))
    return tf.clip_by_value(x, lo, hi)


def _reduce(fn):
    """tf.math.reduce_*(x) over every element, or along the axes (a tuple)."""
    return lambda x, axis=None: fn(x, axis=None if axis is None else list(axis))


def _norm(x, axis=None):
    """tf.norm, the 2-norm of every element (Frobenius for a matrix) or along the axes: tf.norm
    takes one axis (or two for a matrix norm), so several are moved last and flattened."""
    if axis is None:
        return tf.norm(x)
    if len(axis) == 1:
        return tf.norm(x, axis=axis[0])
    rest = [a for a in range(x.shape.rank) if a not in axis]
    moved = tf.transpose(x, rest + list(axis))
    return tf.norm(tf.reshape(moved, [x.shape[a] for a in rest] + [-1]), axis=-1)


def _roll(x, shift, axis):
    if axis is None:  # NumPy's roll of the flattened array
        return tf.reshape(tf.roll(tf.reshape(x, [-1]), shift, axis=0), tf.shape(x))
    return tf.roll(x, shift, axis=axis)


def _take(x, indices, source=None):
    """A gather of constant integer indices, one array per leading axis: tf.gather_nd."""
    index = np.stack(np.broadcast_arrays(*indices), axis=-1)
    return tf.gather_nd(x, index)


def _constant_only(name):
    def missing(*args, **params):
        raise AssertionError(f"{name}(...) is a constant, folded when the problem loads")

    return missing


def tensorflow_ops(dtype) -> dict:
    """TensorFlow's functions for every primitive, for rows of this tf dtype: tf.math's by the
    primitives' names (and Python's operators), and TensorFlow's own where they differ."""
    joined = {
        "stack": lambda *xs, axis: tf.stack(_like(xs), axis=axis),
        "concatenate": lambda *xs, axis: tf.concat(_like(xs), axis=axis),
    }
    return library_ops(
        "tensorflow.math",
        own={
            "matmul": _matmul,
            "relu": tf.nn.relu,
            "atan2": _with_tensors(tf.math.atan2),  # atan2(0.7, x): 0.7 made float32 beside float64
            "min": _with_tensors(tf.math.minimum),
            "max": _with_tensors(tf.math.maximum),
            "clamp": _clamp,
            "where": _where(dtype),
            "trunc": tnp.fix,  # NumPy's fix is trunc: tf.math has no trunc
            # tf.math lacks these; TensorFlow's NumPy API has them (as formulas of its ops)
            "log2": tnp.log2,
            "log10": tnp.log10,
            "exp2": tnp.exp2,
            "cbrt": tnp.cbrt,
            "hypot": _with_tensors(tnp.hypot),
            "logaddexp": _with_tensors(tnp.logaddexp),
            "gamma": Unavailable(
                "tensorflow",
                "gamma",
                "TensorFlow has no gamma function (tf.math.lgamma only; exp(lgamma(x)) is a formula, "
                "not TensorFlow's primitive, and loses Γ's sign on (-1, 0), (-3, -2), …)",
            ),
            "sum": _reduce(tf.math.reduce_sum),
            "mean": _reduce(tf.math.reduce_mean),
            "prod": _reduce(tf.math.reduce_prod),
            "logsumexp": _reduce(tf.math.reduce_logsumexp),
            "amax": _reduce(tf.math.reduce_max),
            "amin": _reduce(tf.math.reduce_min),
            "dot": lambda a, b: tf.tensordot(a, b, axes=1),
            "norm": _norm,
            **joined,
            "transpose": lambda x: tf.transpose(x),
            "reshape": lambda x, shape: tf.reshape(x, shape),
            "roll": _roll,
            "tril": lambda x, k: tnp.tril(x, k),
            "triu": lambda x, k: tnp.triu(x, k),
            "diag": lambda x: tf.linalg.diag(x) if x.shape.rank == 1 else tf.linalg.diag_part(x),
            "outer": lambda a, b: tf.tensordot(a, b, axes=0),
            "arange": _constant_only("arange"),
            "zeros": _constant_only("zeros"),
            "ones": _constant_only("ones"),
            "take": _take,
        },
    )


_TABLES: dict = {}


def ops_for(dtype: str) -> dict:
    if dtype not in _TABLES:
        _TABLES[dtype] = tensorflow_ops(tf.as_dtype(dtype))
    return _TABLES[dtype]


def tensorflow_constant(dtype):
    """Numbers stay Python numbers; a constant array is a tf.constant of the row's dtype."""
    return lambda v: tf.constant(v, dtype=dtype) if isinstance(v, np.ndarray) else v


TENSORFLOW_OPS = ops_for("float64")  # the float64 table (tests)


# --- the backend ----------------------------------------------------------------------------

MODES = ("reverse", "reverse-graph")
F_TIMES = PerProblem()  # f's time per problem × dtype × eager or graph


def _numpy(g, shape) -> np.ndarray:
    """A gradient as float64 in the variable's shape; None (f does not reach it) is 0."""
    if g is None:
        return np.zeros(shape)
    return np.asarray(tf.convert_to_tensor(g).numpy(), dtype=np.float64)


class TensorflowBackend(BaseBackend):
    name = "tensorflow"
    library = "tensorflow-cpu"  # the distribution installed (its version rows carry)
    description = f"tf.GradientTape (TensorFlow {tf.__version__}), eager and in a tf.function"

    def modes(self, problem):
        """gradient: the eager tape and the tape in a tf.function; the other operators by
        tape.jacobian, nested tapes and tf.autodiff.ForwardAccumulator."""
        if problem.operator == "gradient":
            return MODES
        return tensorflow_operators.MODES[problem.operator]

    def compute(self, problem, dtype, mode):
        if problem.operator == "gradient":
            if mode == "reverse":
                return self.gradient(problem, dtype)
            if mode == "reverse-graph":
                return self._graph_gradient(problem, dtype)
            raise ValueError(f"tensorflow computes the gradient in {', '.join(MODES)}, not {mode!r}")
        message = _set_pools()
        tf_dtype = tf.as_dtype(dtype)
        result = tensorflow_operators.compute(problem, dtype, mode, ops_for(dtype), tensorflow_constant(tf_dtype))
        result.message = message
        return result

    def _setup(self, problem, dtype):
        tf_dtype = tf.as_dtype(dtype)
        program = Program(problem.function, ops_for(dtype), constant=tensorflow_constant(tf_dtype))
        point = {k: tf.constant(v, dtype=tf_dtype) for k, v in problem.point.items()}
        return program, point

    def gradient(self, problem, dtype):
        """The eager tape: each call records f on a fresh tape and walks it back."""
        start = time.perf_counter()
        message = _set_pools()
        program, point = self._setup(problem, dtype)
        wrt = [point[k] for k in problem.wrt]
        grad = _tape_gradient(program, point, problem.wrt)
        grads = tensorflow_operators.call_or_skip(lambda: grad(wrt))
        setup_s = time.perf_counter() - start
        values = {k: _numpy(g, problem.point[k].shape) for k, g in zip(problem.wrt, grads)}
        time_s = median_time(lambda: grad(wrt))

        def time_f():
            program(point)
            return median_time(lambda: program(point))

        f_time_s = F_TIMES.get(problem, (dtype, "eager"), time_f)
        return Gradient(values, time_s, message=message, setup_s=setup_s, f_time_s=f_time_s)

    def _graph_gradient(self, problem, dtype):
        """The same tape in a tf.function: traced once (setup_s), its warm calls timed."""
        start = time.perf_counter()
        message = _set_pools()
        program, point = self._setup(problem, dtype)
        names = list(point)
        signature = [tf.TensorSpec(point[k].shape, point[k].dtype) for k in names]
        at = [names.index(k) for k in problem.wrt]
        grad = _tape_gradient(program, None, problem.wrt)

        @tf.function(input_signature=signature, autograph=False)
        def graph(*values):
            return grad([values[i] for i in at], dict(zip(names, values)))

        args = [point[k] for k in names]
        grads = tensorflow_operators.call_or_skip(lambda: graph(*args))
        setup_s = time.perf_counter() - start
        values = {k: _numpy(g, problem.point[k].shape) for k, g in zip(problem.wrt, grads)}
        time_s = median_time(lambda: graph(*args))

        def time_f():
            forward = tf.function(lambda *values: _as_tensor(program(dict(zip(names, values))), dtype), autograph=False)
            forward.get_concrete_function(*signature)
            forward(*args)
            return median_time(lambda: forward(*args))

        f_time_s = F_TIMES.get(problem, (dtype, "graph"), time_f)
        return Gradient(values, time_s, message=message, setup_s=setup_s, f_time_s=f_time_s)


def _as_tensor(value, dtype):
    return value if tf.is_tensor(value) else tf.constant(value, dtype=dtype)


def _tape_gradient(program, point, wrt_names):
    """grad(wrt_values, env=point): the tape's gradient of f in the wrt values (None where f
    does not reach one: the caller makes it 0)."""

    def grad(wrt_values, env=None):
        env = dict(point if env is None else env)
        with tf.GradientTape() as tape:
            for x in wrt_values:
                tape.watch(x)
            env.update(zip(wrt_names, wrt_values))
            out = program(env)
        if not tf.is_tensor(out):  # f is a constant
            return [None] * len(wrt_values)
        return tape.gradient(out, wrt_values)

    return grad
