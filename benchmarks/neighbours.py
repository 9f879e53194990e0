"""Is a backend's time_s its own, whatever ran before it in the process? (issue 18)

For each backend (torch, jax, chainrule) a fresh process runs Rosenbrock at n elements
through diffcompare.run_problems (in this process: one job, no timeout) as a user's
`run(...)` does: first the backend alone, `--repeat` times (nothing else has run in the
process), then `--repeat` rounds of its neighbours (the other backends) followed by the
backend twice: once right after them, once right after itself. Printed: the medians of
time_s alone, after the neighbours and after itself, and the ratios after / alone and
after / after itself (the first would show what a neighbour leaves for good, the allocator's
heap or a pool's threads; the second, interleaved, what it leaves for a moment, a pool
still spinning). Then benchmarks/thread_timing.py's check: torch's and jax's time_s against
the same gradient written by hand, at the same thread count (the issue's ≤ 1.10× target).

    python benchmarks/neighbours.py                        # n = 10**5 and 10**6, 5 rounds, then thread_timing
    python benchmarks/neighbours.py --n 50000 --repeat 3 --no-hand
    python benchmarks/neighbours.py --threads 1            # each process started as a worker of share 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BACKENDS = ("torch", "jax", "chainrule")
EXACT_S = 1.0  # the exact side of the problem: what time_s measures does not depend on it


def measure(n: int, target: str, neighbours: list[str], repeat: int) -> dict:
    """In this process (fresh): target's time_s alone, then after its neighbours and after itself."""
    sys.path.insert(0, str(HERE))
    from overhead import problem

    from diffcompare.backends import threads
    from diffcompare.exact import budget
    from diffcompare.running.runner import run_problems

    budget.configure(EXACT_S)
    p = problem(n)

    def time_s(names: list[str]) -> float:
        frame = run_problems([p], names, dtypes=["float64"])
        return float(frame.loc[frame["backend"] == names[-1], "time_s"].iloc[0])

    time_s([target])  # its first calls in a fresh process warm it up (jax's are slower): not counted
    alone = [time_s([target]) for _ in range(repeat)]
    after, after_self = [], []
    for _ in range(repeat):
        after.append(time_s([*neighbours, target]))
        after_self.append(time_s([target]))
    return {"alone": alone, "after": after, "after_self": after_self, "threads": threads.current()}


def others_busy_ms(window_s: float) -> float:
    """Milliseconds of CPU the process's other threads use while this one sleeps window_s
    (their run time in /proc's schedstat, Linux)."""
    import threading
    import time

    me = str(threading.get_native_id())

    def run_ns() -> dict[str, int]:
        found = {}
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/schedstat") as f:
                    found[tid] = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        return found

    before = run_ns()
    time.sleep(window_s)
    after = run_ns()
    return sum(ns - before.get(tid, 0) for tid, ns in after.items() if tid != me) / 1e6


def left_spinning(n: int, names: list[str], window_s: float = 0.05) -> dict:
    """In this process: per backend, the CPU its pools' threads burn in the window_s right after
    its gradient (the timed calls and f's): a pool spinning on a core another backend may want."""
    sys.path.insert(0, str(HERE))
    from overhead import problem

    from diffcompare import backends as registry

    p = problem(n)
    found = {}
    for name in names:
        registry.load(name).gradient(p, "float64")
        found[name] = others_busy_ms(window_s)
    return found


def in_fresh_process(n: int, target: str, neighbours: list[str], repeat: int, threads: int | None = None) -> dict:
    """measure() in a new interpreter; started as a worker of that share when threads is given."""
    env = dict(os.environ)
    if threads is not None:
        from diffcompare.backends.threads import environment

        env.update(environment(threads))
    command = [sys.executable, str(Path(__file__)), "--child", target, "--neighbours", ",".join(neighbours)]
    command += ["--n", str(n), "--repeat", str(repeat)]
    if threads is not None:
        command += ["--threads", str(threads)]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def spinning_in_fresh_process(n: int, names: list[str]) -> dict:
    """left_spinning() in a new interpreter, with the libraries' own threads."""
    command = [sys.executable, str(Path(__file__)), "--child", "spin", "--neighbours", ",".join(names), "--n", str(n)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def ratios(found: dict) -> tuple[float, float]:
    """(after / alone, after / after itself): ratios of the medians."""
    median = statistics.median
    return median(found["after"]) / median(found["alone"]), median(found["after"]) / median(found["after_self"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="100000,1000000", help="sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, help="start each process as a worker of this share")
    parser.add_argument("--no-hand", action="store_true", help="leave out thread_timing's check")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--neighbours", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "spin":
        print(json.dumps(left_spinning(int(args.n), args.neighbours.split(","))))
        return 0
    if args.child:
        if args.threads is not None:
            from diffcompare.backends import threads

            threads.configure(args.threads)
        print(json.dumps(measure(int(args.n), args.child, args.neighbours.split(","), args.repeat)))
        return 0
    share = "the libraries' own threads" if args.threads is None else f"started as a worker of share {args.threads}"
    print(f"Rosenbrock, float64, run_problems in one process ({share}); medians of {args.repeat} time_s each")
    print("| n | backend | threads | alone | after the others | after itself | after / alone | after / itself |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for n in (int(v) for v in args.n.split(",")):
        for target in BACKENDS:
            neighbours = [b for b in BACKENDS if b != target]
            found = in_fresh_process(n, target, neighbours, args.repeat, args.threads)
            lasting, passing = ratios(found)
            ms = {k: statistics.median(found[k]) * 1e3 for k in ("alone", "after", "after_self")}
            print(
                f"| {n} | {target} (after {', '.join(neighbours)}) | {found['threads']} | {ms['alone']:.3g} ms "
                f"| {ms['after']:.3g} ms | {ms['after_self']:.3g} ms | {lasting:.2f} | {passing:.2f} |"
            )
    for n in (int(v) for v in args.n.split(",")):
        busy = spinning_in_fresh_process(n, list(BACKENDS))
        left = ", ".join(f"{name} {ms:.1f} ms" for name, ms in busy.items())
        print(f"\nn = {n}: CPU the process's other threads burn in the 50 ms after each backend's gradient: {left}")
    if not args.no_hand:
        import thread_timing

        print()
        thread_timing.main(["--n", "1000000", "--rounds", str(args.repeat)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
