"""Waldur JSON for users and tokens (B §3.0, §3.7)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gql_users.accounts.callers import Caller
from gql_users.accounts.images import image_url
from gql_users.accounts.permissions import permission_to_waldur
from gql_users.accounts.render import (
    render_datetime,
    render_optional_date,
    render_optional_datetime,
)
from gql_users.accounts.shaping import readable_fields, select_fields
from gql_users.accounts.user_details import UserDetails, identity_provider
from gql_users.accounts.users import TokenInfo
from gql_users.db.models import User
from gql_users.settings import Settings


def user_url(settings: Settings, user: User) -> str:
    return f"{settings.public_url}api/users/{user.uuid.hex}/"


def _idp(attribute: str) -> Callable[[Settings, User, UserDetails], Any]:
    return lambda settings, user, _details: getattr(identity_provider(user, settings), attribute)


def _column(name: str) -> Callable[[Settings, User, UserDetails], Any]:
    return lambda _settings, user, _details: getattr(user, name)


FIELD_RENDERERS: dict[str, Callable[[Settings, User, UserDetails], Any]] = {
    "url": lambda settings, user, _details: user_url(settings, user),
    "uuid": lambda _settings, user, _details: user.uuid.hex,
    "username": _column("username"),
    "slug": _column("slug"),
    "full_name": _column("full_name"),
    "native_name": _column("native_name"),
    "job_title": _column("job_title"),
    "email": _column("email"),
    "phone_number": _column("phone_number"),
    "organization": _column("organization"),
    "civil_number": _column("civil_number"),
    "description": _column("description"),
    "is_staff": _column("is_staff"),
    "is_active": _column("is_active"),
    "is_support": _column("is_support"),
    "token": lambda _settings, _user, details: details.token.key if details.token else None,
    "token_lifetime": _column("token_lifetime"),
    "token_expires_at": lambda _settings, user, details: render_optional_datetime(
        details.token_expires_at(user)
    ),
    "registration_method": _column("registration_method"),
    "date_joined": lambda _settings, user, _details: render_datetime(user.date_joined),
    "agreement_date": lambda _settings, user, _details: render_optional_datetime(
        user.agreement_date
    ),
    "notifications_enabled": _column("notifications_enabled"),
    "preferred_language": _column("preferred_language"),
    "permissions": lambda _settings, _user, details: [
        permission_to_waldur(row) for row in details.permissions
    ],
    "requested_email": lambda _settings, _user, details: details.requested_email,
    "affiliations": lambda _settings, user, _details: list(user.affiliations or []),
    "first_name": _column("first_name"),
    "last_name": _column("last_name"),
    "birth_date": lambda _settings, user, _details: render_optional_date(user.birth_date),
    "identity_provider_name": _idp("name"),
    "identity_provider_label": _idp("label"),
    "identity_provider_management_url": _idp("management_url"),
    "identity_provider_fields": _idp("fields"),
    "image": lambda settings, user, _details: image_url(settings, user.image),
    "identity_source": _column("identity_source"),
    "has_active_session": lambda _settings, _user, details: details.has_active_session,
}


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
        name: FIELD_RENDERERS[name](settings, user, details)
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
