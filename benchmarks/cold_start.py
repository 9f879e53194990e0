"""Cold start of the API against the peers: one gradient of Rosenbrock (n = 100, float64)
checked in a fresh process.

Each command is a fresh `python -c` process, timed from outside (interpreter start and
imports included, as a user meets them):

  compare-torch   diffcompare.compare(f, point, backends=["torch"])
  gradcheck       torch.autograd.gradcheck(f, (x,))
  compare-jax     diffcompare.compare(f, point, backends=["jax"])
  check_grads     jax.test_util.check_grads(f, (x,), order=1, modes=("rev",)), x64 enabled
  numdifftools    numdifftools.Gradient(rosen)(x) against scipy's rosen_der (if installed)
  scipy           scipy.optimize.check_grad(rosen, rosen_der, x) (if installed)
  import-torch, import-torch+pandas+sympy, import-jax, import-jax+pandas+sympy: the floors

run in rounds (one warm-up round first, then --rounds counted ones), each round every command
once, in turn; medians of the walls and of the per-round ratios. --baseline DIR adds
compare-torch and compare-jax run from another checkout (a `git worktree` of an older commit),
in the same rounds. --phases runs compare-torch once more, instrumented, and prints where its
time goes (imports, SymPy's derivative, CSE, the reference, the torch cells).

--sweep N adds a sweep: N problems sin(x**2) that differ only in the point, run in-process, with the
per-process memo of SymPy forms (exact.symbolic.MEMO_FORMS) and without it (--only none: that alone).

    python benchmarks/cold_start.py [--rounds 5] [--n 100] [--baseline /tmp/wt_old] [--phases] [--sweep 100]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTION = "sum(100*(x[1:]-x[:-1]**2)**2 + (1-x[:-1])**2)"

COMPARE = """
import diffcompare, numpy as np
x = np.linspace(-1, 1, {n})
frame = diffcompare.compare({function!r}, point={{"x": x}}, backends=[{backend!r}], dtypes=["float64"])
assert (frame["verdict"] == "agree").all(), frame["verdict"].value_counts()
"""
GRADCHECK = """
import torch
x = torch.linspace(-1, 1, {n}, dtype=torch.float64, requires_grad=True)
f = lambda x: torch.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
assert torch.autograd.gradcheck(f, (x,))
"""
CHECK_GRADS = """
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
from jax.test_util import check_grads
x = jnp.linspace(-1, 1, {n}, dtype=jnp.float64)
f = lambda x: jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
check_grads(f, (x,), order=1, modes=("rev",))
"""
NUMDIFFTOOLS = """
import numpy as np, numdifftools as nd
from scipy.optimize import rosen, rosen_der
x = np.linspace(-1, 1, {n})
assert np.allclose(nd.Gradient(rosen)(x), rosen_der(x), rtol=1e-6, atol=1e-6)
"""
SCIPY = """
import numpy as np
from scipy.optimize import check_grad, rosen, rosen_der
x = np.linspace(-1, 1, {n})
assert check_grad(rosen, rosen_der, x) <= 1e-6 * np.linalg.norm(rosen_der(x))
"""
PHASES = """
import json, sys, time
T = {{}}
start = time.perf_counter()
for name in ("numpy", "torch", "pandas", "sympy", "diffcompare.api"):
    t = time.perf_counter()
    __import__(name)
    T["import " + name] = time.perf_counter() - t

def timed(owner, name, label):
    original = getattr(owner, name)
    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            T[label] = T.get(label, 0.0) + time.perf_counter() - t
    setattr(owner, name, wrapper)

import sympy
from diffcompare.exact import reference, symbolic, truth
from diffcompare.backends.torch_backend import TorchBackend
from diffcompare.running import runner
timed(symbolic.SymbolicForm, "_build", "exact: SymPy's derivative (SymbolicForm)")
timed(sympy, "cse", "exact: SymPy's CSE")
timed(truth, "compute_reference", "exact: reference (CSE + mpmath evaluation)")
timed(truth, "judged_on_f", "exact: kinks and undefined points (judged_on_f)")
timed(TorchBackend, "gradient", "torch cells (gradient + timing)")
timed(runner, "frame_of", "the DataFrame")
import diffcompare, numpy as np
x = np.linspace(-1, 1, {n})
t = time.perf_counter()
diffcompare.compare({function!r}, point={{"x": x}}, backends=["torch"], dtypes=["float64"])
T["compare() call"] = time.perf_counter() - t
T["total"] = time.perf_counter() - start
print(json.dumps(T))
"""


SWEEP = """
import json, sys, time
import diffcompare
from diffcompare.exact import symbolic
symbolic.MEMO_FORMS = {memo}
import torch  # imported before the clock starts: the sweep's cost per problem, not the imports'
diffcompare.run({first!r}, backends=["torch"])  # one problem first: SymPy's and torch's first calls
start = time.perf_counter()
frame = diffcompare.run({path!r}, backends=["torch"])
print(json.dumps({{"seconds": time.perf_counter() - start, "rows": len(frame)}}))
"""


def _write_sweep(folder: Path, count: int) -> tuple[Path, Path]:
    """count copies of sin(x**2) at points 0.5, 0.51, … (a sweep's members differ only in the point)."""
    first, path = folder / "first.yaml", folder / "sweep.yaml"
    first.write_text("name: first\nfunction: sin(x**2)\npoint: {x: 0.25}\n")
    documents = [f"name: sin-x2-{i}\nfunction: sin(x**2)\npoint: {{x: {0.5 + i / 100!r}}}\n" for i in range(count)]
    path.write_text("---\n".join(documents))
    return first, path


def sweep(rounds: int, count: int) -> None:
    """Per-problem time of a sweep, in-process (run(), backends=["torch"]), with the memo of SymPy
    forms (exact.symbolic.MEMO_FORMS) and without it, fresh processes, interleaved."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        first, path = _write_sweep(Path(folder), count)
        seconds: dict[str, list[float]] = {"memo": [], "no memo": []}
        for round_ in range(rounds + 1):
            for name, memo in (("memo", 64), ("no memo", 0)):
                code = SWEEP.format(memo=memo, first=str(first), path=str(path))
                result = subprocess.run(
                    [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True
                )
                if round_:
                    seconds[name].append(json.loads(result.stdout.strip().splitlines()[-1])["seconds"])
    print(f"\nsweep: {count} problems sin(x**2) differing in the point, run(..., backends=['torch']) in-process,")
    print(f"imports and first calls excluded; fresh processes, {rounds} interleaved rounds, medians\n")
    print("| variant | median ms per problem |")
    print("|---|---:|")
    for name, values in seconds.items():
        print(f"| {name} | {1000 * statistics.median(values) / count:.1f} |")
    ratio = statistics.median(a / b for a, b in zip(seconds["memo"], seconds["no memo"]))
    print(f"| memo / no memo (median of per-round ratios) | {ratio:.2f} |")


def _installed(*names: str) -> bool:
    return all(importlib.util.find_spec(name) is not None for name in names)


def commands(n: int, baseline: Path | None) -> dict[str, tuple[str, Path, dict]]:
    """name -> (code, cwd, extra environment): the cwd decides which diffcompare `python -c` imports."""
    here, env = ROOT, {}
    out = {
        "compare-torch": (COMPARE.format(n=n, function=FUNCTION, backend="torch"), here, env),
        "gradcheck": (GRADCHECK.format(n=n), here, env),
        "compare-jax": (COMPARE.format(n=n, function=FUNCTION, backend="jax"), here, env),
        "check_grads": (CHECK_GRADS.format(n=n), here, env),
    }
    if baseline is not None:
        out["compare-torch@baseline"] = (out["compare-torch"][0], baseline, {"PYTHONPATH": str(baseline)})
        out["compare-jax@baseline"] = (out["compare-jax"][0], baseline, {"PYTHONPATH": str(baseline)})
    if _installed("numdifftools", "scipy"):
        out["numdifftools"] = (NUMDIFFTOOLS.format(n=n), here, env)
    if _installed("scipy"):
        out["scipy.check_grad"] = (SCIPY.format(n=n), here, env)
    out["import-torch"] = ("import numpy, torch", here, env)
    out["import-torch+pandas+sympy"] = ("import numpy, torch, pandas, sympy", here, env)
    out["import-jax"] = ("import numpy, jax", here, env)
    out["import-jax+pandas+sympy"] = ("import numpy, jax, pandas, sympy", here, env)
    return out


def wall(code: str, cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - start


RATIOS = [
    ("compare-torch", "gradcheck", 1.2),
    ("compare-jax", "check_grads", 1.2),
    ("compare-torch@baseline", "gradcheck", None),
    ("compare-jax@baseline", "check_grads", None),
    ("compare-torch", "compare-torch@baseline", None),
    ("compare-jax", "compare-jax@baseline", None),
    ("import-torch+pandas+sympy", "gradcheck", None),
    ("import-jax+pandas+sympy", "check_grads", None),
    ("gradcheck", "import-torch", None),
    ("check_grads", "import-jax", None),
    ("compare-torch", "numdifftools", None),
    ("compare-torch", "scipy.check_grad", None),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--baseline", type=Path, help="another checkout: its compare-torch/-jax in the same rounds")
    parser.add_argument("--phases", action="store_true", help="where compare-torch's time goes (one more run)")
    parser.add_argument("--only", help="comma-separated commands to run (default: all; none: the sweep alone)")
    parser.add_argument("--sweep", type=int, default=0, help="also a sweep of this many problems, memo on and off")
    args = parser.parse_args(argv)
    if args.only == "none":
        sweep(args.rounds, args.sweep)
        return 0
    table = commands(args.n, args.baseline)
    if args.only:
        table = {k: v for k, v in table.items() if k in args.only.split(",")}
    walls: dict[str, list[float]] = {name: [] for name in table}
    for round_ in range(args.rounds + 1):  # round 0: warm-up (bytecode, file caches), not counted
        for name, (code, cwd, env) in table.items():
            seconds = wall(code, cwd, env)
            if round_:
                walls[name].append(seconds)
        print(f"round {round_}{' (warm-up)' if not round_ else ''} done", file=sys.stderr)
    print(f"Rosenbrock n = {args.n}, float64; fresh processes, {args.rounds} interleaved rounds, medians\n")
    print("| command | median wall s | min | max |")
    print("|---|---:|---:|---:|")
    for name, values in walls.items():
        print(f"| {name} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |")
    print("\n| ratio (median of the per-round ratios) | value | target |")
    print("|---|---:|---|")
    for a, b, target in RATIOS:
        if a in walls and b in walls:
            ratio = statistics.median(x / y for x, y in zip(walls[a], walls[b]))
            verdict = "" if target is None else f"≤ {target}: {'met' if ratio <= target else 'NOT met'}"
            print(f"| {a} / {b} | {ratio:.2f} | {verdict} |")
    if args.phases:
        code = PHASES.format(n=args.n, function=FUNCTION)
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
        phases = json.loads(result.stdout.strip().splitlines()[-1])
        print("\nwhere compare-torch's time goes (one instrumented fresh process, seconds; exact: nested)")
        print("\n| phase | s |")
        print("|---|---:|")
        for name, seconds in phases.items():
            print(f"| {name} | {seconds:.2f} |")
    if args.sweep:
        sweep(args.rounds, args.sweep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
