"""What a user representation needs beyond the users row, loaded for a whole page at once.

Tokens and pending email changes (at most one each per user) come in one statement, the
permissions in another, whatever the page size, so a page of 50 users costs what a page of 5
does.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.permissions import load_permissions
from gql_users.accounts.user_fields import UserDetails
from gql_users.db.models import AuthToken, EmailChangeRequest, User


async def load_user_details(session: AsyncSession, users: Sequence[User]) -> dict[int, UserDetails]:
    """Tokens, active permissions and requested emails of ``users``: two statements."""
    ids = [user.id for user in users]
    if not ids:
        return {}
    rows = await session.execute(
        select(User.id, AuthToken, EmailChangeRequest.email)
        .outerjoin(AuthToken, AuthToken.user_id == User.id)
        .outerjoin(EmailChangeRequest, EmailChangeRequest.user_id == User.id)
        .where(User.id.in_(ids))
    )
    tokens_and_emails = {user_id: (token, email) for user_id, token, email in rows.tuples()}
    permissions = await load_permissions(session, ids)
    details: dict[int, UserDetails] = {}
    for user_id in ids:
        token, email = tokens_and_emails.get(user_id, (None, None))
        details[user_id] = UserDetails(
            token=token, permissions=permissions.get(user_id, []), requested_email=email
        )
    return details
