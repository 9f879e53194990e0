"""JAX's persistent compilation cache and the jax backend's kept programs, side by side (issue 18).

Every figure is a fresh process, the variants interleaved round by round; medians over the rounds
and the median of the per-round ratios.

1. the main job, `python -m diffcompare problems/ --out TMP --quiet`, wall clock:
   cold (the cache on, its folder empty), warm (the cache on, filled by an earlier run),
   off (DIFFCOMPARE_JAX_CACHE=0);
2. the jax backend alone on problems/, in one process (run_problems(..., backends=["jax"]),
   timed after the imports): this tree cold, warm and off, and the code at --before (a checkout
   of an earlier commit, as PYTHONPATH; `git worktree add /tmp/wt 8252f70`) if given;
3. FILE (default /tmp/p18/small/many.yaml: 100 copies of sin(x**2) at different points) through
   run_problems with the jax backend alone, in one process: seconds per problem, the same
   variants (the exact reference of each problem, SymPy's, is in it);
4. FILE through the jax backend's compute alone (every dtype and mode of each problem, no
   reference, no rows): the backend's own cost per problem, the same variants.

    python benchmarks/jax_cache.py [--rounds 3] [--before /tmp/wt] [--many FILE] [--parts 1234]

The cache folders are temporary ones (DIFFCOMPARE_CACHE_DIR), never the user's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# the child of parts 2 and 3: the jax backend through run_problems, timed after every import
CHILD = """
import json, sys, time
from diffcompare.running.runner import load_problems, run_problems
import diffcompare.backends.jax_backend
problems, _ = load_problems([sys.argv[1]])
start = time.perf_counter()
frame = run_problems(problems, backends=["jax"])
print(json.dumps({"seconds": time.perf_counter() - start, "problems": len(problems), "rows": len(frame)}))
"""

# the child of part 4: the backend's compute alone, every dtype and mode of each problem
COMPUTE = """
import json, sys, time
from diffcompare import backends as registry
from diffcompare.running.runner import load_problems
backend = registry.load("jax")
problems, _ = load_problems([sys.argv[1]])
start = time.perf_counter()
for problem in problems:
    for dtype in backend.dtypes_for(problem):
        for mode in registry.modes_of(backend, problem):
            registry.compute(backend, problem, dtype, mode)
print(json.dumps({"seconds": time.perf_counter() - start, "problems": len(problems)}))
"""


def environment(variant: str, scratch: Path, before: str | None) -> dict:
    """The child's environment: cold (an empty cache folder), warm (the one filled before), off,
    before (the earlier code, which has no cache)."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if variant == "cold":
        folder = scratch / "cold"
        shutil.rmtree(folder, ignore_errors=True)
        env["DIFFCOMPARE_CACHE_DIR"] = str(folder)
    elif variant == "warm":
        env["DIFFCOMPARE_CACHE_DIR"] = str(scratch / "warm")
    else:
        env["DIFFCOMPARE_CACHE_DIR"] = str(scratch / "unused")
        env["DIFFCOMPARE_JAX_CACHE"] = "0"
    if variant == "before":
        env["PYTHONPATH"] = before
    return env


def main_job(env: dict, out: str) -> float:
    start = time.perf_counter()
    command = [sys.executable, "-m", "diffcompare", "problems/", "--out", out, "--quiet"]
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def jax_alone(env: dict, path: str, child: str = CHILD) -> dict:
    done = subprocess.run(
        # -P: no working directory ahead of PYTHONPATH, which would put this tree before --before
        [sys.executable, "-P", "-c", child, path],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def per_problem(got: dict) -> float:
    return got["seconds"] / got["problems"]


def report(title: str, times: dict[str, list[float]], base: str, unit: str = "s", scale: float = 1.0) -> None:
    print(f"\n{title}")
    print(f"| variant | median {unit} | median ratio to {base} |")
    print("|---|---:|---:|")
    for variant, values in times.items():
        ratios = [v / b for v, b in zip(values, times[base])]
        print(f"| {variant} | {statistics.median(values) * scale:.3g} | {statistics.median(ratios):.2f} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", help="a checkout of the code to compare against (PYTHONPATH)")
    parser.add_argument("--many", default="/tmp/p18/small/many.yaml")
    parser.add_argument("--parts", default="1234", help="which parts to run (default: all, 1234)")
    args = parser.parse_args(argv)
    alone_variants = ["cold", "warm", "off"] + (["before"] if args.before else [])
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        out = str(scratch / "out")
        warm_env = environment("warm", scratch, None)
        if "1" in args.parts:
            main_job(warm_env, out)  # fills the warm folder (every program of the main job), warms the file cache
        if "2" in args.parts:
            jax_alone(warm_env, "problems/")  # in one process, XLA's options (threads) are not a worker's
        if "3" in args.parts or "4" in args.parts:
            jax_alone(warm_env, args.many)
        parts = {
            "1": ({v: [] for v in ("cold", "warm", "off")}, lambda env: main_job(env, out)),
            "2": ({v: [] for v in alone_variants}, lambda env: jax_alone(env, "problems/")["seconds"]),
            "3": ({v: [] for v in alone_variants}, lambda env: per_problem(jax_alone(env, args.many))),
            "4": ({v: [] for v in alone_variants}, lambda env: per_problem(jax_alone(env, args.many, COMPUTE))),
        }
        parts = {part: parts[part] for part in sorted(set(args.parts) & set(parts))}
        for round_ in range(args.rounds):
            for times, measure in parts.values():
                for variant in times:
                    times[variant].append(measure(environment(variant, scratch, args.before)))
            figures = {f"{part} {v}": round(t[-1], 4) for part, (times, _) in parts.items() for v, t in times.items()}
            print(f"round {round_ + 1} of {args.rounds}: {json.dumps(figures)}", file=sys.stderr, flush=True)
    titles = {
        "1": ("1. python -m diffcompare problems/ --out TMP --quiet (wall clock)", "s", 1),
        "2": ("2. the jax backend alone on problems/, run_problems in one process", "s", 1),
        "3": (f"3. {args.many} through run_problems, jax alone: per problem", "ms", 1000),
        "4": (f"4. {args.many} through the jax backend's compute alone: per problem", "ms", 1000),
    }
    for part, (times, _) in parts.items():
        title, unit, scale = titles[part]
        report(title, times, "off" if part == "1" else alone_variants[-1], unit, scale)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
