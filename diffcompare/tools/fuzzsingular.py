"""Singular problems for the fuzzer: f = E + a·S (sometimes G(E + a·S)) with S set on a kink or
singular point whose verdict is known. The templates and their kinds are described in
diffcompare.tools.fuzzgen; each one moves the point onto its singular point, then builds S
from the moved point's variables, unchecked (it breaks the ordinary guarantees on purpose).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diffcompare.lang.ir import element_label
from diffcompare.lang.primitives import PRIMITIVES
from diffcompare.tools.fuzzexpr import Expr, constant, index_step, make
from diffcompare.tools.fuzzgen import (
    COEFFICIENTS,
    KINK_AT,
    SINGULAR_SHARE,
    WRAPPERS,
    Drawer,
    Generated,
    draw_point,
    known_hang,
    leaves_of,
    loop_gather,
    loop_written,
    ordinary_problem,
    well_conditioned,
)


@dataclass
class Term:
    singular: Expr
    kind: str
    elements: tuple[str, ...]
    twin: Expr | None = None


Element = tuple[str, tuple]  # (variable, index)


def _pick(rng, items):
    return items[int(rng.integers(len(items)))]


def _element(rng, point, wrt, avoid: tuple = ()) -> Element | None:
    choices = [v for v in wrt if any((v, i) not in avoid for i in np.ndindex(point[v].shape))]
    if not choices:
        return None
    var = _pick(rng, choices)
    indexes = [i for i in np.ndindex(point[var].shape) if (var, i) not in avoid]
    return var, tuple(int(k) for k in _pick(rng, indexes))


def _expr(leaves: dict[str, Expr], element: Element) -> Expr:
    var, index = element
    if not index:
        return leaves[var]
    return index_step(leaves[var], index, "[" + ", ".join(map(str, index)) + "]")


def _label(element: Element) -> str:
    return element_label(*element)


def _set(point, element: Element, value: float) -> None:
    point[element[0]][element[1]] = value


def _op(name: str, *args) -> Expr:
    return make(name, args, check=False)


def _offset(rng, point, wrt) -> tuple[Element, str, Expr, dict[str, Expr]] | None:
    """An element put exactly on c: (element, c, element - c, the leaves at the moved point)."""
    element = _element(rng, point, wrt)
    if element is None:
        return None
    c = _pick(rng, KINK_AT)
    _set(point, element, float(c))
    leaves = leaves_of(point, wrt)
    e = _expr(leaves, element)
    return element, c, _op("sub", e, constant(c)), leaves


# --- kinks: the sides of f differ --------------------------------------------------------


def kink_abs(rng, point, wrt):
    element, _, u, _ = _offset(rng, point, wrt)
    return Term(_op(_pick(rng, ["abs", "relu"]), u), "kink", (_label(element),))


def kink_bound(rng, point, wrt):
    """max(x, c), min(c, x), clamp(x, c, hi), clamp(x, lo, c) with x exactly c."""
    element, c, u, leaves = _offset(rng, point, wrt)
    e, r = _expr(leaves, element), rng.random()
    if r < 0.5:
        args = (e, constant(c)) if rng.random() < 0.5 else (constant(c), e)
        return Term(_op(_pick(rng, ["max", "min"]), *args), "kink", (_label(element),))
    if r < 0.75:
        hi = _pick(rng, [t for t in ("0.7", "1.7", "2.5", "3") if float(t) > float(c)])
        return Term(_op("clamp", e, constant(c), constant(hi)), "kink", (_label(element),))
    lo = _pick(rng, [t for t in ("-2", "-1.5", "-0.3", "3e-3") if float(t) < float(c)])
    return Term(_op("clamp", e, constant(lo), constant(c)), "kink", (_label(element),))


def kink_tie(rng, point, wrt):
    """max(x, y) or min(x, y) of two elements that are equal: a kink in both."""
    first = _element(rng, point, wrt)
    second = _element(rng, point, wrt, avoid=(first,))
    if second is None:
        return None
    _set(point, second, float(point[first[0]][first[1]]))
    leaves = leaves_of(point, wrt)
    singular = _op(_pick(rng, ["max", "min"]), _expr(leaves, first), _expr(leaves, second))
    return Term(singular, "kink", (_label(first), _label(second)))


def kink_extreme(rng, point, wrt):
    """max(x) or min(x) of one array (or of one row or column, along axis=) whose extreme is
    tied between two elements: a kink in both (a tie below the extreme is none)."""
    arrays = [v for v in wrt if point[v].size >= 2]
    if not arrays:
        return None
    var = _pick(rng, arrays)
    values = point[var]
    name = _pick(rng, ["amax", "amin"])
    largest = name == "amax"
    axis = None
    if values.ndim == 2 and rng.random() < 0.5 and values.shape[1] >= 2:
        axis = 1  # along rows: the tie in one row
    if axis is None:
        first, second = (tuple(int(k) for k in i) for i in rng.choice(list(np.ndindex(values.shape)), 2, replace=False))
        fiber = values
    else:
        row = int(rng.integers(values.shape[0]))
        a, b = rng.choice(values.shape[1], 2, replace=False)
        first, second = (row, int(a)), (row, int(b))
        fiber = values[row]
    extreme = np.max(fiber) + 0.5 if largest else np.min(fiber) - 0.5
    values[first] = values[second] = np.round(extreme, 3)
    x = leaves_of(point, wrt)[var]
    if axis is None:
        singular = _op(name, x)
    else:
        written = _pick(rng, [", axis=1", ", axis=-1"])
        singular = make("sum", [make(name, [x], check=False, params={"axis": (1,)}, written=written)], check=False)
    return Term(singular, "kink", (element_label(var, first), element_label(var, second)))


def kink_loop_extreme(rng, point, wrt):
    """max(x0[i] for i in range(3)), min(x0[i + 1] for i in range(1, 4)): an index loop over a
    vector whose extreme among the gathered elements is tied between two of them: a kink in
    both (elements the loop does not gather are ordinary)."""
    vectors = [v for v in wrt if point[v].ndim == 1 and point[v].size >= 2]
    if not vectors:
        return None
    var = _pick(rng, vectors)
    values = point[var]
    length = values.size
    n = int(rng.integers(2, min(length, 6) + 1))
    start = int(rng.integers(0, length - n + 1)) if rng.random() < 0.4 else 0
    loop = _pick(rng, ["i", "i", "j"])
    gather = loop_gather(rng, leaves_of(point, wrt)[var], loop, start, start + n)
    if gather is None:
        return None
    (positions,) = gather.index
    first, second = (int(k) for k in rng.choice(positions, 2, replace=False))
    name = _pick(rng, ["amax", "amin"])
    gathered = values[positions]
    extreme = np.max(gathered) + 0.5 if name == "amax" else np.min(gathered) - 0.5
    values[first] = values[second] = np.round(extreme, 3)
    x = leaves_of(point, wrt)[var]
    gather = index_step(x, gather.index, gather.name, loop=loop)
    singular = make(name, [gather], check=False, written=loop_written(rng, loop, start, start + n, length))
    return Term(singular, "kink", (element_label(var, (first,)), element_label(var, (second,))))


def kink_where(rng, point, wrt):
    """where(x > c, a1 * (x - c), a2 * (x - c)) at x = c: continuous, sides a2 and a1."""
    element, c, u, leaves = _offset(rng, point, wrt)
    a1, a2 = rng.choice(COEFFICIENTS, size=2, replace=False)
    condition = _op(_pick(rng, ["gt", "ge", "lt", "le"]), _expr(leaves, element), constant(c))
    singular = _op("where", condition, _op("mul", constant(a1), u), _op("mul", constant(a2), u))
    return Term(singular, "kink", (_label(element),))


def kink_in_array(rng, point, wrt):
    """sum(abs(x - c)), sum(relu(x - c)), sum(max(x, c)) with one element of the array x on c."""
    arrays = [v for v in wrt if point[v].ndim]
    if not arrays:
        return None
    var = _pick(rng, arrays)
    c = _pick(rng, KINK_AT)
    values = point[var]
    near = np.abs(values - float(c)) < 0.05  # the other elements well away from c
    values[near] = np.round(values[near] + 0.5, 3)
    index = tuple(int(k) for k in _pick(rng, list(np.ndindex(values.shape))))
    values[index] = float(c)
    x = leaves_of(point, wrt)[var]
    kind = _pick(rng, ["abs", "relu", "max"])
    inner = _op("max", x, constant(c)) if kind == "max" else _op(kind, _op("sub", x, constant(c)))
    return Term(_op("sum", inner), "kink", (element_label(var, index),))


def kink_steep(rng, point, wrt):
    """log1p(C·|x - c|) or (1 + C·|x - c|) ** p at x = c, C from 1e6 to 1e60: a kink whose sides
    (±C, ±pC) are finite but whose linear regime is |x - c| ≪ 1/C, far below any fixed step."""
    element, _, u, _ = _offset(rng, point, wrt)
    scale = constant(_pick(rng, ["1e6", "3.7e12", "1e24", "4.4e42", "1e60"]))
    stretched = _op("mul", scale, _op("abs", u))
    if rng.random() < 0.5:
        singular = _op("log1p", stretched)
    else:
        singular = _op("pow", _op("add", constant("1"), stretched), constant(_pick(rng, ["-0.1", "0.5", "1.5"])))
    return Term(singular, "kink", (_label(element),))


# --- undefined: f or its derivative is not finite ------------------------------------------


def undefined_root(rng, point, wrt):
    """sqrt(abs(x - c)), sqrt(x - c), abs(x - c) ** 0.3 at x = c: f finite, ∂f infinite."""
    element, _, u, _ = _offset(rng, point, wrt)
    r = rng.random()
    if r < 0.4:
        singular = _op("sqrt", _op("abs", u))
    elif r < 0.7:
        singular = _op("sqrt", u)
    else:
        singular = _op("pow", _op("abs", u), constant(_pick(rng, ["0.3", "0.5", "0.7"])))
    return Term(singular, "undefined", (_label(element),))


def undefined_function(rng, point, wrt):
    """log(abs(x - c)) or 1 / (x - c) at x = c: f itself is not finite, so neither is any element."""
    _, _, u, _ = _offset(rng, point, wrt)
    singular = _op("log", _op("abs", u)) if rng.random() < 0.5 else _op("div", constant("1"), u)
    return Term(singular, "undefined", ("*",))


def undefined_jump(rng, point, wrt):
    """floor(x - c), ceil(x - c), sign(x - c), round(x - c + 0.5), trunc(x - c + 1), (x - c) % b at
    x = c: f jumps there (not continuous in that element), so its derivative there is undefined."""
    element, _, u, _ = _offset(rng, point, wrt)
    name = _pick(rng, ["floor", "ceil", "sign", "round", "trunc", "mod"])
    if name == "round":  # half to even: its jumps are at the half-integers
        singular = _op("round", _op("add", u, constant("0.5")))
    elif name == "trunc":  # continuous at 0 (0 on either side): its jump at 1
        singular = _op("trunc", _op("add", u, constant("1")))
    elif name == "mod":
        singular = _op("mod", u, constant(_pick(rng, ["0.5", "2", "0.25", "1.5"])))
    else:
        singular = _op(name, u)
    return Term(singular, "undefined", (_label(element),))


def undefined_cut(rng, point, wrt):
    """atan2(y - c, x) with y = c and x < 0 (an element, or a constant): on atan2's cut, where it
    jumps from π to -π in y. In x, f is atan2(0, x) = π there, locally constant: x's element is
    ordinary (the chain rule's -y / (x² + y²) = 0 is f's derivative)."""
    element, _, u, leaves = _offset(rng, point, wrt)
    other = _element(rng, point, wrt, avoid=(element,)) if rng.random() < 0.6 else None
    if other is None:
        return Term(
            _op("atan2", u, constant(_pick(rng, ["-0.7", "-1.3", "-2", "-0.01"]))), "undefined", (_label(element),)
        )
    _set(point, other, -float(_pick(rng, ["0.7", "1.3", "2", "0.5"])))
    leaves = leaves_of(point, wrt)
    e = _expr(leaves, element)
    return Term(_op("atan2", _op("sub", e, u.args[1]), _expr(leaves, other)), "undefined", (_label(element),))


# --- traps: f is differentiable, the chain rule as written is not ------------------------------


def trap_radius(rng, point, wrt):
    """cos(sqrt(sum(x ** 2))), cos(norm(x)), norm(x) ** 3 with the whole of x at 0."""
    var = _pick(rng, wrt)
    point[var][...] = 0.0
    x = leaves_of(point, wrt)[var]
    if x.shape:
        radius = _op("sqrt", _op("sum", _op("pow", x, constant("2")))) if rng.random() < 0.5 else _op("norm", x)
    else:
        radius = _op("sqrt", _op("pow", x, constant("2")))
    if rng.random() < 0.5:
        return Term(_op("cos", radius), "trap", (var,), constant("1"))
    return Term(_op("pow", radius, constant(_pick(rng, ["2", "3", "2.5"]))), "trap", (var,), constant("0"))


def trap_hypot(rng, point, wrt):
    """sqrt(x ** 2 + y ** 2) ** 3 at x = y = 0 (sqrt(x ** 4) where there is one element only)."""
    first = _element(rng, point, wrt)
    second = _element(rng, point, wrt, avoid=(first,))
    _set(point, first, 0.0)
    if second is None:
        leaves = leaves_of(point, wrt)
        singular = _op("sqrt", _op("pow", _expr(leaves, first), constant("4")))
        return Term(singular, "trap", (_label(first),), constant("0"))
    _set(point, second, 0.0)
    leaves = leaves_of(point, wrt)
    square = [_op("pow", _expr(leaves, e), constant("2")) for e in (first, second)]
    singular = _op("pow", _op("sqrt", _op("add", *square)), constant("3"))
    return Term(singular, "trap", (_label(first), _label(second)), constant("0"))


def trap_odd(rng, point, wrt):
    """relu(x - c) - relu(c - x) at x = c: it is x - c, but relu' is 0 at 0 in every library."""
    element, c, u, leaves = _offset(rng, point, wrt)
    e = _expr(leaves, element)
    singular = _op("sub", _op("relu", u), _op("relu", _op("sub", constant(c), e)))
    return Term(singular, "trap", (_label(element),), _op("sub", e, constant(c)))


def cusp(rng, point, wrt):
    """(x - c) * sqrt(abs(x - c)) at x = c: |u|^1.5 sign(u), differentiable once (0·∞ in the chain rule)."""
    element, _, u, _ = _offset(rng, point, wrt)
    return Term(_op("mul", u, _op("sqrt", _op("abs", u))), "cusp", (_label(element),), constant("0"))


def trap_where(rng, point, wrt):
    """where(x > c, a * x, sqrt(c - x)) at x > c: the untaken branch and its local derivative are not finite."""
    element = _element(rng, point, wrt)
    c = _pick(rng, KINK_AT)
    _set(point, element, float(c) + float(_pick(rng, ["0.5", "0.9", "1.3"])))
    leaves = leaves_of(point, wrt)
    e = _expr(leaves, element)
    a = constant(_pick(rng, COEFFICIENTS))
    # sqrt's and ** 1.5's local derivatives are NaN at a negative number (log's, 1/u, is not)
    inside = _op("sub", constant(c), e)
    bad = _op("sqrt", inside) if rng.random() < 0.6 else _op("pow", inside, constant("1.5"))
    taken = _op("mul", a, e)
    if rng.random() < 0.5:
        singular = _op("where", _op("gt", e, constant(c)), taken, bad)
    else:
        singular = _op("where", _op("le", e, constant(c)), bad, taken)
    return Term(singular, "trap", (_label(element),), _op("mul", a, e))


# --- smooth: a kink whose sides agree -------------------------------------------------------


def smooth_square(rng, point, wrt):
    """relu(x - c) ** 2, abs(x - c) ** 3 at x = c: differentiable, derivative 0."""
    element, _, u, _ = _offset(rng, point, wrt)
    singular = (
        _op("pow", _op("relu", u), constant("2")) if rng.random() < 0.5 else _op("pow", _op("abs", u), constant("3"))
    )
    return Term(singular, "smooth", (_label(element),), constant("0"))


def smooth_abs(rng, point, wrt):
    """abs((x - c) ** 2), abs((x - c) ** 3) at x = c: a kink step whose argument does not move to
    first order, so f is differentiable with derivative 0 (its message must not name a kink)."""
    element, _, u, _ = _offset(rng, point, wrt)
    singular = _op("abs", _op("pow", u, constant(_pick(rng, ["2", "3"]))))
    return Term(singular, "smooth", (_label(element),), constant("0"))


# --- near: off the kink by a few ulps to 1e-9 ------------------------------------------------


def near_kink(rng, point, wrt):
    element = _element(rng, point, wrt)
    c = _pick(rng, KINK_AT)
    where = float(c) * (1 + float(rng.choice([-1, 1])) * float(rng.choice([1e-9, 1e-12, 1e-15])))
    if where == float(c):
        where = float(np.nextafter(float(c), np.inf))
    _set(point, element, where)  # x - c is exact (Sterbenz): no rounding explains a lost digit
    leaves = leaves_of(point, wrt)
    e = _expr(leaves, element)
    u = _op("sub", e, constant(c))
    r = rng.random()
    if r < 0.3:
        singular = _op("abs", u)
    elif r < 0.55:
        singular = _op("relu", u)
    elif r < 0.8:
        singular = _op(_pick(rng, ["max", "min"]), e, constant(c))
    else:
        singular = _op(
            "where", _op("gt", e, constant(c)), _op("mul", constant("1.7"), u), _op("mul", constant("0.3"), u)
        )
    return Term(singular, "near", (_label(element),))


# name -> (template, weight among singular problems)
TEMPLATES = {
    "kink-abs": (kink_abs, 0.12),
    "kink-bound": (kink_bound, 0.07),
    "kink-tie": (kink_tie, 0.05),
    "kink-extreme": (kink_extreme, 0.05),
    "kink-loop-extreme": (kink_loop_extreme, 0.04),
    "kink-where": (kink_where, 0.05),
    "kink-array": (kink_in_array, 0.07),
    "kink-steep": (kink_steep, 0.06),
    "undefined-root": (undefined_root, 0.10),
    "undefined-function": (undefined_function, 0.04),
    "undefined-jump": (undefined_jump, 0.06),
    "undefined-cut": (undefined_cut, 0.03),
    "trap-radius": (trap_radius, 0.09),
    "trap-hypot": (trap_hypot, 0.04),
    "trap-odd": (trap_odd, 0.04),
    "cusp": (cusp, 0.06),
    "trap-where": (trap_where, 0.06),
    "smooth": (smooth_square, 0.09),
    "smooth-abs": (smooth_abs, 0.04),
    "near": (near_kink, 0.16),
}
_NAMES = list(TEMPLATES)
_WEIGHTS = np.array([w for _, w in TEMPLATES.values()]) / sum(w for _, w in TEMPLATES.values())


def _wrap(rng, body: Expr) -> Expr:
    """G(body) for a smooth G whose derivative there is not small (the sides stay apart)."""
    name = _pick(rng, WRAPPERS)
    if known_hang(name, body):
        return body
    wrapped = make(name, [body], check=False)
    with np.errstate(all="ignore"):
        slope = PRIMITIVES[name].vjps[0](np.float64(1.0), wrapped.value, body.value)
    ok = np.isfinite(wrapped.value) and abs(wrapped.value) < 1e6 and np.isfinite(slope) and abs(slope) >= 0.05
    return wrapped if ok else body


def singular_problem(rng: np.random.Generator, index: int, dtypes: list[str]) -> Generated:
    while True:
        point, wrt = draw_point(rng, scalars_only=rng.random() < 0.3)
        name = _NAMES[int(rng.choice(len(_NAMES), p=_WEIGHTS))]
        term = TEMPLATES[name][0](rng, point, wrt)
        if term is None:
            continue
        term.singular.frozen = True
        inner = None
        for _ in range(5 if rng.random() < 0.8 else 0):
            drawn = Drawer(rng, list(leaves_of(point, wrt).values())).draw((), int(rng.integers(1, 4)))
            if drawn is None or not drawn.args:
                continue
            document = Generated(index, drawn, point, wrt, dtypes).document()
            if document is not None and well_conditioned(document):
                inner = drawn
                break
        scaled = make("mul", [constant(_pick(rng, COEFFICIENTS)), term.singular], check=False)
        body = scaled if inner is None else make("add", [inner, scaled], check=False)
        if "*" not in term.elements and rng.random() < 0.25:
            body = _wrap(rng, body)
        generated = Generated(
            index, body, point, wrt, dtypes, name, term.kind, term.elements, term.singular, term.twin, inner
        )
        document = generated.document()
        if document is None:
            continue
        if term.kind == "near" and not well_conditioned(document):
            continue
        return generated


def random_problem(rng: np.random.Generator, index: int, dtypes) -> Generated:
    """An ordinary problem, or (SINGULAR_SHARE of them) one on a kink or singular point."""
    if rng.random() < SINGULAR_SHARE:
        return singular_problem(rng, index, list(dtypes))
    return ordinary_problem(rng, index, list(dtypes))
