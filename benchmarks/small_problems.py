"""The marginal cost of a small problem: N copies of sin(x**2) (each at its own point) against one,
as fresh processes of the main command, and the import floor beside them.

A: python -m diffcompare one.yaml         (1 problem)
B: python -m diffcompare many.yaml        (N problems: sin(x**2) at N points)
C: python -c "import torch, jax, sympy, pandas"
run in rounds A B C …, one warm-up round first; medians of the counted rounds. The marginal
cost of a problem is (B - A) / (N - 1): what a suite of many small problems pays per
problem beyond the start-up every run pays once.

    python benchmarks/small_problems.py [--count 1000] [--runs 3] [--backends LIST] [--no-html] [--untimed]

--untimed passes --repeat 1 --budget 0: one timed call per cell instead of up to 7 within
0.02 s, so that the figure shows what a problem costs beyond measuring its backends' speed.
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


def problems_yaml(count: int) -> str:
    """count problems of one function at as many points, one YAML document each."""
    return "---\n".join(
        f"name: sin-x2-{i}\nfunction: sin(x**2)\npoint: {{x: {0.5 + i / max(count, 1)!r}}}\n" for i in range(count)
    )


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", help="passed to diffcompare (default: every backend)")
    parser.add_argument("--no-html", action="store_true", help="passed to diffcompare")
    parser.add_argument("--untimed", action="store_true", help="--repeat 1 --budget 0: one timed call per cell")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "one.yaml").write_text(problems_yaml(1))
        (folder / "many.yaml").write_text(problems_yaml(args.count))
        options = ["--out", str(folder / "out"), "--quiet"]
        options += ["--backends", args.backends] if args.backends else []
        options += ["--no-html"] if args.no_html else []
        options += ["--repeat", "1", "--budget", "0"] if args.untimed else []
        one = [sys.executable, "-m", "diffcompare", str(folder / "one.yaml"), *options]
        many = [sys.executable, "-m", "diffcompare", str(folder / "many.yaml"), *options]
        imports = [sys.executable, "-c", "import torch, jax, sympy, pandas"]
        wall(one), wall(imports)  # warm-up: file caches, compiled bytecode, JAX's compilation cache
        a, b, c = [], [], []
        for _ in range(args.runs):
            a.append(wall(one))
            b.append(wall(many))
            c.append(wall(imports))
    one_s, many_s, floor_s = (statistics.median(x) for x in (a, b, c))
    marginal_ms = 1000 * (many_s - one_s) / max(args.count - 1, 1)
    extra = " ".join(options[3:])
    print(f"| command ({extra or 'every backend'}) | median wall s ({args.runs} runs) |")
    print("|---|---:|")
    print(f"| python -m diffcompare one.yaml (1 problem) | {one_s:.2f} |")
    print(f"| python -m diffcompare many.yaml ({args.count} problems) | {many_s:.2f} |")
    print(f"| python -c 'import torch, jax, sympy, pandas' | {floor_s:.2f} |")
    print(f"\none problem against the import floor: {one_s / floor_s:.2f}x")
    verdict = "met" if marginal_ms <= 10 else "NOT met"
    print(f"marginal cost of a problem: {marginal_ms:.1f} ms (target ≤ 10 ms: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
