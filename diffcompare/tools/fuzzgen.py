"""Random problems for the differential fuzzer: ordinary ones, and singular ones whose verdict is known.

A problem's point has one to three differentiated variables (x0, x1, x2: scalars,
vectors or matrices; 300 elements at most: 85 % of problems have arrays of 2 to 5 per side,
12 % up to 40, 3 % over 200, past SymPy's size, where the reference is the long-double chain
rule), sometimes a data
variable k0 outside `wrt` (a scalar, often an exponent, or a vector) and sometimes idx, integers
outside `wrt` that gather along the first axis of an array (x0[idx], a vector or a matrix of
them; half the time one index repeats, so the derivative's scatter-add accumulates). Its function is
grown bottom-up at the point (`Drawer`): elementwise primitives with Primitive.fuzz,
arrays broadcast with scalars and vectors with matrices, indexing and slices of
variables and of steps (x0[1], x0[1:3], x0[:, 0], (x0 @ x1)[0]), the smooth reductions of
the primitive table (sum, mean, prod, norm, logsumexp, dot), to a scalar or along axis= of a
matrix (sum(A, axis=1), mean(A, axis=-2), logsumexp(A, axis=(0, 1))), @ (matrix-vector,
vector-matrix, vector-vector, matrix-matrix), where(a < b, …, …) with the six comparisons,
clamp, and pow with small integer, non-integer (x ** 2.5, x ** 0.1), data (x ** k0) and
variable exponents, softmax and log_softmax of a vector or matrix along axis= (conditioned,
log_softmax not near 0: see fuzzexpr), gathers x0[idx] of variables and of steps, and index
loops as a formula writes them, sum(i * x0[i] ** 2 for i in range(3)), prod(cos(x0[i] / (i + 1))
for i in range(1, 4)), sum(x0[i] * x0[i + 1] for i in range(4 - 1)), mean(…), logsumexp(…):
a reduction of an elementwise term (unary, binary, pow) of gathers of constant affine indices
(x0[i + 1], x0[3 - i], x0[2 * i], A[i, 0], A[i, i]), of the index vector i itself and of scalars;
each step holds its value over the indices, as lang.loops lowers it (the index a constant
vector "i"), and is written in loop form. Arrays are also built: list literals of scalar
steps ([a, b, c]), of vectors and of list literals ([[a, b], [c, d]]), stack(…, axis=),
concatenate, transpose and A.T, reshape, roll, tril, triu, diag and outer, each making the
shape asked of it (a reduction may ask for one no variable has: the sum of a list literal,
of an outer product). Besides the primitives that declare
Primitive.fuzz (erfc, lgamma, gamma and digamma in their fuzz_domain, exp2, hypot, logaddexp
among them) it draws cbrt away from 0, atan2 away from its cut (y = 0, x <= 0), and the
piecewise-constant floor, ceil, round, trunc, sign and % away from their jumps: their derivative
is 0, so an ordinary problem whose gradient is 0 in every element is drawn again (f must still
depend on its variables past them). max(x)/min(x) of one array, and of an index loop, are
left to the singular templates: max(a, b) or clamp can feed them equal elements, a tie. Constants are mostly decimal fractions that are not binary ones (0.1, 1.7,
3e-3 …). Every step of an ordinary function keeps the guarantees of
diffcompare.tools.fuzzexpr, and the whole gradient is then taken by the chain-rule
engine in float64 and in long double: a problem where the two differ by more than
GRADIENT_RTOL is drawn again, so rounding cannot explain a disagreement.

A singular problem (SINGULAR_SHARE of them) is f = E + a·S, sometimes wrapped in a smooth
G(·): E an ordinary function as above, S one of TEMPLATES, set on its singular point
(`abs(x0[1] - 0.1)` with x0[1] exactly 0.1), whose verdict follows from S alone:

- kink:      abs, relu, min/max with a constant or a tie, clamp at a bound, where's
             boundary, sum(abs(x - c)) with one element on c: the sides differ by 2a…;
             max(x)/min(x) of one array (or along axis=1) with its extreme tied between two
             elements (a kink in both); max(x0[i] for i in range(3)), min(x0[i + 1] …) of an
             index loop with the extreme of the gathered elements tied (a kink in both);
             log1p(C·abs(u)), (1 + C·abs(u)) ** p with C up to 1e60: steep sides whose
             linear regime is far below any fixed step
- undefined: sqrt(abs(u)), sqrt(u), abs(u) ** 0.3 at u = 0 (f finite, ∂f infinite);
             log(abs(u)) and 1 / u (f itself not finite: every element); a jump: floor(u),
             ceil(u), sign(u), round(u + 0.5), trunc(u + 1), u % b at u = 0, and atan2(u, x)
             on its cut (x < 0): f not continuous in that element (atan2's x, a variable, is
             ordinary: f is π along it, and the chain rule's -y / (x² + y²) is 0)
- trap:      f is differentiable there but the chain rule as written is not: cos(sqrt(
             sum(x ** 2))), norm(x) ** 3, sqrt(x ** 2 + y ** 2) ** 3 at 0, relu(u) - relu(-u)
             at u = 0, where(u > 0, a·x, sqrt(-u)) with the untaken branch's local derivative
             not finite; an exact AD backend may return NaN or a subgradient (`disagree`
             expected), the reference must be f's true derivative
- cusp:      u·sqrt(abs(u)) at u = 0: a trap that is differentiable once only, where
             central differences converge as √h, past their own error bound
- smooth:    relu(u) ** 2, abs(u) ** 3, abs(u ** 2), abs(u ** 3) at u = 0: the kink's sides
             agree; ordinary for exact methods (finite differences may pass their bound:
             relu(u) ** 2 is C¹ only)
- near:      abs, relu, max, where 1e-15…1e-9 (relative) off their kink: ordinary for
             exact methods; finite differences straddle the kink and may disagree

Trap, cusp and smooth templates carry a twin: an ordinary expression with S's value and
derivative at the point (0, 1, a·x, u), so f's true gradient there is the chain rule's
on f with S replaced by its twin. The expectation travels in the document's `tags:`
(`expect:kink:x0[1]`, `expect:trap:x0` for every element of x0, `expect:undefined:*`
for every element of every variable); elements not named are ordinary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from diffcompare.engine.chainrule import ChainRule, point_in
from diffcompare.lang.primitives import PRIMITIVES
from diffcompare.spec.problem import build_problem
from diffcompare.tools.fuzzexpr import PIECEWISE_CONSTANT, Expr, constant, index_step, leaf, make

GRADIENT_RTOL = 1e-10
MAX_ELEMENTS = 300
MAX_NODES = 40
SINGULAR_SHARE = 0.3
# The primitives the fuzzer draws (Primitive.fuzz), in declaration order, and the rest of the table it uses.
UNARY = [name for name, p in PRIMITIVES.items() if p.fuzz and p.arity == 1]
BINARY = [name for name, p in PRIMITIVES.items() if p.fuzz and p.arity == 2 and name != "pow"]
# Smooth ones only: max(x)/min(x) of one array (amax, amin) tie as soon as max(a, b) or clamp
# feeds them equal elements, and the fuzzer's ordinary problems are to be off every kink.
REDUCTIONS = [name for name, p in PRIMITIVES.items() if p.kind == "reduction" and p.arity == 1 and p.smooth]
# Along axis= (sum(A, axis=1), logsumexp(A, axis=(0, 1))): the smooth reductions that take it.
AXIS_REDUCTIONS = [name for name in REDUCTIONS if PRIMITIVES[name].axis]
COMPARISONS = [name for name, p in PRIMITIVES.items() if p.kind == "compare"]
# Drawn besides Primitive.fuzz, each only where fuzzexpr keeps it off its jumps, kinks and cut:
# cbrt away from 0, atan2 away from y = 0, x <= 0, and the piecewise-constant ones (derivative 0)
# away from their jumps (floor off the integers, round off the half-integers, a % b where a / b
# is off the integers).
EXTRA_UNARY = ["cbrt", *(name for name in PIECEWISE_CONSTANT if PRIMITIVES[name].arity == 1)]
EXTRA_BINARY = ["atan2", "mod"]
SPECIAL = ("atan2", "hypot", "cbrt", "erfc", "lgamma", "gamma", "digamma", "exp2", "logaddexp")
INTEGER_EXPONENTS = [str(k) for _, low, high in PRIMITIVES["pow"].fuzz_integers for k in range(low, high)]
EXPONENTS = ("2.5", "0.1", "1.5", "0.5", "1.7", "0.3", "3.5", "-0.5")
CONSTANTS = ("0.1", "0.01", "1.7", "3e-3", "0.3", "2.5", "0.7", "1.1", "-0.4", "0.5", "2", "3")
KINK_AT = ("0.1", "0.3", "1.7", "-0.7", "0.01", "1.1", "-1.3", "0.5")  # c of abs(x - c), relu(x - c) …
COEFFICIENTS = ("1.7", "0.3", "-1.1", "2", "0.5", "-0.7", "0.1")  # a of E + a·S
WRAPPERS = ("exp", "sin", "tanh", "sigmoid", "atan", "softplus")
NORMALIZERS = ("softmax", "log_softmax")  # shape-preserving along axis=: kind "array", nonlinear
INDEX = "idx"  # the data variable of integers a gather x[idx] reads
# The reductions an ordinary index loop feeds, with their weights; max and min of a loop are
# left to the singular templates, as max(x) of one array is.
LOOP_REDUCTIONS = {"sum": 3.0, "prod": 1.0, "mean": 1.0, "logsumexp": 1.5}


def in_fuzz_domain(name: str, args) -> bool:
    """Every operand of the step inside its primitive's fuzzing domain (Primitive.fuzz_domain:
    lgamma, gamma, digamma away from their poles), where it declares one."""
    domain = PRIMITIVES[name].fuzz_domain
    if domain is None:
        return True
    low, high = domain
    return all(bool(np.all((low < np.asarray(a.value)) & (np.asarray(a.value) < high))) for a in args)


def is_binary_fraction(text: str) -> bool:
    return Fraction(float(text)) == Fraction(text)


# SymPy used to never return on these, with the exact binary value of a decimal exponent
# (1.7 = 7656119366529843 / 2**52):
#   tanh(x ** 1.7).diff(x), sinh and cosh too: their assumptions take a Mod of that rational;
#   ((x / 0.3) ** 2.5) ** 0.3: the rational coefficient raised to such a power is factored
#   (left out: any decimal power of a fractional power).
# diffcompare.exact.symbolic now gives SymPy such an exponent as a named exact constant, and a
# SymPy step past its time is stopped (the reference is then the chain rule in mpmath), so
# the generator draws them (problems/sympy_*.yaml hold them). KNOWN_HANGS = True leaves them out again.
KNOWN_HANGS = False
_HYPERBOLIC = {"sinh", "cosh", "tanh"}


def _decimal(exponent: Expr) -> bool:
    """A constant or data exponent that is not a short binary fraction (k / 16)."""
    scaled = np.asarray(exponent.value, dtype=np.float64) * 16
    return not exponent.live and not np.all(scaled == np.round(scaled))


def _decimal_power(expr: Expr) -> bool:
    return any(e.op == "pow" and _decimal(e.args[1]) for e in expr.subexpressions())


def _fractional_power(expr: Expr) -> bool:
    """expr holds a power with a constant or data exponent that is not an integer."""
    for e in expr.subexpressions():
        if e.op == "pow" and not e.args[1].live:
            exponent = np.asarray(e.args[1].value, dtype=np.float64)
            if not np.all(exponent == np.round(exponent)):
                return True
    return False


def known_hang(op: str, arg: Expr, exponent: Expr | None = None) -> bool:
    """op(arg) (or arg ** exponent) is one of the forms SymPy hangs on (see KNOWN_HANGS)."""
    if not KNOWN_HANGS:
        return False
    if op in _HYPERBOLIC:
        return _decimal_power(arg)
    return op == "pow" and exponent is not None and _decimal(exponent) and _fractional_power(arg)


# --- the point ---------------------------------------------------------------------------


def _values(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    low, high = (0.1, 2.5) if rng.random() < 0.4 else (-2.0, 2.0)  # positive values let log, sqrt, pow apply
    return np.array(np.round(rng.uniform(low, high, size=shape), 3), dtype=np.float64)


def _shapes(rng: np.random.Generator, count: int, scalars_only: bool) -> list[tuple[int, ...]]:
    if scalars_only:
        return [()] * count
    kinds = rng.choice(["scalar", "vector", "matrix"], size=count, p=[0.42, 0.42, 0.16])
    size = rng.random()  # most problems a few elements; some tens, a few a hundred or more
    tier = 0 if size < 0.85 else 1 if size < 0.97 else 2
    # The largest are past SymPy's 200 elements (the reference is the long-double chain rule):
    # SymPy's diff, which no time limit can interrupt, may take minutes on a hundred or two.
    vectors = [(2, 6), (6, 41), (201, 281)][tier]
    rows, columns = [((2, 5), (2, 5)), ((2, 9), (2, 13)), ((12, 15), (17, 20))][tier]
    matrices = [(int(rng.integers(*rows)), int(rng.integers(*columns))) for kind in kinds if kind == "matrix"]
    shapes: list[tuple[int, ...]] = list(matrices)
    for kind in kinds:
        if kind == "vector" and matrices and rng.random() < 0.7:  # one that @ can take
            shapes.append((int(rng.choice(matrices[int(rng.integers(len(matrices)))])),))
        elif kind == "vector":
            shapes.append((int(rng.integers(*vectors)),))
        elif kind == "scalar":
            shapes.append(())
    return [shapes[i] for i in rng.permutation(len(shapes))]


def _index_array(rng: np.random.Generator, shapes: list[tuple[int, ...]]) -> np.ndarray | None:
    """idx for a gather x[idx] along the first axis of one of the arrays: integers 0 … its
    length - 1, a vector (a matrix of them for a vector: x[idx] is then a matrix), with a
    repeated index half the time (its derivative scatter-adds)."""
    lengths = [s[0] for s in shapes if s and s[0] >= 2]
    if not lengths:
        return None
    length = int(rng.choice(lengths))
    fits_vector = any(len(s) == 1 and s[0] >= length for s in shapes)
    if fits_vector and rng.random() < 0.2:
        shape: tuple[int, ...] = (int(rng.integers(2, 4)), int(rng.integers(2, 4)))
    else:
        shape = (int(rng.integers(1, 6)),)
    idx = rng.integers(0, length, size=shape)
    if idx.size >= 2 and rng.random() < 0.5:
        flat = idx.reshape(-1)
        flat[int(rng.integers(1, flat.size))] = flat[0]
    return idx.astype(np.int64)


def draw_point(rng: np.random.Generator, scalars_only: bool = False) -> tuple[dict[str, np.ndarray], list[str]]:
    """(point, wrt): x0… differentiated, with probability 0.35 a data variable k0 outside wrt,
    and where there are arrays, with probability 0.3 the integers idx (outside wrt) of a gather."""
    while True:
        shapes = _shapes(rng, int(rng.integers(1, 4)), scalars_only)
        point = {f"x{i}": _values(rng, s) for i, s in enumerate(shapes)}
        wrt = list(point)
        if rng.random() < 0.35:
            vectors = [s for s in shapes if len(s) == 1]
            if vectors and rng.random() < 0.3:
                point["k0"] = _values(rng, vectors[0])
            else:  # an exponent: an integer, a binary or a decimal fraction
                point["k0"] = np.asarray(float(rng.choice(["2.0", "3.0", "0.5", "1.5", "2.5", "0.3", "1.7", "0.7"])))
        if rng.random() < 0.3:
            idx = _index_array(rng, shapes)
            if idx is not None:
                point[INDEX] = idx
        if sum(v.size for v in point.values()) <= MAX_ELEMENTS:
            return point, wrt


# --- indexing ----------------------------------------------------------------------------


def index_options(shape: tuple[int, ...], rng: np.random.Generator) -> list[tuple[tuple, str]]:
    """A few indexes of an array of this shape, (NumPy index, text); none that is empty."""
    whole = slice(None)
    if len(shape) == 1:
        n = shape[0]
        i = int(rng.integers(0, n))
        options = [((i,), f"[{i}]"), ((-1,), "[-1]"), ((slice(None, None, 2),), "[::2]")]
        if n >= 2:
            a = int(rng.integers(0, n - 1))
            b = int(rng.integers(a + 1, n + 1))
            options += [((slice(a, b),), f"[{a}:{b}]"), ((slice(1, None),), "[1:]"), ((slice(None, -1),), "[:-1]")]
        return options
    if len(shape) == 2:
        m, n = shape
        i, j = int(rng.integers(0, m)), int(rng.integers(0, n))
        options = [((i, j), f"[{i}, {j}]"), ((i, whole), f"[{i}, :]"), ((whole, j), f"[:, {j}]")]
        if m >= 2:
            options.append(((slice(1, None), whole), "[1:, :]"))
        if n >= 2:
            options.append(((whole, slice(0, n - 1)), f"[:, 0:{n - 1}]"))
        return options
    return []


def index_shape(shape: tuple[int, ...], index: tuple) -> tuple[int, ...]:
    return np.broadcast_to(np.empty((), dtype=np.int8), shape)[index].shape


def loop_index(
    rng: np.random.Generator, length: int, start: int, stop: int, var: str, constant: bool = False
) -> tuple[np.ndarray, str] | None:
    """An index c1 * i + c0 into an axis of this length, in range for i in range(start, stop)
    (c1 = 1 mostly, with a small c0: x[i], x[i + 1]; else n - 1 - i, 2 * i + 1; a constant
    where `constant`: A[i, 0]): (the indices, as written); None where none is in range."""
    last = stop - 1
    options = {
        1: list(range(-start, length - last)),
        -1: list(range(last, length + start)),
        2: list(range(-2 * start, length - 2 * last)),
        0: list(range(length)) if constant else [],
    }
    slopes = [c for c, w in ((1, 5), (-1, 1), (2, 1), (0, 2)) for _ in range(w) if options[c]]
    if not slopes:
        return None
    c1 = int(slopes[int(rng.integers(len(slopes)))])
    small = [c for c in options[c1] if abs(c) <= 2]
    choices = small if small and c1 and rng.random() < 0.7 else options[c1]
    c0 = int(choices[int(rng.integers(len(choices)))])
    if c1 == 0:
        text = str(c0)
    elif c1 == -1:
        text = f"{c0} - {var}"
    else:
        head = var if c1 == 1 else f"{c1} * {var}"
        text = head if c0 == 0 else f"{head} + {c0}" if c0 > 0 else f"{head} - {-c0}"
    return c1 * np.arange(start, stop, dtype=np.int64) + c0, text


def loop_written(rng: np.random.Generator, var: str, start: int, stop: int, length: int) -> str:
    """The `for` of an index loop as written after its term: " for i in range(1, 4)", and
    range(n - 1) as " for i in range(5 - 1)" (length: the array it runs over)."""
    if start:
        return f" for {var} in range({start}, {stop})"
    if stop < length and rng.random() < 0.3:
        return f" for {var} in range({length} - {length - stop})"
    return f" for {var} in range({stop})"


def loop_gather(rng: np.random.Generator, base: Expr, var: str, start: int, stop: int) -> Expr | None:
    """base[c1 * i + c0] (a matrix: base[…, …], its column an index of i or a constant) in
    a loop over range(start, stop): a gather of constant indices (None: no index in range)."""
    parts = [loop_index(rng, base.shape[0], start, stop, var)]
    if len(base.shape) == 2:
        parts.append(loop_index(rng, base.shape[1], start, stop, var, constant=True))
    if any(p is None for p in parts):
        return None
    text = "[" + ", ".join(t for _, t in parts) + "]"
    return index_step(base, tuple(ix for ix, _ in parts), text, loop=var)


# --- ordinary functions ----------------------------------------------------------------------


class Drawer:
    """Grows ordinary functions of given leaves at their values (the point)."""

    def __init__(self, rng: np.random.Generator, leaves: list[Expr]):
        self.rng = rng
        self.leaves: dict[tuple[int, ...], list[Expr]] = {}
        self.by = next((e for e in leaves if e.name == INDEX), None)  # idx: only ever an index
        leaves = [e for e in leaves if e is not self.by]
        for e in leaves:
            self.leaves.setdefault(e.shape, []).append(e)
            for index, text, by in self._indexes(e.shape):
                sub = index_step(e, index, text, by)
                self.leaves.setdefault(sub.shape, []).append(sub)
        self.bases = [e for e in leaves if e.op == "var" and e.shape]  # what index loops run over
        self.exponents = [e for e in leaves if e.shape == () and e.op == "var" and not e.live]
        self.arrays = [s for s in self.leaves if s]
        self.in_condition = 0  # drawing a where's condition: no where inside it (see _where)

    def pick(self, items):
        return items[int(self.rng.integers(len(items)))]

    def _indexes(self, shape: tuple[int, ...]) -> list[tuple[tuple, str, Expr | None]]:
        """index_options, and the gather x[idx] where idx fits the first axis (and the result
        has two axes at most): (NumPy index, text, idx's leaf or None)."""
        out = [(index, text, None) for index, text in index_options(shape, self.rng)]
        by = self.by
        if by is not None and shape and len(shape) + by.value.ndim <= 3 and shape[0] > np.max(by.value):
            out += [((by.value.astype(np.int64),), f"[{INDEX}]", by)] * 2
        return out

    def leaf(self, shape: tuple[int, ...]) -> Expr | None:
        options = list(self.leaves.get(shape, []))
        if shape == () and (not options or self.rng.random() < 0.25):
            return constant(self.pick(CONSTANTS))
        return self.pick(options) if options else None

    def draw(self, shape: tuple[int, ...], depth: int) -> Expr | None:
        if depth <= 0 or self.rng.random() < 0.2:
            found = self.leaf(shape)
            if found is not None or depth <= 0:
                return found
        producers = self._producers(shape)
        names, weights = list(producers), np.array(list(producers.values()))
        for _ in range(12):
            produce = getattr(self, "_" + names[int(self.rng.choice(len(names), p=weights / weights.sum()))])
            made = produce(shape, depth - 1)
            if made is not None and made.shape == shape and made.size() <= MAX_NODES:
                return made
        return self.leaf(shape)

    def _producers(self, shape) -> dict[str, float]:
        out = {"unary": 3.0, "binary": 3.0, "pow": 1.2, "where": 0.0 if self.in_condition else 0.6}
        out.update(clamp=0.15, take=0.3)
        if shape == () and self.arrays:
            out.update(reduce=2.5, dot=0.4)
        if shape == () and self.bases:
            out["loop"] = 0.6
        if 1 <= len(shape) <= 2:
            out["normalize"] = 1.5
        if len(shape) == 1 and self._axis_sources(shape):
            out["reduce"] = 1.5
        if self._matmul_shapes(shape):
            out["matmul"] = 2.5 if shape else 1.0
        known = shape in self.leaves
        for name, weight in self._builders(shape).items():
            out[name] = weight * (1.5 if known else 4.0)  # a shape no leaf has: built
        return out

    def _unary(self, shape, depth):
        arg = self.draw(shape, depth)
        if arg is None or _constant(arg):
            return None
        name = self.pick(EXTRA_UNARY) if self.rng.random() < 0.15 else self.pick(UNARY)
        if known_hang(name, arg) or not in_fuzz_domain(name, [arg]):
            return None
        return make(name, [arg])

    def _operand_shapes(self, shape):
        r = self.rng.random()
        if shape == ():
            return (), ()
        rows = [s for s in self.arrays if len(shape) == 2 and s == shape[1:]]
        if rows and r < 0.15:
            return (shape, rows[0]) if self.rng.random() < 0.5 else (rows[0], shape)
        return (shape, shape) if r < 0.6 else (shape, ()) if r < 0.8 else ((), shape)

    def _binary(self, shape, depth):
        sa, sb = self._operand_shapes(shape)
        a, b = self.draw(sa, depth), self.draw(sb, depth)
        if a is None or b is None or (_constant(a) and _constant(b)):
            return None
        name = self.pick(EXTRA_BINARY) if self.rng.random() < 0.12 else self.pick(BINARY)
        return make(name, [a, b]) if in_fuzz_domain(name, [a, b]) else None

    def _pow(self, shape, depth):
        base = self.draw(shape, depth)
        if base is None or _constant(base):
            return None
        r = self.rng.random()
        if r < 0.3:
            exponent = constant(self.pick(INTEGER_EXPONENTS))
        elif r < 0.55 or (r < 0.85 and not self.exponents):
            exponent = constant(self.pick(EXPONENTS))
        elif r < 0.85:
            exponent = self.pick(self.exponents)
        else:
            exponent = self.draw((), depth)
            if exponent is None:
                return None
        return None if known_hang("pow", base, exponent) else make("pow", [base, exponent])

    def _where(self, shape, depth):
        # A where inside a where's condition is left out: SymPy cannot evaluate the ITE it
        # makes of it ("no mpmath evaluation for SymPy's ITE"), and may not even build it.
        self.in_condition += 1
        lhs = self.draw(shape, depth)
        r = self.rng.random()
        rhs = (
            constant(self.pick(CONSTANTS)) if r < 0.6 else self.draw((), depth) if r < 0.8 else self.draw(shape, depth)
        )
        self.in_condition -= 1
        if lhs is None or rhs is None or (lhs.op == "const" and rhs.op == "const"):
            return None
        weights = np.array([3.0 if name in ("lt", "le", "gt", "ge") else 0.5 for name in COMPARISONS])
        condition = make(COMPARISONS[int(self.rng.choice(len(COMPARISONS), p=weights / weights.sum()))], [lhs, rhs])
        a = self.draw(shape, depth)
        b = self.draw(shape if self.rng.random() < 0.7 else (), depth)
        if condition is None or a is None or b is None:
            return None
        return make("where", [condition, a, b])

    def _clamp(self, shape, depth):
        arg = self.draw(shape, depth)
        if arg is None:
            return None
        lo, hi = sorted(self.rng.choice(["-1.5", "-0.3", "0.1", "0.7", "1.7"], size=2, replace=False), key=float)
        return make("clamp", [arg, constant(lo), constant(hi)])

    def _take(self, shape, depth):
        """An index of a step: (x0 @ x1)[0], sin(x0)[1:]."""
        sources = [
            (s, *option) for s in self.arrays for option in self._indexes(s) if index_shape(s, option[0]) == shape
        ]
        if not sources:
            return None
        source, index, text, by = self.pick(sources)
        arg = self.draw(source, depth)
        return None if arg is None else index_step(arg, index, text, by)

    def _loop(self, shape, depth):
        """An index loop: sum(i * x0[i] ** 2 for i in range(3)), prod(cos(x0[i] / (i + 1)) for i
        in range(1, 4)), sum(x0[i] * x0[i + 1] for i in range(4 - 1)): a reduction of an
        elementwise term of gathers of constant indices and of the index vector itself."""
        first = self.pick(self.bases)
        length = first.shape[0]
        n = int(self.pick([length, length, max(1, length - 1), min(length, 3)]))
        start = int(self.rng.integers(0, length - n + 1)) if self.rng.random() < 0.3 else 0
        var = self.pick(["i", "i", "j", "k"])
        gathers = [loop_gather(self.rng, first, var, start, start + n)]
        for _ in range(int(self.rng.integers(0, 3))):
            gathers.append(loop_gather(self.rng, self.pick(self.bases), var, start, start + n))
        gathers = [g for g in gathers if g is not None]
        index = leaf("const", var, np.arange(start, start + n))
        body = _LoopTerm(self, gathers, index).draw((n,), depth)
        if body is None or not any(e.params.get("loop") and e.live for e in body.subexpressions()):
            return None  # the term depends on a differentiated variable through its gathers
        names = list(LOOP_REDUCTIONS)
        weights = np.array(list(LOOP_REDUCTIONS.values()))
        name = names[int(self.rng.choice(len(names), p=weights / weights.sum()))]
        return make(name, [body], written=loop_written(self.rng, var, start, start + n, length))

    def _normalize(self, shape, depth):
        """softmax(A, axis=k), log_softmax(x): along one axis, the operand's shape."""
        arg = self.draw(shape, depth)
        if arg is None or not arg.live:
            return None
        if len(shape) == 1:
            axis, written = 0, self.pick(["", ", axis=0", ", axis=-1"])
        else:
            axis = int(self.rng.integers(0, 2))
            written = self.pick([", axis=1", ", axis=-1", ""] if axis else [", axis=0", ", axis=-2"])
        return make(self.pick(NORMALIZERS), [arg], params={"axis": axis}, written=written)

    def _reduce(self, shape, depth):
        if shape:  # along an axis of a matrix: sum(A, axis=1)
            source, axes = self.pick(self._axis_sources(shape))
            arg = self.draw(source, depth)
            name = self.pick(AXIS_REDUCTIONS)
            return None if arg is None else make(name, [arg], params={"axis": _normal(axes, 2)}, written=_axis(axes))
        source = self.pick(self.arrays) if self.rng.random() < 0.65 else self.pick(self._built_shapes())
        arg = self.draw(source, depth)
        if arg is None:
            return None
        name = REDUCTIONS[int(self.rng.choice(len(REDUCTIONS), p=_REDUCTION_WEIGHTS))]
        if name in AXIS_REDUCTIONS and self.rng.random() < 0.2:  # every axis, named: axis=0, axis=(0, 1)
            axes = self.pick([(0,), (-1,)] if len(source) == 1 else [(0, 1), (1, 0), (-1, -2), (0, -1)])
            return make(name, [arg], params={"axis": _normal(axes, len(source))}, written=_axis(axes))
        return make(name, [arg])

    def _axis_sources(self, shape) -> list[tuple[tuple, tuple]]:
        """(matrix shape, axes) that reduce to this vector shape."""
        (n,) = shape
        out = []
        for m in self._built_shapes():
            if len(m) == 2 and m[0] == n:
                out += [(m, (1,)), (m, (-1,))]
            if len(m) == 2 and m[1] == n:
                out += [(m, (0,)), (m, (-2,))]
        return out

    def _built_shapes(self) -> list[tuple[int, ...]]:
        """The leaves' shapes and those array building makes of them: a list literal (2,), (3,);
        two vectors stacked (2, n); a matrix transposed; outer products of two vectors."""
        shapes = set(self.arrays) | {(2,), (3,)}
        vectors = [s[0] for s in self.arrays if len(s) == 1 and s[0] <= 12]
        shapes |= {(2, n) for n in vectors} | {(m, n) for m in vectors for n in vectors}
        shapes |= {(s[1], s[0]) for s in self.arrays if len(s) == 2}
        return sorted(shapes)

    # --- array building: list literals, stack, concatenate, transpose, reshape, roll, tril,
    # triu, diag, outer (each producer makes the shape asked of it from operands it draws)

    def _builders(self, shape) -> dict[str, float]:
        out: dict[str, float] = {}
        if len(shape) == 1 and 2 <= shape[0] <= 4:
            out["literal"] = 0.6
        if len(shape) == 2 and 2 <= shape[0] <= 3 and 2 <= shape[1] <= 4:
            out["nested"] = 3.0
        if len(shape) == 2 and shape[0] <= 3 or len(shape) == 2 and shape[1] <= 3:
            out["stack"] = 0.8
        if len(shape) == 1 and shape[0] >= 3 or len(shape) == 2:
            out["concatenate"] = 0.6
        if len(shape) == 2:
            out.update(transpose=0.8, triangle=0.6, outer=0.6)
            if shape[0] == shape[1]:
                out["diag"] = 0.4
        if shape and any(s != shape and int(np.prod(s)) == int(np.prod(shape)) for s in self.arrays):
            out["reshape"] = 0.6
        if shape:
            out["roll"] = 0.4
        if len(shape) == 1 and (shape[0], shape[0]) in self.arrays:
            out["diag"] = 0.4
        return out

    def _literal(self, shape, depth):
        items = [self.draw((), min(depth, 1)) for _ in range(shape[0])]
        if any(e is None for e in items) or all(e.op == "const" for e in items):
            return None
        return make("stack", items, params={"axis": 0}, written="[]")

    def _nested(self, shape, depth):
        """A matrix as nested lists [[a, b], [c, d]]: a list literal of list literals."""
        rows = [self._literal(shape[1:], depth) for _ in range(shape[0])]
        if any(r is None for r in rows):
            return None
        return make("stack", rows, params={"axis": 0}, written="[]")

    def _stack(self, shape, depth):
        axis = 0 if shape[0] <= 3 and (shape[1] > 3 or self.rng.random() < 0.5) else 1
        part = (shape[1 - axis],)
        items = [self.draw(part, depth) for _ in range(shape[axis])]
        if any(e is None for e in items):
            return None
        if axis == 0 and self.rng.random() < 0.5:  # [u, v]: a list of vectors
            return make("stack", items, params={"axis": 0}, written="[]")
        written = ", axis=1" if axis else self.pick(["", ", axis=0", ", axis=-2"])
        return make("stack", items, params={"axis": axis}, written=written)

    def _concatenate(self, shape, depth):
        axis = 0 if len(shape) == 1 or self.rng.random() < 0.5 else 1
        n = shape[axis]
        if n < 2:
            return None
        cut = int(self.rng.integers(1, n))
        parts = [tuple(k if i == axis else d for i, d in enumerate(shape)) for k in (cut, n - cut)]
        items = [self.draw(p, depth) for p in parts]
        if any(e is None for e in items):
            return None
        written = ", axis=1" if axis else self.pick(["", ", axis=0"]) if len(shape) == 2 else ""
        return make("concatenate", items, params={"axis": axis}, written=written)

    def _transpose(self, shape, depth):
        arg = self.draw(shape[::-1], depth)
        if arg is None:
            return None
        return make("transpose", [arg], written=".T" if self.rng.random() < 0.5 else "")

    def _reshape(self, shape, depth):
        sources = [s for s in self.arrays if s != shape and int(np.prod(s)) == int(np.prod(shape))]
        if not sources:
            return None
        arg = self.draw(self.pick(sources), depth)
        if arg is None:
            return None
        written = f", ({shape[0]},)" if len(shape) == 1 else f", ({shape[0]}, {shape[1]})"
        return make("reshape", [arg], params={"shape": shape}, written=written)

    def _roll(self, shape, depth):
        arg = self.draw(shape, depth)
        if arg is None:
            return None
        shift = int(self.pick([1, -1, 2]))
        if len(shape) == 2 and self.rng.random() < 0.7:
            axis = int(self.rng.integers(0, 2))
            return make("roll", [arg], params={"shift": shift, "axis": axis}, written=f", {shift}, axis={axis}")
        return make("roll", [arg], params={"shift": shift, "axis": None}, written=f", {shift}")

    def _triangle(self, shape, depth):
        arg = self.draw(shape, depth)
        if arg is None:
            return None
        k = int(self.pick([0, 0, -1, 1]))
        return make(self.pick(["tril", "triu"]), [arg], params={"k": k}, written=f", {k}" if k else "")

    def _diag(self, shape, depth):
        arg = self.draw((shape[0], shape[0]) if len(shape) == 1 else shape[:1], depth)
        return None if arg is None else make("diag", [arg])

    def _outer(self, shape, depth):
        a, b = self.draw(shape[:1], depth), self.draw(shape[1:], depth)
        return None if a is None or b is None else make("outer", [a, b])

    def _dot(self, shape, depth):
        vectors = [s for s in self.arrays if len(s) == 1]
        if not vectors:
            return None
        s = self.pick(vectors)
        a, b = self.draw(s, depth), self.draw(s, depth)
        return None if a is None or b is None else make("dot", [a, b])

    def _matmul_shapes(self, shape) -> list[tuple[tuple, tuple]]:
        return [(a, b) for a in self.arrays for b in self.arrays if a[-1] == b[0] and a[:-1] + b[1:] == shape]

    def _matmul(self, shape, depth):
        pairs = self._matmul_shapes(shape)
        if not pairs:
            return None
        sa, sb = self.pick(pairs)
        a, b = self.draw(sa, depth), self.draw(sb, depth)
        return None if a is None or b is None else make("matmul", [a, b])


class _LoopTerm(Drawer):
    """The term of an index loop: elementwise steps (unary, binary, pow) over its gathers and
    the index vector, their other operands scalars (constants, scalar variables and their
    elements): one number for each index, as lang.loops requires."""

    def __init__(self, outer: Drawer, gathers: list[Expr], index: Expr):
        self.rng = outer.rng
        self.leaves = {index.shape: [*gathers, *gathers, index], (): list(outer.leaves.get((), []))}
        self.by = None
        self.bases = []
        self.exponents = outer.exponents
        self.arrays = [index.shape]
        self.in_condition = 1

    def draw(self, shape, depth):
        return self.leaf(shape) if shape == () else super().draw(shape, depth)

    def _producers(self, shape) -> dict[str, float]:
        return {"unary": 3.0, "binary": 3.0, "pow": 1.0}


def _constant(e: Expr) -> bool:
    """A scalar constant (a loop's index vector, also a "const", may take a step)."""
    return e.op == "const" and not e.shape


def _normal(axes: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    return tuple(sorted(a % ndim for a in axes))


def _axis(axes: tuple[int, ...]) -> str:
    """axis= as written: axis=1, axis=(0, 1)."""
    return f", axis={axes[0]}" if len(axes) == 1 else f", axis=({axes[0]}, {axes[1]})"


_REDUCTION_WEIGHTS = np.array(
    [{"sum": 3.0, "mean": 1.5, "prod": 1.0, "norm": 2.0, "logsumexp": 2.0}.get(n, 1.0) for n in REDUCTIONS]
)
_REDUCTION_WEIGHTS = _REDUCTION_WEIGHTS / _REDUCTION_WEIGHTS.sum()


def leaves_of(point: dict[str, np.ndarray], wrt: list[str]) -> dict[str, Expr]:
    return {name: leaf("var", name, value, live=name in wrt) for name, value in point.items()}


# --- a generated problem ------------------------------------------------------------------


@dataclass
class Generated:
    """One generated problem: its function as a tree, the point, and what is expected of it."""

    index: int
    expr: Expr
    point: dict[str, np.ndarray]
    wrt: list[str]
    dtypes: list[str]
    template: str = ""  # the singular template, "" for an ordinary problem
    kind: str = "ordinary"  # the expectation of its singular element(s)
    elements: tuple[str, ...] = ()  # the element labels the expectation names: x0[1], x0 (every element), *
    singular: Expr | None = None  # the template's term S, kept whole by the shrinker
    twin: Expr | None = None  # trap and smooth: an ordinary expression with S's value and derivative here
    inner: Expr | None = None  # E, the ordinary part of a singular problem
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"fuzz-{self.index}"

    def holds_singular(self, expr: Expr | None = None) -> bool:
        """The template's term is in the function (a shrunk one may have lost it)."""
        expr = expr or self.expr
        return self.singular is not None and any(e is self.singular for e in expr.subexpressions())

    def expectations(self, expr: Expr | None = None) -> dict[str, str]:
        """element label (x0[1], x0 for all of x0, * for everything) -> expected kind;
        elements not named are ordinary."""
        return {label: self.kind for label in self.elements} if self.holds_singular(expr) else {}

    def used(self, expr: Expr | None = None) -> list[str]:
        names = {e.name for e in (expr or self.expr).subexpressions() if e.op == "var"}
        return [k for k in self.point if k in names]

    def document(self, expr: Expr | None = None) -> dict | None:
        """The problem file's document (of expr instead of the function, for a twin or a shrunk
        form); None where it uses no differentiated variable."""
        expr = expr or self.expr
        used = self.used(expr)
        wrt = [k for k in self.wrt if k in used]
        if not wrt:
            return None
        document = {"name": self.name, "function": expr.text()}
        document["point"] = {k: self.point[k].tolist() for k in used}
        if len(wrt) < len(used):
            document["wrt"] = wrt
        document["dtypes"] = list(self.dtypes)
        document["tags"] = ["fuzz", *features(expr, self.wrt)]
        if self.holds_singular(expr):
            document["tags"].append(f"template:{self.template}")
            document["tags"] += [f"expect:{kind}:{label}" for label, kind in self.expectations(expr).items()]
        return document


BUILDING = ("stack", "concatenate", "transpose", "reshape", "roll", "tril", "triu", "diag", "outer")


def features(expr: Expr, wrt: list[str]) -> list[str]:
    """What the function exercises, as tags: array, matrix, index, slice, reduction, axis (a
    reduction along axis=), matmul, where, clamp, broadcast, data, data-exponent, real-exponent,
    decimal-constant, list (a list literal), nested-list ([[a, b], [c, d]]), build (stack …
    outer), softmax (softmax, log_softmax), gather (x[idx]), repeated-index (an idx that
    repeats one), loop (an index loop), piecewise (floor … %), special (atan2, hypot, cbrt,
    erfc, lgamma, gamma, digamma, exp2, logaddexp)."""
    found = set()
    for e in expr.subexpressions():
        if e.op in BUILDING:
            found.add("list" if e.name == "[]" else "build")
        if e.name == "[]" and any(a.name == "[]" for a in e.args):
            found.add("nested-list")
        if e.op in NORMALIZERS:
            found.add("softmax")
        if e.op == "index" and len(e.args) == 2:
            found.add("gather")
            if np.unique(e.index[0]).size < e.index[0].size:
                found.add("repeated-index")
        if e.name.startswith(" for "):
            found.add("loop")
        if e.params.get("axis") is not None and PRIMITIVES[e.op].kind == "reduction":
            found.add("axis")
        if e.op in PIECEWISE_CONSTANT:
            found.add("piecewise")
        if e.op in SPECIAL:
            found.add("special")
        if e.shape:
            found.add("array")
        if len(e.shape) == 2:
            found.add("matrix")
        if e.op == "index":
            found.add("slice" if ":" in e.name else "index")
        if e.op in REDUCTIONS or e.op == "dot":
            found.add("reduction")
        if e.op in ("matmul", "where", "clamp"):
            found.add(e.op)
        if e.op == "var" and e.name not in wrt:
            found.add("data")
        if _constant(e) and not is_binary_fraction(e.name.strip("()")):
            found.add("decimal-constant")
        if e.op in ("add", "sub", "mul", "div", "min", "max", "pow") and len({a.shape for a in e.args}) > 1:
            found.add("broadcast")
        if e.op == "pow":
            exponent = e.args[1]
            if exponent.op == "var" and exponent.name not in wrt:
                found.add("data-exponent")
            elif _constant(exponent) and not float(exponent.name.strip("()")).is_integer():
                found.add("real-exponent")
    order = ["array", "matrix", "index", "slice", "reduction", "axis", "matmul", "where", "clamp", "broadcast"]
    order += ["data", "data-exponent", "real-exponent", "decimal-constant", "list", "nested-list", "build"]
    order += ["softmax", "gather", "repeated-index", "loop", "piecewise", "special"]
    return [f for f in order if f in found]


def well_conditioned(document: dict, moves: bool = False) -> bool:
    """The chain rule in float64 gives the long-double chain rule's gradient to GRADIENT_RTOL
    (and, where `moves`, not 0 in every element: f still depends on its variables past its
    piecewise-constant steps)."""
    problem = build_problem(document, "<fuzz>", document["name"])
    g64 = ChainRule(problem.function, "float64").gradient(point_in(problem.point, "float64"), problem.wrt)
    gld = ChainRule(problem.function, np.longdouble).gradient(point_in(problem.point, np.longdouble), problem.wrt)
    for var in problem.wrt:
        a, b = np.asarray(g64[var], dtype=np.longdouble), np.asarray(gld[var], dtype=np.longdouble)
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            return False
        with np.errstate(all="ignore"):
            ok = np.where(b == 0, np.abs(a) <= 1e-12, np.abs(a - b) <= GRADIENT_RTOL * np.abs(b))
        if not np.all(ok):
            return False
    return not moves or any(np.any(np.asarray(g64[var]) != 0) for var in problem.wrt)


def ordinary_problem(rng: np.random.Generator, index: int, dtypes: list[str]) -> Generated:
    scalars_only = rng.random() < 0.25
    while True:
        point, wrt = draw_point(rng, scalars_only)
        drawer = Drawer(rng, list(leaves_of(point, wrt).values()))
        expr = drawer.draw((), int(rng.integers(1, 5)))
        if expr is None or not expr.live or expr.size() < 3:
            continue
        generated = Generated(index, expr, point, wrt, list(dtypes))
        document = generated.document()
        if document is not None and well_conditioned(document, moves=True):
            return generated
