"""Differential fuzzing: random well-formed problems from the primitive table.

Expressions are grown bottom-up at a random point. Each new step is applied to
the values of its operands with the primitive's own NumPy forward and local
derivative rules; a step whose value or local derivative is not finite, whose
value is huge, or which amplifies rounding by more than AMPLIFICATION_LIMIT (the
primitive's hazard rule), is drawn again. So every problem sits inside each
primitive's domain and is well conditioned, and an exact backend that disagrees
on one has something to explain. The text goes through the ordinary parser,
which is fuzzed too.

Every disagreement is shrunk, by replacing steps with their operands while the
disagreement persists, and written as a ready-to-run problem file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from diffcompare.lang.primitives import PRIMITIVES
from diffcompare.running.runner import run_problems
from diffcompare.spec.problem import build_problem

AMPLIFICATION_LIMIT = 1e3
MAX_MAGNITUDE = 1e6
# The primitives the fuzzer draws (Primitive.fuzz), in declaration order.
UNARY = [name for name, p in PRIMITIVES.items() if p.fuzz and p.arity == 1]
BINARY = [name for name, p in PRIMITIVES.items() if p.fuzz and p.arity == 2]
OPERATORS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}
EXACT_BACKENDS = ["sympy", "torch", "jax", "chainrule"]


@dataclass
class Expr:
    op: str  # a primitive, "var" or "const"
    args: tuple = ()
    name: str = ""  # var name or constant text
    value: float = 0.0

    def text(self) -> str:
        if self.op in ("var", "const"):
            return self.name
        a = [x.text() for x in self.args]
        if self.op == "neg":
            return f"(-{a[0]})"
        if self.op in OPERATORS:
            return f"({a[0]} {OPERATORS[self.op]} {a[1]})"
        return f"{self.op}({', '.join(a)})"

    def subexpressions(self):
        yield self
        for arg in self.args:
            yield from arg.subexpressions()


def _apply(op: str, args: list[Expr]) -> float | None:
    """The step's value, or None where it leaves the primitive's domain or its conditioning."""
    primitive = PRIMITIVES[op]
    values = [np.float64(a.value) for a in args]
    with np.errstate(all="ignore"):
        value = np.float64(primitive.forward(*values))
        if not np.isfinite(value) or abs(value) > MAX_MAGNITUDE:
            return None
        for rule in primitive.vjps:
            if rule is not None and not np.isfinite(rule(np.float64(1.0), value, *values)):
                return None
        if primitive.hazard is not None:
            hazard = primitive.hazard(value, *values)
            if hazard is not None and hazard[0] > AMPLIFICATION_LIMIT:
                return None
        if primitive.kink is not None and np.any(primitive.kink(*values)):
            return None
    return float(value)


def random_expression(rng: np.random.Generator, leaves: list[Expr], depth: int) -> Expr:
    if depth == 0 or rng.random() < 0.2:
        return leaves[rng.integers(len(leaves))]
    for _ in range(50):
        if rng.random() < 0.5:
            op = UNARY[rng.integers(len(UNARY))]
            args = [random_expression(rng, leaves, depth - 1)]
        else:
            op = BINARY[rng.integers(len(BINARY))]
            args = [random_expression(rng, leaves, depth - 1), random_expression(rng, leaves, depth - 1)]
            for position, low, high in PRIMITIVES[op].fuzz_integers:  # pow's small integer exponent
                exponent = int(rng.integers(low, high))
                args[position] = Expr("const", name=str(exponent), value=float(exponent))
        value = _apply(op, args)
        if value is not None:
            return Expr(op, tuple(args), value=value)
    return leaves[rng.integers(len(leaves))]


def random_problem(rng: np.random.Generator, index: int, dtypes: list[str]) -> tuple[dict, Expr]:
    count = int(rng.integers(1, 4))
    point = {f"x{i}": round(float(rng.uniform(-2, 2)), 3) for i in range(count)}
    leaves = [Expr("var", name=k, value=v) for k, v in point.items()]
    leaves += [Expr("const", name=c, value=float(c)) for c in ("0.5", "2", "3")]
    for _ in range(20):  # a function of at least one variable and one step
        expr = random_expression(rng, leaves, int(rng.integers(1, 5)))
        if expr.args and any(e.op == "var" for e in expr.subexpressions()):
            break
    return _document(expr, point, index, dtypes), expr


def _document(expr: Expr, point: dict, index: int, dtypes: list[str]) -> dict:
    used = {e.name for e in expr.subexpressions() if e.op == "var"} or {next(iter(point))}
    return {
        "name": f"fuzz-{index}",
        "function": expr.text(),
        "point": {k: v for k, v in point.items() if k in used},
        "dtypes": list(dtypes),
    }


def disagreements(frame, backends=EXACT_BACKENDS) -> list[tuple[str, str, str]]:
    """(problem, backend, dtype) of every exact-method cell that disagrees; kinks and
    undefined points have their own verdicts and are not counted here."""
    bad = frame[(frame["verdict"] == "disagree") & frame["backend"].isin(backends)]
    return sorted(set(zip(bad["problem"], bad["backend"], bad["dtype"])))


def shrink(expr: Expr, point: dict, index: int, dtypes, still_disagrees) -> Expr:
    """Replace steps by their operands while the disagreement persists."""
    changed = True
    while changed:
        changed = False
        for sub in list(expr.subexpressions()):
            for arg in sub.args:
                if arg.op == "const":
                    continue
                candidate = _replace(expr, sub, arg)
                if candidate is not expr and still_disagrees(_document(candidate, point, index, dtypes)):
                    expr, changed = candidate, True
                    break
            if changed:
                break
    return expr


def _replace(expr: Expr, old: Expr, new: Expr) -> Expr:
    if expr is old:
        return new
    if not expr.args:
        return expr
    args = tuple(_replace(a, old, new) for a in expr.args)
    if all(a is b for a, b in zip(args, expr.args)):
        return expr
    value = _apply(expr.op, list(args)) if expr.op not in ("var", "const") else expr.value
    return Expr(expr.op, args, expr.name, value if value is not None else float("nan"))


def campaign(count: int, seed: int, out: Path, dtypes=("float64",), backends=EXACT_BACKENDS, jobs: int = 1):
    """Generate, run, shrink; write each disagreement; return (frame, findings)."""
    rng = np.random.default_rng(seed)
    generated = [random_problem(rng, i, list(dtypes)) for i in range(count)]
    problems, exprs = [], {}
    for document, expr in generated:
        problems.append(build_problem(document, f"<fuzz seed {seed}>", document["name"]))
        exprs[document["name"]] = (expr, document)
    frame = run_problems(problems, backends, list(dtypes), jobs=jobs)
    findings = []
    for name, backend, dtype in disagreements(frame, backends):
        expr, document = exprs[name]

        def still(doc, backend=backend, dtype=dtype):
            try:
                result = run_problems([build_problem(doc, "<shrink>", doc["name"])], [backend], [dtype])
            except Exception:
                return False
            return bool((result["verdict"] == "disagree").any())

        small = shrink(expr, document["point"], int(name.split("-")[1]), dtypes, still)
        problem = _document(small, document["point"], int(name.split("-")[1]), dtypes)
        rows = frame[(frame["problem"] == name) & (frame["backend"] == backend) & (frame["dtype"] == dtype)]
        problem["description"] = f"found by fuzz --seed {seed}: {backend} {dtype}: {rows['message'].iloc[0]}"
        problem["source"] = f"python -m diffcompare fuzz --seed {seed} (shrunk from {expr.text()})"
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{name}-{backend}-{dtype}.yaml"
        path.write_text(yaml.safe_dump(problem, sort_keys=False, allow_unicode=True), encoding="utf-8")
        findings.append((name, backend, dtype, path))
    return frame, findings
