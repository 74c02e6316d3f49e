"""CORS in a real browser: headless Chromium loads a page from another origin on 127.0.0.1
(a small static aiohttp server in the test) whose script calls a live gql-users with a token.

From the origin gql-users lists, the script reads the caller from ``/graphql`` and the exposed
``X-Result-Count`` from ``/api/users/``; from an origin it does not list, the browser refuses the
answer and ``fetch`` fails with a TypeError. Skips when the machine has no Chromium.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import pytest
from aiohttp import web

from tests.browser import chromium
from tests.conftest import Factory
from tests.live_server import LiveServer
from tests.pgserver import free_port

if TYPE_CHECKING:
    from playwright.async_api import Browser

WAIT_MS = 10_000

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>other origin</title>
<script src="app.js" defer></script></head>
<body><p id="result">pending</p></body></html>
"""

# The API's base URL and the token come in the page's fragment, as JSON.
SCRIPT = """
(async () => {
  const result = document.getElementById("result");
  const { api, token } = JSON.parse(decodeURIComponent(location.hash.slice(1)));
  const headers = { "Authorization": "Token " + token };
  try {
    const graphql = await fetch(api + "/graphql", {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify({ query: "{ me { username } }" }),
    });
    const body = await graphql.json();
    const users = await fetch(api + "/api/users/?page_size=1", { headers });
    result.textContent = "user " + body.data.me.username
      + " count " + users.headers.get("X-Result-Count");
  } catch (error) {
    result.textContent = "error " + error.name + ": " + error.message;
  }
})();
"""


@asynccontextmanager
async def origin_server() -> AsyncIterator[str]:
    """Serve the page and its script on 127.0.0.1, a port of its own; yield its origin."""

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def script(_request: web.Request) -> web.Response:
        return web.Response(text=SCRIPT, content_type="text/javascript")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/app.js", script)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def read_result(browser: Browser, origin: str, api: str, token: str) -> str:
    """Open the page from ``origin``; what its script wrote."""
    page = await browser.new_page()
    await page.goto(f"{origin}/#{json.dumps({'api': api, 'token': token})}")
    await page.wait_for_function(
        "document.getElementById('result').textContent !== 'pending'", timeout=WAIT_MS
    )
    return await page.text_content("#result") or ""


@pytest.fixture
async def origins() -> AsyncIterator[tuple[str, str]]:
    """Two origins serving the page: gql-users lists the first only."""
    async with origin_server() as listed, origin_server() as other:
        yield listed, other


async def test_a_page_from_a_listed_origin_reads_the_api_and_another_cannot(
    origins: tuple[str, str], database_url: str, tmp_path: Path, factory: Factory
) -> None:
    listed, other = origins
    user = await factory.user("cors.browser", is_staff=True)
    token = await factory.token(user)
    live = LiveServer(
        tmp_path, database_url=database_url, env={"GQL_USERS_CORS_ORIGINS": json.dumps([listed])}
    )
    live.start()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"{live.base_url}/api/users/?page_size=1",
                headers={"Authorization": f"Token {token}"},
            ) as response,
        ):
            count = response.headers["X-Result-Count"]

        async with chromium() as browser:
            assert await read_result(browser, listed, live.base_url, token) == (
                f"user cors.browser count {count}"
            )
            refused = await read_result(browser, other, live.base_url, token)
        assert refused.startswith("error TypeError: "), refused
    finally:
        live.stop()
