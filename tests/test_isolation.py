"""A backend that hangs, raises or kills its process costs its own cells, not the run."""

import os
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import ROOT, write

MISBEHAVING = "sleeper=misbehaving:Sleeper,raiser=misbehaving:Raiser,exiter=misbehaving:Exiter"
# Every cell runs under this limit, the healthy ones too. A cell's clock starts once its
# worker has started (a fresh one, after the sleeper's or the exiter's, imports diffcompare
# first), but the first cell of a fresh worker still works out the problem's exact reference
# again: a second or two on a loaded machine. Hence well above that, and not a guess at how
# long the hang takes: the sleeper never returns.
TIMEOUT_S = 15


@pytest.mark.slow
def test_hung_failing_and_dying_backends_cost_one_cell_each(tmp_path):
    write(tmp_path, "a.yaml", "function: sin(x**2)\npoint: {x: 4.0}\n")
    write(tmp_path, "b.yaml", "function: exp(x) * y\npoint: {x: 1.0, y: 2.0}\n")
    hung = tmp_path / "hung"  # the sleeper leaves PROBLEM.DTYPE here as its hang begins
    hung.mkdir()
    env = {**os.environ, "DIFFCOMPARE_BACKENDS": MISBEHAVING, "DIFFCOMPARE_TEST_HUNG_DIR": str(hung)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "tests"), env.get("PYTHONPATH", "")]))
    out = tmp_path / "out"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "diffcompare", str(tmp_path), "--out", str(out), "--timeout", str(TIMEOUT_S)]
        + ["--jobs", "2", "--backends", "sympy,sleeper,chainrule,exiter,raiser,central"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 120
    frame = pd.read_csv(out / "results.csv", keep_default_na=False)
    for problem in ("a", "b"):
        rows = frame[frame["problem"] == problem]
        by = {b: rows[rows["backend"] == b] for b in ("sympy", "sleeper", "chainrule", "exiter", "raiser", "central")}
        for good in ("sympy", "chainrule", "central"):
            assert (by[good]["verdict"] == "agree").all() and len(by[good]) > 0, good
        # The sleeper's cell timed out because it hung, not before it began.
        assert [p.name for p in hung.glob(f"{problem}.*")], f"the sleeper never started on {problem}"
        assert (by["sleeper"]["verdict"] == "error").all()
        assert (by["sleeper"]["message"] == f"timed out after {TIMEOUT_S} s").all()
        assert by["exiter"]["message"].str.contains("process died \\(exit code 3\\)").all()
        assert (by["raiser"]["verdict"] == "error").all()
        assert by["raiser"]["message"].str.contains("RuntimeError: this backend always fails").all()
