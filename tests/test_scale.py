"""Scale: generators, sweeps, sizes, the long-double reference, timing columns,
batched finite differences, and parallel runs equal to serial ones."""

import subprocess
import sys

import mpmath
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, write

import diffcompare
from diffcompare.backends import BUILTIN, threads
from diffcompare.engine.batched import AllElements
from diffcompare.engine.chainrule import NUMPY_OPS, numpy_constant, numpy_program, point_in
from diffcompare.engine.differences import OneElement
from diffcompare.exact.truth import truth_of
from diffcompare.running.runner import load_problems, run_problems
from diffcompare.spec.files import load_file
from diffcompare.spec.problem import build_problems

TIME_COLUMNS = ["time_s", "setup_s", "f_time_s", "cost_ratio"]


def one(document):
    problems, errors = build_problems(document, "f.yaml", "p")
    assert errors == [], errors
    return problems


def test_generators_give_the_shapes_and_numbers_asked_for():
    (p,) = one(
        {
            "function": "sum(a) + sum(b) + sum(c) + sum(d)",
            "point": {
                "a": {"shape": [3, 4], "fill": 0.5},
                "b": {"shape": [1000], "random": "normal", "seed": 0},
                "c": {"shape": 500, "random": "uniform", "low": -2, "high": 3, "seed": 1},
                "d": {"linspace": [0, 1, 11]},
            },
        }
    )
    assert p.point["a"].shape == (3, 4) and (p.point["a"] == 0.5).all()
    assert p.point["b"].shape == (1000,) and abs(p.point["b"].mean()) < 0.1 and 0.9 < p.point["b"].std() < 1.1
    assert p.point["c"].min() >= -2 and p.point["c"].max() < 3
    assert np.allclose(p.point["d"], np.linspace(0, 1, 11))
    assert p.size == 12 + 1000 + 500 + 11
    (again,) = one({"function": "sum(b)", "point": {"b": {"shape": [1000], "random": "normal", "seed": 0}}})
    assert np.array_equal(again.point["b"], p.point["b"])  # a seed gives the same numbers every run


@pytest.mark.parametrize(
    "value, message",
    [
        ({"shape": [3], "fill": 1, "seed": 2}, "unknown generator key"),
        ({"shape": [0], "fill": 1}, "positive integer"),
        ({"shape": [10**4, 10**4], "fill": 1}, "the limit is"),
        ({"shape": ["m"], "fill": 1}, "unknown name 'm'"),
        ({"shape": [3], "random": "poisson"}, "normal or uniform"),
        ({"shape": [3], "random": "uniform", "low": 2, "high": 1}, "low < high"),
        ({"linspace": [0, 1]}, "[start, stop, count]"),
        ({"colour": "red"}, "needs one of fill, random or linspace"),
    ],
)
def test_bad_generators_are_one_line_errors(tmp_path, value, message):
    import yaml

    text = yaml.safe_dump({"function": "sum(x)", "point": {"x": value}})
    problems, errors = load_file(write(tmp_path, "g.yaml", text))
    assert problems == [] and len(errors) == 1
    assert "problem 'g': key 'point'" in str(errors[0]) and message in str(errors[0])


def test_a_sweep_makes_one_named_problem_per_value_with_its_size():
    problems = one(
        {
            "name": "ros",
            "function": "sum((x[1:] - x[:-1]) ** 2) / n",
            "point": {"x": {"shape": ["2 * n"], "fill": 1.5}},
            "sweep": {"n": [5, 50]},
        }
    )
    assert [p.name for p in problems] == ["ros[n=5]", "ros[n=50]"]
    assert [p.size for p in problems] == [10, 100]
    assert [p.params for p in problems] == [{"n": 5}, {"n": 50}]
    both = one({"function": "a * x", "point": {"x": 1.0}, "sweep": {"a": [1, 2], "b": [3.5]}})
    assert [p.name for p in both] == ["p[a=1,b=3.5]", "p[a=2,b=3.5]"]


def test_numbers_written_as_text_are_numbers_in_generators_and_sweeps():
    # PyYAML reads 1e-3 (no dot) as the string '1e-3'; everywhere else a problem file means the number.
    (p,) = one(
        {
            "function": "sum(a) + sum(b) + sum(c)",
            "point": {
                "a": {"shape": [2], "fill": "1e-8"},
                "b": {"linspace": ["1e-3", "1e0", 3]},
                "c": {"shape": [4], "random": "uniform", "low": "1e-3", "high": "2e-3"},
            },
        }
    )
    assert (p.point["a"] == 1e-8).all() and np.allclose(p.point["b"], [1e-3, 0.5005, 1.0])
    assert p.point["c"].min() >= 1e-3 and p.point["c"].max() < 2e-3
    swept = one({"function": "s * x", "point": {"x": 1.0}, "sweep": {"s": ["1e-3", 2]}})
    assert [m.params for m in swept] == [{"s": 0.001}, {"s": 2}]
    assert [m.name for m in swept] == ["p[s=0.001]", "p[s=2]"]


def test_sweep_rows_carry_size_and_their_names(tmp_path):
    write(tmp_path, "s.yaml", "function: sum(x**2) * n\npoint:\n  x: {shape: [n], fill: 0.5}\nsweep: {n: [3, 30]}\n")
    frame = diffcompare.run(tmp_path, backends=["chainrule", "sympy"], dtypes=["float64"])
    assert set(frame["problem"]) == {"s[n=3]", "s[n=30]"}
    sizes = frame.groupby("problem")["size"].first().to_dict()
    assert sizes == {"s[n=3]": 3, "s[n=30]": 30}
    # n is a constant in the expression: ∂/∂xᵢ = 2 xᵢ n
    assert np.allclose(frame[frame["problem"] == "s[n=30]"]["value"], 30.0)
    assert (frame["verdict"] == "agree").all()


def test_bad_sweeps(tmp_path):
    for text, message in [
        ("function: x\npoint: {x: 1.0}\nsweep: {n: []}\n", "non-empty list"),
        ("function: x\npoint: {x: 1.0}\nsweep: [1, 2]\n", "mapping"),
        ("function: x\npoint: {x: 1.0}\nsweep: {x: [1, 2]}\n", "also a sweep parameter"),
    ]:
        problems, errors = load_file(write(tmp_path, "w.yaml", text))
        assert problems == [] and errors and message in str(errors[0]), (text, errors)


def test_cost_ratio_is_present_and_positive():
    frame = diffcompare.compare(
        "sum(tanh(W @ x))",
        point={"W": np.arange(12.0).reshape(3, 4) / 10, "x": [0.1, -0.2, 0.3, 0.05]},
        wrt=["W"],
        backends=["sympy", "torch", "jax", "chainrule", "central", "richardson", "complex_step", "manual"],
        manual={"W": "x * 0 + 1"},
    )
    timed = frame[frame["verdict"] != "skipped"]
    assert set(timed["backend"]) >= {"sympy", "torch", "jax", "chainrule", "central", "richardson", "complex_step"}
    for column in TIME_COLUMNS:
        assert (timed[column] > 0).all(), column
    sympy_rows = frame[frame["backend"] == "sympy"]
    assert (sympy_rows["expr_ops"] >= sympy_rows["expr_ops_cse"]).all() and (sympy_rows["expr_ops_cse"] > 0).all()


def test_past_sympys_limit_the_reference_is_the_chain_rule_in_mpmath():
    (small,) = one({"function": "sum(sin(x))", "point": {"x": {"shape": [10], "fill": 0.3}}})
    (large,) = one({"function": "sum(sin(x))", "point": {"x": {"shape": [6000], "fill": 0.3}}})
    assert truth_of(small).reference.kind == "sympy" and truth_of(large).reference.kind == "mpmath"
    frame = run_problems([large], backends=["sympy", "chainrule", "central"], dtypes=["float64"])
    by = {b: frame[frame["backend"] == b] for b in ("sympy", "chainrule", "central")}
    assert len(by["sympy"]) == 1 and by["sympy"]["verdict"].iloc[0] == "skipped"
    assert "SymPy's limit" in by["sympy"]["message"].iloc[0]
    assert len(by["central"]) == 1 and "past the cap" in by["central"]["message"].iloc[0]
    assert len(by["chainrule"]) == 6000 and (by["chainrule"]["verdict"] == "agree").all()
    assert (frame["reference_kind"] == "mpmath").all()
    assert (by["chainrule"]["reference"] == float(mpmath.cos(mpmath.mpf(0.3)))).all()  # correctly rounded


def test_batched_differences_equal_one_element_at_a_time():
    (p,) = one(
        {
            "function": "sum(tanh(A @ v) * v[0]) + logsumexp(A[:, 1]) + prod(v) + norm(A) + dot(v, v) + v @ A @ v",
            "point": {
                "A": {"shape": [3, 3], "random": "normal", "seed": 7},
                "v": {"shape": [3], "random": "uniform", "low": 0.5, "high": 1, "seed": 8},
            },
        }
    )
    inputs = point_in(p.point, "float64")
    single = OneElement(numpy_program(p.function, "float64"), inputs)
    every = AllElements(p.function, inputs, NUMPY_OPS, numpy_constant("float64"))
    for var in ("A", "v"):
        new = inputs[var].ravel() + 0.01
        batched = every.at(var, new)
        looped = [single(var, np.unravel_index(i, inputs[var].shape), new[i]) for i in range(new.size)]
        assert np.allclose(batched, looped, rtol=1e-13, atol=0)


# Every built-in but tensorflow, whose import (6 s and 0.7 GB in each of three processes) would
# be most of this test's time; tests/test_tensorflow_backend.py runs it in workers.
BUT_TF = ",".join(name for name in BUILTIN if name != "tensorflow")


@pytest.mark.slow
def test_jobs_2_equals_jobs_1_but_for_time_columns(tmp_path):
    folder = tmp_path / "problems"
    folder.mkdir()
    for name in ("sin_x_squared.yaml", "mean_of_squares.yaml", "relu_at_kink.yaml", "log_at_zero.yaml"):
        (folder / name).write_text((ROOT / "problems" / name).read_text())
    write(folder, "sweep.yaml", "function: sum(x**3)\npoint:\n  x: {shape: [n], fill: 0.7}\nsweep: {n: [2, 20]}\n")
    frames = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        result = subprocess.run(
            [sys.executable, "-m", "diffcompare", str(folder), "--out", str(out), "--jobs", jobs, "--backends", BUT_TF],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        frames.append(pd.read_csv(out / "results.csv", keep_default_na=False))
    # The threads each cell was given differ too (every core in one process, a share in each worker).
    assert set(frames[1]["threads"]) == {threads.per_worker(2)}
    serial, parallel = (f.drop(columns=[*TIME_COLUMNS, "threads"]) for f in frames)
    pd.testing.assert_frame_equal(serial, parallel, check_exact=True)
    assert len(serial) > 100


def test_another_executor_can_be_dropped_in():
    from concurrent.futures import ThreadPoolExecutor

    problems, _ = load_problems([ROOT / "problems"])
    problems = problems[:6]
    serial = run_problems(problems, backends=["sympy", "chainrule"])
    with ThreadPoolExecutor(2) as executor:
        threaded = run_problems(problems, backends=["sympy", "chainrule"], executor=executor)
    columns = [c for c in serial.columns if c not in TIME_COLUMNS]
    pd.testing.assert_frame_equal(serial[columns], threaded[columns], check_exact=True)
