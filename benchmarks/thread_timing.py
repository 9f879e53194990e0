"""Is a row's time_s the library's time? The torch and jax backends against the same gradient
written by hand, at the same thread count, measured side by side (issue 18).

For each thread count a fresh process is started with the libraries' variables set as a
worker of that share is (diffcompare.backends.threads.environment: OMP_NUM_THREADS …, XLA's
one-thread flags at 1), and torch.set_num_threads. In it, Rosenbrock's gradient at n elements
through the backend (its time_s: the median of warm calls, diffcompare.backends.timing) and
by hand (torch.autograd.grad on the expression written in torch; jax.jit(jax.grad(f)) in
jax), timed by the same median_time with overhead.py's settings (301 calls within 2 s), in
alternating order over several rounds. The ratio is time_s / hand-written, the median over
the rounds. The problem and the hand-written gradients are overhead.py's.

    python benchmarks/thread_timing.py                  # n = 10**6, threads 1 and 2, 5 rounds
    python benchmarks/thread_timing.py --n 1000 --rounds 2 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys


def measure(n: int, rounds: int, threads: int) -> dict:
    """In this process (started with the share's environment): per backend, the rounds' times.
    The problem, the hand-written gradients and the timing settings are overhead.py's."""
    import torch
    from overhead import hand_jax, hand_torch, problem

    from diffcompare import backends as registry
    from diffcompare.backends import timing
    from diffcompare.backends.timing import median_time

    torch.set_num_threads(threads)
    timing.configure(repeat=301, budget_s=2.0)  # as overhead.py: a jax call is a fraction of a millisecond
    p = problem(n)
    hand = {"torch": hand_torch(p.point["x"]), "jax": hand_jax(p.point["x"])}
    found = {}
    for name, by_hand in hand.items():
        backend = registry.load(name)
        ours, theirs = [], []
        for k in range(rounds):
            first, second = (backend, by_hand) if k % 2 == 0 else (by_hand, backend)
            for what in (first, second):
                if what is backend:
                    ours.append(backend.gradient(p, "float64").time_s)
                else:
                    theirs.append(median_time(by_hand))
        found[name] = {"time_s": ours, "hand": theirs}
    found["torch_threads"] = torch.get_num_threads()
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10**6)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", default="1,2", help="thread counts, comma-separated")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(measure(args.n, args.rounds, args.child)))
        return 0
    from diffcompare.backends.threads import environment

    print(f"Rosenbrock's gradient, n = {args.n}, float64, {args.rounds} alternating rounds per thread count")
    print("| threads | backend | time_s (median) | by hand (median) | time_s / by hand (median of rounds) |")
    print("|---:|---|---:|---:|---:|")
    for threads in (int(t) for t in args.threads.split(",")):
        env = {**os.environ, **environment(threads)}
        command = [sys.executable, __file__, "--n", str(args.n), "--rounds", str(args.rounds), "--child", str(threads)]
        out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
        found = json.loads(out.strip().splitlines()[-1])
        for name in ("torch", "jax"):
            ours, theirs = found[name]["time_s"], found[name]["hand"]
            ratio = statistics.median(a / b for a, b in zip(ours, theirs))
            print(
                f"| {threads} | {name} | {statistics.median(ours) * 1e3:.3g} ms | "
                f"{statistics.median(theirs) * 1e3:.3g} ms | {ratio:.3f} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
