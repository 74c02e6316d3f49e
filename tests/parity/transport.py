"""One interface over the two APIs, so a scenario is written once and run through each.

Arguments use the REST (snake_case) vocabulary: field names, filter names and ``o`` ordering
keys; each implementation translates them for its API. Every method returns an ``Outcome``
(see ``outcome.py``). A caller is a ``User`` (their current token is used), a raw token key
(to show that an old key stopped working), or None for anonymous.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from uuid import UUID

from aiohttp.test_utils import TestClient

from gql_users.db.models import User
from tests.conftest import Factory
from tests.parity.outcome import Outcome

ScopeKind = Literal["customer", "project"]
Who = User | str | None
"""A caller: a user (with their current token), a token key, or None (anonymous)."""


class Transport(Protocol):
    name: str

    async def me(self, caller: Who) -> Outcome: ...

    async def get_user(self, caller: Who, uuid: UUID) -> Outcome: ...

    async def list_users(
        self,
        caller: Who,
        filters: Mapping[str, Any] | None = None,
        ordering: Sequence[str] = (),
    ) -> Outcome: ...

    async def create_user(self, caller: Who, data: Mapping[str, Any]) -> Outcome: ...

    async def update_user(self, caller: Who, uuid: UUID, data: Mapping[str, Any]) -> Outcome: ...

    async def delete_user(self, caller: Who, uuid: UUID) -> Outcome: ...

    async def token(self, caller: Who, uuid: UUID) -> Outcome: ...

    async def refresh_token(self, caller: Who, uuid: UUID) -> Outcome: ...

    async def change_email(self, caller: Who, uuid: UUID, email: Any) -> Outcome: ...

    async def cancel_change_email(self, caller: Who, uuid: UUID) -> Outcome: ...

    async def confirm_email(self, caller: Who, code: Any) -> Outcome: ...

    async def change_password(self, caller: Who, uuid: UUID, new_password: Any) -> Outcome: ...

    async def pull_remote_user(self, caller: Who, uuid: UUID) -> Outcome: ...

    async def login(self, username: Any, password: Any) -> Outcome: ...

    async def logout(self, caller: Who) -> Outcome: ...

    async def list_scopes(self, caller: Who, kind: ScopeKind) -> Outcome:
        """The names of the customers (or projects) the caller sees, in list order."""
        ...

    async def scope_team(self, caller: Who, kind: ScopeKind, uuid: UUID) -> Outcome:
        """The usernames of the holders of current roles in the scope that the caller sees."""
        ...

    async def grant_role(
        self, caller: Who, kind: ScopeKind, uuid: UUID, role: str, user: UUID
    ) -> Outcome: ...

    async def revoke_role(
        self, caller: Who, kind: ScopeKind, uuid: UUID, role: str, user: UUID
    ) -> Outcome: ...


@dataclass
class HttpTransport:
    """What both implementations share: the test client and the caller's credentials."""

    client: TestClient
    factory: Factory

    async def headers(self, caller: Who) -> dict[str, str]:
        if caller is None:
            return {}
        key = caller if isinstance(caller, str) else await self.factory.token(caller)
        return {"Authorization": f"Token {key}"}
