"""The published suite (benchmarks/published/suite/): every problem through the exact backends.

Each YAML file there is a published test function translated by hand, with `expected:`
gradients computed independently of diffcompare (compute_expected.py: mpmath at 60 and 90
digits on a second transcription). One run of sympy, torch, jax, chainrule and expected in
float64 (about 20 s on 2 shared cores) feeds every test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import diffcompare

SUITE = Path(__file__).resolve().parent.parent / "benchmarks" / "published" / "suite"
EXACT = ("sympy", "torch", "jax", "chainrule")
# (problem, variable) placed on a kink or jump on purpose, and the verdict their descriptions give
DELIBERATE = {
    ("step2-at-a-jump", "a"): "undefined",
    ("mgh07-helical-valley-atan2-cut", "x2"): "kink",
}
# torch has no gamma: its cells are skipped, saying so
SKIPPED = {("gamma-nll", "torch"): "no native 'gamma'"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def frame():
    return diffcompare.run([str(SUITE)], backends=[*EXACT, "expected"], dtypes=["float64"])


def documents():
    return [yaml.safe_load(p.read_text()) for p in sorted(SUITE.glob("*.yaml"))]


def test_every_problem_loads(frame):
    assert frame.attrs["errors"] == []
    docs = documents()
    assert len(docs) >= 40
    assert set(frame["problem"]) == {d["name"] for d in docs}
    assert all(d.get("expected") and d.get("source") for d in docs)


def test_exact_float64_rows_agree(frame):
    rows = frame[frame["backend"].isin(EXACT)]
    assert set(rows["dtype"]) == {"float64"}
    for (problem, backend, variable), group in rows.groupby(["problem", "backend", "variable"]):
        if (problem, variable) in DELIBERATE:
            continue
        verdicts = set(group["verdict"])
        if (problem, backend) in SKIPPED:
            assert verdicts == {"skipped"}, (problem, backend)
            assert all(SKIPPED[problem, backend] in m for m in group["message"])
            continue
        assert verdicts == {"agree"}, (problem, backend, variable, group[["verdict", "message"]].to_string())


def test_deliberate_kinks_and_jumps_earn_their_verdict(frame):
    for (problem, variable), verdict in DELIBERATE.items():
        rows = frame[(frame["problem"] == problem) & (frame["variable"] == variable) & frame["backend"].isin(EXACT)]
        assert set(rows["backend"]) == set(EXACT)
        assert set(rows["verdict"]) == {verdict}, (problem, rows["message"].tolist())
    jump = frame[(frame["problem"] == "step2-at-a-jump") & (frame["variable"] == "a")]
    assert all("jumps by -1" in m for m in jump["message"])
    cut = frame[(frame["problem"] == "mgh07-helical-valley-atan2-cut") & (frame["variable"] == "x2")]
    assert all("1591.55" in m and "-1591.55" in m for m in cut["message"])


def expected_rows(frame):
    rows = frame[frame["backend"] == "expected"]
    assert len(rows) == sum(np.size(v) for d in documents() for v in d["expected"].values())
    return rows


@pytest.mark.xfail(
    strict=True,
    reason="diffcompare finding: an `expected:` number is read into float64 before it is judged, so a "
    "correctly rounded 17-significant-digit value can be off by half a float64 ulp, more than half a unit "
    "of its 17th digit, and is called `disagree` (mgh01-rosenbrock x[1]: -87.999999999999979, true "
    "-87.9999999999999786837...)",
)
def test_expected_rows_agree(frame):
    rows = expected_rows(frame)
    assert set(rows["verdict"]) == {"agree"}, rows[rows["verdict"] != "agree"][["problem", "message"]].to_string()


def test_expected_rows_agree_up_to_reading_them_in_float64(frame):
    """What the finding above leaves: every expected number is the reference to its written digits,
    give or take the half ulp that reading it into float64 costs."""
    rows = expected_rows(frame)
    slack = 0.5 * np.spacing(np.abs(rows["value"].to_numpy()))
    ok = (rows["verdict"] == "agree") | (rows["abs_error"] <= rows["tolerance"] + slack)
    assert ok.all(), rows[~ok][["problem", "variable", "index", "value", "reference", "message"]].to_string()
    assert (rows["verdict"] == "agree").mean() > 0.5
