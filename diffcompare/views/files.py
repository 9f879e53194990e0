"""The run's files: results.csv, summary.md and report.html, each written whole or not at all.

Every file is written to a temporary file beside its target and moved into
place with os.replace, so a reader never sees half a report.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

from diffcompare.views.html_report import find_sweeps, render
from diffcompare.views.summary import summary_markdown


def atomic_write(path: Path, text: str | None = None, writer=None) -> None:
    """Write text (or let writer(temporary path) write) beside path, then move it into place."""
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
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """results.csv through Arrow's writer: floats as their shortest exact text,
    NaN as an empty field; pandas' own writer formats 10⁶-row frames a value at a time."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    table = pa.Table.from_pandas(frame, preserve_index=False)
    atomic_write(path, writer=lambda tmp: pa_csv.write_csv(table, tmp))


def write_html(frame: pd.DataFrame, errors: list[str], path: Path, problems=()) -> Path:
    """report.html, with the step sweeps that `diffcompare sweep --out` left beside it."""
    path = Path(path)
    atomic_write(path, render(frame, errors, problems, find_sweeps(path.parent)))
    return path


def write_reports(frame: pd.DataFrame, errors: list[str], out: Path, problems=()) -> list[Path]:
    """results.csv, summary.md and report.html; problems (the run's Problem objects)
    give the HTML report its formulas and tapes."""
    out = Path(out)
    csv_path, md_path = out / "results.csv", out / "summary.md"
    write_csv(frame, csv_path)
    atomic_write(md_path, summary_markdown(frame, errors))
    try:
        html_path = write_html(frame, errors, out / "report.html", problems)
    except Exception as exc:  # the page is a view: its failure must not cost the run its other reports
        print(f"{out / 'report.html'}: not written: {type(exc).__name__}: {exc}", file=sys.stderr)
        return [csv_path, md_path]
    return [csv_path, md_path, html_path]
