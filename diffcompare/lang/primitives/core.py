"""What a primitive is (Primitive), how its name is found in each library (`native`), and
how one is declared (`elementwise`, `reduction`, `comparison`). The package docstring
(diffcompare.lang.primitives) gives the conventions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

import numpy as np

from diffcompare.lang.primitives.rules import _tie

VJP = Callable[..., np.ndarray]
# jvp(t, ans, *args, **params): the result's tangent from one operand's tangent t (JAX's defjvp).
JVP = Callable[..., np.ndarray]
# A library name: a name in the library's root module, a dotted path from a top-level
# module, a factory given the library's root module, None where the library has none,
# or Missing(reason) where a backend skips it and says why.
Name = str | Callable[[Any], Callable[..., Any]] | None  # or Missing

# Where each library's functions live, by the convention <root>.<name>.
LIBRARY_ROOTS = {"numpy": "numpy", "torch": "torch", "jax": "jax.numpy", "sympy": "sympy", "mpmath": "mpmath"}
# Libraries that follow NumPy's names where a declaration gives none of their own.
NUMPY_LIKE = {"jax": "numpy"}


@dataclass(frozen=True)
class Primitive:
    name: str
    arity: int
    kind: str  # elementwise | reduction | matmul | compare | array
    forward: Callable[..., np.ndarray]
    vjps: tuple[VJP | None, ...]  # None: not differentiable in that operand
    smooth: bool = True  # False: has kinks (relu, abs, min, max, clamp, where)
    hazard: Callable[..., tuple[float, str] | None] | None = field(default=None, repr=False)
    kink: Callable[..., np.ndarray] | None = field(default=None, repr=False)  # where not differentiable
    jump: bool = False  # its kink is a jump: the primitive itself is not continuous there (floor at 1)
    # How far scalar operands (floats or mpmath numbers) are from the kink, for messages.
    kink_gap: Callable[..., Any] | None = field(default=None, repr=False)
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
    # The fuzzer draws an operand only inside this open interval (lgamma away from its poles).
    fuzz_domain: tuple[float, float] | None = None
    latex: str | None = None  # typeset name; None: \operatorname{name}
    # Complex steps: None follows `smooth`; True where a kinked primitive has a complex form
    # that is exact off its kink (atan2 off its cut), which the kink's verdict then governs.
    complex_ok: bool | None = None
    # Reductions: takes axis= (an int or a tuple of them), as sum(A, axis=1). Every rule of
    # such a primitive (forward, complex_forward, VJPs, kink) takes the keyword axis: None
    # reduces every element, else a tuple of distinct non-negative axes (normalize_axes).
    axis: bool = False
    # Array building (kind "array", lang.primitives.arrays): infer(shapes, **params) -> (shape,
    # canonical params); vjp_any(k, g, ans, *args, **params), the VJP in operand k of any
    # number of operands; batched(args, flags, **params) with a leading batch axis where
    # flags say; linear: the step is linear in its operands (all but outer).
    infer: Callable[..., Any] | None = field(default=None, repr=False)
    vjp_any: Callable[..., Any] | None = field(default=None, repr=False)
    batched: Callable[..., Any] | None = field(default=None, repr=False)
    linear: bool = True
    # A nonlinear one-operand array step (softmax): jvp(t, ans, x, **params), its derivative
    # along the operand's slope t, which the one-sided slopes use.
    jvp: Callable[..., Any] | None = field(default=None, repr=False)
    # The forward rule's absolute error, in units of ε, as forward_error(ans, *args, **params):
    # None for one good to about an ulp of its result (|ans|). math.lgamma is not: up to
    # 8 ε·max(1, |ans|) (measured against mpmath), an absolute error near its zeros at 1 and 2
    # that finite differences' rounding bound must include.
    forward_error: Callable[..., Any] | None = field(default=None, repr=False)
    # Its result is a sum of (products of) its operands' elements (sum, mean, dot, @): each
    # addition rounds a partial sum, as large as Σ|terms|, not |the sum|, so its rounding is
    # forward(|operands|) (a row of W @ x that cancels to 0.06 from terms of 1 carries
    # ε·Σ|W_ij x_j|: Higham, Accuracy and Stability of Numerical Algorithms, §3.1).
    partial_sums: bool = False
    # JVP rules declared per operand, jvp(t, ans, *args, **params), where deriving one from the
    # VJP (jvp_rule) would be wrong: the bilinear steps (matmul, outer), whose local derivative
    # is not diagonal. () or None in a place: derived.
    jvps: tuple[JVP | None, ...] = field(default=(), repr=False)

    def rounding_scale(self, ans, *args, **params) -> np.ndarray:
        """The size of the rounding error of one evaluation of this step, in units of ε: its
        partial sums' (forward(|operands|)), or forward_error where declared, else |ans| (an
        ulp of its result)."""
        if self.partial_sums:
            return np.abs(np.asarray(self.forward(*[np.abs(a) for a in args], **params), np.float64))
        if self.forward_error is not None:
            return np.abs(np.asarray(self.forward_error(np.asarray(ans, np.float64), *args, **params), np.float64))
        return np.abs(np.asarray(ans, np.float64))

    def vjp(self, k: int) -> VJP | None:
        """The VJP rule in operand k (None: not differentiable in it)."""
        if self.vjp_any is not None:
            return lambda g, ans, *args, **params: self.vjp_any(k, g, ans, *args, **params)
        return self.vjps[k] if k < len(self.vjps) else None

    def jvp_rule(self, k: int) -> JVP | None:
        """The JVP rule in operand k, jvp(t, ans, *args, **params): the tangent of the result
        along operand k's tangent t, in the result's shape (None: not differentiable in it).

        Declared where a derivation would be wrong (`jvps`: matmul, outer; softmax's `jvp`),
        else derived here from the VJP declaration, so that a primitive's derivative is written
        once: an elementwise step's local derivative is diagonal, so its JVP is its VJP of t
        broadcast to the result; a reduction's is the VJP of ones (the local derivative of each
        element) times t, summed over the reduced axes; a linear array step is itself."""
        if k < len(self.jvps) and self.jvps[k] is not None:
            return self.jvps[k]
        if self.jvp is not None:  # softmax, log_softmax: one operand
            return self.jvp if k == 0 else None
        if self.kind == "array":
            if self.vjp_any is None:  # a constant array (arange, zeros): no operand
                return None
            if not self.linear:  # a silent None would drop a derivative: the declaration must give it
                raise NotImplementedError(f"'{self.name}' is not linear: declare its JVP (jvps= or jvp=)")
            return lambda t, ans, *args, **params: self.forward(*_zeros_but(k, t, args), **params)
        rule = self.vjp(k)
        if rule is None:
            return None
        if self.kind in ("elementwise", "compare"):
            return lambda t, ans, *args, **params: rule(np.broadcast_to(t, np.shape(ans)), ans, *args, **params)
        if self.kind == "reduction":

            def reduced(t, ans, *args, **params):
                local = rule(np.ones_like(ans), ans, *args, **params)  # ∂ans/∂x, in x's shape
                return np.sum(local * t, axis=params.get("axis"))

            return reduced
        raise NotImplementedError(f"'{self.name}' ({self.kind}): declare its JVP (jvps=)")

    def push_tangents(self, tangents, ans, *args, **params):
        """The result's tangent from its operands' (None for an operand that carries none):
        the sum of the JVP rules of the operands that carry one, or, for a linear array step,
        the step itself once on the tangents, zeros in the operands without one (stack of n
        operands: one stack, not n). None where no operand's tangent reaches the result."""
        if self.kind == "array" and self.linear and self.jvp is None and self.vjp_any is not None:
            return self.forward(*(np.zeros_like(a) if t is None else t for t, a in zip(tangents, args)), **params)
        total = None
        for k, t in enumerate(tangents):
            rule = None if t is None else self.jvp_rule(k)
            if rule is not None:
                part = rule(t, ans, *args, **params)
                total = part if total is None else total + part
        return total

    @property
    def analytic(self) -> bool:
        """Complex arithmetic can take this step (complex-step differentiation)."""
        if self.complex_ok is not None:
            return self.complex_ok and self.kind != "compare"
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


def _zeros_but(k: int, t, args) -> list:
    """The operands' tangents when only operand k moves (by t): zeros in the others."""
    return [t if i == k else np.zeros_like(a) for i, a in enumerate(args)]


def normalize_axes(axes, ndim: int) -> tuple[int, ...]:
    """axis= as written (an int or a tuple of ints, negative counting from the end) as a
    sorted tuple of distinct non-negative axes of an ndim-D array; ValueError names the fault."""
    axes = axes if isinstance(axes, tuple) else (axes,)
    if not axes:
        raise ValueError("axis=() names no axis: leave axis out to reduce every element")
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for a {ndim}-D array")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"axis {axes} names an axis twice")
    return tuple(sorted(out))


def reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    """The shape left by a reduction along normalized axes (None: every axis), without keepdims."""
    if axes is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in axes)


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
    if isinstance(spec, Missing):
        return Unavailable(library, name, spec.reason)
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


class Unavailable:
    """A library's entry for a primitive it has no native function for: calling it, or
    lowering a function that uses it (Program), raises MissingPrimitive with the reason,
    which a backend turns into `skipped` rows."""

    def __init__(self, library: str, name: str, reason: str):
        self.library, self.name, self.reason = library, name, reason

    def __call__(self, *args):
        raise MissingPrimitive(self.message)

    @property
    def message(self) -> str:
        return f"{self.library} has no native '{self.name}': {self.reason}"


class SkipCell(Exception):
    """Raised by a backend that does not apply to a problem (say, complex step on
    relu): its rows become `skipped` with this reason, not `error`. Declared here, below
    every backend (diffcompare.backends re-exports it), so that MissingPrimitive is one."""


class MissingPrimitive(SkipCell, LookupError):
    """A library lacks a primitive the function uses: the backend's cells are `skipped`
    with the reason, whichever backend lowers the function (built-in or a plug-in)."""


class Missing:
    """A declaration's name for a library without the primitive, with the reason (shown in
    `skipped` rows): torch=Missing("...")."""

    def __init__(self, reason: str):
        self.reason = reason


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
    "jump",
    "kink_gap",
    "fuzz_domain",
    "complex_ok",
    "axis",
    "infer",
    "vjp_any",
    "batched",
    "linear",
    "jvp",
    "forward_error",
    "partial_sums",
    "jvps",
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
