"""Rows held as columns (issue 18): peak memory and rows per second of a run whose one cell has
n rows (Rosenbrock in n dimensions, one backend: the chain-rule engine), before and after.

Two measurements, each side by side in the same rounds (noisy shared machines: compare the ratios):

1. The whole command, `python -m diffcompare DIR --backends chainrule …`, in a fresh process per
   run, for the code before (a git worktree at BEFORE, made and removed here unless --before-path
   names a checkout) and the code of this checkout: its peak resident memory (the largest of the
   command and its worker, from os.wait4), its wall time, and rows per second end to end.
2. Writing results.csv alone, in one process that ran the cell once (this checkout's code): this
   checkout's write_csv from the frame's columns against the writer before (Arrow's CSV writer
   over the whole frame, its text columns as pandas strings, as the frame had them), interleaved;
   rows per second and the memory each adds to the process's peak. Both files are compared byte
   for byte.

    python benchmarks/rows_memory.py                     # n = 10⁷, one round (about 20 min, 14 GB for the code before)
    python benchmarks/rows_memory.py -n 1000000 --rounds 3
    python benchmarks/rows_memory.py --skip-before       # this checkout only (no 14 GB run)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "8252f70"  # the commit before rows were held as columns

PROBLEM = """name: rosenbrock
function: sum(100 * (x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2)
point:
  x: {{shape: [{n}], random: uniform, low: -1, high: 1, seed: 0}}
dtypes: [float64]
"""


def command_run(code: Path, folder: Path, out: Path, n: int, timeout: int) -> dict:
    """The command in a fresh process with code's diffcompare first on the path: peak RSS (the
    largest process of the run: wait4's ru_maxrss covers the reaped worker), wall time."""
    env = dict(os.environ, PYTHONPATH=str(code))
    argv = [sys.executable, "-m", "diffcompare", str(folder), "--backends", "chainrule", "--quiet"]
    argv += ["--max-elements", str(2 * n), "--timeout", str(timeout), "--out", str(out)]
    start = time.perf_counter()
    process = subprocess.Popen(argv, env=env, cwd=tempfile.gettempdir())
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    csv = out / "results.csv"
    with open(csv, "rb") as f:
        rows = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 24), b"")) - 1
    verdicts = _verdict_counts(csv) if rows < 50 else "-"
    return {
        "peak_gb": usage.ru_maxrss / 2**20,
        "wall_s": wall,
        "rows": rows,
        "csv_mb": csv.stat().st_size / 2**20,
        "exit": os.waitstatus_to_exitcode(status),
        "verdicts": verdicts,
    }


def _verdict_counts(csv: Path) -> str:
    import pandas as pd

    return str(pd.read_csv(csv)["verdict"].value_counts().to_dict())


WRITING = r"""
import gc, json, sys, time
from pathlib import Path
import numpy as np, pandas as pd, pyarrow as pa, pyarrow.csv as pa_csv
from diffcompare.lang import limits
from diffcompare.running.runner import load_problems, run_problems
from diffcompare.views.files import _parquet_writer, write_csv

def peak_mb():
    status = open("/proc/self/status").read()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024

def rss_mb():
    status = open("/proc/self/status").read()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024

def reset_peak():
    open("/proc/self/clear_refs", "w").write("5")

folder, out, rounds = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
limits.configure(elements=2 * 10**9)
problems, _ = load_problems([folder])
frame = run_problems(problems, ["chainrule"])
old = frame.copy()
for column in old.columns:  # the frame as it was: text columns as pandas strings
    if isinstance(old[column].dtype, pd.CategoricalDtype):
        old[column] = old[column].astype(str)

def arrow_writer(path):
    pa_csv.write_csv(pa.Table.from_pandas(old, preserve_index=False), path)

sides = {"columns": lambda path: write_csv(frame, path), "arrow": arrow_writer,
         "parquet": lambda path: _parquet_writer(frame)(str(path))}
times = {side: [] for side in sides}
extra = {side: [] for side in sides}
for _ in range(rounds):
    for side, write in sides.items():
        path = out / f"{side}.{'parquet' if side == 'parquet' else 'csv'}"
        gc.collect()
        base = rss_mb()
        reset_peak()
        start = time.perf_counter()
        write(path)
        times[side].append(time.perf_counter() - start)
        extra[side].append(peak_mb() - base)
same = (out / "columns.csv").read_bytes() == (out / "arrow.csv").read_bytes()
back = pd.read_parquet(out / "parquet.parquet")
same_parquet = back.equals(frame) and all(back[c].dtype == frame[c].dtype for c in frame.columns)
print(json.dumps({"rows": len(frame), "times": times, "extra_mb": extra, "identical": same, "parquet_same": bool(same_parquet),
                  "frame_mb": frame.memory_usage(deep=True).sum() / 2**20,
                  "old_frame_mb": old.memory_usage(deep=True).sum() / 2**20}))
"""


@contextlib.contextmanager
def before_checkout(path: str | None, skip: bool):
    if skip:
        yield None
        return
    if path:
        yield Path(path)
        return
    with tempfile.TemporaryDirectory(prefix="rows_memory_before.") as folder:
        checkout = Path(folder) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(checkout), BEFORE], cwd=ROOT, check=True)
        try:
            yield checkout
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(checkout)], cwd=ROOT, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=10_000_000, help="elements: rows of the one cell (default 10⁷)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the whole command, before and after")
    parser.add_argument("--write-rounds", type=int, default=3, help="rounds of writing results.csv")
    parser.add_argument("--before-path", help=f"a checkout of the code before (default: a worktree at {BEFORE})")
    parser.add_argument("--skip-before", action="store_true", help="run this checkout's command only")
    parser.add_argument("--skip-command", action="store_true", help="measure the writing only")
    parser.add_argument("--timeout", type=int, default=3600, help="--timeout of each command (seconds)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rows_memory.") as scratch:
        scratch = Path(scratch)
        folder = scratch / "problem"
        folder.mkdir()
        (folder / "rosenbrock.yaml").write_text(PROBLEM.format(n=args.n))
        print(f"Rosenbrock, n = {args.n:,}: one cell of {args.n:,} rows (chainrule, float64)", flush=True)

        if not args.skip_command:
            with before_checkout(args.before_path, args.skip_before) as before:
                sides = {"before": before, "after": ROOT} if before else {"after": ROOT}
                found: dict[str, list[dict]] = {side: [] for side in sides}
                for round_ in range(args.rounds):
                    for side, code in sides.items():
                        out = scratch / f"out-{side}"
                        result = command_run(code, folder, out, args.n, args.timeout)
                        found[side].append(result)
                        print(f"  round {round_ + 1} {side:6s} {json.dumps(result)}", flush=True)
                print("\nthe whole command (medians):")
                print(f"  {'':8s} {'peak GB':>8s} {'wall s':>8s} {'rows/s':>10s} {'CSV MB':>8s}")
                medians = {}
                for side, results in found.items():
                    peak = statistics.median(r["peak_gb"] for r in results)
                    wall = statistics.median(r["wall_s"] for r in results)
                    medians[side] = (peak, wall)
                    rows, size = results[0]["rows"], results[0]["csv_mb"]
                    print(f"  {side:8s} {peak:8.2f} {wall:8.1f} {rows / wall:10,.0f} {size:8.0f}")
                if len(medians) == 2:
                    (pb, wb), (pa_, wa) = medians["before"], medians["after"]
                    print(f"  after/before: peak {pa_ / pb:.2f}x, wall {wa / wb:.2f}x")

        writing = subprocess.run(
            [sys.executable, "-c", WRITING, str(folder), str(scratch), str(args.write_rounds)],
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            capture_output=True,
            text=True,
            check=False,
        )
        if writing.returncode:
            print(writing.stdout, writing.stderr)
            raise SystemExit(writing.returncode)
        result = json.loads(writing.stdout.strip().splitlines()[-1])
        rows = result["rows"]
        print(f"\nwriting results.csv ({rows:,} rows; {args.write_rounds} interleaved rounds, medians):")
        print(
            f"  frame now {result['frame_mb']:.0f} MB, with its text as pandas strings {result['old_frame_mb']:.0f} MB"
        )
        sides = (
            ("columns", "write_csv from columns"),
            ("arrow", "Arrow's writer (before)"),
            ("parquet", "results.parquet (--parquet)"),
        )
        for side, label in sides:
            median = statistics.median(result["times"][side])
            added = statistics.median(result["extra_mb"][side])
            print(f"  {label:26s} {median:7.2f} s {rows / median:12,.0f} rows/s  +{added:6.0f} MB peak")
        ratio = statistics.median(result["times"]["arrow"]) / statistics.median(result["times"]["columns"])
        print(f"  Arrow's writer / write_csv time: {ratio:.2f}x; byte-identical: {result['identical']}")
        ratio = statistics.median(result["times"]["columns"]) / statistics.median(result["times"]["parquet"])
        print(
            f"  write_csv / results.parquet time: {ratio:.2f}x; read back as the same frame: {result['parquet_same']}"
        )


if __name__ == "__main__":
    main()
