"""results.csv, summary.md and report.html derived from a streamed run's Parquet dataset
(diffcompare.running.dataset), and the dataset moved into place as OUT/results.parquet.

Up to REPORT_ROWS rows the views are write_reports' own, made from the whole frame. Past it
neither the frame nor a part is ever held (a part holds whole problems, and one problem can
be 10⁷ rows): the rows are read BATCH_ROWS at a time; results.csv is written batch by batch
(the same text), and summary.md and report.html are made from a sample that each says, in a
sentence at its top, it is: for each problem, backend, dtype, mode, variable and verdict, the
rows with the largest relative error (NaN first), so that every cell's worst verdict is in it
and every kind of failure shows; the verdict counts over every row are counted batch by batch.

The commit is all or nothing as write_reports' is: every file is staged first; then the
partial folder is renamed to results.parquet (an older one moved aside, and back on a
failure) and the staged files are moved into place. On a failure: OutputError, one line
naming the path; the previous reports, the previous results.parquet and the partial folder
are left as they were, so the run can be resumed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from diffcompare.running.columns import COLUMNS, EXTRA_COLUMNS
from diffcompare.running.dataset import DATASET_NAME, part_batches, read_dataset, row_count, table_to_frame
from diffcompare.running.verdicts import VERDICTS
from diffcompare.views.files import (
    OutputError,
    _reason,
    _stage,
    atomic_write,
    discard,
    parts_csv_writer,
    remove,
    stage_reports,
)
from diffcompare.views.html_report import find_sweeps, render
from diffcompare.views.html_text import escape
from diffcompare.views.summary import summary_markdown, verdict_line

REPORT_ROWS = 1_000_000  # up to this many rows the views are made from the whole frame, as write_reports makes them
SAMPLE_PER_GROUP = (200, 100, 50, 20, 10, 5, 2, 1)  # rows kept per group: the most whose sample fits SAMPLE_ROWS
SAMPLE_ROWS = 100_000  # the sample's most rows: report.html renders every row it is given
BATCH_ROWS = 250_000  # rows read at a time past REPORT_ROWS: a part holds whole problems, one of them can be 10⁷ rows
GROUP = ["problem", "backend", "dtype", "mode", "variable", "verdict"]
TITLE = "# diffcompare summary\n\n"


def write_partial_csv(partial: Path, path: Path) -> None:
    """results.partial.csv from a partial dataset, batch by batch (memory: one batch)."""
    partial = Path(partial)
    try:
        atomic_write(Path(path), writer=parts_csv_writer(COLUMNS + EXTRA_COLUMNS, lambda: _frames(partial)))
    except Exception as exc:
        raise OutputError(f"{path}: not written: {_reason(exc)}") from exc


def write_reports_from_dataset(partial: Path, errors, out: Path, problems=(), html: bool = True) -> list[Path]:
    """The run's views from its dataset in `partial`, then the dataset moved to OUT/results.parquet,
    all together (see the module). Returns the paths written, results.parquet among them."""
    partial, out = Path(partial), Path(out)
    try:
        rows = row_count(partial)
    except Exception as exc:
        raise OutputError(f"{partial}: cannot read the run's rows: {_reason(exc)}") from exc
    if rows <= REPORT_ROWS:
        staged = stage_reports(read_dataset(partial), list(errors), out, problems, html)
    else:
        staged = _stage_sampled(partial, list(errors), out, problems, html)
    _commit(partial, out, staged, html)
    paths = [path for _, path in staged]
    return [paths[0], out / DATASET_NAME, *paths[1:]]


def _frames(partial: Path):
    for _, table in part_batches(partial, BATCH_ROWS):
        yield table_to_frame(table)


def _commit(partial: Path, out: Path, staged: list[tuple[str, Path]], html: bool) -> None:
    target = out / DATASET_NAME
    current, aside, moved = target, None, False
    try:
        if target.exists() or target.is_symlink():
            aside = Path(tempfile.mkdtemp(dir=out, prefix=f".{DATASET_NAME}.old-"))
            aside.rmdir()  # a free name beside it: rename() takes a name
            os.rename(target, aside)
        os.rename(partial, target)
        moved = True
        for tmp, path in staged:
            current = path
            os.replace(tmp, path)
        if not html:
            current = out / "report.html"
            remove(current)
    except Exception as exc:
        discard(staged)
        try:  # the dataset back where --resume looks for it, the older one back in place
            if moved:
                os.rename(target, partial)
            if aside is not None:
                os.rename(aside, target)
        except OSError:
            pass
        raise OutputError(
            f"{current}: not written: {_reason(exc)}; the reports in {out} and the run's rows in {partial} "
            "are left as they were"
        ) from exc
    if aside is not None:
        remove(aside)


# --- the sample ------------------------------------------------------------------------


def ranks(frame: pd.DataFrame) -> np.ndarray:
    """Each row's rank in its group (GROUP's columns) by relative error, largest first, NaN
    before any number, ties in row order: 0 for the group's worst row."""
    n = len(frame)
    if not n:
        return np.zeros(0, dtype=np.int64)
    group = frame.groupby(GROUP, sort=False, observed=True, dropna=False).ngroup().to_numpy()
    key = -frame["rel_error"].to_numpy(dtype=np.float64)
    key[np.isnan(key)] = -np.inf
    order = np.lexsort((key, group))
    ordered = group[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, n]))
    out = np.empty(n, dtype=np.int64)
    out[order] = np.arange(n) - first
    return out


class _Tally:
    """What the sampled views need from every row, counted batch by batch: the verdicts, each
    rank's rows (up to the largest kept), and each problem's worst rows (its groups) and whether
    any of its rows is other than `agree`. All of it follows from each group's size; a group
    (GROUP: its problem first) lies in one part, so sizes are summed over a part's batches and
    counted when the part ends (memory: a part's groups, not its rows)."""

    def __init__(self) -> None:
        self.verdicts = dict.fromkeys(VERDICTS, 0)
        self.by_rank = np.zeros(SAMPLE_PER_GROUP[0], dtype=np.int64)
        self.worst_rows: dict[str, int] = {}
        self.bad: dict[str, bool] = {}
        self.rows = 0
        self._part: int | None = None
        self._sizes: list[pd.DataFrame] = []

    def add(self, number: int, frame: pd.DataFrame) -> pd.DataFrame:
        """Count a batch of part `number`'s rows (batches in order); returns the frame."""
        if number != self._part:
            self.finish()
            self._part = number
        self.rows += len(frame)
        sizes = frame.groupby(GROUP, sort=False, observed=True, dropna=False).size().rename("size").reset_index()
        # By text: batches' categories differ. No problem named: "", as the sample's filter has it.
        self._sizes.append(sizes.astype({c: object for c in GROUP}).fillna({c: "" for c in GROUP}))
        return frame

    def finish(self) -> None:
        """Count the part whose batches have been added."""
        if not self._sizes:
            return
        sizes = pd.concat(self._sizes, ignore_index=True).groupby(GROUP, sort=False)["size"].sum().reset_index()
        self._sizes = []
        for verdict, n in sizes.groupby("verdict", sort=False)["size"].sum().items():
            self.verdicts[str(verdict)] = self.verdicts.get(str(verdict), 0) + int(n)
        k = len(self.by_rank)  # groups of more than r rows, for each rank r < k
        at_most = np.bincount(np.minimum(sizes["size"].to_numpy(), k), minlength=k + 1)
        self.by_rank += at_most[::-1].cumsum()[::-1][1:]
        sizes["bad"] = sizes["verdict"] != "agree"
        for name, groups, bad in sizes.groupby("problem", sort=False)["bad"].agg(["size", "any"]).itertuples():
            self.worst_rows[name] = self.worst_rows.get(name, 0) + int(groups)
            self.bad[name] = self.bad.get(name, False) or bool(bad)

    def plan(self) -> tuple[int, set[str] | None]:
        """Rows kept per group, and the problems kept (None: all) where even one a group is too many."""
        self.finish()
        for k in SAMPLE_PER_GROUP:
            if self.by_rank[:k].sum() <= SAMPLE_ROWS:
                return k, None
        kept, total = set(), 0
        names = [n for n in self.worst_rows if self.bad[n]] + [n for n in self.worst_rows if not self.bad[n]]
        for name in names:
            if total + self.worst_rows[name] > SAMPLE_ROWS and kept:
                break
            kept.add(name)
            total += self.worst_rows[name]
        return 1, kept

    def line(self) -> str:
        """summary.verdict_line's text for every row."""
        return f"{self.rows} rows: " + ", ".join(f"{self.verdicts.get(v, 0)} {v}" for v in VERDICTS)


def _sample(partial: Path, k: int, kept: set[str] | None) -> pd.DataFrame:
    """The rows of rank < k in their group, of the problems kept (None: all), in run order. Read
    batch by batch: a row whose batch already has k of its group before it cannot be in the
    sample, so each batch's candidates are added to the part's and the part's re-ranked (ties
    stay in row order: the candidates are in row order); memory: a part's sample and a batch."""
    import pyarrow as pa

    chosen, current, candidates = [], None, None
    for number, table in part_batches(partial, BATCH_ROWS):
        if number != current and candidates is not None:
            chosen.append(candidates)
            candidates = None
        current = number
        frame = table_to_frame(table)
        keep = ranks(frame) < k
        if kept is not None:
            names = frame["problem"].cat.categories
            wanted = np.array([str(t) in kept for t in names] + ["" in kept], dtype=bool)
            keep &= wanted[frame["problem"].cat.codes.to_numpy()]  # code -1 (no name): the last
        batch = table.take(pa.array(np.flatnonzero(keep)))
        if candidates is None:
            candidates = batch
        else:
            candidates = pa.concat_tables([candidates, batch])
            candidates = candidates.take(pa.array(np.flatnonzero(ranks(table_to_frame(candidates)) < k)))
    if candidates is not None:
        chosen.append(candidates)
    if not chosen:
        return table_to_frame(pa.table({}))
    return table_to_frame(pa.concat_tables(chosen))


def sample_sentence(view: str, tally: _Tally, sample: pd.DataFrame, k: int, kept: set[str] | None) -> str:
    how = (
        f"for each problem, backend, dtype, mode, variable and verdict, the {k} row{'s' * (k != 1)} "
        "with the largest relative error"
    )
    if kept is not None:
        how += (
            f", of {len(kept):,} of the problems (those with a verdict other than agree first, in run order, "
            "then the others)"
        )
    counts = ", ".join(f"{tally.verdicts.get(v, 0):,} {v}" for v in VERDICTS)
    where = (
        "its verdict counts line counts every row and the rest counts the sample"
        if view == "summary.md"
        else (f"every count on this page is the sample's, and over every row the verdicts are {counts}")
    )
    return (
        f"{view} summarises {tally.rows:,} rows of {len(tally.worst_rows):,} problems: it shows a sample of "
        f"{len(sample):,} rows ({how}); {where}; results.csv and results.parquet hold every row."
    )


def _stage_sampled(partial: Path, errors: list[str], out: Path, problems, html: bool):
    csv_path, md_path, html_path = out / "results.csv", out / "summary.md", out / "report.html"
    tally = _Tally()
    staged: list[tuple[str, Path]] = []
    current = csv_path
    try:
        frames = lambda: (tally.add(n, table_to_frame(t)) for n, t in part_batches(partial, BATCH_ROWS))  # noqa: E731
        staged.append((_stage(csv_path, writer=parts_csv_writer(COLUMNS + EXTRA_COLUMNS, frames)), csv_path))
        k, kept = tally.plan()
        sample = _sample(partial, k, kept)
        current = md_path
        text = summary_markdown(sample, errors)
        line = f"\n{verdict_line(sample)}\n"
        if not text.startswith(TITLE) or line not in text:
            raise ValueError("summary.md's text is not as expected: no title or no verdict line")
        text = text.replace(line, f"\n{tally.line()}\n", 1)
        text = TITLE + sample_sentence("summary.md", tally, sample, k, kept) + "\n\n" + text[len(TITLE) :]
        staged.append((_stage(md_path, text), md_path))
        if html:
            current = html_path
            page = render(sample, errors, problems, find_sweeps(out))
            sentence = escape(sample_sentence("report.html", tally, sample, k, kept))
            if "</header>" not in page:
                raise ValueError("report.html's page is not as expected: no header")
            page = page.replace("</header>", f"</header>\n<p class=sampled><b>{sentence}</b></p>", 1)
            staged.append((_stage(html_path, page), html_path))
    except Exception as exc:
        discard(staged)
        raise OutputError(
            f"{current}: not written: {_reason(exc)}; the reports in {out} are left as they were"
        ) from exc
    return staged
