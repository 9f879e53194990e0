"""Past one machine: the Dask engine (diffcompare.running.cluster) on local clusters, in one run.

1. Throughput, 1 worker against 2: problems/ through a fixed backend list (--backends; default
   every built-in but tensorflow) on `local:1` and `local:2`, in --rounds rounds that alternate
   the order. Each pass starts a fresh cluster (so no worker's memo of SymPy forms has seen
   problems/ before), runs a warm-up pass of a few fuzz problems through the same backends (the
   workers' imports and first calls: reported apart), then the timed pass of problems/, its
   tasks' compute intervals taken from Dask's task stream.
2. Scheduler overhead per task, on fresh local:1 and local:2 clusters, --tasks tasks each:
   (a) `bare`: client.submit(noop, i) one by one, collected with as_completed, as run_on_cluster
       collects them; (b) `args`: the same with the engine's real arguments (a problem's YAML
       payload, the names, the options, the topic, the key); (c) `engine`: run_on_cluster itself
       with its task's body replaced by a no-op that still announces every cell (one event each),
       so all that is left is Dask and the client's bookkeeping. wall / tasks is the serial cost
       per task (the workers are idle: the scheduler and the client are the limit); the client
       process's CPU per task is given too (the LocalCluster's scheduler runs in it).
3. A fuzz campaign of --fuzz-count problems (default 100,000) on local:2 at nice --nice, in a
   child process (`diffcompare.tools.fuzz.campaign`, --fuzz-backends, shrink 0, timeout 30 s),
   its process tree (the client, which holds the scheduler, and the workers) sampled with psutil
   every 0.5 s: the peak RSS of each process and of their sum; the child's phases (generating
   the problems, the cluster run, classifying) timed around campaign()'s call of run_problems.
4. The projection to W workers from 2 and 3: t ≈ generate + max(N·c/W, N·o) + classify +
   start-up, c the measured cost of a problem on one worker, o the engine's serial cost per task.

    python benchmarks/distributed.py [--rounds 2] [--tasks 10000] [--fuzz-count 100000] [--skip-fuzz]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on sys.path, and its name is Dask's package's:
# take the folder off so that `import distributed` finds Dask (the spawned workers inherit the path).
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)
NO_TENSORFLOW = "sympy,symengine,casadi,torch,jax,autograd,chainrule,central,richardson,complex_step,manual,expected"


# --- 1. throughput ---------------------------------------------------------------------------


def fuzz_problems(count: int, seed: int) -> list:
    import numpy as np

    from diffcompare.spec.problem import build_problem
    from diffcompare.tools.fuzzsingular import random_problem

    rng, out = np.random.default_rng(seed), []
    for i in range(count):
        document = random_problem(rng, i, ["float64"]).document()
        out.append(build_problem(document, "<warm-up>", document["name"]))
    return out


def one_pass(spec: str, problems, warm, backends) -> dict:
    """A fresh cluster: its start, the warm-up pass, then the timed pass with its task stream."""
    from distributed import get_task_stream

    from diffcompare.running.cluster import Cluster
    from diffcompare.running.runner import run_problems

    start = time.perf_counter()
    with Cluster(spec) as cluster:
        started = time.perf_counter()
        with get_task_stream(cluster.client) as warm_stream:
            run_problems(warm, backends, ["float64"], cluster=cluster)
        warmed = time.perf_counter()
        with get_task_stream(cluster.client) as stream:
            frame = run_problems(problems, backends, cluster=cluster)
        done = time.perf_counter()
        workers = cluster.workers()
    compute = [s["stop"] - s["start"] for task in stream.data for s in task["startstops"] if s["action"] == "compute"]
    return {
        "spec": spec,
        "workers": workers,
        "start_s": started - start,
        "warmup_s": warmed - started,
        "warmed_workers": len({task["worker"] for task in warm_stream.data}),
        "wall_s": done - warmed,
        "problems": len(problems),
        "rows": len(frame),
        "tasks": len(compute),
        "compute_s": sum(compute),
        "longest_task_s": max(compute),
        "errors": int((frame["verdict"] == "error").sum()),
    }


def throughput(rounds: int, backends: list[str]) -> list[dict]:
    from diffcompare.running.runner import load_problems

    problems, errors = load_problems([ROOT / "problems"])
    assert not errors, errors
    passes = []
    for r in range(rounds):
        order = ["local:1", "local:2"] if r % 2 == 0 else ["local:2", "local:1"]
        for spec in order:
            warm = fuzz_problems(3 * int(spec.split(":")[1]), seed=1000 + r)
            result = one_pass(spec, problems, warm, backends)
            result["round"] = r
            passes.append(result)
            print(
                f"  round {r} {spec}: {result['wall_s']:.1f} s for {result['problems']} problems "
                f"(start {result['start_s']:.1f} s, warm-up {result['warmup_s']:.1f} s on "
                f"{result['warmed_workers']} of {result['workers']} workers, {result['rows']} rows, "
                f"{result['errors']} error rows)",
                flush=True,
            )
    return passes


def throughput_table(passes: list[dict]) -> dict:
    out = {}
    print(
        "| cluster | timed passes | problems/s (median) | wall (median) | compute in tasks | idle per task "
        "| longest task | warm-up | start |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for spec in ("local:1", "local:2"):
        mine = [p for p in passes if p["spec"] == spec]
        rate = statistics.median(p["problems"] / p["wall_s"] for p in mine)
        wall = statistics.median(p["wall_s"] for p in mine)
        compute = statistics.median(p["compute_s"] for p in mine)
        idle = statistics.median((p["workers"] * p["wall_s"] - p["compute_s"]) / p["tasks"] for p in mine)
        out[spec] = {
            "rate": rate,
            "wall": wall,
            "compute": compute,
            "problems": mine[0]["problems"],
            "start": statistics.median(p["start_s"] for p in mine),
        }
        print(
            f"| {spec} | {len(mine)} | {rate:.2f} | {wall:.1f} s | {compute:.1f} s | {idle * 1e3:.0f} ms "
            f"| {statistics.median(p['longest_task_s'] for p in mine):.1f} s "
            f"| {statistics.median(p['warmup_s'] for p in mine):.1f} s "
            f"| {statistics.median(p['start_s'] for p in mine):.1f} s |"
        )
    ratios = [
        next(p for p in passes if p["round"] == r and p["spec"] == "local:2")["problems"]
        / next(p for p in passes if p["round"] == r and p["spec"] == "local:2")["wall_s"]
        / (
            next(p for p in passes if p["round"] == r and p["spec"] == "local:1")["problems"]
            / next(p for p in passes if p["round"] == r and p["spec"] == "local:1")["wall_s"]
        )
        for r in sorted({p["round"] for p in passes})
    ]
    out["ratio"] = out["local:2"]["rate"] / out["local:1"]["rate"]
    out["round_ratios"] = ratios
    print(
        f"2 workers / 1 worker: {out['ratio']:.2f}× (ratio of medians); per round: "
        + ", ".join(f"{x:.2f}×" for x in ratios)
    )
    return out


# --- 2. scheduler overhead -------------------------------------------------------------------


def noop(*args):
    return None


def noop_cells(problem_payload, names, indices, options, topic, key):
    """run_on_cluster's task without its work: each cell announced as the real task does, no rows."""
    from distributed import get_worker
    from distributed.utils import sync

    worker = get_worker()
    for i in indices:  # as running.worker.cluster_cells announces a cell: a round trip to the scheduler
        msg = {"key": key, "worker": worker.address, "cell": i, "shape": None}
        sync(worker.loop, worker.scheduler.log_event, topic=topic, msg=msg)
    return [(i, []) for i in indices]


def _collect(client, submit_all) -> tuple[float, float]:
    """Wall and client CPU of submitting every task one by one and taking them back as they finish."""
    from distributed import as_completed

    cpu, start = time.process_time(), time.perf_counter()
    done = as_completed()
    for future in submit_all():
        done.add(future)
    for _ in done:
        pass
    return time.perf_counter() - start, time.process_time() - cpu


def overhead(spec: str, tasks: int, backends: list[str], fuzz_backends: list[str]) -> dict:
    from diffcompare.running import cluster as engine
    from diffcompare.running.options import RunOptions
    from diffcompare.running.runner import load_problems
    from diffcompare.running.worker import payload

    problems, _ = load_problems([ROOT / "problems"])
    problems = (problems * (tasks // len(problems) + 1))[:tasks]
    options = RunOptions.here(backends, None, None, None)
    out = {"spec": spec, "tasks": tasks, "cells": (len(backends), len(fuzz_backends))}
    with engine.Cluster(spec) as cluster:
        client = cluster.client
        _collect(client, lambda: [client.submit(noop, i, pure=False) for i in range(200)])  # warm-up
        out["bare"] = _collect(client, lambda: (client.submit(noop, i, pure=False) for i in range(tasks)))

        def with_args():
            for problem in problems:
                key = f"bench-{uuid.uuid4().hex}"
                arguments = (payload(problem), backends, list(range(len(backends))), options, "bench", key)
                yield client.submit(noop, *arguments, key=key, pure=False)

        out["args"] = _collect(client, with_args)
        real = engine._cells_task
        engine._cells_task = noop_cells  # run_on_cluster submits the module's _cells_task by name
        try:
            for kind, names in (("engine", backends), ("engine_fuzz", fuzz_backends)):
                finished: dict = {}
                cpu, start = time.process_time(), time.perf_counter()
                engine.run_on_cluster(
                    cluster,
                    problems,
                    names,
                    RunOptions.here(names, None, None, None),
                    timeout=300.0,
                    finished=finished,
                    failed_cell=lambda *a: [],
                )
                out[kind] = (time.perf_counter() - start, time.process_time() - cpu)
                assert len(finished) == tasks
        finally:
            engine._cells_task = real
    return out


def overhead_table(results: list[dict]) -> dict:
    cells, fuzz_cells = results[0]["cells"]
    print("| cluster | tasks | how submitted | wall | per task (wall / tasks) | client CPU per task |")
    print("|---|---:|---|---:|---:|---:|")
    for r in results:
        for kind, label in (
            ("bare", "noop(i)"),
            ("args", "noop(engine's arguments)"),
            ("engine", f"run_on_cluster, no-op body, {cells} cells (1 event each)"),
            ("engine_fuzz", f"run_on_cluster, no-op body, {fuzz_cells} cells (1 event each)"),
        ):
            wall, cpu = r[kind]
            print(
                f"| {r['spec']} | {r['tasks']} | {label} | {wall:.1f} s | {wall / r['tasks'] * 1e3:.2f} ms "
                f"| {cpu / r['tasks'] * 1e3:.2f} ms |"
            )
    last = results[-1]
    o = last["engine"][0] / last["tasks"]
    print(
        f"o (the engine's serial cost per task, {last['spec']}): {o * 1e3:.2f} ms; of which Dask alone "
        f"{last['bare'][0] / last['tasks'] * 1e3:.2f} ms, the arguments "
        f"{(last['args'][0] - last['bare'][0]) / last['tasks'] * 1e3:.2f} ms, run_on_cluster's bookkeeping "
        f"and events {(last['engine'][0] - last['args'][0]) / last['tasks'] * 1e3:.2f} ms"
    )
    o_fuzz = last["engine_fuzz"][0] / last["tasks"]
    print(f"with {fuzz_cells} cells a task (the campaign's): o = {o_fuzz * 1e3:.2f} ms")
    return {"o": o, "o_fuzz": o_fuzz}


# --- 3. the fuzz campaign --------------------------------------------------------------------


def campaign_child(count: int, backends: list[str], out: str) -> None:
    """In the child process: campaign() with its call of run_problems timed and its progress logged."""
    from diffcompare.tools import fuzz

    marks = {"start": time.perf_counter()}
    real = fuzz.run_problems
    cells = [0]

    def progress(problem, backend):
        cells[0] += 1

    def report():
        while "run_end" not in marks:
            time.sleep(60)
            if "run_start" in marks and "run_end" not in marks:
                elapsed = time.perf_counter() - marks["run_start"]
                print(f"    {cells[0] // len(backends)} problems done in {elapsed:.0f} s", flush=True)

    def timed(*args, **kwargs):
        marks["run_start"] = time.perf_counter()
        try:
            return real(*args, **kwargs, progress=progress)
        finally:
            marks["run_end"] = time.perf_counter()

    threading.Thread(target=report, daemon=True).start()
    fuzz.run_problems = timed
    result = fuzz.campaign(count, 0, Path(out), ("float64",), backends, shrink_limit=0, timeout=30.0, cluster="local:2")
    end = time.perf_counter()
    counts = result.counts()
    summary = {
        "generate_s": marks["run_start"] - marks["start"],
        "run_s": marks["run_end"] - marks["run_start"],
        "after_s": end - marks["run_end"],
        "total_s": end - marks["start"],
        "problems": counts["problems"],
        "rows": counts["rows"],
        "error_rows": counts["error rows"],
        "findings": len(result.findings),
        "unbuildable": counts["unbuildable"],
        "verdicts": {k: int(v) for k, v in result.frame["verdict"].value_counts().items()},
    }
    print("CAMPAIGN " + json.dumps(summary), flush=True)


def campaign_run(count: int, backends: list[str], niceness: int) -> dict:
    import psutil

    out = tempfile.mkdtemp(prefix="fuzz-bench-")
    command = [
        sys.executable,
        __file__,
        "--campaign-child",
        str(count),
        "--fuzz-backends",
        ",".join(backends),
        "--out",
        out,
    ]
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, preexec_fn=lambda: os.nice(niceness))
    lines: list[str] = []

    def read():
        for line in child.stdout:
            lines.append(line)
            if not line.startswith("CAMPAIGN"):
                print(line, end="", flush=True)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    root = psutil.Process(child.pid)
    peaks: dict[int, tuple[str, int]] = {}
    cpu: dict[int, tuple[str, float]] = {}
    peak_sum = peak_workers = 0
    samples = 0
    while child.poll() is None:
        total = workers = 0
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            break
        for process in tree:
            try:
                rss = process.memory_info().rss
                role = "client" if process.pid == child.pid else _role(process)
                times = process.cpu_times()
            except psutil.Error:
                continue
            cpu[process.pid] = (role, times.user + times.system)  # the last seen: a process's CPU so far
            total += rss
            workers += rss if role == "worker" else 0
            if rss > peaks.get(process.pid, ("", 0))[1]:
                peaks[process.pid] = (role, rss)
        peak_sum, peak_workers = max(peak_sum, total), max(peak_workers, workers)
        samples += 1
        time.sleep(0.5)
    reader.join()
    summary = json.loads(next(line for line in lines if line.startswith("CAMPAIGN"))[len("CAMPAIGN ") :])
    for role in ("client", "worker"):
        summary[f"{role}_cpu_s"] = sum(seconds for r, seconds in cpu.values() if r == role)
    summary.update(
        peak_sum=peak_sum,
        peak_workers=peak_workers,
        samples=samples,
        backends=backends,
        peaks=sorted(peaks.values(), key=lambda p: (p[0], -p[1])),
        out=out,
    )
    return summary


def _role(process) -> str:
    line = " ".join(process.cmdline())
    if "resource_tracker" in line or "forkserver" in line:
        return "helper"
    return "worker"


def campaign_table(s: dict) -> None:
    gib = 2**30
    print(
        "| problems | rows | error rows | generate (client) | cluster run | classify + findings | total "
        "| problems/s (run) | problems/s (total) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {s['problems']:,} | {s['rows']:,} | {s['error_rows']} | {s['generate_s']:.0f} s | {s['run_s']:.0f} s "
        f"| {s['after_s']:.0f} s | {s['total_s']:.0f} s | {s['problems'] / s['run_s']:.1f} "
        f"| {s['problems'] / s['total_s']:.1f} |"
    )
    print(
        f"peak RSS ({s['samples']} samples every 0.5 s): the tree {s['peak_sum'] / gib:.2f} GiB, the workers "
        f"together {s['peak_workers'] / gib:.2f} GiB; each process: "
        + ", ".join(f"{role} {rss / gib:.2f} GiB" for role, rss in s["peaks"])
    )
    print(
        f"CPU (psutil, to the last sample): the client {s['client_cpu_s']:.0f} s, the workers "
        f"{s['worker_cpu_s']:.0f} s = {s['worker_cpu_s'] / s['problems'] * 1e3:.1f} ms a problem"
    )
    print(f"verdicts: {s['verdicts']}; findings written as generated: {s['findings']}")


# --- 4. the projection -----------------------------------------------------------------------


def projection(c: float, o: float, g: float, z: float, start: float, label: str) -> None:
    print(
        f"c = {c * 1e3:.1f} ms a problem on one worker, o = {o * 1e3:.2f} ms a task (serial), "
        f"g = {g * 1e3:.2f} ms a problem to generate, z = {z * 1e3:.2f} ms a problem to classify (client), "
        f"start-up {start:.0f} s ({label})"
    )
    print(f"workers at which the scheduler becomes the limit: c / o = {c / o:.0f}")
    print("| problems | workers | N·c/W | N·o | generate + classify | projected t | limit |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    for n in (10**5, 10**6):
        for w in (2, 100):
            work, serial, client = n * c / w, n * o, n * (g + z)
            limit = "workers" if work >= serial else "scheduler"
            if client > max(work, serial):
                limit += ", then the client's serial generate + classify"
            print(
                f"| {n:,} | {w} | {work:.0f} s | {serial:.0f} s | {client:.0f} s "
                f"| {client + max(work, serial) + start:.0f} s | {limit} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--backends", default=NO_TENSORFLOW, help="part 1's backends (default: all but tensorflow)")
    parser.add_argument("--tasks", type=int, default=10_000, help="no-op tasks per measurement of part 2")
    parser.add_argument("--fuzz-count", type=int, default=100_000)
    parser.add_argument("--fuzz-backends", default="chainrule,central")
    parser.add_argument("--nice", type=int, default=10, help="the fuzz campaign's niceness")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--skip-fuzz", action="store_true")
    parser.add_argument("--campaign-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    fuzz_backends = args.fuzz_backends.split(",")
    if args.campaign_child is not None:
        campaign_child(args.campaign_child, fuzz_backends, args.out)
        return
    import psutil

    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
        + f", {psutil.virtual_memory().total / 2**30:.0f} GiB"
    )
    backends = args.backends.split(",")
    measured: dict = {}
    if not args.skip_throughput:
        print(f"\n## 1. Throughput: problems/ through {','.join(backends)}, {args.rounds} rounds", flush=True)
        measured["throughput"] = throughput_table(throughput(args.rounds, backends))
    if not args.skip_overhead:
        print(f"\n## 2. Scheduler overhead per task ({args.tasks} tasks each)", flush=True)
        results = [overhead(spec, args.tasks, backends, fuzz_backends) for spec in ("local:1", "local:2")]
        measured["overhead"] = overhead_table(results)
    if not args.skip_fuzz:
        print(
            f"\n## 3. Fuzz campaign: {args.fuzz_count} problems through {args.fuzz_backends} on local:2, "
            f"nice {args.nice}",
            flush=True,
        )
        summary = campaign_run(args.fuzz_count, fuzz_backends, args.nice)
        campaign_table(summary)
        measured["campaign"] = summary
        print("load average after: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    if "overhead" in measured and "campaign" in measured:
        s = measured["campaign"]
        start = measured["throughput"]["local:2"]["start"] if "throughput" in measured else 5.0
        print("\n## 4. Projection (PROJECTED from the measured c, o, g, z above; not measured)")
        # c: the campaign's cluster run per problem per worker (2 workers busy; it includes Dask's
        # per-task cost on the worker side and the sharing of 2 cores with the client).
        print(
            f"(with c from the workers' CPU instead: {s['worker_cpu_s'] / s['problems'] * 1e3:.1f} ms, "
            f"c / o = {s['worker_cpu_s'] / s['problems'] / measured['overhead']['o_fuzz']:.0f} workers)"
        )
        projection(
            2 * s["run_s"] / s["problems"],
            measured["overhead"]["o_fuzz"],
            s["generate_s"] / s["problems"],
            s["after_s"] / s["problems"],
            start,
            "fuzz campaign, " + args.fuzz_backends,
        )
    if "overhead" in measured and "throughput" in measured:
        t = measured["throughput"]["local:1"]
        print("\nproblems/ (c from the local:1 timed passes' wall per problem; no client-side generation):")
        projection(
            t["wall"] / t["problems"],
            measured["overhead"]["o"],
            0.0,
            0.0,
            measured["throughput"]["local:2"]["start"],
            "problems/, " + args.backends,
        )


if __name__ == "__main__":
    main()
