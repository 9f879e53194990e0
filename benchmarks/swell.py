"""Expression swell: the logistic map l₍ₙ₊₁₎ = 4lₙ(1 - lₙ), l₁ = x, at depth 1 … 12.

Baydin et al. (2018, JMLR 18(153), "Automatic differentiation in machine
learning: a survey", Table 1) use this map to show how symbolic derivatives
swell. For each depth n this prints the operation count of d lₙ/dx as SymPy
differentiates it (expr_ops) and after common-subexpression elimination
(expr_ops_cse), the sympy backend's setup_s (differentiate, eliminate, compile,
first call), and the time of one gradient by jax and by the chain-rule engine,
all from diffcompare's own rows. For n ≤ 4 it prints SymPy's expanded
derivative beside the simplified form of Baydin et al.'s table.

    python benchmarks/swell.py [--depth 12]
"""

from __future__ import annotations

import argparse

import sympy

import diffcompare

# Baydin et al. 2018, Table 1, last column: d lₙ/dx in simplified form, as
# factor · (c₀ + c₁x + c₂x² + …): 1; 4 - 8x; 16(1 - 10x + 24x² - 16x³); 64(1 - 42x + …).
BAYDIN_SIMPLIFIED = {
    1: (1, [1]),
    2: (4, [1, -2]),
    3: (16, [1, -10, 24, -16]),
    4: (64, [1, -42, 504, -2640, 7040, -9984, 7168, -2048]),
}


def logistic_map(depth: int) -> dict:
    let = {"l1": "x"} if depth == 1 else {}
    for k in range(1, depth):
        previous = "x" if k == 1 else f"l{k}"
        let[f"l{k + 1}"] = f"4 * {previous} * (1 - {previous})"
    return {"let": {k: v for k, v in let.items() if k != "l1"}, "function": "x" if depth == 1 else f"l{depth}"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=12)
    parser.add_argument("--x", type=float, default=0.3)
    args = parser.parse_args(argv)
    print("| n | expr_ops | expr_ops_cse | sympy setup_s | sympy time_s | jax time_s | chainrule time_s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for depth in range(1, args.depth + 1):
        document = logistic_map(depth)
        frame = diffcompare.compare(
            document["function"],
            point={"x": args.x},
            let=document["let"],
            dtypes=["float64"],
            backends=["sympy", "jax", "chainrule"],
            name=f"logistic-map-{depth}",
        )
        row = {b: frame[frame["backend"] == b].iloc[0] for b in ("sympy", "jax", "chainrule")}
        s = row["sympy"]
        print(
            f"| {depth} | {int(s['expr_ops'])} | {int(s['expr_ops_cse'])} | {s['setup_s']:.3g} | {s['time_s']:.3g} "
            f"| {row['jax']['time_s']:.3g} | {row['chainrule']['time_s']:.3g} |"
        )
    print("\nd lₙ/dx expanded by SymPy, beside Baydin et al.'s simplified column:")
    x = sympy.Symbol("x", real=True)
    l_n = x
    for depth in range(1, 5):
        derivative = sympy.expand(sympy.diff(l_n, x))
        factor, coefficients = BAYDIN_SIMPLIFIED[depth]
        theirs = sympy.expand(factor * sum(c * x**k for k, c in enumerate(coefficients)))
        same = "same" if sympy.simplify(derivative - theirs) == 0 else "DIFFERENT"
        print(f"n = {depth}: {derivative}   ({same})")
        l_n = 4 * l_n * (1 - l_n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
