"""A real gql-users process on 127.0.0.1, for clients that must reach it over a socket (Node).

The server runs in a subprocess (``create_app`` under ``aiohttp.web.run_app``), configured only
through ``GQL_USERS_*`` environment variables, as in production. Its database is a fresh,
migrated SQLite file unless the caller hands over a database URL (a test's own database, on
SQLite or PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from gql_users.db.engine import create_engine
from gql_users.db.migrate import migrate
from tests.pgserver import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 60.0

SERVE = (
    "import sys\n"
    "from aiohttp import web\n"
    "from gql_users.web.app import create_app\n"
    "web.run_app(create_app(), host='127.0.0.1', port=int(sys.argv[1]), print=None)\n"
)


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


class LiveServer:
    """Start with ``start()`` (returns the base URL once ``/health`` answers), stop with
    ``stop()``; the server's output is kept in ``log_path`` for failure messages."""

    def __init__(
        self,
        workdir: Path,
        database_url: str | None = None,
        env: dict[str, str] | None = None,
        cli: bool = False,
        workers: int | None = None,
    ) -> None:
        self.workdir = workdir
        self.cli = cli or workers is not None
        self.workers = workers
        self.database_url = database_url
        self.extra_env = env or {}
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        database_url = self.database_url
        if database_url is None:
            database_url = f"sqlite+aiosqlite:///{self.workdir / 'gql_users.db'}"
            asyncio.run(_migrate(database_url))
        env = {
            **os.environ,
            "GQL_USERS_DATABASE_URL": database_url,
            "GQL_USERS_MAIL_DIR": str(self.workdir / "mail"),
            "GQL_USERS_MEDIA_DIR": str(self.workdir / "media"),
            "GQL_USERS_PUBLIC_URL": f"{self.base_url}/",
            **self.extra_env,
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_healthy()
        return self.base_url

    def command(self) -> list[str]:
        """``cli``: ``gql-users serve``, with its logging (to ``log_path``) as in production;
        ``workers``: the same with ``--workers N`` (a gunicorn master and N workers)."""
        if not self.cli:
            return [sys.executable, "-c", SERVE, str(self.port)]
        command = [sys.executable, "-m", "gql_users", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port)]
        if self.workers is not None:
            command += ["--workers", str(self.workers)]
        return command

    def ready(self) -> bool:
        """Whether the started server answers ``/health``; subclasses may ask for more."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/health", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def _wait_until_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gql-users exited at startup:\n{self.output()}")
            if self.ready():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"gql-users did not answer /health in {STARTUP_TIMEOUT}s:\n{self.output()}"
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
