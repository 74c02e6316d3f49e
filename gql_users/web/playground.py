"""``/playground/``: GraphiQL with saved example operations, served by gql-users itself.

Everything the page needs (GraphiQL's UMD build, React, the page's own script and style) comes
from ``playground/static/``, so the playground works with no internet access, and the page runs
under ``Content-Security-Policy: default-src 'self'`` (no inline script, no CDN).

The directory is the repository's ``playground/`` (the package is installed editable, so it sits
two levels above this file); ``GQL_USERS_PLAYGROUND_DIR`` points elsewhere, for an installed copy.
It is read once, when the routes are added: the page, the asset versions and the saved operations.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from graphql import GraphQLError, OperationDefinitionNode, parse

log = logging.getLogger("gql_users.playground")

PLAYGROUND_DIR_ENV = "GQL_USERS_PLAYGROUND_DIR"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        # GraphiQL's stylesheet embeds its fonts and icons as data: URLs.
        "font-src 'self' data:",
        "img-src 'self' data:",
        # GraphiQL's dialogs inject a <style> (scroll lock) at run time; without this the
        # browser blocks it and logs a CSP error each time. Scripts stay 'self' only.
        "style-src 'self' 'unsafe-inline'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)

ASSET_CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
}

# A request that names the current version (``?v=``, written into the page) may be cached for
# good: a changed file gets a new version, hence a new URL. Anything else is revalidated.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

_ASSET_REFERENCE = re.compile(r'(?P<attr>src|href)="static/(?P<name>[^"?#]+)"')
_VARIABLES_MARKER = re.compile(r"^example variables:\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SavedOperation:
    """One ``playground/operations/*.graphql`` file, as the page offers it."""

    name: str
    kind: str
    description: str
    document: str
    variables: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "document": self.document,
            "variables": self.variables,
        }


@dataclass(frozen=True, slots=True)
class Playground:
    """What the routes serve, read from the playground directory at startup."""

    static_dir: Path
    page: bytes
    asset_versions: dict[str, str]
    operations: tuple[SavedOperation, ...]

    @property
    def operations_json(self) -> bytes:
        return orjson.dumps({"operations": [op.as_json() for op in self.operations]})


PLAYGROUND = web.AppKey("playground", Playground)


def playground_dir() -> Path:
    override = os.environ.get(PLAYGROUND_DIR_ENV)
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parents[2] / "playground"


def parse_operation(path: Path) -> SavedOperation:
    """Read one saved operation: its leading ``#`` comment is the description, except a block
    that starts with ``# Example variables:``, which holds the variables as JSON.

    Raises:
        ValueError: the document does not parse, holds no single operation, or its example
            variables are not a JSON object.
    """
    text = path.read_text(encoding="utf-8")
    try:
        document = parse(text)
    except GraphQLError as exc:
        raise ValueError(f"{path.name}: {exc.message}") from None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        raise ValueError(f"{path.name}: expected one operation, found {len(operations)}")

    description: list[str] = []
    variables_lines: list[str] | None = None
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        content = line[1:].removeprefix(" ")
        if variables_lines is not None:
            if not content.strip():
                break
            variables_lines.append(content)
        elif _VARIABLES_MARKER.match(content.strip()):
            variables_lines = []
        else:
            description.append(content)

    variables = None
    if variables_lines is not None:
        try:
            variables = orjson.loads("\n".join(variables_lines))
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"{path.name}: example variables are not JSON: {exc}") from None
        if not isinstance(variables, dict):
            raise ValueError(f"{path.name}: example variables must be a JSON object")
    return SavedOperation(
        name=path.stem,
        kind=operations[0].operation.value,
        description="\n".join(description).strip(),
        document=text,
        variables=variables,
    )


def load_operations(directory: Path) -> tuple[SavedOperation, ...]:
    """Every ``*.graphql`` file of ``directory``, queries first, each kind by file name.

    A file that does not parse is logged and left out rather than stopping the API server;
    the playground tests fail on it.
    """
    loaded = []
    for path in sorted(directory.glob("*.graphql")):
        try:
            loaded.append(parse_operation(path))
        except ValueError as exc:
            log.error("playground operation skipped: %s", exc)
    return tuple(sorted(loaded, key=lambda op: (op.kind != "query", op.kind, op.name)))


def load_playground(directory: Path) -> Playground:
    """Read the page, version each static file by content hash, load the saved operations.

    Raises:
        FileNotFoundError: the page or an asset it references is missing.
    """
    static_dir = directory / "static"
    versions = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        for path in sorted(static_dir.iterdir())
        if path.is_file() and path.suffix in ASSET_CONTENT_TYPES
    }
    html = (directory / "index.html").read_text(encoding="utf-8")

    def versioned(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in versions:
            raise FileNotFoundError(f"playground page references missing static/{name}")
        return f'{match["attr"]}="static/{name}?v={versions[name]}"'

    page = _ASSET_REFERENCE.sub(versioned, html).encode()
    return Playground(static_dir, page, versions, load_operations(directory / "operations"))


def _common_headers(cache_control: str) -> dict[str, str]:
    return {
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


async def playground_page(request: web.Request) -> web.Response:
    headers = _common_headers(REVALIDATE)
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return web.Response(
        body=request.app[PLAYGROUND].page,
        content_type="text/html",
        charset="utf-8",
        headers=headers,
    )


async def redirect_to_page(request: web.Request) -> web.Response:
    # The page's URLs are relative (so a path prefix added by a proxy still works): they need
    # the trailing slash.
    raise web.HTTPMovedPermanently(location=f"{request.path}/")


async def playground_asset(request: web.Request) -> web.StreamResponse:
    playground = request.app[PLAYGROUND]
    name = request.match_info["name"]
    version = playground.asset_versions.get(name)
    if version is None:  # only the listed files: never a path, a dotfile or a .gz sibling
        raise web.HTTPNotFound()
    headers = _common_headers(IMMUTABLE if request.query.get("v") == version else REVALIDATE)
    headers["Content-Type"] = ASSET_CONTENT_TYPES[Path(name).suffix]
    # FileResponse answers conditional requests (ETag, Last-Modified) and sends the committed
    # .gz sibling to clients that accept gzip.
    return web.FileResponse(playground.static_dir / name, headers=headers)


async def saved_operations(request: web.Request) -> web.Response:
    return web.Response(
        body=request.app[PLAYGROUND].operations_json,
        content_type="application/json",
        headers=_common_headers(REVALIDATE),
    )


def add_routes(app: web.Application) -> None:
    """Serve the playground, or log why not: the API works without it."""
    directory = playground_dir()
    try:
        app[PLAYGROUND] = load_playground(directory)
    except FileNotFoundError as exc:
        log.warning("playground not served: %s (set %s)", exc, PLAYGROUND_DIR_ENV)
        return
    app.router.add_get("/playground", redirect_to_page)
    app.router.add_get("/playground/", playground_page)
    app.router.add_get("/playground/operations.json", saved_operations)
    app.router.add_get("/playground/static/{name}", playground_asset)
