"""Running problems through backends into the one tidy DataFrame:
loading, choosing backends, and the Python API (run, compare).

One row per problem × backend × dtype × variable × element (diffcompare.running.cells).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import pandas as pd

from diffcompare import backends as registry
from diffcompare.backends import timing
from diffcompare.lang import limits
from diffcompare.running.cells import Explainer, blocks_to_frame, failed_cell_blocks, problem_blocks
from diffcompare.running.supervisor import DEFAULT_TIMEOUT_S, run_isolated
from diffcompare.spec.problem import Problem, ProblemError, build_problem, build_problems, find_problem_files, load_file
from diffcompare.views.notebook import as_results


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


def select_backends(names: Iterable[str] | None) -> dict:
    names = registry.available_names() if names is None else list(names)
    return {name: registry.load(name) for name in names}


def run_problems(
    problems,
    backends=None,
    dtypes=None,
    rtol=None,
    atol=None,
    *,
    jobs: int = 1,
    executor=None,
    progress=None,
    finished: dict | None = None,
    timeout: float | None = None,
) -> pd.DataFrame:
    """Every problem through the chosen backends: in-process with jobs = 1 and no
    timeout; else in supervised worker processes (below); or through an executor from
    concurrent.futures (or one with its interface). The rows are the same, in the same
    order, but for time columns.
    finished, if given, receives each problem's cells as it completes (position ->
    blocks), so that a caller interrupted half way still has them.
    progress, if given, is called as progress(problem, backend name) once per
    finished problem × backend cell, whatever became of it (rows, error, timeout).
    timeout: run every problem × backend cell in a supervised worker process under
    this many seconds (diffcompare.running.supervisor): a cell that hangs or kills its
    process becomes `error` rows and the run goes on."""
    options = (None if backends is None else list(backends), dtypes, rtol, atol, timing.settings(), limits.current())
    finished = {} if finished is None else finished
    if executor is None and (timeout is not None or jobs > 1):
        names = registry.available_names() if backends is None else list(backends)
        run_isolated(
            problems,
            names,
            (dtypes, rtol, atol, timing.settings(), limits.current()),
            jobs=jobs,
            timeout=DEFAULT_TIMEOUT_S if timeout is None else timeout,
            finished=finished,
            failed_cell=lambda problem, name, message: failed_cell_blocks(problem, name, message, dtypes),
            progress=progress,
        )
        return frame_of(finished)
    if executor is None and jobs <= 1:
        loaded = select_backends(options[0])
        explainer = Explainer()
        for position, problem in enumerate(problems):
            blocks = []
            for name, backend in loaded.items():
                blocks += _cell(problem, name, backend, dtypes, rtol, atol, explainer)
                if progress:
                    progress(problem, name)
            finished[position] = blocks
        return frame_of(finished)
    names = registry.available_names() if backends is None else list(backends)
    own = executor is None
    if own:
        executor = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {executor.submit(_job, _payload(p), options): i for i, p in enumerate(problems)}
        for future in as_completed(futures):
            position = futures[future]
            finished[position] = _guarded(problems[position], future.result)
            for name in names if progress else ():  # a problem's cells come back together
                progress(problems[position], name)
    finally:
        if own:
            executor.shutdown(wait=False, cancel_futures=True)
    return frame_of(finished)


def frame_of(finished: dict) -> pd.DataFrame:
    """The DataFrame of the problems finished so far, in the order they were given."""
    return blocks_to_frame([block for position in sorted(finished) for block in finished[position]])


def _payload(problem: Problem) -> tuple:
    # The YAML document, not the Problem: an expression DAG can be deeper than pickle likes.
    return problem.document, problem.file, problem.default_name, problem.params


_WORKER_BACKENDS: dict[tuple, dict] = {}


def _job(payload: tuple, options: tuple) -> list[dict]:
    """Runs in a worker process: rebuild the problem, run it, return its cells."""
    names, dtypes, rtol, atol, timing_settings, limit_settings = options
    problem = rebuild(payload, timing_settings, limit_settings)
    key = tuple(names) if names is not None else None
    if key not in _WORKER_BACKENDS:
        _WORKER_BACKENDS[key] = select_backends(names)
    return problem_blocks(problem, _WORKER_BACKENDS[key], dtypes, rtol, atol)


def rebuild(payload: tuple, timing_settings: tuple, limit_settings: tuple) -> Problem:
    """In a worker process: the parent's timing and limits, then the problem from its document."""
    timing.configure(*timing_settings)
    limits.configure(*limit_settings)
    document, file, default_name, params = payload
    return build_problem(document, file, default_name, params)


def _guarded(problem: Problem, compute) -> list[dict]:
    """The last line of defence: whatever happens costs this problem only."""
    try:
        return compute()
    except Exception as exc:
        message = registry.error_line(exc)
        return [
            {
                "problem": problem.name,
                "verdict": "error",
                "message": message,
                "file": problem.file,
                "size": problem.size,
                "_n": 1,
            }
        ]


def _cell(problem, name, backend, dtypes, rtol, atol, explainer) -> list[dict]:
    """One problem × backend cell in this process. A failure past problem_blocks' own
    guards costs this cell only, as it does in a supervised worker."""
    try:
        return problem_blocks(problem, {name: backend}, dtypes, rtol, atol, explainer)
    except Exception as exc:
        return failed_cell_blocks(problem, name, registry.error_line(exc), dtypes)


def run(
    paths, backends=None, dtypes=None, rtol=None, atol=None, jobs: int = 1, timeout: float | None = None
) -> pd.DataFrame:
    """Run every problem under paths; the DataFrame's attrs['errors'] lists bad input.
    The DataFrame is a notebook.Results: in Jupyter it shows as a styled table.
    In-process by default; jobs > 1 or a timeout runs them in supervised workers."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    problems, errors = load_problems(paths)
    frame = as_results(run_problems(problems, backends, dtypes, rtol, atol, jobs=jobs, timeout=timeout))
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
    return as_results(run_problems(problems, backends, dtypes))


def _plain(value):
    """NumPy arrays and scalars as the plain numbers and lists a YAML file holds."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
