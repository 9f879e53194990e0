"""The streamed Parquet dataset (running/dataset.py) and the views derived from it
(views/derived.py): chunking, out-of-order arrival, resume, the fixed schema, and
results.csv, summary.md and report.html made from the parts, committed all or nothing."""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from diffcompare.running import dataset as ds
from diffcompare.running.columns import blocks_to_frame
from diffcompare.running.runner import load_problems, run_problems
from diffcompare.spec.problem import build_problem
from diffcompare.views import derived
from diffcompare.views.files import OutputError, write_csv, write_reports
from diffcompare.views.summary import verdict_line

ROOT = Path(__file__).resolve().parent.parent
FILES = ["abs_at_kink", "blame_cos_of_input", "blame_per_element", "chain_two_steps", "clamp_at_bound"]
FILES += ["fd_data_vector_matrix", "fd_stack_matrix", "logistic_bce"]
SETTINGS = {"backends": ["chainrule", "central"], "dtypes": None, "rtol": None, "atol": None}


@pytest.fixture(scope="module")
def run():
    """Eight real problems (scalars, vectors, matrices; agree, disagree, kink rows) and each
    one's blocks, as a run's `finished` holds them."""
    problems, errors = load_problems([ROOT / "problems" / f"{name}.yaml" for name in FILES])
    assert not errors and len(problems) == 8
    finished: dict = {}
    run_problems(problems, backends=SETTINGS["backends"], finished=finished)
    return problems, finished


def _whole(finished, positions=None) -> pd.DataFrame:
    positions = sorted(finished) if positions is None else sorted(positions)
    return blocks_to_frame([b for p in positions for b in finished[p]])


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _writer(tmp_path, problems, **kw):
    return ds.DatasetWriter(tmp_path / ds.PARTIAL_NAME, problems, SETTINGS, **kw)


def test_the_manifest_is_written_before_any_rows_and_names_the_run(tmp_path, run):
    problems, _ = run
    writer = _writer(tmp_path, problems)
    assert _names(writer.folder) == [ds.MANIFEST_NAME] and len(writer) == 0 and writer.done == frozenset()
    manifest = json.loads((writer.folder / ds.MANIFEST_NAME).read_text())
    assert [p["name"] for p in manifest["problems"]] == [p.name for p in problems]
    assert all(len(p["sha256"]) == 64 for p in manifest["problems"])
    assert manifest["settings"] == SETTINGS and manifest == ds.fingerprint(problems, SETTINGS)


def test_parts_are_chunks_of_problems_in_position_order(tmp_path, run):
    problems, finished = run
    writer = _writer(tmp_path, problems, chunk_problems=3)
    for position in range(8):
        writer[position] = finished[position]
    assert _names(writer.folder) == [ds.MANIFEST_NAME, "part-0000000-0000002.parquet", "part-0000003-0000005.parquet"]
    assert len(writer) == 8 and 7 in writer and writer.files_written == 2
    writer.flush()
    assert _names(writer.folder)[-1] == "part-0000006-0000007.parquet" and writer.files_written == 3
    assert writer.rows_written == len(_whole(finished))
    part = pq.read_table(writer.folder / "part-0000003-0000005.parquet").to_pandas()
    assert list(part["problem"].unique()) == [p.name for p in problems[3:6]]  # its problems in position order


def test_parts_are_cut_by_rows_too(tmp_path, run):
    problems, finished = run
    rows = [sum(b["_n"] for b in finished[p]) for p in range(8)]
    limit = rows[0] + rows[1]
    writer = _writer(tmp_path, problems, chunk_rows=limit)
    for position in range(8):
        writer[position] = finished[position]
    writer.flush()
    expected, first, held = [], 0, 0
    for position, n in enumerate(rows):
        held += n
        if held >= limit or position == 7:
            expected.append(f"part-{first:07d}-{position:07d}.parquet")
            first, held = position + 1, 0
    assert _names(writer.folder)[1:] == expected and expected[0] == "part-0000000-0000001.parquet"


def test_out_of_order_problems_wait_for_their_run_and_flush_writes_past_a_gap(tmp_path, run):
    problems, finished = run
    writer = _writer(tmp_path, problems, chunk_problems=3)
    for position in (2, 0, 5, 4):
        writer[position] = finished[position]
    assert _names(writer.folder) == [ds.MANIFEST_NAME]  # no run of three consecutive problems yet
    writer[1] = finished[1]
    assert _names(writer.folder)[1:] == ["part-0000000-0000002.parquet"]
    assert len(writer) == 5 and 3 not in writer and 4 in writer and list(writer) == [0, 1, 2, 4, 5]
    writer[7] = finished[7]
    writer.flush()  # as on Ctrl-C: every finished problem on disk, each run of positions its own part
    assert _names(writer.folder)[1:] == [
        "part-0000000-0000002.parquet",
        "part-0000004-0000005.parquet",
        "part-0000007-0000007.parquet",
    ]
    assert ds.done_positions(writer.folder) == {0, 1, 2, 4, 5, 7}
    pd.testing.assert_frame_equal(ds.read_dataset(writer.folder), _whole(finished, [0, 1, 2, 4, 5, 7]))
    # A written problem's rows read back from its part as one block: the same frame.
    pd.testing.assert_frame_equal(
        blocks_to_frame([b for p in writer for b in writer[p]]), ds.read_dataset(writer.folder)
    )
    with pytest.raises(KeyError):
        writer[3]


def test_resume_skips_the_problems_on_disk_and_completes_the_run(tmp_path, run):
    problems, finished = run
    writer = _writer(tmp_path, problems, chunk_problems=2)
    for position in (0, 1, 2, 6):
        writer[position] = finished[position]
    writer.flush()
    del writer  # the process ends (Ctrl-C, a lost client)
    again = _writer(tmp_path, problems, chunk_problems=2, resume=True)
    assert again.done == {0, 1, 2, 6} and len(again) == 4 and 6 in again
    with pytest.raises(ValueError, match="already on disk"):
        again[1] = finished[1]
    for position in sorted(set(range(8)) - again.done):
        again[position] = finished[position]
    again.flush()
    assert ds.done_positions(again.folder) == set(range(8))
    pd.testing.assert_frame_equal(ds.read_dataset(again.folder), _whole(finished))


def test_resume_refuses_a_folder_of_another_run(tmp_path, run):
    problems, finished = run
    writer = _writer(tmp_path, problems)
    writer[0] = finished[0]
    writer.flush()
    folder = writer.folder
    with pytest.raises(ds.RunMismatch, match="the setting 'rtol' differs") as info:
        ds.DatasetWriter(folder, problems, {**SETTINGS, "rtol": 1e-3}, resume=True)
    assert str(info.value).startswith(f"{folder}: not this run's results") and "\n" not in str(info.value)
    with pytest.raises(ds.RunMismatch, match="7 in this run"):
        ds.DatasetWriter(folder, problems[1:], SETTINGS, resume=True)
    document = dict(problems[2].document, point={"x": [0.25, 1.0]})
    changed = build_problem(document, problems[2].file, problems[2].default_name, problems[2].params)
    assert changed.name == problems[2].name
    with pytest.raises(ds.RunMismatch, match=f"at problem 3, '{problems[2].name}': its document differs"):
        ds.DatasetWriter(folder, [*problems[:2], changed, *problems[3:]], SETTINGS, resume=True)
    with pytest.raises(ds.RunMismatch, match="no such folder"):
        ds.DatasetWriter(tmp_path / "elsewhere", problems, SETTINGS, resume=True)
    (folder / ds.MANIFEST_NAME).unlink()
    with pytest.raises(ds.RunMismatch, match="no _run.json"):
        ds.DatasetWriter(folder, problems, SETTINGS, resume=True)
    assert ds.done_positions(folder) == {0}  # a refused resume leaves the rows as they were
    fresh = ds.DatasetWriter(folder, problems, SETTINGS)  # a fresh run starts over
    assert _names(folder) == [ds.MANIFEST_NAME] and fresh.done == frozenset()


def test_one_schema_for_every_part_whatever_it_holds(tmp_path, run):
    """A part of one error row (its text columns one value, its numbers all NaN), a problem with
    no rows at all, and real parts: one schema, and pd.read_parquet reads the mix."""
    problems, finished = run
    error = [{"problem": problems[1].name, "verdict": "error", "message": "boom", "file": "f.yaml", "size": 1, "_n": 1}]
    writer = _writer(tmp_path, problems[:4], chunk_problems=1)
    writer[0] = finished[0]
    writer[1] = error
    writer[2] = []
    writer[3] = finished[3]
    assert len(_names(writer.folder)) == 5 and writer.rows_written == len(_whole(finished, [0, 3])) + 1
    schemas = {str(pq.read_schema(path).remove_metadata()) for path in writer.folder.glob("part-*")}
    assert schemas == {str(ds._schema())}
    expected = blocks_to_frame(finished[0] + error + finished[3])
    assert blocks_to_frame(error)[["value", "reference", "rel_error", "time_s"]].isna().all().all()  # all-NaN columns
    pd.testing.assert_frame_equal(ds.read_dataset(writer.folder), expected)
    by_pandas = pd.read_parquet(writer.folder)
    # pd.read_parquet: the same rows and dtypes; a categorical's categories in the order pyarrow
    # meets them (part by part), not sorted over the run: the same set.
    pd.testing.assert_frame_equal(by_pandas, expected, check_categorical=False)
    for column in expected:
        if isinstance(expected[column].dtype, pd.CategoricalDtype):
            assert set(by_pandas[column].cat.categories) == set(expected[column].cat.categories)
        else:
            assert by_pandas[column].dtype == expected[column].dtype, column
    assert np.array_equal(by_pandas["value"].to_numpy().view(np.int64), expected["value"].to_numpy().view(np.int64))
    assert writer[2] == [] and len(ds.read_dataset(writer.folder)) == len(expected)
    assert writer[1][0]["_n"] == 1


def test_an_empty_dataset_reads_as_the_empty_frame(tmp_path, run):
    writer = _writer(tmp_path, run[0])
    pd.testing.assert_frame_equal(ds.read_dataset(writer.folder), blocks_to_frame([]))
    assert list(ds.iter_parts(writer.folder)) == [] and ds.row_count(writer.folder) == 0


def _partial(tmp_path, run, chunk_problems=3) -> Path:
    problems, finished = run
    writer = ds.DatasetWriter(tmp_path / "out" / ds.PARTIAL_NAME, problems, SETTINGS, chunk_problems=chunk_problems)
    for position in (1, 0, 4, 3, 2, 7, 6, 5):
        writer[position] = finished[position]
    writer.flush()
    return writer.folder


def test_the_views_of_a_small_dataset_are_write_reports_own(tmp_path, run):
    problems, _ = run
    partial = _partial(tmp_path, run)
    frame = ds.read_dataset(partial)
    write_reports(frame, ["bad.yaml: problem 'x': oops"], tmp_path / "direct", problems)
    out = partial.parent
    (out / "results.parquet").write_text("an older run's single file")
    paths = derived.write_reports_from_dataset(partial, ["bad.yaml: problem 'x': oops"], out, problems)
    assert [p.name for p in paths] == ["results.csv", "results.parquet", "summary.md", "report.html"]
    for name in ("results.csv", "summary.md", "report.html"):
        assert (out / name).read_bytes() == (tmp_path / "direct" / name).read_bytes(), name
    assert not partial.exists() and (out / "results.parquet").is_dir()
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "results.csv", "results.parquet", "summary.md"]
    pd.testing.assert_frame_equal(ds.read_dataset(out / "results.parquet"), frame)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"), frame, check_categorical=False)


def test_ranks_order_each_group_by_relative_error_nan_first():
    frame = pd.DataFrame(
        {c: pd.Categorical(["p"] * 5) for c in derived.GROUP}
        | {"rel_error": [0.1, np.nan, 0.3, 0.3, 0.0], "verdict": pd.Categorical(["agree"] * 4 + ["disagree"])}
    )
    assert derived.ranks(frame).tolist() == [3, 0, 1, 2, 0]


@pytest.mark.parametrize("batch", [derived.BATCH_ROWS, 7, 1])
def test_past_report_rows_the_views_are_a_sample_that_says_so(tmp_path, run, monkeypatch, batch):
    problems, _ = run
    partial = _partial(tmp_path, run)
    frame = ds.read_dataset(partial)
    write_csv(frame, tmp_path / "whole.csv")
    monkeypatch.setattr(derived, "BATCH_ROWS", batch)
    monkeypatch.setattr(derived, "REPORT_ROWS", 10)
    monkeypatch.setattr(derived, "SAMPLE_PER_GROUP", (2, 1))
    out = partial.parent
    derived.write_reports_from_dataset(partial, [], out, problems)
    assert (out / "results.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()  # every row, part by part
    sample = frame[derived.ranks(frame) < 2]
    assert len(sample) < len(frame)
    summary = (out / "summary.md").read_text()
    sentence = summary.split("\n")[2]
    assert sentence.startswith(f"summary.md summarises {len(frame):,} rows of 8 problems: it shows a sample of ")
    assert f"a sample of {len(sample):,} rows" in sentence and "the 2 rows with the largest relative error" in sentence
    assert sentence.endswith("results.csv and results.parquet hold every row.")
    assert f"\n{verdict_line(frame)}\n" in summary  # the true counts, not the sample's
    assert f"\n{verdict_line(sample)}\n" not in summary
    page = (out / "report.html").read_text()
    assert "report.html summarises" in page and f"{len(sample)} rows" in page
    counts = frame["verdict"].value_counts()
    assert f"{counts['agree']:,} agree, {counts.get('disagree', 0):,} disagree" in page
    # Every cell's worst verdict is in the sample.
    worst = frame.groupby(["problem", "backend", "dtype"], observed=True)["verdict"].agg(lambda v: set(v.astype(str)))
    kept = sample.groupby(["problem", "backend", "dtype"], observed=True)["verdict"].agg(lambda v: set(v.astype(str)))
    assert worst.equals(kept)
    # Read a batch at a time, the sample is the whole frame's, row for row.
    pd.testing.assert_frame_equal(
        derived._sample(partial.parent / "results.parquet", 2, None), sample.reset_index(drop=True)
    )


@pytest.mark.parametrize("batch", [1, 2, 5, 64])
def test_the_tally_read_batch_by_batch_is_the_whole_frames(tmp_path, run, monkeypatch, batch):
    """Groups cut across batches (a part's problem spread over many of them) are counted whole:
    the verdicts, each rank's rows, each problem's groups and whether it has a row not agree."""
    partial = _partial(tmp_path, run)
    frame = ds.read_dataset(partial)
    tally = derived._Tally()
    for number, table in ds.part_batches(partial, batch):
        tally.add(number, ds.table_to_frame(table))
    tally.finish()
    rank = derived.ranks(frame)
    assert tally.rows == len(frame)
    assert tally.by_rank.tolist() == [int((rank == r).sum()) for r in range(len(tally.by_rank))]
    counts = frame["verdict"].value_counts()
    assert {v: n for v, n in tally.verdicts.items() if n} == {str(v): int(n) for v, n in counts.items() if n}
    names = list(pd.unique(frame["problem"].astype(str)))
    assert list(tally.worst_rows) == names  # run order
    assert tally.worst_rows == {n: int(((frame["problem"] == n).to_numpy() & (rank == 0)).sum()) for n in names}
    assert tally.bad == {n: bool((frame.loc[frame["problem"] == n, "verdict"] != "agree").any()) for n in names}
    for k in (1, 2, 3):
        sample = derived._sample(partial, k, None)
        pd.testing.assert_frame_equal(sample, frame[rank < k].reset_index(drop=True))
    kept = {names[1], names[4]}
    wanted = frame[(rank < 1) & frame["problem"].isin(kept).to_numpy()].reset_index(drop=True)
    pd.testing.assert_frame_equal(derived._sample(partial, 1, kept), wanted)


def test_a_sample_too_big_even_at_one_row_a_group_keeps_the_failing_problems_first(tmp_path, run, monkeypatch):
    problems, _ = run
    partial = _partial(tmp_path, run)
    frame = ds.read_dataset(partial)
    monkeypatch.setattr(derived, "REPORT_ROWS", 10)
    monkeypatch.setattr(derived, "SAMPLE_ROWS", 12)
    derived.write_reports_from_dataset(partial, [], partial.parent, problems, html=False)
    summary = (partial.parent / "summary.md").read_text()
    assert "the 1 row with the largest relative error, of " in summary
    assert "those with a verdict other than agree first" in summary
    bad = [n for n in pd.unique(frame["problem"]) if (frame.loc[frame["problem"] == n, "verdict"] != "agree").any()]
    assert bad and f"| {bad[0]} |" in summary.replace("\\", "")


def test_a_failed_commit_leaves_the_old_reports_and_the_partial_folder(tmp_path, run, monkeypatch):
    problems, _ = run
    partial = _partial(tmp_path, run)
    out = partial.parent
    old = {"results.csv": "old csv", "summary.md": "old md", "report.html": "old html"}
    for name, text in old.items():
        (out / name).write_text(text)
    (out / "results.parquet").mkdir()
    (out / "results.parquet" / "part-0000000-0000000.parquet").write_text("older run")
    parts = _names(partial)

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(derived.os, "replace", refuse)
    with pytest.raises(OutputError, match="results.csv: not written: Permission denied") as info:
        derived.write_reports_from_dataset(partial, [], out, problems)
    assert "\n" not in str(info.value) and str(partial) in str(info.value)
    monkeypatch.undo()
    assert {name: (out / name).read_text() for name in old} == old
    assert _names(partial) == parts
    assert (out / "results.parquet" / "part-0000000-0000000.parquet").read_text() == "older run"
    assert sorted(p.name for p in out.iterdir()) == sorted([*old, "results.parquet", ds.PARTIAL_NAME])
    # The folder could not be moved: the same.
    rename = os.rename
    monkeypatch.setattr(derived.os, "rename", lambda src, dst: (refuse if Path(src) == partial else rename)(src, dst))
    with pytest.raises(OutputError, match="results.parquet: not written"):
        derived.write_reports_from_dataset(partial, [], out, problems)
    monkeypatch.undo()
    assert {name: (out / name).read_text() for name in old} == old and _names(partial) == parts
    assert sorted(p.name for p in out.iterdir()) == sorted([*old, "results.parquet", ds.PARTIAL_NAME])
    derived.write_reports_from_dataset(partial, [], out, problems)  # and --resume's commit then goes through
    assert not partial.exists() and ds.done_positions(out / "results.parquet") == set(range(8))


def test_the_partial_csv_is_the_partial_rows_as_write_csv_writes_them(tmp_path, run):
    partial = _partial(tmp_path, run)
    derived.write_partial_csv(partial, tmp_path / "results.partial.csv")
    write_csv(ds.read_dataset(partial), tmp_path / "whole.csv")
    assert (tmp_path / "results.partial.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    empty = _writer(tmp_path / "empty", run[0]).folder
    derived.write_partial_csv(empty, tmp_path / "empty.csv")
    write_csv(blocks_to_frame([]), tmp_path / "none.csv")
    assert (tmp_path / "empty.csv").read_bytes() == (tmp_path / "none.csv").read_bytes()


def test_write_reports_replaces_or_removes_a_results_parquet_folder(tmp_path, run):
    frame = _whole(run[1], [0])
    (tmp_path / "results.parquet").mkdir()
    (tmp_path / "results.parquet" / "part-0000000-0000000.parquet").write_text("x")
    write_reports(frame, [], tmp_path, html=False, parquet=True)
    assert (tmp_path / "results.parquet").is_file()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "results.parquet"), frame)
    (tmp_path / "results.parquet").unlink()
    (tmp_path / "results.parquet").mkdir()
    write_reports(frame, [], tmp_path, html=False)
    assert not (tmp_path / "results.parquet").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv", "summary.md"]
