"""The cheap-gradient principle, measured: cost_ratio = time_s / f_time_s by size.

Runs benchmarks/scaling/rosenbrock.yaml (n = 10 … 10⁶, float64) through every
backend and prints, for each backend and n, the gradient's cost in units of one
evaluation of f by the same backend in the same dtype. Reverse mode should stay
a small constant (at most about 4-5 in theory); finite differences grow as 2n
until their size cap. Writes a log-log PNG of time_s against n.

    python benchmarks/cheap_gradient.py [--png docs/cheap-gradient.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import diffcompare
from diffcompare.backends import timing

HERE = Path(__file__).resolve().parent


def measure(path: Path):
    timing.configure(repeat=21, budget_s=1.0)
    frame = diffcompare.run([path], dtypes=["float64"])
    cells = frame[frame["verdict"].isin(["agree", "disagree"])]
    return cells.groupby(["backend", "size"], sort=False)[["time_s", "f_time_s", "cost_ratio"]].first().reset_index()


def plot(cells, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for backend, group in cells.groupby("backend", sort=False):
        ax.loglog(group["size"], group["time_s"], marker="o", label=backend)
    ax.set_xlabel("n (elements differentiated)")
    ax.set_ylabel("time_s: median seconds of one gradient")
    ax.set_title("Rosenbrock, float64: gradient time against n")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", type=Path, default=HERE / "scaling" / "rosenbrock.yaml")
    parser.add_argument("--png", type=Path, default=HERE.parent / "docs" / "cheap-gradient.png")
    args = parser.parse_args(argv)
    cells = measure(args.problem)
    table = cells.pivot(index="size", columns="backend", values="cost_ratio")
    print("cost_ratio = time_s / f_time_s (same backend, same dtype), Rosenbrock float64")
    print("| n | " + " | ".join(table.columns) + " |")
    print("|---:|" + "---:|" * len(table.columns))
    for size, row in table.iterrows():
        print(f"| {size} | " + " | ".join("" if v != v else f"{v:.2f}" for v in row.values) + " |")
    largest = table.index.max()
    chainrule = table.loc[largest].get("chainrule")
    verdict = "met" if chainrule is not None and chainrule <= 5 else "NOT met"
    print(f"\nchainrule cost_ratio at n = {largest}: {chainrule:.2f} (target ≤ 5: {verdict})")
    plot(cells, args.png)
    print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
