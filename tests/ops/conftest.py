"""``gql-users serve`` as production runs it: the console script, a master and its workers."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from tests.hostile.conftest import http, start_server
from tests.live_server import LiveServer

__all__ = ["http", "start_server"]  # the hostile tests' live-server fixtures, shared


def children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid``, from /proc (zombies left out)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after it.
        state, ppid = stat.rpartition(")")[2].split()[:2]
        if int(ppid) == pid and state != "Z":
            found.add(int(entry.name))
    return found


class ServeProcess(LiveServer):
    """``gql-users serve --workers N`` (a LiveServer), seen as a master and its workers: ready
    once every worker has started and one answers; stopped with SIGTERM, as systemd does."""

    def __init__(self, workdir: Path, database_url: str, workers: int, env: dict[str, str]):
        super().__init__(workdir, database_url, env, workers=workers)
        self.log_path = workdir / "serve.log"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def ready(self) -> bool:
        assert self.workers is not None
        if len(self.worker_pids()) < self.workers:
            return False
        try:
            return self.live_pid() > 0
        except OSError:
            return False

    def live_pid(self) -> int:
        """The pid of the worker that answered ``/health/live`` on a new connection."""
        with urllib.request.urlopen(f"{self.base_url}/health/live", timeout=5) as response:
            body = orjson.loads(response.read())
        assert body["status"] == "ok"
        return int(body["pid"])

    def worker_pids(self) -> set[int]:
        return children(self.pid)

    def stop(self, timeout: float = 30) -> int:  # type: ignore[override]
        """SIGTERM the master and wait for it; its exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                for pid in self.worker_pids():
                    os.kill(pid, signal.SIGKILL)
                self.process.kill()
                self.process.wait()
        return self.process.returncode


StartServe = Callable[..., ServeProcess]


@pytest.fixture
def start_serve(database_url: str, tmp_path: Path) -> Iterator[StartServe]:
    """Start ``gql-users serve`` on the test's database; stopped after the test."""
    started: list[ServeProcess] = []

    def start(workers: int = 2, env: dict[str, str] | None = None) -> ServeProcess:
        workdir = tmp_path / f"serve{len(started)}"
        workdir.mkdir()
        serve = ServeProcess(workdir, database_url, workers, env or {})
        started.append(serve)
        serve.start()
        return serve

    yield start
    for serve in started:
        serve.stop()
