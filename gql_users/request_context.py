"""What the parts of the service know about the request being served, without aiohttp: its
id (for error reports and log lines), its caller and the GraphQL operation it ran (for the
access log).

The web layer sets ``current`` when a request arrives; anything below it (the resolvers' error
masking, a log record) reads it. Outside a request it is None.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from dataclasses import dataclass

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


@dataclass(slots=True)
class RequestInfo:
    request_id: str
    operation: str | None = None
    """The GraphQL operation's label (``gql_users.metrics.operation_label``), once it ran."""
    caller: str | None = None
    """The authenticated user's uuid (hex), once known."""


current: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar(
    "gql_users_request", default=None
)


def sanitize_request_id(given: str | None) -> str:
    """The client's ``X-Request-Id`` when it is 1-128 characters of letters, digits and
    ``. _ -``; else a new id (32 hex digits)."""
    if given is not None and REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    info = current.get()
    return None if info is None else info.request_id
