"""The run's files: results.csv, summary.md and report.html (and results.parquet where asked
for), written together or not at all.

Every file is first written to a temporary file beside its target; only when all three
are whole are they moved into place (os.replace), so a reader never sees half a report,
and a run that cannot write one of them (a full disk, a view that fails) leaves the
previous run's three files as they were, rather than a new results.csv beside an old
report.html. Files get the permissions the umask gives, as any file a program writes.

Before any work the folder is checked (check_folder), and a run holds a lock on it
(folder_lock: flock on DIR/.diffcompare.lock) while it runs and writes, so that two runs
cannot mix their files in one folder: the second stops at once with one line.
Every failure to write is an OutputError, one line naming the path (exit 3 on the command line).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from diffcompare.views.html_report import find_sweeps, render
from diffcompare.views.summary import summary_markdown

LOCK_NAME = ".diffcompare.lock"


class OutputError(Exception):
    """An output that cannot be written, as one line that names it."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}"


def check_folder(out: Path) -> None:
    """Before any work: out is a folder this process can write in, or one it can make
    (the nearest existing folder above it writable). Nothing is left behind."""
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise OutputError(f"{out}: the output folder is not a folder")
        try:
            fd, tmp = tempfile.mkstemp(dir=out, prefix=".diffcompare-check.", suffix=".tmp")
            os.close(fd)
            os.unlink(tmp)
        except OSError as exc:
            raise OutputError(f"{out}: cannot write in the output folder: {_reason(exc)}") from None
        return
    above = out.absolute().parent
    while not above.exists() and above != above.parent:
        above = above.parent
    if not above.is_dir():
        raise OutputError(f"{out}: the output folder cannot be made: {above} is not a folder")
    if not os.access(above, os.W_OK | os.X_OK):
        raise OutputError(f"{out}: the output folder cannot be made: {above} is not writable")


@contextlib.contextmanager
def folder_lock(out: Path):
    """Hold DIR/.diffcompare.lock (flock, released however the process ends) for the
    with-block; another run holding it is an OutputError at once, not a wait."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(out / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise OutputError(f"{out}: cannot use the output folder: {_reason(exc)}") from None
    try:
        try:
            import fcntl
        except ImportError:  # no flock here (Windows): runs are not kept apart
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OutputError(
                    f"{out}: another diffcompare run is writing to this folder; "
                    "wait for it to end or choose another --out"
                ) from None
        yield
    finally:
        os.close(fd)


def safe_name(text: str, limit: int = 100) -> str:
    """text as one file-name part: letters, digits and . _ - = , [ ] + kept, anything else
    (a / or \\, a control character) as _, no leading dot, at most limit characters; when
    that changed it, a short hash of the original keeps different names apart."""
    safe = re.sub(r"[^A-Za-z0-9._=,\[\]+-]", "_", text)
    safe = re.sub(r"^\.", "_", safe)
    if safe != text or len(safe) > limit or not safe:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        safe = f"{safe[:limit]}-{digest}"
    return safe


def inside(out: Path, name: str) -> Path:
    """out / name, refused (OutputError) unless it is a file directly in out."""
    path = Path(out) / name
    if path.parent.resolve() != Path(out).resolve() or path.name != name:
        raise OutputError(f"{path}: refused: outside the output folder {out}")
    return path


def _stage(path: Path, text: str | None = None, writer=None) -> str:
    """Write text (or let writer(temporary path) write) to a temporary file beside path,
    with the permissions the umask gives; return its name. Nothing is left on failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            if text is not None:
                f.write(text)
        if writer is not None:
            writer(tmp)
        # mkstemp makes the file private (0600); a report is for sharing: the umask decides.
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def atomic_write(path: Path, text: str | None = None, writer=None) -> None:
    """Write text (or let writer(temporary path) write) beside path, then move it into place."""
    tmp = _stage(path, text, writer)
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


CSV_CHUNK_ROWS = 1 << 16  # rows formatted at a time: a chunk's text is some tens of MB, whatever the frame


def _csv_writer(frame: pd.DataFrame):
    return lambda tmp: _write_csv_columns(frame, tmp)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """results.csv, written from the frame's columns a chunk of rows at a time, its text the text
    of Arrow's CSV writer (floats as their shortest exact text, NaN as an empty field, text
    quoted): pandas' own writer formats 10⁶-row frames a value at a time."""
    atomic_write(path, writer=_csv_writer(frame))


def _write_csv_columns(frame: pd.DataFrame, tmp: str) -> None:
    """Each chunk's rows as one Arrow string per row, made column by column: a categorical's
    texts quoted once and taken by code, a number column that holds one value over the chunk
    formatted once, the rest cast by Arrow (the cast its CSV writer makes); chunks are formatted
    on the cores' threads (Arrow lets go of the GIL) while the file is written in order. A column
    of another kind (object, bool: a frame not made by blocks_to_frame) goes to Arrow's writer."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    columns = [frame[c] for c in frame.columns]
    if not all(_formattable(c) for c in columns) or len(set(map(str, frame.columns))) != len(frame.columns):
        with pa_csv.CSVWriter(tmp, pa.Schema.from_pandas(frame, preserve_index=False)) as writer:
            for start in range(0, max(len(frame), 1), CSV_CHUNK_ROWS):
                part = frame.iloc[start : start + CSV_CHUNK_ROWS]
                writer.write_table(pa.Table.from_pandas(part, preserve_index=False))
        return
    header = ",".join(_quote(str(c)) for c in frame.columns) + "\n"
    with open(tmp, "wb") as f:
        f.write(header.encode("utf-8"))
        for text in _frame_lines(frame):
            f.write(text)


def _frame_lines(frame: pd.DataFrame):
    """The CSV lines of a formattable frame's rows (no header), a chunk of rows at a time. A row's
    text is its own values' alone, so the lines of a frame's parts, one after the other, are the
    lines of the whole frame."""
    prepared = [_prepared(frame[c]) for c in frame.columns]
    starts = range(0, len(frame), CSV_CHUNK_ROWS)

    def chunk(start: int) -> memoryview:
        stop = min(start + CSV_CHUNK_ROWS, len(frame))
        texts = [_column_text(kind, values, start, stop) for kind, values in prepared]
        return _joined_lines(texts, stop - start)

    return _in_order(chunk, starts)


def parts_csv_writer(columns: list[str], parts):
    """A writer(tmp) for _stage: results.csv from frames with these columns, one after the other
    (parts(): an iterator of them, read as they are written: memory holds one), its text write_csv's
    text of the frames concatenated: the header once, then each part's lines."""

    def write(tmp: str) -> None:
        import pyarrow as pa
        import pyarrow.csv as pa_csv

        header = ",".join(_quote(str(c)) for c in columns) + "\n"
        with open(tmp, "wb") as f:
            f.write(header.encode("utf-8"))
            for part in parts():
                if list(part.columns) != list(columns):
                    raise ValueError(f"a part's columns are not results.csv's: {list(part.columns)}")
                if all(_formattable(part[c]) for c in part.columns):
                    for text in _frame_lines(part):
                        f.write(text)
                elif len(part):
                    table = pa.Table.from_pandas(part, preserve_index=False)
                    pa_csv.write_csv(table, f, pa_csv.WriteOptions(include_header=False))

    return write


def _in_order(work, items, ahead: int | None = None):
    """work(item) for each item, on a thread per core, a few items ahead at most, in order."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor
    from itertools import islice

    threads = max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8))
    ahead = ahead or 2 * threads
    items = iter(items)
    with ThreadPoolExecutor(threads, thread_name_prefix="diffcompare-csv") as pool:
        pending = deque(pool.submit(work, item) for item in islice(items, ahead))
        while pending:
            yield pending.popleft().result()
            for item in items:
                pending.append(pool.submit(work, item))
                break


def _formattable(column: pd.Series) -> bool:
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return all(isinstance(t, str) for t in dtype.categories)
    if isinstance(dtype, pd.StringDtype):
        return True
    return dtype in (np.float64, np.int64)


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _prepared(column: pd.Series) -> tuple[str, object]:
    """What each chunk of a column is formatted from: a categorical's codes and its texts quoted
    (once), a text column's Arrow strings, a number column's array."""
    import pyarrow as pa

    if isinstance(column.dtype, pd.CategoricalDtype):
        quoted = pa.array([_quote(t) for t in column.cat.categories], pa.large_string())
        return "codes", (column.cat.codes.to_numpy(), quoted)
    if isinstance(column.dtype, pd.StringDtype):
        return "text", column.array
    return "numbers", column.to_numpy()


def _column_text(kind: str, values, start: int, stop: int):
    """Rows start:stop of a column as the text the CSV holds for them, Arrow's writer's text (a
    missing value an empty field): one str where every row holds the same value (formatted
    once), else an Arrow string array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text_type = pa.large_string()
    empty, quote = pa.scalar("", text_type), pa.scalar('"', text_type)
    if kind == "codes":
        codes, quoted = values[0][start:stop], values[1]
        if (codes == codes[0]).all():
            return quoted[int(codes[0])].as_py() if codes[0] >= 0 else ""
        return pc.fill_null(quoted.take(pa.array(codes, mask=codes < 0)), empty)
    if kind == "text":
        text = pa.array(values[start:stop], text_type)
        joined = pc.binary_join_element_wise(quote, pc.replace_substring(text, '"', '""'), quote, empty)
        return pc.fill_null(joined, empty)
    values = values[start:stop]
    same = (values.view(np.int64) == values.view(np.int64)[0]).all()  # bit for bit: -0.0 is not 0.0
    numbers = pa.array(values[:1] if same else values, from_pandas=True)  # NaN: null
    text = pc.fill_null(pc.cast(numbers, text_type), empty)
    return text[0].as_py() if same else text


def _joined_lines(texts: list, rows: int) -> memoryview | bytes:
    """The CSV lines of a chunk's columns (each an Arrow string array, or one str for all rows):
    fields joined by ',', each line ended by a newline. The str fields next to each other are
    joined once; the lines are the bytes of one Arrow buffer."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text_type = pa.large_string()
    parts: list = []
    for text in texts:
        if isinstance(text, str) and parts and isinstance(parts[-1], str):
            parts[-1] += "," + text
        else:
            parts.append(text)
    if len(parts) == 1 and isinstance(parts[0], str):  # every field the same on every row
        return (parts[0] + "\n").encode("utf-8") * rows
    if isinstance(parts[-1], str):
        parts[-1] += "\n"
        ends = None
    else:
        ends = pa.scalar("\n", text_type)
    parts = [pa.scalar(p, text_type) if isinstance(p, str) else p for p in parts]
    lines = pc.binary_join_element_wise(*parts, pa.scalar(",", text_type)) if len(parts) > 1 else parts[0]
    if ends is not None:
        lines = pc.binary_join_element_wise(lines, ends, pa.scalar("", text_type))
    lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset : lines.offset + len(lines) + 1]
    return memoryview(lines.buffers()[2])[int(offsets[0]) : int(offsets[-1])]


def _parquet_writer(frame: pd.DataFrame):
    """results.parquet: the frame's columns as they are held (codes and texts for the
    categorical ones, Arrow strings for `index`); `pd.read_parquet` reads back the same
    DataFrame, dtypes included."""

    def write(tmp: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)

    return write


def stage_reports(
    frame: pd.DataFrame, errors: list[str], out: Path, problems=(), html: bool = True, parquet: bool = False
) -> list[tuple[str, Path]]:
    """write_reports' files, each staged beside its target (temporary name, path), nothing
    moved into place: results.csv, results.parquet where asked for, summary.md, report.html
    unless html=False. OutputError, and nothing left behind, if one cannot be made."""
    out = Path(out)
    csv_path, md_path, html_path = out / "results.csv", out / "summary.md", out / "report.html"
    parquet_path = out / "results.parquet"
    staged: list[tuple[str, Path]] = []
    current = csv_path
    try:
        staged.append((_stage(csv_path, writer=_csv_writer(frame)), csv_path))
        if parquet:
            current = parquet_path
            staged.append((_stage(parquet_path, writer=_parquet_writer(frame)), parquet_path))
        current = md_path
        staged.append((_stage(md_path, summary_markdown(frame, errors)), md_path))
        current = html_path
        if html:
            staged.append((_stage(html_path, render(frame, errors, problems, find_sweeps(out))), html_path))
    except Exception as exc:
        discard(staged)
        raise OutputError(
            f"{current}: not written: {_reason(exc)}; the reports in {out} are left as they were"
        ) from exc
    return staged


def discard(staged: list[tuple[str, Path]]) -> None:
    """Remove staged files (or folders) that will not be moved into place."""
    for tmp, _ in staged:
        remove(Path(tmp))


def remove(path: Path) -> None:
    """Remove a file, a link or a folder with what it holds; nothing there is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def swap_in(tmp: str | Path, path: Path) -> None:
    """Move tmp (a file or a folder) to path, replacing what is there (a file or a folder):
    os.replace where it can; a folder (either side) is first moved aside, under a name starting
    with ".", and removed once tmp is in place, so a failure leaves the old one where it was."""
    path = Path(path)
    if not (path.is_dir() and not path.is_symlink()) and not Path(tmp).is_dir():
        os.replace(tmp, path)
        return
    aside = None
    if path.exists() or path.is_symlink():
        aside = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old-"))
        aside.rmdir()  # a free name beside path: rename() needs the name, not a folder
        os.rename(path, aside)
    try:
        os.rename(tmp, path)
    except BaseException:
        if aside is not None:
            os.rename(aside, path)
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True) if aside.is_dir() else aside.unlink(missing_ok=True)


def write_reports(
    frame: pd.DataFrame, errors: list[str], out: Path, problems=(), html: bool = True, parquet: bool = False
) -> list[Path]:
    """results.csv, summary.md and report.html, moved into place together once all three are
    written; problems (the run's Problem objects) give the HTML report its formulas and tapes.
    html=False (--no-html) writes the first two and removes a report.html left by an earlier
    run, which would otherwise describe other rows than the results beside it; parquet=True
    (--parquet) adds results.parquet (one file), and without it one left by an earlier run (a
    file, or a streamed run's folder) is removed for the same reason.
    OutputError, and the previous files untouched, if any of them cannot be made or written."""
    out = Path(out)
    html_path, parquet_path = out / "report.html", out / "results.parquet"
    staged = stage_reports(frame, errors, out, problems, html, parquet)
    current = staged[0][1]
    try:
        for tmp, path in staged:
            current = path
            swap_in(tmp, path)
        for wanted, path in ((html, html_path), (parquet, parquet_path)):
            if not wanted:
                current = path
                remove(path)
    except Exception as exc:
        discard(staged)
        raise OutputError(
            f"{current}: not written: {_reason(exc)}; the reports in {out} are left as they were"
        ) from exc
    return [path for _, path in staged]
