"""Helpers for the generated-client acceptance tests (tests/rest/test_client_*.py).

Real servers only: a stand-in for eduTEAMS is an aiohttp app on a 127.0.0.1 socket and the
SMTP server is aiosmtpd, so the code under test opens real connections exactly as in
production. Nothing here patches the application.
"""

from __future__ import annotations

import json
import re
import struct
import uuid
import zlib
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from aiohttp import BasicAuth, web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from waldur_api_client.errors import UnexpectedStatus

from gql_users.accounts.tokens import generate_key
from gql_users.db.models import AuthToken, User, utcnow

CODE_IN_LINK = re.compile(r"user_email_change/([0-9a-f]{32})/")


async def add_users(
    session: AsyncSession, prefix: str, count: int, *, with_tokens: bool = False, **fields: Any
) -> list[User]:
    """Insert ``count`` users named ``<prefix>000``... in one flush (fast enough for hundreds).

    ORM objects rather than a Core bulk insert, so the model's ``before_insert`` hook fills the
    folded ``query_field`` that the name filters search, as it does for real users.
    """
    now = utcnow()
    users = [
        User(
            username=f"{prefix}{number:03d}",
            email=f"{prefix}{number:03d}@example.com",
            agreement_date=now,
            token_lifetime=3600,
            **fields,
        )
        for number in range(count)
    ]
    session.add_all(users)
    await session.flush()
    if with_tokens:
        session.add_all(
            AuthToken(key=generate_key(), user_id=user.id, created=now) for user in users
        )
    await session.commit()
    return users


async def stored_user(session: AsyncSession, user_uuid: uuid.UUID) -> User | None:
    """The user as the database holds it now (not the session's cached copy); the read
    transaction is ended so it holds nothing while the server writes."""
    user = await session.scalar(
        select(User).where(User.uuid == user_uuid).execution_options(populate_existing=True)
    )
    await session.commit()
    return user


def tiny_png(width: int = 2, height: int = 1) -> bytes:
    """A valid PNG (signature, IHDR, IDAT, IEND with correct CRCs): grey pixels, 8-bit."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes([0x80] * width) for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def error_of(raised: UnexpectedStatus) -> Any:
    """The JSON body of a response the client refused."""
    return json.loads(raised.content)


def confirmation_code(message: EmailMessage) -> str:
    """The code in the link of a change-email confirmation message."""
    text = message.get_body(preferencelist=("plain",))
    assert text is not None, "the confirmation mail has no text part"
    found = CODE_IN_LINK.search(cast(EmailMessage, text).get_content())
    assert found is not None, "the confirmation mail carries no user_email_change link"
    return found[1]


# --- eduTEAMS stand-in --------------------------------------------------------------------------


@dataclass
class FakeEduteams:
    """The two eduTEAMS endpoints ``pull_remote_user`` uses, with switches for failures.

    ``users`` maps a username to its userinfo answer; unknown names get 404. Every request is
    recorded as (method, path, Authorization header, form body) so tests can check the grant.
    """

    client_id: str = "gql-users-client"
    secret: str = "client-secret"
    refresh_token: str = "remote-refresh-token"
    access_token: str = "access-token-1"
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    userinfo_status: int | None = None
    requests: list[tuple[str, str, str, dict[str, str]]] = field(default_factory=list)

    async def token(self, request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.requests.append(("POST", request.path, request.headers.get("Authorization", ""), form))
        expected = BasicAuth(self.client_id, self.secret).encode()
        if request.headers.get("Authorization") != expected:
            return web.json_response({"error": "invalid_client"}, status=401)
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != (
            self.refresh_token
        ):
            return web.json_response({"error": "invalid_grant"}, status=400)
        return web.json_response({"access_token": self.access_token, "expires_in": 1800})

    async def userinfo(self, request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization", "")
        self.requests.append(("GET", request.path, authorization, {}))
        if authorization != f"Bearer {self.access_token}":
            return web.json_response({"error": "invalid_token"}, status=401)
        if self.userinfo_status is not None:
            return web.json_response({"error": "unavailable"}, status=self.userinfo_status)
        username = request.match_info["username"]
        if username not in self.users:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(self.users[username])

    def app(self) -> web.Application:
        app = web.Application()
        app[FAKE] = self
        app.router.add_post("/OIDC/token", self.token)
        app.router.add_get("/api/userinfo/{username}", self.userinfo)
        return app


FAKE = web.AppKey("fake_eduteams", FakeEduteams)


# --- SMTP ---------------------------------------------------------------------------------------


@dataclass
class SmtpInbox:
    """An aiosmtpd handler that keeps every message it accepts, with its envelope recipients."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = cast(EmailMessage, message_from_bytes(envelope.content, policy=policy.default))
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"
