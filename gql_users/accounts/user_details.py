"""What a user representation needs beyond the users row, loaded for a whole page at once.

Tokens, pending email changes (at most one each per user) and active permissions come in one
statement, whatever the page size, so a page of 50 users costs what a page of 5 does.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.permissions import PermissionRow, permissions_statement, to_permission_row
from gql_users.accounts.user_fields import UserDetails
from gql_users.db.models import AuthToken, EmailChangeRequest, User


async def load_user_details(session: AsyncSession, users: Sequence[User]) -> dict[int, UserDetails]:
    """Tokens, active permissions (oldest first) and requested emails of ``users``: one
    statement, one row per permission (one row for a user without any)."""
    ids = list(dict.fromkeys(user.id for user in users))
    if not ids:
        return {}
    permission = permissions_statement(ids).order_by(None).subquery("permission")
    rows = await session.execute(
        select(
            User.id.label("details_user_id"),
            AuthToken,
            EmailChangeRequest.email.label("requested_email"),
            permission,
        )
        .outerjoin(AuthToken, AuthToken.user_id == User.id)
        .outerjoin(EmailChangeRequest, EmailChangeRequest.user_id == User.id)
        .outerjoin(permission, permission.c.user_id == User.id)
        .where(User.id.in_(ids))
        .order_by(User.id, permission.c.created, permission.c.id)
    )
    tokens: dict[int, AuthToken | None] = {}
    emails: dict[int, str | None] = {}
    permissions: dict[int, list[PermissionRow]] = {user_id: [] for user_id in ids}
    for record in rows:
        user_id = record.details_user_id
        tokens[user_id] = record.AuthToken
        emails[user_id] = record.requested_email
        if record.id is not None:
            permissions[user_id].append(to_permission_row(record))
    return {
        user_id: UserDetails(
            token=tokens.get(user_id),
            permissions=permissions[user_id],
            requested_email=emails.get(user_id),
        )
        for user_id in ids
    }
