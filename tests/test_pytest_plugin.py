"""Problems as tests, run as a user runs them: `python -m pytest --diffcompare FOLDER` in a subprocess,
with the plugin found through its pytest11 entry point (nothing passed with -p)."""

import os
import subprocess
import sys

import pytest
from conftest import ROOT, write

AGREES = "name: sin-x-squared\nfunction: sin(x**2)\npoint: {x: 4.0}\n"
# σ(w·x²) at w = 2, x = 4: σ(32) rounds to exactly 1 in float32, so σ(1-σ) is 0 where the truth is 2.0263e-13.
DISAGREES = "name: saturated-sigmoid\nfunction: sigmoid(w * x**2)\npoint: {w: 2.0, x: 4.0}\ndtypes: [float32]\n"
FAST = "chainrule,sympy"


def pytest_in(folder, *args, env=None):
    environment = {**os.environ, **(env or {})}
    environment.pop("PYTEST_ADDOPTS", None)  # the outer run's options are not the user's
    return subprocess.run(
        [sys.executable, "-m", "pytest", *map(str, args), "-p", "no:cacheprovider"],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_one_test_per_problem_failing_with_the_disagreeing_rows(tmp_path):
    write(tmp_path, "agrees.yaml", AGREES)
    write(tmp_path, "disagrees.yml", DISAGREES)
    result = pytest_in(tmp_path, "--diffcompare", ".", "--diffcompare-backends", FAST)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "1 failed, 1 passed" in output, output
    assert "FAILED disagrees.yml::saturated-sigmoid" in output
    assert "saturated-sigmoid (disagrees.yml): 2 of 2 rows fail (2 disagree)" in output
    # Each disagreeing row: backend, dtype, element, value, reference, relative error, then why.
    lines = output.splitlines()
    for variable in ("w", "x"):
        row = next(line for line in lines if line.split()[:3] == ["chainrule", "float32", variable])
        assert row.split()[3:] == ["0", "2.02627e-13", "1", "disagree"], row
    assert "the gradient is 0, but the true value is 2.0263e-13" in output
    assert "σ(u) rounds to exactly 1" in output
    assert "sin-x-squared" not in output.split("short test summary")[1]


@pytest.mark.slow
def test_a_backend_that_raises_fails_the_test_with_its_message(tmp_path):
    write(tmp_path, "agrees.yaml", AGREES)
    env = {
        "DIFFCOMPARE_BACKENDS": "raiser=misbehaving:Raiser",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])),
    }
    result = pytest_in(tmp_path, "--diffcompare", ".", "--diffcompare-backends", "chainrule,raiser", env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "1 failed" in output, output
    assert "2 of 4 rows fail (2 error)" in output
    assert "this backend always fails" in output


@pytest.mark.slow
def test_a_file_that_does_not_load_is_a_collection_error_naming_file_problem_and_key(tmp_path):
    write(tmp_path, "agrees.yaml", AGREES)
    write(tmp_path, "bad.yaml", "function: x\npoint: {x: 1.0}\ncolour: red\n")
    result = pytest_in(tmp_path, "--diffcompare", ".", "--diffcompare-backends", FAST)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "ERROR collecting bad.yaml" in output
    assert "bad.yaml:3: problem 'bad': key 'colour': unknown key" in output


@pytest.mark.slow
def test_without_the_flag_yaml_files_are_not_collected(tmp_path):
    write(tmp_path, "agrees.yaml", AGREES)
    result = pytest_in(tmp_path, ".")
    assert result.returncode == 5 and "no tests ran" in result.stdout, result.stdout + result.stderr


@pytest.mark.slow
def test_an_unknown_backend_is_a_usage_error(tmp_path):
    write(tmp_path, "agrees.yaml", AGREES)
    result = pytest_in(tmp_path, "--diffcompare", ".", "--diffcompare-backends", "chainrule,nope")
    assert result.returncode == 4
    assert "--diffcompare-backends: unknown backend 'nope'" in result.stderr
