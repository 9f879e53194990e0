"""Reading benchmarks/operator_cost.py's measurements: ratio tables, log-log slopes, the crossover.

Markdown tables, as the other benchmark scripts print them, so that BENCHMARKS.md quotes
them as printed. A slope is the least-squares slope of log(y) against log(size); the
crossover of a row of time(forward) / time(reverse) is where the log-log line between two
neighbouring grid points crosses 1.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

import numpy as np

SHORT = {"forward-over-reverse": "fwd-rev", "reverse-over-reverse": "rev-rev"}
TOP = 3  # the largest sizes, where per-call overhead weighs least: the asymptotic slope


@dataclass
class Cell:
    """One operator in one mode at one size: its time_s and cost ratio, one per round."""

    times: list[float] = field(default_factory=list)
    cost_ratios: list[float] = field(default_factory=list)

    def add(self, gradient) -> None:
        self.times.append(gradient.time_s)
        self.cost_ratios.append(gradient.time_s / gradient.f_time_s)

    @property
    def time_s(self) -> float:
        return statistics.median(self.times)

    @property
    def cost_ratio(self) -> float:
        return statistics.median(self.cost_ratios)


def ratio(a: Cell, b: Cell, scale: float = 1.0) -> float:
    """Median over rounds of a's time / (scale × b's): each round's pair was measured side by side."""
    return statistics.median(x / (scale * y) for x, y in zip(a.times, b.times))


def slope(sizes, values) -> float:
    """Least-squares slope of log(values) against log(sizes); nan with fewer than two sizes."""
    if len(sizes) < 2:
        return math.nan
    return float(np.polyfit(np.log(sizes), np.log(values), 1)[0])


def crossover(sizes: list[int], ratios: list[float]) -> str:
    """Where a row of time(forward) / time(reverse) crosses 1, in words."""
    logs = [math.log(r) for r in ratios]
    for (a, la), (b, lb) in zip(zip(sizes, logs), zip(sizes[1:], logs[1:])):
        if la == 0:
            return f"{a} (measured)"
        if la * lb < 0:
            at = math.exp(math.log(a) + (math.log(b) - math.log(a)) * la / (la - lb))
            more = sum(x * y < 0 for x, y in zip(logs, logs[1:])) - 1
            return f"≈ {at:.3g} (between {a} and {b})" + (f"; the ratio crosses 1 {more} more time(s)" if more else "")
    return f"none in {sizes[0]}…{sizes[-1]}: " + (
        "forward faster throughout" if logs[0] < 0 else "reverse faster throughout"
    )


def _table(head: list[str], rows: list[list[str]], words: int = 0) -> list[str]:
    """A Markdown table; its first `words` columns (text) aligned left, the numbers right."""
    return [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * words + "---:|" * (len(head) - words),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _grid(title: str, ms: list[int], ns: list[int], value) -> list[str]:
    rows = [[str(m)] + [f"{value(m, n):.3g}" for n in ns] for m in ms]
    return ["", title, *_table(["m \\ n", *map(str, ns)], rows)]


def jacobian_report(name: str, grid: dict, why: str) -> str:
    """The tables of one backend's m × n grid ({(m, n): {mode: Cell}})."""
    title = f"### {name}: Jacobian of tanh(W @ x / √n), Rⁿ → Rᵐ, float64"
    if not grid:
        return f"{title}\n\nskipped: {why}\n"
    ms = sorted({m for m, _ in grid})
    ns = sorted({n for _, n in grid})
    rounds = len(next(iter(grid.values()))["forward"].times)
    lines = [title]
    lines += _grid(
        f"time(forward) / time(reverse), median of {rounds} side-by-side round(s) (< 1: forward faster)",
        ms,
        ns,
        lambda m, n: ratio(grid[m, n]["forward"], grid[m, n]["reverse"]),
    )
    for mode in ("forward", "reverse"):
        lines += _grid(f"cost_ratio ({mode}) = time_s / f_time_s", ms, ns, lambda m, n: grid[m, n][mode].cost_ratio)
    top = f"largest {min(TOP, len(ns))}"
    rows = []
    for mode, along, fixed in (("forward", ns, ms), ("reverse", ms, ns)):
        for k in fixed:
            cells = [grid[k, s][mode] if mode == "forward" else grid[s, k][mode] for s in along]
            times, costs = [c.time_s for c in cells], [c.cost_ratio for c in cells]
            rows.append(
                [
                    mode,
                    f"{'n' if mode == 'forward' else 'm'} ({'m' if mode == 'forward' else 'n'} = {k})",
                    f"{slope(along, times):.2f}",
                    f"{slope(along, costs):.2f}",
                    f"{slope(along[-TOP:], costs[-TOP:]):.2f}",
                ]
            )
    head = ["mode", "against", "slope of time_s", "slope of cost_ratio", f"cost_ratio, {top} sizes"]
    lines += ["", "log-log slopes (theory for cost_ratio: 1; time_s also grows with f's m·n)", *_table(head, rows, 2)]
    crossings = [[str(m), crossover(ns, [ratio(grid[m, n]["forward"], grid[m, n]["reverse"]) for n in ns])] for m in ms]
    lines += ["", "crossover: time(forward) = time(reverse) at n (theory: n = m)", *_table(["m", "n"], crossings)]
    return "\n".join(lines) + "\n"


def hessian_pairs(costs: dict) -> list[tuple[str, str, str]]:
    """(Hessian mode, the HVP mode it is set against, the gradient's mode): the HVP in the
    same mode where there is one (a Hessian is n of those HVPs), else the fastest."""
    cells = next(iter(costs.values()))
    modes = {op: [m for o, m in cells if o == op] for op in ("hessian", "hvp", "gradient")}
    pairs = []
    for mode in modes["hessian"]:
        if mode in modes["hvp"]:
            hvp = mode
        else:
            hvp = min(modes["hvp"], key=lambda m: sum(costs[n]["hvp", m].time_s for n in costs))
        pairs.append((mode, hvp, modes["gradient"][0]))
    return pairs


def hessian_report(name: str, costs: dict, why: str) -> str:
    """The tables of one backend's Hessian costs ({n: {(operator, mode): Cell}})."""
    title = f"### {name}: Rosenbrock's Hessian against n HVPs and n gradients, float64"
    if not costs:
        return f"{title}\n\nskipped: {why}\n"
    sizes = sorted(costs)
    columns = list(costs[sizes[0]])
    rows = [[str(n)] + [f"{costs[n][c].time_s:.3g} ({costs[n][c].cost_ratio:.3g})" for c in columns] for n in sizes]
    head = ["n", *(f"{op} {SHORT.get(mode, mode)}" for op, mode in columns)]
    lines = [title, "", "time_s (cost_ratio = time_s / f_time_s)", *_table(head, rows)]
    pairs = hessian_pairs(costs)
    head, rows = ["n"], [[str(n)] for n in sizes]
    for mode, hvp, gradient in pairs:
        head += [
            f"H {SHORT.get(mode, mode)} / (n × HVP {SHORT.get(hvp, hvp)})",
            f"H {SHORT.get(mode, mode)} / (n × grad)",
        ]
        for row, n in zip(rows, sizes):
            row.append(f"{ratio(costs[n]['hessian', mode], costs[n]['hvp', hvp], n):.3g}")
            row.append(f"{ratio(costs[n]['hessian', mode], costs[n]['gradient', gradient], n):.3g}")
    lines += [
        "",
        "the Hessian's time against n × one HVP's and n × one gradient's (median of rounds)",
        *_table(head, rows),
    ]
    slopes = [
        [SHORT.get(mode, mode), f"{slope(sizes, [costs[n]['hessian', mode].cost_ratio for n in sizes]):.2f}"]
        for mode, _, _ in pairs
    ]
    lines += [
        "",
        "log-log slope of the Hessian's cost_ratio against n (theory: 1, n HVPs)",
        *_table(["mode", "slope"], slopes, 1),
    ]
    return "\n".join(lines) + "\n"
