"""diffcompare's `richardson` beside numdifftools' Gradient (defaults), in float64.

For every smooth problem in the given folders (no abs, relu, min, max, clamp or
where; a defined reference), both methods differentiate the same float64
function, and each gradient element's correct digits are measured against
diffcompare's exact reference. Prints a Markdown table; --write FILE puts it,
with the command, in FILE.

    python benchmarks/accuracy_numdifftools.py problems/ --write ACCURACY.md
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numdifftools
import numpy as np

from diffcompare.backends.richardson import RichardsonBackend
from diffcompare.engine.chainrule import numpy_program
from diffcompare.exact.truth import truth_of
from diffcompare.lang.ir import topo_order
from diffcompare.lang.primitives import PRIMITIVES
from diffcompare.running.runner import load_problems
from diffcompare.running.verdicts import errors


def is_smooth(problem) -> bool:
    return all(PRIMITIVES[n.op].smooth for n in topo_order(problem.function) if n.op in PRIMITIVES)


def numdifftools_gradient(problem) -> dict[str, np.ndarray]:
    """numdifftools.Gradient with its defaults, on f as a function of the flat wrt vector."""
    program = numpy_program(problem.function, np.float64)
    shapes = {v: problem.point[v].shape for v in problem.wrt}
    sizes = [int(np.prod(s)) for s in shapes.values()]

    def f(flat):
        env = dict(problem.point)
        start = 0
        for var, size in zip(problem.wrt, sizes):
            env[var] = np.asarray(flat[start : start + size], dtype=np.float64).reshape(shapes[var])
            start += size
        with np.errstate(all="ignore"):
            return float(program(env))

    x0 = np.concatenate([problem.point[v].ravel() for v in problem.wrt])
    with warnings.catch_warnings():  # all-NaN slices where f overflows: its digits say so
        warnings.simplefilter("ignore")
        flat = np.atleast_1d(numdifftools.Gradient(f)(x0))
    out, start = {}, 0
    for var, size in zip(problem.wrt, sizes):
        out[var] = flat[start : start + size].reshape(shapes[var])
        start += size
    return out


def digits(value: float, reference) -> float:
    return errors(float(value), reference)[2] if np.isfinite(value) else 0.0


def compare(paths: list[str]) -> list[dict]:
    problems, _ = load_problems(paths)
    rows = []
    richardson = RichardsonBackend()
    for problem in problems:
        if problem.operator != "gradient" or not is_smooth(problem):  # numdifftools.Gradient's question
            continue
        reference = truth_of(problem).reference
        if not reference.function_defined or not all(reference.defined[v].all() for v in problem.wrt):
            continue
        ours = richardson.gradient(problem, "float64").values
        peer = numdifftools_gradient(problem)
        pairs = [
            (digits(ours[v][i], reference.value(v, i)), digits(peer[v][i], reference.value(v, i)))
            for v in problem.wrt
            for i in np.ndindex(problem.point[v].shape)
        ]
        rows.append(
            {
                "problem": problem.name,
                "elements": len(pairs),
                "richardson": min(p[0] for p in pairs),
                "numdifftools": min(p[1] for p in pairs),
                "all": pairs,
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| problem | elements | richardson digits | numdifftools digits |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['problem']} | {r['elements']} | {r['richardson']:.1f} | {r['numdifftools']:.1f} |")
    ours = [p[0] for r in rows for p in r["all"]]
    peer = [p[1] for r in rows for p in r["all"]]
    lines.append(
        f"| **median over all {len(ours)} elements** | | **{statistics.median(ours):.1f}** "
        f"| **{statistics.median(peer):.1f}** |"
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--write", type=Path, help="write ACCURACY.md here")
    args = parser.parse_args(argv)
    rows = compare(args.paths)
    text = table(rows)
    print(text)
    if args.write:
        command = "python benchmarks/accuracy_numdifftools.py " + " ".join(args.paths) + f" --write {args.write}"
        args.write.write_text(
            ACCURACY_TEMPLATE.format(
                command=command,
                table=text,
                numdifftools=numdifftools.__version__,
                date=time.strftime("%Y-%m-%d"),
            ),
            encoding="utf-8",
        )
    return 0


ACCURACY_TEMPLATE = """# Accuracy: `richardson` beside numdifftools

numdifftools is what many users reach for to differentiate numerically. Here its
`Gradient`, with its defaults, and diffcompare's `richardson` backend differentiate the
same float64 functions: every smooth problem in `problems/` (no abs, relu, min, max,
clamp or where, and a defined reference). Each cell is the fewest correct significant
digits over the problem's gradient elements, measured against diffcompare's exact
reference (SymPy, evaluated in mpmath until two precisions agree); 17 means exact to
float64 and beyond, 0 means no correct digit (or a non-finite value). The last line is
the median over every element of every problem.

Produced by (numdifftools {numdifftools}, {date}):

```
{command}
```

{table}

Where both get 0 digits (the naive softplus and logsumexp at x ≈ 1000), f itself
overflows in float64: no finite-difference method can recover from that.
"""


if __name__ == "__main__":
    sys.exit(main())
