"""``GET /api/schema/``: the OpenAPI document of the REST shim (the routes it serves)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from aiohttp import web

DOCUMENT = Path(__file__).with_name("openapi.json")


@cache
def openapi_document() -> bytes:
    return DOCUMENT.read_bytes()


async def schema(_request: web.Request) -> web.Response:
    return web.Response(body=openapi_document(), content_type="application/json")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/schema/", schema)
