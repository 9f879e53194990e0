"""Running problems through backends into the one tidy DataFrame: loading the files,
then every problem × backend cell, in this process, in supervised workers, or
through an executor.

One row per problem × backend × dtype × variable × element (diffcompare.running.cells).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from concurrent.futures import as_completed
from dataclasses import replace
from pathlib import Path

import pandas as pd

from diffcompare import backends as registry
from diffcompare.backends import threads as thread_share
from diffcompare.exact import budget
from diffcompare.running.blame import Explainer
from diffcompare.running.cells import failed_cell_blocks, problem_blocks
from diffcompare.running.columns import blocks_to_frame
from diffcompare.running.options import RunOptions
from diffcompare.running.supervisor import DEFAULT_TIMEOUT_S, check_timeout, run_isolated
from diffcompare.running.worker import payload, run_job, select_backends
from diffcompare.spec.files import find_problem_files, load_file
from diffcompare.spec.problem import Problem, ProblemError


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
    cluster=None,
) -> pd.DataFrame | None:
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
    process becomes `error` rows and the run goes on.
    cluster: a Dask cluster to run on instead (running.cluster: its address, 'local:N', or a
    Cluster already entered), each problem a task, each cell under the timeout
    (DEFAULT_TIMEOUT_S if None).
    finished may be a running.dataset.DatasetWriter, which writes the rows as they come and
    keeps none: then the rows are in its folder, and None is returned."""
    if timeout is not None:
        timeout = check_timeout(timeout)  # before any work: a positive, finite number of seconds
    options = RunOptions.here(backends, dtypes, rtol, atol)
    finished = {} if finished is None else finished
    names = registry.available_names() if options.backends is None else list(options.backends)
    if cluster is not None:
        _on_cluster(
            cluster, problems, names, options, DEFAULT_TIMEOUT_S if timeout is None else timeout, finished, progress
        )
        return _result(finished)
    if executor is None and (timeout is not None or jobs > 1):
        timeout = DEFAULT_TIMEOUT_S if timeout is None else timeout
        # The exact side of a problem ends well within its first cell's limit (a third of it at most).
        options = replace(options, exact_s=budget.for_timeout(timeout))
        # Each worker's libraries get its share of the cores, not one thread per core each.
        options = replace(options, threads=thread_share.per_worker(min(jobs, len(problems))))
        run_isolated(
            problems,
            names,
            options,
            jobs=jobs,
            timeout=timeout,
            finished=finished,
            failed_cell=lambda problem, name, message, shape: _in_worker_share(
                failed_cell_blocks(problem, name, message, options.dtypes, shape), options.threads
            ),
            progress=progress,
        )
        return _result(finished)
    if executor is None:
        loaded = select_backends(options.backends)
        explainer = Explainer()
        for position, problem in enumerate(problems):
            blocks = []
            for name, backend in loaded.items():
                blocks += _cell(problem, name, backend, options, explainer)
                if progress:
                    progress(problem, name)
            finished[position] = blocks
        return _result(finished)
    futures = {executor.submit(run_job, payload(p), options): i for i, p in enumerate(problems)}
    for future in as_completed(futures):
        position = futures[future]
        finished[position] = _guarded(problems[position], future.result)
        for name in names if progress else ():  # a problem's cells come back together
            progress(problems[position], name)
    return _result(finished)


def _on_cluster(cluster, problems, names, options, timeout, finished, progress) -> None:
    from diffcompare.running import cluster as dask_cluster

    def failed_cell(problem, name, message, shape):
        return _in_worker_share(failed_cell_blocks(problem, name, message, options.dtypes, shape), 1)

    if not problems:
        return
    # A Cluster already entered is the caller's to close; an address or 'local:N' is opened for this run.
    opening = (
        contextlib.nullcontext(cluster) if isinstance(cluster, dask_cluster.Cluster) else dask_cluster.Cluster(cluster)
    )
    with opening as opened:
        dask_cluster.run_on_cluster(
            opened,
            problems,
            names,
            options,
            timeout=timeout,
            finished=finished,
            failed_cell=failed_cell,
            progress=progress,
        )


def _result(finished):
    """The frame of the rows, or None where they went to a dataset as they came."""
    return frame_of(finished) if isinstance(finished, dict) else None


def _in_worker_share(blocks: list[dict], threads: int | None) -> list[dict]:
    """The rows of a cell whose worker timed out or died, made here: they ran under the worker's
    share of the cores, not this process's."""
    for block in blocks:
        block["threads"] = threads if threads is not None else block["threads"]
    return blocks


def frame_of(finished: dict) -> pd.DataFrame:
    """The DataFrame of the problems finished so far, in the order they were given."""
    return blocks_to_frame([block for position in sorted(finished) for block in finished[position]])


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


def _cell(problem, name, backend, options: RunOptions, explainer) -> list[dict]:
    """One problem × backend cell in this process. A failure past problem_blocks' own
    guards costs this cell only, as it does in a supervised worker."""
    try:
        return problem_blocks(problem, {name: backend}, options.dtypes, options.rtol, options.atol, explainer)
    except Exception as exc:
        return failed_cell_blocks(problem, name, registry.error_line(exc), options.dtypes)
