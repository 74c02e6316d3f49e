"""The live gql-users process the playground's browser tests drive."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_server import LiveServer


@pytest.fixture
def live(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path, database_url=database_url)
    server.start()
    yield server
    server.stop()
