"""GraphQL input bounds against a live server: every string argument and input field has a
length limit, the same as REST's effective one; longer values get a clear error naming the
field and the limit, and change nothing (docs/hardening.md#graphql-limits)."""

from __future__ import annotations

import asyncio
import time

import aiohttp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.filters import MAX_FILTER_LENGTH
from gql_users.accounts.login import MAX_CREDENTIAL_LENGTH
from gql_users.accounts.ordering import MAX_ORDER_KEYS
from gql_users.accounts.validation import max_length_message
from gql_users.db.models import User
from resolvers.users.cursors import MAX_CURSOR_LENGTH
from resolvers.users.inputs import UserOrderField
from tests.conftest import Factory
from tests.hostile.graphql_limits_support import post_graphql
from tests.live_server import LiveServer

FILTERED = """query Filtered($filter: UserFilterInput) {
  users(filter: $filter) { edges { node { username } } }
}"""


def column_length(name: str) -> int:
    length = getattr(User.__table__.c[name].type, "length", None)
    assert isinstance(length, int)
    return length


async def test_filter_strings_are_bounded_by_rest_s_effective_limit(
    live: LiveServer, http: aiohttp.ClientSession, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True)
    token = await factory.token(staff)
    for field in ("fullName", "query", "userKeyword", "email", "username"):
        at_limit = {field: "x" * MAX_FILTER_LENGTH}
        allowed = await post_graphql(http, live, FILTERED, {"filter": at_limit}, token=token)
        assert allowed.body == {"data": {"users": {"edges": []}}}, field
        over = {field: "x" * (MAX_FILTER_LENGTH + 1)}
        refused = await post_graphql(http, live, FILTERED, {"filter": over}, token=token)
        [error] = refused.errors
        assert error["message"] == f"{field}: {max_length_message(MAX_FILTER_LENGTH)}"
        assert error["extensions"] == {"code": "BAD_REQUEST"}
        assert refused.body["data"] is None


async def test_filter_lists_are_bounded_as_rest_sends_them_joined(
    live: LiveServer, http: aiohttp.ClientSession, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True)
    token = await factory.token(staff)
    # "staff" and 1,365 five-letter names: 1,366 * 5 + 1,365 commas = 8,195 characters.
    names = ["staff"] + [f"u{n:04d}" for n in range(1365)]
    assert len(",".join(names)) > MAX_FILTER_LENGTH
    refused = await post_graphql(
        http, live, FILTERED, {"filter": {"usernameList": names}}, token=token
    )
    assert refused.errors[0]["message"] == (
        f"usernameList: {max_length_message(MAX_FILTER_LENGTH)}"
    )
    fits = names[:1000]
    allowed = await post_graphql(
        http, live, FILTERED, {"filter": {"usernameList": fits}}, token=token
    )
    assert allowed.body == {"data": {"users": {"edges": [{"node": {"username": "staff"}}]}}}
    roles = await post_graphql(
        http,
        live,
        FILTERED,
        {"filter": {"organizationRoles": ["r" * (MAX_FILTER_LENGTH + 1)]}},
        token=token,
    )
    assert roles.errors[0]["message"].startswith("organizationRoles: ")


async def test_huge_filters_in_parallel_are_refused_fast_and_leave_the_server_healthy(
    live: LiveServer, http: aiohttp.ClientSession, factory: Factory
) -> None:
    """Once a 400 KB filter reached the database as a LIKE pattern, and 24 of them at once
    held every pooled connection."""
    staff = await factory.user("staff", is_staff=True)
    token = await factory.token(staff)
    huge = {"filter": {"fullName": "%_" * 200_000}}
    started = time.monotonic()
    answers = await asyncio.gather(
        *(post_graphql(http, live, FILTERED, huge, token=token) for _ in range(24))
    )
    assert time.monotonic() - started < 10
    for answer in answers:
        assert answer.errors[0]["message"].startswith("fullName: Ensure this field")
    async with http.get(f"{live.base_url}/health") as response:
        assert response.status == 200


async def test_cursors_are_bounded(
    live: LiveServer, http: aiohttp.ClientSession, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True)
    token = await factory.token(staff)
    query = "query Page($after: String, $before: String) { users(after: $after, before: $before) { edges { cursor } } }"  # noqa: E501
    for name in ("after", "before"):
        answer = await post_graphql(
            http, live, query, {name: "A" * (MAX_CURSOR_LENGTH + 1)}, token=token
        )
        [error] = answer.errors
        assert error["message"] == f"{name}: a cursor has at most {MAX_CURSOR_LENGTH:,} characters."
        assert error["extensions"] == {"code": "BAD_REQUEST"}


async def test_order_by_lists_are_bounded(
    live: LiveServer, http: aiohttp.ClientSession, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True)
    token = await factory.token(staff)
    query = "query Page($o: [UserOrder!]) { users(orderBy: $o) { totalCount } }"
    every_key = [{"field": field, "direction": "DESC"} for field in UserOrderField.__members__]
    answer = await post_graphql(http, live, query, {"o": every_key}, token=token)
    assert not answer.errors and answer.body["data"]["users"]["totalCount"] == 1
    answer = await post_graphql(http, live, query, {"o": every_key * 500}, token=token)
    [error] = answer.errors
    assert error["message"] == f"orderBy: at most {MAX_ORDER_KEYS} ordering keys."
    assert error["extensions"] == {"code": "BAD_REQUEST"}


UPDATE = """mutation Update($uuid: UUID!, $input: UpdateUserInput!) {
  updateUser(uuid: $uuid, input: $input) { user { firstName } userErrors { field message code } }
}"""


async def test_mutation_inputs_longer_than_their_column_are_user_errors_and_change_nothing(
    live: LiveServer, http: aiohttp.ClientSession, factory: Factory, session: AsyncSession
) -> None:
    staff = await factory.user("staff", is_staff=True, last_name="Kept")
    token = await factory.token(staff)
    staff_id, staff_uuid = staff.id, staff.uuid.hex
    for field, column in (
        ("firstName", "first_name"),
        ("organization", "organization"),
        ("jobTitle", "job_title"),
        ("nativeName", "native_name"),
    ):
        limit = column_length(column)
        answer = await post_graphql(
            http,
            live,
            UPDATE,
            {"uuid": staff_uuid, "input": {field: "y" * (limit + 1), "lastName": "Changed"}},
            token=token,
        )
        payload = answer.body["data"]["updateUser"]
        assert payload["user"] is None
        assert {
            "field": field,
            "message": max_length_message(limit),
            "code": "VALIDATION_FAILED",
        } in (payload["userErrors"])
    session.expire_all()
    assert await session.scalar(select(User.last_name).where(User.id == staff_id)) == "Kept"


async def test_long_credentials_codes_and_addresses_are_user_errors(
    live: LiveServer, http: aiohttp.ClientSession, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True)
    token = await factory.token(staff)
    long = "z" * 100_000
    errors = "{ userErrors { field message } }"
    mutations = {
        "login": (f'mutation($v: String) {{ login(username: $v, password: "x") {errors} }}', None),
        "changeEmail": (
            f"mutation($u: UUID!, $v: String) {{ changeEmail(uuid: $u, email: $v) {errors} }}",
            staff.uuid.hex,
        ),
        "confirmEmail": (f"mutation($v: String) {{ confirmEmail(code: $v) {errors} }}", None),
        "changePassword": (
            f"mutation($u: UUID!, $v: String) {{ changePassword(uuid: $u, newPassword: $v) "
            f"{errors} }}",
            staff.uuid.hex,
        ),
    }
    for name, (document, uuid) in mutations.items():
        variables = {"v": long} if uuid is None else {"v": long, "u": uuid}
        answer = await post_graphql(http, live, document, variables, token=token)
        assert "errors" not in answer.body, (name, answer.body)
        assert answer.body["data"][name]["userErrors"], name
        assert long not in str(answer.body)
    login = await post_graphql(
        http, live, mutations["login"][0], {"v": "u" * (MAX_CREDENTIAL_LENGTH + 1)}
    )
    assert login.body["data"]["login"]["userErrors"] == [
        {"field": "username", "message": max_length_message(MAX_CREDENTIAL_LENGTH)}
    ]
