"""Health checks (docs/operations.md#health-checks).

``GET /health``: 200 when the database answers, 503 when it does not. ``GET /health/live``: 200
while the process serves requests, without touching the database (a liveness probe). ``GET
/health/ready``: 200 when the database answers and its schema is at the newest migration of this
code, else 503 saying which (a readiness probe).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping

from aiohttp import web
from sqlalchemy import text

from gql_users.db.faults import RETRY_AFTER_SECONDS
from gql_users.db.migrate import current_revision, head_revision
from gql_users.http.keys import ENGINE
from gql_users.http.responses import json_response

log = logging.getLogger("gql_users.health")
HEALTH_TIMEOUT = 5.0
UNREACHABLE = {"status": "unavailable", "database": "unreachable"}


def _unavailable(body: Mapping[str, object]) -> web.Response:
    return json_response(body, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


async def health(request: web.Request) -> web.Response:
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            async with request.app[ENGINE].connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database is "unavailable"
        log.warning("health check failed: %s", type(exc).__name__)
        return _unavailable(UNREACHABLE)
    return json_response({"status": "ok", "database": "ok"})


async def live(_request: web.Request) -> web.Response:
    return json_response({"status": "ok", "pid": os.getpid()})


async def ready(request: web.Request) -> web.Response:
    head = head_revision()
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            async with request.app[ENGINE].connect() as connection:
                revision = await connection.run_sync(current_revision)
    except Exception as exc:  # any failure to reach the database is "unavailable"
        log.warning("readiness check failed: %s", type(exc).__name__)
        return _unavailable(UNREACHABLE)
    if revision != head:
        log.warning("not ready: database schema at %s, this code needs %s", revision, head)
        return _unavailable(
            {
                "status": "unavailable",
                "database": "ok",
                "migrations": "not at head",
                "revision": revision,
                "head": head,
            }
        )
    return json_response({"status": "ok", "database": "ok", "migrations": "ok", "revision": head})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/health", health)
    app.router.add_get("/health/live", live)
    app.router.add_get("/health/ready", ready)
