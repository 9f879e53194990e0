"""An independent check of diffcompare's reference on the published problems.

Reads the problem files itself (PyYAML), evaluates each function in mpmath through its own
small evaluator (NumPy object arrays of mpf, the expression text compiled by Python and
evaluated against a namespace of mpmath functions; nothing of diffcompare is imported), and
differentiates every element of every `wrt` variable numerically at 160 digits:

* one-sided difference quotients at h = 2^-90, 2^-110, 2^-130, 2^-150 on each side (160
  digits), extrapolated to h -> 0 from the ratio of their successive differences, to tell a
  smooth element (both sides agree) from a kink (finite sides that differ) or an undefined
  one (f not finite at the point or on one side, or a side whose quotients grow);
* for a smooth element, the mean of the two extrapolated sides, cross-checked with
  ``mpmath.diff`` at 60 digits.

The point and data are taken at their exact binary (float64) values. Constants of the
expression are Python floats, so constant sub-expressions fold in float64 as diffcompare
folds them (``5.1 / (4 * pi ** 2)`` is one float64 number), and ``pi``, ``e`` are float64.

    python benchmarks/published/check_reference.py [RESULTS_CSV] [--out CSV]

compares the `reference` column of RESULTS_CSV (default /tmp/published/results.csv) with
these values and prints every element that differs by more than 1e-12 relative, or whose
classification (smooth / kink / undefined) differs.
"""

from __future__ import annotations

import argparse
import ast
import math
import sys
from pathlib import Path

import mpmath
import numpy as np
import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
mp = mpmath.mp


class Undefined(Exception):
    pass


def is_const(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def elementwise(mpfn, mathfn=None):
    vec = np.frompyfunc(lambda a: check(mpfn(a)), 1, 1)

    def f(a):
        if is_const(a):
            return float(mathfn(a)) if mathfn else float(mpfn(mpmath.mpf(a)))
        if isinstance(a, np.ndarray):
            return vec(a)
        return check(mpfn(a))

    return f


def check(v):
    if isinstance(v, mpmath.mpc):
        if v.imag != 0:
            raise Undefined("complex value")
        v = v.real
    if isinstance(v, mpmath.mpf) and not mpmath.isfinite(v):
        raise Undefined("non-finite value")
    return v


def sigmoid(a):
    return 1 / (1 + mpmath.exp(-a))


def softplus(a):
    return mpmath.log1p(mpmath.exp(a))


def relu(a):
    return a if a > 0 else a * 0


def safe_log(a):
    if a == 0:
        raise Undefined("log(0)")
    return mpmath.log(a)


def safe_pow(a, b):
    if a == 0 and b < 0:
        raise Undefined("0 ** negative")
    if a < 0 and b != int(b):
        raise Undefined("negative ** fraction")
    return a**b


def _sum(a):
    if isinstance(a, np.ndarray):
        s = mpmath.mpf(0)
        for v in a.ravel():
            s += v
        return s
    return a


def _prod(a):
    if isinstance(a, np.ndarray):
        s = mpmath.mpf(1)
        for v in a.ravel():
            s *= v
        return s
    return a


def _mean(a):
    return _sum(a) / (a.size if isinstance(a, np.ndarray) else 1)


def binary(fn):
    vec = np.frompyfunc(fn, 2, 1)

    def f(a, b):
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return vec(a, b)
        return fn(a, b)

    return f


def _where(c, a, b):
    if isinstance(c, np.ndarray) or isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.where(np.asarray(c, dtype=bool), a, b)
    return a if c else b


NAMESPACE = {
    "pi": math.pi,
    "e": math.e,
    "sin": elementwise(mpmath.sin, math.sin),
    "cos": elementwise(mpmath.cos, math.cos),
    "tan": elementwise(mpmath.tan, math.tan),
    "asin": elementwise(mpmath.asin, math.asin),
    "acos": elementwise(
        lambda a: mpmath.acos(a) if abs(a) <= 1 else (_ for _ in ()).throw(Undefined("acos")), math.acos
    ),
    "atan": elementwise(mpmath.atan, math.atan),
    "sinh": elementwise(mpmath.sinh, math.sinh),
    "cosh": elementwise(mpmath.cosh, math.cosh),
    "tanh": elementwise(mpmath.tanh, math.tanh),
    "exp": elementwise(mpmath.exp, math.exp),
    "expm1": elementwise(mpmath.expm1, math.expm1),
    "log": elementwise(safe_log, math.log),
    "log1p": elementwise(mpmath.log1p, math.log1p),
    "log2": elementwise(lambda a: safe_log(a) / mpmath.log(2), math.log2),
    "log10": elementwise(lambda a: safe_log(a) / mpmath.log(10), math.log10),
    "sqrt": elementwise(lambda a: mpmath.sqrt(a) if a >= 0 else (_ for _ in ()).throw(Undefined("sqrt<0")), math.sqrt),
    "abs": abs,
    "sigmoid": elementwise(sigmoid),
    "relu": elementwise(relu),
    "softplus": elementwise(softplus),
    "erf": elementwise(mpmath.erf, math.erf),
    "asinh": elementwise(mpmath.asinh, math.asinh),
    "acosh": elementwise(mpmath.acosh, math.acosh),
    "atanh": elementwise(mpmath.atanh, math.atanh),
    "min": binary(lambda a, b: a if a <= b else b),
    "max": binary(lambda a, b: a if a >= b else b),
    "clamp": lambda a, lo, hi: binary(lambda u, v: u if u <= v else v)(
        binary(lambda u, v: u if u >= v else v)(a, lo), hi
    ),
    "where": _where,
    "sum": _sum,
    "mean": _mean,
    "prod": _prod,
    "dot": lambda a, b: _sum(a * b),
    "norm": lambda a: mpmath.sqrt(_sum(a * a)),
    "logsumexp": lambda a: mpmath.log(_sum(np.frompyfunc(mpmath.exp, 1, 1)(a))),
}


class PowRewriter(ast.NodeTransformer):
    """a ** b -> _pow(a, b), so that a negative base with a fractional power is 'undefined'
    and 0 ** negative is caught, element by element."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Pow):
            return ast.copy_location(
                ast.Call(func=ast.Name("_pow", ast.Load()), args=[node.left, node.right], keywords=[]), node
            )
        if isinstance(node.op, ast.Div):
            return ast.copy_location(
                ast.Call(func=ast.Name("_div", ast.Load()), args=[node.left, node.right], keywords=[]), node
            )
        return node


def _pow_scalar(a, b):
    if is_const(a) and is_const(b):
        return float(a) ** float(b) if not (isinstance(a, int) and isinstance(b, int)) else a**b
    return check(safe_pow(a, b))


def _div_scalar(a, b):
    if is_const(a) and is_const(b):
        return a / b
    if b == 0:
        raise Undefined("division by 0")
    return check(a / b)


NAMESPACE["_pow"] = binary(_pow_scalar)
NAMESPACE["_div"] = binary(_div_scalar)


def compile_expr(text):
    tree = ast.parse(text, mode="eval")
    tree = ast.fix_missing_locations(PowRewriter().visit(tree))
    return compile(tree, "<expr>", "eval")


def to_mp(v):
    if isinstance(v, list):
        return np.array(np.frompyfunc(lambda w: mpmath.mpf(float(w)), 1, 1)(np.array(v, dtype=float)), dtype=object)
    return mpmath.mpf(float(v))


class Problem:
    def __init__(self, doc, path):
        self.name = doc["name"]
        self.path = path
        self.lets = [(k, compile_expr(str(v))) for k, v in (doc.get("let") or {}).items()]
        self.fn = compile_expr(str(doc["function"]))
        self.point = {k: to_mp(v) for k, v in doc["point"].items()}
        self.wrt = doc.get("wrt") or list(doc["point"])

    def f(self, point):
        ns = dict(NAMESPACE)
        ns.update(point)
        with np.errstate(all="ignore"):
            for k, code in self.lets:
                ns[k] = eval(code, {"__builtins__": {}}, ns)  # our own files only
            v = eval(self.fn, {"__builtins__": {}}, ns)
        if isinstance(v, np.ndarray):
            v = v.reshape(()).item() if v.size == 1 else v
        return check(mpmath.mpf(v) if is_const(v) else v)

    def g(self, var, flat):
        base = self.point[var]

        def g(t):
            p = dict(self.point)
            if isinstance(base, np.ndarray):
                a = base.copy()
                a.ravel()[flat] = t  # a copy of an object array is contiguous: ravel is a view
                p[var] = a
            else:
                p[var] = t
            try:
                return self.f(p)
            except (Undefined, ZeroDivisionError, ValueError, OverflowError):
                return None

        x0 = base.ravel()[flat] if isinstance(base, np.ndarray) else base
        return g, x0

    def elements(self):
        for var in self.wrt:
            base = self.point[var]
            if isinstance(base, np.ndarray):
                for flat in range(base.size):
                    idx = np.unravel_index(flat, base.shape)
                    yield var, flat, ",".join(str(i) for i in idx)
            else:
                yield var, 0, ""


def side_limit(g, x0, f0, s, steps):
    """The one-sided derivative on side s (+1 right, -1 left): difference quotients at
    h = 2^-90, 2^-110, 2^-130, 2^-150, their limit extrapolated from the ratio q of successive
    differences (q = 2^-20p for quotients r(h) = D + c h^p), and its error estimate. None as
    the limit where f does not exist on that side; 'diverges' where the quotients grow or
    do not settle."""
    r = []
    for k in steps:
        h = mpmath.ldexp(1, -k)
        v = g(x0 + s * h)
        if v is None:
            return None, None
        r.append((v - f0) / (s * h))
    d2, d3 = r[2] - r[1], r[3] - r[2]
    if d3 == 0 or abs(d3) <= mpmath.mpf(10) ** -25 * abs(r[3]):
        return r[3], abs(d3)
    if d2 == 0:
        return "diverges", r
    q = d3 / d2
    if abs(q) > 0.5:
        return "diverges", r
    tail = d3 * q / (1 - q)
    return r[3] + tail, abs(tail) + abs(d3 * q)


PASSES = ((160, (90, 110, 130, 150)), (480, (200, 250, 300, 350)))


def classify(g, x0):
    """(kind, value, error, left, right, note): kind is smooth, kink or undefined. A first
    pass at 160 digits; anything but a smooth element is done again at 480 digits with
    steps down to 2^-350 (a kink whose linear regime starts below 1e-43, a derivative far
    below the rounding of f at 160 digits)."""
    out = classify_at(g, x0, *PASSES[0])
    if out[0] != "smooth":
        out = classify_at(g, x0, *PASSES[1])
    return out


def classify_at(g, x0, dps, steps):
    with mp.workdps(dps):
        f0 = g(x0)
        if f0 is None:
            return "undefined", None, None, None, None, "f is not finite at the point"
        right, er = side_limit(g, x0, f0, +1, steps)
        left, el = side_limit(g, x0, f0, -1, steps)
        if right is None or left is None:
            return "undefined", None, None, None, None, "f does not exist on one side"
        if isinstance(right, str) or isinstance(left, str):
            shown = [v if not isinstance(v, str) else (el if v is left else er)[-1] for v in (left, right)]
            return (
                "undefined",
                None,
                None,
                shown[0],
                shown[1],
                "a one-sided derivative does not exist (quotients grow or do not settle)",
            )
        if abs(right - left) > 1e-15 * max(abs(right), abs(left)) + 10 * (er + el) + mpmath.mpf(10) ** -60:
            return "kink", None, None, left, right, ""
        value = (left + right) / 2
        error = er + el + abs(right - left)
    note = ""
    try:
        with mp.workdps(60):
            d = mpmath.diff(lambda t: g(t) if g(t) is not None else mpmath.nan, x0)
        if not mpmath.isfinite(d) or abs(d - value) > 1e-25 * max(abs(value), 1e-300) + mpmath.mpf(10) ** -50:
            note = f"mpmath.diff gives {mpmath.nstr(d, 20)}"
    except Exception as exc:  # noqa: BLE001
        note = f"mpmath.diff failed: {exc}"
    return "smooth", value, error, left, right, note


def load(root):
    probs = []
    for path in sorted(Path(root).rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                probs.append(Problem(doc, path))
    return probs


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="?", default="/tmp/published/results.csv")
    ap.add_argument("--root", default=str(HERE))
    ap.add_argument("--out", default="/tmp/published/independent.csv")
    ap.add_argument("--only", default=None, help="substring of problem names")
    args = ap.parse_args(argv)
    rows = []
    for p in load(args.root):
        if args.only and args.only not in p.name:
            continue
        for var, flat, label in p.elements():
            g, x0 = p.g(var, flat)
            kind, val, err, left, right, note = classify(g, x0)
            rows.append(
                dict(
                    problem=p.name,
                    variable=var,
                    index=label,
                    kind=kind,
                    mine=float(val) if val is not None else math.nan,
                    error=float(err) if err is not None else math.nan,
                    mine_text=mpmath.nstr(val, 30) if val is not None else "",
                    left=mpmath.nstr(left, 20) if left is not None else "",
                    right=mpmath.nstr(right, 20) if right is not None else "",
                    note=note,
                )
            )
    mine = pd.DataFrame(rows)
    mine.to_csv(args.out, index=False)
    res = pd.read_csv(args.results, dtype={"index": str})
    res["index"] = res["index"].fillna("")
    res = res[res.verdict != "skipped"]
    ref = (
        res.groupby(["problem", "variable", "index"])
        .agg(
            reference=("reference", lambda s: s.dropna().iloc[0] if s.notna().any() else math.nan),
            nref=("reference", lambda s: s.dropna().nunique()),
            verdicts=("verdict", lambda s: ",".join(sorted(set(s)))),
            kind=("reference_kind", "first"),
        )
        .reset_index()
    )
    if args.only:
        ref = ref[ref.problem.isin(set(mine.problem))]
    both = mine.merge(ref, on=["problem", "variable", "index"], how="outer", indicator="merge")
    problems, tiny = [], []
    for r in both.itertuples():
        why = None
        if r.merge != "both":
            why = f"only in {'results' if r.merge == 'right_only' else 'the independent check'}"
        elif r.nref > 1:
            why = "several references for one element"
        elif r.kind_x == "smooth":
            if math.isnan(r.reference):
                why = f"framework gives no reference ({r.verdicts}); f is differentiable here"
            else:
                d = abs(r.reference - r.mine)
                if d <= 10 * r.error or d <= 1e-12 * abs(r.mine):
                    pass
                elif r.reference == 0 and abs(r.mine) < 4.9e-324:
                    tiny.append((r.problem, r.variable, r.index, r.mine_text))
                else:
                    why = f"relative difference {d / abs(r.mine) if r.mine else d:.3g}"
        else:
            if not math.isnan(r.reference):
                why = f"framework reference {r.reference!r} but f is {r.kind_x} here"
        if why:
            problems.append(
                (
                    r.problem,
                    r.variable,
                    r.index,
                    r.kind_x,
                    r.mine,
                    r.reference,
                    r.verdicts,
                    r.left,
                    r.right,
                    why,
                    r.note,
                )
            )
    print(
        f"{len(mine)} elements checked; {int((mine.kind == 'smooth').sum())} smooth, "
        f"{int((mine.kind == 'kink').sum())} kink, {int((mine.kind == 'undefined').sum())} undefined"
    )
    print(f"{len(problems)} mismatches")
    for p in problems:
        print(" | ".join(str(v) for v in p))
    if tiny:
        print(f"\n{len(tiny)} elements whose derivative is below float64's smallest number, reference 0:")
        for t in tiny:
            print(" | ".join(str(v) for v in t))
    notes = mine[(mine.note != "") & (mine.kind == "smooth")]
    if len(notes):
        print(f"\n{len(notes)} elements where mpmath.diff disagrees with the one-sided/central quotients:")
        print(notes[["problem", "variable", "index", "mine_text", "note"]].to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
