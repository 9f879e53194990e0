"""`symengine`: the exact derivative from SymEngine, compiled by SymEngine's Lambdify, in float64
and float32.

f is lowered from the IR into SymEngine expressions with SymEngine's own functions (the
primitives' SymPy declarations, whose factories are given the symengine module, and a few
adapters below), element by element on NumPy object arrays as the SymPy side does, with every
constant its exact binary value. SymEngine's `diff` differentiates it; `Lambdify` (with its
common-subexpression elimination) compiles the derivative through LLVM, in double or, with
dtype float32, in float (the LLVM float32 variant); without LLVM, its "lambda" backend, in
float64 only. Nothing is ever parsed from text.

What SymEngine cannot do is said in `skipped` rows: its `diff` has no rule for abs, max, min,
floor, ceiling or sign (it returns Derivative(abs(x), x) unevaluated: relu, clamp, amax, cbrt
and % are written with them); Lambdify has no code for polygamma, which is the derivative of
loggamma, digamma and gamma; SymEngine has no round-half-even or trunc.

Rows carry expr_ops (the derivative's operation count as differentiated, every repeat counted)
and expr_ops_cse (after symengine.cse), counted by SymPy's count_ops rules (count_ops below) on
SymEngine's own expressions, so that the columns sit beside the sympy backend's: the same rules
on each library's own form (SymEngine keeps 4*(x + y) where SymPy distributes it, 4*x + 4*y).
Each distinct subexpression is counted once and multiplied by how often the tree holds it: the
tree swells past what SymPy's walk can go through (10⁶ operations at depth 14 of the logistic map).

Lambdify's CSE names what it takes out x0, x1 …, avoiding the expressions' own symbols but not
its other arguments: an input the result does not use, named x0, is read in place of the
subexpression named x0 (problems/symengine_cse_name_clash.yaml). That is SymEngine's doing, and
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
from fractions import Fraction

import numpy as np
import symengine as se

from diffcompare.backends import BaseBackend, Gradient, SkipCell
from diffcompare.backends.timing import median_time
from diffcompare.lang.ir import element_label
from diffcompare.lang.memo import Kept
from diffcompare.lang.primitives import PRIMITIVES, Unavailable, library_ops
from diffcompare.lang.program import Program
from diffcompare.lang.structure import structure_key
from diffcompare.spec.operators import OPERATORS, results

LLVM = bool(se.have_llvm)
BACKEND = "llvm" if LLVM else "lambda"  # Lambdify's code generator
MAX_ELEMENTS = 2000  # point elements: diff runs once per element over all of f
MAX_INTEGER_EXPONENT = 2**16  # past it SymEngine computes c**n as a big integer at once (3/10**10**7: 6 s)
MEMO_FORMS = 64  # problems' forms kept per process, the most recently used


# --- lowering -----------------------------------------------------------------------------


def _object(value) -> np.ndarray:
    """value as an object array (a 0-d one for a scalar), as the IR's evaluators keep it."""
    if isinstance(value, np.ndarray):
        return value
    out = np.empty((), dtype=object)
    out[()] = value
    return out


def _number(value) -> se.Basic:
    """A float64, int or bool as the SymEngine number it is exactly (0.1 is 3602879701896397/2^55)."""
    if isinstance(value, se.Basic):
        return value
    if isinstance(value, (bool, np.bool_)):
        return se.true if value else se.false
    if isinstance(value, (int, np.integer)):
        return se.Integer(int(value))
    fraction = Fraction(float(value))
    return se.Rational(fraction.numerator, fraction.denominator)


_numbers = np.vectorize(_number, otypes=[object])


def _constant(value) -> np.ndarray:
    return _object(_numbers(np.asarray(value))) if np.ndim(value) else _object(_number(value))


def _elementwise(fn):
    vectorized = np.vectorize(fn, otypes=[object])
    return lambda *args: _object(vectorized(*args))


def _reduce(fn):
    """A reduction on the list of elements, or along axis= (a tuple) on each fiber's list."""

    def reduce(*xs, axis=None):
        if axis is None:
            return _object(fn(*[list(np.ravel(x)) for x in xs]))
        x = np.asarray(xs[0], dtype=object)
        moved = np.moveaxis(x, axis, tuple(range(x.ndim - len(axis), x.ndim)))
        rows = moved.reshape(moved.shape[: x.ndim - len(axis)] + (-1,))
        out = np.empty(rows.shape[:-1], dtype=object)
        for index in np.ndindex(out.shape):
            out[index] = fn(list(rows[index]))
        return out

    return reduce


def _structural(forward):
    """An array-building step: its NumPy rule on object arrays, the numbers it fills in made SymEngine's."""
    return lambda *args, **params: _object(_numbers(np.asarray(forward(*args, **params), dtype=object)))


_EXPONENTS: dict = {}  # named exponent symbol -> its exact value (Fraction), for every one made here
_EXPONENTS_LOCK = threading.Lock()


def _exponent(value):
    """An integer exponent past MAX_INTEGER_EXPONENT as a named symbol, its value given to
    Lambdify beside the point: as a number, SymEngine raises a rational base to it at once
    in big integers ((0.3·x)**1e12 never returns). Others stay the numbers they are."""
    if isinstance(value, se.Integer) and abs(int(value)) > MAX_INTEGER_EXPONENT:
        exact = Fraction(int(value))
        symbol = se.Symbol(f"⟨{int(value)}⟩")
        with _EXPONENTS_LOCK:
            _EXPONENTS[symbol] = exact
        return symbol
    return value


def _power(a, b):
    return _object(np.asarray(a, dtype=object) ** _object(np.vectorize(_exponent, otypes=[object])(b)))


def _truth(c):
    """A condition folded to a constant (a number, True or False): its truth; else None."""
    if not isinstance(c, se.Basic):
        return bool(c)
    if c == se.true or c == se.false:
        return c == se.true
    return (c != 0) if c.is_Number else None


def _where(c, a, b):
    """Piecewise((a, c), (b, True)); a condition folded to a constant is the branch it takes."""
    truth = _truth(c)
    if truth is not None:
        return a if truth else b
    return se.Piecewise((a, c), (b, se.true))


def _normalizer(log: bool):
    """softmax / log_softmax along an axis, exactly: exp(x - lse) and x - lse, lse = log Σ exp(x)."""

    def normalize(x, axis=-1):
        x = np.asarray(x, dtype=object)
        lse = np.vectorize(se.log, otypes=[object])(
            np.sum(np.vectorize(se.exp, otypes=[object])(x), axis=axis, keepdims=True)
        )
        z = x - lse
        return _object(z if log else np.vectorize(se.exp, otypes=[object])(z))

    return normalize


def _missing(name: str, reason: str) -> Unavailable:
    return Unavailable("symengine", name, reason)


# SymEngine's own functions where the SymPy declaration's name or factory does not fit it
# (the step functions are SymPy subclasses there); every other primitive is the SymPy
# declaration given the symengine module, or symengine.<name> by the convention.
OWN_SCALAR = {
    "floor": se.floor,
    "ceil": se.ceiling,
    "sign": se.sign,
    "mod": lambda a, b: a - b * se.floor(a / b),
    "cbrt": lambda u: se.sign(u) * se.Abs(u) ** se.Rational(1, 3),
    "round": _missing("round", "SymEngine has no round-half-to-even function"),
    "trunc": _missing("trunc", "SymEngine has no trunc function"),
}
_SCALAR = library_ops("symengine", like="sympy", own=OWN_SCALAR)

_ARITHMETIC = {
    "add": lambda a, b: _object(a + b),
    "sub": lambda a, b: _object(a - b),
    "mul": lambda a, b: _object(a * b),
    "div": lambda a, b: _object(a / b),
    "pow": _power,
    "neg": lambda x: _object(-x),
    "matmul": lambda a, b: _object(np.matmul(a, b)),
    "where": _elementwise(_where),
    "softmax": _normalizer(log=False),
    "log_softmax": _normalizer(log=True),
}


def _entry(name, p):
    if name in _ARITHMETIC:
        return _ARITHMETIC[name]
    if p.kind == "array":  # NumPy's rule on object arrays: nothing of SymEngine's but its numbers
        return _structural(p.forward)
    scalar = _SCALAR[name]
    if isinstance(scalar, Unavailable):
        return scalar
    return (_reduce if p.kind == "reduction" else _elementwise)(scalar)


SYMENGINE_OPS = {name: _entry(name, p) for name, p in PRIMITIVES.items()}


def element_symbols(name: str, shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        out[index] = se.Symbol(element_label(name, index))
    return out


def to_symengine(root, values: dict) -> np.ndarray:
    """f in SymEngine, an object array of f's shape, from the IR (never from text)."""
    program = Program(root, SYMENGINE_OPS, constant=_constant, index=lambda x, ix: _object(x[ix]))
    return _object(program(values))


# --- counting as SymPy counts -----------------------------------------------------------


def _negative(a) -> bool:
    """a is a negative number (SymPy's is_extended_negative on a number)."""
    return bool(a.is_Number) and bool(a < 0)


def _coeff_isneg(a) -> bool:
    """SymPy's _coeff_isneg: a negative number, or a product whose numeric coefficient is one
    (SymEngine, as SymPy, puts a product's coefficient first)."""
    return _negative(a.args[0] if a.is_Mul else a)


def _fraction(a) -> tuple:
    """SymPy's fraction(a) (exact=False) on a SymEngine product: (numerator, denominator), the
    powers with a negative exponent (a number, or a product with a negative coefficient:
    exp(-x)) in the denominator, a rational coefficient split into its integers."""
    numer, denom = [], []
    for term in a.args if a.is_Mul else (a,):
        if term.is_Pow:
            base, ex = term.args
            if _negative(ex):
                denom.append(base if ex == -1 else base ** (-ex))
            elif ex.is_Mul and _coeff_isneg(ex):
                denom.append(base ** (-ex))
            else:
                numer.append(term)
        elif term.is_Rational and not term.is_Integer:
            p, q = term.get_num_den()
            if p != 1:
                numer.append(p)
            denom.append(q)
        else:
            numer.append(term)
    return se.Mul(*numer) if numer else se.Integer(1), se.Mul(*denom) if denom else se.Integer(1)


_LATTICE = (se.Max, se.Min, se.And, se.Or)  # SymPy's LatticeOps: n - 1 operations for n operands
_APPLIED = (se.Not, se.Xor, se.Derivative)  # SymPy counts them as functions (is_Function, Derivative)


def _own_ops(a) -> tuple[int, list]:
    """One step of sympy.count_ops's loop on a node: (its own operations, the nodes it goes on
    to). Relations, True and a Piecewise's conditions count nothing themselves, as in SymPy."""
    if a.is_Rational:
        if a == 1:
            return 0, []
        p, q = a.get_num_den()
        return int(p < 0) + int(q != 1), []
    n = 0
    if a.is_Mul:
        if _coeff_isneg(a):
            n += 1
            a = -a
        num, den = _fraction(a)
        if num.is_Integer:
            return n + 1 + int(_negative(num)), [den]
        if den != 1:
            return n + 1, ([den] if not den.is_Integer else []) + [num]
    elif a.is_Add:
        pushed = [-t if _coeff_isneg(t) else t for t in a.args]
        negative = sum(_coeff_isneg(t) for t in a.args)
        return len(a.args) - 1 + int(negative == len(a.args)), pushed
    if a.is_Pow and a.args[1] == -1:
        return n + 1, [a.args[0]]
    if a == se.E:  # n: the NEG of -E, -exp(x), whose negation left no product
        return n + 1, []
    if a.is_Pow and a.args[0] == se.E:
        return n + 1, [a.args[1]]
    if a.is_Mul or isinstance(a, _LATTICE):
        n += len(a.args) - 1
    elif a.args and (a.is_Pow or a.is_Function or isinstance(a, _APPLIED)):
        n += 1
    return n, ([] if a.is_Symbol else list(a.args))


def count_ops(exprs) -> int:
    """sympy.count_ops(exprs) on SymEngine's expressions, by SymPy's rules (a - b is one SUB,
    -x a NEG, x/y a DIV, exp(-x) a DIV and an EXP, max(a, b, c) two), every repeat counted, as
    the sympy backend counts its derivative; in the time of the distinct subexpressions, once
    each, times how often the tree holds it (a tree can hold 10⁶ of them at depth 14 of the
    logistic map, which SymPy's walk takes 45 s over)."""
    memo: dict = {}
    for root in exprs:
        stack = [(root, False)]
        while stack:
            node, ready = stack.pop()
            if node in memo:
                continue
            n, pushed = _own_ops(node)
            if ready:
                memo[node] = n + sum(memo[c] for c in pushed)
                continue
            stack.append((node, True))
            stack.extend((c, False) for c in pushed if c not in memo)
    return int(sum(memo[root] for root in exprs))


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
            k: self.symbols[k] if k in problem.wrt else _constant(np.asarray(v, dtype=np.float64))
            for k, v in problem.point.items()
        }
        self.function = to_symengine(problem.function, values)
        self.results = _differentiate(problem, self.function, self.symbols)
        self.flat = [e for entries in self.results.values() for e in entries.ravel()]
        _refuse_unevaluated(self.flat)
        named = set()
        for e in [*self.flat, *self.function.ravel()]:
            named |= e.free_symbols & _EXPONENTS.keys()
        self.constants = {s: _EXPONENTS[s] for s in sorted(named, key=str)}
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
                    "expr_ops_cse": count_ops([e for _, e in replacements]) + count_ops(reduced),
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


def _differentiate(problem, function: np.ndarray, symbols: dict) -> dict[str, np.ndarray]:
    """The operator's results in SymEngine, each an object array of its result's shape."""
    operator = problem.operator
    shapes = results(problem)
    wrt = list(problem.wrt)

    def data(name: str) -> np.ndarray:
        return _constant(np.asarray(problem.point[name], dtype=np.float64))

    def gradient(f) -> dict:
        return {v: _object(np.vectorize(lambda s: f.diff(s), otypes=[object])(symbols[v])) for v in wrt}

    if OPERATORS[operator].scalar_function or operator == "gradient":
        f = function[()]
        first = gradient(f)
        if operator == "gradient":
            return first
        out = {}
        for name, result in shapes.items():
            entries = np.empty(result.shape, dtype=object)
            if operator == "hessian":
                a, b = result.over if len(result.over) == 2 else result.over * 2
                for i in np.ndindex(symbols[a].shape):
                    for j in np.ndindex(symbols[b].shape):
                        entries[i + j] = first[a][i].diff(symbols[b][j])
            elif operator == "hvp":
                along = se.Add(
                    *[g * v for y in wrt for g, v in zip(first[y].ravel(), data(problem.direction[y]).ravel())]
                )
                (x,) = result.over
                for i in np.ndindex(symbols[x].shape):
                    entries[i] = along.diff(symbols[x][i])
            elif operator == "second_derivative":
                (x,) = result.over
                entries[()] = first[x][()].diff(symbols[x][()])
            else:
                raise SkipCell(f"the symengine backend does not compute {operator}")
            out[name] = entries
        return out
    # f array-valued: jacobian, jvp, vjp
    entries_of = {v: np.empty(function.shape + symbols[v].shape, dtype=object) for v in wrt}
    for i in np.ndindex(function.shape):
        for v in wrt:
            for j in np.ndindex(symbols[v].shape):
                entries_of[v][i + j] = function[i].diff(symbols[v][j])
    if operator == "jacobian":
        return entries_of
    if operator == "jvp":
        (name,) = shapes
        out = np.empty(function.shape, dtype=object)
        for i in np.ndindex(function.shape):
            out[i] = se.Add(
                *[d * t for v in wrt for d, t in zip(entries_of[v][i].ravel(), data(problem.direction[v]).ravel())]
            )
        return {name: out}
    if operator == "vjp":
        u = data(problem.cotangent)
        out = {}
        for v in wrt:
            entries = np.empty(symbols[v].shape, dtype=object)
            for j in np.ndindex(symbols[v].shape):
                entries[j] = se.Add(*[u[i] * entries_of[v][i + j] for i in np.ndindex(function.shape)])
            out[v] = entries
        return out
    raise SkipCell(f"the symengine backend does not compute {operator}")


def _derivatives(exprs: list) -> list:
    """The unevaluated Derivatives in exprs, each distinct subexpression visited once (SymEngine's
    atoms() walks the tree: 1.6 s on the logistic map's derivative at depth 14, a DAG of 100 nodes)."""
    seen, found, stack = set(), [], list(exprs)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, se.Derivative):
            found.append(node)
        else:
            stack.extend(node.args)
    return found


def _refuse_unevaluated(exprs: list) -> None:
    """SymEngine's diff returns Derivative(abs(x), x) unevaluated where it has no rule: skipped, saying which."""
    found = _derivatives(exprs)
    if found:
        first = min(found, key=str)
        name = type(first.args[0]).__name__ if first.args else "?"
        text = str(first)
        text = text if len(text) <= 80 else text[:77] + "..."
        raise SkipCell(f"SymEngine's diff has no rule for {name.lower()}: it leaves {text} unevaluated")


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
