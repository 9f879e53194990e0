"""A step's rounding is an ulp of its result, except where it is not: a sum that cancels rounds
its partial sums, which are as large as Σ|terms| (and lgamma near its zeros). Finite
differences' bounds rest on it: here they must cover the true error where a matmul cancels."""

from __future__ import annotations

import numpy as np
import pytest

import diffcompare
from diffcompare.lang.primitives import PRIMITIVES

A = np.array([[1.0, -2.0], [3.0, 0.5]])
B = np.array([[0.5, 1.0], [0.25, -4.0]])
X = np.array([1.0, -1.0, 0.5])


@pytest.mark.parametrize(
    "name, args, params, expected",
    [
        ("matmul", (A, B), {}, np.abs(A) @ np.abs(B)),
        ("sum", (X,), {}, 2.5),
        ("sum", (A,), {"axis": (1,)}, np.array([3.0, 3.5])),
        ("mean", (X,), {}, 2.5 / 3),
        ("dot", (X, X), {}, 2.25),
        ("sin", (X,), {}, np.abs(np.sin(X))),  # an ulp of the result
    ],
)
def test_rounding_scale_is_the_size_of_the_partial_results(name, args, params, expected):
    prim = PRIMITIVES[name]
    ans = prim.forward(*args, **params)
    np.testing.assert_allclose(prim.rounding_scale(ans, *args, **params), expected, rtol=1e-15)


@pytest.mark.slow
def test_central_bounds_cover_a_jacobian_whose_rows_cancel():
    # tanh(W @ x / 2) with rows of W @ x that cancel to a few hundredths: the rounding of each
    # row is ε·Σ|W_ij x_j|, 30x an ulp of the row; with |W @ x| the bound was 3x too small.
    rng = np.random.default_rng(4)
    frame = diffcompare.compare(
        "tanh(W @ x / 2)",
        point={"W": rng.standard_normal((64, 4)), "x": rng.standard_normal(4)},
        wrt=["x"],
        operator="jacobian",
        backends=["central", "richardson"],
        dtypes=["float64"],
    )
    assert len(frame) == 2 * 64 * 4
    within = frame["abs_error"] <= frame["tolerance"]
    assert within.all(), frame.loc[~within, ["backend", "index", "abs_error", "tolerance"]]
    assert (frame["verdict"] == "agree").all()
