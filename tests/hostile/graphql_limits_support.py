"""Posting GraphQL documents to a live server, shared by the GraphQL limits tests."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.live_server import LiveServer

GRAPHQL_RESPONSE = "application/graphql-response+json"


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    seconds: float

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    @property
    def codes(self) -> list[str | None]:
        return [(error.get("extensions") or {}).get("code") for error in self.errors]


async def post_graphql(
    http: aiohttp.ClientSession,
    server: LiveServer,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    operation_name: str | None = None,
    token: str | None = None,
) -> Answer:
    """POST one operation, asking for the GraphQL-over-HTTP media type (request errors: 400)."""
    headers = {"Accept": GRAPHQL_RESPONSE}
    if token is not None:
        headers["Authorization"] = f"Token {token}"
    payload: dict[str, Any] = {"query": query, "variables": variables}
    if operation_name is not None:
        payload["operationName"] = operation_name
    started = time.monotonic()
    async with http.post(f"{server.base_url}/graphql", json=payload, headers=headers) as response:
        body = await response.json(content_type=None)
        return Answer(response.status, body, time.monotonic() - started)


def fragment_bomb(levels: int) -> str:
    """Each fragment spreads the previous one twice: 2**levels fields once expanded, in a
    document of a few hundred tokens."""
    fragments = ["fragment F0 on User { username }"]
    fragments += [
        f"fragment F{n} on User {{ ...F{n - 1} ...F{n - 1} }}" for n in range(1, levels + 1)
    ]
    return f"{{ me {{ ...F{levels} }} }}\n" + "\n".join(fragments)


def assert_request_error(answer: Answer, code: str) -> dict[str, Any]:
    """A request error (400, no ``data``) with an error of ``code``; returns that error."""
    assert answer.status == 400, answer.body
    assert "data" not in answer.body
    assert code in answer.codes, answer.body
    return answer.errors[answer.codes.index(code)]
