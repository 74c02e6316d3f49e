"""What a user representation needs beyond the users row, loaded for a whole page at once.

Tokens, pending email changes (at most one each per user) and active permissions come in one
statement, whatever the page size, so a page of 50 users costs what a page of 5 does. The
permissions' uuids and datetimes are loaded in their wire form and made into their Waldur
bodies at once (``RenderedPermissions``): REST shows nothing else of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.permissions import (
    PERMISSION_COLUMNS,
    POSTGRESQL,
    USER_IDS,
    RenderedPermissions,
    in_user_ids,
    in_wire_form,
    permissions_statement,
    waldur_permission,
)
from gql_users.accounts.user_fields import UserDetails
from gql_users.db.models import AuthToken, EmailChangeRequest, User


class TokenColumns(NamedTuple):
    """The two columns of a user's token that the user fields read."""

    key: str
    created: datetime


def _details_statement(dialect: str) -> Select[*tuple[Any, ...]]:
    permission = permissions_statement(dialect).order_by(None).subquery("permission")
    return (
        select(
            User.id.label("details_user_id"),
            AuthToken.key.label("token_key"),
            AuthToken.created.label("token_created"),
            EmailChangeRequest.email.label("requested_email"),
            *(in_wire_form(column) for column in permission.c),
        )
        .outerjoin(AuthToken, AuthToken.user_id == User.id)
        .outerjoin(EmailChangeRequest, EmailChangeRequest.user_id == User.id)
        .outerjoin(permission, permission.c.user_id == User.id)
        .where(in_user_ids(User.id, dialect))
        .order_by(User.id, permission.c.created, permission.c.id)
    )


_DETAILS = {dialect: _details_statement(dialect) for dialect in (POSTGRESQL, "other")}


def details_statement(dialect: str) -> Select[*tuple[Any, ...]]:
    """One row per permission (one row for a user without any) of the ``USER_IDS`` users,
    with their token and requested email, for the database ``dialect`` names; built once, so
    that each execution reuses its compiled form."""
    return _DETAILS[POSTGRESQL if dialect == POSTGRESQL else "other"]


PERMISSION_FIRST = len(_DETAILS[POSTGRESQL].selected_columns) - PERMISSION_COLUMNS
"""Where the permission's columns start in a ``details_statement`` row (they end it)."""


async def load_user_details(session: AsyncSession, users: Sequence[User]) -> dict[int, UserDetails]:
    """Tokens, active permissions (oldest first, in their Waldur form) and requested emails of
    ``users``."""
    return await load_user_details_by_id(session, [user.id for user in users])


async def load_user_details_by_id(
    session: AsyncSession, user_ids: Sequence[int]
) -> dict[int, UserDetails]:
    """``load_user_details`` for the users with these ids: one statement (none without ids)."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return {}
    connection = await session.connection()
    rows = await connection.execute(details_statement(connection.dialect.name), {USER_IDS: ids})
    tokens: dict[int, TokenColumns | None] = {}
    emails: dict[int, str | None] = {}
    permissions = {user_id: RenderedPermissions() for user_id in ids}
    for record in rows:
        user_id, key, token_created, email = record[:PERMISSION_FIRST]
        tokens[user_id] = None if key is None else TokenColumns(key, token_created)
        emails[user_id] = email
        if record[PERMISSION_FIRST] is not None:  # the permission's id: a user without any
            permissions[user_id].append(waldur_permission(record[PERMISSION_FIRST:]))
    return {
        user_id: UserDetails(
            token=tokens.get(user_id),
            permissions=permissions[user_id],
            requested_email=emails.get(user_id),
        )
        for user_id in ids
    }
