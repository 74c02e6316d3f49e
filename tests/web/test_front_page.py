"""The front page at ``/`` (JSON for API clients, HTML for browsers) and ``/schema.graphql``;
the HTML in a real browser (headless Chromium) against a live gql-users: its links, followed,
answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gql_users.settings import Settings
from gql_users.web.app import create_app
from gql_users.web.front import LINKS
from tests.browser import chromium
from tests.conftest import Factory
from tests.live_server import LiveServer

REPO_ROOT = Path(__file__).resolve().parents[2]
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
LINK_KEYS = {key for key, _, _ in LINKS}
WAIT_MS = 10_000


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("application/json, text/html;q=0.9", "application/json"),
        ("text/html", "text/html"),
        (BROWSER_ACCEPT, "text/html"),
        ("text/html;q=0", "application/json"),
    ],
)
async def test_the_front_page_is_html_for_browsers_and_json_otherwise(
    client: TestClient, accept: str | None, media: str
) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    response = await client.get("/", headers=headers)
    assert response.status == 200
    assert response.content_type == media
    assert response.headers["Vary"] == "Accept"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_json_front_page_links_every_part(client: TestClient, factory: Factory) -> None:
    response = await client.get("/", headers={"Accept": "application/json"})
    body = await response.json()
    assert body["service"] == "gql-users"
    assert body["version"] and body["description"]
    assert set(body["links"]) == LINK_KEYS
    # Absolute, on the public URL (the test settings' http://testserver/).
    assert body["links"]["rest"] == "http://testserver/api/users/"
    assert body["links"]["openapi"] == "http://testserver/api/schema/"
    user = await factory.user("front.json")
    for key, url in body["links"].items():
        path = url.removeprefix("http://testserver")
        assert path != url, url
        # GET /graphql with no query sends the reader to the playground.
        followed = await client.get(path, headers=await factory.auth(user))
        expected = {404, 200} if key == "metrics" else {200}
        assert followed.status in expected, (key, followed.status)


async def test_the_html_front_page_is_static_under_a_strict_policy(client: TestClient) -> None:
    response = await client.get("/", headers={"Accept": "text/html"})
    page = await response.text()
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy and "unsafe-inline" not in policy
    assert "<script" not in page
    for _, path, _ in LINKS:
        assert f'href="{path.lstrip("/")}"' in page


async def test_the_schema_is_served_as_the_repository_holds_it(client: TestClient) -> None:
    response = await client.get("/schema.graphql")
    assert response.status == 200
    assert response.content_type == "text/plain"
    assert response.charset == "utf-8"
    assert await response.text() == (REPO_ROOT / "schema.graphql").read_text(encoding="utf-8")


async def test_without_introspection_the_schema_is_neither_served_nor_linked(
    settings: Settings, aiohttp_client: Any
) -> None:
    client = await aiohttp_client(
        create_app(settings.model_copy(update={"graphql_introspection": False}))
    )
    assert (await client.get("/schema.graphql")).status == 404
    links = (await (await client.get("/")).json())["links"]
    assert set(links) == LINK_KEYS - {"graphql_schema"}
    page = await (await client.get("/", headers={"Accept": "text/html"})).text()
    assert "schema.graphql" not in page


async def test_the_front_page_in_a_browser(
    database_url: str, tmp_path: Path, factory: Factory
) -> None:
    user = await factory.user("front.browser")
    token = await factory.token(user)
    live = LiveServer(tmp_path, database_url=database_url)
    live.start()
    try:
        async with chromium() as browser:
            # The token goes with every request, so that the API links answer 200 too.
            context = await browser.new_context(
                extra_http_headers={"Authorization": f"Token {token}"}
            )
            page = await context.new_page()
            problems: list[str] = []
            page.on("console", lambda message: problems.append(message.text))
            page.on("pageerror", lambda error: problems.append(str(error)))
            response = await page.goto(f"{live.base_url}/")
            assert response is not None and response.status == 200
            screenshot = tmp_path / "front-page.png"
            await page.screenshot(path=str(screenshot), full_page=True)
            assert screenshot.stat().st_size > 0
            assert await page.title() == "gql-users"
            # The stylesheet ran: the policy allows it by its hash.
            width = await page.evaluate("getComputedStyle(document.body).maxWidth")
            assert width != "none"
            assert problems == []

            hrefs = await page.eval_on_selector_all(
                "a", "links => links.map(link => [link.id, link.href])"
            )
            assert {key for key, _ in hrefs} == LINK_KEYS
            for key, href in hrefs:
                assert href.startswith(f"{live.base_url}/"), href
                followed = await page.goto(href, wait_until="domcontentloaded")
                assert followed is not None
                expected = {404, 200} if key == "metrics" else {200}
                assert followed.status in expected, (key, href, followed.status)
    finally:
        live.stop()
