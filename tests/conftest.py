import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = ROOT / "problems"
# The known backend behaviours, a problem each (README, "Known backend behaviours"): not in the
# main job's problems/, whose report they would fill with disagreements that are the libraries' rules.
BEHAVIOURS = ROOT / "behaviours"


def problem_file(name: str) -> Path:
    """A problem file of problems/ or, failing that, of behaviours/."""
    return PROBLEMS / name if (PROBLEMS / name).exists() else BEHAVIOURS / name


# JAX's persistent compilation cache (diffcompare.backends.jax_cache) in a folder of the session's,
# never the user's: set before anything loads jax, inherited by xdist workers and spawned workers.
if not os.environ.get("DIFFCOMPARE_CACHE_DIR"):
    os.environ["DIFFCOMPARE_CACHE_DIR"] = tempfile.mkdtemp(prefix="diffcompare-tests-cache-")
    atexit.register(shutil.rmtree, os.environ["DIFFCOMPARE_CACHE_DIR"], ignore_errors=True)


@pytest.fixture(scope="session")
def seed_results(tmp_path_factory, worker_id):
    """Every seed problem through every backend, once per test session, and once for all the
    session's xdist workers: the first to ask runs it and leaves it (pickled, under a lock, in
    the directory the workers share) for the others. The tests that ask for it are marked slow
    (below): the run alone would be a quarter of the fast lane."""
    from filelock import FileLock

    import diffcompare

    def run():
        frame = diffcompare.run(PROBLEMS)
        assert frame.attrs["errors"] == []
        return frame

    if worker_id == "master":  # not under xdist
        return run()
    shared = tmp_path_factory.getbasetemp().parent / "seed_results.pkl"
    with FileLock(f"{shared}.lock"):
        if shared.is_file():
            return pd.read_pickle(shared)
        frame = run()
        frame.to_pickle(shared)
        return frame


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def pytest_collection_modifyitems(items):
    """A test of the whole seed run is an end-to-end test: slow, whether or not it says so."""
    for item in items:
        if "seed_results" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


def refusal(function: str, point: dict) -> str:
    """The message a problem of this function at this point is refused with (ProblemError)."""
    from diffcompare.spec.problem import ProblemError, build_problem

    with pytest.raises(ProblemError) as info:
        build_problem({"function": function, "point": point}, "<t>", "t")
    return str(info.value)


def mpmath_grad(f, m):
    """∂f/∂A by mpmath.diff in each element of the matrix m (a nested list of mpf), f taking
    such a nested list: the truth the axis tests hold the backends to."""
    import mpmath
    import numpy as np

    out = np.zeros((len(m), len(m[0])))
    for i, j in np.ndindex(out.shape):

        def along(t, i=i, j=j):
            moved = [list(row) for row in m]
            moved[i][j] += t
            return f(moved)

        out[i, j] = float(mpmath.diff(along, 0))
    return out


# Problems (in behaviours/) where the chain rule over the function as written and SymPy's form disagree on whether
# a step is singular: sqrt(x - x) + x (SymPy: x - x is 0), sqrt(x**2) (SymPy's real symbols: |x|),
# ‖x − y‖² at x = y (SymPy: a sum of squares), x**y at x = 0 (the IR's pow rule gives 0 in x,
# SymPy's y·x^y/x is 0/0). f is differentiable there, and the exact side settles it on f's
# one-sided derivatives; what each backend's rules meet is what these problems show (README,
# "Known backend behaviours"). The tests that compare a chain rule over the IR with SymPy's
# reference value by value leave them out.
SINGULAR_AS_WRITTEN = {
    "casadi-cancelled-difference",
    "casadi-sqrt-of-square",
    "symengine-sqrt-of-square",
    "autograd-norm-of-zero-difference",
    "casadi-pow-zero-base",
    "symengine-power-rule-at-zero",
}
