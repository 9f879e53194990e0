"""The rows held as columns: the tidy DataFrame's columns, a block's text as codes into its
distinct texts, and the frame built from the blocks without a Python object per row.

A block (one cell's rows for one result: diffcompare.running.cells) holds each column as a
scalar for all its rows, a float64 array, or, for text, Coded: a code per row and
each distinct text once (a message repeated over 10⁷ elements is one string and 10⁷ small
integers, never 10⁷ Python strings); its index labels are ElementLabels(shape), made as Arrow
strings only when the frame is built. The text functions here work on each distinct text
once and give the rows its code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from diffcompare import backends as registry
from diffcompare.backends import threads as thread_share
from diffcompare.lang.ir import index_label

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
    return np.asarray(labels(tuple(shape)).to_numpy(zero_copy_only=False), dtype=object)


@lru_cache(maxsize=8)
def _small_labels(shape: tuple[int, ...]):
    import pyarrow as pa

    return pa.array([index_label(i) for i in np.ndindex(shape)], pa.large_string())


def labels(shape: tuple[int, ...]):
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


class Coded:
    """A block's text column: a code per row into its distinct texts (`categories`), as a
    pd.Categorical holds it, without pandas' construction and validation of one per column of
    every block (0.4 ms each: two thirds of a small problem's cost when each block made one).
    The frame's categoricals are made once per column, from these (blocks_to_frame)."""

    __slots__ = ("codes", "categories")

    def __init__(self, codes: np.ndarray, categories: list[str]):
        self.codes, self.categories = codes, categories

    def __len__(self) -> int:
        return len(self.codes)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """The texts, one per row (an object array: for tests and small frames)."""
        return np.array(self.categories + [""], dtype=object)[self.codes]


def as_text(column, n: int | None = None) -> Coded:
    """A text column as Coded: a str for n rows (n given), an object array of str (each
    distinct one hashed, none copied), a pd.Categorical's codes, or a Coded as it is."""
    if isinstance(column, Coded):
        return column
    if isinstance(column, pd.Categorical):
        return Coded(column.codes, [str(t) for t in column.categories])
    if n is not None and np.ndim(column) == 0:
        return coded(np.zeros(n, dtype=np.int8), [column])
    codes, uniques = pd.factorize(np.asarray(column, dtype=object).ravel(), use_na_sentinel=False)
    return coded(codes, list(uniques))


def coded(codes: np.ndarray, texts: list) -> Coded:
    """codes into texts (each str()-ed), texts that say the same merged into one category."""
    texts = [str(t) for t in texts]
    merged = dict.fromkeys(texts)
    if len(merged) < len(texts):
        position = {t: i for i, t in enumerate(merged)}
        codes = np.array([position[t] for t in texts], dtype=np.int64)[codes]
    return Coded(_smallest(codes, len(merged)), list(merged))


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


def join_texts(message, extra) -> Coded:
    """Append extra (a string, or a text per element) to each non-empty or empty message:
    'message; extra', extra alone where the message is empty, the message alone where extra is.
    The join is of each distinct (message, extra) pair, once; the rows get its code."""
    message = as_text(message)
    extra = as_text(extra, len(message))
    if len(extra) != len(message):
        raise ValueError(f"{len(extra)} texts to join to {len(message)} messages")
    a, b = list(message.categories), list(extra.categories)
    found, codes = _pairs(message.codes, extra.codes, len(b))
    texts = [f"{a[i]}; {b[j]}" if a[i] and b[j] else a[i] or b[j] for i, j in (divmod(int(k), len(b)) for k in found)]
    return coded(codes, texts)


def contains(column: Coded, part: str) -> np.ndarray:
    """Per row: does its text contain part (asked of each distinct text once)."""
    inside = np.array([part in t for t in column.categories], dtype=bool)
    return inside[column.codes] if len(inside) else np.zeros(len(column), dtype=bool)


def replaced(column: Coded, changes: list[tuple[int, str]]) -> Coded:
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
    return coded(codes, texts)


def compact(values):
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
            chunks.append(labels(value.shape))
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
    parts = [as_text(_value(column, block), int(n)) for block, n in zip(blocks, counts, strict=True)]
    texts = sorted(set().union(*(p.categories for p in parts)))
    position = {t: i for i, t in enumerate(texts)}
    codes = _smallest(np.empty(int(counts.sum()), dtype=np.int64), len(texts))
    stop = 0
    for part in parts:
        remap = np.array([position[t] for t in part.categories], dtype=codes.dtype)
        codes[stop : stop + len(part)] = remap[part.codes]
        stop += len(part)
    return pd.Categorical.from_codes(codes, pd.Index(texts, dtype="str"))


def counts_of(column: pd.Series) -> pd.Series:
    """How many rows hold each text, most first, ties in order of first appearance; only the
    texts the rows hold (a categorical's value_counts() also lists its other categories, at 0,
    and breaks ties by category order)."""
    codes, texts = pd.factorize(column, sort=False)
    counts = np.bincount(codes[codes >= 0], minlength=len(texts))
    order = np.argsort(-counts, kind="stable")
    return pd.Series(counts[order], index=pd.Index(np.asarray(texts, dtype=object)[order]), name="count")
