import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = ROOT / "problems"

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
