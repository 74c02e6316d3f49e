"""Fixtures for the GraphQL-over-HTTP audit: the Node tool (installed on first use) and a live
gql-users server."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_server import LiveServer

HERE = Path(__file__).resolve().parent
NPM_INSTALL_TIMEOUT = 300


def _installed_version(package: str) -> str | None:
    manifest = HERE / "node_modules" / package / "package.json"
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text())["version"]


def _locked_version(package: str) -> str:
    lock = json.loads((HERE / "package-lock.json").read_text())
    return lock["packages"][f"node_modules/{package}"]["version"]


@pytest.fixture(scope="session")
def node() -> str:
    """The ``node`` executable, with this folder's locked packages installed.

    A fresh checkout has no node_modules: ``npm ci`` installs exactly package-lock.json (a lock
    file serialises two pytest processes doing it at once). Without Node.js at all the audit is
    skipped; with Node.js but no npm, or a failed install, it fails, saying why.
    """
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the GraphQL-over-HTTP audit needs node and npm")
    with (HERE / ".npm-install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all(_installed_version(p) == _locked_version(p) for p in ("graphql", "graphql-http")):
            return node
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("node is installed but npm is not: apt-get install npm")
        install = subprocess.run(
            [npm, "ci", "--prefix", str(HERE), "--ignore-scripts", "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=NPM_INSTALL_TIMEOUT,
        )
        if install.returncode != 0:
            pytest.fail(f"npm ci in {HERE} failed:\n{install.stdout}\n{install.stderr}")
    return node


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("live-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
