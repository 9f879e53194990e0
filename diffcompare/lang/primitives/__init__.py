"""The one primitive table: everything diffcompare knows about a primitive, declared once.

The package: `core` (what a primitive is, names in libraries, how one is declared),
`rules` (shared forward, VJP, hazard, kink and complex-step rules), and the declarations
by family: `elementary` (arithmetic, sin … atanh, neg), `special` (atan2, hypot, cbrt,
erfc, lgamma, gamma, digamma, exp2, logaddexp), `piecewise` (min, max, clamp, where, the
comparisons; floor, ceil, round, trunc, sign, %), `reductions`, `arrays` (array building),
`softmax` (softmax, log_softmax along an axis); `table` puts them in order.

Each primitive is one declaration, in the spirit of HIPS autograd's
``defvjp(anp.sin, lambda ans, x: lambda g: g * anp.cos(x))`` and JAX's ``defjvp``:

- its arity, kind, and how its shape follows from its operands;
- its forward rule in NumPy (by default ``numpy.<its NumPy name>``) and one local
  derivative (VJP) rule per operand. A VJP rule here is ``vjp(g, ans, *args)``: the
  upstream adjoint g times the local derivative, before it is summed back to the
  operand's shape (the engine does that for broadcasting). Its JVP rule per operand,
  ``jvp(t, ans, *args)`` (`Primitive.jvp_rule`, forward mode), is derived from the VJP in
  one place (core) and declared only where that would be wrong (matmul, outer, softmax);
- where it is not differentiable (`kink`, and `kink_words` for the messages; `jump` where it
  is not even continuous there, floor at an integer; `kink_gap` the distance to it), and a
  `hazard`: how much its forward or local-derivative rule amplifies rounding error at a
  point, which the report uses to explain a lost digit (sigmoid's σ(1-σ) at large
  arguments, cancellation in a - b), and whose rounding it amplifies (`hazard_of`): the
  step's own result's, or the rounding its operands carry, which is none for an operand
  the dtype holds exactly;
- for complex steps: whether it is analytic, and a complex-safe forward rule where the
  real one is not (`complex_forward`);
- for reductions, the row-wise form over axis 1 of a (batch, n) array (`rows`), which the
  batched finite differences use;
- whether and how the fuzzer draws it (`fuzz`, `fuzz_integers`, `fuzz_domain`) and its
  typeset LaTeX name;
- its function in each library: NumPy, torch, jax, SymPy, mpmath.

Library names follow a convention, as SymPy's lambdify ``*_TRANSLATIONS`` dicts do: a
primitive is ``<root>.<name>`` in each library (LIBRARY_ROOTS: ``torch.sin``,
``jax.numpy.sin``, ``sympy.sin``, ``mpmath.sin``, ``numpy.sin``), a NumPy-like library
(jax.numpy, a plug-in's autograd.numpy) takes NumPy's name, and a primitive written with
a Python operator (a + b) is that operator. A declaration lists only the names that
differ: another name (``numpy="arcsin"``), a dotted path (``jax="jax.nn.sigmoid"``), a
factory that receives the library module and builds the formula where the library has
no single function (``sympy=lambda sympy: lambda u: 1 / (1 + sympy.exp(-u))``), None
(the library has none), or Missing(reason): a backend lowering a function that uses it
raises MissingPrimitive and its cells are `skipped` with that reason (torch has no cbrt). Names are resolved lazily, by `native` and `library_ops`, so
this module imports no library but NumPy.

Every table is derived from these declarations: the engine's NUMPY_OPS and complex ops,
the batched reductions, SYMPY_OPS and the float64/mpmath evaluation of SymPy's functions,
TORCH_OPS and JAX_OPS (each backend keeps only a few adapters of its own), the fuzzer's
lists, the LaTeX names. Adding a primitive is one declaration here (and a test row).
"""

from diffcompare.lang.primitives.core import (
    JVP,
    LIBRARY_ROOTS,
    NUMPY_LIKE,
    VJP,
    Missing,
    MissingPrimitive,
    Name,
    Primitive,
    SkipCell,
    Unavailable,
    comparison,
    elementwise,
    matmul_shape,
    native,
    normalize_axes,
    reduced_shape,
    reduction,
)
from diffcompare.lang.primitives.table import FUNCTIONS, PRIMITIVES, library_ops

__all__ = [
    "FUNCTIONS",
    "JVP",
    "LIBRARY_ROOTS",
    "NUMPY_LIKE",
    "PRIMITIVES",
    "VJP",
    "Missing",
    "MissingPrimitive",
    "Name",
    "Primitive",
    "SkipCell",
    "Unavailable",
    "comparison",
    "elementwise",
    "library_ops",
    "matmul_shape",
    "native",
    "normalize_axes",
    "reduced_shape",
    "reduction",
]
