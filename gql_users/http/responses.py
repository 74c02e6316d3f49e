"""JSON responses (orjson), the error shapes of REST and GraphQL, and request-body parsing."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from gql_users.accounts.errors import BadRequest

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
GRAPHQL_PATH = "/graphql"


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
    """DRF's error body, ``{"detail": "..."}``."""
    return json_response({"detail": detail}, status=status, headers=headers)


def media_ranges(accept: str) -> list[tuple[str, float]]:
    """The media ranges of an ``Accept`` header, lower case, each with its quality (``q``,
    1 when not given, 0 when unreadable), in the header's order."""
    ranges = []
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((media.lower(), quality))
    return ranges


def negotiate(accept: str | None) -> str | None:
    """The media type a GraphQL response is sent as for an ``Accept`` header; None when none
    fits (406): ``application/graphql-response+json`` when the client accepts it (by quality,
    then by order), else ``application/json`` (also for ``*/*`` and for no Accept header)."""
    if accept is None or not accept.strip():
        return JSON
    candidates: list[tuple[float, int, str]] = []
    for index, (media, quality) in enumerate(media_ranges(accept)):
        answer = {GRAPHQL_RESPONSE: GRAPHQL_RESPONSE, JSON: JSON, "application/*": JSON}.get(
            media, JSON if media == "*/*" else None
        )
        if answer is not None and quality > 0:
            candidates.append((-quality, index, answer))
    return min(candidates)[2] if candidates else None


def graphql_error_response(
    request: web.Request,
    message: str,
    code: str,
    status: int,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """A GraphQL response with one error and no ``data``, for a refusal made before GraphQL
    ran (a bad token, an unavailable database): a GraphQL client can read it as any other."""
    media = negotiate(request.headers.get("Accept")) or GRAPHQL_RESPONSE
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    response = web.Response(body=orjson.dumps(body), status=status, headers=headers)
    response.headers["Content-Type"] = f"{media}; charset=utf-8"
    return response


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
