"""Write the published suite's YAML files, with `expected:` gradients computed independently.

Each entry of ``SUITE`` below holds a published test function twice, translated by hand from
its source both times:

* ``function`` (and ``let``): the text diffcompare reads, in its expression language;
* ``f``: the same function written again as a Python lambda over mpmath numbers.

How independence is kept: this script does not import diffcompare (nor SymPy, torch or jax),
and it never evaluates the expression text: the lambda is a second, separate transcription of
the source's formula (MGH's helical valley, for instance, is written with MGH's own quadrant rule
for θ in the lambda and with ``atan2`` in the expression). The gradient is taken from the lambda
alone: ``mpmath.diff`` (mpmath's own high-precision finite differences) on each element, at 60
digits, repeated at 90 digits; the two must agree to 40 significant digits or the script stops.
The values written are rounded to 17 significant digits. The point and data are taken at their
exact binary (float64) values, and constants that diffcompare folds in float64 when a problem
loads (``3 * pi``, ``5.1 / (4 * pi ** 2)``) are written in the lambda as the same float64
numbers (``F(3 * math.pi)``), so the lambda is the function diffcompare is given, exactly.
A written gradient of exactly 0 (the step functions) is written ``0.0`` only when mpmath's
derivative is 0 to 50 digits.

    python benchmarks/published/suite/compute_expected.py     # rewrites every *.yaml here
"""

from __future__ import annotations

import decimal
import json
import math
from pathlib import Path

import mpmath
from mpmath import mp

HERE = Path(__file__).resolve().parent
F = mpmath.mpf  # F(float) is the float's exact binary value
PI = F(math.pi)  # `pi` in an expression is float64 pi
E = F(math.e)
JY = (
    "Jamil, M. & Yang, X.-S. (2013), A literature survey of benchmark functions for global "
    "optimisation problems, Int. J. Math. Modelling & Numerical Optimisation 4(2), 150-194 (arXiv:1308.4008)"
)
SB = "Surjanovic, S. & Bingham, D., Virtual Library of Simulation Experiments, https://www.sfu.ca/~ssurjano/"
MGH = (
    "More, J. J., Garbow, B. S. & Hillstrom, K. E. (1981), Testing unconstrained optimization software, "
    "ACM TOMS 7(1), 17-41"
)
NIST = "NIST StRD nonlinear regression, https://www.itl.nist.gov/div898/strd/nls/data/"

sin, cos, exp, log, sqrt, floor = mpmath.sin, mpmath.cos, mpmath.exp, mpmath.log, mpmath.sqrt, mpmath.floor
S = mpmath.fsum


def P(values):
    r = F(1)
    for v in values:
        r *= v
    return r


SUITE: list[dict] = []


def add(name, source, function, point, f, wrt=("x",), let=None, description=None, tags=(), expected_for=None):
    SUITE.append(
        dict(
            name=name,
            source=source,
            function=function,
            point=point,
            f=f,
            wrt=list(wrt),
            let=let,
            description=description,
            tags=list(tags),
            expected_for=list(expected_for or wrt),
        )
    )


# ------------------------------------------------------------------ Jamil & Yang (2013)
add(
    "ackley1",
    JY + ", Ackley 1; " + SB + "ackley.html",
    "-20 * exp(-0.2 * sqrt(mean(x ** 2))) - exp(mean(cos(2 * pi * x))) + 20 + e",
    {"x": [0.43, -1.27, 2.05]},
    lambda v: (
        -20 * exp(-0.2 * sqrt(S(a**2 for a in v["x"]) / 3)) - exp(S(cos(2 * PI * a) for a in v["x"]) / 3) + 20 + E
    ),
)
add(
    "alpine1",
    JY + ", Alpine 1",
    "sum(abs(x * sin(x) + 0.1 * x))",
    {"x": [0.83, -2.41, 3.7, -5.12]},
    lambda v: S(abs(a * sin(a) + 0.1 * a) for a in v["x"]),
)
add(
    "alpine2",
    JY + ", Alpine 2 (a maximisation: f = prod sqrt(x_i) sin(x_i))",
    "prod(sqrt(x) * sin(x))",
    {"x": [7.3, 4.1, 1.9]},
    lambda v: P(sqrt(a) * sin(a) for a in v["x"]),
)
add(
    "bartels-conn",
    JY + ", Bartels Conn",
    "abs(x[0] ** 2 + x[1] ** 2 + x[0] * x[1]) + abs(sin(x[0])) + abs(cos(x[1]))",
    {"x": [1.3, -0.7]},
    lambda v: abs(v["x"][0] ** 2 + v["x"][1] ** 2 + v["x"][0] * v["x"][1]) + abs(sin(v["x"][0])) + abs(cos(v["x"][1])),
)
add(
    "bukin2",
    JY + ", Bukin 2",
    "100 * (x[1] - 0.01 * x[0] ** 2 + 1) + 0.01 * (x[0] + 10) ** 2",
    {"x": [-8.3, 1.7]},
    lambda v: 100 * (v["x"][1] - 0.01 * v["x"][0] ** 2 + 1) + 0.01 * (v["x"][0] + 10) ** 2,
)
add(
    "bukin4",
    JY + ", Bukin 4",
    "100 * x[1] ** 2 + 0.01 * abs(x[0] + 10)",
    {"x": [-8.3, 0.7]},
    lambda v: 100 * v["x"][1] ** 2 + 0.01 * abs(v["x"][0] + 10),
)
add(
    "bukin6",
    JY + ", Bukin 6; " + SB + "bukin6.html",
    "100 * sqrt(abs(x[1] - 0.01 * x[0] ** 2)) + 0.01 * abs(x[0] + 10)",
    {"x": [-8.3, 1.2]},
    lambda v: 100 * sqrt(abs(v["x"][1] - 0.01 * v["x"][0] ** 2)) + 0.01 * abs(v["x"][0] + 10),
)
add(
    "cross-in-tray",
    JY + ", Cross-in-Tray; " + SB + "crossit.html",
    "-0.0001 * (abs(sin(x[0]) * sin(x[1]) * exp(abs(100 - hypot(x[0], x[1]) / pi))) + 1) ** 0.1",
    {"x": [1.2, -2.7]},
    lambda v: (
        -0.0001
        * (abs(sin(v["x"][0]) * sin(v["x"][1]) * exp(abs(100 - sqrt(v["x"][0] ** 2 + v["x"][1] ** 2) / PI))) + 1) ** 0.1
    ),
)
add(
    "drop-wave",
    JY + ", DropWave; " + SB + "drop.html",
    "-(1 + cos(12 * hypot(x[0], x[1]))) / (0.5 * (x[0] ** 2 + x[1] ** 2) + 2)",
    {"x": [0.9, -0.35]},
    lambda v: -(1 + cos(12 * sqrt(v["x"][0] ** 2 + v["x"][1] ** 2))) / (0.5 * (v["x"][0] ** 2 + v["x"][1] ** 2) + 2),
)
add(
    "eggholder",
    JY + ", Egg Holder; " + SB + "egg.html",
    "-(x[1] + 47) * sin(sqrt(abs(x[1] + x[0] / 2 + 47))) - x[0] * sin(sqrt(abs(x[0] - (x[1] + 47))))",
    {"x": [312.5, -120.4]},
    lambda v: (
        -(v["x"][1] + 47) * sin(sqrt(abs(v["x"][1] + v["x"][0] / 2 + 47)))
        - v["x"][0] * sin(sqrt(abs(v["x"][0] - (v["x"][1] + 47))))
    ),
)
add(
    "griewank",
    JY + ", Griewank; " + SB + "griewank.html",
    "sum(x ** 2) / 4000 - prod(cos(x / sqrt(i))) + 1",
    {"x": [3.1, -4.7, 12.2, 0.45], "i": [1.0, 2.0, 3.0, 4.0]},
    lambda v: S(a**2 for a in v["x"]) / 4000 - P(cos(a / sqrt(k)) for a, k in zip(v["x"], v["i"])) + 1,
)
add(
    "holder-table",
    SB + "holder.html (Holder Table)",
    "-abs(sin(x[0]) * cos(x[1]) * exp(abs(1 - hypot(x[0], x[1]) / pi)))",
    {"x": [5.3, 8.1]},
    lambda v: -abs(sin(v["x"][0]) * cos(v["x"][1]) * exp(abs(1 - sqrt(v["x"][0] ** 2 + v["x"][1] ** 2) / PI))),
)


def _levy(v):
    w = [1 + (a - 1) / 4 for a in v["x"]]
    return (
        sin(PI * w[0]) ** 2
        + S((wi - 1) ** 2 * (1 + 10 * sin(PI * wi + 1) ** 2) for wi in w[:-1])
        + (w[-1] - 1) ** 2 * (1 + sin(2 * PI * w[-1]) ** 2)
    )


add(
    "levy",
    SB + "levy.html (Levy, d = 3)",
    "sin(pi * w[0]) ** 2 + sum((w[:2] - 1) ** 2 * (1 + 10 * sin(pi * w[:2] + 1) ** 2))"
    " + (w[2] - 1) ** 2 * (1 + sin(2 * pi * w[2]) ** 2)",
    {"x": [2.3, -1.6, 0.8]},
    _levy,
    let={"w": "1 + (x - 1) / 4"},
)
add(
    "rastrigin",
    JY + ", Rastrigin; " + SB + "rastr.html",
    "10 * 4 + sum(x ** 2 - 10 * cos(2 * pi * x))",
    {"x": [0.3, -1.2, 2.6, -3.9]},
    lambda v: 40 + S(a**2 - 10 * cos(2 * PI * a) for a in v["x"]),
)
add(
    "salomon",
    JY + ", Salomon",
    "1 - cos(2 * pi * norm(x)) + 0.1 * norm(x)",
    {"x": [0.6, -1.1, 0.25]},
    lambda v: 1 - cos(2 * PI * sqrt(S(a**2 for a in v["x"]))) + 0.1 * sqrt(S(a**2 for a in v["x"])),
)
add(
    "schwefel",
    SB + "schwef.html (Schwefel, d = 3)",
    "418.9829 * 3 - sum(x * sin(sqrt(abs(x))))",
    {"x": [120.5, -310.2, 420.9]},
    lambda v: F(418.9829 * 3) - S(a * sin(sqrt(abs(a))) for a in v["x"]),
)
add(
    "schwefel-2.22",
    JY + ", Schwefel 2.22",
    "sum(abs(x)) + prod(abs(x))",
    {"x": [0.7, -1.3, 2.1, -0.4]},
    lambda v: S(abs(a) for a in v["x"]) + P(abs(a) for a in v["x"]),
)
add(
    "step1",
    JY + ", Step 1: sum floor(|x_i|)",
    "sum(floor(abs(x)))",
    {"x": [1.3, -2.7, 0.45]},
    lambda v: S(floor(abs(a)) for a in v["x"]),
)
add(
    "step2",
    JY + ", Step 2: sum floor(x_i + 0.5)^2",
    "sum(floor(x + 0.5) ** 2)",
    {"x": [1.3, -2.7, 0.45]},
    lambda v: S(floor(a + 0.5) ** 2 for a in v["x"]),
)
add(
    "step3",
    JY + ", Step 3: sum floor(x_i^2)",
    "sum(floor(x ** 2))",
    {"x": [1.3, -2.7, 0.45]},
    lambda v: S(floor(a**2) for a in v["x"]),
)
add(
    "step2-at-a-jump",
    JY + ", Step 2 (two variables, written as scalars a, b)",
    "floor(a + 0.5) ** 2 + floor(b + 0.5) ** 2",
    {"a": 0.5, "b": -2.7},
    lambda v: floor(v["a"] + 0.5) ** 2 + floor(v["b"] + 0.5) ** 2,
    wrt=["a", "b"],
    expected_for=["b"],
    description=(
        "On purpose at a jump: a + 0.5 = 1 exactly, where floor jumps from 0 to 1, so f jumps by +1 on "
        "the right in a: every row for a is `undefined`. b is away from its jumps: its derivative is 0."
    ),
    tags=["jump"],
)
add(
    "whitley",
    JY + ", Whitley (n = 3; the double sum over i, j through selection matrices P, Q: P @ x = x_i, Q @ x = x_j)",
    "sum(y ** 2 / 4000 - cos(y) + 1)",
    {
        "x": [0.9, 1.1, 0.7],
        "P": [[1.0 if r // 3 == c else 0.0 for c in range(3)] for r in range(9)],
        "Q": [[1.0 if r % 3 == c else 0.0 for c in range(3)] for r in range(9)],
    },
    lambda v: S(
        (100 * (xi**2 - xj) ** 2 + (1 - xj) ** 2) ** 2 / 4000 - cos(100 * (xi**2 - xj) ** 2 + (1 - xj) ** 2) + 1
        for xi in v["x"]
        for xj in v["x"]
    ),
    let={"xi": "P @ x", "xj": "Q @ x", "y": "100 * (xi ** 2 - xj) ** 2 + (1 - xj) ** 2"},
)
add(
    "xin-she-yang2",
    JY + ", Xin-She Yang 2",
    "sum(abs(x)) * exp(-sum(sin(x ** 2)))",
    {"x": [1.1, -2.3, 0.6]},
    lambda v: S(abs(a) for a in v["x"]) * exp(-S(sin(a**2) for a in v["x"])),
)
add(
    "xin-she-yang3",
    JY + ", Xin-She Yang 3 (beta = 15, m = 5)",
    "exp(-sum((x / 15) ** 10)) - 2 * exp(-sum(x ** 2)) * prod(cos(x) ** 2)",
    {"x": [0.4, -0.3, 0.7]},
    lambda v: (
        exp(-S((a / 15) ** 10 for a in v["x"])) - 2 * exp(-S(a**2 for a in v["x"])) * P(cos(a) ** 2 for a in v["x"])
    ),
)
add(
    "xin-she-yang4",
    JY + ", Xin-She Yang 4",
    "(sum(sin(x) ** 2) - exp(-sum(x ** 2))) * exp(-sum(sin(sqrt(abs(x))) ** 2))",
    {"x": [0.8, -1.9, 2.4]},
    lambda v: (
        (S(sin(a) ** 2 for a in v["x"]) - exp(-S(a**2 for a in v["x"])))
        * exp(-S(sin(sqrt(abs(a))) ** 2 for a in v["x"]))
    ),
)
add(
    "zakharov",
    JY + ", Zakharov; " + SB + "zakharov.html",
    "sum(x ** 2) + s ** 2 + s ** 4",
    {"x": [0.35, -0.8, 0.55], "i": [1.0, 2.0, 3.0]},
    lambda v: (
        S(a**2 for a in v["x"])
        + S(0.5 * k * a for a, k in zip(v["x"], v["i"])) ** 2
        + S(0.5 * k * a for a, k in zip(v["x"], v["i"])) ** 4
    ),
    let={"s": "sum(0.5 * i * x)"},
)
add(
    "dixon-price",
    JY + ", Dixon & Price; " + SB + "dixonpr.html",
    "(x[0] - 1) ** 2 + sum(i * (2 * x[1:] ** 2 - x[:-1]) ** 2)",
    {"x": [1.2, -0.6, 0.9, 0.35], "i": [2.0, 3.0, 4.0]},
    lambda v: (v["x"][0] - 1) ** 2 + S((k + 2) * (2 * v["x"][k + 1] ** 2 - v["x"][k]) ** 2 for k in range(3)),
)
add(
    "styblinski-tang",
    JY + ", Styblinski-Tang; " + SB + "stybtang.html",
    "0.5 * sum(x ** 4 - 16 * x ** 2 + 5 * x)",
    {"x": [-2.9, 1.7, 0.35]},
    lambda v: 0.5 * S(a**4 - 16 * a**2 + 5 * a for a in v["x"]),
)
add(
    "trid",
    JY + ", Trid; " + SB + "trid.html",
    "sum((x - 1) ** 2) - sum(x[1:] * x[:-1])",
    {"x": [2.3, 4.1, -1.7, 3.3]},
    lambda v: S((a - 1) ** 2 for a in v["x"]) - S(v["x"][k] * v["x"][k - 1] for k in range(1, 4)),
)
add(
    "michalewicz",
    SB + "michal.html (Michalewicz, d = 3, m = 10)",
    "-sum(sin(x) * sin(i * x ** 2 / pi) ** 20)",
    {"x": [2.2, 1.57, 1.28], "i": [1.0, 2.0, 3.0]},
    lambda v: -S(sin(a) * sin(k * a**2 / PI) ** 20 for a, k in zip(v["x"], v["i"])),
)
add(
    "six-hump-camel",
    JY + ", Six-Hump Camel; " + SB + "camel6.html",
    "(4 - 2.1 * x[0] ** 2 + x[0] ** 4 / 3) * x[0] ** 2 + x[0] * x[1] + (-4 + 4 * x[1] ** 2) * x[1] ** 2",
    {"x": [0.45, -0.62]},
    lambda v: (
        (4 - 2.1 * v["x"][0] ** 2 + v["x"][0] ** 4 / 3) * v["x"][0] ** 2
        + v["x"][0] * v["x"][1]
        + (-4 + 4 * v["x"][1] ** 2) * v["x"][1] ** 2
    ),
)


def _gp(v):
    a, b = v["x"]
    return (1 + (a + b + 1) ** 2 * (19 - 14 * a + 3 * a**2 - 14 * b + 6 * a * b + 3 * b**2)) * (
        30 + (2 * a - 3 * b) ** 2 * (18 - 32 * a + 12 * a**2 + 48 * b - 36 * a * b + 27 * b**2)
    )


add(
    "goldstein-price",
    JY + ", Goldstein-Price; " + SB + "goldpr.html",
    "(1 + (x[0] + x[1] + 1) ** 2 * (19 - 14 * x[0] + 3 * x[0] ** 2 - 14 * x[1] + 6 * x[0] * x[1] + 3 * x[1] ** 2))"
    " * (30 + (2 * x[0] - 3 * x[1]) ** 2 * (18 - 32 * x[0] + 12 * x[0] ** 2 + 48 * x[1] - 36 * x[0] * x[1]"
    " + 27 * x[1] ** 2))",
    {"x": [0.3, -1.2]},
    _gp,
)
add(
    "branin",
    JY + ", Branin RCOS; " + SB + "branin.html (a = 1, b = 5.1/(4 pi^2), c = 5/pi, r = 6, s = 10, t = 1/(8 pi))",
    "(x[1] - 5.1 / (4 * pi ** 2) * x[0] ** 2 + 5 / pi * x[0] - 6) ** 2 + 10 * (1 - 1 / (8 * pi)) * cos(x[0]) + 10",
    {"x": [-2.7, 8.9]},
    lambda v: (
        (v["x"][1] - F(5.1 / (4 * math.pi**2)) * v["x"][0] ** 2 + F(5 / math.pi) * v["x"][0] - 6) ** 2
        + F(10 * (1 - 1 / (8 * math.pi))) * cos(v["x"][0])
        + 10
    ),
)
add(
    "easom",
    JY + ", Easom; " + SB + "easom.html",
    "-cos(x[0]) * cos(x[1]) * exp(-((x[0] - pi) ** 2 + (x[1] - pi) ** 2))",
    {"x": [2.9, 3.4]},
    lambda v: -cos(v["x"][0]) * cos(v["x"][1]) * exp(-((v["x"][0] - PI) ** 2 + (v["x"][1] - PI) ** 2)),
)
add(
    "beale",
    JY + ", Beale; " + MGH + ", problem 5; " + SB + "beale.html",
    "(1.5 - x[0] + x[0] * x[1]) ** 2 + (2.25 - x[0] + x[0] * x[1] ** 2) ** 2 + (2.625 - x[0] + x[0] * x[1] ** 3) ** 2",
    {"x": [1.7, 0.3]},
    lambda v: (
        (1.5 - v["x"][0] * (1 - v["x"][1])) ** 2
        + (2.25 - v["x"][0] * (1 - v["x"][1] ** 2)) ** 2
        + (2.625 - v["x"][0] * (1 - v["x"][1] ** 3)) ** 2
    ),
)
add(
    "booth",
    JY + ", Booth; " + SB + "booth.html",
    "(x[0] + 2 * x[1] - 7) ** 2 + (2 * x[0] + x[1] - 5) ** 2",
    {"x": [-1.3, 4.6]},
    lambda v: (v["x"][0] + 2 * v["x"][1] - 7) ** 2 + (2 * v["x"][0] + v["x"][1] - 5) ** 2,
)
add(
    "matyas",
    JY + ", Matyas; " + SB + "matya.html",
    "0.26 * (x[0] ** 2 + x[1] ** 2) - 0.48 * x[0] * x[1]",
    {"x": [3.7, -6.2]},
    lambda v: 0.26 * (v["x"][0] ** 2 + v["x"][1] ** 2) - 0.48 * v["x"][0] * v["x"][1],
)
add(
    "mccormick",
    JY + ", McCormick; " + SB + "mccorm.html",
    "sin(x[0] + x[1]) + (x[0] - x[1]) ** 2 - 1.5 * x[0] + 2.5 * x[1] + 1",
    {"x": [-0.8, 2.3]},
    lambda v: sin(v["x"][0] + v["x"][1]) + (v["x"][0] - v["x"][1]) ** 2 - 1.5 * v["x"][0] + 2.5 * v["x"][1] + 1,
)
add(
    "himmelblau",
    JY + ", Himmelblau",
    "(x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2",
    {"x": [-2.1, 3.4]},
    lambda v: (v["x"][0] ** 2 + v["x"][1] - 11) ** 2 + (v["x"][0] + v["x"][1] ** 2 - 7) ** 2,
)
add(
    "three-hump-camel",
    JY + ", Three-Hump Camel; " + SB + "camel3.html",
    "2 * x[0] ** 2 - 1.05 * x[0] ** 4 + x[0] ** 6 / 6 + x[0] * x[1] + x[1] ** 2",
    {"x": [1.45, -0.35]},
    lambda v: 2 * v["x"][0] ** 2 - 1.05 * v["x"][0] ** 4 + v["x"][0] ** 6 / 6 + v["x"][0] * v["x"][1] + v["x"][1] ** 2,
)
add(
    "shubert",
    JY + ", Shubert; " + SB + "shubert.html (k = 1..5 as data)",
    "sum(k * cos((k + 1) * x[0] + k)) * sum(k * cos((k + 1) * x[1] + k))",
    {"x": [-1.42, 0.78], "k": [1.0, 2.0, 3.0, 4.0, 5.0]},
    lambda v: (
        S(k * cos((k + 1) * v["x"][0] + k) for k in range(1, 6))
        * S(k * cos((k + 1) * v["x"][1] + k) for k in range(1, 6))
    ),
)
add(
    "schaffer2",
    JY + ", Schaffer 2; " + SB + "schaffer2.html",
    "0.5 + (sin(x[0] ** 2 - x[1] ** 2) ** 2 - 0.5) / (1 + 0.001 * (x[0] ** 2 + x[1] ** 2)) ** 2",
    {"x": [1.3, -0.45]},
    lambda v: (
        0.5 + (sin(v["x"][0] ** 2 - v["x"][1] ** 2) ** 2 - 0.5) / (1 + 0.001 * (v["x"][0] ** 2 + v["x"][1] ** 2)) ** 2
    ),
)
add(
    "schaffer4",
    JY + ", Schaffer 4; " + SB + "schaffer4.html",
    "0.5 + (cos(sin(abs(x[0] ** 2 - x[1] ** 2))) ** 2 - 0.5) / (1 + 0.001 * (x[0] ** 2 + x[1] ** 2)) ** 2",
    {"x": [1.3, -0.45]},
    lambda v: (
        0.5
        + (cos(sin(abs(v["x"][0] ** 2 - v["x"][1] ** 2))) ** 2 - 0.5)
        / (1 + 0.001 * (v["x"][0] ** 2 + v["x"][1] ** 2)) ** 2
    ),
)
add(
    "levy13",
    SB + "levy13.html (Levy N. 13)",
    "sin(3 * pi * x[0]) ** 2 + (x[0] - 1) ** 2 * (1 + sin(3 * pi * x[1]) ** 2) + (x[1] - 1) ** 2 * (1 + sin(2 * pi * x[1]) ** 2)",
    {"x": [0.35, 1.8]},
    lambda v: (
        sin(F(3 * math.pi) * v["x"][0]) ** 2
        + (v["x"][0] - 1) ** 2 * (1 + sin(F(3 * math.pi) * v["x"][1]) ** 2)
        + (v["x"][1] - 1) ** 2 * (1 + sin(2 * PI * v["x"][1]) ** 2)
    ),
)
add(
    "bohachevsky1",
    JY + ", Bohachevsky 1; " + SB + "boha.html",
    "x[0] ** 2 + 2 * x[1] ** 2 - 0.3 * cos(3 * pi * x[0]) - 0.4 * cos(4 * pi * x[1]) + 0.7",
    {"x": [0.37, -0.61]},
    lambda v: (
        v["x"][0] ** 2
        + 2 * v["x"][1] ** 2
        - 0.3 * cos(F(3 * math.pi) * v["x"][0])
        - 0.4 * cos(4 * PI * v["x"][1])
        + 0.7
    ),
)

# ------------------------------------------------------------------ Moré, Garbow & Hillstrom (1981)
add(
    "mgh01-rosenbrock",
    MGH + ", problem 1 (Rosenbrock), standard start (-1.2, 1)",
    "100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2",
    {"x": [-1.2, 1.0]},
    lambda v: (10 * (v["x"][1] - v["x"][0] ** 2)) ** 2 + (1 - v["x"][0]) ** 2,
)
add(
    "mgh02-freudenstein-roth",
    MGH + ", problem 2 (Freudenstein and Roth), standard start (0.5, -2)",
    "(-13 + x[0] + ((5 - x[1]) * x[1] - 2) * x[1]) ** 2 + (-29 + x[0] + ((x[1] + 1) * x[1] - 14) * x[1]) ** 2",
    {"x": [0.5, -2.0]},
    lambda v: (
        (-13 + v["x"][0] + ((5 - v["x"][1]) * v["x"][1] - 2) * v["x"][1]) ** 2
        + (-29 + v["x"][0] + ((v["x"][1] + 1) * v["x"][1] - 14) * v["x"][1]) ** 2
    ),
)
add(
    "mgh03-powell-badly-scaled",
    MGH + ", problem 3 (Powell badly scaled), standard start (0, 1)",
    "(10000 * x[0] * x[1] - 1) ** 2 + (exp(-x[0]) + exp(-x[1]) - 1.0001) ** 2",
    {"x": [0.0, 1.0]},
    lambda v: (F(10) ** 4 * v["x"][0] * v["x"][1] - 1) ** 2 + (exp(-v["x"][0]) + exp(-v["x"][1]) - 1.0001) ** 2,
)
add(
    "mgh04-brown-badly-scaled",
    MGH + ", problem 4 (Brown badly scaled), standard start (1, 1)",
    "(x[0] - 1e6) ** 2 + (x[1] - 2e-6) ** 2 + (x[0] * x[1] - 2) ** 2",
    {"x": [1.0, 1.0]},
    lambda v: (v["x"][0] - F(10) ** 6) ** 2 + (v["x"][1] - 2e-6) ** 2 + (v["x"][0] * v["x"][1] - 2) ** 2,
)
add(
    "mgh06-jennrich-sampson",
    MGH + ", problem 6 (Jennrich and Sampson, m = 10), standard start (0.3, 0.4)",
    "sum((2 + 2 * i - (exp(i * x[0]) + exp(i * x[1]))) ** 2)",
    {"x": [0.3, 0.4], "i": [float(k) for k in range(1, 11)]},
    lambda v: S((2 + 2 * k - (exp(k * v["x"][0]) + exp(k * v["x"][1]))) ** 2 for k in range(1, 11)),
)


def _theta_mgh(x1, x2):
    """MGH 7: theta = arctan(x2/x1) / (2 pi), plus 0.5 where x1 < 0 (pi exact, shifted)."""
    t = mpmath.atan(x2 / x1)
    return (t + (mpmath.pi if x1 < 0 else 0)) / (2 * PI)


def _helical(theta):
    return lambda v: (
        100 * ((v["x3"] - 10 * theta(v["x1"], v["x2"])) ** 2 + (sqrt(v["x1"] ** 2 + v["x2"] ** 2) - 1) ** 2)
        + v["x3"] ** 2
    )


HV = "100 * ((x3 - 10 * theta) ** 2 + (hypot(x1, x2) - 1) ** 2) + x3 ** 2"
add(
    "mgh07-helical-valley",
    MGH + ", problem 7 (helical valley), theta through atan2",
    HV,
    {"x1": -1.0, "x2": 0.5, "x3": 0.3},
    _helical(_theta_mgh),
    wrt=["x1", "x2", "x3"],
    let={"theta": "atan2(x2, x1) / (2 * pi)"},
    description=(
        "MGH's theta = arctan(x2/x1)/(2 pi) (+ 1/2 where x1 < 0) written as atan2(x2, x1)/(2 pi): the two agree "
        "where x2 > 0 or x1 > 0, as here (the expected values use MGH's quadrant rule)."
    ),
)
add(
    "mgh07-helical-valley-start",
    MGH + ", problem 7 (helical valley), standard start (-1, 0, 0), theta by MGH's quadrant rule",
    HV,
    {"x1": -1.0, "x2": 0.0, "x3": 0.0},
    _helical(lambda x1, x2: (mpmath.atan(x2 / x1) + (PI if x1 < 0 else 0)) / (2 * PI)),
    wrt=["x1", "x2", "x3"],
    let={"theta": "(atan(x2 / x1) + where(x1 < 0, pi, 0.0)) / (2 * pi)"},
    description="MGH's own theta (arctan plus a quadrant shift): smooth at the standard start.",
)
add(
    "mgh07-helical-valley-atan2-cut",
    MGH + ", problem 7 (helical valley) at its standard start (-1, 0, 0), theta through atan2",
    HV,
    {"x1": -1.0, "x2": 0.0, "x3": 0.0},
    _helical(lambda x1, x2: mpmath.atan2(x2, x1) / (2 * PI)),
    wrt=["x1", "x2", "x3"],
    let={"theta": "atan2(x2, x1) / (2 * pi)"},
    expected_for=["x1", "x3"],
    description=(
        "On purpose on atan2's cut (y = 0, x < 0): with atan2, theta jumps from 1/2 to -1/2 as x2 crosses 0. "
        "At x3 = 0 the jump cancels (f holds theta squared: 10000 theta^2 is 2500 on both sides), so f is "
        "continuous with a kink in x2: every x2 row is `kink`, left derivative +10000/(2 pi) = 1591.55, right "
        "-1591.55 (MGH's own theta has no cut there: see mgh07-helical-valley-start). x1 and x3 move along the "
        "cut, where f is smooth."
    ),
    tags=["jump"],
)
_t10 = [round(0.1 * k, 1) for k in range(1, 11)]
add(
    "mgh12-box-3d",
    MGH + ", problem 12 (Box three-dimensional, m = 10, t_i = 0.1 i), standard start (0, 10, 20)",
    "sum((exp(-t * x[0]) - exp(-t * x[1]) - x[2] * (exp(-t) - exp(-10 * t))) ** 2)",
    {"x": [0.0, 10.0, 20.0], "t": _t10},
    lambda v: S(
        (exp(-t * v["x"][0]) - exp(-t * v["x"][1]) - v["x"][2] * (exp(-t) - exp(-10 * t))) ** 2 for t in map(F, _t10)
    ),
)
add(
    "mgh13-powell-singular",
    MGH + ", problem 13 (Powell singular), standard start (3, -1, 0, 1)",
    "(x[0] + 10 * x[1]) ** 2 + 5 * (x[2] - x[3]) ** 2 + (x[1] - 2 * x[2]) ** 4 + 10 * (x[0] - x[3]) ** 4",
    {"x": [3.0, -1.0, 0.0, 1.0]},
    lambda v: (
        (v["x"][0] + 10 * v["x"][1]) ** 2
        + (sqrt(5) * (v["x"][2] - v["x"][3])) ** 2
        + ((v["x"][1] - 2 * v["x"][2]) ** 2) ** 2
        + (sqrt(10) * (v["x"][0] - v["x"][3]) ** 2) ** 2
    ),
)
add(
    "mgh14-wood",
    MGH + ", problem 14 (Wood), standard start (-3, -1, -3, -1)",
    "100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2 + 90 * (x[3] - x[2] ** 2) ** 2 + (1 - x[2]) ** 2"
    " + 10 * (x[1] + x[3] - 2) ** 2 + 0.1 * (x[1] - x[3]) ** 2",
    {"x": [-3.0, -1.0, -3.0, -1.0]},
    lambda v: (
        (10 * (v["x"][1] - v["x"][0] ** 2)) ** 2
        + (1 - v["x"][0]) ** 2
        + (sqrt(90) * (v["x"][3] - v["x"][2] ** 2)) ** 2
        + (1 - v["x"][2]) ** 2
        + (sqrt(10) * (v["x"][1] + v["x"][3] - 2)) ** 2
        + F(0.1) * (v["x"][1] - v["x"][3]) ** 2
    ),
)
_bard_y = [0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34, 2.10, 4.39]
add(
    "mgh08-bard",
    MGH + ", problem 8 (Bard; u_i = i, v_i = 16 - i, w_i = min(u_i, v_i)), standard start (1, 1, 1)",
    "sum((y - (x[0] + u / (v * x[1] + w * x[2]))) ** 2)",
    {
        "x": [1.0, 1.0, 1.0],
        "y": _bard_y,
        "u": [float(k) for k in range(1, 16)],
        "v": [float(16 - k) for k in range(1, 16)],
        "w": [float(min(k, 16 - k)) for k in range(1, 16)],
    },
    lambda v: S(
        (F(y) - (v["x"][0] + k / ((16 - k) * v["x"][1] + min(k, 16 - k) * v["x"][2]))) ** 2
        for k, y in zip(range(1, 16), _bard_y)
    ),
)
_ko_y = [0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456, 0.0342, 0.0323, 0.0235, 0.0246]
_ko_u = [4.0, 2.0, 1.0, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625]
add(
    "mgh15-kowalik-osborne",
    MGH + ", problem 15 (Kowalik and Osborne), standard start (0.25, 0.39, 0.415, 0.39)",
    "sum((y - x[0] * (u ** 2 + u * x[1]) / (u ** 2 + u * x[2] + x[3])) ** 2)",
    {"x": [0.25, 0.39, 0.415, 0.39], "y": _ko_y, "u": _ko_u},
    lambda v: S(
        (F(y) - v["x"][0] * (F(u) ** 2 + F(u) * v["x"][1]) / (F(u) ** 2 + F(u) * v["x"][2] + v["x"][3])) ** 2
        for y, u in zip(_ko_y, _ko_u)
    ),
)
add(
    "mgh26-trigonometric",
    MGH + ", problem 26 (trigonometric, n = 4), at (0.2, 0.3, 0.25, 0.35) near the standard start 1/n",
    "sum((4 - sum(cos(x)) + i * (1 - cos(x)) - sin(x)) ** 2)",
    {"x": [0.2, 0.3, 0.25, 0.35], "i": [1.0, 2.0, 3.0, 4.0]},
    lambda v: S(
        (4 - S(cos(a) for a in v["x"]) + k * (1 - cos(v["x"][k - 1])) - sin(v["x"][k - 1])) ** 2 for k in range(1, 5)
    ),
)
add(
    "mgh25-variably-dimensioned",
    MGH + ", problem 25 (variably dimensioned, n = 4), standard start x_j = 1 - j/n",
    "sum((x - 1) ** 2) + s ** 2 + s ** 4",
    {"x": [0.75, 0.5, 0.25, 0.0], "j": [1.0, 2.0, 3.0, 4.0]},
    lambda v: (
        S((a - 1) ** 2 for a in v["x"])
        + S(k * (a - 1) for k, a in zip(range(1, 5), v["x"])) ** 2
        + S(k * (a - 1) for k, a in zip(range(1, 5), v["x"])) ** 4
    ),
    let={"s": "sum(j * (x - 1))"},
)

# ------------------------------------------------------------------ NIST StRD
_box_t = [1.0, 2.0, 3.0, 5.0, 7.0, 10.0]
_box_y = [109.0, 149.0, 149.0, 191.0, 213.0, 224.0]
add(
    "nist-boxbod",
    NIST + "BoxBOD.shtml (y = b1 (1 - exp(-b2 x)), sum of squared residuals), at start 2 (100, 0.75)",
    "sum((y - b[0] * (1 - exp(-b[1] * t))) ** 2)",
    {"b": [100.0, 0.75], "t": _box_t, "y": _box_y},
    lambda v: S((F(y) - v["b"][0] * (1 - exp(-v["b"][1] * t))) ** 2 for t, y in zip(_box_t, _box_y)),
    wrt=["b"],
)
_misra_t = [77.6, 114.9, 141.1, 190.8, 239.9, 289.0, 332.8, 378.4, 434.8, 477.3, 536.8, 593.1, 689.1, 760.0]
_misra_y = [10.07, 14.73, 17.94, 23.93, 29.61, 35.18, 40.02, 44.82, 50.76, 55.05, 61.01, 66.40, 75.47, 81.78]
add(
    "nist-misra1a",
    NIST + "Misra1a.shtml (y = b1 (1 - exp(-b2 x)), sum of squared residuals), at start 2 (250, 5e-4)",
    "sum((y - b[0] * (1 - exp(-b[1] * t))) ** 2)",
    {"b": [250.0, 0.0005], "t": _misra_t, "y": _misra_y},
    lambda v: S((F(y) - v["b"][0] * (1 - exp(-v["b"][1] * F(t)))) ** 2 for t, y in zip(_misra_t, _misra_y)),
    wrt=["b"],
)

# ------------------------------------------------------------------ likelihoods with the gamma function
_cnt_y = [2.0, 0.0, 5.0, 3.0, 8.0, 1.0]
_cnt_t = [0.1, 0.4, 0.9, 1.3, 1.8, 2.2]
CT = "Cameron, A. C. & Trivedi, P. K. (2013), Regression Analysis of Count Data, 2nd ed., Cambridge UP"
add(
    "negbin2-nll",
    CT + ", NB2 log-likelihood (sect. 3.3); data invented for this suite",
    "sum(lgamma(r) + lgamma(y + 1) - lgamma(y + r) - r * log(r / (r + mu)) - y * log(mu / (r + mu)))",
    {"a": 0.4, "b": 0.6, "r": 2.3, "y": _cnt_y, "t": _cnt_t},
    lambda v: S(
        mpmath.loggamma(v["r"])
        + mpmath.loggamma(F(y) + 1)
        - mpmath.loggamma(F(y) + v["r"])
        - v["r"] * log(v["r"] / (v["r"] + exp(v["a"] + v["b"] * F(t))))
        - F(y) * log(exp(v["a"] + v["b"] * F(t)) / (v["r"] + exp(v["a"] + v["b"] * F(t))))
        for y, t in zip(_cnt_y, _cnt_t)
    ),
    wrt=["a", "b", "r"],
    let={"mu": "exp(a + b * t)"},
)
add(
    "poisson-nll",
    "McCullagh, P. & Nelder, J. A. (1989), Generalized Linear Models, 2nd ed., sect. 6.2 (Poisson log-linear "
    "model, negative log-likelihood with the log(y!) term as lgamma(y + 1)); data invented for this suite",
    "sum(exp(a + b * t) - y * (a + b * t) + lgamma(y + 1))",
    {"a": 0.4, "b": 0.6, "y": _cnt_y, "t": _cnt_t},
    lambda v: S(
        exp(v["a"] + v["b"] * F(t)) - F(y) * (v["a"] + v["b"] * F(t)) + mpmath.loggamma(F(y) + 1)
        for y, t in zip(_cnt_y, _cnt_t)
    ),
    wrt=["a", "b"],
)
_gam_y = [0.8, 2.3, 1.1, 4.7, 3.2]
add(
    "gamma-nll",
    "Gamma distribution, negative log-likelihood in shape k and scale theta (Johnson, Kotz & Balakrishnan (1994), "
    "Continuous Univariate Distributions vol. 1, ch. 17, eq. 17.1); data invented for this suite",
    "sum(log(gamma(k)) + k * log(theta) - (k - 1) * log(y) + y / theta)",
    {"k": 2.7, "theta": 1.3, "y": _gam_y},
    lambda v: S(
        log(mpmath.gamma(v["k"])) + v["k"] * log(v["theta"]) - (v["k"] - 1) * log(F(y)) + F(y) / v["theta"]
        for y in _gam_y
    ),
    wrt=["k", "theta"],
    description="gamma(k) itself, not lgamma: torch has no gamma, so its rows are skipped, saying so.",
)


# ------------------------------------------------------------------ the gradient and the files
def to_mp(value):
    if isinstance(value, list):
        return [to_mp(a) for a in value]
    return F(float(value))


def gradient(entry, dps):
    mp.dps = dps
    base = {k: to_mp(val) for k, val in entry["point"].items()}
    out = {}
    for name in entry["expected_for"]:
        value = base[name]
        if isinstance(value, list):
            elems = []
            for k in range(len(value)):

                def g(t, k=k):
                    v = dict(base)
                    v[name] = list(value)
                    v[name][k] = t
                    return entry["f"](v)

                elems.append(mpmath.diff(g, value[k]))
            out[name] = elems
        else:

            def g(t):
                v = dict(base)
                v[name] = t
                return entry["f"](v)

            out[name] = mpmath.diff(g, value)
    return out


def flat(a):
    return a if isinstance(a, list) else [a]


def text17(x):
    if abs(x) < mpmath.mpf(10) ** -50:
        return "0.0"
    return format(decimal.Decimal(mpmath.nstr(x, 30, min_fixed=1, max_fixed=0)), ".16e")


def expected_of(entry):
    lo, hi = gradient(entry, 60), gradient(entry, 90)
    mp.dps = 90
    for name in lo:
        for a, b in zip(flat(lo[name]), flat(hi[name])):
            if abs(a - b) > mpmath.mpf(10) ** -40 * max(abs(b), mpmath.mpf(10) ** -30):
                raise SystemExit(f"{entry['name']}: mpmath.diff at 60 and 90 digits differ in {name}: {a} vs {b}")
    return {n: ([text17(a) for a in hi[n]] if isinstance(hi[n], list) else text17(hi[n])) for n in hi}


def q(s):
    return json.dumps(s, ensure_ascii=False)


def number(x):
    return repr(float(x)) if not isinstance(x, list) else "[" + ", ".join(number(a) for a in x) + "]"


def write(entry):
    expected = expected_of(entry)
    lines = [
        "# yaml-language-server: $schema=../../../problem.schema.json",
        "# written by compute_expected.py: edit that file, not this one",
        f"name: {entry['name']}",
    ]
    if entry["description"]:
        lines.append(f"description: {q(entry['description'])}")
    lines.append(f"source: {q(entry['source'])}")
    lines.append(f"tags: [{', '.join(['published-suite', *entry['tags']])}]")
    if entry["let"]:
        lines.append("let:")
        lines += [f"  {k}: {q(e)}" for k, e in entry["let"].items()]
    lines.append(f"function: {q(entry['function'])}")
    lines.append("point:")
    lines += [f"  {k}: {number(val)}" for k, val in entry["point"].items()]
    lines.append(f"wrt: [{', '.join(entry['wrt'])}]")
    lines.append("expected:")
    for k, val in expected.items():
        lines.append(f"  {k}: [{', '.join(val)}]" if isinstance(val, list) else f"  {k}: {val}")
    (HERE / f"{entry['name']}.yaml").write_text("\n".join(lines) + "\n")


def main():
    names = [e["name"] for e in SUITE]
    assert len(set(names)) == len(names), "duplicate names"
    for old in HERE.glob("*.yaml"):
        old.unlink()
    for entry in SUITE:
        write(entry)
    print(f"{len(SUITE)} problems written to {HERE}")


if __name__ == "__main__":
    main()
