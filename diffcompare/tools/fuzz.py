"""Differential fuzzing: random problems, their verdicts against what the generator expects, and the shrinker.

The problems come from diffcompare.tools.fuzzgen (ordinary ones: scalars, vectors and
matrices, indexing and slices, reductions, @, where, data variables and exponents,
decimal constants, array building, softmax, gathers x[idx] and index loops; every step
inside its domain and well conditioned) and
diffcompare.tools.fuzzsingular (on and near kinks and singular points, each with the
verdict it must get). Their text goes through the ordinary loader, which is fuzzed too.

Every row of the run is compared with the generator's expectation for its element
(EXPECTED_VERDICTS, by the element's kind and the row's method) and gets an `outcome`:

- `expected`: the verdict is one the kind allows;
- `expected disagreement`: a disagreement the kind allows (an exact AD backend's NaN or
  subgradient at a trap or cusp; finite differences straddling a kink they are near, or
  past their own error bound where f is differentiable but not twice: √h at a cusp, h at
  relu(u) ** 2, where their truncation estimate |D(2h) - D(h)| is no bound);
- `disagreement`: a disagreement where the element is judged as usual and none was
  expected (an ordinary problem's exact backend, or finite differences beyond their bound);
- `mismatch`: any other verdict than the expected ones (a kink called `undefined`, an
  ordinary element called `kink`, `unsettled` …), or at a trap, cusp or smooth point a reference
  that is not f's true derivative (the chain rule's on the template's twin);
- `error`, `skipped`: as the verdicts.

Every disagreement (per problem, backend and dtype), every mismatching problem and every
problem with errors is shrunk (the first shrink_limit of them, one of each kind first), replacing steps by operands of the same shape while it persists (a reduction,
an index or @ is kept: their operand has another shape; so is a gather inside an index
loop, whose operand whole would not be one number per index, and a gather's idx; the
singular template's term is kept whole, so the expectation still holds), and written as a
ready-to-run problem file.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from diffcompare.backends import timing
from diffcompare.engine.chainrule import ChainRule, point_in
from diffcompare.lang.ir import element_label
from diffcompare.lang.primitives import PRIMITIVES
from diffcompare.running.runner import run_problems
from diffcompare.spec.problem import ProblemError, build_problem
from diffcompare.tools.fuzzexpr import Expr, make, replace_node, step
from diffcompare.tools.fuzzgen import Generated
from diffcompare.tools.fuzzsingular import TEMPLATES, random_problem

__all__ = [
    "CAMPAIGN_BACKENDS",
    "EXACT_BACKENDS",
    "EXPECTED_VERDICTS",
    "TEMPLATES",
    "CampaignResult",
    "Expr",
    "Finding",
    "Generated",
    "campaign",
    "classify",
    "make",
    "random_problem",
    "shrink",
    "step",
]

EXACT_BACKENDS = ["sympy", "torch", "jax", "chainrule"]
CAMPAIGN_BACKENDS = [*EXACT_BACKENDS, "central"]  # central differences cost a few evaluations of f
FD = "finite-difference"
# The verdicts a float64 row may get, by the kind of its element and the row's method.
EXPECTED_VERDICTS: dict[str, dict[str, set[str]]] = {
    "ordinary": {"exact": {"agree"}, FD: {"agree"}},
    "near": {"exact": {"agree"}, FD: {"agree", "disagree"}},
    "smooth": {"exact": {"agree"}, FD: {"agree", "disagree"}},  # relu(u) ** 2 is C¹ only: O(h) truncation
    "trap": {"exact": {"agree", "disagree"}, FD: {"agree"}},
    "cusp": {"exact": {"agree", "disagree"}, FD: {"agree", "disagree"}},
    "kink": {"exact": {"kink"}, FD: {"kink"}},
    "undefined": {"exact": {"undefined"}, FD: {"undefined"}},
}
JUDGED_AS_USUAL = {"ordinary", "near", "smooth", "trap", "cusp"}  # a disagreement there is a finding, not a mismatch
REFERENCE_RTOL = 1e-7  # a trap's or smooth point's reference against the twin's chain rule


def expectations_of(tags) -> dict[str, str]:
    """`expect:KIND:ELEMENT` tags -> {element label, variable or *: kind}."""
    out = {}
    for tag in tags:
        if isinstance(tag, str) and tag.startswith("expect:"):
            _, kind, label = tag.split(":", 2)
            out[label] = kind
    return out


def expected_kind(expectations: dict[str, str], variable: str, index: str) -> str:
    for key in (element_label(variable, index), variable, "*"):
        if key in expectations:
            return expectations[key]
    return "ordinary"


def twin_gradient(generated: Generated) -> dict[str, np.ndarray] | None:
    """f's true gradient at a trap or smooth point: the chain rule's on f with the template's
    term replaced by its twin (same value and derivative there, and ordinary)."""
    if generated.twin is None or not generated.holds_singular():
        return None
    twin = replace_node(generated.expr, generated.singular, generated.twin)
    document = None if twin is None else generated.document(twin)
    if document is None:  # f's dependence on wrt was all in the term: its twin is constant
        return {var: np.zeros(np.shape(generated.point[var])) for var in generated.wrt}
    problem = build_problem(document, "<twin>", document["name"])
    gradient = ChainRule(problem.function, "float64").gradient(point_in(problem.point, "float64"), problem.wrt)
    return {var: np.asarray(gradient.get(var, np.zeros(np.shape(generated.point[var])))) for var in generated.wrt}


def _row_index(index) -> tuple:
    return tuple(int(i) for i in str(index).split(",")) if isinstance(index, str) and index else ()


def classify(frame: pd.DataFrame, generated: dict[str, Generated]) -> pd.DataFrame:
    """The frame with the columns `expected` (the element's kind), `outcome` (see the module)
    and `expected_reference` (at trap and smooth points: f's true derivative; else NaN)."""
    frame = frame.copy()
    expected, outcome, reference = [], [], []
    names = set(frame["problem"])
    twins = {name: twin_gradient(g) for name, g in generated.items() if name in names}
    expecting = {name: g.expectations() for name, g in generated.items() if name in names}
    for row in frame.itertuples(index=False):
        kind = expected_kind(expecting.get(row.problem, {}), row.variable, row.index)
        method = FD if row.method == FD else "exact"
        allowed = set(EXPECTED_VERDICTS[kind][method])
        if kind == "near" and row.dtype != "float64":  # the point rounded to float32 may sit on the kink
            allowed.add("disagree")
        truth = np.nan
        twin = twins.get(row.problem)
        index = _row_index(row.index)
        if twin is not None and row.variable in twin and len(index) == twin[row.variable].ndim:
            truth = float(twin[row.variable][index])  # (a cell without values has one row, no index)
        if row.verdict in ("error", "skipped"):
            result = row.verdict
        elif row.verdict in allowed:
            result = "expected disagreement" if row.verdict == "disagree" else "expected"
        elif row.verdict == "disagree" and kind in JUDGED_AS_USUAL:
            result = "disagreement"
        else:
            result = "mismatch"
        if np.isfinite(truth) and row.verdict in ("agree", "disagree"):
            if not abs(float(row.reference) - truth) <= REFERENCE_RTOL * max(1.0, abs(truth)):
                result = "mismatch"
        expected.append(kind)
        outcome.append(result)
        reference.append(truth)
    frame["expected"] = expected
    frame["outcome"] = outcome
    frame["expected_reference"] = reference
    return frame


# --- shrinking -------------------------------------------------------------------------------


def shrink(generated: Generated, still_fails: Callable[[Generated], bool], budget: int = 100) -> Generated:
    """Replace steps by their operands of the same shape while still_fails(the smaller problem)
    holds, at most `budget` tries. A reduction, an index or @ stays (its operand has another
    shape), and so do a gather inside an index loop and the singular template's term (a loop's
    term shrinks: each of its steps is one number per index); each step above a replacement is
    recomputed under its guarantees, and a replacement that breaks one is not tried."""
    expr = generated.expr
    changed = True
    while changed and budget > 0:
        changed = False
        for sub in list(expr.subexpressions(into_frozen=False)):
            if sub.frozen or PRIMITIVES.get(sub.op) is not None and PRIMITIVES[sub.op].kind == "compare":
                continue
            # an index step's other operand is a gather's idx; a gather in a loop stays (its
            # operand whole would be an array for each index)
            for arg in sub.args[:1] if sub.op == "index" else sub.args:
                if sub.params.get("loop") or arg.op == "const" or arg.shape != sub.shape or arg.value.dtype == bool:
                    continue
                candidate = replace_node(expr, sub, arg)
                if candidate is None or candidate is expr:
                    continue
                smaller = replace(generated, expr=candidate)
                if smaller.document() is None:
                    continue
                budget -= 1
                if still_fails(smaller):
                    expr, changed = candidate, True
                    break
                if budget <= 0:
                    break
            if changed or budget <= 0:
                break
    return replace(generated, expr=expr)


# --- a campaign ------------------------------------------------------------------------------


@dataclass
class Finding:
    problem: str
    backend: str
    dtype: str
    outcome: str  # "disagreement", "mismatch" or "error"
    detail: str
    path: Path


@dataclass
class CampaignResult:
    frame: pd.DataFrame  # every row, with the columns expected, outcome, expected_reference
    findings: list[Finding]
    generated: dict[str, Generated]
    seconds: float
    unbuildable: list[str] = field(default_factory=list)  # generated documents the loader refused

    def __iter__(self):  # frame, findings = campaign(...)
        return iter((self.frame, self.findings))

    def counts(self) -> dict[str, int]:
        f = self.frame
        bad = f[f["outcome"] == "disagreement"]
        mismatch = f[f["outcome"] == "mismatch"]
        return {
            "problems": int(f["problem"].nunique()),
            "rows": len(f),
            "disagreement rows": len(bad),
            "disagreements": len(set(zip(bad["problem"], bad["backend"], bad["dtype"]))),
            "mismatch rows": len(mismatch),
            "mismatches": int(mismatch["problem"].nunique()),
            "expected disagreement rows": int((f["outcome"] == "expected disagreement").sum()),
            "error rows": int((f["outcome"] == "error").sum()),
            "unbuildable": len(self.unbuildable),
        }

    def kinds(self) -> dict[str, int]:
        """Problems by the kind of their singular element (ordinary: none)."""
        out: dict[str, int] = {}
        for g in self.generated.values():
            out[g.kind] = out.get(g.kind, 0) + 1
        return out


def _detail(rows: pd.DataFrame) -> str:
    first = rows.iloc[0]
    element = element_label(first["variable"], first["index"])
    if first["outcome"] == "mismatch":
        text = f"{element}: expected {first['expected']}, got {first['verdict']}"
        if np.isfinite(first["expected_reference"]):
            text += f" (reference {float(first['reference'])!r}, f's derivative {float(first['expected_reference'])!r})"
        return text + (f": {first['message']}" if first["message"] else "")
    return f"{element}: {first['message']}"


def _still(backend: str, dtype: str, outcome: str, verdict: str | None):
    def still_fails(candidate: Generated) -> bool:
        document = candidate.document()
        try:
            problem = build_problem(document, "<shrink>", document["name"])
            frame = run_problems([problem], [backend], [dtype])
        except Exception:  # noqa: BLE001 - a candidate that fails otherwise is not the same failure
            return False
        rows = classify(frame, {document["name"]: candidate})
        rows = rows[rows["outcome"] == outcome]
        return bool(len(rows)) and (verdict is None or bool((rows["verdict"] == verdict).any()))

    return still_fails


def _write(out: Path, generated: Generated, file_stem: str, description: str, source: str) -> Path:
    document = generated.document()
    document["description"] = description
    document["source"] = source
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{file_stem}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def campaign(
    count: int,
    seed: int,
    out: Path,
    dtypes=("float64",),
    backends=CAMPAIGN_BACKENDS,
    jobs: int = 1,
    shrink_limit: int = 20,
    shrink_budget: int = 60,
    timeout: float | None = 30.0,
    cluster=None,
) -> CampaignResult:
    """Generate `count` problems from `seed`, run them, compare every row with its expectation,
    shrink the first `shrink_limit` findings (the others are written as generated) and write
    each to `out`. Gradients are timed once (a campaign wants verdicts, not timings).
    timeout: seconds per problem × backend cell, in supervised worker processes (a cell past
    it gets `error` rows); None runs in this process (with jobs=1), with no limit.
    cluster: run the problems as Dask tasks there instead (running.cluster: an address or
    'local:N'); shrinking stays in this process."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    generated: dict[str, Generated] = {}
    problems, unbuildable = [], []
    for i in range(count):
        g = random_problem(rng, i, list(dtypes))
        document = g.document()
        try:
            problems.append(build_problem(document, f"<fuzz seed {seed}>", document["name"]))
            generated[g.name] = g
        except ProblemError as exc:
            unbuildable.append(f"{exc}: {document['function']}")
    previous = timing.settings()
    timing.configure(1, 0.0)
    try:
        frame = run_problems(problems, list(backends), list(dtypes), jobs=jobs, timeout=timeout, cluster=cluster)
        frame = classify(frame, generated)
        findings = _findings(frame, generated, seed, out, shrink_limit, shrink_budget)
    finally:
        timing.configure(*previous)
    return CampaignResult(frame, findings, generated, time.perf_counter() - start, unbuildable)


def _signature(rows: pd.DataFrame, generated: Generated) -> tuple:
    """What a finding looks like, numbers left out: findings of one signature are likely one cause."""
    first = rows.iloc[0]
    message = re.sub(r"[-+]?\d[\d.e+-]*", "#", str(first["message"]))
    message = re.sub(r"'[^']*'", "'…'", message)
    return first["outcome"], first["backend"], first["expected"], first["verdict"], generated.template, message


def _findings(frame, generated, seed, out, shrink_limit, shrink_budget) -> list[Finding]:
    """One finding per disagreeing problem × backend × dtype, per mismatching problem and per
    problem with errors. The first finding of each signature is shrunk first."""
    cases = []
    bad = frame[frame["outcome"] == "disagreement"]
    for (name, backend, dtype), rows in bad.groupby(["problem", "backend", "dtype"], sort=False):
        cases.append((name, backend, dtype, "disagreement", rows))
    for outcome in ("mismatch", "error"):
        for name, rows in frame[frame["outcome"] == outcome].groupby("problem", sort=False):
            backends = list(dict.fromkeys(rows["backend"]))
            backend = "chainrule" if "chainrule" in backends else backends[0]
            rows = rows[rows["backend"] == backend]
            cases.append((name, backend, rows["dtype"].iloc[0], outcome, rows))
    cases.sort(key=lambda case: int(case[0].rsplit("-", 1)[1]))
    seen: set[tuple] = set()
    firsts = []
    for case in cases:
        signature = _signature(case[4], generated[case[0]])
        firsts.append(signature not in seen)
        seen.add(signature)
    order = sorted(range(len(cases)), key=lambda i: not firsts[i])  # new signatures first, stable
    shrunk = set(order[:shrink_limit])
    findings: list[Finding] = []
    for i, (name, backend, dtype, outcome, rows) in enumerate(cases):
        original = generated[name]
        small = original
        if i in shrunk and not rows["message"].str.contains("timed out").any():  # shrinking runs unlimited
            verdict = rows["verdict"].iloc[0] if outcome != "disagreement" else None
            small = shrink(original, _still(backend, dtype, outcome, verdict), shrink_budget)
        detail = _detail(rows)
        description = f"found by fuzz --seed {seed}: {backend} {dtype}: {outcome}: {detail}"
        source = f"python -m diffcompare fuzz --seed {seed}"
        source += f" (shrunk from {original.expr.text()})" if small.expr is not original.expr else " (as generated)"
        stem = f"{name}-{backend}-{dtype}" if outcome == "disagreement" else f"{name}-{outcome}"
        path = _write(out, small, stem, description, source)
        findings.append(Finding(name, backend, dtype, outcome, detail, path))
    return findings
