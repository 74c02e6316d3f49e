"""Waldur JSON bodies of users and tokens: a user from ``user_fields``, a token as
``UserAuthToken``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gql_users.accounts.callers import Caller
from gql_users.accounts.shaping import readable_fields, select_fields
from gql_users.accounts.user_fields import FIELD_BY_NAME, UserDetails
from gql_users.accounts.users import TokenInfo
from gql_users.accounts.wire import render_datetime
from gql_users.db.models import User
from gql_users.settings import Settings


def render_user(
    settings: Settings,
    caller: Caller,
    user: User,
    details: UserDetails,
    requested_fields: Sequence[str] = (),
    *,
    items_on_page: int | None = None,
) -> dict[str, Any]:
    """The user as the caller may see it, limited to ``requested_fields`` (``?field=``)."""
    available = readable_fields(caller, user, items_on_page=items_on_page)
    return {
        name: FIELD_BY_NAME[name].render(settings, user, details)
        for name in select_fields(available, requested_fields)
    }


def render_token(info: TokenInfo) -> dict[str, Any]:
    """The ``UserAuthToken`` body of ``token`` and ``refresh_token``."""
    user = info.user
    return {
        "created": render_datetime(info.token.created),
        "user_first_name": user.first_name,
        "user_last_name": user.last_name,
        "user_username": user.username,
        "user_is_active": user.is_active,
        "user_token_lifetime": user.token_lifetime,
        "token": info.token.key,
    }
