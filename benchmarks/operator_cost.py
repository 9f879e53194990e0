"""Operators' cost: forward against reverse mode over an m × n Jacobian, a Hessian against n HVPs.

Two measurements in one run, through each backend's own `compute(problem, "float64", mode)`,
so that every time is the `time_s` the tool reports (median of warm calls) and every cost
ratio its `time_s / f_time_s`:

1. the Jacobian of tanh(W @ x / √n), Rⁿ → Rᵐ (benchmarks/operators/jacobian_tanh_layer.yaml,
   swept here over an m × n grid): forward mode builds it a column per input, so its cost in
   evaluations of f should grow ∝ n; reverse mode a row per output, ∝ m; they cross at m = n.
   Per backend: time(forward) / time(reverse) over the grid, each mode's cost ratio, the
   log-log slopes, and where the ratio crosses 1;
2. Rosenbrock's Hessian in n variables (benchmarks/operators/rosenbrock_hessian.yaml) in each
   of the backend's modes, against n HVPs and n gradients (n × one call's time).

The machines are shared and noisy, so the modes of one grid cell are measured side by side,
in alternating order, `--rounds` times; a table's ratio is the median of the rounds' ratios.
torch and XLA run on one thread (`--threads`): on two shared cores a second thread's wait
for a busy core would be timed as the operator. A backend without the modes (chainrule has
no second order) is skipped with its reason.
Writes two log-log PNGs (benchmarks/operator_plots.py).

    python benchmarks/operator_cost.py [--sizes 1 4 16 64 256] [--hessian-sizes 2 8 32 128]
        [--rounds 5] [--threads 1] [--backends chainrule torch jax] [--png-dir docs] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import operator_plots
import operator_reading
import yaml
from operator_reading import Cell

from diffcompare.backends import timing
from diffcompare.backends.protocol import SkipCell, compute, modes_of, one_line
from diffcompare.backends.registry import Unavailable, load
from diffcompare.spec.problem import build_problems

HERE = Path(__file__).resolve().parent
JACOBIAN_FILE = HERE / "operators" / "jacobian_tanh_layer.yaml"
HESSIAN_FILE = HERE / "operators" / "rosenbrock_hessian.yaml"
BACKENDS = ("chainrule", "torch", "jax")
JACOBIAN_MODES = ("forward", "reverse")


def documents(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as stream:
        return [d for d in yaml.safe_load_all(stream) if d]


def members(document: dict, path: Path, sweep: dict) -> dict[tuple, object]:
    """The document's problem at every combination of `sweep` (replacing the file's own),
    keyed by the parameters' values in the sweep's order."""
    problems, errors = build_problems(dict(document, sweep=sweep), str(path), document["name"])
    if errors:
        raise SystemExit(f"{path}: {errors[0]}")
    return {tuple(int(p.params[k]) for k in sweep): p for p in problems}


def usable_modes(backend, problem, wanted: tuple[str, ...] | None = None) -> tuple[tuple[str, ...], str]:
    """(the modes to measure, "") or ((), why the backend is skipped)."""
    if isinstance(backend, Unavailable):
        return (), backend.message
    try:
        modes = modes_of(backend, problem)
    except SkipCell as exc:
        return (), one_line(exc)
    if wanted is None:
        return (modes, "") if modes else ((), f"no mode for {problem.operator}")
    missing = [m for m in wanted if m not in modes]
    if missing:
        return (), f"no {' or '.join(missing)} mode for {problem.operator} (its modes: {', '.join(modes) or 'none'})"
    return wanted, ""


def side_by_side(backend, calls: list[tuple[object, str]], cells: list[Cell], rounds: int) -> None:
    """Each round computes every (problem, mode) of `calls` in turn, in reversed order every
    other round, so that a drift of the machine hits each mode alike."""
    for r in range(rounds):
        order = list(zip(calls, cells))
        for (problem, mode), cell in order if r % 2 == 0 else order[::-1]:
            cell.add(compute(backend, problem, "float64", mode))


def jacobian_grid(backend, sizes: list[int], rounds: int) -> tuple[dict, str]:
    """{(m, n): {mode: Cell}}, or ({}, why it is skipped)."""
    template = documents(JACOBIAN_FILE)[0]
    grid = members(template, JACOBIAN_FILE, {"m": sizes, "n": sizes})
    modes, why = usable_modes(backend, next(iter(grid.values())), JACOBIAN_MODES)
    if not modes:
        return {}, why
    out = {}
    for key, problem in grid.items():
        out[key] = {mode: Cell() for mode in modes}
        side_by_side(backend, [(problem, mode) for mode in modes], list(out[key].values()), rounds)
    return out, ""


def hessian_costs(backend, sizes: list[int], rounds: int) -> tuple[dict, str]:
    """{n: {(operator, mode): Cell}} for the Hessian, the HVP and the gradient, or ({}, why)."""
    families = {d["operator"] if "operator" in d else "gradient": d for d in documents(HESSIAN_FILE)}
    by_operator = {op: members(d, HESSIAN_FILE, {"n": sizes}) for op, d in families.items()}
    modes = {}
    for op, problems in by_operator.items():
        modes[op], why = usable_modes(backend, next(iter(problems.values())))
        if not modes[op]:
            return {}, why
    out = {}
    for (n,) in by_operator["hessian"]:
        calls = [(by_operator[op][(n,)], mode) for op in by_operator for mode in modes[op]]
        out[n] = {(p.operator, mode): Cell() for p, mode in calls}
        side_by_side(backend, calls, list(out[n].values()), rounds)
    return out, ""


def threads_per_library(backends: list[str], threads: int) -> None:
    """torch's and XLA's intra-op threads (NumPy's BLAS is read at import, and the chain-rule
    engine's products here are matrix-vector, which OpenBLAS runs on one thread). On 2 shared
    cores a second thread waits for a busy core: torch's 256 × 64 matrix-vector product took
    7 ms on two threads under load and 20 µs on one, a scheduler's slice timed as the operator."""
    if "torch" in backends:
        import torch

        torch.set_num_threads(threads)
    if "jax" in backends and "jax" not in sys.modules:  # XLA reads its flags when it starts
        flags = f"--xla_cpu_multi_thread_eigen={str(threads > 1).lower()} intra_op_parallelism_threads={threads}"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16, 64, 256], help="the grid's m and n")
    parser.add_argument("--hessian-sizes", type=int, nargs="+", default=[2, 8, 32, 128])
    parser.add_argument("--rounds", type=int, default=5, help="side-by-side rounds per cell")
    parser.add_argument("--threads", type=int, default=1, help="torch's and XLA's intra-op threads")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--png-dir", type=Path, default=HERE.parent / "docs")
    parser.add_argument("--quick", action="store_true", help="a tiny grid, one round: the test's smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.hessian_sizes, args.rounds = [1, 4], [2, 4], 1
    before = timing.settings()  # the process's own, given back (a test calls main in its process)
    try:
        if args.quick:
            timing.configure(repeat=3, budget_s=0.01)
        else:
            timing.configure(repeat=101, budget_s=0.1)  # a 20 µs jax call: 101 calls; chainrule's 80 ms: 2
        report(args)
    finally:
        timing.configure(*before)
    return 0


def report(args) -> None:
    """Measure every backend of args, print its tables as it is done, then draw the figures."""
    threads_per_library(args.backends, args.threads)
    start = time.perf_counter()
    jacobians, hessians = {}, {}
    for name in args.backends:
        backend = load(name)
        jacobians[name], why = jacobian_grid(backend, args.sizes, args.rounds)
        print(operator_reading.jacobian_report(name, jacobians[name], why), flush=True)
        hessians[name], why = hessian_costs(backend, args.hessian_sizes, args.rounds)
        print(operator_reading.hessian_report(name, hessians[name], why), flush=True)
    written = operator_plots.write(jacobians, hessians, args.png_dir)
    print("wrote " + ", ".join(str(p) for p in written) if written else "no plot: no backend measured")
    print(f"measured in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    raise SystemExit(main())
