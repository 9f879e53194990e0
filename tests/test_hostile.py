"""Hostile input, interruption and determinism: no file runs code, Ctrl-C loses
nothing that was finished, and the same problems give the same values."""

import hashlib
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, write

import diffcompare

FAST = "sympy,chainrule,central,manual,expected"

# Each tries to make Python create the canary file, in a different place of a problem file.
INJECTIONS = {
    "import-call": "function: __import__('os').system('touch {canary}')\npoint: {{x: 1.0}}\n",
    "attribute-chain": "function: x.__class__.__init__.__globals__['os'].system('touch {canary}')\npoint: {{x: 1.0}}\n",
    "yaml-apply-tag": "function: !!python/object/apply:os.system ['touch {canary}']\npoint: {{x: 1.0}}\n",
    "yaml-tag-document": "!!python/object/apply:os.system ['touch {canary}']\n",
    "eval-call": "function: eval(\"open('{canary}', 'w')\")\npoint: {{x: 1.0}}\n",
    "lambda": "function: (lambda: open('{canary}', 'w'))()\npoint: {{x: 1.0}}\n",
    "comprehension": "function: sum([open('{canary}', 'w') for i in x])\npoint: {{x: [1.0]}}\n",
    "f-string": "function: f\"{{open('{canary}', 'w')}}\"\npoint: {{x: 1.0}}\n",
    "walrus": "function: (y := open('{canary}', 'w'))\npoint: {{x: 1.0}}\n",
    "in-let": "let: {{a: \"__import__('os').system('touch {canary}')\"}}\nfunction: a\npoint: {{x: 1.0}}\n",
    "in-manual": "function: x\npoint: {{x: 1.0}}\nmanual: {{x: \"open('{canary}', 'w')\"}}\n",
    "in-shape": "function: sum(x)\npoint:\n  x: {{shape: [\"open('{canary}', 'w')\"], fill: 1}}\n",
    "in-sweep": "function: x * n\npoint: {{x: 1.0}}\nsweep: {{n: [\"__import__('os').system('touch {canary}')\"]}}\n",
    "exponent-tower": "function: 9**9**9**9 * x\npoint: {{x: 1.0}}\n",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(INJECTIONS))
def test_no_code_runs_from_a_problem_file(tmp_path, name):
    canary = tmp_path / "canary"
    write(tmp_path, "evil.yaml", INJECTIONS[name].format(canary=canary))
    result = subprocess.run(
        [sys.executable, "-m", "diffcompare", str(tmp_path / "evil.yaml"), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert not canary.exists()
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if "evil.yaml" in line]
    assert lines and all("problem 'evil" in line for line in lines)


@pytest.mark.slow
def test_ctrl_c_keeps_finished_rows_and_the_last_complete_report(tmp_path):
    out = tmp_path / "out"
    subprocess.run(
        [sys.executable, "-m", "diffcompare", "problems/square.yaml", "--out", str(out), "--backends", "sympy"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()}
    # 400 problems of some 30 ms each: a run long enough to interrupt in the middle.
    members = ", ".join(str(n) for n in range(1, 401))
    write(
        tmp_path,
        "many.yaml",
        f"function: sum(sin(x) * n)\npoint:\n  x: {{shape: [3], fill: 0.5}}\nsweep: {{n: [{members}]}}\n",
    )
    # The witness (chainrule that leaves a file per problem it starts) goes first: with one
    # job, problems run one after another, so its file for a second problem means the first
    # one is finished. Wait for that, not for a guess at how long the imports take.
    witness = tmp_path / "witness"
    witness.mkdir()
    env = {**os.environ, "DIFFCOMPARE_BACKENDS": "witness=misbehaving:Witness"}
    env["DIFFCOMPARE_TEST_WITNESS_DIR"] = str(witness)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "tests"), env.get("PYTHONPATH", "")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "diffcompare", str(tmp_path / "many.yaml"), "--out", str(out), "--jobs", "1"]
        + ["--backends", "witness,chainrule,central,richardson"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 180
    while len(list(witness.iterdir())) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if process.poll() is None and len(list(witness.iterdir())) < 2:
        process.kill()
        pytest.fail(f"no problem finished within 180 s: {process.communicate()[1][-3000:]}")
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    partial = out / "results.partial.csv"
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir() if p != partial}
    assert after == before  # the previous complete report is untouched
    assert "of 400 problems finished" in stderr  # interrupted while running problems, not while importing
    rows = pd.read_csv(partial, keep_default_na=False)
    assert 0 < rows["problem"].nunique() < 400
    assert (rows["verdict"] == "agree").all()


def test_two_runs_give_bitwise_identical_values():
    first = diffcompare.run(ROOT / "problems", backends=FAST.split(","))
    second = diffcompare.run(ROOT / "problems", backends=FAST.split(","))
    a, b = first["value"].to_numpy(), second["value"].to_numpy()
    assert np.array_equal(a.view(np.int64), b.view(np.int64))  # bit for bit, NaNs included


@pytest.mark.slow
def test_limits_are_documented_defaults_that_a_run_can_raise(tmp_path):
    long = "x * 1." + "0" * 12_000
    write(tmp_path, "long.yaml", f"function: '{long}'\npoint: {{x: 2.0}}\n")
    command = [sys.executable, "-m", "diffcompare", str(tmp_path / "long.yaml"), "--out", str(tmp_path / "out")]
    command += ["--backends", "sympy,chainrule", "--jobs", "1"]
    refused = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert refused.returncode == 2 and "the limit is 10000" in refused.stderr
    allowed = subprocess.run(command + ["--max-length", "20000"], cwd=ROOT, capture_output=True, text=True)
    assert allowed.returncode == 0, allowed.stderr
    frame = pd.read_csv(tmp_path / "out" / "results.csv", keep_default_na=False)
    assert set(frame["verdict"]) == {"agree"} and len(frame) == 3  # the worker was given the raised limit too
