"""``birthDate`` and the ``Date`` scalar: only ``YYYY-MM-DD`` gets past the scalar (as a
variable or inline), a future date is a ``userError``, null clears, and the field is null for
callers who may not read it (docs/api-differences.md#birth-dates). The cases both APIs share are in
tests/parity/test_birth_date.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts import validation as v
from gql_users.db.models import User
from tests.conftest import Factory
from tests.graphql.conftest import GraphQLClient

ON_RECORD = date(1980, 1, 2)

UPDATE = """mutation($uuid: UUID!, $input: UpdateUserInput!) {
  updateUser(uuid: $uuid, input: $input) {
    user { birthDate jobTitle } userErrors { field message code } } }"""


async def stored(session: AsyncSession, user: User) -> tuple[date | None, str]:
    row = (
        await session.execute(select(User.birth_date, User.job_title).where(User.id == user.id))
    ).one()
    await session.commit()
    return row.birth_date, row.job_title


@pytest.fixture
async def me(factory: Factory) -> User:
    return await factory.user("me", birth_date=ON_RECORD)


async def test_update_and_clear(
    gql: GraphQLClient, factory: Factory, session: AsyncSession, me: User
) -> None:
    headers = await factory.auth(me)
    data = await gql.ok(
        UPDATE, {"uuid": me.uuid.hex, "input": {"birthDate": "1999-12-31"}}, headers=headers
    )
    assert data["updateUser"] == {
        "user": {"birthDate": "1999-12-31", "jobTitle": ""},
        "userErrors": [],
    }
    assert await stored(session, me) == (date(1999, 12, 31), "")
    data = await gql.ok(
        UPDATE, {"uuid": me.uuid.hex, "input": {"birthDate": None}}, headers=headers
    )
    assert data["updateUser"]["user"]["birthDate"] is None
    assert await stored(session, me) == (None, "")


async def test_an_inline_literal_is_read_by_the_same_parser(
    gql: GraphQLClient, factory: Factory, session: AsyncSession, me: User
) -> None:
    headers = await factory.auth(me)
    document = """mutation($uuid: UUID!) { updateUser(uuid: $uuid, input: {birthDate: "%s"}) {
      user { birthDate } userErrors { field message } } }"""
    data = await gql.ok(document % "2001-01-01", {"uuid": me.uuid.hex}, headers=headers)
    assert data["updateUser"]["user"]["birthDate"] == "2001-01-01"
    refused = await gql(document % "2001-02-30", {"uuid": me.uuid.hex}, headers=headers)
    assert refused.data is None and refused.errors
    assert "'2001-02-30' is not a date (YYYY-MM-DD)" in refused.errors[0]["message"]
    assert await stored(session, me) == (date(2001, 1, 1), "")


@pytest.mark.parametrize(
    "value",
    [
        "2020-13-01",
        "yesterday",
        20200101,
        "20200101",
        "2020-W01-1",
        "2020-01-01T00:00:00Z",
        " 2020-01-01",
        "",
        True,
        ["2020-01-01"],
    ],
)
async def test_anything_but_a_date_is_refused_by_the_scalar(
    gql: GraphQLClient, factory: Factory, session: AsyncSession, me: User, value: Any
) -> None:
    variables = {"uuid": me.uuid.hex, "input": {"birthDate": value, "jobTitle": "After"}}
    response = await gql(UPDATE, variables, headers=await factory.auth(me))
    assert response.data is None and len(response.errors) == 1, response.body
    assert "birthDate" in response.errors[0]["message"]
    assert "YYYY-MM-DD" in response.errors[0]["message"]
    assert await stored(session, me) == (ON_RECORD, "")


async def test_a_future_date_is_a_user_error(
    gql: GraphQLClient, factory: Factory, session: AsyncSession, me: User
) -> None:
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    variables = {"uuid": me.uuid.hex, "input": {"birthDate": tomorrow, "jobTitle": "After"}}
    data = await gql.ok(UPDATE, variables, headers=await factory.auth(me))
    assert data["updateUser"] == {
        "user": None,
        "userErrors": [
            {"field": "birthDate", "message": v.FUTURE_BIRTH_DATE, "code": "VALIDATION_FAILED"}
        ],
    }
    assert await stored(session, me) == (ON_RECORD, "")


async def test_staff_create_with_a_birth_date(gql: GraphQLClient, factory: Factory) -> None:
    staff = await factory.user("staff", is_staff=True)
    document = """mutation($input: CreateUserInput!) { createUser(input: $input) {
      user { username birthDate } userErrors { field message } } }"""
    variables = {
        "input": {"username": "born", "email": "born@x.example", "birthDate": "1990-05-17"}
    }
    data = await gql.ok(document, variables, headers=await factory.auth(staff))
    assert data["createUser"]["user"] == {"username": "born", "birthDate": "1990-05-17"}


async def test_null_for_callers_who_may_not_read_it(gql: GraphQLClient, factory: Factory) -> None:
    customer = await factory.customer("Acme")
    owner = await factory.user("owner", birth_date=date(1970, 3, 4))
    member = await factory.user("member", birth_date=ON_RECORD)
    support = await factory.user("support", is_support=True)
    for person in (owner, member):
        await factory.grant(person, "CUSTOMER.OWNER", customer)
    listing = "{ users(orderBy: [{field: USERNAME}]) { edges { node { username birthDate } } } }"
    data = await gql.ok(listing, headers=await factory.auth(owner))
    nodes = [edge["node"] for edge in data["users"]["edges"]]
    assert nodes == [
        {"username": "member", "birthDate": None},
        {"username": "owner", "birthDate": "1970-03-04"},
    ]
    one = "query($uuid: UUID!) { user(uuid: $uuid) { birthDate } }"
    hidden = await gql.ok(one, {"uuid": member.uuid.hex}, headers=await factory.auth(owner))
    assert hidden == {"user": {"birthDate": None}}
    shown = await gql.ok(one, {"uuid": member.uuid.hex}, headers=await factory.auth(support))
    assert shown == {"user": {"birthDate": "1980-01-02"}}
    mine = await gql.ok("{ me { birthDate } }", headers=await factory.auth(member))
    assert mine == {"me": {"birthDate": "1980-01-02"}}
