"""The scaling suite streamed (issue 20): its peak memory bounded, and its dataset round-tripped.

One run, the commands one at a time, each a whole `python -m diffcompare` in a subprocess:

1. The scaling suite (benchmarks/scaling/, --max-elements 20000000) three ways: in memory (no
   --parquet), streamed (--parquet), and on a local Dask cluster (--cluster local:2), all with
   --jobs 2 and --no-html; then streamed again with the report (report.html of a run past
   1,000,000 rows is made from a sample, which the report says). Before them, a baseline: the
   smallest problem (13 rows) streamed, which gives what the client and a worker hold with
   nothing in them (imports, every backend loaded). Every 0.2 s the RSS of every process of the
   command's tree is read (psutil): the peak of their sum, of the client (the command's own
   process) and of the largest other process (a worker); the kernel's ru_maxrss of the command
   (wait4: the largest single process of its tree, short spikes included) is given beside them.
2. The round trip: `pd.read_parquet(OUT/results.parquet)` of each streamed and cluster run
   against the in-memory run's rows, read back from its results.csv in slices of 10⁶ rows
   (Arrow's streaming CSV reader; the file holds each float as its shortest exact text, so it
   reads back as the same double): every column but the time columns (time_s, setup_s,
   f_time_s, cost_ratio) and `threads`; floats bit for bit (NaN equal to NaN, since a CSV field
   has no NaN payload), texts exactly (an empty field is a missing value, "" an empty text).
3. The bound, from what this run measured: the largest problem's rows (the part files' row
   counts), bytes per row in the client's forms (blocks from a worker, the frame, the Arrow
   table), the cost of writing the largest part, and the baseline processes; compared with
   the measured peaks.

    python benchmarks/streamed_memory.py                        # the whole suite, about 45 min
    python benchmarks/streamed_memory.py -k rosenbrock          # a subset (-k as the command's)
    python benchmarks/streamed_memory.py --runs memory,streamed --keep /tmp/sm

Run it alone: each command uses both cores and several GB.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "benchmarks" / "scaling"
MAX_ELEMENTS = "20000000"
SMALLEST = "logistic-map[n=1]"  # the baseline run's one problem: 13 rows
NOT_COMPARED = [
    "time_s",
    "setup_s",
    "f_time_s",
    "cost_ratio",
    "threads",
]  # timings, and the workers' share of the cores
SLICE_ROWS = 1_000_000  # rows of results.csv read and compared at a time
GIB, MIB = 2**30, 2**20

RUNS = {  # name -> the command's options past the paths; all on both cores
    "memory": ["--jobs", "2", "--no-html"],
    "streamed": ["--parquet", "--jobs", "2", "--no-html"],
    "cluster": ["--cluster", "local:2", "--no-html"],
    "streamed+html": ["--parquet", "--jobs", "2"],
}


# --- 1. the commands, their process trees sampled ----------------------------------------------


def _role(process, root_pid: int) -> str:
    if process.pid == root_pid:
        return "client"
    try:
        line = " ".join(process.cmdline())
    except Exception:  # gone between the listing and the read
        return "worker"
    return "helper" if "resource_tracker" in line or "forkserver" in line else "worker"


class TreeSampler(threading.Thread):
    """Reads the RSS of every process of pid's tree every interval seconds until stopped: the
    peaks of their sum, of the client (pid itself) and of the largest worker, and when each was."""

    def __init__(self, pid: int, interval: float):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.stopped = threading.Event()
        self.start_time = time.perf_counter()
        self.peak = {"sum": 0, "client": 0, "worker": 0}
        self.at = {"sum": 0.0, "client": 0.0, "worker": 0.0}
        self.samples = 0
        self.timeline: list[tuple[float, int, int, int]] = []  # (s, sum, client, largest worker), each sample
        self.processes: dict[int, object] = {}
        self.roles: dict[int, str] = {}

    def run(self) -> None:
        import psutil

        root = psutil.Process(self.pid)
        while not self.stopped.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            total = client = worker = 0
            for process in tree:
                process = self.processes.setdefault(process.pid, process)  # one Process each: its role read once
                try:
                    rss = process.memory_info().rss
                except psutil.Error:
                    continue
                role = self.roles.setdefault(process.pid, _role(process, self.pid))
                total += rss
                if role == "client":
                    client = rss
                elif role == "worker":
                    worker = max(worker, rss)
            now = time.perf_counter() - self.start_time
            for key, value in (("sum", total), ("client", client), ("worker", worker)):
                if value > self.peak[key]:
                    self.peak[key], self.at[key] = value, now
            self.timeline.append((round(now, 2), total, client, worker))
            self.samples += 1
            self.stopped.wait(self.interval)


def phases(timeline: list[tuple[float, int, int, int]]) -> dict:
    """The client's peak while workers ran (the run: rows arriving, parts written) and after the
    last worker was gone (the views made from the dataset, or from the frame in memory)."""
    last = max((i for i, sample in enumerate(timeline) if sample[3] > 0), default=-1)
    during, after = timeline[: last + 1], timeline[last + 1 :]
    return {
        "client_during_run": max((sample[2] for sample in during), default=0),
        "client_after_run": max((sample[2] for sample in after), default=0),
        "run_end_s": during[-1][0] if during else 0.0,
    }


def command(name: str, out: Path, patterns: list[str], extra: list[str]) -> list[str]:
    argv = [sys.executable, "-m", "diffcompare", str(SUITE), "--max-elements", MAX_ELEMENTS]
    for pattern in patterns:
        argv += ["-k", pattern]
    return argv + [*extra, "--out", str(out), "--quiet"]


def measured_run(name: str, argv: list[str], out: Path, interval: float) -> dict:
    """The command in a subprocess at this process's priority, its tree sampled; its wall time,
    peaks, rows and the sizes of results.csv and of the dataset."""
    from diffcompare.running.dataset import DATASET_NAME, row_count

    shutil.rmtree(out, ignore_errors=True)
    print(f"\n[{name}] {' '.join(argv[1:])}", flush=True)
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(process.pid, interval)
    sampler.start()
    stderr = []
    reader = threading.Thread(target=lambda: stderr.extend(process.stderr), daemon=True)
    reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    sampler.stopped.set()
    sampler.join()
    reader.join(timeout=5)
    process.returncode = os.waitstatus_to_exitcode(status)
    dataset = out / DATASET_NAME
    csv = out / "results.csv"
    result = {
        "name": name,
        "argv": argv[1:],
        "exit": process.returncode,
        "wall_s": wall,
        "peak_sum": sampler.peak["sum"],
        "peak_client": sampler.peak["client"],
        "peak_worker": sampler.peak["worker"],
        "peak_at": sampler.at,
        "maxrss": usage.ru_maxrss * 1024,  # the largest single process of the tree (the kernel's figure)
        "samples": sampler.samples,
        "rows": row_count(dataset) if dataset.is_dir() else None,  # the in-memory run's: from the round trip
        "csv_bytes": csv.stat().st_size if csv.exists() else None,
        "dataset_bytes": sum(p.stat().st_size for p in dataset.iterdir()) if dataset.is_dir() else None,
        "html": (out / "report.html").exists(),
        **phases(sampler.timeline),
        "stderr": "".join(stderr)[-2000:],
        "timeline": sampler.timeline,
    }
    print(
        f"  exit {result['exit']}, {wall:.1f} s; peak sum {result['peak_sum'] / GIB:.2f} GiB, client "
        f"{result['peak_client'] / GIB:.2f}, largest worker {result['peak_worker'] / GIB:.2f}, "
        f"ru_maxrss {result['maxrss'] / GIB:.2f} GiB ({sampler.samples} samples)",
        flush=True,
    )
    if result["exit"]:
        print(result["stderr"], flush=True)
    return result


# --- 2. the round trip -------------------------------------------------------------------------


def _csv_batches(csv: Path, columns: list[str]):
    """results.csv's compared columns, SLICE_ROWS rows at a time, typed as the frame's columns."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    from diffcompare.running.columns import FLOAT_COLUMNS, INTEGER_COLUMNS

    types = {
        c: pa.float64() if c in FLOAT_COLUMNS else pa.int64() if c in INTEGER_COLUMNS else pa.string() for c in columns
    }
    reader = pa_csv.open_csv(
        csv,
        read_options=pa_csv.ReadOptions(block_size=64 * MIB),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),  # a message may span lines
        convert_options=pa_csv.ConvertOptions(
            column_types=types,
            include_columns=columns,
            null_values=[""],
            strings_can_be_null=True,  # an empty field is a missing text (the writer's NaN) ...
            quoted_strings_can_be_null=False,  # ... and "" an empty one
        ),
    )
    pending, held = [], 0
    for batch in reader:
        pending.append(batch)
        held += batch.num_rows
        while held >= SLICE_ROWS:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, SLICE_ROWS)
            rest = table.slice(SLICE_ROWS)
            pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield pa.Table.from_batches(pending)


def _differs(column: str, mine, theirs):
    """A boolean array: where the dataset's values (a pandas Series slice) are not results.csv's
    (an Arrow array of the same rows)."""
    import numpy as np
    import pandas as pd

    if isinstance(mine.dtype, pd.CategoricalDtype):
        texts = theirs.to_pandas()
        codes = pd.Categorical(texts, categories=mine.cat.categories).codes  # -1: missing, or a text not there
        mine_codes = mine.cat.codes.to_numpy()
        return (mine_codes != codes) | ((codes == -1) & texts.notna().to_numpy())
    if mine.dtype.kind == "f":
        a, b = mine.to_numpy(dtype=np.float64), theirs.to_numpy(zero_copy_only=False)
        nan = np.isnan(a)
        return np.where(nan | np.isnan(b), nan != np.isnan(b), a.view(np.int64) != b.view(np.int64))
    if mine.dtype.kind in "iu":
        return mine.to_numpy() != theirs.to_numpy(zero_copy_only=False)
    texts = theirs.to_pandas()
    a, b = mine.to_numpy(dtype=object), texts.to_numpy(dtype=object)
    missing_a, missing_b = pd.isna(a), pd.isna(b)
    same = np.where(missing_a | missing_b, missing_a == missing_b, a == b)
    return ~same.astype(bool)


def round_trip(dataset: Path, csv: Path) -> dict:
    """pd.read_parquet(dataset) against results.csv, slice by slice: the rows, the compared
    columns, the rows where each column differs, and the process's peak while doing it."""
    import pandas as pd

    from diffcompare.running.columns import COLUMNS, EXTRA_COLUMNS

    start = time.perf_counter()
    frame = pd.read_parquet(dataset)
    read_s = time.perf_counter() - start
    frame_bytes = int(frame.memory_usage(deep=True).sum())
    columns = [c for c in COLUMNS + EXTRA_COLUMNS if c not in NOT_COMPARED]
    found = {"columns_missing": [c for c in COLUMNS + EXTRA_COLUMNS if c not in frame.columns]}
    differing = dict.fromkeys(columns, 0)
    rows = 0
    for table in _csv_batches(csv, columns):
        stop = rows + table.num_rows
        if stop <= len(frame):
            part = frame.iloc[rows:stop]
            for column in columns:
                differing[column] += int(_differs(column, part[column], table.column(column).combine_chunks()).sum())
        rows = stop
    found.update(
        rows_dataset=len(frame),
        rows_csv=rows,
        compared=columns,
        differing={c: n for c, n in differing.items() if n},
        equal=rows == len(frame) and not any(differing.values()) and not found["columns_missing"],
        read_s=read_s,
        compare_s=time.perf_counter() - start - read_s,
        frame_bytes=frame_bytes,
    )
    return found


# --- 3. the bound's terms --------------------------------------------------------------------


def _peak() -> int:
    with open("/proc/self/status") as f:
        return int(f.read().split("VmHWM:")[1].split()[0]) * 1024


def _rss() -> int:
    with open("/proc/self/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0]) * 1024


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def problem_rows(dataset: Path) -> list[int]:
    """Each problem's rows in position order, from the part files' metadata."""
    import pyarrow.parquet as pq

    from diffcompare.running.dataset import ROWS_KEY, _parts

    counts: list[int] = []
    for _, _, path in _parts(dataset):
        counts += json.loads(pq.read_schema(path).metadata[ROWS_KEY])
    return counts


def largest_cell(dataset: Path) -> int:
    """The rows of the largest problem × backend cell (what a supervised worker sends at once)."""
    import pandas as pd

    frame = pd.read_parquet(dataset, columns=["problem", "backend"])
    return int(frame.groupby(["problem", "backend"], observed=True).size().max())


def part_rows(dataset: Path) -> list[tuple[str, int]]:
    import pyarrow.parquet as pq

    from diffcompare.running.dataset import _parts

    return [(path.name, pq.ParquetFile(path).metadata.num_rows) for _, _, path in _parts(dataset)]


def write_cost(dataset: Path, scratch: Path) -> dict:
    """The largest part read back as the client had it before writing (the frame), then written
    as the client writes it (frame_to_table, pq.write_table): bytes per row of the frame and of
    the Arrow table, and what the write adds to the process's peak above the frame."""
    import gc

    import pyarrow.parquet as pq

    from diffcompare.running.dataset import _parts, _schema, frame_to_table, table_to_frame

    path = max(_parts(dataset), key=lambda p: pq.ParquetFile(p[2]).metadata.num_rows)[2]
    frame = table_to_frame(pq.read_table(path, schema=_schema()))
    rows = len(frame)
    frame_bytes = int(frame.memory_usage(deep=True).sum())
    gc.collect()
    base = _rss()
    _reset_peak()
    table = frame_to_table(frame, _schema())
    table_bytes = table.nbytes
    pq.write_table(table, scratch / "largest-part.parquet")
    added = _peak() - base
    del table, frame
    gc.collect()
    (scratch / "largest-part.parquet").unlink()
    return {
        "part": path.name,
        "rows": rows,
        "frame_per_row": frame_bytes / rows,
        "table_per_row": table_bytes / rows,
        "write_added": added,
    }


def views_cost(dataset: Path, scratch: Path) -> dict:
    """What making the views adds, per part, as views.derived does it past REPORT_ROWS: the
    largest part alone in a folder (a link), results.csv's lines of it (to /dev/null) with the
    tally of the sample, then the sample itself; the process's peak above its RSS before."""
    import gc

    import pyarrow.parquet as pq

    from diffcompare.running.columns import COLUMNS, EXTRA_COLUMNS
    from diffcompare.running.dataset import _parts
    from diffcompare.views.derived import _frames, _sample, _Tally
    from diffcompare.views.files import parts_csv_writer

    path = max(_parts(dataset), key=lambda p: pq.ParquetFile(p[2]).metadata.num_rows)[2]
    alone = scratch / "largest-part"
    shutil.rmtree(alone, ignore_errors=True)
    alone.mkdir()
    os.link(path, alone / path.name)
    rows = pq.ParquetFile(path).metadata.num_rows
    gc.collect()
    base = _rss()
    _reset_peak()
    tally = _Tally()
    parts_csv_writer(COLUMNS + EXTRA_COLUMNS, lambda: (tally.add(frame) for frame in _frames(alone)))(os.devnull)
    csv_added = _peak() - base
    gc.collect()
    base = _rss()
    _reset_peak()
    k, kept = tally.plan()
    sample = _sample(alone, k, kept)
    sample_added = _peak() - base
    del sample
    shutil.rmtree(alone)
    return {"part": path.name, "rows": rows, "csv_added": csv_added, "sample_added": sample_added, "base": base}


BLOCKS = r"""
import json, sys
import numpy as np
from diffcompare.lang import limits
from diffcompare.running.cells import problem_blocks
from diffcompare.running.runner import load_problems
from diffcompare.running.worker import select_backends
import pickle
limits.configure(elements=20_000_000)
problems, _ = load_problems([sys.argv[1]])
problem = next(p for p in problems if p.name == sys.argv[2])
blocks = problem_blocks(problem, select_backends(["chainrule"]), None, None, None)
rows = sum(b["_n"] for b in blocks)
held = 0
for block in blocks:
    for value in block.values():
        if isinstance(value, np.ndarray):
            held += value.nbytes
        elif hasattr(value, "codes"):
            held += np.asarray(value.codes).nbytes
print(json.dumps({"rows": rows, "block_per_row": held / rows, "pickle_per_row": len(pickle.dumps(blocks, 5)) / rows}))
"""


def block_cost(problem: str) -> dict:
    """A cell's rows as a worker sends them (blocks: arrays per row, texts as codes): bytes per
    row held and pickled, from one chainrule cell of a mid-size problem run here in a child."""
    done = subprocess.run(
        [sys.executable, "-c", BLOCKS, str(SUITE), problem], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode:
        print(done.stderr[-2000:])
        return {}
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the report ------------------------------------------------------------------------------


def _gib(n) -> str:
    return "–" if n is None else f"{n / GIB:.2f}"


def _mib(n) -> str:
    return "–" if n is None else f"{n / MIB:,.0f}"


def table(results: list[dict]) -> None:
    print(
        "\n| run | command options | wall s | rows | peak of the sum GiB | client GiB (during the run / after) "
        "| largest worker GiB | ru_maxrss GiB | results.csv MiB | dataset MiB |"
    )
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in results:
        options = " ".join(a for a in r["argv"][r["argv"].index(MAX_ELEMENTS) + 1 :] if a not in ("--quiet",))
        options = options.split(" --out ")[0]
        rows = "–" if r["rows"] is None else f"{r['rows']:,}"
        print(
            f"| {r['name']} | `{options}` | {r['wall_s']:.1f} | {rows} | {_gib(r['peak_sum'])} "
            f"| {_gib(r['peak_client'])} ({_gib(r['client_during_run'])} / {_gib(r['client_after_run'])}) | {_gib(r['peak_worker'])} | {_gib(r['maxrss'])} "
            f"| {_mib(r['csv_bytes'])} | {_mib(r['dataset_bytes'])} |"
        )


def bound(results: dict, counts: list[int], cell: int, parts, write: dict, views: dict, blocks: dict) -> dict:
    """The client's bound in bytes, from the run's own figures (see report_bound), and the terms of
    a worker's peak."""
    from diffcompare.running.dataset import DatasetWriter

    chunk = DatasetWriter.__init__.__kwdefaults__["chunk_rows"]
    jobs = 2
    largest = max(counts)
    base = results.get("baseline", {})
    client0, worker0 = base.get("peak_client", 0), base.get("peak_worker", 0)
    frame_b, table_b = write["frame_per_row"], write["table_per_row"]
    block_b, pickle_b = blocks.get("block_per_row", frame_b), blocks.get("pickle_per_row", frame_b)
    # Rows buffered as blocks: each of the runs of consecutive finished problems not yet written (one
    # per problem still running, and one past them), each under chunk rows, and the problem that
    # came last. A part joins the problem that came last to a run on either side of it.
    held = (jobs + 1) * (chunk - 1) + largest
    part = 2 * (chunk - 1) + largest
    write_b = frame_b + write["write_added"] / write["rows"]  # the part as a frame, then Arrow and Parquet's buffers
    views_b = max(views["csv_added"], views["sample_added"]) / views["rows"]  # a part read back for the views
    during = client0 + held * block_b + part * write_b
    after = client0 + part * views_b
    return {
        "total_rows": sum(counts),
        "largest_problem_rows": largest,
        "largest_part_rows": max(n for _, n in parts),
        "chunk_rows": chunk,
        "held_rows": held,
        "part_rows_bound": part,
        "block_per_row": block_b,
        "pickle_per_row": pickle_b,
        "frame_per_row": frame_b,
        "table_per_row": table_b,
        "write_per_row": write_b,
        "views_per_row": views_b,
        "client0": client0,
        "worker0": worker0,
        "client_during": during,
        "client_after": after,
        "client_bound": max(during, after),
        # On a cluster the problem's cells come back as one task's result: its serialised copy too.
        "client_during_cluster": during + largest * pickle_b,
        "cell_rows": cell,
        "worker_rows_jobs": cell * (block_b + pickle_b),
        "worker_rows_cluster": largest * (block_b + pickle_b),
    }


def report_bound(b: dict, results: dict, parts, write: dict, views: dict, counts: list[int]) -> None:
    print(
        f"\nproblems: {len(counts)}, rows {b['total_rows']:,}; the largest problem {b['largest_problem_rows']:,} rows; "
        "parts: " + ", ".join(f"{name} {n:,}" for name, n in parts)
    )
    print(
        f"bytes per row: a worker's blocks {b['block_per_row']:.0f} (pickled {b['pickle_per_row']:.0f}); the frame "
        f"{b['frame_per_row']:.0f}, the Arrow table {b['table_per_row']:.0f}; writing the largest part "
        f"({write['rows']:,} rows) as the writer does: {b['write_per_row']:.0f} with its frame; making the views "
        f"of it: results.csv and the tally +{views['csv_added'] / GIB:.2f} GiB, the sample "
        f"+{views['sample_added'] / GIB:.2f} GiB ({b['views_per_row']:.0f} per row)"
    )
    print(f"baseline (13 rows): client {_gib(b['client0'])} GiB, largest worker {_gib(b['worker0'])} GiB")
    print(
        f"client bound while the run goes: {_gib(b['client0'])} + {b['held_rows']:,} rows × {b['block_per_row']:.0f} B "
        f"(blocks buffered: 3 runs under {b['chunk_rows']:,} rows and the largest problem) + {b['part_rows_bound']:,} "
        f"rows × {b['write_per_row']:.0f} B (a part written) = {_gib(b['client_during'])} GiB; on a cluster "
        f"+ {b['largest_problem_rows']:,} rows × {b['pickle_per_row']:.0f} B (the task's result serialised) = "
        f"{_gib(b['client_during_cluster'])} GiB"
    )
    print(
        f"client bound while the views are made: {_gib(b['client0'])} + {b['part_rows_bound']:,} rows × "
        f"{b['views_per_row']:.0f} B = {_gib(b['client_after'])} GiB; the bound: {_gib(b['client_bound'])} GiB"
    )
    print(
        f"a worker: the baseline {_gib(b['worker0'])} GiB + rows held (--jobs: one cell, {b['cell_rows']:,} rows, "
        f"{_gib(b['worker_rows_jobs'])} GiB with its pickle; cluster: the whole problem's cells and their "
        f"serialised copy, {_gib(b['worker_rows_cluster'])} GiB) + the backends' own arrays for that problem"
    )
    for name in ("memory", "streamed", "cluster", "streamed+html"):
        r = results.get(name)
        if r:
            print(
                f"  {name:14s} client {_gib(r['peak_client'])} GiB (during the run {_gib(r['client_during_run'])}, "
                f"after {_gib(r['client_after_run'])}), largest worker {_gib(r['peak_worker'])} GiB, "
                f"sum {_gib(r['peak_sum'])} GiB"
            )


def in_child(kind: str, dataset: Path, scratch: Path) -> dict:
    """write_cost or views_cost in a fresh process: one that has already held and freed gigabytes
    keeps them (the allocators' pools), and what a part adds above its RSS would read low."""
    argv = [sys.executable, __file__, "--cost", kind, str(dataset), str(scratch)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    if sys.argv[1:2] == ["--cost"]:  # in_child's process
        kind, dataset, scratch = sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
        print(json.dumps((write_cost if kind == "write" else views_cost)(dataset, scratch)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", dest="patterns", action="append", default=[], help="the command's -k (repeatable)")
    parser.add_argument("--runs", default=",".join(RUNS), help=f"which of {', '.join(RUNS)} (comma-separated)")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between samples of the tree's RSS")
    parser.add_argument(
        "--keep", type=Path, help="the runs' report folders here (default: a temporary folder, removed)"
    )
    parser.add_argument("--json", type=Path, help="every figure, the timelines included, as JSON here")
    parser.add_argument(
        "--reuse",
        type=Path,
        help="a --json of an earlier run with the same --keep: its runs and round trips are not redone",
    )
    args = parser.parse_args()
    chosen = [r.strip() for r in args.runs.split(",") if r.strip()]
    unknown = [r for r in chosen if r not in RUNS]
    if unknown:
        parser.error(f"--runs: unknown {unknown}; known: {list(RUNS)}")
    if args.reuse and not args.keep:
        parser.error("--reuse needs the --keep folder of that run")

    import psutil

    from diffcompare.running.dataset import DATASET_NAME

    scratch = args.keep or Path(tempfile.mkdtemp(prefix="streamed_memory."))
    scratch.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    print(
        f"{datetime.date.today()}, commit {commit.strip()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / GIB:.0f} GiB; load {os.getloadavg()[0]:.1f}; "
        f"sampling every {args.interval} s",
        flush=True,
    )
    results: dict = json.loads(args.reuse.read_text()) if args.reuse else {}
    results.pop("bound", None)
    for r in results.values():
        if isinstance(r, dict) and "timeline" in r and "client_during_run" not in r:  # a --json from before the split
            r.update(phases(r["timeline"]))
    trips = results.setdefault("round_trips", {})
    try:
        for name in ["baseline", *chosen]:
            if name in results:
                continue
            patterns = [SMALLEST] if name == "baseline" else args.patterns
            argv = command(name, scratch / name, patterns, RUNS["streamed" if name == "baseline" else name])
            results[name] = measured_run(name, argv, scratch / name, args.interval)
            if name != "memory":  # its size is kept; the round trip reads the in-memory run's (10 GB each)
                (scratch / name / "results.csv").unlink(missing_ok=True)
            if args.json:  # so far, should a later run fail
                args.json.write_text(json.dumps(results, indent=1, default=str))

        csv = scratch / "memory" / "results.csv"
        for name in chosen:
            dataset = scratch / name / DATASET_NAME
            if name == "memory" or name in trips or not dataset.is_dir() or not csv.exists():
                continue
            _reset_peak()
            trips[name] = trip = round_trip(dataset, csv)
            trip["checker_peak"] = _peak()
        for name, trip in trips.items():
            results["memory"]["rows"] = trip["rows_csv"]
            verdict = "equal" if trip["equal"] else f"DIFFERENT: {trip['differing'] or trip['columns_missing']}"
            print(
                f"\nround trip, pd.read_parquet({name}/{DATASET_NAME}) against memory/results.csv: {verdict}; "
                f"{trip['rows_dataset']:,} rows against {trip['rows_csv']:,}; {len(trip['compared'])} columns "
                f"compared (not {', '.join(NOT_COMPARED)}), value bit for bit; read in {trip['read_s']:.1f} s "
                f"({trip['frame_bytes'] / GIB:.2f} GiB as a frame), compared in {trip['compare_s']:.1f} s, "
                f"this process's peak {trip['checker_peak'] / GIB:.2f} GiB",
                flush=True,
            )

        runs = [results[n] for n in ["baseline", *RUNS] if n in results]
        table(runs)
        streamed = next((scratch / n / DATASET_NAME for n in chosen if (scratch / n / DATASET_NAME).is_dir()), None)
        if streamed is not None:
            counts, parts = problem_rows(streamed), part_rows(streamed)
            write = in_child("write", streamed, scratch)
            views = in_child("views", streamed, scratch)
            # A mid-size problem's cell (10⁵ rows): the blocks' bytes per row do not depend on n.
            blocks = block_cost("rosenbrock[n=100000]")
            cell = largest_cell(streamed)
            results["bound"] = b = bound(results, counts, cell, parts, write, views, blocks)
            b.update(write=write, views=views, blocks=blocks, parts=parts, counts=counts)
            report_bound(b, results, parts, write, views, counts)
    finally:
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, default=str))
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
