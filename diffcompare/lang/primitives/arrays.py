"""Array building: list literals ([a, b] is stack), stack, concatenate, transpose, reshape, cumsum,
roll, tril, triu, diag, outer, and the constant arrays arange, zeros, ones.

Each is declared with `structural`: kind "array", its static parameters (axis=, a shape, a
shift, k) kept in the node's `attr` as a dict and passed to every rule as keywords; `infer`
checks them against the operands' shapes and gives (shape, canonical parameters);
`vjp_any(k, g, ans, *args, **params)` is the VJP rule in operand k (stack and concatenate
take any number of operands); `batched(args, flags, **params)` runs it with a leading batch
axis on the operands whose flag is set (engine.batched). The NumPy forward and VJP rules
work on float, complex and object arrays alike (mpmath, SymPy), so every evaluator uses
them as they are; torch and jax are given their own functions. Every structural step but
outer is linear in its operands, which is all the one-sided slopes need.
"""

from __future__ import annotations

import math

import numpy as np

from diffcompare.lang.limits import LIMITS
from diffcompare.lang.primitives.core import _declare


def _same(xs):
    """The operands as arrays of one dtype (NumPy's promotion, Python numbers weak): an
    integer constant beside float32 arrays stays float32."""
    dtype = np.result_type(*xs)
    return [np.asarray(x, dtype=dtype) for x in xs]


def _axis(axis: int, ndim: int, what: str) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"{what}: axis {axis} is out of range for {ndim} axes")
    return axis % ndim


def _rows(args, flags):
    """Every operand with the batch axis in front: those without it repeated (a view)."""
    rows = next(np.shape(a)[0] for a, f in zip(args, flags) if f)
    return [a if f else np.broadcast_to(np.asarray(a), (rows, *np.shape(a))) for a, f in zip(args, flags)]


def structural(name: str, infer, vjp_any, batched, forward, **declaration):
    return _declare(name, "array", (), forward=forward, infer=infer, vjp_any=vjp_any, batched=batched, **declaration)


# --- stack, concatenate -----------------------------------------------------------------


def _stack_infer(shapes, axis=0):
    for s in shapes[1:]:
        if s != shapes[0]:
            raise ValueError(f"stack: shapes {shapes[0]} and {s} differ")
    a = _axis(axis, len(shapes[0]) + 1, "stack")
    return (*shapes[0][:a], len(shapes), *shapes[0][a:]), {"axis": a}


def _concat_infer(shapes, axis=0):
    if any(len(s) == 0 for s in shapes):
        raise ValueError("concatenate: scalars have no axis to join along; write [a, b] or stack(a, b)")
    a = _axis(axis, len(shapes[0]), "concatenate")
    for s in shapes[1:]:
        if len(s) != len(shapes[0]) or s[:a] + s[a + 1 :] != shapes[0][:a] + shapes[0][a + 1 :]:
            raise ValueError(f"concatenate: shapes {shapes[0]} and {s} differ off axis {a}")
    return (*shapes[0][:a], sum(s[a] for s in shapes), *shapes[0][a + 1 :]), {"axis": a}


def _concat_vjp(k, g, ans, *args, axis):
    start = sum(np.shape(a)[axis] for a in args[:k])
    index = [slice(None)] * np.ndim(g)
    index[axis] = slice(start, start + np.shape(args[k])[axis])
    return g[tuple(index)]


def _torch_tensors(torch, xs):
    like = next(x for x in xs if isinstance(x, torch.Tensor))
    return [x if isinstance(x, torch.Tensor) else torch.as_tensor(x, dtype=like.dtype) for x in xs]


def _joined(name: str, forward):
    """stack and concatenate for a library that follows NumPy's names (autograd.numpy:
    `like="numpy"`): its own function, given the operands as the one list NumPy's takes
    (the IR passes them one by one); NumPy's is `forward`."""

    def make(np_):
        if np_ is np:
            return forward
        join = getattr(np_, name)
        return lambda *xs, axis: join(list(xs), axis=axis)

    return make


def _stack(*xs, axis):
    return np.stack(_same(xs), axis=axis)


def _concatenate(*xs, axis):
    return np.concatenate(_same(xs), axis=axis)


STACK = structural(
    "stack",
    _stack_infer,
    lambda k, g, ans, *args, axis: np.take(g, k, axis=axis),
    lambda args, flags, axis: np.stack(_same(_rows(args, flags)), axis=axis + 1),
    _stack,
    numpy=_joined("stack", _stack),
    torch=lambda torch: lambda *xs, axis: torch.stack(_torch_tensors(torch, xs), dim=axis),
    jax=lambda jnp: lambda *xs, axis: jnp.stack(xs, axis=axis),
)
CONCATENATE = structural(
    "concatenate",
    _concat_infer,
    _concat_vjp,
    lambda args, flags, axis: np.concatenate(_same(_rows(args, flags)), axis=axis + 1),
    _concatenate,
    numpy=_joined("concatenate", _concatenate),
    torch=lambda torch: lambda *xs, axis: torch.cat(_torch_tensors(torch, xs), dim=axis),
    jax=lambda jnp: lambda *xs, axis: jnp.concatenate(xs, axis=axis),
)

# --- transpose, reshape, roll -----------------------------------------------------------


def _reversed_axes(x, batched=False):
    n = np.ndim(x) - batched
    return (0, *range(n, 0, -1)) if batched else tuple(range(n - 1, -1, -1))


TRANSPOSE = structural(
    "transpose",
    lambda shapes: (tuple(reversed(shapes[0])), {}),
    lambda k, g, ans, x: np.transpose(g),
    lambda args, flags: np.transpose(args[0], _reversed_axes(args[0], True)),
    lambda x: np.transpose(x),
    torch=lambda torch: lambda x: torch.permute(x, _reversed_axes(x)),
)


def _reshape_infer(shapes, shape):
    size = int(np.prod(shapes[0]))
    if int(np.prod(shape)) != size:
        raise ValueError(f"reshape: cannot reshape {shapes[0]} ({size} elements) into {shape}")
    return tuple(shape), {"shape": tuple(shape)}


RESHAPE = structural(
    "reshape",
    _reshape_infer,
    lambda k, g, ans, x, shape: np.reshape(g, np.shape(x)),
    lambda args, flags, shape: np.reshape(args[0], (np.shape(args[0])[0], *shape)),
    lambda x, shape: np.reshape(x, shape),
)


def _roll_infer(shapes, shift, axis=None):
    if axis is not None:
        axis = _axis(axis, len(shapes[0]), "roll")
    return shapes[0], {"shift": shift, "axis": axis}


def _roll_batched(args, flags, shift, axis):
    x = args[0]
    if axis is not None:
        return np.roll(x, shift, axis=axis + 1)
    return np.roll(x.reshape(x.shape[0], -1), shift, axis=1).reshape(x.shape)


ROLL = structural(
    "roll",
    _roll_infer,
    lambda k, g, ans, x, shift, axis: np.roll(g, -shift, axis=axis),
    _roll_batched,
    lambda x, shift, axis: np.roll(x, shift, axis=axis),
    torch=lambda torch: lambda x, shift, axis: torch.roll(x, shift, dims=axis),
)

# --- cumsum ----------------------------------------------------------------------------------


def _cumsum_infer(shapes, axis=None):
    if not shapes[0]:
        raise ValueError("cumsum: takes an array, not a scalar")
    if axis is None and len(shapes[0]) > 1:
        # NumPy would flatten the matrix, torch needs dim: the sum's direction is not guessed
        raise ValueError(f"cumsum: an array of shape {shapes[0]} needs axis= (cumsum(A, axis=1))")
    return shapes[0], {"axis": _axis(0 if axis is None else axis, len(shapes[0]), "cumsum")}


def _cumsum_vjp(k, g, ans, x, axis):
    """The running sum's adjoint is the running sum of the adjoint from the other end."""
    g = np.asarray(g)
    return np.flip(np.cumsum(np.flip(g, axis=axis), axis=axis), axis=axis)


CUMSUM = structural(
    "cumsum",
    _cumsum_infer,
    _cumsum_vjp,
    lambda args, flags, axis: np.cumsum(args[0], axis=axis + 1),
    lambda x, axis: np.cumsum(x, axis=axis),
    torch=lambda torch: lambda x, axis: torch.cumsum(x, dim=axis),
    jax=lambda jnp: lambda x, axis: jnp.cumsum(x, axis=axis),
    latex=r"\operatorname{cumsum}",
)

# --- tril, triu, diag, outer ---------------------------------------------------------------


def _triangle_infer(name):
    def infer(shapes, k=0):
        if len(shapes[0]) != 2:
            raise ValueError(f"{name}: takes a matrix, not shape {shapes[0]}")
        return shapes[0], {"k": k}

    return infer


def _triangle(x, k, lower: bool):
    """The triangle of x's last two axes, the rest 0 (x · 0 would keep a NaN or ∞ there)."""
    x = np.asarray(x)
    n, m = x.shape[-2:]
    mask = np.tri(n, m, k, dtype=bool) if lower else ~np.tri(n, m, k - 1, dtype=bool)
    zero = np.zeros((), dtype=x.dtype)
    return np.where(mask, x, zero)


def _triangle_primitive(name: str, lower: bool):
    return structural(
        name,
        _triangle_infer(name),
        lambda k_, g, ans, x, k: _triangle(g, k, lower),
        lambda args, flags, k: _triangle(args[0], k, lower),
        lambda x, k: _triangle(x, k, lower),
        torch=lambda torch: lambda x, k: getattr(torch, name)(x, diagonal=k),
        jax=lambda jnp: lambda x, k: getattr(jnp, name)(x, k),
    )


TRIL = _triangle_primitive("tril", True)
TRIU = _triangle_primitive("triu", False)


def _diag_infer(shapes):
    s = shapes[0]
    if len(s) == 1:
        return (s[0], s[0]), {}
    if len(s) == 2:
        return (min(s),), {}
    raise ValueError(f"diag: takes a vector (→ a diagonal matrix) or a matrix (→ its diagonal), not shape {s}")


def _diag_matrix(v):
    """A (…, n) array as (…, n, n) with v on the diagonal and zeros elsewhere."""
    v = np.asarray(v)
    n = v.shape[-1]
    out = np.zeros((*v.shape, n), dtype=v.dtype)
    out[..., np.arange(n), np.arange(n)] = v
    return out


def _diag_vjp(k, g, ans, x):
    if np.ndim(x) == 2:
        out = np.zeros(np.shape(x), dtype=np.asarray(g).dtype)
        n = min(np.shape(x))
        out[np.arange(n), np.arange(n)] = g
        return out
    return np.diagonal(g).copy()


DIAG = structural(
    "diag",
    _diag_infer,
    _diag_vjp,
    lambda args, flags: _diag_matrix(args[0]) if args[0].ndim == 2 else np.diagonal(args[0], axis1=1, axis2=2),
    lambda x: _diag_matrix(x) if np.ndim(x) == 1 else np.diagonal(x).copy(),
)


def _outer_infer(shapes):
    if len(shapes[0]) != 1 or len(shapes[1]) != 1:
        raise ValueError(f"outer: takes two vectors, not shapes {shapes[0]} and {shapes[1]}")
    return (shapes[0][0], shapes[1][0]), {}


def _outer(a, b):
    return np.asarray(a)[..., :, None] * np.asarray(b)[..., None, :]


OUTER = structural(
    "outer",
    _outer_infer,
    lambda k, g, ans, a, b: np.asarray(g) @ np.asarray(b) if k == 0 else np.asarray(a) @ np.asarray(g),
    lambda args, flags: _outer(*args),
    _outer,
    linear=False,
    jvps=(lambda t, ans, a, b: _outer(t, b), lambda t, ans, a, b: _outer(a, t)),  # bilinear, as matmul
)

# --- constant arrays: folded when the problem loads ---------------------------------------------


def _within_limit(name: str, shape) -> None:
    """Checked before the constant is made: zeros((10**9,)) is refused, not allocated."""
    if math.prod(shape) > LIMITS["elements"]:
        raise ValueError(f"{name}: {math.prod(shape)} elements; the limit is {LIMITS['elements']} (--max-elements)")


def _arange_infer(shapes, start, stop):
    n = max(0, math.ceil(stop - start))
    if n == 0:
        raise ValueError(f"arange({start}, {stop}) is empty")
    _within_limit("arange", (n,))
    return (n,), {"start": start, "stop": stop}


def _filled_infer(name):
    def infer(shapes, shape):
        if any(n < 1 for n in shape):
            raise ValueError(f"{name}: sizes must be positive, got {shape}")
        _within_limit(name, shape)
        return tuple(shape), {"shape": tuple(shape)}

    return infer


def _constant_only(name):
    def missing(*args, **params):
        raise AssertionError(f"{name}(...) is a constant, folded when the problem loads")

    return missing


ARANGE = structural(
    "arange",
    _arange_infer,
    None,
    None,
    lambda start, stop: np.arange(start, stop, dtype=np.float64),
    torch=lambda torch: _constant_only("arange"),
)


def _filled(name: str, fill):
    return structural(
        name, _filled_infer(name), None, None, lambda shape: fill(shape), torch=lambda torch: _constant_only(name)
    )


ZEROS = _filled("zeros", np.zeros)
ONES = _filled("ones", np.ones)

# --- take: a gather of constant integer indices ------------------------------------------------
# x[idx] with idx a data variable (a point variable outside wrt, read when the problem loads)
# and x[i + 1], A[i, i] inside an index loop (lang.loops) are one gather: `indices` holds one
# int64 array per indexed leading axis (broadcast together), `source` says where they came
# from for messages (("point", "idx") or ("loop", "i", start)). Not a function a problem
# calls (INTERNAL): the parser makes it. Its VJP scatter-adds, so a repeated index
# accumulates (np.add.at; torch's index backward and jax's .at[].add do the same).


def _take_infer(shapes, indices, source=None):
    shape = shapes[0]
    if len(indices) > len(shape):
        raise ValueError(f"{len(indices)} indices for an array of shape {shape}")
    for axis, ix in enumerate(indices):
        bad = np.flatnonzero((ix < 0) | (ix >= shape[axis]))
        if bad.size:
            at = int(bad[0])
            where = ""
            if source and source[0] == "point":
                where = f" (point.{source[1]} holds it)"
            elif source and source[0] == "loop":
                where = f" (at {source[1]} = {source[2] + at})"
            raise ValueError(
                f"index {int(ix.flat[at])}{where} is out of range for axis {axis} of length {shape[axis]} "
                f"(0 … {shape[axis] - 1})"
            )
    held = np.broadcast_shapes(*(ix.shape for ix in indices))
    _within_limit("the gather", (*held, *shape[len(indices) :]))
    return (*held, *shape[len(indices) :]), {"indices": indices, "source": source}


def _take(x, indices, source=None):
    return np.asarray(x)[tuple(indices)]


def _take_vjp(k, g, ans, x, indices, source=None):
    g = np.asarray(g)
    out = np.zeros(np.shape(x), dtype=g.dtype)
    np.add.at(out, tuple(indices), g)
    return out


def _torch_take(torch):
    def take(x, indices, source=None):
        return x[tuple(torch.from_numpy(np.array(ix)) for ix in indices)]

    return take


def _jax_take(jnp):
    def take(x, indices, source=None):
        return x[tuple(jnp.asarray(ix) for ix in indices)]

    return take


TAKE = structural(
    "take",
    _take_infer,
    _take_vjp,
    lambda args, flags, indices, source=None: np.asarray(args[0])[(slice(None), *indices)],
    _take,
    # a library that follows NumPy's names indexes its own arrays (autograd's boxes): no asarray
    numpy=lambda np_: _take if np_ is np else lambda x, indices, source=None: x[tuple(indices)],
    torch=_torch_take,
    jax=_jax_take,
)
# Primitives the parser makes and a problem does not call by name.
INTERNAL = frozenset({"take"})

ARRAYS = (STACK, CONCATENATE, TRANSPOSE, RESHAPE, ROLL, CUMSUM, TRIL, TRIU, DIAG, OUTER, ARANGE, ZEROS, ONES, TAKE)
