"""JSON responses (orjson) and request-body parsing shared by every route."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from gql_users.accounts.errors import BadRequest

JSON = "application/json"


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type=JSON,
        headers=headers,
    )


def detail_response(
    detail: str, status: int, headers: dict[str, str] | None = None
) -> web.Response:
    return json_response({"detail": detail}, status=status, headers=headers)


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is an empty object.

    Raises:
        BadRequest: the body is not JSON, or not a JSON object.
    """
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(
            f"JSON parse error - {exc.args[0] if exc.args else 'invalid JSON'}"
        ) from None
    if not isinstance(data, dict):
        raise BadRequest(f"Invalid data. Expected a dictionary, but got {type(data).__name__}.")
    return data
