"""The main job against the imports it cannot avoid, as fresh processes.

A: python -m diffcompare problems/ (every backend, a temporary report folder)
B: python -c "import torch, jax, sympy, pandas"
run alternately A B A B …, one warm-up pair first; medians of the counted runs
and the median of the pairwise ratios A/B.

--variants adds, in the same rounds, the main job with JAX's compilation cache cold (an
empty cache folder each run), with it off (DIFFCOMPARE_JAX_CACHE=0), and with --no-html
(the cache warm): each row's ratio is to the import run of its own round.

    python benchmarks/end_to_end.py [--runs 5] [--jobs N] [--variants]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wall(command: list[str], env: dict | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env or os.environ
    )
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, help="passed to diffcompare (default: its own, the cores)")
    parser.add_argument("--variants", action="store_true", help="cold cache, no cache, --no-html beside")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as out:
        main_job = [sys.executable, "-m", "diffcompare", "problems/", "--out", out]
        if args.jobs:
            main_job += ["--jobs", str(args.jobs)]
        imports = [sys.executable, "-c", "import torch, jax, sympy, pandas"]
        # (label, command, environment maker): each made afresh per run (a cold cache is an empty folder)
        variants = [("python -m diffcompare problems/", main_job, lambda: None)]
        if args.variants:
            variants += [
                (
                    "… JAX cache cold",
                    main_job,
                    lambda: {**os.environ, "DIFFCOMPARE_CACHE_DIR": tempfile.mkdtemp(dir=out)},
                ),
                ("… JAX cache off", main_job, lambda: {**os.environ, "DIFFCOMPARE_JAX_CACHE": "0"}),
                ("… --no-html", [*main_job, "--no-html"], lambda: None),
            ]
        wall(main_job), wall(imports)  # warm-up: file caches, compiled bytecode, JAX's compilation cache
        times: dict[str, list[float]] = {label: [] for label, _, _ in variants}
        floor: list[float] = []
        ratios: dict[str, list[float]] = {label: [] for label, _, _ in variants}
        for _ in range(args.runs):
            measured = {label: wall(command, make_env()) for label, command, make_env in variants}
            floor.append(wall(imports))
            for label, seconds in measured.items():
                times[label].append(seconds)
                ratios[label].append(seconds / floor[-1])
    print(f"| command | median wall s ({args.runs} runs) | median ratio to the imports |")
    print("|---|---:|---:|")
    for label, _, _ in variants:
        print(f"| {label} | {statistics.median(times[label]):.2f} | {statistics.median(ratios[label]):.2f} |")
    print(f"| python -c 'import torch, jax, sympy, pandas' | {statistics.median(floor):.2f} | 1 |")
    ratio = statistics.median(ratios[variants[0][0]])
    print(f"\nmedian ratio A/B: {ratio:.2f} (target ≤ 1.5: {'met' if ratio <= 1.5 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
