"""One problem through every backend: its rows, built a cell at a time.

A cell is problem × backend × dtype × variable; its rows (one per element) are
built as column arrays, so that a 10⁶-element gradient costs arrays, not a
million dicts. A block (one cell's rows for one result) holds each column as a
scalar for all its rows, a float64 array, or, for text, a pd.Categorical: a code
per row and each distinct text once (a message repeated over 10⁷ elements is one
string and 10⁷ small integers, never 10⁷ Python strings); its index labels are
ElementLabels(shape), made as Arrow strings only when the frame is built. A cell that has no values (skipped, or its backend raised) is a
single row for the whole variable, with an empty index. A backend that raises costs its own cell (`error`), a missing
package or a size limit costs its cells (`skipped`), and nothing here lets one
problem take the others down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from diffcompare import backends as registry
from diffcompare.backends import threads as thread_share
from diffcompare.exact.singular import ALL
from diffcompare.exact.truth import truth_of
from diffcompare.lang.ir import index_label
from diffcompare.running.blame import Explainer
from diffcompare.running.verdicts import judge_cell
from diffcompare.spec.operators import describe, results
from diffcompare.spec.problem import DTYPES, Problem

COLUMNS = [
    "problem",
    "backend",
    "dtype",
    "variable",
    "index",
    "value",
    "reference",
    "abs_error",
    "rel_error",
    "digits",
    "verdict",
    "time_s",
    "message",
]
EXTRA_COLUMNS = [
    "size",
    "reference_kind",
    "ulps",
    "tolerance",
    "error_estimate",
    "setup_s",
    "f_time_s",
    "cost_ratio",
    "expr_ops",
    "expr_ops_cse",
    "method",
    "file",
    "diffcompare_version",
    "library_version",
    "python_version",
    "operator",
    "mode",
    "threads",
]
TEXT_COLUMNS = [
    "problem",
    "backend",
    "dtype",
    "variable",
    "index",
    "verdict",
    "message",
    "reference_kind",
    "method",
    "file",
    "diffcompare_version",
    "library_version",
    "python_version",
    "operator",
    "mode",
]
INTEGER_COLUMNS = ["size", "threads"]
FLOAT_COLUMNS = [c for c in COLUMNS + EXTRA_COLUMNS if c not in TEXT_COLUMNS and c not in INTEGER_COLUMNS]
# Every text column but the index is categorical: a code per row and each distinct text once, its
# categories in sorted order (so that sorting or grouping by one orders rows as by their text).
# A row's message at 10⁷ elements is 200 bytes as a string and one byte as a code.
# The index, a different label per element, is Arrow strings (pandas' str dtype).
CATEGORICAL_COLUMNS = [c for c in TEXT_COLUMNS if c != "index"]


@dataclass(frozen=True)
class ElementLabels:
    """A block's index column: one label per element of shape, made when the frame is built."""

    shape: tuple[int, ...]


def index_labels(shape: tuple[int, ...]) -> np.ndarray:
    """'' for a scalar, '0' … for a vector, '1,0' … for a matrix: one per element."""
    return np.asarray(_labels(tuple(shape)).to_numpy(zero_copy_only=False), dtype=object)


@lru_cache(maxsize=8)
def _small_labels(shape: tuple[int, ...]):
    import pyarrow as pa

    return pa.array([index_label(i) for i in np.ndindex(shape)], pa.large_string())


def _labels(shape: tuple[int, ...]):
    """index_labels as an Arrow array, built in Arrow: a vector's from its positions, a matrix's
    (its labels '1,0') by joining each axis' position, never a Python string per element."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not shape:
        return pa.array([""], pa.large_string())
    n = int(np.prod(shape, dtype=np.int64))
    if n <= 4096:
        return _small_labels(shape)
    if len(shape) == 1:
        return pc.cast(pa.array(np.arange(n, dtype=np.int64)), pa.large_string())
    axes = [pc.cast(pa.array(a.ravel()), pa.large_string()) for a in np.indices(shape, dtype=np.int64)]
    return pc.binary_join_element_wise(*axes, pa.scalar(",", pa.large_string()))


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


def _text(column, n: int | None = None) -> pd.Categorical:
    """A text column as a pd.Categorical: a str for n rows (n given), an object array of str
    (each distinct one hashed, none copied), or a Categorical as it is."""
    if isinstance(column, pd.Categorical):
        return column
    if n is not None and np.ndim(column) == 0:
        return _coded(np.zeros(n, dtype=np.int8), [column])
    codes, uniques = pd.factorize(np.asarray(column, dtype=object).ravel(), use_na_sentinel=False)
    return _coded(codes, list(uniques))


def _coded(codes: np.ndarray, texts: list) -> pd.Categorical:
    """codes into texts (each str()-ed), texts that say the same merged into one category."""
    texts = [str(t) for t in texts]
    merged = dict.fromkeys(texts)
    if len(merged) < len(texts):
        position = {t: i for i, t in enumerate(merged)}
        codes = np.array([position[t] for t in texts], dtype=np.int64)[codes]
    return pd.Categorical.from_codes(_smallest(codes, len(merged)), pd.Index(list(merged), dtype="str"))


def _smallest(codes: np.ndarray, count: int) -> np.ndarray:
    dtype = np.int8 if count < 2**7 else np.int16 if count < 2**15 else np.int32 if count < 2**31 else np.int64
    return np.asarray(codes).astype(dtype, copy=False)


def _pairs(a: np.ndarray, b: np.ndarray, nb: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (a, b) code pairs, as positions into (a * nb + b) pairs, and each row's pair."""
    pair = a.astype(np.int64) * nb + b
    top = int(pair.max(initial=0)) + 1
    if top <= 4 * pair.size + 1024:  # a table over every pair: linear, no sort
        seen = np.zeros(top, dtype=bool)
        seen[pair] = True
        found = np.flatnonzero(seen)
        rank = np.cumsum(seen) - 1
        return found, rank[pair]
    found, inverse = np.unique(pair, return_inverse=True)
    return found, inverse


def _join(message, extra) -> pd.Categorical:
    """Append extra (a string, or a text per element) to each non-empty or empty message:
    'message; extra', extra alone where the message is empty, the message alone where extra is.
    The join is of each distinct (message, extra) pair, once; the rows get its code."""
    message = _text(message)
    extra = _text(extra, len(message))
    if len(extra) != len(message):
        raise ValueError(f"{len(extra)} texts to join to {len(message)} messages")
    a, b = list(message.categories), list(extra.categories)
    found, codes = _pairs(message.codes, extra.codes, len(b))
    texts = [f"{a[i]}; {b[j]}" if a[i] and b[j] else a[i] or b[j] for i, j in (divmod(int(k), len(b)) for k in found)]
    return _coded(codes, texts)


def _contains(column: pd.Categorical, part: str) -> np.ndarray:
    """Per row: does its text contain part (asked of each distinct text once)."""
    inside = np.array([part in t for t in column.categories], dtype=bool)
    return inside[column.codes] if len(inside) else np.zeros(len(column), dtype=bool)


def _replaced(column: pd.Categorical, changes: list[tuple[int, str]]) -> pd.Categorical:
    """column with the rows at the given positions set to the given texts."""
    texts = list(column.categories)
    position = {t: i for i, t in enumerate(texts)}
    codes = column.codes.astype(np.int64)
    for at, text in changes:
        text = str(text)
        if text not in position:
            position[text] = len(texts)
            texts.append(text)
        codes[at] = position[text]
    return _coded(codes, texts)


def _compact(values):
    """A float column whose rows all hold one value (NaN included) as that value: a scalar
    costs a block nothing to hold or send, and its frame column nothing to build."""
    if values is None:
        return None
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return values
    first = values.flat[0]
    same = np.isnan(values).all() if math.isnan(first) else (values == first).all()
    return float(first) if same else values


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
        cols = {"value": values, "error_estimate": _compact(estimate), "reference_kind": kind, **_timing(gradient)}
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
            message = _join(message, explainer(problem, dtype, var, j.abs_error, verdict))
        notes = _text(reference.notes[var])
        if reference.breaks and dtype == "float64":  # what the float64 tape says; an explained row needs no more
            said = _contains(notes, reference.breaks)
            explained = _contains(_text(message), "likely cause")
            broke = (verdict == "disagree") & ~np.isfinite(values) & ~said & ~explained
            breaks = _coded(broke.astype(np.int8), ["", f"the chain rule in float64 breaks here: {reference.breaks}"])
            message = _join(message, breaks)
        message = _join(message, notes)
        message = _join(message, gradient.message)
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
            message = _replaced(message, [(flat, item.message_for(values[flat], dtype)) for flat, item in special])
        numbers["tolerance"] = _compact(numbers["tolerance"])
        cols.update(numbers, verdict=_text(verdict), message=message)
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


def blocks_to_frame(blocks: list[dict]) -> pd.DataFrame:
    """Concatenate cells into the tidy DataFrame, columns in their fixed order: numbers as
    float64 and int64 arrays, the index as Arrow strings, every other text column categorical.
    Nothing here makes a Python object per row. A frame of one block takes the block's arrays,
    not copies: they are the block's own (_judged_blocks), never a backend's or the reference's,
    and a block is made for one frame (two frames of the same one block would share them)."""
    columns = COLUMNS + EXTRA_COLUMNS
    if not blocks:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in FLOAT_COLUMNS else "str") for c in columns})
    counts = np.array([block["_n"] for block in blocks], dtype=np.int64)
    data: dict = {}
    for column in columns:
        if column == "index":
            data[column] = _index_column(blocks)
        elif column in CATEGORICAL_COLUMNS:
            data[column] = _categorical(column, blocks, counts)
        else:
            dtype = np.int64 if column in INTEGER_COLUMNS else np.float64
            array = _numbers(column, blocks, counts, dtype)
            if any(np.may_share_memory(array, other) for other in data.values() if isinstance(other, np.ndarray)):
                array = array.copy()  # one array in two columns (a bound that is the tolerance): a copy each
            data[column] = array
    return pd.DataFrame(data, columns=columns, copy=False)


def _value(column: str, block: dict):
    value = block.get(column)
    if value is None and column == "threads":  # a problem that failed as a whole (runner._guarded)
        value = thread_share.current()
    if value is None and column in CATEGORICAL_COLUMNS:
        # A problem that failed as a whole (runner._guarded) still says which diffcompare and Python ran it.
        value = registry.run_versions().get(column, "")
    if value is None:
        value = np.nan if column in FLOAT_COLUMNS else ""
    return value


def _numbers(column: str, blocks: list[dict], counts: np.ndarray, dtype) -> np.ndarray:
    values = [_value(column, block) for block in blocks]
    if all(np.ndim(v) == 0 for v in values):
        scalars = np.array(values, dtype=dtype)
        return np.repeat(scalars, counts)
    if len(values) == 1:  # the block's own array (_judged_blocks copies what a backend or the reference holds)
        return np.asarray(values[0], dtype=dtype).reshape(-1)
    out = np.empty(int(counts.sum()), dtype=dtype)
    stops = np.cumsum(counts)
    for value, stop, n in zip(values, stops, counts, strict=True):
        out[stop - n : stop] = value
    return out


def _index_column(blocks: list[dict]):
    import pyarrow as pa

    chunks = []
    for block in blocks:
        value = block.get("index")
        if isinstance(value, ElementLabels):
            chunks.append(_labels(value.shape))
            continue
        if value is None:
            value = ""
        texts = [str(value)] * block["_n"] if np.ndim(value) == 0 else [str(v) for v in np.ravel(value)]
        chunks.append(pa.array(texts, pa.large_string()))
    array = pa.chunked_array(chunks, pa.large_string())
    if array.num_chunks > 1:
        array = pa.chunked_array([array.combine_chunks()])
    return pd.array(array, dtype="str")


def _categorical(column: str, blocks: list[dict], counts: np.ndarray) -> pd.Categorical:
    """One categorical of every block's text (a str for its rows, or a Categorical, or an
    object array), the distinct texts of the whole frame sorted."""
    parts = [_text(_value(column, block), int(n)) for block, n in zip(blocks, counts, strict=True)]
    texts = sorted(set().union(*(p.categories for p in parts)))
    position = {t: i for i, t in enumerate(texts)}
    codes = _smallest(np.empty(int(counts.sum()), dtype=np.int64), len(texts))
    stop = 0
    for part in parts:
        remap = np.array([position[t] for t in part.categories], dtype=codes.dtype)
        codes[stop : stop + len(part)] = remap[part.codes]
        stop += len(part)
    return pd.Categorical.from_codes(codes, pd.Index(texts, dtype="str"))
