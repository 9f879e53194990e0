"""Problems as tests, run as a user runs them: `python -m pytest --diffcompare FOLDER` in a subprocess,
with the plugin found through its pytest11 entry point (nothing passed with -p)."""

import os
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT, write

from diffcompare.pytest_plugin import ProblemRowsFailed, failure_report, value_text

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
    # Value and reference to their last digit (at six digits both printed 2.02627e-13 on the float64 rows).
    lines = output.splitlines()
    for variable in ("w", "x"):
        row = next(line for line in lines if line.split()[:3] == ["chainrule", "float32", variable])
        value, reference, rel_error, verdict = row.split()[3:]
        assert value == "0.0" and float(reference) == pytest.approx(2.0262664878550168e-13, rel=1e-15), row
        assert len(reference.split("e")[0].replace(".", "")) >= 15 and (rel_error, verdict) == ("1", "disagree")
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


class FakeProblem:
    name, file, text = "softmax-overflow", "p.yaml", "log(sum(exp(v)))"


def rows(*specs):
    """A frame of failing rows: (backend, dtype, variable, index, value, reference, message)."""
    columns = ["backend", "dtype", "variable", "index", "value", "reference", "message"]
    frame = pd.DataFrame([dict(zip(columns, spec)) for spec in specs])
    frame["rel_error"] = (frame["value"] - frame["reference"]).abs() / frame["reference"].abs()
    frame["verdict"] = "disagree"
    return frame


def report(frame) -> list[str]:
    return failure_report(ProblemRowsFailed(FakeProblem, frame, frame)).splitlines()


def table_row(lines, *head):
    return next(line.split() for line in lines if tuple(line.split()[: len(head)]) == head)


def test_failing_rows_print_value_and_reference_to_the_digits_where_they_differ():
    # Problem 4 of a seed notebook: autograd 0.10499356687068939 in float32 against 0.1049935854035065.
    frame = rows(
        ("torch", "float32", "x", "", 0.10499356687068939, 0.1049935854035065, "relative error 1.8e-07"),
        ("chainrule", "float64", "x", "", 0.10499358540350653, 0.1049935854035065, "relative error 3e-16"),
    )
    lines = report(frame)
    torch = table_row(lines, "torch", "float32", "x")
    assert torch[3:5] == ["0.10499357", "0.1049935854035065"]  # float32's own last digit; the float64's
    chainrule = table_row(lines, "chainrule", "float64", "x")
    assert chainrule[3:5] == ["0.10499358540350653", "0.1049935854035065"]
    assert chainrule[3] != chainrule[4]


def test_value_text_reads_back_as_the_same_number_in_its_dtype():
    import numpy as np

    assert value_text(0.1 + 0.2) == "0.30000000000000004"
    assert value_text(float(np.float32(0.1)), "float32") == "0.1"
    for number in (5.7952157e19, 1e-40, -0.10499356687068939, 2.0262664878550168e-13):
        as_float32 = float(np.float32(number))
        assert float(np.float32(value_text(as_float32, "float32"))) == as_float32
        assert float(value_text(number)) == number
    assert [value_text(v) for v in (float("nan"), float("inf"), -float("inf"), None)] == ["nan", "inf", "-inf", ""]
    assert value_text(6.6918, "decimal") == "6.6918"


def test_backends_failing_alike_share_a_group_and_its_message_is_said_once():
    # logsumexp at 1000: 3 backends x 2 dtypes x 3 elements, all NaN, were 18 rows and 18 messages.
    references = [0.3314989604240915, 0.5465493872661796, 0.12195165230972886]
    specs = []
    for backend in ("torch", "jax", "chainrule"):
        for dtype in ("float32", "float64"):
            for i, ref in enumerate(references):
                specs.append((backend, dtype, "v", str(i), float("nan"), ref, f"non-finite value; in {dtype}"))
    specs += [
        ("complex_step", "float64", "v", str(i), 0.0, ref, f"the true value is {ref:.4g}")
        for i, ref in enumerate(references)
    ]
    lines = report(rows(*specs))
    assert lines[0] == "softmax-overflow (p.yaml): 21 of 21 rows fail (21 disagree)"
    body = lines[3:]
    assert table_row(body, "torch,jax,chainrule", "float32", "v[0]")[3:5] == ["nan", "0.3314989604240915"]
    assert table_row(body, "torch,jax,chainrule", "float64", "v[2]")[3:5] == ["nan", "0.12195165230972886"]
    assert table_row(body, "complex_step", "float64", "v[1]")[3] == "0.0"
    assert len([line for line in body if not line.startswith(" ")]) == 9  # 3 groups x 3 elements
    assert [line.strip() for line in body if line.startswith(" ")] == [
        "non-finite value; in float32",
        "non-finite value; in float64",
        "the true value is 0.3315",  # the other elements' messages differ only in their numbers
    ]


def test_backends_of_one_group_that_print_different_values_get_a_line_each():
    frame = rows(
        ("torch", "float32", "x", "", 1.5, 1.0, "relative error 0.5"),
        ("jax", "float32", "x", "", 1.5, 1.0, "relative error 0.5"),
        ("chainrule", "float32", "x", "", 1.25, 1.0, "relative error 0.5"),
    )
    lines = report(frame)
    assert table_row(lines, "torch,jax", "float32", "x")[3] == "1.5"
    assert table_row(lines, "chainrule", "float32", "x")[3] == "1.25"
    assert sum("relative error 0.5" in line for line in lines) == 1


def test_a_group_of_many_elements_lists_four_and_counts_the_rest():
    frame = rows(*[("torch", "float64", "x", str(i), 0.0, 1.0 + i, "the gradient is 0") for i in range(10)])
    lines = report(frame)
    assert [line.split()[2] for line in lines[3:] if not line.startswith(" ")] == ["x[0]", "x[1]", "x[2]", "x[3]"]
    assert "    … and 6 more elements" in lines


@pytest.mark.slow
def test_the_summary_line_is_printed_at_every_verbosity(tmp_path):
    # pytest itself drops "N passed" from -qq on, as when a project's addopts holds -q and the user adds one.
    write(tmp_path, "agrees.yaml", AGREES)
    write(tmp_path, "disagrees.yml", DISAGREES)
    for verbosity in ([], ["-q"], ["-qq"], ["-qqq"]):
        result = pytest_in(tmp_path, "--diffcompare", ".", "--diffcompare-backends", "chainrule", *verbosity)
        output = result.stdout + result.stderr
        assert result.returncode == 1, output
        last = output.strip().splitlines()[-1]
        assert "1 failed, 1 passed in " in last, (verbosity, output)


TAGGED = (
    "name: sin-x-squared\nfunction: sin(x**2)\npoint: {x: 4.0}\ntags: [trig, smooth]\n"
    "---\nname: exp-of-x\nfunction: exp(x)\npoint: {x: 1.0}\ntags: [Overflow]\n"
    "---\nname: square\nfunction: x**2\npoint: {x: 3.0}\n"
)


def collected(folder, *args) -> tuple[list[str], str]:
    """The problems a --collect-only run of folder lists, and its last line."""
    result = pytest_in(folder, "--diffcompare", ".", *args, "--collect-only", "-q")
    output = result.stdout + result.stderr
    assert result.returncode in (0, 5), output
    lines = output.strip().splitlines()
    return [line.split("::")[1] for line in lines if "::" in line], lines[-1]


@pytest.mark.slow
def test_diffcompare_tags_select_problems_carrying_one_of_them(tmp_path):
    write(tmp_path, "problems.yaml", TAGGED)
    # Any of the tags, case-insensitively (spec/select.py, the command line's --tags).
    names, last = collected(tmp_path, "--diffcompare-tags", "overflow,smooth")
    assert names == ["sin-x-squared", "exp-of-x"] and "2/3 tests collected (1 deselected)" in last

    result = pytest_in(
        tmp_path, "--diffcompare", ".", "--diffcompare-tags", "trig", "--diffcompare-backends", "chainrule"
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "1 passed, 2 deselected" in output, output


@pytest.mark.slow
def test_k_matches_the_problem_name(tmp_path):
    write(tmp_path, "problems.yaml", TAGGED)
    names, last = collected(tmp_path, "-k", "sin-x or square")
    assert names == ["sin-x-squared", "square"] and "2/3 tests collected (1 deselected)" in last
    # -k reads the name, not the tags: "trig" is no problem's name.
    names, last = collected(tmp_path, "-k", "trig")
    assert names == [] and "no tests collected (3 deselected)" in last


def test_the_groups_are_the_command_lines():
    """running/grouping.py groups as views/summary.py's ✗ lines do: the same lines, in the same order."""
    from diffcompare.running.grouping import group_rows
    from diffcompare.views.summary import disagreement_lines

    specs = [
        (backend, dtype, "x", str(i), 0.0, 1.0, "the gradient is 0")
        for backend in ("torch", "jax")
        for dtype in ("float32", "float64")
        for i in range(6)
    ]
    specs += [
        ("chainrule", "float32", "x", "0", 0.5, 1.0, "relative error 0.5"),
        ("sympy", "float64", "y", "", 2.0, 1.0, ""),
    ]
    frame = rows(*specs)
    frame["problem"] = ["p"] * 24 + ["q", "q"]
    lines = [group.line() for group in group_rows(frame)]
    assert lines == disagreement_lines(frame)
    assert lines[0] == "p · torch, jax float32 · x[0], x[1], x[2], x[3] and 2 more: the gradient is 0"
