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

    python benchmarks/streamed_memory.py                        # the whole suite, about 30 min
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
        "\n| run | command options | wall s | rows | peak of the sum GiB | client GiB | largest worker GiB "
        "| ru_maxrss GiB | results.csv MiB | dataset MiB |"
    )
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in results:
        options = " ".join(a for a in r["argv"][r["argv"].index(MAX_ELEMENTS) + 1 :] if a not in ("--quiet",))
        options = options.split(" --out ")[0]
        rows = "–" if r["rows"] is None else f"{r['rows']:,}"
        print(
            f"| {r['name']} | `{options}` | {r['wall_s']:.1f} | {rows} | {_gib(r['peak_sum'])} "
            f"| {_gib(r['peak_client'])} | {_gib(r['peak_worker'])} | {_gib(r['maxrss'])} "
            f"| {_mib(r['csv_bytes'])} | {_mib(r['dataset_bytes'])} |"
        )


def bound(results: dict[str, dict], counts: list[int], parts, write: dict, blocks: dict, jobs: int = 2) -> dict:
    """The client's and a worker's bound in bytes, from the run's own figures (see the module)."""
    from diffcompare.running.dataset import DatasetWriter

    chunk_rows = DatasetWriter.__init__.__kwdefaults__["chunk_rows"]
    largest = max(counts)
    base = results.get("baseline", {})
    client0, worker0 = base.get("peak_client", 0), base.get("peak_worker", 0)
    frame_b, table_b = write["frame_per_row"], write["table_per_row"]
    block_b, pickle_b = blocks.get("block_per_row", frame_b), blocks.get("pickle_per_row", frame_b)
    largest_part = max(n for _, n in parts)
    # Buffered in the client: each of the (at most jobs) runs of consecutive finished problems
    # not yet written, each under chunk_rows rows, and the problem that just came (its blocks);
    # then at the write, a part of at most chunk_rows - 1 + the largest problem's rows as a frame
    # and as an Arrow table, with pq.write_table's buffers (write["write_added"] above the frame).
    held_rows = jobs * (chunk_rows - 1) + largest
    write_factor = write["write_added"] / (write["rows"] * frame_b)
    client = client0 + held_rows * block_b + largest_part * frame_b * (1 + write_factor)
    # --jobs: a supervised worker holds a cell's blocks and their pickle; a cluster worker the
    # problem's every cell until its task returns, and their serialised copy.
    largest_cell = max(1, largest // 13)
    return {
        "largest_problem_rows": largest,
        "largest_part_rows": largest_part,
        "total_rows": sum(counts),
        "chunk_rows": chunk_rows,
        "block_per_row": block_b,
        "pickle_per_row": pickle_b,
        "frame_per_row": frame_b,
        "table_per_row": table_b,
        "write_factor": write_factor,
        "client0": client0,
        "worker0": worker0,
        "client_bound": client,
        "worker_bound_jobs": worker0 + largest_cell * (block_b + pickle_b),
        "worker_bound_cluster": worker0 + largest * (block_b + pickle_b),
        "memory_rows_bytes": sum(counts) * (block_b + frame_b),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", dest="patterns", action="append", default=[], help="the command's -k (repeatable)")
    parser.add_argument("--runs", default=",".join(RUNS), help=f"which of {', '.join(RUNS)} (comma-separated)")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between samples of the tree's RSS")
    parser.add_argument(
        "--keep", type=Path, help="the runs' report folders here (default: a temporary folder, removed)"
    )
    parser.add_argument("--json", type=Path, help="every figure, the timelines included, as JSON here")
    args = parser.parse_args()
    chosen = [r.strip() for r in args.runs.split(",") if r.strip()]
    unknown = [r for r in chosen if r not in RUNS]
    if unknown:
        parser.error(f"--runs: unknown {unknown}; known: {list(RUNS)}")

    import psutil

    scratch = args.keep or Path(tempfile.mkdtemp(prefix="streamed_memory."))
    scratch.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    print(
        f"{datetime.date.today()}, commit {commit.strip()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / GIB:.0f} GiB; load {os.getloadavg()[0]:.1f}; "
        f"sampling every {args.interval} s",
        flush=True,
    )
    results: dict[str, dict] = {}
    try:
        baseline = command("baseline", scratch / "baseline", [SMALLEST], RUNS["streamed"])
        results["baseline"] = measured_run("baseline", baseline, scratch / "baseline", args.interval)
        for name in chosen:
            argv = command(name, scratch / name, args.patterns, RUNS[name])
            results[name] = measured_run(name, argv, scratch / name, args.interval)
            if name != "memory":  # its size is kept; the round trip reads the in-memory run's (10 GB each)
                (scratch / name / "results.csv").unlink(missing_ok=True)
            if args.json:  # so far, should a later run fail
                args.json.write_text(json.dumps(results, indent=1, default=str))

        from diffcompare.running.dataset import DATASET_NAME

        trips = {}
        if "memory" in results:
            csv = scratch / "memory" / "results.csv"
            for name in chosen:
                dataset = scratch / name / DATASET_NAME
                if name == "memory" or not dataset.is_dir():
                    continue
                _reset_peak()
                trips[name] = trip = round_trip(dataset, csv)
                trip["checker_peak"] = _peak()
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

        table(list(results.values()))
        streamed = next((scratch / n / DATASET_NAME for n in chosen if (scratch / n / DATASET_NAME).is_dir()), None)
        if streamed is not None:
            counts, parts = problem_rows(streamed), part_rows(streamed)
            write = write_cost(streamed, scratch)
            # A mid-size problem's cell (10⁵ rows): the blocks' bytes per row do not depend on n.
            blocks = block_cost("rosenbrock[n=100000]")
            b = bound(results, counts, parts, write, blocks)
            report_bound(b, results, counts, parts, write)
            results["bound"] = b
        results["round_trips"] = trips
    finally:
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, default=str))
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


def report_bound(b: dict, results: dict, counts: list[int], parts, write: dict) -> None:
    print(
        f"\nproblems: {len(counts)}, rows {b['total_rows']:,}; the largest problem {b['largest_problem_rows']:,} rows; "
        f"parts: " + ", ".join(f"{name} {n:,}" for name, n in parts)
    )
    print(
        f"bytes per row: a worker's blocks {b['block_per_row']:.0f} (pickled {b['pickle_per_row']:.0f}), the frame "
        f"{b['frame_per_row']:.0f}, the Arrow table {b['table_per_row']:.0f}; writing the largest part "
        f"({write['rows']:,} rows) adds {write['write_added'] / GIB:.2f} GiB above its frame "
        f"({b['write_factor']:.2f} frames)"
    )
    print(f"baseline (13 rows): client {_gib(b['client0'])} GiB, largest worker {_gib(b['worker0'])} GiB")
    print(
        f"client bound: {_gib(b['client0'])} + ({b['chunk_rows'] - 1:,} × 2 + {b['largest_problem_rows']:,}) rows × "
        f"{b['block_per_row']:.0f} B + {b['largest_part_rows']:,} rows × {b['frame_per_row']:.0f} B × "
        f"{1 + b['write_factor']:.2f} = {_gib(b['client_bound'])} GiB"
    )
    print(
        f"worker bound: --jobs {_gib(b['worker_bound_jobs'])} GiB (one cell), cluster "
        f"{_gib(b['worker_bound_cluster'])} GiB (the largest problem's cells and their serialised copy)"
    )
    for name in ("streamed", "cluster", "streamed+html", "memory"):
        r = results.get(name)
        if r:
            print(
                f"  {name:14s} client {_gib(r['peak_client'])} GiB (bound {_gib(b['client_bound'])}), largest worker "
                f"{_gib(r['peak_worker'])} GiB, sum {_gib(r['peak_sum'])} GiB"
            )


if __name__ == "__main__":
    main()
