"""The Python API: run() the problem files under a path, compare() one function
written in Python. Both return the one tidy DataFrame as a notebook.Results,
shown in Jupyter as a styled table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from diffcompare.running.runner import load_problems, run_problems
from diffcompare.spec.problem import build_problems
from diffcompare.views.notebook import as_results


def run(
    paths,
    backends=None,
    dtypes=None,
    rtol=None,
    atol=None,
    jobs: int = 1,
    timeout: float | None = None,
    cluster=None,
) -> pd.DataFrame:
    """Run every problem under paths; the DataFrame's attrs['errors'] lists bad input.
    The DataFrame is a notebook.Results: in Jupyter it shows as a styled table.
    In-process by default; jobs > 1 or a timeout runs them in supervised workers;
    cluster ('tcp://host:8786' for a running `dask scheduler`, 'local:N' for N worker
    processes here, or a dask distributed Client's running.cluster.Cluster) runs them as
    Dask tasks, each cell under the timeout (300 s if None)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    problems, errors = load_problems(paths)
    frame = as_results(
        run_problems(problems, backends, dtypes, rtol, atol, jobs=jobs, timeout=timeout, cluster=cluster)
    )
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
