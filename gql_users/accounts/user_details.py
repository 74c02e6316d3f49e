"""What a user representation needs beyond the users row, loaded for a whole page at once.

Tokens, permissions and pending email changes are one statement each, whatever the page size,
so a page of 50 users costs what a page of 5 does.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.email_change import requested_emails
from gql_users.accounts.permissions import load_permissions
from gql_users.accounts.tokens import tokens_by_user
from gql_users.accounts.user_fields import UserDetails
from gql_users.db.models import User


async def load_user_details(session: AsyncSession, users: Sequence[User]) -> dict[int, UserDetails]:
    """Tokens, active permissions and requested emails of ``users``: three statements."""
    ids = [user.id for user in users]
    if not ids:
        return {}
    tokens = await tokens_by_user(session, ids)
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
