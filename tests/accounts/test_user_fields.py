"""The table of user fields: both APIs show every entry, the published document agrees with it,
and the read rules derived from it are the ones the shaping tests expect."""

from __future__ import annotations

import json
import types
import typing
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest
from graphql import GraphQLNonNull, GraphQLObjectType
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import ANONYMOUS, Caller
from gql_users.accounts.permissions import PermissionRow
from gql_users.accounts.shaping import (
    OWN_TOKEN_FIELDS,
    PERSONAL_FIELDS,
    PRIVILEGED_FIELDS,
    USER_FIELDS,
    readable_fields,
)
from gql_users.accounts.user_details import load_user_details
from gql_users.accounts.user_fields import USER_FIELD_TABLE, Readers, Source, UserDetails
from gql_users.db.models import User
from gql_users.rest.representation import render_user
from gql_users.settings import Settings
from resolvers.schema import build_schema
from tests.accounts.test_shaping import COLLEAGUE, IDENTITY_MANAGER, NORMAL, STAFF, SUPPORT
from tests.conftest import Factory

OPENAPI = Path(__file__).resolve().parents[2] / "gql_users" / "rest" / "openapi.json"

NOT_RENDERED = frozenset(
    {
        "should_protect_user_details",
        "has_usable_password",
        "gender",
        "personal_title",
        "place_of_birth",
        "address",
        "country_of_residence",
        "nationality",
        "nationalities",
        "organization_country",
        "organization_type",
        "organization_registry_code",
        "organization_vat_code",
        "organization_address",
        "eduperson_assurance",
        "uid_number",
        "primary_gid",
        "is_identity_manager",
        "can_use_personal_access_tokens",
        "attribute_sources",
        "managed_isds",
        "active_isds",
        "deactivation_reason",
        "is_admin_deactivated",
    }
)
"""Properties of the published ``User`` that gql-users does not store, so renders for nobody."""

ME_ONLY = frozenset({"ip_address"})
"""Rendered by ``me`` alone, from the request rather than the user (not a table entry)."""


def _value_type(entry_type: Any) -> tuple[Any, bool]:
    """``str | None`` -> ``(str, True)``; ``list[str]`` -> ``(list[str], False)``."""
    if isinstance(entry_type, types.UnionType):
        [inner] = [arg for arg in typing.get_args(entry_type) if arg is not type(None)]
        return inner, True
    return entry_type, False


# --- the table itself ------------------------------------------------------------------------


def test_names_are_unique_and_model_entries_name_a_model_attribute() -> None:
    names = [entry.name for entry in USER_FIELD_TABLE]
    assert len(names) == len(set(names))
    assert tuple(names) == USER_FIELDS
    for entry in USER_FIELD_TABLE:
        if entry.source is Source.MODEL:
            assert hasattr(User, entry.name), entry.name


def test_loaded_sources_name_a_part_of_the_details() -> None:
    details_parts = {"token", "permissions", "requested_email"}
    loaded = {entry.source for entry in USER_FIELD_TABLE if entry.source.loaded}
    assert {source.name.lower() for source in loaded} <= details_parts
    assert set(UserDetails.__slots__) == details_parts


# --- REST renders every entry ----------------------------------------------------------------


async def test_rest_renders_every_entry_in_table_order(
    factory: Factory, session: AsyncSession, settings: Settings
) -> None:
    """Staff reading themselves may read every field: the body has every entry, in order,
    each in its wire form."""
    staff = await factory.user("ada", is_staff=True, birth_date=date(1815, 12, 10))
    customer = await factory.customer()
    await factory.grant(staff, "CUSTOMER.OWNER", customer)
    details = (await load_user_details(session, [staff]))[staff.id]

    body = render_user(settings, Caller(user=staff), staff, details)

    assert list(body) == [entry.name for entry in USER_FIELD_TABLE]
    assert body["url"] == f"{settings.public_url}api/users/{staff.uuid.hex}/"
    assert body["uuid"] == staff.uuid.hex
    assert body["token"] == await factory.token(staff)
    assert body["birth_date"] == "1815-12-10"
    assert body["date_joined"].endswith("Z")
    assert body["token_expires_at"].endswith("Z")
    assert [row["scope_name"] for row in body["permissions"]] == [customer.name]
    assert body["has_active_session"] is True
    assert json.loads(orjson.dumps(body)) == body  # plain JSON values only


# --- GraphQL exposes every entry -------------------------------------------------------------

GRAPHQL_NAMES: dict[Any, str] = {
    str: "String",
    bool: "Boolean",
    int: "Int",
    UUID: "UUID",
    datetime: "DateTime",
    date: "Date",
    PermissionRow: "Permission",
}


def _expected_graphql_type(entry_type: Any, *, hideable: bool) -> str:
    """``bool`` -> ``Boolean!``, hideable -> ``Boolean``; ``list[str]`` -> ``[String!]!``."""
    inner, nullable = _value_type(entry_type)
    if typing.get_origin(inner) is list:
        [item] = typing.get_args(inner)
        printed = f"[{GRAPHQL_NAMES[item]}!]"
    else:
        printed = GRAPHQL_NAMES[inner]
    return printed if nullable or hideable else f"{printed}!"


def test_graphql_user_has_every_entry_in_table_order_typed_and_described() -> None:
    user_type = build_schema()._schema.type_map["User"]
    assert isinstance(user_type, GraphQLObjectType)
    # The Node interface's id comes first; the fields written in the class follow the table.
    table = [entry.graphql_name for entry in USER_FIELD_TABLE]
    assert list(user_type.fields) == ["id", *table, "ipAddress", "customers", "projects"]
    for entry in USER_FIELD_TABLE:
        field = user_type.fields[entry.graphql_name]
        expected = _expected_graphql_type(entry.type, hideable=entry.hideable)
        assert str(field.type) == expected, entry.name
        assert field.description == entry.description, entry.name


def test_every_field_some_caller_may_not_read_is_nullable_in_graphql() -> None:
    user_type = build_schema()._schema.type_map["User"]
    assert isinstance(user_type, GraphQLObjectType)
    for entry in USER_FIELD_TABLE:
        if entry.hideable:
            assert not isinstance(user_type.fields[entry.graphql_name].type, GraphQLNonNull)


# --- the published document ------------------------------------------------------------------

OPENAPI_TYPES: dict[Any, str] = {str: "string", bool: "boolean", int: "integer"}


def _published_user() -> dict[str, dict[str, Any]]:
    document = json.loads(OPENAPI.read_text())
    properties: dict[str, dict[str, Any]] = document["components"]["schemas"]["User"]["properties"]
    return properties


def test_every_published_user_field_is_an_entry_or_deliberately_not_rendered() -> None:
    published = _published_user()
    assert set(published) - NOT_RENDERED - ME_ONLY == set(USER_FIELDS)
    # The table keeps the document's order.
    assert [name for name in published if name in set(USER_FIELDS)] == list(USER_FIELDS)


def test_each_entry_has_the_published_json_type() -> None:
    published = _published_user()
    formats: dict[Any, str] = {UUID: "uuid", datetime: "date-time", date: "date"}
    for entry in USER_FIELD_TABLE:
        inner, _nullable = _value_type(entry.type)
        schema = published[entry.name]
        if typing.get_origin(inner) is list:
            assert schema["type"] == "array", entry.name
        elif inner in formats:
            assert (schema["type"], schema["format"]) == ("string", formats[inner]), entry.name
        else:
            assert schema["type"] == OPENAPI_TYPES[inner], entry.name


# --- read rules ------------------------------------------------------------------------------


def _may_read(readers: Readers, caller: Caller, target: User, items_on_page: int | None) -> bool:
    """The read rule of each ``Readers``, in words: anyone who sees the user; staff and
    support; the user themselves, staff and support; the user themselves, shown alone."""
    privileged = caller.is_privileged
    itself = caller.user is not None and caller.user.id == target.id
    return {
        Readers.ANYONE: True,
        Readers.PRIVILEGED: privileged,
        Readers.PERSONAL: privileged or itself,
        Readers.OWN_TOKEN: itself and items_on_page in (None, 1),
    }[readers]


@pytest.mark.parametrize(
    "caller",
    [ANONYMOUS, *(Caller(user=user) for user in (NORMAL, SUPPORT, STAFF, IDENTITY_MANAGER))],
)
@pytest.mark.parametrize("target", [NORMAL, COLLEAGUE, STAFF])
@pytest.mark.parametrize("items_on_page", [None, 1, 2])
def test_readable_fields_follow_each_entrys_readers(
    caller: Caller, target: User, items_on_page: int | None
) -> None:
    expected = tuple(
        entry.name
        for entry in USER_FIELD_TABLE
        if _may_read(entry.readers, caller, target, items_on_page)
    )
    assert readable_fields(caller, target, items_on_page=items_on_page) == expected


def test_the_shaping_groups_are_the_tables() -> None:
    """The groups test_shaping relies on, as the table states them."""
    assert {
        "description",
        "is_staff",
        "is_active",
        "is_support",
        "has_active_session",
    } == PRIVILEGED_FIELDS
    assert {"birth_date"} == PERSONAL_FIELDS
    assert {"token", "token_lifetime"} == OWN_TOKEN_FIELDS
    hideable = {entry.name for entry in USER_FIELD_TABLE if entry.hideable}
    assert hideable == PRIVILEGED_FIELDS | PERSONAL_FIELDS | OWN_TOKEN_FIELDS
