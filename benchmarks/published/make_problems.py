"""Write the problem files of benchmarks/published from catalogue.py (run from anywhere).

python benchmarks/published/make_problems.py
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from catalogue import FUNCTIONS, MGH, NIST, dataset  # noqa: E402


def num(v):
    s = repr(float(v))
    if ("e" in s or "E" in s) and "." not in s:
        m, _, ex = s.partition("e")
        s = f"{m}.0e{ex}"
    return s


def value(v):
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(w) for w in v) + "]"
    return num(v)


def not_binary(v, lo, hi):
    """A 4-decimal number that is not a short binary fraction (k / 64)."""
    while (v * 64) == int(v * 64):
        v = round(v + 0.0001, 4)
    return v


def random_point(rnd, entry):
    n, dom = entry["n"], entry["domain"]
    doms = dom if isinstance(dom, list) else [dom] * max(n, 1)
    pts = []
    for lo, hi in doms:
        span = hi - lo
        digits = 4 if span < 1e3 else 2
        if span < 1e-3:  # a tiny interval (Brown badly scaled's x[1])
            pts.append(float(f"{rnd.uniform(lo, hi):.5g}"))
            continue
        pts.append(not_binary(round(rnd.uniform(lo + 0.01 * span, hi - 0.01 * span), digits), lo, hi))
    return pts[0] if n == 0 else pts


def nist_random(rnd, cert):
    return [float(f"{c * (1 + rnd.uniform(-0.05, 0.05)):.5g}") for c in cert]


def document(entry, pname, kind, point, data):
    var = entry["var"]
    lines = [f"name: {pname}"]
    lines.append(
        f"description: {json.dumps(entry['name'] + ' at ' + kind + (', ' + entry['note'] if entry['note'] else ''))}"
    )
    lines.append(f"source: {json.dumps(entry['source'])}")
    coll = "nist" if entry["source"].startswith(NIST) else "mgh" if entry["source"].startswith(MGH) else "go"
    lines.append(f"tags: [published, {coll}, {kind.split(' ')[0]}]")
    if entry["let"]:
        lines.append("let:")
        for k, v in entry["let"].items():
            lines.append(f"  {k}: {json.dumps(v)}")
    lines.append(f"function: {json.dumps(entry['function'])}")
    lines.append("point:")
    lines.append(f"  {var}: {value(point)}")
    for k, v in data.items():
        lines.append(f"  {k}: {value(v)}")
    if data:
        lines.append(f"wrt: [{var}]")
    return "\n".join(lines) + "\n"


def folder(entry):
    if entry["source"].startswith(NIST):
        return "nist"
    if entry["source"].startswith(MGH):
        return "mgh"
    return "go"


def main():
    count = 0
    for entry in FUNCTIONS:
        rnd = random.Random("published:" + entry["name"])
        data = entry["data"]
        if isinstance(data, str):
            data = dataset(data)
        docs = []
        if entry["domain"] is None:
            for _ in range(entry["nrandom"]):
                docs.append(("random", nist_random(rnd, entry["optima"][0])))
        else:
            nrand = entry["nrandom"] or (3 if entry["n"] <= 2 else 2)
            for _ in range(nrand):
                docs.append(("random", random_point(rnd, entry)))
        for p in entry["optima"]:
            docs.append(("certified" if entry["domain"] is None else "optimum", p))
        start = entry["source"].startswith((NIST, MGH))
        for p in entry["extra"]:
            docs.append(("start" if start else "special", p))
        seen = {}
        texts = []
        for kind, p in docs:
            seen[kind] = seen.get(kind, 0) + 1
            pname = f"{entry['name']}-{kind}-{seen[kind]}"
            texts.append(document(entry, pname, f"{kind} point {seen[kind]}", p, data))
        out = HERE / folder(entry) / f"{entry['name']}.yaml"
        out.parent.mkdir(exist_ok=True)
        out.write_text("# yaml-language-server: $schema=../../../problem.schema.json\n" + "---\n".join(texts))
        count += len(texts)
    print(f"{len(FUNCTIONS)} files, {count} problems")


if __name__ == "__main__":
    main()
