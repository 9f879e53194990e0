"""Judging one computed element against the reference.

Rules (the README explains them to users):
- exact methods (sympy, torch, jax, chainrule, manual, and complex_step, whose
  error is rounding alone) agree when their relative
  error is at most √ε of their dtype: at least half of the dtype's digits are
  right (float64: 1.5e-8, float32: 3.5e-4). Relative only: a float32 0.0 against
  a true 2e-13 is a 100% error, whatever its absolute size.
- finite differences agree when their absolute error is within their own error
  bound (rounding + truncation estimate, computed by the backend).
- `expected` values agree when they are the reference rounded at the precision
  they were written with (6.6918 against 6.69176…); a written 0 only agrees
  with a true 0.
- `tolerance:` in a problem, or --rtol/--atol, replace these rules: a row then
  agrees when rel_error <= rtol or abs_error <= atol.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from diffcompare.backends import Method
from diffcompare.exact.reference import split

VERDICTS = ("agree", "disagree", "kink", "undefined", "unsettled", "error", "skipped")
MAX_DIGITS = 17.0


def exact_rtol(dtype: str) -> float:
    return math.sqrt(float(np.finfo(dtype).eps))


@dataclass
class Judgement:
    verdict: str
    abs_error: float
    rel_error: float
    digits: float
    tolerance: float  # the threshold applied (relative for rtol rules, absolute for bounds)
    message: str = ""
    ulps: float = math.nan  # the error in units in the last place of the row's dtype


def error_arrays(values: np.ndarray, hi: np.ndarray, lo: np.ndarray):
    """abs_error, rel_error (abs where the reference is 0), digits. values - hi is
    exact wherever the two are close (Sterbenz), so subtracting lo afterwards keeps
    the last digits that a float64 comparison would lose."""
    with np.errstate(all="ignore"):
        abs_error = np.abs((values - hi) - lo)
        rel_error = np.where(hi != 0, abs_error / np.abs(hi), abs_error)
        # + 0.0: a 100% error is -log10(1) = -0.0, which clip keeps and people read as "minus zero".
        digits = np.where(rel_error > 0, np.clip(-np.log10(rel_error), 0.0, MAX_DIGITS) + 0.0, MAX_DIGITS)
    digits = np.where(np.isfinite(values), digits, 0.0)
    return abs_error, rel_error, digits


@dataclass
class Judged:
    """Judgements of one cell's elements, as arrays."""

    verdict: np.ndarray
    abs_error: np.ndarray
    rel_error: np.ndarray
    digits: np.ndarray
    ulps: np.ndarray
    tolerance: np.ndarray
    message: np.ndarray


def judge_cell(
    values, hi, lo, *, method: Method | str, dtype: str, bounds=None, rtol=None, atol=None, what="the gradient"
) -> Judged:
    """Verdicts of one cell's values against hi + lo. what: the value's name in messages."""
    method = Method.of(method)
    values, hi, lo = (np.asarray(a, dtype=np.float64).ravel() for a in (values, hi, lo))
    abs_error, rel_error, digits = error_arrays(values, hi, lo)
    finite = np.isfinite(values)
    if dtype in ("float32", "float64"):
        with np.errstate(all="ignore"):
            spacing = np.spacing(np.abs(hi).astype(dtype)).astype(np.float64)
            ulps = abs_error / spacing
    else:
        ulps = np.full(values.shape, np.nan)
    message = np.full(values.shape, "", dtype=object)
    bounds = None if bounds is None else np.asarray(bounds, dtype=np.float64).ravel()
    if rtol is not None or atol is not None:
        r, a = rtol or 0.0, atol or 0.0
        tolerance = np.full(values.shape, r)
        ok = (rel_error <= r) | (abs_error <= a)
        explain = lambda i: (
            f"relative error {rel_error[i]:.2g} > rtol {r:.2g} and absolute error {abs_error[i]:.2g} > atol {a:.2g}"
        )
    elif method is Method.FINITE_DIFFERENCE:
        tolerance = bounds
        ok = abs_error <= bounds
        explain = lambda i: f"error {abs_error[i]:.2g} exceeds the method's own error bound {bounds[i]:.2g}"
        for i in np.flatnonzero(ok & (bounds >= np.abs(hi))):
            message[i] = (
                f"within its error bound {bounds[i]:.2g}, which is larger than the value itself: no digit can be trusted"
            )
    elif method is Method.GIVEN:
        tolerance = bounds
        ok = (abs_error <= bounds * (1 + 1e-9)) & ~((values == 0) & (hi != 0))  # the half unit is a rounded float

        def explain(i):
            if values[i] == 0:
                return f"written as 0, but the true value is {hi[i]:.5g}"
            text = (
                f"not the reference rounded to the digits written: off by {abs_error[i]:.2g}, more than {bounds[i]:.2g}"
            )
            # float32(0.1) printed in full is 0.100000001490116…: many digits, all of them float32's.
            # A short number (480, 0.5) is a float32 too, and says nothing.
            short = len(np.format_float_positional(values[i], unique=True, trim="-").strip("-0.").replace(".", "")) <= 8
            if bounds[i] < 1e-9 * abs(values[i]) and float(np.float32(values[i])) == values[i] and not short:
                text += "; the value is exactly a float32 number printed in full: it was likely computed in float32"
            return text
    else:  # Method.EXACT, Method.COMPLEX_STEP
        r = exact_rtol(dtype)
        tolerance = np.full(values.shape, r)
        ok = (rel_error <= r) & ~((values == 0) & (hi != 0))
        # A true value too small for the dtype at all rounds to 0: then 0 is the right answer.
        tiny = float(np.finfo(dtype).smallest_subnormal) if dtype in ("float32", "float64") else 0.0
        underflow = (values == 0) & (hi != 0) & (np.abs(hi) < tiny / 2)
        ok |= underflow
        for i in np.flatnonzero(underflow):
            message[i] = f"the true value {hi[i]:.5g} is below {dtype}'s smallest number: 0 is its correct rounding"

        def explain(i):
            if values[i] == 0:
                return f"{what} is 0, but the true value is {hi[i]:.5g} (100% error)"
            return f"relative error {rel_error[i]:.2g} > {r:.2g} (√ε of {dtype}): {digits[i]:.1f} digits correct"

    ok &= finite
    for i in np.flatnonzero(~ok):
        message[i] = "non-finite value" if not finite[i] else explain(i)
    abs_error = np.where(finite, abs_error, np.inf)
    rel_error = np.where(finite, rel_error, np.inf)
    verdict = np.array(["disagree", "agree"], dtype=object)[ok.astype(np.intp)]  # two strings, shared by the rows
    return Judged(verdict, abs_error, rel_error, digits, ulps, np.asarray(tolerance, dtype=np.float64), message)


def judge(
    value: float,
    reference,
    *,
    method: Method | str,
    dtype: str,
    bound: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
) -> Judgement:
    """One element: the cell judgement of a single value."""
    hi, lo = split(reference)
    j = judge_cell(
        [value], [hi], [lo], method=method, dtype=dtype, bounds=None if bound is None else [bound], rtol=rtol, atol=atol
    )
    return Judgement(j.verdict[0], j.abs_error[0], j.rel_error[0], j.digits[0], j.tolerance[0], j.message[0], j.ulps[0])


def errors(value: float, reference) -> tuple[float, float, float]:
    """abs_error, rel_error, digits of one value against a high-precision reference."""
    hi, lo = split(reference)
    a, r, d = error_arrays(np.array([float(value)]), np.array([hi]), np.array([lo]))
    return float(a[0]), float(r[0]), float(d[0])
