"""``GET /``: what the service is and where its parts are; ``GET /schema.graphql``: the SDL.

The front page is HTML for a browser (an ``Accept`` that prefers ``text/html``) and a JSON
object with the same links for everyone else, curl's ``*/*`` and a missing ``Accept`` included
(docs/operations.md#front-page). The HTML is static: no script, one stylesheet allowed by its
hash in a strict ``Content-Security-Policy``. Without GraphQL introspection the schema is not
served either, and the page does not link it.
"""

from __future__ import annotations

import base64
import hashlib
import html
from urllib.parse import urljoin

from aiohttp import web

from gql_users import __version__
from gql_users.http.keys import SETTINGS
from gql_users.http.responses import GRAPHQL_PATH, json_response, media_ranges
from resolvers.schema import schema_sdl

SCHEMA_PATH = "/schema.graphql"

# (key, path, label) of each link, in the page's order.
LINKS = (
    ("playground", "/playground/", "GraphQL playground (GraphiQL, with saved example operations)"),
    ("graphql", GRAPHQL_PATH, "GraphQL endpoint (POST, or GET for queries)"),
    ("graphql_schema", SCHEMA_PATH, "GraphQL schema (SDL)"),
    ("rest", "/api/users/", "REST API: Waldur's users API"),
    ("openapi", "/api/schema/", "OpenAPI document of the REST API"),
    ("health", "/health", "health: the database answers"),
    ("health_live", "/health/live", "liveness: the process serves requests"),
    ("health_ready", "/health/ready", "readiness: database reachable, migrations at head"),
    ("metrics", "/metrics", "Prometheus metrics"),
)
DESCRIPTION = (
    "User accounts over a GraphQL API, with a REST shim of the Waldur users API. "
    "Both authenticate with 'Authorization: Token <key>'."
)

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5}code{font-size:.95em}li{margin:.3rem 0}"
)
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        f"style-src 'sha256-{STYLE_HASH}'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)


def _links(introspection: bool) -> list[tuple[str, str, str]]:
    return [link for link in LINKS if introspection or link[0] != "graphql_schema"]


def _page(links: list[tuple[str, str, str]]) -> bytes:
    items = "\n".join(
        # Relative hrefs, so that a path prefix added by a proxy still works.
        f'<li><a id="{key}" href="{html.escape(path.lstrip("/"))}">'
        f"<code>{html.escape(path)}</code></a> {html.escape(label)}</li>"
        for key, path, label in links
    )
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>gql-users</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>gql-users <small>{html.escape(__version__)}</small></h1>\n"
        f"<p>{html.escape(DESCRIPTION)}</p>\n<ul>\n{items}\n</ul>\n</body>\n</html>\n"
    ).encode()


def prefers_html(accept: str | None) -> bool:
    """Whether ``Accept`` ranks ``text/html`` above JSON (ties go to HTML, which a browser
    lists first); ``*/*`` alone, or no header, means JSON."""
    html_quality = json_quality = 0.0
    for media, quality in media_ranges(accept or ""):
        if media == "text/html":
            html_quality = max(html_quality, quality)
        elif media in ("application/json", "application/*"):
            json_quality = max(json_quality, quality)
    return html_quality > 0 and html_quality >= json_quality


async def front_page(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    links = _links(settings.graphql_introspection)
    headers = {"Vary": "Accept", "Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"}
    if prefers_html(request.headers.get("Accept")):
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return web.Response(
            body=_page(links), content_type="text/html", charset="utf-8", headers=headers
        )
    body = {
        "service": "gql-users",
        "version": __version__,
        "description": DESCRIPTION,
        "links": {key: urljoin(settings.public_url, path.lstrip("/")) for key, path, _ in links},
    }
    return json_response(body, headers=headers)


async def schema_document(_request: web.Request) -> web.Response:
    return web.Response(
        text=schema_sdl(),
        content_type="text/plain",
        charset="utf-8",
        headers={"Cache-Control": "no-cache"},
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", front_page)
    if app[SETTINGS].graphql_introspection:
        app.router.add_get(SCHEMA_PATH, schema_document)
