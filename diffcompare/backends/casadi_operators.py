"""CasADi's derivatives of the function as written, in forward and reverse mode, as casadi.Functions.

Every operator is built of CasADi's two directional derivatives on the SX graph of f:
`casadi.forward(ex, arg, seeds)` (forward mode, Function.forward: one seed per direction) and
`casadi.reverse(ex, arg, seeds)` (reverse mode, Function.reverse: one adjoint seed per
direction). A full Jacobian takes one forward direction per input element, or one adjoint
direction per output element; the gradient in reverse mode is one adjoint sweep. Second order
composes them as JAX does: the gradient by reverse mode, then its Jacobian in forward mode
(forward-over-reverse) or reverse mode (reverse-over-reverse); an HVP is one forward direction
along v of the gradient, or one adjoint of the gradient seeded with v (Hᵀv = Hv).

The result is compiled into a casadi.Function of every point variable (wrt and held alike), kept
per process under the structure of f (lang.structure: a sweep over points builds once), MEMO_SIZE
of them, the least recently used forgotten. setup_s is what building it cost when this process
built it (the SX graph from the IR, the AD, the Function, the first call); time_s the median of
warm calls of that Function; f_time_s of a Function of f alone; expr_ops its n_instructions().

Values (CasadiValue) are CasADi matrices with the NumPy shape each stands for: a scalar is 1×1,
a vector (n,) a column n×1, a matrix (m, n) m×n; 3 or more axes are `skipped`. Moving elements
(indexing, transposes, NumPy's row-major reshapes, broadcasting) is a gather of elements by
their CasADi (column-major) indices: element references in the graph, no arithmetic. The table
of CasADi's functions over these values is casadi_backend's.
"""

from __future__ import annotations

import time

import casadi
import numpy as np

from diffcompare.backends import Gradient
from diffcompare.backends.timing import PerProblem, median_time
from diffcompare.lang.memo import Kept
from diffcompare.lang.primitives import SkipCell
from diffcompare.lang.program import Program
from diffcompare.lang.structure import structure_key
from diffcompare.spec.operators import results

SECOND_ORDER = ("forward-over-reverse", "reverse-over-reverse")
MODES = {
    "gradient": ("reverse", "forward"),
    "jacobian": ("forward", "reverse"),
    "jvp": ("forward",),
    "vjp": ("reverse",),
    "hessian": SECOND_ORDER,
    "hvp": SECOND_ORDER,
    "second_derivative": SECOND_ORDER,
}
MAX_DIRECTIONS = 4096  # a full Jacobian's seeds past this are skipped: one direction each
# An SX graph holds one node per scalar operation and a symbol per point element (held data too):
# measured on Rosenbrock, 18 µs of building per element (1.8 s at 10⁵); past this it is skipped.
MAX_ELEMENTS = 100_000
MEMO_SIZE = 256
_KEPT = Kept(MEMO_SIZE)  # key -> (Function, outputs, setup_s)
_FUNCTIONS = Kept(MEMO_SIZE)  # program key -> Function of f alone
_F_TIMES = PerProblem()
_OPS_SEEN: dict[int, dict] = {}  # id -> every table a kept Function was lowered with (kept alive: no id reused)


def forget() -> None:
    """Drop the kept Functions and f's times (tests)."""
    _KEPT.clear()
    _FUNCTIONS.clear()
    _F_TIMES.clear()


def _unit(shape: tuple[int, int], element: int):
    seed = casadi.DM(*shape)  # structural zeros: no work in the other elements
    seed[element] = 1
    return seed


def jacobian_blocks(outs: list, xs: list, mode: str) -> list[list]:
    """J[o][k]: ∂outs[o]/∂xs[k] as a matrix (rows: outs[o]'s elements, columns: xs[k]'s, both in
    CasADi order), by casadi.forward (a direction per element of every xs[k]) or casadi.reverse
    (an adjoint per element of every outs[o])."""
    seeds_of = xs if mode == "forward" else outs
    count = sum(s.numel() for s in seeds_of)
    if count > MAX_DIRECTIONS:
        what = "input" if mode == "forward" else "output"
        raise SkipCell(f"{mode} mode takes one direction per {what} element: {count} past {MAX_DIRECTIONS}")
    zeros = [casadi.DM(*s.shape) for s in seeds_of]
    owner, seeds = [], []
    for k, s in enumerate(seeds_of):
        for e in range(s.numel()):
            seeds.append([_unit(s.shape, e) if j == k else z for j, z in enumerate(zeros)])
            owner.append(k)
    if mode == "forward":
        d = casadi.forward(outs, xs, seeds)  # per direction: one per output
        return [
            [casadi.horzcat(*(casadi.vec(d[i][o]) for i in range(len(seeds)) if owner[i] == k)) for k in range(len(xs))]
            for o in range(len(outs))
        ]
    d = casadi.reverse(outs, xs, seeds)  # per adjoint direction: one per input
    return [
        [casadi.horzcat(*(casadi.vec(d[i][k]) for i in range(len(seeds)) if owner[i] == o)).T for k in range(len(xs))]
        for o in range(len(outs))
    ]


def _outputs(problem, f, f_shape, symbols: dict, mode: str) -> list[tuple]:
    """[(result name, matrix, result's output shape, its input shape)]: each matrix's rows are the
    output's elements and its columns the input's (one column where the input shape is ())."""
    operator = problem.operator
    wrt = list(problem.wrt)
    xs = [symbols[k] for k in wrt]
    shapes = {k: tuple(np.shape(problem.point[k])) for k in problem.point}
    named = list(results(problem))
    if operator in ("gradient", "jacobian"):
        (blocks,) = jacobian_blocks([f], xs, mode)
        return [(name, blocks[i], f_shape, shapes[k]) for i, (name, k) in enumerate(zip(named, wrt))]
    if operator == "jvp":
        tangents = [symbols[problem.direction[k]] for k in wrt]
        (d,) = casadi.forward([f], xs, [tangents])[0]
        return [(named[0], casadi.vec(d), f_shape, ())]
    if operator == "vjp":
        u = symbols[problem.cotangent]
        adjoints = casadi.reverse([f], xs, [[casadi.reshape(u, *storage(f_shape))]])[0]
        return [(name, casadi.vec(a), shapes[k], ()) for name, k, a in zip(named, wrt, adjoints)]
    gradient = casadi.reverse([f], xs, [[1]])[0]  # second order: the gradient by one adjoint sweep
    inner = "forward" if mode == "forward-over-reverse" else "reverse"
    if operator == "hvp":
        v = [symbols[problem.direction[k]] for k in wrt]
        along = (casadi.forward if inner == "forward" else casadi.reverse)(gradient, xs, [v])[0]
        return [(name, casadi.vec(a), shapes[k], ()) for name, k, a in zip(named, wrt, along)]
    blocks = jacobian_blocks(gradient, xs, inner)  # ∂(∂f/∂a)/∂b
    index = {k: i for i, k in enumerate(wrt)}
    out = []
    for name, result in results(problem).items():
        a, b = (result.over * 2)[:2]
        out.append((name, blocks[index[a]][index[b]], shapes[a], shapes[b]))
    return out


# --- values: CasADi matrices with the NumPy shapes they stand for ---------------------------------


class CasadiValue:
    """A CasADi matrix (SX, MX or DM) and the NumPy shape it stands for (at most 2-D)."""

    __slots__ = ("shape", "x")

    def __init__(self, x, shape: tuple[int, ...]):
        self.x, self.shape = x, tuple(shape)


def storage(shape: tuple[int, ...]) -> tuple[int, int]:
    """The CasADi dimensions of a NumPy shape: () 1×1, (n,) n×1, (m, n) m×n; more axes are refused."""
    if len(shape) > 2:
        raise SkipCell(f"CasADi matrices are 2-D: a value of shape {shape} has no CasADi form")
    return (1, 1) if not shape else (shape[0], 1) if len(shape) == 1 else (shape[0], shape[1])


def linear(shape: tuple[int, ...]) -> np.ndarray:
    """For each NumPy position of an array of this shape, its element's CasADi (column-major) index."""
    storage(shape)
    if len(shape) < 2:
        return np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)
    m, n = shape
    return np.arange(m * n).reshape(n, m).T


def gather(x, index: np.ndarray, shape: tuple[int, ...]):
    """The matrix of `shape` whose element at each NumPy position is x's element index[position]
    (a CasADi linear index; -1 for an explicit zero). Element references only: no operation."""
    rows, cols = storage(shape)
    flat = np.asarray(index).ravel(order="F") if np.ndim(index) == 2 else np.asarray(index).ravel()
    if flat.size == 0:
        return casadi.DM(rows, cols)
    if (flat < 0).any():
        x = casadi.vertcat(casadi.vec(x), 0)
        flat = np.where(flat < 0, x.numel() - 1, flat)
    return casadi.densify(casadi.reshape(x[flat.tolist()], rows, cols))


def moved(v: CasadiValue, index: np.ndarray) -> CasadiValue:
    """v's elements moved to the NumPy positions `index` gives (an array of v's CasADi indices)."""
    return CasadiValue(gather(v.x, index, index.shape), index.shape)


def index(x, ix):
    """x[ix] with constant integers and slices (Program's index): a gather by NumPy's indexing."""
    return moved(x, np.asarray(linear(x.shape)[ix]))


def constant(value):
    """A folded constant: an array as a DM in its storage; a number as a Python number (an integer
    stays one, so that x**2 is CasADi's sq(x); NumPy's scalars are not handed to CasADi)."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return CasadiValue(casadi.reshape(casadi.DM(value.ravel(order="F")), *storage(value.shape)), value.shape)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    return float(value)


def _arranged(full: np.ndarray, rows: tuple, cols: tuple) -> np.ndarray:
    r, c = linear(rows).ravel(), linear(cols).ravel()
    return np.array(full[np.ix_(r, c)].reshape(rows + cols), dtype=np.float64)


def _symbols(problem, kind):
    return {k: kind.sym(k, *storage(tuple(np.shape(v)))) for k, v in problem.point.items()}


def function_of(problem, ops: dict, symbols: dict):
    """(f's matrix, f's NumPy shape): the IR lowered with CasADi's table on these symbols."""
    program = Program(problem.function, ops, constant=constant, index=index)
    out = program({k: CasadiValue(s, tuple(np.shape(problem.point[k]))) for k, s in symbols.items()})
    if not isinstance(out, CasadiValue):  # f is a constant
        return casadi.DM(out), ()
    return out.x, out.shape


def _key(problem, dtype: str, ops: dict) -> tuple:
    wrt = tuple(problem.wrt)
    held = tuple(k for k in problem.point if k not in wrt)
    shapes = tuple(np.shape(problem.point[k]) for k in wrt + held)
    _OPS_SEEN.setdefault(id(ops), ops)  # a subclass's own table never gets the built-in's Functions
    return (structure_key(problem.function), wrt, held, shapes, dtype, id(ops))


def build(problem, mode: str, ops: dict, kind=casadi.SX):
    """(Function of every point variable, its outputs' names and shapes): the operator in this mode."""
    symbols = _symbols(problem, kind)
    f, f_shape = function_of(problem, ops, symbols)
    if not isinstance(f, (casadi.SX, casadi.MX)):  # a constant f: its derivatives are zeros
        f = kind(f)
    outputs = _outputs(problem, f, f_shape, symbols, mode)
    inputs = [symbols[k] for k in problem.point]
    fn = casadi.Function(f"{problem.operator}_{mode}".replace("-", "_"), inputs, [m for _, m, _, _ in outputs])
    return fn, [(name, rows, cols) for name, _, rows, cols in outputs]


def compute(problem, dtype: str, mode: str, ops: dict) -> Gradient:
    """The problem's operator in this mode, from a kept casadi.Function (the gradient too)."""
    if mode not in MODES[problem.operator]:
        raise ValueError(f"casadi computes {problem.operator} in {', '.join(MODES[problem.operator])}, not {mode!r}")
    elements = sum(int(np.size(v)) for v in problem.point.values())
    if elements > MAX_ELEMENTS:
        raise SkipCell(f"an SX graph has a node per scalar: {elements} point elements, past {MAX_ELEMENTS}")
    start = time.perf_counter()
    key = _key(problem, dtype, ops)
    along = (problem.operator, mode, tuple(sorted(problem.direction.items())), problem.cotangent)
    args = [np.asarray(problem.point[k], dtype=np.float64) for k in problem.point]
    found = _KEPT.get(key + along)
    if found is not None:
        fn, outputs, setup_s = found
        raw = fn.call(args)
    else:
        fn, outputs = build(problem, mode, ops)
        raw = fn.call(args)
        setup_s = time.perf_counter() - start
        _KEPT.put(key + along, (fn, outputs, setup_s))
    values = {name: _arranged(np.asarray(m.full()), rows, cols) for (name, rows, cols), m in zip(outputs, raw)}
    time_s = median_time(lambda: fn.call(args))

    def time_f() -> float:
        def make():
            symbols = _symbols(problem, casadi.SX)
            f, _ = function_of(problem, ops, symbols)
            return casadi.Function("f", [symbols[k] for k in problem.point], [f])

        function, _ = _FUNCTIONS.keep(key, make)
        function.call(args)
        return median_time(lambda: function.call(args))

    f_time_s = _F_TIMES.get(problem, dtype, time_f)
    return Gradient(values, time_s, setup_s=setup_s, f_time_s=f_time_s, extras={"expr_ops": fn.n_instructions()})
