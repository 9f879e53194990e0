"""Real Dask processes for the cluster tests: a `dask scheduler` and `dask worker`s, each its
own process group (a worker is a nanny and the worker process it watches), started as a user
starts them, and killed with SIGKILL as a machine loses them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT

MISBEHAVING = (
    "sleeper=misbehaving:Sleeper,exiter=misbehaving:Exiter,plodder=misbehaving:Plodder,witness=misbehaving:Witness"
)


def environment(**extra: str) -> dict[str, str]:
    """This process's environment, with the test-only backends registered (tests/misbehaving.py)."""
    env = {**os.environ, "DIFFCOMPARE_BACKENDS": MISBEHAVING, **extra}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "tests"), env.get("PYTHONPATH", "")]))
    return env


class DaskProcesses:
    """A scheduler and `workers` single-threaded workers, as a context manager."""

    def __init__(self, folder: Path, workers: int = 2, env: dict | None = None):
        self.folder = Path(folder)
        self.env = env or environment()
        self.count = workers
        self.scheduler = None
        self.workers: list[subprocess.Popen] = []
        self.address = ""

    def _start(self, *arguments: str, log: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *arguments],
            cwd=self.folder,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.folder / log, "wb"),  # noqa: SIM115 (the process keeps it)
            start_new_session=True,
        )

    def __enter__(self) -> DaskProcesses:
        try:
            return self._started()
        except BaseException:  # nothing left running when the start fails
            self.__exit__(None, None, None)
            raise

    def _started(self) -> DaskProcesses:
        file = self.folder / "scheduler.json"
        self.scheduler = self._start(
            "scheduler", "--scheduler-file", str(file), "--port", "0", "--no-dashboard", log="scheduler.log"
        )
        deadline = time.monotonic() + 60
        while not file.exists() or not file.read_text().strip():
            assert time.monotonic() < deadline, (self.folder / "scheduler.log").read_text()
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written whole before it is read
        self.address = json.loads(file.read_text())["address"]
        for i in range(self.count):
            self.start_worker(f"w{i}")
        if self.count:
            self.wait_for_workers(self.count)
        return self

    def start_worker(self, name: str) -> None:
        self.workers.append(
            self._start(
                "worker",
                self.address,
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--no-dashboard",
                "--name",
                name,
                log=f"{name}.log",
            )
        )

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(count, timeout=120)

    def kill_worker(self, i: int) -> None:
        """SIGKILL worker i: its nanny and its worker process, as a lost machine."""
        os.killpg(self.workers[i].pid, signal.SIGKILL)
        self.workers[i].wait()

    def __exit__(self, *exc_info) -> None:
        for process in [*self.workers, self.scheduler]:
            if process is not None and process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait()
