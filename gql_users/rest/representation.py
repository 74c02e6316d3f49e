"""Waldur JSON bodies of users and tokens: a user from ``user_fields``, a token as
``UserAuthToken``.

Each field's conversion is decided once from the field table (``field_plan``): a column is read
by attribute and written in the wire form of its type, anything else through the entry's value;
so rendering a page is one pass over its users with no per-value type tests. A user is a
``User`` or a row of the users table (``listing.UserRow``): both are read by attribute, a row's
uuid, datetimes and dates already in their wire form (``wire_row_render``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from operator import attrgetter
from typing import Any

from gql_users.accounts.callers import Caller
from gql_users.accounts.shaping import readable_field_names, select_fields
from gql_users.accounts.user_fields import (
    FIELD_BY_NAME,
    Source,
    UserDetails,
    UserField,
    user_url_of,
)
from gql_users.accounts.users import TokenInfo
from gql_users.accounts.wire import render_datetime, wire_form, wire_form_of
from gql_users.settings import Settings

Render = Callable[[Any, Settings, UserDetails], object]
"""One field's REST value of a user (a ``User`` or a users row), given the settings and the
user's details."""
FieldPlan = tuple[tuple[str, Render], ...]


def field_render(field: UserField) -> Render:
    """How ``field`` is rendered, decided once: a column by attribute, in its type's wire form
    when it has the default one; anything else as ``UserField.render`` does."""
    if field.source is Source.MODEL:
        read = attrgetter(field.name)
        convert = wire_form_of(field.type) if field.wire is wire_form else field.wire
        if convert is None:
            return lambda user, _settings, _details: read(user)
        to_wire = convert
        return lambda user, _settings, _details: to_wire(read(user))
    value, wire = field.value, field.wire
    if wire is wire_form:
        convert = wire_form_of(field.type)
        if convert is None:
            return value
        wire = convert
    to_json = wire
    return lambda user, settings, details: to_json(value(user, settings, details))


def wire_row_render(field: UserField) -> Render:
    """How ``field`` is rendered from a ``listing.UserRow``, whose uuid, datetimes and dates
    are already in their wire form: a column with the default wire form is written as read;
    ``url`` is made from the uuid's text; anything else as ``field_render`` decides."""
    if field.source is Source.MODEL and field.wire is wire_form:
        read = attrgetter(field.name)
        return lambda user, _settings, _details: read(user)
    if field.name == "url":
        return lambda user, settings, _details: user_url_of(settings, user.uuid)
    return field_render(field)


_RENDERS: dict[bool, dict[str, Render]] = {
    False: {name: field_render(field) for name, field in FIELD_BY_NAME.items()},
    True: {name: wire_row_render(field) for name, field in FIELD_BY_NAME.items()},
}


@lru_cache(maxsize=512)
def field_plan(names: tuple[str, ...], wire_rows: bool = False) -> FieldPlan:
    """The renders of ``names``, in that order (one plan per shape of body), for users read as
    ``User`` objects, or as ``listing.UserRow``s when ``wire_rows``."""
    renders = _RENDERS[wire_rows]
    return tuple((name, renders[name]) for name in names)


def render_user(
    settings: Settings,
    caller: Caller,
    user: Any,
    details: UserDetails,
    requested_fields: Sequence[str] = (),
    *,
    items_on_page: int | None = None,
) -> dict[str, Any]:
    """The user as the caller may see it, limited to ``requested_fields`` (``?field=``)."""
    bodies = render_users(
        settings, caller, [user], {user.id: details}, requested_fields, items_on_page
    )
    return bodies[0]


def render_users(
    settings: Settings,
    caller: Caller,
    users: Sequence[Any],
    details: dict[int, UserDetails],
    requested_fields: Sequence[str] = (),
    items_on_page: int | None = None,
    *,
    wire_rows: bool = False,
) -> list[dict[str, Any]]:
    """``render_user`` of each of ``users`` (a page: ``items_on_page`` is its length), in one
    pass: the fields of each shape of body are chosen once. ``wire_rows``: the users are
    ``listing.UserRow``s, their uuid, datetimes and dates already in wire form."""
    own_id = caller.user.id if caller.user is not None else None
    plans: dict[bool, FieldPlan] = {}
    bodies = []
    for user in users:
        itself = user.id == own_id
        plan = plans.get(itself)
        if plan is None:
            available = readable_field_names(caller, itself=itself, items_on_page=items_on_page)
            names = select_fields(available, requested_fields)
            plan = plans[itself] = field_plan(names, wire_rows)
        user_details = details[user.id]
        bodies.append({name: render(user, settings, user_details) for name, render in plan})
    return bodies


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
