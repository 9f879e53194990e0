"""Running problems through backends into the one tidy DataFrame.

One row per problem × backend × dtype × variable × element. A backend that
raises costs its own rows (`error`), a missing package costs its rows
(`skipped`), and nothing here lets one problem take the others down.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from diffcompare import backends as registry
from diffcompare.engine import ChainRule, point_in
from diffcompare.ir import index_label
from diffcompare.problem import DTYPES, Problem, ProblemError, build_problems, find_problem_files, load_file
from diffcompare.singular import singular_elements
from diffcompare.verdicts import VERDICTS, exact_rtol, judge

COLUMNS = [
    "problem",
    "backend",
    "dtype",
    "variable",
    "index",
    "value",
    "reference",
    "abs_error",
    "rel_error",
    "digits",
    "verdict",
    "time_s",
    "message",
]
EXTRA_COLUMNS = ["ulps", "tolerance", "error_estimate", "method", "file"]


def load_problems(paths: Iterable[str | Path]) -> tuple[list[Problem], list[ProblemError]]:
    problems: list[Problem] = []
    errors: list[ProblemError] = []
    seen: dict[str, str] = {}
    for path in find_problem_files(list(paths)):
        found, failed = load_file(path)
        errors.extend(failed)
        for problem in found:
            if problem.name in seen:
                errors.append(
                    ProblemError(
                        problem.file, problem.name, "name", f"the name is already used in {seen[problem.name]}"
                    )
                )
                continue
            seen[problem.name] = problem.file
            problems.append(problem)
    return problems, errors


class _Explainer:
    """Why an exact method lost digits: the chain-rule engine's forward pass in
    the row's dtype, asked which steps amplify rounding (primitive hazards)."""

    def __init__(self):
        self._cache: dict[tuple[int, str], str] = {}

    def __call__(self, problem: Problem, dtype: str) -> str:
        key = (id(problem), dtype)
        if key not in self._cache:
            self._cache[key] = self._explain(problem, dtype)
        return self._cache[key]

    @staticmethod
    def _explain(problem: Problem, dtype: str) -> str:
        if dtype not in DTYPES:
            return ""
        eps = float(np.finfo(dtype).eps)
        try:
            hazards = ChainRule(problem.function, dtype).hazards(point_in(problem.point, dtype))
        except Exception:  # an explanation must never cost a row
            return ""
        worst = [(amp, why) for amp, why in hazards if amp * eps > exact_rtol(dtype) / 100]
        if not worst:
            return ""
        amp, why = worst[0]
        size = "all digits lost" if amp * eps >= 1 else f"up to ≈{amp * eps:.0e} relative error"
        return f"likely cause in {dtype}: {why} ({size})"


def _rows_for(problem, backend_name, method, dtype, variables, template) -> list[dict]:
    rows = []
    for var in variables:
        for index in np.ndindex(problem.point[var].shape):
            rows.append(
                {
                    "problem": problem.name,
                    "backend": backend_name,
                    "dtype": dtype,
                    "variable": var,
                    "index": index_label(index),
                    "method": method,
                    "file": problem.file,
                    "_index": index,
                    **template,
                }
            )
    return rows


def problem_rows(problem: Problem, backends: dict, dtypes=None, rtol=None, atol=None, explainer=None) -> list[dict]:
    explainer = explainer or _Explainer()
    rtol = problem.rtol if rtol is None else rtol
    atol = problem.atol if atol is None else atol
    reference, singular, failure = None, {}, ""
    try:
        reference = problem.symbolic.reference
        singular = singular_elements(problem, reference)
    except Exception as exc:  # a reference we cannot build is our error, reported on every row
        failure = f"no reference: {type(exc).__name__}: {_one_line(exc)}"

    rows: list[dict] = []
    for name, backend in backends.items():
        if isinstance(backend, registry.Unavailable):
            cell_dtypes = [d for d in problem.dtypes if dtypes is None or d in dtypes]
            for dtype in cell_dtypes:
                template = {"verdict": "skipped", "message": backend.message}
                rows += _rows_for(problem, name, "", dtype, problem.wrt, template)
            continue
        for dtype in backend.dtypes_for(problem):
            if dtypes is not None and dtype in DTYPES and dtype not in dtypes:
                continue
            variables = backend.variables(problem)
            try:
                gradient = backend.gradient(problem, dtype)
                for var in variables:
                    got = np.shape(gradient.values[var])
                    if got != problem.point[var].shape:
                        raise ValueError(f"returned shape {got} for '{var}', expected {problem.point[var].shape}")
            except registry.SkipCell as exc:
                template = {"verdict": "skipped", "message": _one_line(exc)}
                rows += _rows_for(problem, name, backend.method, dtype, variables, template)
                continue
            except Exception as exc:
                template = {"verdict": "error", "message": f"{type(exc).__name__}: {_one_line(exc)}"}
                rows += _rows_for(problem, name, backend.method, dtype, variables, template)
                continue
            for row in _rows_for(problem, name, backend.method, dtype, variables, {"time_s": gradient.time_s}):
                var, index = row["variable"], row["_index"]
                value = float(np.asarray(gradient.values[var])[index])
                estimate = float(gradient.bounds[var][index]) if var in gradient.bounds else None
                row.update(value=value, error_estimate=estimate)
                rows.append(row)
                if failure:
                    row.update(verdict="error", message=failure)
                    continue
                if (var, index) in singular:
                    special = singular[(var, index)]
                    row.update(verdict=special.verdict, message=special.message_for(value))
                    continue
                exact = reference.gradient[var][index]
                j = judge(value, exact, method=backend.method, dtype=dtype, bound=estimate, rtol=rtol, atol=atol)
                message = j.message
                if j.verdict == "disagree" and backend.method in ("exact", "complex-step"):
                    why = explainer(problem, dtype)
                    message = f"{message}; {why}" if why else message
                for extra in (reference.notes[var][index], gradient.message):
                    if extra:
                        message = f"{message}; {extra}" if message else extra
                row.update(
                    reference=float(exact),
                    abs_error=j.abs_error,
                    rel_error=j.rel_error,
                    digits=j.digits,
                    verdict=j.verdict,
                    ulps=j.ulps,
                    tolerance=j.tolerance,
                    message=message,
                )
    return rows


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("…" if len(text) > 300 else "")


def to_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS + EXTRA_COLUMNS)
    for col in (
        "value",
        "reference",
        "abs_error",
        "rel_error",
        "digits",
        "time_s",
        "ulps",
        "tolerance",
        "error_estimate",
    ):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    for col in ("problem", "backend", "dtype", "variable", "index", "verdict", "message", "method", "file"):
        frame[col] = frame[col].fillna("").astype(str)
    return frame


def select_backends(names: Iterable[str] | None) -> dict:
    names = registry.available_names() if names is None else list(names)
    return {name: registry.load(name) for name in names}


def run_problems(problems, backends=None, dtypes=None, rtol=None, atol=None, progress=None) -> pd.DataFrame:
    loaded = select_backends(backends)
    explainer = _Explainer()
    rows: list[dict] = []
    for problem in problems:
        try:
            rows += problem_rows(problem, loaded, dtypes, rtol, atol, explainer)
        except Exception as exc:  # last line of defence: this problem only
            rows.append(
                {
                    "problem": problem.name,
                    "backend": "",
                    "verdict": "error",
                    "message": f"{type(exc).__name__}: {_one_line(exc)}",
                    "file": problem.file,
                }
            )
        if progress:
            progress(problem)
    return to_frame(rows)


def run(paths, backends=None, dtypes=None, rtol=None, atol=None) -> pd.DataFrame:
    """Run every problem under paths; the DataFrame's attrs['errors'] lists bad input."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    problems, errors = load_problems(paths)
    frame = run_problems(problems, backends, dtypes, rtol, atol)
    frame.attrs["errors"] = [str(e) for e in errors]
    return frame


def compare(function: str, point: dict, backends=None, dtypes=None, **keys) -> pd.DataFrame:
    """One problem from Python: compare("sin(x**2)", point={"x": 4.0}, wrt=[...], ...)."""
    document = {"function": function, "point": {k: _plain(v) for k, v in point.items()}, **keys}
    if "expected" in document:
        document["expected"] = {k: _plain(v) for k, v in document["expected"].items()}
    problems, errors = build_problems(document, "<compare>", keys.get("name") or "problem")
    if errors:
        raise errors[0]
    return run_problems(problems, backends, dtypes)


def _plain(value):
    """NumPy arrays and scalars as the plain numbers and lists a YAML file holds."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def counts(frame: pd.DataFrame) -> dict[str, int]:
    return {v: int((frame["verdict"] == v).sum()) for v in VERDICTS}
