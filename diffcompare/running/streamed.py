"""A run whose rows go to a Parquet dataset as they come (running.dataset), not into memory:
`--parquet`, `--cluster` and `--resume` on the command line.

The run's problems keep their positions in the dataset (its part files are named by them), so
that a resumed run, which runs only the problems not yet on disk, writes each where a whole run
would have: the dataset of a run interrupted and resumed is the dataset of the run."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from pathlib import Path

from diffcompare import backends as registry
from diffcompare.running.dataset import PARTIAL_NAME, DatasetWriter
from diffcompare.running.runner import run_problems


def settings(backends, dtypes, rtol, atol) -> dict:
    """What, besides its problems, makes a run's rows: a resumed run must have the same."""
    names = registry.available_names() if backends is None else list(backends)
    return {"backends": names, "dtypes": None if dtypes is None else list(dtypes), "rtol": rtol, "atol": atol}


def open_dataset(out: Path, problems, backends, dtypes, rtol, atol, *, resume: bool, chunk: int = 64) -> DatasetWriter:
    """The writer of OUT/results.parquet.partial: a fresh one (an interrupted run's rows there
    are dropped), or with resume the one there, checked to be this run's (RunMismatch if not).
    chunk: problems per part file, at most."""
    chosen = settings(backends, dtypes, rtol, atol)
    return DatasetWriter(Path(out) / PARTIAL_NAME, problems, chosen, resume=resume, chunk_problems=chunk)


class _Renumbered(MutableMapping):
    """The writer as a run of some of its problems sees it: that run's position i is the
    writer's positions[i]."""

    def __init__(self, writer: DatasetWriter, positions: list[int]):
        self.writer, self.positions = writer, positions

    def __setitem__(self, i, blocks) -> None:
        self.writer[self.positions[i]] = blocks

    def __getitem__(self, i):
        return self.writer[self.positions[i]]

    def __delitem__(self, i) -> None:
        del self.writer[self.positions[i]]

    def __iter__(self) -> Iterator[int]:
        return (i for i, p in enumerate(self.positions) if p in self.writer)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def run_into(writer: DatasetWriter, problems, backends, dtypes, rtol, atol, **run) -> None:
    """Run the problems not yet in the writer's dataset (run_problems' keyword arguments: jobs,
    timeout, cluster, progress), each problem's rows written as it finishes; then the rest of the
    buffered rows. Ctrl-C and any other exception flush what finished before they propagate."""
    todo = [i for i in range(len(problems)) if i not in writer.done]
    try:
        run_problems(
            [problems[i] for i in todo], backends, dtypes, rtol, atol, finished=_Renumbered(writer, todo), **run
        )
    finally:
        writer.flush()
