"""Reading a live server's metrics and JSON log lines."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.live_server import LiveServer

Labels = tuple[tuple[str, str], ...]


async def scrape(
    http: aiohttp.ClientSession,
    server: LiveServer | str,
    headers: dict[str, str] | None = None,
) -> dict[tuple[str, Labels], float]:
    """Every sample of ``/metrics`` of a server (or a base URL), by name and sorted labels."""
    base_url = server if isinstance(server, str) else server.base_url
    async with http.get(f"{base_url}/metrics", headers=headers) as response:
        assert response.status == 200, await response.text()
        assert response.headers["Content-Type"].startswith("text/plain")
        assert response.headers["Cache-Control"] == "no-store"
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: dict[tuple[str, Labels], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def json_lines(server: LiveServer) -> list[dict[str, Any]]:
    """The server's JSON log lines (its other output: aiohttp's startup banner)."""
    lines = server.log_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]
