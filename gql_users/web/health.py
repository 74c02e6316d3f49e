"""``GET /health``: 200 when the database answers, 503 when it does not."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from sqlalchemy import text

from gql_users.db.faults import RETRY_AFTER_SECONDS
from gql_users.http.keys import ENGINE
from gql_users.http.responses import json_response

log = logging.getLogger("gql_users.health")
HEALTH_TIMEOUT = 5.0


async def health(request: web.Request) -> web.Response:
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            async with request.app[ENGINE].connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database is "unavailable"
        log.warning("health check failed: %s", type(exc).__name__)
        return json_response(
            {"status": "unavailable", "database": "unreachable"},
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return json_response({"status": "ok", "database": "ok"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/health", health)
