"""The log-log figures of benchmarks/operator_cost.py (matplotlib, Agg), for BENCHMARKS.md.

- operator-jacobian-crossover.png: per backend, time_s and cost_ratio of the Jacobian against
  n in forward mode (solid) and reverse mode (dashed) at a few m; forward's cost ratio should
  rise with slope 1, reverse's stay flat at a height ∝ m, the lines crossing at n = m;
- operator-hessian-cost.png: per backend, the Hessian's time over n × one HVP's and over
  n × one gradient's, per Hessian mode, against n (1: the Hessian costs exactly that).
"""

from __future__ import annotations

from pathlib import Path

from operator_reading import SHORT, hessian_pairs, ratio

JACOBIAN_PNG = "operator-jacobian-crossover.png"
HESSIAN_PNG = "operator-hessian-cost.png"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _some(values: list[int], k: int = 3) -> list[int]:
    """The smallest, the largest and one between: the m whose lines are drawn."""
    if len(values) <= k:
        return values
    return [values[0], values[len(values) // 2], values[-1]]


def jacobian_figure(plt, jacobians: dict):
    measured = {name: grid for name, grid in jacobians.items() if grid}
    fig, axes = plt.subplots(2, len(measured), figsize=(4.2 * len(measured), 7), squeeze=False, dpi=110)
    for col, (name, grid) in enumerate(measured.items()):
        ms = sorted({m for m, _ in grid})
        ns = sorted({n for _, n in grid})
        top, bottom = axes[0][col], axes[1][col]
        for colour, m in zip(("C0", "C1", "C2"), _some(ms)):
            for mode, style in (("forward", "-"), ("reverse", "--")):
                cells = [grid[m, n][mode] for n in ns]
                label = f"{mode}, m = {m}"
                top.loglog(ns, [c.time_s for c in cells], style, color=colour, marker="o", markersize=3, label=label)
                bottom.loglog(ns, [c.cost_ratio for c in cells], style, color=colour, marker="o", markersize=3)
        first = grid[ms[0], ns[0]]["forward"].cost_ratio
        bottom.loglog(ns, [first * n / ns[0] for n in ns], ":", color="grey", label="slope 1")
        top.set_title(f"{name}: Jacobian of tanh(W @ x / √n)", fontsize=9)
        top.set_ylabel("time_s (median of warm calls)")
        bottom.set_ylabel("cost_ratio = time_s / f_time_s")
        bottom.set_xlabel("n (inputs)")
        for ax in (top, bottom):
            ax.grid(True, which="both", alpha=0.3)
        top.legend(fontsize=7)
        bottom.legend(fontsize=7)
    fig.tight_layout()
    return fig


def hessian_figure(plt, hessians: dict):
    measured = {name: costs for name, costs in hessians.items() if costs}
    fig, axes = plt.subplots(1, len(measured), figsize=(4.2 * len(measured), 3.8), squeeze=False, dpi=110)
    for ax, (name, costs) in zip(axes[0], measured.items()):
        sizes = sorted(costs)
        for colour, (mode, hvp, gradient) in zip(("C0", "C1", "C2"), hessian_pairs(costs)):
            short = SHORT.get(mode, mode)
            h = [costs[n]["hessian", mode] for n in sizes]
            over_hvp = [ratio(c, costs[n]["hvp", hvp], n) for c, n in zip(h, sizes)]
            over_grad = [ratio(c, costs[n]["gradient", gradient], n) for c, n in zip(h, sizes)]
            label = f"H {short} / (n × HVP {SHORT.get(hvp, hvp)})"
            ax.loglog(sizes, over_hvp, "-", color=colour, marker="o", markersize=3, label=label)
            ax.loglog(sizes, over_grad, "--", color=colour, marker="s", markersize=3, label=f"H {short} / (n × grad)")
        ax.axhline(1.0, color="grey", linestyle=":", linewidth=1)
        ax.set_title(f"{name}: Rosenbrock's Hessian", fontsize=9)
        ax.set_xlabel("n")
        ax.set_ylabel("time ratio")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def write(jacobians: dict, hessians: dict, folder: Path) -> list[Path]:
    """The PNGs of the backends measured; a figure with no backend is not written."""
    plt = _pyplot()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for data, draw, filename in ((jacobians, jacobian_figure, JACOBIAN_PNG), (hessians, hessian_figure, HESSIAN_PNG)):
        if any(data.values()):
            fig = draw(plt, data)
            fig.savefig(folder / filename)
            plt.close(fig)
            written.append(folder / filename)
    return written
