"""The ``Date`` scalar of ``birthDate``: only ``YYYY-MM-DD`` gets past it, as a variable or
inline (docs/api-differences.md#birth-dates). The rules both APIs share (who reads and writes
it, a future date refused, null clears) are tested in tests/parity/test_birth_date.py."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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
