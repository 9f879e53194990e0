"""`symengine`: the exact derivative from SymEngine, compiled by SymEngine's Lambdify, in float64
and float32.

f is lowered from the IR into SymEngine and differentiated by SymEngine's `diff`
(backends.symengine_lowering: every constant its exact binary value, nothing parsed from text).
`Lambdify` (with its common-subexpression elimination) compiles the derivative through LLVM, in
double or, with dtype float32, in float (the LLVM float32 variant); without LLVM, its "lambda"
backend, in float64 only.

What SymEngine cannot do is said in `skipped` rows: its `diff` has no rule for abs, max, min,
floor, ceiling or sign (it returns Derivative(abs(x), x) unevaluated: relu, clamp, amax, cbrt
and % are written with them); Lambdify has no code for polygamma, which is the derivative of
loggamma, digamma and gamma; SymEngine has no round-half-even or trunc.

Rows carry expr_ops (the derivative's operation count as differentiated, every repeat counted)
and expr_ops_cse (after symengine.cse), counted by SymPy's count_ops rules on SymEngine's own
expressions (exact.counts, which counts the sympy backend's too), so that the columns sit beside
the sympy backend's: the same rules on each library's own form (SymEngine keeps 4*(x + y) where
SymPy distributes it, 4*x + 4*y). Each distinct subexpression is counted once and multiplied by
how often the tree holds it: the tree swells past what SymPy's walk can go through (10⁶
operations at depth 14 of the logistic map).

Lambdify's CSE names what it takes out x0, x1 …, avoiding the expressions' own symbols but not
its other arguments: an input the result does not use, named x0, is read in place of the
subexpression named x0 (behaviours/symengine_cse_name_clash.yaml). That is SymEngine's doing, and
the rows keep it, saying which name was taken (`_Form.clash`).

What a problem builds (the expressions, the derivatives, the compiled callables, the counts)
is kept per process under the problem's structure (lang.structure), the most recent
MEMO_FORMS: a sweep's members, which differ only in their point, build once. setup_s is then
what building took the first time (as the sympy backend reports its own), plus the first call.

Operators past the gradient (jacobian, hessian, jvp, vjp, hvp, second_derivative) in mode
"symbolic": SymEngine differentiates f's entries once (twice for second order) and the entries
are combined with the direction's or cotangent's exact values.
"""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import symengine as se

from diffcompare.backends import BaseBackend, Gradient, SkipCell
from diffcompare.backends.symengine_lowering import (
    SYMENGINE_OPS,
    differentiate,
    element_symbols,
    exact_constant,
    exponent_values,
    refuse_unevaluated,
    to_symengine,
)
from diffcompare.backends.timing import median_time
from diffcompare.exact.counts import count_ops
from diffcompare.lang.memo import Kept
from diffcompare.lang.structure import structure_key

LLVM = bool(se.have_llvm)
BACKEND = "llvm" if LLVM else "lambda"  # Lambdify's code generator
MAX_ELEMENTS = 2000  # point elements: diff runs once per element over all of f
MEMO_FORMS = 64  # problems' forms kept per process, the most recently used


# --- a problem's form -------------------------------------------------------------------


class _Form:
    """One problem's f and results in SymEngine, and what is built from them, kept under the key."""

    def __init__(self, problem):
        start = time.perf_counter()
        elements = sum(v.size for v in problem.point.values())
        if elements > MAX_ELEMENTS:
            raise SkipCell(f"{elements} point elements, past the symengine backend's limit of {MAX_ELEMENTS}")
        self.symbols = {k: element_symbols(k, v.shape) for k, v in problem.point.items()}
        # Data (the point's variables outside wrt) enter as their exact values, as on the SymPy side.
        values = {
            k: self.symbols[k] if k in problem.wrt else exact_constant(np.asarray(v, dtype=np.float64))
            for k, v in problem.point.items()
        }
        self.function = to_symengine(problem.function, values)
        self.results = differentiate(problem, self.function, self.symbols)
        self.flat = [e for entries in self.results.values() for e in entries.ravel()]
        refuse_unevaluated(self.flat)
        self.constants = exponent_values([*self.flat, *self.function.ravel()])  # given beside the point
        self.inputs = [s for k in problem.point for s in self.symbols[k].ravel()] + list(self.constants)
        self.build_s = time.perf_counter() - start
        self.compiled: dict = {}  # (what, dtype) -> (callable, seconds to compile) or SkipCell
        self.extras: dict | None = None
        self.lock = threading.Lock()

    def compile(self, what: str, exprs: list, dtype: str):
        key = (what, dtype)
        with self.lock:
            if key not in self.compiled:
                start = time.perf_counter()
                try:
                    options = {"dtype": np.float32} if dtype == "float32" else {"real": True}
                    fn = se.Lambdify(self.inputs, exprs, backend=BACKEND, cse=True, **options)
                    self.compiled[key] = (fn, time.perf_counter() - start)
                except RuntimeError as exc:
                    self.compiled[key] = SkipCell(
                        f"SymEngine's Lambdify ({BACKEND}) cannot compile {what}: it has no code for {_words(exc)}"
                    )
        found = self.compiled[key]
        if isinstance(found, SkipCell):
            raise found
        return found

    def clash(self) -> str:
        """SymEngine's CSE names its subexpressions x0, x1 … avoiding the expressions' own symbols
        but not Lambdify's other arguments: where an input the result does not use is called x1
        (∂f/∂x1 of x1 + g(x2) is 1), Lambdify(cse=True) reads that input's value for the
        subexpression it named x1. The words for it, or ""."""
        replacements, _ = se.cse(self.flat)
        used = set().union(*[e.free_symbols for e in self.flat]) if self.flat else set()
        named = [str(s) for s, _ in replacements if s in set(self.inputs) - used]
        if not named:
            return ""
        return (
            f"SymEngine's CSE named a subexpression {named[0]}, the name of an input the result does not use: "
            f"Lambdify(cse=True) computes with that input's value for it"
        )

    def counts(self) -> dict[str, float]:
        """expr_ops (as differentiated) and expr_ops_cse (after symengine.cse), counted once."""
        with self.lock:
            if self.extras is None:
                replacements, reduced = se.cse(self.flat)
                self.extras = {
                    "expr_ops": count_ops(self.flat),
                    "expr_ops_cse": count_ops([e for _, e in replacements] + list(reduced)),
                }
            return self.extras

    def input_values(self, problem, dtype: str) -> np.ndarray:
        values = [v for k in problem.point for v in np.asarray(problem.point[k], dtype=np.float64).ravel()]
        return np.array(values + [float(c) for c in self.constants.values()], dtype=dtype)


def _words(exc: Exception) -> str:
    """What Lambdify could not compile: LLVM names the expression; "lambda" says only "Not Implemented"."""
    text = " ".join(str(exc).split())
    if not text or text == "Not Implemented":
        return "a function in it (Lambdify says: Not Implemented)"
    return text if len(text) <= 80 else text[:77] + "..."


# --- kept per process ---------------------------------------------------------------------

_FORMS = Kept(MEMO_FORMS)  # form_key -> _Form, or the SkipCell its build ended in


def form_key(problem) -> tuple:
    """What a problem's form depends on: f's computation, the operator and what it is given,
    the variables differentiated, the point's variables with their shapes and the values of the
    others (data enter f as numbers), and the table of functions (a test replaces one)."""
    return (
        tuple(map(id, SYMENGINE_OPS.values())),
        structure_key(problem.function),
        problem.operator,
        tuple(sorted(problem.direction.items())),
        problem.cotangent,
        tuple(problem.wrt),
        tuple(
            (k, v.shape, None if k in problem.wrt else np.asarray(v, dtype=np.float64).tobytes())
            for k, v in problem.point.items()
        ),
    )


def form_of(problem) -> _Form:
    """The problem's form, built once per key (a SkipCell it ended in is kept, and raised again)."""

    def build():
        try:
            return _Form(problem)
        except SkipCell as exc:
            return exc

    found, _ = _FORMS.keep(form_key(problem), build)
    if isinstance(found, SkipCell):
        raise SkipCell(str(found))
    return found


# --- the backend --------------------------------------------------------------------------


MAX_EXPLAINED = 300  # subexpressions evaluated one by one to find the first that is not finite


def _first_not_finite(form: _Form, inputs: np.ndarray, dtype: str) -> str:
    """The first subexpression of SymEngine's result (after its CSE, operands before the
    expressions that use them) whose value in the dtype is not finite though its operands'
    are (a number counts: 4.4e40, exact in the expression, is inf in float32), in words;
    "" if none is found within MAX_EXPLAINED of them."""
    replacements, reduced = se.cse(form.flat)
    known = dict(zip(form.inputs, inputs.tolist()))
    options = {"dtype": np.float32} if dtype == "float32" else {"real": True}
    seen: dict = {}

    def value(node) -> float:
        if node in known:
            return known[node]
        free = sorted(node.free_symbols, key=str) or form.inputs[:1]  # Lambdify takes no zero arguments
        # float64 by the "lambda" backend, which compiles in a tenth of LLVM's time (the same libm);
        # float32 needs LLVM's float code
        fn = se.Lambdify(free, [node], backend="lambda" if dtype == "float64" else BACKEND, **options)
        return float(np.asarray(fn(np.array([known[s] for s in free], dtype=dtype))).ravel()[0])

    def walk(root):
        stack = [(root, False)]
        while stack:
            node, ready = stack.pop()
            if node in seen or node in known:
                continue
            if not ready:
                stack.append((node, True))
                stack.extend((a, False) for a in node.args if isinstance(a, se.Expr) and not a.is_Boolean)
                continue
            if len(seen) >= MAX_EXPLAINED:
                raise LookupError
            seen[node] = value(node)
            operands = [seen.get(a, known.get(a)) for a in node.args]
            if not np.isfinite(seen[node]) and all(v is not None and np.isfinite(v) for v in operands):
                return node, seen[node]
        return None

    try:
        for symbol, expr in [*replacements, *[(None, e) for e in reduced]]:
            found = walk(expr)
            if found is not None:
                node, bad = found
                for s, e in reversed(replacements):  # CSE's own symbols (x0, x1 …) as what they stand for
                    node = node.xreplace({s: e})
                text = str(node) if len(str(node)) <= 80 else str(node)[:77] + "..."
                return f"in {dtype}, SymEngine's derivative meets {text} = {bad}"
            if symbol is not None:
                known[symbol] = value(expr)
    except (RuntimeError, NotImplementedError, LookupError, KeyError, TypeError):
        return ""
    return ""


def _evaluate(problem, dtype: str) -> Gradient:
    """The problem's operator: its form (kept), compiled in the dtype, called, timed."""
    form = form_of(problem)
    what = "the derivative" if problem.operator == "gradient" else f"the {problem.operator}"
    fn, compile_s = form.compile(what, form.flat, dtype)
    inputs = form.input_values(problem, dtype)
    start = time.perf_counter()
    flat = np.asarray(fn(inputs)).ravel()
    setup_s = form.build_s + compile_s + time.perf_counter() - start
    values, offset = {}, 0
    for name, entries in form.results.items():
        values[name] = flat[offset : offset + entries.size].astype(np.float64).reshape(entries.shape)
        offset += entries.size
    time_s = median_time(lambda: fn(inputs))
    try:
        f, _ = form.compile("f", list(form.function.ravel()), dtype)
        f(inputs)
        f_time_s = median_time(lambda: f(inputs))
    except SkipCell:
        f_time_s = float("nan")
    finite = all(np.isfinite(v).all() for v in values.values())
    return Gradient(
        values,
        time_s,
        message="; ".join(m for m in (form.clash(), "" if finite else _first_not_finite(form, inputs, dtype)) if m),
        setup_s=setup_s,
        f_time_s=f_time_s,
        extras=dict(form.counts()),
    )


class SymengineBackend(BaseBackend):
    name = "symengine"
    library = "symengine"
    description = f"exact symbolic derivative (SymEngine {se.__version__}), compiled by Lambdify ({BACKEND})"
    # float32: Lambdify's LLVM code in float; the "lambda" backend evaluates in double only
    supported_dtypes = ("float32", "float64") if LLVM else ("float64",)

    def modes(self, problem):
        return ("symbolic",)

    def compute(self, problem, dtype, mode):
        """The problem's operator, in mode "symbolic"."""
        return _evaluate(problem, dtype)

    def gradient(self, problem, dtype):
        """The gradient, whatever operator the problem asks for (as jax's and torch's)."""
        if problem.operator != "gradient":
            problem = dataclasses.replace(problem, operator="gradient", direction={}, cotangent="")
        return _evaluate(problem, dtype)
