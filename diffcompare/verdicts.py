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

import mpmath
import numpy as np

VERDICTS = ("agree", "disagree", "kink", "undefined", "error", "skipped")
MAX_DIGITS = 17.0


def exact_rtol(dtype: str) -> float:
    return math.sqrt(float(np.finfo(dtype).eps))


def ulp(reference, dtype: str) -> float:
    """The spacing of dtype's numbers at |reference| (the smallest subnormal at 0)."""
    magnitude = np.asarray(abs(float(reference)), dtype=dtype)
    with np.errstate(over="ignore"):
        return float(np.spacing(magnitude)) if np.isfinite(magnitude) else math.inf


@dataclass
class Judgement:
    verdict: str
    abs_error: float
    rel_error: float
    digits: float
    tolerance: float  # the threshold applied (relative for rtol rules, absolute for bounds)
    message: str = ""
    ulps: float = math.nan  # the error in units in the last place of the row's dtype


def errors(value: float, reference: mpmath.mpf) -> tuple[float, float, float]:
    """abs_error, rel_error (abs where the reference is 0), digits, computed at
    high precision so that the last digits are not lost to rounding here."""
    with mpmath.workdps(60):
        diff = abs(mpmath.mpf(value) - reference)
        rel = diff / abs(reference) if reference != 0 else diff
    abs_error, rel_error = float(diff), float(rel)
    digits = MAX_DIGITS if rel == 0 else min(MAX_DIGITS, max(0.0, -math.log10(rel_error) if rel_error else MAX_DIGITS))
    return abs_error, rel_error, digits


def judge(
    value: float,
    reference: mpmath.mpf,
    *,
    method: str,
    dtype: str,
    bound: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
) -> Judgement:
    if not math.isfinite(value):
        return Judgement("disagree", math.inf, math.inf, 0.0, math.nan, "non-finite value")
    abs_error, rel_error, digits = errors(value, reference)

    ulps = abs_error / ulp(reference, dtype) if dtype in ("float32", "float64") else math.nan

    def verdict(ok: bool, tolerance: float, message: str) -> Judgement:
        verdict = "agree" if ok else "disagree"
        return Judgement(verdict, abs_error, rel_error, digits, tolerance, "" if ok else message, ulps)

    if rtol is not None or atol is not None:
        r, a = rtol or 0.0, atol or 0.0
        return verdict(
            rel_error <= r or abs_error <= a,
            r,
            f"relative error {rel_error:.2g} > rtol {r:.2g} and absolute error {abs_error:.2g} > atol {a:.2g}",
        )
    if method == "finite-difference":
        judged = verdict(
            abs_error <= bound, bound, f"error {abs_error:.2g} exceeds the method's own error bound {bound:.2g}"
        )
        if judged.verdict == "agree" and bound >= abs(reference):
            judged.message = (
                f"within its error bound {bound:.2g}, which is larger than the value itself: no digit can be trusted"
            )
        return judged
    if method == "given":
        if value == 0 and reference != 0:
            return verdict(False, 0.0, f"written as 0, but the true value is {float(reference):.5g}")
        judged = verdict(
            abs_error <= bound * (1 + 1e-9),  # the half unit itself is a rounded float
            bound,
            f"not the reference rounded to the digits written: off by {abs_error:.2g}, more than {bound:.2g}",
        )
        if judged.verdict == "disagree" and bound < 1e-9 * abs(value) and float(np.float32(value)) == value:
            judged.message += (
                "; the value is exactly a float32 number printed in full: it was likely computed in float32"
            )
        return judged
    tolerance = exact_rtol(dtype)
    if value == 0 and reference != 0:
        return verdict(
            False, tolerance, f"the gradient is 0, but the true value is {float(reference):.5g} (100% error)"
        )
    return verdict(
        rel_error <= tolerance,
        tolerance,
        f"relative error {rel_error:.2g} > {tolerance:.2g} (√ε of {dtype}): {digits:.1f} digits correct",
    )
