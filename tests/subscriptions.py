"""A ``graphql-transport-ws`` client over aiohttp's WebSocket client, for the subscription tests
(in-process against the test app, or over a socket against a live server)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp

PROTOCOL = "graphql-transport-ws"
WAIT = 5.0
"""Seconds to wait for a message that must come."""
QUIET = 0.3
"""Seconds of silence that count as "nothing came" (always after a message that had to come
later, when a test can order it so)."""

USERS_CHANGED = """
subscription {
  usersChanged { kind uuid user { uuid username email birthDate isStaff } }
}
"""
USER_CHANGED = """
subscription ($uuid: UUID!) {
  userChanged(uuid: $uuid) { kind uuid user { username email } }
}
"""
PERMISSIONS_CHANGED = """
subscription ($uuid: UUID!) {
  permissionsChanged(userUuid: $uuid) { userUuid user { username permissions { roleName } } }
}
"""


@dataclass
class Closed:
    code: int | None
    reason: str


@dataclass
class WSConnection:
    ws: aiohttp.ClientWebSocketResponse
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(self, message: Any) -> None:
        await self.ws.send_json(message)

    async def init(self, token: str | None, **payload: Any) -> dict[str, Any] | Closed:
        """``connection_init`` with ``{"authorization": "Token <token>"}`` (when given)."""
        if token is not None:
            payload["authorization"] = f"Token {token}"
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        operation_id = str(next(self.ids))
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        await self.send({"id": operation_id, "type": "subscribe", "payload": payload})
        return operation_id

    async def receive(self, timeout: float = WAIT) -> dict[str, Any] | Closed:
        """The next protocol message (pings are answered and skipped), or how it closed."""
        while True:
            message = await self.ws.receive(timeout=timeout)
            if message.type == aiohttp.WSMsgType.TEXT:
                data: dict[str, Any] = message.json()
                if data.get("type") == "ping":
                    await self.send({"type": "pong"})
                    continue
                return data
            if message.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
            ):
                return Closed(self.ws.close_code, str(message.extra or ""))
            if message.type == aiohttp.WSMsgType.ERROR:
                return Closed(self.ws.close_code, str(message.data))
            raise AssertionError(f"not a text frame: {message}")

    async def next_data(self, timeout: float = WAIT) -> dict[str, Any]:
        """The ``data`` of the next ``next`` message (fails on anything else)."""
        message = await self.receive(timeout)
        assert isinstance(message, dict) and message["type"] == "next", message
        assert "errors" not in message["payload"], message
        data: dict[str, Any] = message["payload"]["data"]
        return data

    async def nothing(self, timeout: float = QUIET) -> None:
        """No message arrives within ``timeout``."""
        try:
            message = await self.ws.receive(timeout=timeout)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message: {message}")


@asynccontextmanager
async def connect(
    session: Any, url: str, token: str | None = None, **kwargs: Any
) -> AsyncIterator[WSConnection]:
    """A connection to ``url`` (an aiohttp ClientSession or TestClient), acknowledged with
    ``token`` when one is given."""
    ws = await session.ws_connect(url, protocols=[PROTOCOL], **kwargs)
    connection = WSConnection(ws)
    try:
        if token is not None:
            ack = await connection.init(token)
            assert isinstance(ack, dict) and ack["type"] == "connection_ack", ack
        yield connection
    finally:
        await ws.close()


async def settle() -> None:
    """Let a subscription that was just sent start listening (its first statement ran)."""
    await asyncio.sleep(0.1)
