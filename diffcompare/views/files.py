"""The run's files: results.csv, summary.md and report.html, written together or not at all.

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
import tempfile
from pathlib import Path

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


def _csv_writer(frame: pd.DataFrame):
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    table = pa.Table.from_pandas(frame, preserve_index=False)
    return lambda tmp: pa_csv.write_csv(table, tmp)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """results.csv through Arrow's writer: floats as their shortest exact text,
    NaN as an empty field; pandas' own writer formats 10⁶-row frames a value at a time."""
    atomic_write(path, writer=_csv_writer(frame))


def write_reports(frame: pd.DataFrame, errors: list[str], out: Path, problems=()) -> list[Path]:
    """results.csv, summary.md and report.html, moved into place together once all three are
    written; problems (the run's Problem objects) give the HTML report its formulas and tapes.
    OutputError, and the previous files untouched, if any of them cannot be made or written."""
    out = Path(out)
    csv_path, md_path, html_path = out / "results.csv", out / "summary.md", out / "report.html"
    staged: list[tuple[str, Path]] = []
    current = csv_path
    try:
        staged.append((_stage(csv_path, writer=_csv_writer(frame)), csv_path))
        current = md_path
        staged.append((_stage(md_path, summary_markdown(frame, errors)), md_path))
        current = html_path
        staged.append((_stage(html_path, render(frame, errors, problems, find_sweeps(out))), html_path))
        for tmp, path in staged:
            current = path
            os.replace(tmp, path)
    except Exception as exc:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise OutputError(
            f"{current}: not written: {_reason(exc)}; the reports in {out} are left as they were"
        ) from exc
    return [csv_path, md_path, html_path]
