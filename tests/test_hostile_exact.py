"""The exact side is bounded: a reference that cannot be had (exp(exp(exp(exp(x)))),
a let-graph that is 2^40 operations as a tree) is decided once per problem, in
seconds, as the long-double chain rule with the reason on its rows; never by each
backend's cell waiting out --timeout. The hangs run in a subprocess under a timeout."""

import subprocess
import sys
import textwrap
import time

import mpmath
import pandas as pd
import pytest
from conftest import ROOT, write

from diffcompare.exact import budget
from diffcompare.exact.budget import Deadline, ExactLimit, tree_ops
from diffcompare.exact.numeric import _mp_power
from diffcompare.exact.truth import Truth
from diffcompare.running.options import RunOptions
from diffcompare.spec.problem import build_problems

EXP4 = "name: exp4\nfunction: exp(exp(exp(exp(x))))\npoint: {x: 3.0}\n"
LETS40 = (
    "name: lets40\nlet:\n  a0: x\n"
    + "".join(f"  a{i}: a{i - 1} * a{i - 1} + a{i - 1}\n" for i in range(1, 41))
    + "function: a40\npoint: {x: 0.5}\n"
)


def one(document: dict):
    (problem,), errors = build_problems(document, "t.yaml", "t")
    assert not errors
    return problem


def python(code: str, timeout: float) -> subprocess.CompletedProcess:
    """code in a fresh interpreter: a hang is a failed test, not a stuck suite."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def test_tree_ops_counts_the_let_graph_as_a_tree_without_walking_it():
    lets = {"a0": "x", **{f"a{i}": f"a{i - 1} * a{i - 1} + a{i - 1}" for i in range(1, 41)}}
    problem = one({"let": lets, "function": "a40", "point": {"x": 0.5}})
    # Never a Node in an assert: pytest would show its repr, a dataclass's, which walks the DAG as a tree.
    start = time.perf_counter()
    full, capped = tree_ops(problem.function, 10**30), tree_ops(problem.function)
    assert time.perf_counter() - start < 0.5
    assert full == 2 * 3**40 - 1  # a_i uses a_(i-1) three times
    assert capped == budget.MAX_TREE_OPS + 1
    assert tree_ops(one({"function": "sum(sin(x))", "point": {"x": [1.0, 2.0, 3.0]}}).function) == 1 + 3 * 2
    matmul = one({"function": "sum(W @ x)", "point": {"W": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "x": [1.0, 2.0]}})
    assert tree_ops(matmul.function) == 1 + 3 * (1 + 2 * 1 + 2 * 1)


def test_a_reference_past_an_arguments_magnitude_is_the_long_double_chain_rule_with_the_reason():
    result = python(
        """
        import time
        from diffcompare.spec.problem import build_problems
        from diffcompare.running.runner import run_problems
        (p,), _ = build_problems({"function": "exp(exp(exp(exp(x))))", "point": {"x": 3.0}}, "e.yaml", "exp4")
        start = time.perf_counter()
        frame = run_problems([p], backends=["chainrule", "central"], dtypes=["float64"])
        print(round(time.perf_counter() - start, 1))
        print(set(frame["reference_kind"]), set(frame["verdict"]))
        print(frame["message"].iloc[0])
        """,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    seconds, kinds, message = result.stdout.splitlines()
    assert float(seconds) < 10
    assert kinds.startswith("{'longdouble'}")
    assert "the reference is the long-double chain rule: exp of a number near 10^" in message


def test_a_reference_past_its_deadline_is_the_long_double_chain_rule_with_the_reason():
    # exp(exp(exp(exp(2)))) settles only at 800 digits (0.4 s): well past a deadline of 0.05 s.
    problem = one({"function": "exp(exp(exp(exp(x))))", "point": {"x": 2.0}})
    truth = Truth(problem)
    truth.symbolic  # noqa: B018 (differentiated in time)
    truth._deadline = Deadline(0.05)
    reference = truth.reference
    assert reference.kind == "longdouble"
    assert reference.why == "the exact reference did not settle within 0.05 s"
    late = Truth(problem, _deadline=Deadline(0.0))  # out of time before SymPy is done
    assert late.reference.kind == "longdouble" and "SymPy's limit of 0 s" in late.reference.why
    ordinary = one({"function": "sin(x) * exp(x)", "point": {"x": 0.7}})
    assert Truth(ordinary).reference.kind == "sympy"  # the default deadline leaves ordinary problems alone


def _judged_past_the_deadline(document: dict):
    """judging_basis with the reference built in time and nothing left for the kink search."""
    truth = Truth(one(document))
    truth.reference  # noqa: B018 (built in time)
    truth._deadline = Deadline(0.0)
    return truth.judging_basis(str)


def test_a_kink_search_past_its_deadline_says_so_instead_of_failing_every_row():
    reference, singular, failure = _judged_past_the_deadline(
        {"function": "sum(abs(x))", "point": {"x": [0.0, 1.0, 0.0]}}
    )
    assert reference.kind == "sympy" and failure == ""
    assert set(singular) == {("x", (0,)), ("x", (2,))}  # the elements that reach a step on its kink: x[1] does not
    for item in singular.values():  # f's sides were not computed: nothing is claimed of f
        assert item.verdict == "unsettled" and "did not settle within 0 s" in item.message
        assert "whether f is differentiable in x[" in item.message


def test_the_exact_side_gets_a_third_of_the_cell_timeout_in_the_workers():
    assert budget.for_timeout(None) == budget.DEFAULT_S
    assert budget.for_timeout(300) == budget.DEFAULT_S
    assert budget.for_timeout(6) == 2
    budget.configure(5)
    try:
        assert RunOptions.here().exact_s == 5
    finally:
        budget.configure()
    RunOptions(exact_s=7).apply()
    try:
        assert budget.seconds() == 7
    finally:
        budget.configure()


def test_a_large_exponent_goes_through_exp_and_log_and_gives_mpmaths_answer():
    with mpmath.workdps(50):
        for x, y in [(1.5, 2**40), (-1.5, 2**40 + 1), (-1.0 - 1e-12, 2**40 + 1), (0.999, 2**35), (2.0, -(2**36))]:
            x, y = mpmath.mpf(x), mpmath.mpf(y)
            ours, theirs = _mp_power(x, y), mpmath.power(x, y)
            assert abs(ours - theirs) <= abs(theirs) * mpmath.mpf(10) ** -45
        with pytest.raises(ExactLimit):
            _mp_power(mpmath.mpf(1.5), mpmath.ldexp(1, 20000))


def test_typesetting_a_let_graph_of_2_to_the_40_operations_is_skipped_at_once():
    result = python(
        f"""
        import time
        from diffcompare.spec.files import load_file
        from diffcompare.exact.symbolic import readable_gradient
        from diffcompare.views.html_problem import formulas_html
        from pathlib import Path
        import tempfile
        path = Path(tempfile.mkdtemp()) / "lets40.yaml"
        path.write_text({LETS40!r})
        (problem,), _ = load_file(path)
        start = time.perf_counter()
        assert readable_gradient(problem) == []
        html = formulas_html(problem)
        assert "too large to typeset" in html, html[-300:]
        print(round(time.perf_counter() - start, 1))
        """,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) < 30


@pytest.mark.slow
def test_the_command_line_finishes_both_reproductions_without_waiting_out_the_timeout(tmp_path):
    write(tmp_path, "exp4.yaml", EXP4)
    write(tmp_path, "lets40.yaml", LETS40)
    out = tmp_path / "out"
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "diffcompare", tmp_path, "--out", out, "--timeout", "60"]
        + ["--backends", "sympy,chainrule,central,torch", "--dtypes", "float64"],
        capture_output=True,
        text=True,
        timeout=170,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - start < 120
    frame = pd.read_csv(out / "results.csv", keep_default_na=False)
    assert not frame["message"].str.contains("timed out").any()
    assert set(frame.loc[frame["problem"] == "exp4", "reference_kind"]) == {"longdouble"}
    assert (frame.loc[frame["problem"] == "exp4", "message"].str.contains("past what the reference evaluates")).all()
    lets = frame[frame["problem"] == "lets40"]
    assert "past SymPy's limit" in lets.loc[lets["backend"] == "sympy", "message"].iloc[0]
    assert (out / "report.html").exists()


def test_a_singular_step_past_the_deadline_is_unsettled_never_undefined():
    # The fuzz campaign (seeds 2034, 2035): cos(sqrt(Σx²)) at 0 with 84 and 216 elements ran past
    # the exact side's 10 s under load, and its rows said `undefined`; f is differentiable there.
    document = {"function": "0.5 * cos(sqrt(sum(x ** 2))) + sum(x)", "point": {"x": [0.0, 0.0, 0.0]}}
    _, singular, failure = _judged_past_the_deadline(document)
    assert failure == "" and set(singular) == {("x", (0,)), ("x", (1,)), ("x", (2,))}
    for (_, (i,)), item in singular.items():
        assert item.verdict == "unsettled", item.message
        assert f"x[{i}] is not finite in the chain rule: the derivative of sqrt" in item.message
        assert f"whether f is differentiable in x[{i}] is not known" in item.message
