"""The main job against the imports it cannot avoid, as fresh processes.

A: python -m diffcompare problems/ (every backend, a temporary report folder)
B: python -c "import torch, jax, sympy, pandas"
run alternately A B A B …, one warm-up pair first; medians of the counted runs
and the median of the pairwise ratios A/B.

    python benchmarks/end_to_end.py [--runs 5] [--jobs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, help="passed to diffcompare (default: its own, the cores)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as out:
        main_job = [sys.executable, "-m", "diffcompare", "problems/", "--out", out]
        if args.jobs:
            main_job += ["--jobs", str(args.jobs)]
        imports = [sys.executable, "-c", "import torch, jax, sympy, pandas"]
        wall(main_job), wall(imports)  # warm-up: file caches, compiled bytecode
        a, b = [], []
        for _ in range(args.runs):
            a.append(wall(main_job))
            b.append(wall(imports))
    ratios = [x / y for x, y in zip(a, b)]
    print(f"| command | median wall s ({args.runs} runs) |")
    print("|---|---:|")
    print(f"| {' '.join(['python', *main_job[1:3], 'problems/'])} | {statistics.median(a):.2f} |")
    print(f"| python -c 'import torch, jax, sympy, pandas' | {statistics.median(b):.2f} |")
    ratio = statistics.median(ratios)
    print(f"\nmedian ratio A/B: {ratio:.2f} (target ≤ 2: {'met' if ratio <= 2 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
