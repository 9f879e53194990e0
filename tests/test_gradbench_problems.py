"""GradBench's evaluations as problems (benchmarks/gradbench/problems/): llsq, lse, gmm, det, kmeans.

Each file is one of GradBench's evaluations at a small size, with `expected:` derivatives written
by benchmarks/gradbench/compute_expected.py from a second transcription in mpmath (60 and 90
digits, and a closed form where there is one). Here: every file names its source; the files are
what the script writes now (so an edited point cannot keep stale numbers); the numbers match
closed forms written again below in NumPy; and one run of sympy, torch, jax, chainrule and
expected in float64 agrees with them, the kmeans Hessian included.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import yaml

import diffcompare

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "benchmarks" / "gradbench" / "problems"
SCRIPT = ROOT / "benchmarks" / "gradbench" / "compute_expected.py"
EXACT = ("sympy", "torch", "jax", "chainrule")
EVALS = {"llsq", "lse", "gmm", "det", "kmeans"}


def documents() -> dict[str, dict]:
    docs = [yaml.safe_load(p.read_text()) for p in sorted(FOLDER.glob("*.yaml"))]
    return {d["name"]: d for d in docs}


def expected(doc: dict, name: str) -> np.ndarray:
    return np.array(doc["expected"][name], dtype=float)


def test_every_file_names_its_gradbench_source():
    docs = documents()
    covered = set()
    for name, doc in docs.items():
        assert "gradbench" in doc["tags"], name
        assert "github.com/gradbench/gradbench" in doc["source"], name
        evaluation = name.split("-")[1]
        assert f"cpp/gradbench/evals/{evaluation}.hpp" in doc["source"], name
        assert f"gradbench/evals/{evaluation}/" in doc["source"], name  # its generator (run.py, data_gen.py)
        assert "validator" in doc["description"] and "1e-4" in doc["description"], name
        assert set(doc["expected"]) == set(doc["wrt"]), name
        covered.add(evaluation)
    assert covered == EVALS
    assert docs["gradbench-kmeans-gradient"].get("operator", "gradient") == "gradient"
    assert docs["gradbench-kmeans-hessian"]["operator"] == "hessian"


def test_the_files_are_what_the_script_writes(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPT.parent))  # the script imports its evaluations.py beside it
    spec = importlib.util.spec_from_file_location("gradbench_compute_expected", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setattr(script, "OUT", tmp_path)
    script.main()
    written = sorted(p.name for p in tmp_path.glob("*.yaml"))
    assert written == sorted(p.name for p in FOLDER.glob("*.yaml"))
    for name in written:
        assert (tmp_path / name).read_text() == (FOLDER / name).read_text(), name


def test_expected_numbers_match_closed_forms_in_numpy():
    """The written numbers against each derivative derived by hand again, in float64."""
    docs = documents()

    llsq = docs["gradbench-llsq"]["point"]
    x, t, s = (np.array(llsq[k], dtype=float) for k in ("x", "t", "s"))
    powers = np.vander(t, len(x), increasing=True)  # t_i ** j
    residual = s - powers @ x
    np.testing.assert_allclose(expected(docs["gradbench-llsq"], "x"), -powers.T @ residual, rtol=1e-13)

    x = np.array(docs["gradbench-lse"]["point"]["x"])
    np.testing.assert_allclose(expected(docs["gradbench-lse"], "x"), np.exp(x) / np.exp(x).sum(), rtol=1e-14)

    a = np.array(docs["gradbench-det"]["point"]["A"])
    cofactors = np.linalg.det(a) * np.linalg.inv(a).T
    np.testing.assert_allclose(expected(docs["gradbench-det"], "A"), cofactors, rtol=1e-12)

    point = docs["gradbench-kmeans-gradient"]["point"]
    p, c = np.array(point["points"]), np.array(point["centroids"])
    nearest = np.argmin(((p[:, None, :] - c[None, :, :]) ** 2).sum(axis=2), axis=1)
    grad = np.array([2 * (c[j] - p[nearest == j]).sum(axis=0) for j in range(len(c))])
    np.testing.assert_allclose(expected(docs["gradbench-kmeans-gradient"], "centroids"), grad, rtol=1e-14)
    counts = np.bincount(nearest, minlength=len(c))
    hessian = np.einsum(
        "ja,jk,ab->jakb", np.repeat(2.0 * counts[:, None], c.shape[1], axis=1), np.eye(len(c)), np.eye(2)
    )
    assert np.array_equal(expected(docs["gradbench-kmeans-hessian"], "centroids"), hessian)
    # GradBench's dir (J / diag H) is each centroid minus the mean of its points
    direction = grad / np.diagonal(hessian.reshape(c.size, c.size)).reshape(c.shape)
    np.testing.assert_allclose(direction, [c[j] - p[nearest == j].mean(axis=0) for j in range(len(c))], rtol=1e-12)


def test_gmm_alpha_gradient_is_responsibilities_less_the_weights():
    """∂/∂α_k = Σ_i r_ik − n softmax(α)_k, r_ik the posterior responsibility of component k for x_i."""
    doc = documents()["gradbench-gmm"]
    pt = {k: np.array(v, dtype=float) for k, v in doc["point"].items()}
    alpha, means, icf, x = pt["alpha"], pt["means"], pt["icf"], pt["x"]
    terms = []
    for k in range(len(alpha)):
        q = np.diag(np.exp(icf[k, :2])) + np.array([[0.0, 0.0], [icf[k, 2], 0.0]])
        centred = (x - means[k]) @ q.T
        terms.append(alpha[k] + icf[k, :2].sum() - 0.5 * (centred**2).sum(axis=1))
    terms = np.array(terms).T  # (n, k)
    resp = np.exp(terms - terms.max(axis=1, keepdims=True))
    resp /= resp.sum(axis=1, keepdims=True)
    weights = np.exp(alpha) / np.exp(alpha).sum()
    np.testing.assert_allclose(expected(doc, "alpha"), resp.sum(axis=0) - len(x) * weights, rtol=1e-12)


@pytest.fixture(scope="module")
def frame():
    return diffcompare.run([str(FOLDER)], backends=[*EXACT, "expected"], dtypes=["float64"])


@pytest.mark.slow
def test_exact_backends_and_expected_agree(frame):
    assert frame.attrs["errors"] == []
    docs = documents()
    assert set(frame["problem"]) == set(docs)
    gradients = frame[frame["operator"] == "gradient"]
    assert set(gradients["backend"]) == {*EXACT, "expected"}
    for (problem, backend, variable), group in gradients.groupby(["problem", "backend", "variable"]):
        assert set(group["verdict"]) == {"agree"}, (problem, backend, variable, group["message"].tolist())
    # the written numbers, the kmeans Hessian's too, each judged against the exact reference
    rows = frame[frame["backend"] == "expected"]
    assert len(rows) == sum(np.size(v) for d in docs.values() for v in d["expected"].values())
    assert set(rows["verdict"]) == {"agree"}, rows[rows["verdict"] != "agree"]["message"].tolist()


@pytest.mark.slow
def test_kmeans_hessian_of_torch_and_jax_agrees_in_each_mode(frame):
    """Both AD Hessians in every mode they offer: agree with the reference, and equal the written matrix."""
    written = expected(documents()["gradbench-kmeans-hessian"], "centroids").ravel()
    rows = frame[(frame["problem"] == "gradbench-kmeans-hessian") & frame["backend"].isin(["torch", "jax"])]
    assert set(rows["backend"]) == {"torch", "jax"}
    for (backend, mode), group in rows.groupby(["backend", "mode"]):
        assert set(group["verdict"]) == {"agree"}, (backend, mode, group["message"].iloc[0])
        assert len(group) == written.size
        np.testing.assert_allclose(group["value"].to_numpy(), written, rtol=1e-13, atol=0)
