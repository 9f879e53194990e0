"""Expression swell and setup cost: SymPy, SymEngine and CasADi side by side, on the logistic
map l₍ₙ₊₁₎ = 4lₙ(1 - lₙ), l₁ = x, at depth 1 … 14, and on the sweep families of
benchmarks/scaling/ at the sizes SymPy is given.

Baydin et al. (2018, JMLR 18(153), "Automatic differentiation in machine learning: a survey",
Table 1) use the logistic map to show how symbolic derivatives swell. For each depth n (each
member of a family) this prints, from diffcompare's own rows (float64):

- the derivative's size: expr_ops, its operation count as differentiated (every repeat
  counted), and expr_ops_cse, after common-subexpression elimination, for the `sympy` and
  `symengine` backends (both counted by SymPy's count_ops rules); for `casadi`, expr_ops is
  the n_instructions() of the gradient's casadi.Function (reverse and forward mode): the
  instructions one evaluation executes, each shared subexpression once, inputs, constants and
  outputs included, so it is the figure to set beside the others' size after CSE;
- the build: each backend's setup_s (sympy: differentiate, eliminate, compile to float64
  NumPy steps, first call; symengine: differentiate, Lambdify with its CSE and LLVM, first call;
  casadi: the SX graph from the IR, its AD, the casadi.Function);
- the evaluation: time_s of one gradient (median of warm calls), beside jax's and the
  chain-rule engine's.

A backend that is not installed gives columns of "—" and a line saying why; a skipped cell
shows "skip", its reason below the table. SymPy is not given a function whose tree has more
than diffcompare.exact.symbolic.MAX_TREE_OPS operations (20,000: the logistic map at n ≥ 13);
this script lifts that limit for its own run (--keep-sympy-limit keeps it), so that SymPy has
a row at every depth. For n ≤ 4 it prints SymPy's expanded derivative beside the simplified
form of Baydin et al.'s table.

Past SymPy's limit, CasADi's SX rows and MX are set side by side on mlp (k = 16 … 181) and
Rosenbrock (n = 10³ … 10⁵), up to --casadi-elements point elements (0: not), with jax's and the
chain-rule engine's times.

    python benchmarks/swell.py [--depth 14] [--no-families] [--max-elements 200] [--casadi-elements 100000]
"""

from __future__ import annotations

import argparse
import math
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import sympy

from diffcompare.backends.registry import Unavailable, load
from diffcompare.running.runner import run_problems
from diffcompare.spec.problem import build_problems
from diffcompare.spec.safeyaml import documents

ROOT = Path(__file__).resolve().parent.parent
SCALING = ROOT / "benchmarks" / "scaling"
SYMBOLIC = ("sympy", "symengine", "casadi")
TIMED = ("jax", "chainrule")
BACKENDS = SYMBOLIC + TIMED
# A family's parameter values, about √2 apart; those whose members hold at most --max-elements
# point elements are run.
FAMILY_VALUES = (1, 2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 91, 128, 181, 256, 362, 512, 724, 1024)

# Baydin et al. 2018, Table 1, last column: d lₙ/dx in simplified form, as
# factor · (c₀ + c₁x + c₂x² + …): 1; 4 - 8x; 16(1 - 10x + 24x² - 16x³); 64(1 - 42x + …).
BAYDIN_SIMPLIFIED = {
    1: (1, [1]),
    2: (4, [1, -2]),
    3: (16, [1, -10, 24, -16]),
    4: (64, [1, -42, 504, -2640, 7040, -9984, 7168, -2048]),
}

MX = "casadi MX"  # not a backend: the casadi backend's reverse gradient built on MX here (mx_cells)
# (heading, backend, mode, column): the size table, then the time table.
SIZE_COLUMNS = [
    ("sympy expr_ops", "sympy", None, "expr_ops"),
    ("sympy expr_ops_cse", "sympy", None, "expr_ops_cse"),
    ("symengine expr_ops", "symengine", None, "expr_ops"),
    ("symengine expr_ops_cse", "symengine", None, "expr_ops_cse"),
    ("casadi instructions (reverse)", "casadi", "reverse", "expr_ops"),
    ("casadi instructions (forward)", "casadi", "forward", "expr_ops"),
    ("casadi MX instructions (reverse)", MX, "reverse", "expr_ops"),
]
TIME_COLUMNS = [
    ("sympy setup_s", "sympy", None, "setup_s"),
    ("symengine setup_s", "symengine", None, "setup_s"),
    ("casadi setup_s (reverse)", "casadi", "reverse", "setup_s"),
    ("sympy time_s", "sympy", None, "time_s"),
    ("symengine time_s", "symengine", None, "time_s"),
    ("casadi time_s (reverse)", "casadi", "reverse", "time_s"),
    ("casadi time_s (forward)", "casadi", "forward", "time_s"),
    ("casadi MX setup_s (reverse)", MX, "reverse", "setup_s"),
    ("casadi MX time_s (reverse)", MX, "reverse", "time_s"),
    ("jax time_s", "jax", None, "time_s"),
    ("chainrule time_s", "chainrule", None, "time_s"),
]


def logistic_map(depth: int) -> dict:
    """The logistic map at depth n as a problem's let steps and function (l₁ = x)."""
    let = {}
    for k in range(1, depth):
        previous = "x" if k == 1 else f"l{k}"
        let[f"l{k + 1}"] = f"4 * {previous} * (1 - {previous})"
    return {"let": let, "function": "x" if depth == 1 else f"l{depth}"}


def logistic_document(depth: int, x: float = 0.3) -> dict:
    """The depth's problem as benchmarks/scaling/logistic_map.yaml writes it: a one-value sweep
    of n, so that it is named logistic-map[n=depth] as a sweep member is."""
    document = {"name": "logistic-map", **logistic_map(depth), "point": {"x": x}, "dtypes": ["float64"]}
    return {**document, "sweep": {"n": [depth]}}


def available(names) -> tuple[list[str], dict[str, str]]:
    """The backends that load, and why each other one does not."""
    loaded = {n: load(n) for n in names}
    missing = {n: b.reason for n, b in loaded.items() if isinstance(b, Unavailable)}
    return [n for n in names if n not in missing], missing


@contextmanager
def sympy_limit_lifted(lifted: bool = True):
    """SymPy is given f however large its tree (the logistic map at n = 14: 10⁶ operations in its
    derivative), within the block; the limit as it was after it."""
    from diffcompare.exact import symbolic

    before = symbolic.MAX_TREE_OPS
    symbolic.MAX_TREE_OPS = 10**9 if lifted else before
    try:
        yield
    finally:
        symbolic.MAX_TREE_OPS = before


def cells(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per problem × backend × mode (float64): its first element's row."""
    frame = frame[frame["backend"].astype(str) != ""]
    frame = frame[frame["dtype"].astype(str) == "float64"]
    out = frame.assign(
        problem=frame["problem"].astype(str), backend=frame["backend"].astype(str), mode=frame["mode"].astype(str)
    )
    return out.drop_duplicates(["problem", "backend", "mode"])


def _cell(found: pd.DataFrame, problem: str, backend: str, mode: str | None):
    rows = found[(found["problem"] == problem) & (found["backend"] == backend)]
    if mode is not None:
        rows = rows[rows["mode"].isin([mode, ""])]  # "": a skipped cell has no mode
    return rows.iloc[0] if len(rows) else None


def _number(value: float, column: str) -> str:
    if not math.isfinite(value):
        return "—"
    if column in ("expr_ops", "expr_ops_cse"):
        return f"{int(value):,}"
    return f"{value:.3g}"


def table(found: pd.DataFrame, members: list[tuple[str, str]], columns, key: str) -> tuple[list[str], dict]:
    """Markdown lines of one table: a row per member (problem, its key's text), a column per
    (heading, backend, mode, column); and the skipped cells' reasons, by backend."""
    lines = [f"| {key} | " + " | ".join(c[0] for c in columns) + " |", "|---:" * (len(columns) + 1) + "|"]
    skipped: dict[str, str] = {}
    for problem, label in members:
        texts = []
        for _, backend, mode, column in columns:
            row = _cell(found, problem, backend, mode)
            if row is None:
                texts.append("—")
            elif row["verdict"] in ("skipped", "error"):
                texts.append(str(row["verdict"]).replace("skipped", "skip"))
                skipped.setdefault(f"{backend}: {row['message']}", label)
            else:
                texts.append(_number(float(row[column]), column))
        lines.append(f"| {label} | " + " | ".join(texts) + " |")
    return lines, skipped


def growth(found: pd.DataFrame, members: list[tuple[str, str]], columns, sizes: list[float] | None = None) -> list[str]:
    """For each size column, how it grows at the last members. Along a depth (sizes None): the
    ratio and difference of the last two values (exponential growth keeps the ratio, linear the
    difference, quadratic the difference's difference). Along a family: the log-log slope against
    the elements differentiated between the last two members (1: linear, 2: quadratic)."""
    lines = []
    for heading, backend, mode, column in columns:
        values = []
        for i, (problem, label) in enumerate(members):
            row = _cell(found, problem, backend, mode)
            if row is not None and row["verdict"] not in ("skipped", "error") and float(row[column]) > 0:
                values.append((label, float(row[column]), sizes[i] if sizes else math.nan))
        if len(values) < 3:
            continue
        (a, x, _), (b, y, sb), (c, z, sc) = values[-3:]
        if sizes is None:
            lines.append(
                f"- {heading}: ×{z / y:.3g} from {b} to {c} (×{y / x:.3g} the step before); "
                f"+{z - y:,.0f} (+{y - x:,.0f} the step before)"
            )
        elif sc > sb:
            slope = math.log(z / y) / math.log(sc / sb)
            lines.append(f"- {heading}: slope {slope:.2f} from {b} to {c}; {z / sc:.3g} per element at {c}")
    return lines


def print_tables(
    found: pd.DataFrame, members: list[tuple[str, str]], key: str, missing: dict, sizes=None, only=None
) -> None:
    """The size and time tables (only: the backends whose columns to print; None: all)."""
    skipped: dict[str, str] = {}
    size_columns = [c for c in SIZE_COLUMNS if only is None or c[1] in only]
    time_columns = [c for c in TIME_COLUMNS if only is None or c[1] in only]
    for title, columns in (("Size of the derivative", size_columns), ("Build and evaluation, seconds", time_columns)):
        lines, reasons = table(found, members, columns, key)
        skipped.update(reasons)
        print(f"\n{title}:\n")
        print("\n".join(lines))
    print("\nGrowth at the last steps:\n")
    print("\n".join(growth(found, members, size_columns, sizes)))
    for backend, reason in missing.items():
        print(f"\n{backend} not installed: {reason}")
    for text, first in skipped.items():
        print(f"\nskip from {key} = {first}: {text}")


def mx_cells(problems) -> pd.DataFrame:
    """The casadi backend's reverse-mode gradient built on casadi.MX symbols instead of SX
    (casadi_operators.build with kind=MX, the backend's own lowering and table), one row per
    problem as cells() gives them: n_instructions() as expr_ops, build and first call as setup_s,
    the median warm call as time_s, and `value`, the first element of the gradient. MX is no mode
    of the backend (its values are SX's to rounding); where matrices are multiplied, an MX graph
    keeps the product as one node where SX writes out every scalar product."""
    try:
        import casadi

        from diffcompare.backends import casadi_operators
        from diffcompare.backends.casadi_backend import casadi_ops
        from diffcompare.backends.timing import median_time
    except ImportError:
        return pd.DataFrame()
    rows = []
    for problem in problems:
        row = {"problem": problem.name, "backend": MX, "mode": "reverse", "verdict": "", "message": ""}
        args = [np.asarray(problem.point[k], dtype=np.float64) for k in problem.point]
        try:
            start = time.perf_counter()
            fn, _ = casadi_operators.build(problem, "reverse", casadi_ops(), kind=casadi.MX)
            first = fn.call(args)
            setup_s = time.perf_counter() - start
            value = float(np.asarray(first[0].full()).ravel()[0]) if first and first[0].numel() else math.nan
            row.update(expr_ops=fn.n_instructions(), setup_s=setup_s, time_s=median_time(lambda: fn.call(args)))
            row["value"] = value
        except Exception as exc:  # a lowering MX does not take: said in the table
            row.update(verdict="error", message=f"{type(exc).__name__}: {exc}")
        rows.append(row)
    return pd.DataFrame(rows)


def measured(problems, backends: list[str]) -> pd.DataFrame:
    """The problems run through the backends in float64, as cells(); with casadi, its MX rows too."""
    found = cells(run_problems(problems, backends, ["float64"]))
    return pd.concat([found, mx_cells(problems)], ignore_index=True) if "casadi" in backends else found


def logistic_rows(depth: int, backends: list[str]) -> pd.DataFrame:
    problems = []
    for n in range(1, depth + 1):
        built, errors = build_problems(logistic_document(n), "<swell>", "logistic-map")
        assert not errors, errors
        problems += built
    return measured(problems, backends)


def family_rows(path: Path, backends: list[str], max_elements: int, values=FAMILY_VALUES, min_elements: int = 0):
    """A family's members at these values of its parameter whose point holds more than min_elements
    and at most max_elements elements, run."""
    text = path.read_text(encoding="utf-8")
    document = next(d.value for d in documents(text) if d.value is not None)
    (parameter,) = document["sweep"]
    problems, frame = [], pd.DataFrame()
    for value in values:
        built, errors = build_problems({**document, "sweep": {parameter: [value]}}, str(path), path.stem)
        if errors or not min_elements < sum(v.size for v in built[0].point.values()) <= max_elements:
            continue
        problems += built
    if problems:
        frame = measured(problems, backends)
    members = [(p.name, f"{int(p.params[parameter])} ({p.size})") for p in problems]
    return document.get("name", path.stem), parameter, frame, members, [float(p.size) for p in problems]


def baydin_check(simplified_depth: int) -> None:
    print("\nd lₙ/dx expanded by SymPy, beside Baydin et al.'s simplified column:")
    x = sympy.Symbol("x", real=True)
    l_n = x
    for depth in range(1, 5):
        derivative = sympy.expand(sympy.diff(l_n, x))
        factor, coefficients = BAYDIN_SIMPLIFIED[depth]
        theirs = sympy.expand(factor * sum(c * x**k for k, c in enumerate(coefficients)))
        same = "same" if sympy.simplify(derivative - theirs) == 0 else "DIFFERENT"
        print(f"n = {depth}: {derivative}   ({same})")
        l_n = 4 * l_n * (1 - l_n)
    # The simplified column is the expanded polynomial: its size, by SymPy's count, as far as
    # SymPy's polynomial arithmetic takes it quickly (n = 10: 1 s; n = 14: minutes).
    polynomial, counts = sympy.Poly(x, x), []
    for depth in range(1, simplified_depth + 1):
        derivative = polynomial.diff(x)
        counts.append(
            f"{depth}: {sympy.count_ops(derivative.as_expr())} ({len(derivative.terms())} term{'s' * (depth > 1)})"
        )
        polynomial = 4 * polynomial * (1 - polynomial)
    print("\nOperations in the simplified (expanded) derivative, n: count (terms):", ", ".join(counts))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=14)
    parser.add_argument("--no-families", action="store_true", help="the logistic map only")
    parser.add_argument(
        "--max-elements", type=int, default=200, help="a family member's point elements, at most (SymPy's limit: 200)"
    )
    parser.add_argument(
        "--casadi-elements",
        type=int,
        default=100_000,
        help="casadi SX against MX on mlp and rosenbrock up to this many point elements (0: not)",
    )
    parser.add_argument("--simplified-depth", type=int, default=10, help="the expanded derivative's size up to this n")
    parser.add_argument("--keep-sympy-limit", action="store_true", help="SymPy's limit on f's tree as a run has it")
    args = parser.parse_args(argv)
    with sympy_limit_lifted(not args.keep_sympy_limit):
        tabulate(args)
    return 0


def tabulate(args) -> None:
    backends, missing = available(BACKENDS)
    start = time.perf_counter()
    print(f"## The logistic map, depth 1 … {args.depth} (x = 0.3, float64)")
    print(f"backends: {', '.join(backends)}")
    frame = logistic_rows(args.depth, backends)
    members = [(f"logistic-map[n={n}]", str(n)) for n in range(1, args.depth + 1)]
    print_tables(frame, members, "n", missing)
    baydin_check(args.simplified_depth)
    if not args.no_families:
        for path in sorted(SCALING.glob("*.yaml")):
            if path.name == "logistic_map.yaml":
                continue
            name, parameter, frame, members, sizes = family_rows(path, backends, args.max_elements)
            if not members:
                print(f"\n## {name}: no member within {args.max_elements} point elements")
                continue
            values = ", ".join(label.split()[0] for _, label in members)
            print(
                f"\n## {name} ({path.relative_to(ROOT)}): {parameter} = {values}, "
                f"the members whose point holds at most {args.max_elements} elements"
            )
            print_tables(frame, members, f"{parameter} (elements differentiated)", {}, sizes)
    if not args.no_families and args.casadi_elements > args.max_elements and "casadi" in backends:
        print(
            f"\n## CasADi's SX and MX past SymPy's limit: members of more than {args.max_elements} and at most "
            f"{args.casadi_elements} point elements (casadi's rows, MX built here, jax and chainrule beside them)"
        )
        for path in (SCALING / "mlp.yaml", SCALING / "rosenbrock.yaml"):
            values = (16, 32, 64, 100, 181, 316) if path.stem == "mlp" else (1000, 10_000, 100_000)
            only = ("casadi", MX, *TIMED)
            name, parameter, frame, members, sizes = family_rows(
                path, [b for b in backends if b in only], args.casadi_elements, values, args.max_elements
            )
            if members:
                print(f"\n### {name}: {parameter} = {', '.join(label.split()[0] for _, label in members)}")
                print_tables(frame, members, f"{parameter} (elements differentiated)", {}, sizes, only)
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    raise SystemExit(main())
