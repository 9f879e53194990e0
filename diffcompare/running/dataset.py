"""A run's rows streamed to disk as they arrive: a Parquet dataset (a folder of part files),
so that memory holds a chunk of problems, not the run, and an interrupted run keeps every
finished chunk for --resume.

OUT/results.parquet.partial/ is a run in progress or interrupted; it holds _run.json (the run's
fingerprint: its problems and settings, written before any rows) and part files
`part-{first:07d}-{last:07d}.parquet`, each the rows of the consecutive problems first..last
(positions in the run's order) in position order. A finished run's folder is moved to
OUT/results.parquet (diffcompare.views.derived). Every file is written under a name starting
with "." and moved into place (os.replace), and pyarrow's discovery skips names starting with
"." or "_": `pd.read_parquet(folder)` reads the finished parts, never a half-written one.

Every part has one fixed Arrow schema (SCHEMA: dictionary<int32, string> for the categorical
columns, string for `index`, float64/int64 for numbers), so parts of any content read as one
dataset. What `pd.read_parquet(folder)` gives, checked in tests/test_dataset.py: the rows,
columns and dtypes of blocks_to_frame of all the blocks (floats bit for bit, NaN kept, ints
int64, `index` str), but each categorical's categories in the order pyarrow meets them (part
by part, each part's sorted) rather than sorted over the whole run; read_dataset sorts them,
giving blocks_to_frame's frame exactly.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, MutableMapping
from pathlib import Path

import numpy as np
import pandas as pd

from diffcompare.running.columns import (
    CATEGORICAL_COLUMNS,
    COLUMNS,
    EXTRA_COLUMNS,
    INTEGER_COLUMNS,
    blocks_to_frame,
)
from diffcompare.running.worker import payload

PARTIAL_NAME = "results.parquet.partial"  # OUT/results.parquet.partial/: a run in progress, or interrupted
DATASET_NAME = "results.parquet"  # OUT/results.parquet/: the finished run's dataset (a folder)
MANIFEST_NAME = "_run.json"  # pyarrow's discovery ignores names starting with _ or .
MANIFEST_FORMAT = 1
ROWS_KEY = b"diffcompare.rows"  # a part's schema metadata: each of its problems' row counts, in order
_PART = re.compile(r"^part-(\d+)-(\d+)\.parquet$")


class RunMismatch(Exception):
    """A --resume folder that is not this run's, as one line saying why."""


def _schema():
    import pyarrow as pa

    fields = []
    for column in COLUMNS + EXTRA_COLUMNS:
        if column in CATEGORICAL_COLUMNS:
            kind = pa.dictionary(pa.int32(), pa.string())
        elif column == "index":
            kind = pa.string()
        elif column in INTEGER_COLUMNS:
            kind = pa.int64()
        else:
            kind = pa.float64()
        fields.append(pa.field(column, kind))
    return pa.schema(fields)


def _json_safe(value):
    """value with every mapping's keys as text (a YAML document may have number keys, which
    sort_keys cannot order among text ones)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _canonical(value) -> str:
    return json.dumps(_json_safe(value), sort_keys=True, default=str)


def fingerprint(problems, settings: dict) -> dict:
    """What identifies a run: each problem's name and a sha256 of its document (what a
    worker rebuilds it from: running.worker.payload), in order, and the settings as given."""
    listed = [
        {"name": p.name, "sha256": hashlib.sha256(_canonical(payload(p)).encode("utf-8", "surrogatepass")).hexdigest()}
        for p in problems
    ]
    # Through JSON and back: what is compared is what a manifest on disk reads back as.
    return json.loads(_canonical({"format": MANIFEST_FORMAT, "problems": listed, "settings": settings}))


def _as_umask_gives(tmp: str) -> None:
    """mkstemp makes a file private (0600); the dataset is shared as the reports are: the umask decides."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)


def _atomic_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        _as_umask_gives(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mismatch(folder: Path, found: dict, wanted: dict) -> str | None:
    """Why a manifest is not this run's (None when it is)."""
    if found.get("format") != wanted["format"]:
        return f"written by another version of its format ({found.get('format')!r}, not {wanted['format']})"
    there, here = found.get("problems", []), wanted["problems"]
    if there != here:
        if len(there) != len(here):
            return f"the problem list differs ({len(there)} problems there, {len(here)} in this run)"
        at = next(i for i, (a, b) in enumerate(zip(there, here, strict=True)) if a != b)
        a, b = there[at], here[at]
        what = "its document differs" if a.get("name") == b["name"] else f"it is {a.get('name')!r} there"
        return f"the problem list differs at problem {at + 1}, {b['name']!r}: {what}"
    s_there, s_here = found.get("settings", {}), wanted["settings"]
    for key in sorted(set(s_there) | set(s_here)):
        if s_there.get(key) != s_here.get(key):
            return f"the setting {key!r} differs ({s_there.get(key)!r} there, {s_here.get(key)!r} in this run)"
    return None


def read_manifest(folder) -> dict:
    """The fingerprint a partial folder was started with; RunMismatch where there is none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunMismatch(f"{folder}: no run to resume: no such folder")
    try:
        return json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunMismatch(f"{folder}: no run to resume: it has no {MANIFEST_NAME}") from None
    except (OSError, ValueError) as exc:
        raise RunMismatch(f"{folder}: cannot read its {MANIFEST_NAME}: {exc}") from None


def _parts(folder) -> list[tuple[int, int, Path]]:
    """(first, last, path) of each part file, in position order."""
    found = []
    for path in Path(folder).iterdir():
        match = _PART.match(path.name)
        if match:
            found.append((int(match[1]), int(match[2]), path))
    return sorted(found)


def done_positions(folder) -> frozenset[int]:
    """The positions whose rows are on disk, from the part file names."""
    return frozenset(p for first, last, _ in _parts(folder) for p in range(first, last + 1))


class DatasetWriter(MutableMapping):
    """position -> a finished problem's blocks, streamed into part files (see the module).

    Buffered: whenever a run of consecutive finished, unwritten positions holds chunk_problems
    problems or chunk_rows rows, it is written as one part file and its rows leave memory; so
    memory holds a chunk plus the problems that finished out of order. `flush` writes the rest
    (on success and on Ctrl-C). `in`, `len` and iteration count every finished problem, on disk
    included; a written position's blocks are read back from its part (one block of its rows)."""

    def __init__(self, folder, problems, settings: dict, *, chunk_problems=64, chunk_rows=500_000, resume=False):
        self.folder = Path(folder)
        self.chunk_problems, self.chunk_rows = max(1, int(chunk_problems)), max(1, int(chunk_rows))
        self.total = len(problems)
        self.schema = _schema()
        wanted = fingerprint(problems, settings)
        if resume:
            why = _mismatch(self.folder, read_manifest(self.folder), wanted)
            if why:
                raise RunMismatch(f"{self.folder}: not this run's results: {why}")
            self.done = done_positions(self.folder)
        else:
            if self.folder.is_dir() and not self.folder.is_symlink():
                shutil.rmtree(self.folder)
            elif self.folder.exists() or self.folder.is_symlink():
                self.folder.unlink()
            self.folder.mkdir(parents=True)
            _atomic_bytes(self.folder / MANIFEST_NAME, json.dumps(wanted).encode("utf-8"))
            self.done = frozenset()
        self._written: set[int] = set(self.done)
        self._buffer: dict[int, list[dict]] = {}
        self._rows: dict[int, int] = {}
        self._read_cache: tuple[Path, pd.DataFrame, np.ndarray] | None = None
        self._listed: tuple[int, list, list[int]] | None = None
        self.rows_written = 0
        self.files_written = 0

    # --- the mapping -------------------------------------------------------------------
    def __setitem__(self, position: int, blocks: list[dict]) -> None:
        position = int(position)
        if not 0 <= position < self.total:
            raise KeyError(f"position {position} is not one of the run's {self.total} problems")
        if position in self._written:
            raise ValueError(f"problem {position} is already on disk in {self.folder}")
        self._buffer[position] = blocks
        self._rows[position] = int(sum(int(b["_n"]) for b in blocks))
        first, last = self._run_around(position)
        if (
            last - first + 1 >= self.chunk_problems
            or sum(self._rows[p] for p in range(first, last + 1)) >= self.chunk_rows
        ):
            self._write(first, last)

    def __getitem__(self, position: int) -> list[dict]:
        if position in self._buffer:
            return self._buffer[position]
        if position not in self._written:
            raise KeyError(position)
        return self._read_back(int(position))

    def __delitem__(self, position: int) -> None:
        if position in self._written:
            raise ValueError(f"problem {position} is on disk in {self.folder}: its rows are not removed")
        del self._buffer[position]
        del self._rows[position]

    def __contains__(self, position) -> bool:
        return position in self._buffer or position in self._written

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._written | set(self._buffer)))

    def __len__(self) -> int:
        return len(self._written) + len(self._buffer)

    # --- writing -------------------------------------------------------------------------
    def _run_around(self, position: int) -> tuple[int, int]:
        first = last = position
        while first - 1 in self._buffer:
            first -= 1
        while last + 1 in self._buffer:
            last += 1
        return first, last

    def flush(self) -> None:
        """Write every buffered problem: each run of consecutive positions as its own part."""
        while self._buffer:
            self._write(*self._run_around(min(self._buffer)))

    def _write(self, first: int, last: int) -> None:
        import pyarrow.parquet as pq

        positions = range(first, last + 1)
        blocks = [block for p in positions for block in self._buffer[p]]
        table = self._table(blocks).replace_schema_metadata({ROWS_KEY: json.dumps([self._rows[p] for p in positions])})
        path = self.folder / f"part-{first:07d}-{last:07d}.parquet"
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            pq.write_table(table, tmp)
            _as_umask_gives(tmp)
            os.replace(tmp, path)
        except BaseException:  # Ctrl-C inside the write included: no half file, the rows stay buffered
            Path(tmp).unlink(missing_ok=True)
            raise
        for p in positions:
            del self._buffer[p]
            del self._rows[p]
            self._written.add(p)
        self.rows_written += table.num_rows
        self.files_written += 1

    def _table(self, blocks: list[dict]):
        return frame_to_table(blocks_to_frame(blocks), self.schema)

    def _read_back(self, position: int) -> list[dict]:
        """A written problem's rows as one block, from its part (the last part read is kept)."""
        if self._listed is None or self._listed[0] != self.files_written:  # listed again after a write
            found = _parts(self.folder)
            self._listed = (self.files_written, found, [f for f, _, _ in found])
        _, found, firsts = self._listed
        first, last, path = found[bisect.bisect_right(firsts, position) - 1]
        if self._read_cache is None or self._read_cache[0] != path:
            import pyarrow.parquet as pq

            table = pq.read_table(path, schema=self.schema)
            counts = json.loads(pq.read_schema(path).metadata[ROWS_KEY])
            if len(counts) != last - first + 1 or sum(counts) != table.num_rows:
                raise ValueError(f"{path}: its row counts do not match its rows")
            self._read_cache = (path, table_to_frame(table), np.concatenate([[0], np.cumsum(counts)]))
        _, frame, starts = self._read_cache
        rows = frame.iloc[int(starts[position - first]) : int(starts[position - first + 1])]
        if not len(rows):
            return []
        block: dict = {"_n": len(rows)}
        for column in frame.columns:
            values = rows[column]
            block[column] = values.array if column in CATEGORICAL_COLUMNS else values.to_numpy()
        return [block]


def frame_to_table(frame: pd.DataFrame, schema=None):
    """A blocks_to_frame frame as an Arrow table of the fixed schema: each categorical's codes
    and its categories (all of them, used or not) as a dictionary."""
    import pyarrow as pa

    schema = schema or _schema()
    if not len(frame):
        return schema.empty_table()
    arrays = []
    for field in schema:
        column = frame[field.name]
        if field.name in CATEGORICAL_COLUMNS:
            codes = column.cat.codes.to_numpy().astype(np.int32)
            texts = pa.array([str(t) for t in column.cat.categories], pa.string())
            arrays.append(pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), texts))
        elif field.name == "index":
            arrays.append(pa.array(column.array, type=pa.large_string()).cast(pa.string()))
        else:
            arrays.append(pa.array(column.to_numpy(dtype=field.type.to_pandas_dtype()), type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def table_to_frame(table) -> pd.DataFrame:
    """An Arrow table of the fixed schema (parts of any dictionaries) as blocks_to_frame's frame:
    categoricals with their texts sorted, `index` as str, numbers float64 and int64."""
    if table.num_rows == 0:
        return blocks_to_frame([])
    table = table.replace_schema_metadata(None).unify_dictionaries()
    frame = table.to_pandas()
    for column in CATEGORICAL_COLUMNS:
        categories = frame[column].cat.categories
        order = sorted(map(str, categories))
        if list(categories) != order:
            frame[column] = frame[column].cat.reorder_categories(pd.Index(order, dtype="str"))
    frame["index"] = frame["index"].astype("str")
    return frame


def part_tables(folder) -> Iterator:
    """Each part file as an Arrow table of the fixed schema, in position order."""
    import pyarrow.parquet as pq

    schema = _schema()
    for _, _, path in _parts(folder):
        yield pq.read_table(path, schema=schema)


def part_batches(folder, rows: int) -> Iterator[tuple[int, object]]:
    """(part number, Arrow table of the fixed schema) of at most `rows` rows at a time, the parts
    in position order and each part's rows in order: what one problem's millions of rows cost
    to read is a batch, not the part. A part holds whole problems, so every problem's rows are
    in consecutive batches of one part number."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _schema()
    for number, (_, _, path) in enumerate(_parts(folder)):
        with pq.ParquetFile(path) as file:
            for batch in file.iter_batches(batch_size=rows):
                table = pa.Table.from_batches([batch]).replace_schema_metadata(None)
                yield number, table if table.schema == schema else table.cast(schema)


def iter_parts(folder) -> Iterator[pd.DataFrame]:
    """Each part's rows as blocks_to_frame's frame, part by part (memory: one part)."""
    for table in part_tables(folder):
        yield table_to_frame(table)


def read_dataset(folder) -> pd.DataFrame:
    """Every part's rows in position order, as blocks_to_frame of all the blocks gives them."""
    import pyarrow as pa

    tables = [t.replace_schema_metadata(None) for t in part_tables(folder)]
    if not tables:
        return blocks_to_frame([])
    return table_to_frame(pa.concat_tables(tables))


def row_count(folder) -> int:
    """How many rows the dataset holds, from the part files' footers (no rows read)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(path).metadata.num_rows for _, _, path in _parts(folder))
