"""One problem through every backend: its rows, built a cell at a time.

A cell is problem × backend × dtype × variable; its rows (one per element) are
built as column arrays, so that a 10⁶-element gradient costs arrays, not a
million dicts: a block (one cell's rows for one result) holds its columns as
diffcompare.running.columns describes, which also builds the frame from the
blocks. A cell that has no values (skipped, or its backend raised) is a
single row for the whole variable, with an empty index. A backend that raises costs its own cell (`error`), a missing
package or a size limit costs its cells (`skipped`), and nothing here lets one
problem take the others down.
"""

from __future__ import annotations

import math

import numpy as np

from diffcompare import backends as registry
from diffcompare.backends import threads as thread_share
from diffcompare.exact.singular import ALL
from diffcompare.exact.truth import truth_of
from diffcompare.running.blame import Explainer
from diffcompare.running.columns import ElementLabels, as_text, coded, compact, contains, join_texts, replaced
from diffcompare.running.verdicts import judge_cell
from diffcompare.spec.operators import describe, results
from diffcompare.spec.problem import DTYPES, Problem


def _block(problem, name, method, dtype, var, columns: dict, whole: bool = False, library: str = "", mode="") -> dict:
    """A cell's rows as columns; scalars are spread over the cell's elements.
    var: one of the operator's results (spec.operators.results: a wrt variable for a gradient).
    whole: a cell without values (skipped, error) is one row for the whole
    result, its index empty, however many elements it has.
    library: the backend's library and version ("torch 2.13.0"), for library_version."""
    shape = _shape(problem, var)
    n = 1 if whole else int(np.prod(shape, dtype=np.int64))
    block = {
        "problem": problem.name,
        "backend": name,
        "dtype": dtype,
        "variable": var,
        "operator": problem.operator,
        "mode": mode,
        "threads": thread_share.current(),
        "index": "" if whole else ElementLabels(tuple(shape)),
        "method": method,
        "file": problem.file,
        "size": problem.size,
        **registry.run_versions(),
        "library_version": library,
        **columns,
    }
    block["_n"] = n
    return block


def _shape(problem, var: str) -> tuple[int, ...]:
    """A result's shape; a name that is no result (a plug-in's own variable) is a point variable's."""
    found = results(problem).get(var)
    return found.shape if found is not None else problem.point[var].shape


def _timing(gradient) -> dict:
    ratio = gradient.time_s / gradient.f_time_s if gradient.f_time_s and gradient.f_time_s > 0 else math.nan
    return {
        "time_s": gradient.time_s,
        "setup_s": gradient.setup_s,
        "f_time_s": gradient.f_time_s,
        "cost_ratio": ratio,
        **gradient.extras,
    }


def chosen_dtypes(offered, dtypes=None) -> list[str]:
    """The dtypes of `offered` (a problem's, or a backend's dtypes_for) that this run asked for
    (dtypes; None: all). A dtype of a backend's own ("decimal", `expected:`) is never filtered out."""
    return [d for d in offered if dtypes is None or d not in DTYPES or d in dtypes]


def problem_blocks(problem: Problem, backends: dict, dtypes=None, rtol=None, atol=None, explainer=None) -> list[dict]:
    explainer = explainer or Explainer()
    rtol = problem.rtol if rtol is None else rtol
    atol = problem.atol if atol is None else atol
    reference, singular, failure = truth_of(problem).judging_basis(registry.error_line)
    kind = reference.kind if reference is not None else ""

    blocks: list[dict] = []
    for name, backend in backends.items():
        if isinstance(backend, registry.Unavailable):
            library = registry.library_version(name, backend)
            for dtype in chosen_dtypes(problem.dtypes, dtypes):
                for var in results(problem):
                    cols = {"verdict": "skipped", "message": backend.message, "reference_kind": kind}
                    blocks.append(_block(problem, name, "", dtype, var, cols, whole=True, library=library))
            continue
        try:
            cells = []
            for dtype in chosen_dtypes(backend.dtypes_for(problem), dtypes):
                cells += _cell_blocks(
                    problem, name, backend, dtype, reference, singular, failure, explainer, rtol, atol
                )
        except Exception as exc:  # a plug-in's bug outside gradient() (dtypes_for, variables) costs its rows only
            cells = failed_cell_blocks(problem, name, registry.error_line(exc), dtypes)
        blocks += cells
    return blocks


def _cell_blocks(problem, name, backend, dtype, reference, singular, failure, explainer, rtol, atol) -> list[dict]:
    """A backend's rows in one dtype: one set per mode in which it computes the operator."""
    method = registry.Method.of(backend.method)  # an unknown one raises: error rows, not the exact rule
    variables = backend.variables(problem)
    kind = reference.kind if reference is not None else ""
    library = registry.library_version(name, backend)

    def whole_rows(cols: dict, mode: str = "") -> list[dict]:
        return [
            _block(problem, name, method.value, dtype, v, cols, whole=True, library=library, mode=mode)
            for v in variables
        ]

    try:
        modes = registry.modes_of(backend, problem)
    except registry.SkipCell as exc:
        return whole_rows({"verdict": "skipped", "message": registry.one_line(exc), "reference_kind": kind})
    if not modes:
        message = f"{name} does not compute {describe(problem.operator)}"
        return whole_rows({"verdict": "skipped", "message": message, "reference_kind": kind})
    blocks = []
    for mode in modes:
        try:
            gradient = registry.compute(backend, problem, dtype, mode)
            for var in variables:
                got, shape = np.shape(gradient.values[var]), _shape(problem, var)
                if got != shape:
                    raise ValueError(f"returned shape {got} for '{var}', expected {shape}")
        except registry.SkipCell as exc:
            cols = {"verdict": "skipped", "message": registry.one_line(exc), "reference_kind": kind}
            blocks += whole_rows(cols, mode)
            continue
        except Exception as exc:
            blocks += whole_rows(
                {"verdict": "error", "message": registry.error_line(exc), "reference_kind": kind}, mode
            )
            continue
        cell = (problem, name, method, dtype, mode, library)
        blocks += _judged_blocks(cell, gradient, variables, reference, singular, failure, explainer, rtol, atol)
    return blocks


def _judged_blocks(cell, gradient, variables, reference, singular, failure, explainer, rtol, atol) -> list[dict]:
    """One mode's values, judged element by element against the reference.
    cell: (problem, backend name, method, dtype, mode, library version)."""
    problem, name, method, dtype, mode, library = cell
    kind = reference.kind if reference is not None else ""
    blocks = []
    for var in variables:
        # The block's own copies (the frame takes a block's arrays as they are): never the arrays
        # a backend or the reference keeps.
        values = np.array(gradient.values[var], dtype=np.float64).ravel()
        estimate = np.array(gradient.bounds[var], dtype=np.float64).ravel() if var in gradient.bounds else None
        cols = {"value": values, "error_estimate": compact(estimate), "reference_kind": kind, **_timing(gradient)}
        if failure:
            cols.update(verdict="error", message=failure)
            blocks.append(_block(problem, name, method.value, dtype, var, cols, library=library, mode=mode))
            continue
        hi, lo = reference.hi[var].ravel(), reference.lo[var].ravel()
        if var in gradient.values_lo:  # (values + values_lo) - (hi + lo) = (values - hi) - (lo - values_lo)
            lo = lo - np.asarray(gradient.values_lo[var], dtype=np.float64).ravel()
        what = "the value" if problem.operator != "gradient" else "the gradient"
        j = judge_cell(values, hi, lo, method=method, dtype=dtype, bounds=estimate, rtol=rtol, atol=atol, what=what)
        verdict, message = j.verdict, j.message
        if var in reference.bound:
            verdict, message = _within_bound(
                j, values, hi, reference.bound[var].ravel(), method, dtype, estimate, rtol, atol
            )
        exact = method in (registry.Method.EXACT, registry.Method.COMPLEX_STEP)
        if exact and problem.operator == "gradient" and (verdict == "disagree").any():
            message = join_texts(message, explainer(problem, dtype, var, j.abs_error, verdict))
        notes = as_text(reference.notes[var])
        if reference.breaks and dtype == "float64":  # what the float64 tape says; an explained row needs no more
            said = contains(notes, reference.breaks)
            explained = contains(as_text(message), "likely cause")
            broke = (verdict == "disagree") & ~np.isfinite(values) & ~said & ~explained
            breaks = coded(broke.astype(np.int8), ["", f"the chain rule in float64 breaks here: {reference.breaks}"])
            message = join_texts(message, breaks)
        message = join_texts(message, notes)
        message = join_texts(message, gradient.message)
        numbers = {"reference": hi.copy(), "abs_error": j.abs_error, "rel_error": j.rel_error, "digits": j.digits}
        numbers.update(ulps=j.ulps, tolerance=j.tolerance)
        special = _special_elements(problem, var, singular)
        if special:
            # Kinks and undefined points: the verdict is about the point, not the backend's value.
            for numbers_key in numbers:
                numbers[numbers_key] = np.array(numbers[numbers_key], dtype=np.float64, copy=True)
            verdict = verdict.copy()
            for flat, item in special:
                verdict[flat] = item.verdict
                if item.replaces_numbers:
                    for column in ("reference", "abs_error", "rel_error", "digits", "ulps"):
                        numbers[column][flat] = np.nan
            # the side as this dtype holds it
            message = replaced(message, [(flat, item.message_for(values[flat], dtype)) for flat, item in special])
        numbers["tolerance"] = compact(numbers["tolerance"])
        cols.update(numbers, verdict=as_text(verdict), message=message)
        blocks.append(_block(problem, name, method.value, dtype, var, cols, library=library, mode=mode))
    return blocks


def _within_bound(j, values, hi, bound, method, dtype, estimate, rtol, atol):
    """Verdicts against a reference known only to within `bound` (the long-double one): a row
    whose verdict differs at hi - bound or hi + bound is `unsettled`, never a guess."""
    verdict, message = j.verdict.copy(), j.message.copy()
    spread = np.where(np.isfinite(bound), bound, np.inf)
    for shifted in (hi - spread, hi + spread):
        other = judge_cell(values, shifted, 0 * hi, method=method, dtype=dtype, bounds=estimate, rtol=rtol, atol=atol)
        flips = np.flatnonzero((other.verdict != j.verdict) & np.isfinite(hi))
        for i in flips:
            verdict[i] = "unsettled"
            message[i] = (
                f"the long-double reference's error estimate ({bound[i]:.2g}) is large enough to change this "
                f"verdict ({j.verdict[i]} at the reference shown)"
            )
    return verdict, message


def cell_shape(problem: Problem, backend, dtypes=None) -> list[tuple[str, str, list[str]]] | None:
    """The (dtype, mode, variables) a backend's cell gives rows for, as problem_blocks would
    build them, known before its gradient runs; None when the backend cannot say (it is
    unavailable, or dtypes_for/variables/modes raise: problem_blocks then has its own rows for it)."""
    if isinstance(backend, registry.Unavailable):
        return None
    try:
        variables = [str(v) for v in backend.variables(problem)]
        modes = [str(m) for m in registry.modes_of(backend, problem)] or [""]
        return [(str(d), m, variables) for d in chosen_dtypes(backend.dtypes_for(problem), dtypes) for m in modes]
    except Exception:
        return None


def failed_cell_blocks(problem: Problem, name: str, message: str, dtypes=None, shape=None) -> list[dict]:
    """error rows for a backend whose worker was killed or died: one per dtype, mode and
    result of shape (cell_shape, as the worker reported it before the gradient started);
    without one, one per dtype of the problem and result of its operator."""
    cols = {"verdict": "error", "message": message}
    if shape is None:
        shape = [(d, "", list(results(problem))) for d in chosen_dtypes(problem.dtypes, dtypes)]
    library = registry.library_version(name)  # the backend is not loaded here: a built-in's is known
    return [
        _block(problem, name, "", d, var, cols, whole=True, library=library, mode=m)
        for d, m, names in shape
        for var in names
    ]


def _special_elements(problem, var, singular) -> list[tuple[int, object]]:
    """(flat position, Singular) for the elements of var that are kinks or undefined."""
    shape = _shape(problem, var)
    if (var, ALL) in singular:
        return [(i, singular[(var, ALL)]) for i in range(int(np.prod(shape)))]
    out = []
    for (name, index), item in singular.items():
        if name == var and index is not ALL:
            out.append((int(np.ravel_multi_index(index, shape)) if shape else 0, item))
    return out
