"""Rows held as columns (issue 18): a cell's text is codes into its distinct texts, never a Python
string per row; the frame built from blocks says what the row-by-row construction said; results.csv
written from the columns is, byte for byte, what Arrow's CSV writer writes."""

import io
import pickle

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

from diffcompare.backends import registry, threads
from diffcompare.exact import budget
from diffcompare.exact.truth import truth_of
from diffcompare.lang.ir import index_label
from diffcompare.running import cells, columns
from diffcompare.running.cells import problem_blocks
from diffcompare.running.columns import (
    CATEGORICAL_COLUMNS,
    COLUMNS,
    EXTRA_COLUMNS,
    FLOAT_COLUMNS,
    ElementLabels,
    blocks_to_frame,
)
from diffcompare.running.worker import select_backends
from diffcompare.spec.problem import build_problems
from diffcompare.views import files

ROSENBROCK = "sum(100 * (x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2)"


def problem(function: str, point: dict, **more):
    problems, errors = build_problems({"name": "p", "function": function, "point": point, **more}, "f.yaml", "p")
    assert errors == [], errors
    return problems[0]


@pytest.fixture(scope="module")
def rosenbrock_blocks():
    """20,000 rows from one cell, their reference the long-double chain rule's (a note per element)."""
    p = problem(ROSENBROCK, {"x": {"shape": [20_000], "random": "uniform", "low": -1, "high": 1, "seed": 0}})
    budget.configure(0.5)  # the chain rule in mpmath would take seconds: the long-double one at once
    try:
        return problem_blocks(p, select_backends(["chainrule"]), ["float64"])
    finally:
        budget.configure(None)


def test_a_cell_holds_its_text_as_codes_not_a_string_per_row(rosenbrock_blocks):
    (block,) = rosenbrock_blocks
    assert block["_n"] == 20_000
    assert isinstance(block["index"], ElementLabels) and block["index"].shape == (20_000,)
    for column, value in block.items():
        # an object array would be a Python object per row: none crosses from the worker
        assert not (isinstance(value, np.ndarray) and value.dtype == object), column
    for column in ("verdict", "message"):
        assert isinstance(block[column], columns.Coded), column
    # a note per element of the long-double reference, its estimate written to one digit: a few texts
    assert len(block["message"].categories) < 200 < block["_n"]
    assert all("its error is estimated at" in t for t in block["message"].categories)
    # the block crossing the pipe: the numbers' arrays and a byte or two per row of text
    assert len(pickle.dumps(block, protocol=pickle.HIGHEST_PROTOCOL)) < 64 * block["_n"]


def _row_by_row(blocks: list[dict]) -> pd.DataFrame:
    """The frame as it was built before columns: every column broadcast to its rows as an object
    or float array, the text str()-ed."""
    data = {}
    for column in COLUMNS + EXTRA_COLUMNS:
        parts = []
        for block in blocks:
            n, value = block["_n"], block.get(column)
            if isinstance(value, ElementLabels):
                value = [index_label(i) if value.shape else "" for i in np.ndindex(value.shape)]
            elif isinstance(value, (pd.Categorical, columns.Coded)):
                value = np.asarray(value, dtype=object)
            if value is None and column == "threads":
                value = threads.current()
            if value is None and column in CATEGORICAL_COLUMNS:
                value = registry.run_versions().get(column, "")
            if value is None:
                value = np.nan if column in FLOAT_COLUMNS else ""
            kind = np.float64 if column in FLOAT_COLUMNS else object
            parts.append(np.broadcast_to(np.asarray(value, dtype=kind), (n,)))
        data[column] = np.concatenate(parts)
    frame = pd.DataFrame(data)
    for column in ("size", "threads"):
        frame[column] = frame[column].astype("int64")
    return frame


def _same(frame: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(frame.columns) == list(expected.columns)
    for column in frame.columns:
        if column in FLOAT_COLUMNS or column in ("size", "threads"):
            np.testing.assert_array_equal(frame[column].to_numpy(), expected[column].to_numpy(), err_msg=column)
        else:
            assert frame[column].astype(str).tolist() == list(map(str, expected[column].to_numpy())), column


def test_the_frame_says_what_the_rows_said(rosenbrock_blocks):
    matrix = problem("sum(A * A)", {"A": {"shape": [3, 4], "random": "normal", "seed": 1}})
    failed = cells.failed_cell_blocks(matrix, "torch", 'died: "quoted", and, commas', ["float64"])
    blocks = rosenbrock_blocks + problem_blocks(matrix, select_backends(["chainrule", "central"])) + failed
    blocks.append({"problem": "whole", "verdict": "error", "message": "x", "file": "f.yaml", "size": 1, "_n": 1})
    frame = blocks_to_frame(blocks)
    _same(frame, _row_by_row(blocks))
    assert frame["index"].dtype == "str" and frame.loc[20_001, "index"] == "0,1"
    for column in CATEGORICAL_COLUMNS:  # sorted texts: sorting or grouping orders rows as by their text
        categories = list(frame[column].cat.categories)
        assert categories == sorted(categories), column
    assert frame["python_version"].iloc[-1] == registry.run_versions()["python_version"]


def test_a_write_to_the_frame_reaches_no_backend_reference_or_other_column():
    p = problem("sum(sin(x))", {"x": {"shape": [50], "random": "normal", "seed": 2}})
    reference = truth_of(p).reference.hi["x"].copy()
    for backend in ("chainrule", "central"):  # central: its bound is its tolerance, one array
        blocks = problem_blocks(p, select_backends([backend]), ["float64"])
        for frame in (blocks_to_frame(blocks), blocks_to_frame(pickle.loads(pickle.dumps(blocks)))):
            frame.loc[0, "reference"] = 12345.0
            frame.loc[0, "tolerance"] = -1.0
            frame.loc[0, "time_s"] = -1.0
            assert frame.loc[0, "reference"] == 12345.0 and frame.loc[1, "time_s"] == blocks[0]["time_s"]
            assert frame.loc[0, "error_estimate"] != -1.0
            np.testing.assert_array_equal(truth_of(p).reference.hi["x"], reference)


@pytest.mark.parametrize("shape", [(), (1,), (3,), (4097,), (2, 3), (70, 60), (3, 40, 40), (1, 5000)])
def test_index_labels_are_made_in_arrow_as_index_label_makes_them(shape):
    expected = [index_label(i) if shape else "" for i in np.ndindex(shape)]
    assert columns.labels(shape).to_pylist() == expected
    assert columns.index_labels(shape).tolist() == expected


@pytest.mark.parametrize(
    "message, extra",
    [
        (["", "a", "", "a;b"], ""),
        (["", "a", "", "a;b"], "note"),
        (["", "a", "", "a;b"], ["", "", "x", "y"]),
        ([""] * 4, ["x", "x", "", "y"]),
    ],
)
def test_joining_texts_joins_each_distinct_pair_once(message, extra):
    joined = columns.join_texts(
        np.array(message, dtype=object), np.array(extra, dtype=object) if isinstance(extra, list) else extra
    )
    extras = extra if isinstance(extra, list) else [extra] * len(message)
    expected = [f"{m}; {e}" if m and e else m or e for m, e in zip(message, extras, strict=True)]
    assert np.asarray(joined).tolist() == expected
    assert len(joined.categories) == len(set(expected))


def _hostile_frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    numbers = rng.standard_normal(rows) * 10.0 ** rng.integers(-30, 30, rows)
    numbers[:8] = [np.nan, -0.0, 0.0, np.inf, -np.inf, 5e-324, 1e22, 1.4901161193847656e-8]
    texts = ["plain", 'a "quoted" word', "comma, here", "new\nline", "", "ünïcødé ≤", '"', "x\r\ny"]
    codes = rng.integers(-1, len(texts), rows)
    codes[: len(texts)] = np.arange(len(texts))
    index = pd.array([f'{i},"{i % 7}"' if i % 3 else str(i) for i in range(rows)], dtype="str")
    index[5] = pd.NA
    return pd.DataFrame(
        {
            "text": pd.Categorical.from_codes(codes, texts),
            "one text": pd.Categorical.from_codes(np.zeros(rows, dtype=np.int8), ['only "one"']),
            "index": index,
            "number": numbers,
            "constant": np.broadcast_to(np.float64(0.1), (rows,)),
            "missing": np.full(rows, np.nan),
            "ints": np.arange(rows, dtype=np.int64) - 3,
            'a "quoted" name': np.repeat(np.array([-0.0, 0.0]), [rows // 2, rows - rows // 2]),
        }
    )


def _arrow_text(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    pa_csv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), out)
    return out.getvalue()


@pytest.mark.parametrize("rows", [1, 9, 1000])
def test_results_csv_from_columns_is_arrows_text_byte_for_byte(tmp_path, monkeypatch, rows):
    monkeypatch.setattr(files, "CSV_CHUNK_ROWS", 7)  # many chunks, some of one value, the last one short
    frame = _hostile_frame(rows) if rows > 1 else _hostile_frame(9).iloc[:1]
    files.write_csv(frame, tmp_path / "results.csv")
    assert (tmp_path / "results.csv").read_bytes() == _arrow_text(frame)


def test_results_csv_of_a_run_is_arrows_text_byte_for_byte(tmp_path, rosenbrock_blocks, monkeypatch):
    monkeypatch.setattr(files, "CSV_CHUNK_ROWS", 3000)
    matrix = problem("sum(A * A)", {"A": {"shape": [3, 4], "random": "normal", "seed": 1}})
    frame = blocks_to_frame(rosenbrock_blocks + problem_blocks(matrix, select_backends(["chainrule", "central"])))
    files.write_csv(frame, tmp_path / "results.csv")
    written = (tmp_path / "results.csv").read_bytes()
    as_before = frame.astype({c: "str" for c in CATEGORICAL_COLUMNS})  # the frame's text as it was held
    assert written == _arrow_text(as_before) == _arrow_text(frame)
    assert written.count(b"\n") == len(frame) + 1


def test_a_frame_of_other_kinds_of_column_is_written_by_arrow(tmp_path):
    frame = pd.DataFrame({"flag": [True, False], "thing": np.array(["a", None], dtype=object), "n": [1.5, np.nan]})
    files.write_csv(frame, tmp_path / "results.csv")
    assert (tmp_path / "results.csv").read_bytes() == _arrow_text(frame)
    empty = blocks_to_frame([])
    files.write_csv(empty, tmp_path / "empty.csv")
    assert (tmp_path / "empty.csv").read_bytes() == _arrow_text(empty)


def test_counts_of_lists_only_the_texts_the_rows_hold_most_first():
    """A categorical's value_counts() lists every category, the unheld at 0 ('0 agree' in a
    report's chips) and breaks ties by category order; counts_of does neither."""
    frame = pd.DataFrame({"verdict": pd.Categorical(["kink", "error", "error", "kink"], ["agree", "error", "kink"])})
    assert frame["verdict"].value_counts().to_dict() == {"error": 2, "kink": 2, "agree": 0}
    counts = columns.counts_of(frame["verdict"])
    assert list(counts.items()) == [("kink", 2), ("error", 2)]  # ties in the order the rows hold them
    assert list(columns.counts_of(pd.Series(["a", "b", "b"], dtype="str")).items()) == [("b", 2), ("a", 1)]
    assert columns.counts_of(frame["verdict"].iloc[:0]).empty
