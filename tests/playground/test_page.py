"""``/playground/``: the page and every asset it references come from gql-users itself.

The client fixture's server listens on 127.0.0.1 only, and nothing here reaches further: the
page works with no network beyond the gateway.
"""

from __future__ import annotations

import gzip
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gql_users.settings import Settings
from gql_users.web.app import create_app
from gql_users.web.playground import IMMUTABLE, PLAYGROUND_DIR_ENV, playground_dir

PLAYGROUND = Path(__file__).resolve().parents[2] / "playground"
STATIC = PLAYGROUND / "static"

CONTENT_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}


class References(HTMLParser):
    """Every URL the page loads by itself: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            if attributes.get("src"):
                self.urls.append(attributes["src"] or "")
            else:
                self.inline_scripts += 1
        elif tag == "link" and attributes.get("href"):
            self.urls.append(attributes["href"] or "")
        elif tag == "img" and attributes.get("src"):
            self.urls.append(attributes["src"] or "")
        for name, _value in attrs:
            if name.startswith("on"):
                self.inline_scripts += 1  # an inline event handler, which CSP would block


async def page_references(client: TestClient) -> References:
    response = await client.get("/playground/")
    assert response.status == 200
    parser = References()
    parser.feed(await response.text())
    return parser


def test_the_playground_directory_is_the_repositorys() -> None:
    assert playground_dir() == PLAYGROUND


async def test_page_is_html_with_a_strict_script_policy(client: TestClient) -> None:
    response = await client.get("/playground/")
    assert response.status == 200
    assert response.content_type == "text/html"
    assert response.charset == "utf-8"
    policy = response.headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    assert directives["default-src"] == ["'self'"]
    assert "script-src" not in directives  # scripts fall back to default-src 'self'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-cache"


async def test_page_has_the_token_field_examples_and_graphiql_pointed_at_graphql(
    client: TestClient,
) -> None:
    html = await (await client.get("/playground/")).text()
    assert 'id="playground-token"' in html
    assert 'id="playground-examples"' in html
    assert 'data-endpoint="../graphql"' in html  # /playground/ + ../graphql = /graphql
    assert 'data-operations="operations.json"' in html


async def test_page_and_every_asset_it_references_answer_200_with_their_type(
    client: TestClient,
) -> None:
    references = await page_references(client)
    names = {re.sub(r"\?.*", "", url).removeprefix("static/") for url in references.urls}
    assert {
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "playground.js",
        "playground.css",
    } <= names
    for url in references.urls:
        assert url.startswith("static/"), f"{url} is not served by gql-users"
        response = await client.get(f"/playground/{url}")
        assert response.status == 200, url
        suffix = Path(url.split("?")[0]).suffix
        assert response.content_type == CONTENT_TYPES[suffix], url
        body = await response.read()
        assert body == (STATIC / Path(url.split("?")[0]).name).read_bytes(), url


async def test_page_has_no_inline_script(client: TestClient) -> None:
    assert (await page_references(client)).inline_scripts == 0


@pytest.mark.parametrize("path", ["index.html", "static/playground.js", "static/playground.css"])
def test_the_pages_own_files_name_no_external_url(path: str) -> None:
    text = (PLAYGROUND / path).read_text()
    assert "http://" not in text
    assert "https://" not in text
    # protocol-relative URLs leave the gateway too
    assert not re.search(r"""(src|href)=["']//|url\(\s*["']?//""", text)


async def test_versioned_assets_are_cached_for_good_and_others_revalidated(
    client: TestClient,
) -> None:
    references = await page_references(client)
    versioned = next(url for url in references.urls if "graphiql.min.js" in url)
    assert "?v=" in versioned
    response = await client.get(f"/playground/{versioned}")
    assert response.headers["Cache-Control"] == IMMUTABLE

    unversioned = await client.get("/playground/static/graphiql.min.js?v=stale")
    assert unversioned.headers["Cache-Control"] == "no-cache"
    etag = unversioned.headers["ETag"]
    again = await client.get("/playground/static/graphiql.min.js", headers={"If-None-Match": etag})
    assert again.status == 304


async def test_large_assets_are_sent_gzipped_to_clients_that_accept_it(
    client: TestClient,
) -> None:
    response = await client.get(
        "/playground/static/graphiql.min.js",
        headers={"Accept-Encoding": "gzip"},
        auto_decompress=False,
    )
    assert response.status == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.content_type == "text/javascript"
    assert gzip.decompress(await response.read()) == (STATIC / "graphiql.min.js").read_bytes()


def test_every_gzip_sibling_holds_its_file() -> None:
    siblings = sorted(STATIC.glob("*.gz"))
    assert siblings
    for sibling in siblings:
        assert gzip.decompress(sibling.read_bytes()) == sibling.with_suffix("").read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/playground/static/graphiql.min.js.gz",
        "/playground/static/..%2F..%2Fpyproject.toml",
        "/playground/static/%2E%2E/index.html",
        "/playground/static/missing.js",
        "/playground/static/.gitattributes",
    ],
)
async def test_only_the_listed_assets_are_served(client: TestClient, path: str) -> None:
    response = await client.get(path)
    assert response.status == 404


async def test_the_page_without_its_slash_redirects(client: TestClient) -> None:
    response = await client.get("/playground", allow_redirects=False)
    assert response.status == 301
    assert response.headers["Location"] == "/playground/"


async def test_a_bad_token_does_not_lock_anyone_out_of_the_playground(client: TestClient) -> None:
    response = await client.get("/playground/", headers={"Authorization": "Token wrong"})
    assert response.status == 200


def test_vendored_react_matches_the_pinned_versions() -> None:
    lock = json.loads((PLAYGROUND / "package-lock.json").read_text())["packages"]
    for package, file in (
        ("react", "react.production.min.js"),
        ("react-dom", "react-dom.production.min.js"),
    ):
        version = lock[f"node_modules/{package}"]["version"]
        assert f'version="{version}' in (STATIC / file).read_text(), file
    # graphiql.min.js names no version; `playground/fetch-assets.sh --check` compares bytes.
    assert lock["node_modules/graphiql"]["version"] == "3.8.3"
    for license_file in ("LICENSE.graphiql.txt", "LICENSE.react.txt", "LICENSE.react-dom.txt"):
        assert "MIT License" in (STATIC / license_file).read_text()


def minimal_playground(root: Path) -> Path:
    (root / "static").mkdir(parents=True)
    (root / "operations").mkdir()
    (root / "index.html").write_text('<script src="static/app.js"></script>')
    (root / "static" / "app.js").write_text("console.log('elsewhere');\n")
    (root / "operations" / "hello.graphql").write_text("# Hello.\nquery Hello { me { uuid } }\n")
    return root


async def test_the_directory_can_be_moved_with_an_environment_variable(
    settings: Settings, aiohttp_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PLAYGROUND_DIR_ENV, str(minimal_playground(tmp_path / "elsewhere")))
    client = await aiohttp_client(create_app(settings))
    page = await (await client.get("/playground/")).text()
    assert re.search(r'src="static/app\.js\?v=[0-9a-f]{16}"', page)
    assert (await client.get("/playground/static/app.js")).status == 200
    operations = await (await client.get("/playground/operations.json")).json()
    assert [op["name"] for op in operations["operations"]] == ["hello"]


async def test_without_a_playground_directory_the_api_still_starts(
    settings: Settings, aiohttp_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PLAYGROUND_DIR_ENV, str(tmp_path / "missing"))
    client = await aiohttp_client(create_app(settings))
    assert (await client.get("/playground/")).status == 404
    assert (await client.get("/health")).status == 200
