"""The one primitive table: everything diffcompare knows about a primitive, declared once.

Each primitive is one declaration, in the spirit of HIPS autograd's
``defvjp(anp.sin, lambda ans, x: lambda g: g * anp.cos(x))`` and JAX's ``defjvp``:

- its arity, kind, and how its shape follows from its operands;
- its forward rule in NumPy (by default ``numpy.<its NumPy name>``) and one local
  derivative (VJP) rule per operand. A VJP rule here is ``vjp(g, ans, *args)``: the
  upstream adjoint g times the local derivative, before it is summed back to the
  operand's shape (the engine does that for broadcasting);
- where it is not differentiable (`kink`, and `kink_words` for the messages), and a
  `hazard`: how much its forward or local-derivative rule amplifies rounding error at a
  point, which the report uses to explain a lost digit (sigmoid's σ(1-σ) at large
  arguments, cancellation in a - b), and whose rounding it amplifies (`hazard_of`): the
  step's own result's, or the rounding its operands carry, which is none for an operand
  the dtype holds exactly;
- for complex steps: whether it is analytic, and a complex-safe forward rule where the
  real one is not (`complex_forward`);
- for reductions, the row-wise form over axis 1 of a (batch, n) array (`rows`), which the
  batched finite differences use;
- whether and how the fuzzer draws it (`fuzz`, `fuzz_integers`) and its typeset LaTeX name;
- its function in each library: NumPy, torch, jax, SymPy, mpmath.

Library names follow a convention, as SymPy's lambdify ``*_TRANSLATIONS`` dicts do: a
primitive is ``<root>.<name>`` in each library (LIBRARY_ROOTS: ``torch.sin``,
``jax.numpy.sin``, ``sympy.sin``, ``mpmath.sin``, ``numpy.sin``), a NumPy-like library
(jax.numpy, a plug-in's autograd.numpy) takes NumPy's name, and a primitive written with
a Python operator (a + b) is that operator. A declaration lists only the names that
differ: another name (``numpy="arcsin"``), a dotted path (``jax="jax.nn.sigmoid"``), a
factory that receives the library module and builds the formula where the library has
no single function (``sympy=lambda sympy: lambda u: 1 / (1 + sympy.exp(-u))``), or None
(the library has none). Names are resolved lazily, by `native` and `library_ops`, so
this module imports no library but NumPy.

Every table is derived from these declarations: the engine's NUMPY_OPS and complex ops,
the batched reductions, SYMPY_OPS and the float64/mpmath evaluation of SymPy's functions,
TORCH_OPS and JAX_OPS (each backend keeps only a few adapters of its own), the fuzzer's
lists, the LaTeX names. Adding a primitive is one declaration here (and a test row).
"""

from __future__ import annotations

import math
import operator as op
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

import numpy as np

VJP = Callable[..., np.ndarray]
# A library name: a name in the library's root module, a dotted path from a top-level
# module, a factory given the library's root module, or None where the library has none.
Name = str | Callable[[Any], Callable[..., Any]] | None

# Where each library's functions live, by the convention <root>.<name>.
LIBRARY_ROOTS = {"numpy": "numpy", "torch": "torch", "jax": "jax.numpy", "sympy": "sympy", "mpmath": "mpmath"}
# Libraries that follow NumPy's names where a declaration gives none of their own.
NUMPY_LIKE = {"jax": "numpy"}


@dataclass(frozen=True)
class Primitive:
    name: str
    arity: int
    kind: str  # elementwise | reduction | matmul | compare
    forward: Callable[..., np.ndarray]
    vjps: tuple[VJP | None, ...]  # None: not differentiable in that operand
    smooth: bool = True  # False: has kinks (relu, abs, min, max, clamp, where)
    hazard: Callable[..., tuple[float, str] | None] | None = field(default=None, repr=False)
    kink: Callable[..., np.ndarray] | None = field(default=None, repr=False)  # where not differentiable
    hazard_in: str = "value"  # the hazard is in the forward "value" or in the local "derivative" rule
    # The rounding the hazard amplifies: the step's own ("result": σ(u) rounded, then 1-σ
    # cancels) or its operands' ("operands": a ± b, sin of a rounded argument), which
    # amplifies nothing where the operands are exact in the dtype.
    hazard_of: str = "result"
    kink_words: str = "a kink"  # where the kink is, in words: "'relu(x)' is at 0"
    operator: Callable[..., Any] | None = field(default=None, repr=False)  # Python's operator (a + b)
    names: Mapping[str, Name] = field(default_factory=dict, repr=False, compare=False)  # library -> Name
    complex_forward: Callable[..., np.ndarray] | None = field(
        default=None, repr=False
    )  # where forward is not complex-safe
    rows: Callable[..., np.ndarray] | None = field(default=None, repr=False)  # reductions: over axis 1 of (B, n)
    fuzz: bool = False  # the fuzzer draws it
    fuzz_integers: tuple[tuple[int, int, int], ...] = ()  # (operand, low, high): drawn as an integer constant
    latex: str | None = None  # typeset name; None: \operatorname{name}

    @property
    def analytic(self) -> bool:
        """Complex arithmetic can take this step (complex-step differentiation)."""
        return self.smooth and self.kind != "compare"

    @property
    def complex_safe(self) -> Callable[..., np.ndarray]:
        """The forward rule on complex arrays."""
        return self.complex_forward or self.forward

    def shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        if self.kind in ("elementwise", "compare"):
            return tuple(np.broadcast_shapes(*shapes))
        if self.kind == "reduction":
            if self.name == "dot" and not (len(shapes[0]) == len(shapes[1]) == 1 and shapes[0] == shapes[1]):
                raise ValueError("dot takes two vectors of the same length; use @ for matrices")
            return ()
        if self.kind == "matmul":
            return matmul_shape(*shapes)
        raise AssertionError(self.kind)


def matmul_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """NumPy's matmul shape rule, without computing anything."""
    if not a or not b:
        raise ValueError("@ needs arrays, not scalars")
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise ValueError(f"inner dimensions {a2[-1]} and {b2[-2]} differ")
    batch = tuple(np.broadcast_shapes(a2[:-2], b2[:-2]))
    out = (*batch, a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


# --- names in each library ------------------------------------------------------


def _dotted(path: str):
    """numpy.linalg.norm, jax.scipy.special.erf: the longest importable module, then attributes."""
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            value = import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            value = getattr(value, attr)
        return value
    raise ImportError(path)


def _lookup(name, operator, names, library, module, like):
    for key in (library, like):
        if key is not None and key in names:
            spec = names[key]
            break
    else:
        if operator is not None:
            return operator
        spec = name
    if spec is None:
        raise LookupError(f"{library} has no function for the primitive '{name}'")
    try:
        if isinstance(spec, str) and "." in spec:
            return _dotted(spec)
        if module is None:
            module = import_module(LIBRARY_ROOTS.get(library, library))
        return spec(module) if callable(spec) else getattr(module, spec)
    except AttributeError as exc:
        raise LookupError(f"{library} has no {spec!r} for the primitive '{name}': declare its name ({exc})") from None


def native(primitive: Primitive, library: str, *, module=None, like: str | None = None):
    """The primitive's function in `library` (a key of LIBRARY_ROOTS, or a module path
    such as "autograd.numpy"), by the declaration's names and the convention.
    like: a library whose names this one follows (NUMPY_LIKE by default)."""
    like = NUMPY_LIKE.get(library) if like is None else like
    return _lookup(primitive.name, primitive.operator, primitive.names, library, module, like)


def library_ops(library: str, *, own: Mapping[str, Callable] | None = None, like: str | None = None) -> dict:
    """{primitive name: function} for every primitive, for Program: the library's own
    adapters (`own`) where given, else `native`. Imports the library."""
    own = own or {}
    module = import_module(LIBRARY_ROOTS.get(library, library))
    return {
        name: own[name] if name in own else native(p, library, module=module, like=like)
        for name, p in PRIMITIVES.items()
    }


# --- forward rules that NumPy lacks as one native function -------------------


def _sigmoid(x):
    # exp(-|x|) never overflows; both branches are exact rewrites of 1/(1+e^-x).
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _erf(x):
    x = np.asarray(x)
    return np.asarray(np.vectorize(math.erf, otypes=[np.float64])(x), dtype=x.dtype)


def _logsumexp(x):
    m = np.max(x)
    if not np.isfinite(m):
        return np.log(np.sum(np.exp(x)))
    return m + np.log(np.sum(np.exp(x - m)))


def _norm(x):
    return np.linalg.norm(np.ravel(x))


# --- local derivative helpers ---------------------------------------------------


def _matmul_vjp_a(g, ans, a, b):
    if b.ndim == 1:  # (..., n, k) @ (k,) -> (..., n): d/da = g[..., None] * b
        return np.multiply.outer(g, b) if a.ndim == 1 else np.expand_dims(g, -1) * b
    if a.ndim == 1:  # (k,) @ (..., k, m) -> (..., m)
        return np.squeeze(b @ np.expand_dims(g, -1), -1)
    return g @ np.swapaxes(b, -1, -2)


def _matmul_vjp_b(g, ans, a, b):
    if a.ndim == 1:  # (k,) @ (..., k, m): d/db = a[:, None] * g[..., None, :]
        return np.expand_dims(a, -1) * np.expand_dims(g, -2) if b.ndim > 1 else g * a
    if b.ndim == 1:  # (..., n, k) @ (k,)
        return np.squeeze(np.swapaxes(a, -1, -2) @ np.expand_dims(g, -1), -1)
    return np.swapaxes(a, -1, -2) @ g


def _prod_vjp(g, ans, x):
    # The product of all the other elements, without dividing by x (which may be 0).
    flat = np.ravel(x)
    ones = np.ones(1, dtype=flat.dtype)
    left = np.concatenate([ones, np.cumprod(flat[:-1])])
    right = np.concatenate([np.cumprod(flat[::-1][:-1])[::-1], ones])
    return g * (left * right).reshape(np.shape(x))


def _tie_share(x, y):
    """Share of the adjoint that min/max pass to x: 1 where x wins, ½ at a tie
    (torch.minimum/maximum and jnp split ties evenly)."""
    return np.where(x == y, 0.5, 1.0).astype(np.result_type(x, y))


# --- hazards: (amplification of relative error, why) or None -------------------


def _cancellation_hazard(ans, a, b):
    """a ± b: relative errors δ in the operands are (|a| + |b|)/|a ± b|·δ in the result;
    a ± b of exact operands is correctly rounded, whatever it cancels (hazard_of="operands")."""
    scale = np.abs(a) + np.abs(b)
    with np.errstate(all="ignore"):
        amp = np.where(ans != 0, scale / np.abs(ans), np.where(scale != 0, np.inf, 1.0))
    worst = float(np.max(amp)) if np.size(amp) else 1.0
    if np.isinf(worst):  # the operands are equal: nothing of them is left
        return worst, "a ± b cancels to exactly 0"
    return worst, f"a ± b cancels: the operands are {worst:.2g}× larger than the result"


def _saturation_hazard(ans, x):
    # d/dx of sigmoid is σ(1-σ): where σ ≈ 1, 1-σ keeps only the digits σ has below 1.
    s = np.asarray(ans, dtype=np.float64)
    tail = 1 - s
    with np.errstate(all="ignore"):
        amp = np.where(tail > 0, s / tail, np.inf)
    if np.any(tail == 0):
        return math.inf, "σ(u) rounds to exactly 1, so σ(1-σ) is 0"
    return float(np.max(amp)), f"σ(u) is within {float(np.min(tail)):.2g} of 1, so σ(1-σ) cancels in 1-σ"


def _tanh_hazard(ans, x):
    t = np.abs(np.asarray(ans, dtype=np.float64))
    tail = 1 - t
    if np.any(tail == 0):
        return math.inf, "|tanh(u)| rounds to exactly 1, so 1-tanh² is 0"
    with np.errstate(all="ignore"):
        amp = np.where(tail > 0, 1 / tail, np.inf)
    return float(np.max(amp)), f"|tanh(u)| is within {float(np.min(tail)):.2g} of 1, so 1-tanh² cancels"


def _expm1_hazard(ans, x):
    # d/dx expm1 is written ans + 1 (torch and jax too): where expm1(x) ≈ -1, that cancels.
    s = np.asarray(ans, dtype=np.float64)
    tail = np.abs(s + 1)
    if np.any(tail == 0):
        return math.inf, "expm1(u) rounds to exactly -1, so its derivative expm1(u) + 1 is 0"
    with np.errstate(all="ignore"):
        amp = np.abs(s) / tail
    return float(np.max(amp)), f"expm1(u) is within {float(np.min(tail)):.2g} of -1, so expm1(u) + 1 cancels"


def _argument_hazard(ans, x):
    """sin and cos: a rounding of x (relative ε) moves sin(x) by ε·|x·cos x| and the local
    derivative cos(x) by ε·|x·sin x|: relative ε·|x|/min(|sin x|, |cos x|) at most, past 1
    where the argument is past 1/ε (sin(1e16): the argument's last bit is worth more than
    the result) and large near a root of either. Only a rounding the argument carries is
    amplified (hazard_of="operands"): sin and cos of an exact argument are correctly
    rounded however large this is (cos(π) in float64, π being the point itself)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        low = np.minimum(np.abs(np.sin(x)), np.abs(np.cos(x)))
        amp = np.where(low > 0, np.abs(x) / low, np.where(x != 0, np.inf, 1.0))
    worst = float(np.max(amp)) if np.size(amp) else 1.0
    if not worst > 10:
        return None
    at = float(np.max(np.abs(x)))
    return (
        worst,
        f"at an argument of {at:.3g}, one rounding of the argument moves the result and its derivative {worst:.2g}× as much",
    )


def _overflow_hazard(ans, x):
    if not np.all(np.isfinite(ans)):
        return math.inf, "exp overflows in this dtype"
    return None


def _at_zero(x):
    return np.asarray(x) == 0


def _tie(a, b):
    return np.asarray(a) == np.asarray(b)


def _at_bound(x, lo, hi):
    return (np.asarray(x) == lo) | (np.asarray(x) == hi)


# --- complex-safe forward rules, for complex steps ---------------------------------


def _complex_sigmoid(z):
    # The branch whose exponential cannot overflow, chosen by the real part.
    return np.where(np.real(z) >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))


def _complex_softplus(z):
    return np.where(np.real(z) > 0, z + np.log1p(np.exp(-z)), np.log1p(np.exp(z)))


def _complex_erf(z):
    # NumPy has no complex erf: the first-order extension erf(a + ib) = erf(a) + ib·erf'(a),
    # exact to rounding while |b| is of the order of the complex step.
    z = np.asarray(z)
    a, b = np.real(z), np.imag(z)
    real = np.vectorize(math.erf, otypes=[np.float64])(a)
    return (real + 1j * b * (2 / math.sqrt(math.pi)) * np.exp(-a * a)).astype(z.dtype)


def _complex_logsumexp(z):
    m = np.max(np.real(z))
    return m + np.log(np.sum(np.exp(z - m)))


def _logsumexp_rows(x):
    m = np.max(np.real(x), axis=1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    return m[:, 0] + np.log(np.sum(np.exp(x - m), axis=1))


# --- declarations -----------------------------------------------------------------

_FIELDS = {
    "smooth",
    "hazard",
    "kink",
    "hazard_in",
    "hazard_of",
    "kink_words",
    "operator",
    "complex_forward",
    "rows",
    "fuzz",
    "fuzz_integers",
    "latex",
}


def _declare(name: str, kind: str, vjps, forward=None, **knowledge) -> Primitive:
    """One primitive from its declaration; keywords that are not Primitive fields are
    its names in libraries (numpy=, torch=, jax=, sympy=, mpmath=)."""
    names = {k: knowledge.pop(k) for k in list(knowledge) if k not in _FIELDS}
    unknown = set(names) - set(LIBRARY_ROOTS)
    if unknown:
        raise TypeError(f"{name}: unknown library or field {sorted(unknown)}")
    if forward is None:
        forward = _lookup(name, None, names, "numpy", np, None)
    if knowledge.get("kink") is not None:
        knowledge.setdefault("smooth", False)
    return Primitive(name, len(vjps), kind, forward, tuple(vjps), names=names, **knowledge)


def elementwise(name: str, *vjps: VJP | None, **declaration) -> Primitive:
    return _declare(name, "elementwise", vjps, **declaration)


def reduction(name: str, *vjps: VJP, **declaration) -> Primitive:
    return _declare(name, "reduction", vjps, **declaration)


def comparison(name: str, forward, operator, sympy: str) -> Primitive:
    """Only inside where(); no derivative. Python's operator, NumPy's ufunc, SymPy's relation."""
    return _declare(
        name, "compare", (None, None), forward=forward, operator=operator, sympy=sympy, kink=_tie, smooth=True
    )


def _table(*prims: Primitive) -> dict[str, Primitive]:
    return {p.name: p for p in prims}


_SQRT_PI = math.sqrt(math.pi)

PRIMITIVES: dict[str, Primitive] = _table(
    # arithmetic, written with Python's operators in every library
    elementwise(
        "add",
        lambda g, ans, a, b: g,
        lambda g, ans, a, b: g,
        forward=np.add,
        operator=op.add,
        hazard=_cancellation_hazard,
        hazard_of="operands",
        fuzz=True,
    ),
    elementwise(
        "sub",
        lambda g, ans, a, b: g,
        lambda g, ans, a, b: -g,
        forward=np.subtract,
        operator=op.sub,
        hazard=_cancellation_hazard,
        hazard_of="operands",
        fuzz=True,
    ),
    elementwise(
        "mul", lambda g, ans, a, b: g * b, lambda g, ans, a, b: g * a, forward=np.multiply, operator=op.mul, fuzz=True
    ),
    elementwise(
        "div",
        lambda g, ans, a, b: g / b,
        lambda g, ans, a, b: -g * a / (b * b),
        forward=np.divide,
        operator=op.truediv,
        fuzz=True,
    ),
    elementwise(
        "pow",
        lambda g, ans, a, b: g * b * a ** (b - 1),
        lambda g, ans, a, b: g * np.log(a) * ans,
        forward=np.power,
        operator=op.pow,
        fuzz=True,
        fuzz_integers=((1, 2, 4),),  # a small integer power keeps pow inside its domain everywhere
    ),
    _declare("matmul", "matmul", (_matmul_vjp_a, _matmul_vjp_b), forward=np.matmul, operator=op.matmul),
    # elementary functions
    elementwise(
        "sin",
        lambda g, ans, x: g * np.cos(x),
        hazard=_argument_hazard,
        hazard_in="derivative",
        hazard_of="operands",
        latex=r"\sin",
        fuzz=True,
    ),
    elementwise(
        "cos",
        lambda g, ans, x: -g * np.sin(x),
        hazard=_argument_hazard,
        hazard_in="derivative",
        hazard_of="operands",
        latex=r"\cos",
        fuzz=True,
    ),
    elementwise("tan", lambda g, ans, x: g * (1 + ans * ans), latex=r"\tan", fuzz=True),
    elementwise("asin", lambda g, ans, x: g / np.sqrt(1 - x * x), numpy="arcsin", latex=r"\arcsin", fuzz=True),
    elementwise("acos", lambda g, ans, x: -g / np.sqrt(1 - x * x), numpy="arccos", latex=r"\arccos", fuzz=True),
    elementwise("atan", lambda g, ans, x: g / (1 + x * x), numpy="arctan", latex=r"\arctan", fuzz=True),
    elementwise("sinh", lambda g, ans, x: g * np.cosh(x), latex=r"\sinh", fuzz=True),
    elementwise("cosh", lambda g, ans, x: g * np.sinh(x), latex=r"\cosh", fuzz=True),
    elementwise(
        "tanh",
        lambda g, ans, x: g * (1 - ans * ans),
        hazard=_tanh_hazard,
        hazard_in="derivative",
        latex=r"\tanh",
        fuzz=True,
    ),
    elementwise("exp", lambda g, ans, x: g * ans, hazard=_overflow_hazard, latex=r"\exp", fuzz=True),
    elementwise(
        "expm1",
        lambda g, ans, x: g * (ans + 1),
        hazard=_expm1_hazard,
        hazard_in="derivative",
        sympy=lambda sympy: lambda u: sympy.exp(u) - 1,
        fuzz=True,
    ),
    elementwise("log", lambda g, ans, x: g / x, latex=r"\log", fuzz=True),
    elementwise("log1p", lambda g, ans, x: g / (1 + x), sympy=lambda sympy: lambda u: sympy.log(1 + u), fuzz=True),
    elementwise(
        "log2",
        lambda g, ans, x: g / (x * math.log(2)),
        sympy=lambda sympy: lambda u: sympy.log(u) / sympy.log(2),
        latex=r"\log_{2}",
        fuzz=True,
    ),
    elementwise(
        "log10",
        lambda g, ans, x: g / (x * math.log(10)),
        sympy=lambda sympy: lambda u: sympy.log(u) / sympy.log(10),
        latex=r"\log_{10}",
        fuzz=True,
    ),
    elementwise("sqrt", lambda g, ans, x: g / (2 * ans), fuzz=True),
    elementwise(
        "abs",
        lambda g, ans, x: g * np.sign(x),
        kink=_at_zero,
        kink_words="0",
        sympy="Abs",
        mpmath=lambda mpmath: abs,
        fuzz=True,
    ),
    elementwise(
        "sigmoid",
        lambda g, ans, x: g * ans * (1 - ans),
        forward=_sigmoid,
        hazard=_saturation_hazard,
        hazard_in="derivative",
        complex_forward=_complex_sigmoid,
        numpy=None,
        jax="jax.nn.sigmoid",
        sympy=lambda sympy: lambda u: 1 / (1 + sympy.exp(-u)),
        latex=r"\sigma",
        fuzz=True,
    ),
    elementwise(
        "relu",
        lambda g, ans, x: g * (x > 0),
        kink=_at_zero,
        kink_words="0",
        numpy=lambda np: lambda x: np.maximum(x, 0),
        jax="jax.nn.relu",
        sympy=lambda sympy: lambda u: sympy.Max(0, u),
        fuzz=True,
    ),
    elementwise(
        "softplus",
        lambda g, ans, x: g * _sigmoid(x),
        complex_forward=_complex_softplus,
        numpy=lambda np: lambda x: np.logaddexp(0, x),
        torch="torch.nn.functional.softplus",
        jax="jax.nn.softplus",
        sympy=lambda sympy: lambda u: sympy.log(1 + sympy.exp(u)),
        fuzz=True,
    ),
    elementwise(
        "erf",
        lambda g, ans, x: g * (2 / _SQRT_PI) * np.exp(-x * x),
        forward=_erf,
        complex_forward=_complex_erf,
        numpy=None,
        jax="jax.scipy.special.erf",
        fuzz=True,
    ),
    elementwise("asinh", lambda g, ans, x: g / np.sqrt(x * x + 1), numpy="arcsinh", fuzz=True),
    elementwise("acosh", lambda g, ans, x: g / np.sqrt((x - 1) * (x + 1)), numpy="arccosh", fuzz=True),
    elementwise("atanh", lambda g, ans, x: g / (1 - x * x), numpy="arctanh", fuzz=True),
    # neg is declared after the functions: the fuzzer draws from its lists in declaration order
    elementwise("neg", lambda g, ans, x: -g, forward=np.negative, operator=op.neg, fuzz=True),
    # piecewise
    elementwise(
        "min",
        lambda g, ans, a, b: g * (a <= b) * _tie_share(a, b),
        lambda g, ans, a, b: g * (b <= a) * _tie_share(a, b),
        kink=_tie,
        kink_words="a tie of its arguments",
        numpy="minimum",
        sympy="Min",
        latex=r"\min",
        fuzz=True,
    ),
    elementwise(
        "max",
        lambda g, ans, a, b: g * (a >= b) * _tie_share(a, b),
        lambda g, ans, a, b: g * (b >= a) * _tie_share(a, b),
        kink=_tie,
        kink_words="a tie of its arguments",
        numpy="maximum",
        sympy="Max",
        latex=r"\max",
        fuzz=True,
    ),
    elementwise(
        "clamp",
        # torch.clamp's convention: the gradient passes on the closed interval.
        lambda g, ans, x, lo, hi: g * ((x >= lo) & (x <= hi)),
        lambda g, ans, x, lo, hi: g * (x < lo),
        lambda g, ans, x, lo, hi: g * (x > hi),
        forward=lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
        kink=_at_bound,
        kink_words="a bound",
        numpy="clip",
        sympy=lambda sympy: lambda x, lo, hi: sympy.Min(sympy.Max(x, lo), hi),
    ),
    elementwise(
        "where",
        None,
        lambda g, ans, c, a, b: np.where(c, g, 0 * g),
        lambda g, ans, c, a, b: np.where(c, 0 * g, g),
        kink=_tie,  # applied to the condition's operands: its boundary is a == b
        kink_words="the boundary of its condition",
        sympy=lambda sympy: lambda c, a, b: sympy.Piecewise((a, c), (b, True)),
    ),
    # comparisons: only inside where(); no derivative
    comparison("lt", np.less, op.lt, "Lt"),
    comparison("le", np.less_equal, op.le, "Le"),
    comparison("gt", np.greater, op.gt, "Gt"),
    comparison("ge", np.greater_equal, op.ge, "Ge"),
    comparison("eq", np.equal, op.eq, "Eq"),
    comparison("ne", np.not_equal, op.ne, "Ne"),
    # reductions to a scalar; in SymPy each is a function of the list of elements
    reduction(
        "sum",
        lambda g, ans, x: np.broadcast_to(g, np.shape(x)),
        rows=lambda x: x.sum(axis=1),
        sympy=lambda sympy: lambda items: sympy.Add(*items),
        latex=r"\sum",
    ),
    reduction(
        "mean",
        lambda g, ans, x: np.broadcast_to(g / np.size(x), np.shape(x)),
        rows=lambda x: x.mean(axis=1),
        sympy=lambda sympy: lambda items: sympy.Add(*items) / len(items),
    ),
    reduction(
        "prod",
        _prod_vjp,
        rows=lambda x: x.prod(axis=1),
        sympy=lambda sympy: lambda items: sympy.Mul(*items),
    ),
    reduction(
        "dot",
        lambda g, ans, a, b: g * b,
        lambda g, ans, a, b: g * a,
        rows=lambda a, b: np.sum(a * b, axis=-1),
        sympy=lambda sympy: lambda a, b: sympy.Add(*[u * v for u, v in zip(a, b)]),
    ),
    reduction(
        "norm",
        lambda g, ans, x: g * x / ans,
        forward=_norm,
        complex_forward=lambda z: np.sqrt(np.sum(z * z)),
        rows=lambda x: np.sqrt(np.sum(x * x, axis=1)),
        numpy=lambda np: lambda x: np.linalg.norm(np.ravel(x)),
        torch="torch.linalg.vector_norm",
        sympy=lambda sympy: lambda items: sympy.sqrt(sympy.Add(*[v**2 for v in items])),
    ),
    reduction(
        "logsumexp",
        lambda g, ans, x: g * np.exp(x - ans),
        forward=_logsumexp,
        complex_forward=_complex_logsumexp,
        rows=_logsumexp_rows,
        numpy=None,
        torch=lambda torch: lambda x: torch.logsumexp(x.reshape(-1), 0),
        jax="jax.scipy.special.logsumexp",
        sympy=lambda sympy: lambda items: sympy.log(sympy.Add(*[sympy.exp(v) for v in items])),
    ),
)

# The names a problem may call, with their arity; operators map to the rest.
FUNCTIONS: dict[str, int] = {
    name: p.arity for name, p in PRIMITIVES.items() if p.kind != "compare" and p.operator is None
}
