"""Write benchmarks/gradbench/problems/*.yaml: GradBench's evaluations (evaluations.py) at small sizes, with
`expected:` derivatives computed independently of diffcompare.

How independence is kept: this script does not import diffcompare (nor SymPy, torch or jax)
and never evaluates the expression text. Each derivative is taken from the mpmath transcription
(evaluations.py's ``f``) twice: ``mpmath.diff`` (mpmath's own high-precision differences) at 60 and
at 90 digits, which must agree to 40 significant digits, and, where one is derived by hand (llsq,
lse, det, kmeans: ``exact``), the closed form, which must agree with them to 40 digits too and is
the value written. Values are written rounded to 17 significant digits; an exact 0 as 0.0.

    python benchmarks/gradbench/compute_expected.py     # rewrites benchmarks/gradbench/problems/*.yaml
"""

from __future__ import annotations

import decimal
import itertools
import json
from pathlib import Path

import mpmath
import numpy as np
from evaluations import EVALS, F, mp_array
from mpmath import mp

OUT = Path(__file__).resolve().parent / "problems"


# ------------------------------------------------------------------ the derivatives and the files
def _nested(flat, shape):
    return np.array(flat, dtype=object).reshape(shape).tolist() if shape else flat[0]


def _evaluate(entry, values):
    """f at values (wrt variable -> flat list of mpf), the other point variables at their exact values."""
    v = {}
    for name, value in entry["point"].items():
        shape = np.shape(value)
        v[name] = _nested(values[name], shape) if name in values else mp_array(value).tolist()
    return entry["f"](v)


def _base(entry):
    return {name: list(mp_array(entry["point"][name]).ravel()) for name in entry["wrt"]}


def _replaced(base, changes):
    out = {name: list(values) for name, values in base.items()}
    for (name, k), t in changes.items():
        out[name][k] = t
    return out


def _by_diff(entry, dps):
    """Every derivative the operator asks for, by mpmath.diff of the transcription at dps digits."""
    mp.dps = dps
    base = _base(entry)
    shapes = {name: np.shape(entry["point"][name]) for name in entry["wrt"]}
    out = {}
    if entry["operator"] == "gradient":
        for name in entry["wrt"]:
            elems = [
                mpmath.diff(lambda t, k=k: _evaluate(entry, _replaced(base, {(name, k): t})), base[name][k])
                for k in range(len(base[name]))
            ]
            out[name] = np.array(elems, dtype=object).reshape(shapes[name])
        return out
    assert entry["operator"] == "hessian"
    for a, b in itertools.product(entry["wrt"], repeat=2):
        block = []
        for i, j in itertools.product(range(len(base[a])), range(len(base[b]))):
            if (a, i) == (b, j):
                d = mpmath.diff(lambda t: _evaluate(entry, _replaced(base, {(a, i): t})), base[a][i], 2)
            else:
                d = mpmath.diff(
                    lambda s, t: _evaluate(entry, _replaced(base, {(a, i): s, (b, j): t})),
                    (base[a][i], base[b][j]),
                    (1, 1),
                )
            block.append(d)
        out[a if a == b else f"{a},{b}"] = np.array(block, dtype=object).reshape(shapes[a] + shapes[b])
    return out


def _agree(entry, what, lo, hi):
    for name in hi:
        for a, b in zip(np.ravel(lo[name]), np.ravel(hi[name])):
            if abs(a - b) > F(10) ** -40 * max(abs(b), F(1)):
                raise SystemExit(f"{entry['name']}: {what} differ in {name}: {a} vs {b}")


def expected_of(entry):
    lo, hi = _by_diff(entry, 60), _by_diff(entry, 90)
    _agree(entry, "mpmath.diff at 60 and 90 digits", lo, hi)
    if entry["exact"] is None:
        return hi
    exact = entry["exact"](
        {name: _nested(values, np.shape(entry["point"][name])) for name, values in _base(entry).items()}
    )
    _agree(entry, "the closed form and mpmath.diff", exact, hi)
    return exact


def text17(x):
    if abs(x) < F(10) ** -50:
        return "0.0"
    return format(decimal.Decimal(mpmath.nstr(x, 30, min_fixed=1, max_fixed=0)), ".16e")


def _flow(value, leaf):
    if isinstance(value, list):
        return "[" + ", ".join(_flow(a, leaf) for a in value) + "]"
    return leaf(value)


def write(entry):
    expected = expected_of(entry)
    lines = [
        "# yaml-language-server: $schema=../../../problem.schema.json",
        "# written by benchmarks/gradbench/compute_expected.py: edit that file, not this one",
        f"name: {entry['name']}",
        f"description: {json.dumps(entry['description'])}",
        f"source: {json.dumps(entry['source'])}",
        "tags: [gradbench]",
    ]
    if entry["operator"] != "gradient":
        lines.append(f"operator: {entry['operator']}")
    if entry["let"]:
        lines.append("let:")
        lines += [f"  {k}: {json.dumps(e)}" for k, e in entry["let"].items()]
    lines.append(f"function: {json.dumps(entry['function'])}")
    lines.append("point:")
    lines += [f"  {k}: {_flow(val, lambda a: repr(float(a)))}" for k, val in entry["point"].items()]
    lines.append(f"wrt: [{', '.join(entry['wrt'])}]")
    lines.append("expected:")
    lines += [f"  {k}: {_flow(np.asarray(val, dtype=object).tolist(), text17)}" for k, val in expected.items()]
    (OUT / f"{entry['name']}.yaml").write_text("\n".join(lines) + "\n")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.yaml"):
        old.unlink()
    for entry in EVALS:
        write(entry)
    print(f"{len(EVALS)} problems written to {OUT}")


if __name__ == "__main__":
    main()
