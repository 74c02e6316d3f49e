"""The events and their wire form: ``<kind>:<uuid hex>``, short enough for any NOTIFY payload."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

CHANNEL = "gql_users_events"
"""The PostgreSQL notification channel every process listens on."""


class Kind(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DEACTIVATED = "deactivated"
    DELETED = "deleted"
    PERMISSIONS = "permissions"
    """The user's roles changed (granted, revoked, expiration changed)."""
    TOKENS = "tokens"
    """The user's token was replaced or deleted (refresh, logout): sessions built on the old
    key must end."""


@dataclass(frozen=True, slots=True)
class Event:
    kind: Kind
    user: uuid.UUID

    def encode(self) -> str:
        return f"{self.kind.value}:{self.user.hex}"

    @classmethod
    def decode(cls, text: str) -> Event | None:
        """The event ``text`` encodes; None for anything else (another sender on the channel)."""
        kind, _, user = text.partition(":")
        try:
            return cls(Kind(kind), uuid.UUID(hex=user))
        except ValueError:
            return None
