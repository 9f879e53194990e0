"""Does diffcompare add anything measurable to what it measures?

Rosenbrock at n = 10⁶ in float64: the `time_s` diffcompare's torch and jax
backends report, beside hand-written torch.autograd and jax.jit(jax.grad(f))
timed the same way (median of warm calls), in the same process, alternating
A B A B so that a drift of the machine hits both.

    python benchmarks/overhead.py [--n 1000000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from diffcompare.backends import timing
from diffcompare.spec.problem import build_problems

ROSENBROCK = "sum(100 * (x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2)"


def problem(n: int):
    document = {
        "function": ROSENBROCK,
        "point": {"x": {"shape": [n], "random": "uniform", "low": -1, "high": 1, "seed": 0}},
        "dtypes": ["float64"],
    }
    (p,), _ = build_problems(document, "<overhead>", "rosenbrock")
    return p


def hand_torch(x0: np.ndarray):
    import torch

    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)

    def grad():
        f = torch.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
        return torch.autograd.grad(f, [x])

    grad()
    return grad


def hand_jax(x0: np.ndarray):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    x = jnp.asarray(x0, dtype=jnp.float64)
    grad = jax.jit(jax.grad(lambda x: jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)))

    def run():
        return jax.block_until_ready(grad(x))

    run()
    return run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    timing.configure(repeat=301, budget_s=2.0)  # many calls: a jax call here is a fraction of a millisecond
    p = problem(args.n)
    from diffcompare.backends.jax_backend import JaxBackend
    from diffcompare.backends.torch_backend import TorchBackend

    targets = {"torch": (TorchBackend(), hand_torch, 1.25), "jax": (JaxBackend(), hand_jax, 1.15)}
    print(f"Rosenbrock, n = {args.n}, float64; median seconds of warm gradient calls, {args.rounds} rounds A B A B")
    print("| backend | diffcompare time_s | hand-written | ratio (median of rounds) | target |")
    print("|---|---:|---:|---:|---:|")
    for name, (backend, hand, target) in targets.items():
        ours, theirs, ratios = [], [], []
        run_hand = hand(p.point["x"])
        for _ in range(args.rounds):
            a = backend.gradient(p, "float64").time_s
            b = timing.median_time(run_hand)
            ours.append(a)
            theirs.append(b)
            ratios.append(a / b)
        ratio = statistics.median(ratios)
        mark = "met" if ratio <= target else "NOT met"
        print(
            f"| {name} | {statistics.median(ours):.4g} | {statistics.median(theirs):.4g} "
            f"| {ratio:.3f} | ≤ {target} ({mark}) |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
