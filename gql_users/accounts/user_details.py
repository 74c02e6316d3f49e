"""What a user representation needs beyond the users row, loaded for a whole page at once.

Tokens, permissions and pending email changes are one statement each, whatever the page size,
so a page of 50 users costs what a page of 5 does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.email_change import requested_emails
from gql_users.accounts.permissions import PermissionRow, load_permissions
from gql_users.accounts.tokens import token_expires_at
from gql_users.accounts.user_input import identity_provider_fields
from gql_users.db.models import AuthToken, User
from gql_users.settings import Settings


@dataclass(frozen=True, slots=True)
class UserDetails:
    token: AuthToken | None = None
    permissions: list[PermissionRow] = field(default_factory=list)
    requested_email: str | None = None

    def token_expires_at(self, user: User) -> datetime | None:
        return token_expires_at(self.token.created if self.token else None, user.token_lifetime)

    @property
    def has_active_session(self) -> bool:
        return self.token is not None


async def load_user_details(session: AsyncSession, users: Sequence[User]) -> dict[int, UserDetails]:
    """Tokens, active permissions and requested emails of ``users``: three statements."""
    ids = [user.id for user in users]
    if not ids:
        return {}
    tokens = {
        token.user_id: token
        for token in await session.scalars(select(AuthToken).where(AuthToken.user_id.in_(ids)))
    }
    permissions = await load_permissions(session, ids)
    emails = await requested_emails(session, ids)
    return {
        user_id: UserDetails(
            token=tokens.get(user_id),
            permissions=permissions.get(user_id, []),
            requested_email=emails.get(user_id),
        )
        for user_id in ids
    }


@dataclass(frozen=True, slots=True)
class IdentityProvider:
    name: str
    label: str
    management_url: str
    fields: list[str]


def identity_provider(user: User, settings: Settings) -> IdentityProvider:
    """The identity provider fields derived from ``registration_method`` (B §3.0).

    Only the local database provider is configured in gql-users; other methods render empty,
    as Waldur does when it has no IdentityProvider row for them.
    """
    if user.registration_method == "default":
        return IdentityProvider(
            name=settings.local_idp_name,
            label=settings.local_idp_label,
            management_url=settings.local_idp_management_url,
            fields=identity_provider_fields(user, settings),
        )
    return IdentityProvider(name="", label="", management_url="", fields=[])
