"""Every mutation: its result, its denials (as GraphQL errors with codes) and its input
problems (as ``userErrors``), in the REST shim's order of checks."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.db.models import AuthToken, User
from tests.conftest import Factory
from tests.graphql.conftest import GraphQLClient


async def reloaded(session: AsyncSession, user: User) -> User | None:
    return await session.scalar(
        select(User).where(User.id == user.id).execution_options(populate_existing=True)
    )


@pytest.fixture
async def people(factory: Factory) -> dict[str, Any]:
    """staff; alice owns a customer where bob is a member; carol is unrelated."""
    staff = await factory.user("staff", is_staff=True)
    alice = await factory.user("alice", first_name="Alice")
    bob = await factory.user("bob")
    carol = await factory.user("carol")
    customer = await factory.customer("Acme")
    await factory.grant(alice, "CUSTOMER.OWNER", customer)
    await factory.grant(bob, "CUSTOMER.MANAGER", customer)
    return {"staff": staff, "alice": alice, "bob": bob, "carol": carol}


async def auth(factory: Factory, people: dict[str, Any], name: str) -> dict[str, str]:
    return await factory.auth(people[name])


# --- createUser --------------------------------------------------------------------------------

CREATE = """mutation($input: CreateUserInput!) { createUser(input: $input) {
  user { username email tokenLifetime isStaff slug }
  userErrors { field message code } } }"""


async def test_create_user(gql: GraphQLClient, factory: Factory, people: dict[str, Any]) -> None:
    data = await gql.ok(
        CREATE,
        {"input": {"username": "dave", "email": "dave@example.com", "isStaff": True}},
        headers=await auth(factory, people, "staff"),
    )
    payload = data["createUser"]
    assert payload["userErrors"] == []
    assert payload["user"]["username"] == "dave"
    assert payload["user"]["isStaff"] is True
    assert payload["user"]["tokenLifetime"] is None  # not the caller's own user
    assert payload["user"]["slug"].startswith("dave")


@pytest.mark.parametrize(("caller", "code"), [(None, "UNAUTHENTICATED"), ("alice", "FORBIDDEN")])
async def test_create_user_denied(
    gql: GraphQLClient, factory: Factory, people: dict[str, Any], caller: str | None, code: str
) -> None:
    headers = await auth(factory, people, caller) if caller else {}
    response = await gql(CREATE, {"input": {}}, headers=headers)
    assert response.codes == [code]
    assert response.data is None or response.data.get("createUser") is None


@pytest.mark.parametrize(
    ("input_", "errors"),
    [
        (
            {},
            [
                {"field": "username", "message": "This field is required."},
                {"field": "email", "message": "This field is required."},
            ],
        ),
        (
            {"username": "alice", "email": "new@example.com"},
            [{"field": "username", "message": "user with this username already exists."}],
        ),
        (
            {"username": "Bad Name", "email": "nope", "tokenLifetime": 10},
            [
                {"field": "username", "message": "Enter a valid username."},
                {"field": "email", "message": "Enter a valid email address."},
                {
                    "field": "tokenLifetime",
                    "message": "Ensure this value is greater than or equal to 60.",
                },
            ],
        ),
    ],
)
async def test_create_user_input_problems(
    gql: GraphQLClient,
    factory: Factory,
    people: dict[str, Any],
    input_: dict[str, Any],
    errors: list[dict[str, str]],
) -> None:
    data = await gql.ok(CREATE, {"input": input_}, headers=await auth(factory, people, "staff"))
    payload = data["createUser"]
    assert payload["user"] is None
    assert payload["userErrors"] == [{**error, "code": "VALIDATION_FAILED"} for error in errors]


# --- updateUser --------------------------------------------------------------------------------

UPDATE = """mutation($uuid: UUID!, $input: UpdateUserInput!) {
  updateUser(uuid: $uuid, input: $input) {
  user { username firstName lastName jobTitle isStaff tokenLifetime }
  userErrors { field message code } } }"""


async def test_update_self_is_a_patch_and_ignores_unwritable_fields(
    gql: GraphQLClient, factory: Factory, session: AsyncSession, people: dict[str, Any]
) -> None:
    alice = people["alice"]
    data = await gql.ok(
        UPDATE,
        {
            "uuid": alice.uuid.hex,
            "input": {"jobTitle": "CTO", "isStaff": True, "tokenLifetime": None},
        },
        headers=await auth(factory, people, "alice"),
    )
    payload = data["updateUser"]
    assert payload["userErrors"] == []
    assert payload["user"]["jobTitle"] == "CTO"
    assert payload["user"]["firstName"] == "Alice"  # untouched: not in the input
    assert payload["user"]["tokenLifetime"] is None
    row = await reloaded(session, alice)
    assert row is not None
    assert (row.job_title, row.first_name, row.is_staff, row.token_lifetime) == (
        "CTO",
        "Alice",
        False,
        None,
    )


async def test_update_input_problems(
    gql: GraphQLClient, factory: Factory, people: dict[str, Any]
) -> None:
    response = await gql.ok(
        UPDATE,
        {"uuid": people["alice"].uuid.hex, "input": {"firstName": None, "tokenLifetime": 5}},
        headers=await auth(factory, people, "alice"),
    )
    assert response["updateUser"] == {
        "user": None,
        "userErrors": [
            {
                "field": "tokenLifetime",
                "message": "Ensure this value is greater than or equal to 60.",
                "code": "VALIDATION_FAILED",
            },
            {
                "field": "firstName",
                "message": "This field may not be null.",
                "code": "VALIDATION_FAILED",
            },
        ],
    }


async def test_update_needs_the_policy_agreement(
    gql: GraphQLClient, factory: Factory, people: dict[str, Any]
) -> None:
    newcomer = await factory.user("newcomer", agreement_date=None)
    headers = await factory.auth(newcomer)
    refused = await gql.ok(
        UPDATE, {"uuid": newcomer.uuid.hex, "input": {"jobTitle": "x"}}, headers=headers
    )
    assert refused["updateUser"]["userErrors"] == [
        {
            "field": "agreeWithPolicy",
            "message": "User must agree with the policy.",
            "code": "VALIDATION_FAILED",
        }
    ]
    agreed = await gql.ok(
        UPDATE,
        {"uuid": newcomer.uuid.hex, "input": {"jobTitle": "x", "agreeWithPolicy": True}},
        headers=headers,
    )
    assert agreed["updateUser"]["user"]["jobTitle"] == "x"


@pytest.mark.parametrize(
    ("caller", "target", "code"),
    [
        (None, "alice", "UNAUTHENTICATED"),
        ("alice", "bob", "FORBIDDEN"),  # visible, but neither self nor staff
        ("alice", "carol", "NOT_FOUND"),  # not visible: the lookup fails first
    ],
)
async def test_update_denied(
    gql: GraphQLClient,
    factory: Factory,
    people: dict[str, Any],
    caller: str | None,
    target: str,
    code: str,
) -> None:
    headers = await auth(factory, people, caller) if caller else {}
    response = await gql(
        UPDATE, {"uuid": people[target].uuid.hex, "input": {"jobTitle": "x"}}, headers=headers
    )
    assert response.codes == [code]


async def test_staff_update_other_users(
    gql: GraphQLClient, factory: Factory, people: dict[str, Any]
) -> None:
    data = await gql.ok(
        UPDATE,
        {"uuid": people["carol"].uuid.hex, "input": {"isStaff": True, "lastName": "C"}},
        headers=await auth(factory, people, "staff"),
    )
    assert data["updateUser"]["user"]["isStaff"] is True
    assert data["updateUser"]["user"]["lastName"] == "C"


# --- deleteUser --------------------------------------------------------------------------------

DELETE = "mutation($uuid: UUID!) { deleteUser(uuid: $uuid) { deletedUuid userErrors { message } } }"


async def test_delete_user(
    gql: GraphQLClient, factory: Factory, session: AsyncSession, people: dict[str, Any]
) -> None:
    carol = people["carol"]
    data = await gql.ok(
        DELETE, {"uuid": carol.uuid.hex}, headers=await auth(factory, people, "staff")
    )
    assert data["deleteUser"] == {"deletedUuid": carol.uuid.hex, "userErrors": []}
    assert await reloaded(session, carol) is None


@pytest.mark.parametrize(
    ("caller", "uuid", "code"),
    [
        (None, "carol", "UNAUTHENTICATED"),
        ("alice", "bob", "FORBIDDEN"),
        ("alice", "00000000000000000000000000000000", "FORBIDDEN"),  # staff check first
        ("staff", "00000000000000000000000000000000", "NOT_FOUND"),
    ],
)
async def test_delete_denied(
    gql: GraphQLClient,
    factory: Factory,
    people: dict[str, Any],
    caller: str | None,
    uuid: str,
    code: str,
) -> None:
    headers = await auth(factory, people, caller) if caller else {}
    target = people[uuid].uuid.hex if uuid in people else uuid
    response = await gql(DELETE, {"uuid": target}, headers=headers)
    assert response.codes == [code]


# --- refreshToken ------------------------------------------------------------------------------

REFRESH = """mutation($uuid: UUID!) { refreshToken(uuid: $uuid) {
  token { token created userUsername userIsActive userTokenLifetime } userErrors { message } } }"""


async def test_refresh_token(gql: GraphQLClient, factory: Factory, people: dict[str, Any]) -> None:
    bob = people["bob"]
    old = await factory.token(bob)
    data = await gql.ok(
        REFRESH, {"uuid": bob.uuid.hex}, headers=await auth(factory, people, "staff")
    )
    token = data["refreshToken"]["token"]
    assert token["userUsername"] == "bob"
    assert token["token"] != old and len(token["token"]) == 40
    assert token["created"].endswith("Z")
    assert await factory.token(bob) == token["token"]


@pytest.mark.parametrize(
    ("caller", "target", "code"),
    [
        ("alice", "alice", "FORBIDDEN"),
        ("alice", "bob", "FORBIDDEN"),
        ("alice", "carol", "NOT_FOUND"),
    ],
)
async def test_refresh_token_denied(
    gql: GraphQLClient,
    factory: Factory,
    people: dict[str, Any],
    caller: str,
    target: str,
    code: str,
) -> None:
    response = await gql(
        REFRESH, {"uuid": people[target].uuid.hex}, headers=await auth(factory, people, caller)
    )
    assert response.codes == [code]


# --- changePassword and login ------------------------------------------------------------------

CHANGE_PASSWORD = """mutation($uuid: UUID!, $password: String) {
  changePassword(uuid: $uuid, newPassword: $password) {
    user { username } userErrors { field message code } } }"""
LOGIN = """mutation($username: String, $password: String) {
  login(username: $username, password: $password) { token userErrors { field message code } } }"""


async def test_change_password_then_login(
    gql: GraphQLClient, factory: Factory, people: dict[str, Any]
) -> None:
    bob = people["bob"]
    headers = await auth(factory, people, "staff")
    weak = await gql.ok(CHANGE_PASSWORD, {"uuid": bob.uuid.hex, "password": "123"}, headers=headers)
    assert weak["changePassword"]["user"] is None
    assert [e["field"] for e in weak["changePassword"]["userErrors"]] == [
        "newPassword",
        "newPassword",
    ]
    assert weak["changePassword"]["userErrors"][0]["message"].startswith(
        "This password is too short"
    )
    strong = await gql.ok(
        CHANGE_PASSWORD, {"uuid": bob.uuid.hex, "password": "correct horse"}, headers=headers
    )
    assert strong["changePassword"] == {"user": {"username": "bob"}, "userErrors": []}
    login = await gql.ok(LOGIN, {"username": "bob", "password": "correct horse"})
    assert login["login"]["token"] == await factory.token(bob)


@pytest.mark.parametrize(
    ("caller", "target", "code"),
    [
        (None, "bob", "UNAUTHENTICATED"),
        ("bob", "bob", "FORBIDDEN"),
        ("alice", "carol", "NOT_FOUND"),
    ],
)
async def test_change_password_denied(
    gql: GraphQLClient,
    factory: Factory,
    people: dict[str, Any],
    caller: str | None,
    target: str,
    code: str,
) -> None:
    headers = await auth(factory, people, caller) if caller else {}
    response = await gql(
        CHANGE_PASSWORD,
        {"uuid": people[target].uuid.hex, "password": "correct horse"},
        headers=headers,
    )
    assert response.codes == [code]


async def test_login_input_problems_and_wrong_credentials(
    gql: GraphQLClient, factory: Factory, people: dict[str, Any]
) -> None:
    blank = await gql.ok(LOGIN, {"username": " ", "password": None})
    assert blank["login"] == {
        "token": None,
        "userErrors": [
            {
                "field": "username",
                "message": "This field may not be blank.",
                "code": "VALIDATION_FAILED",
            },
            {
                "field": "password",
                "message": "This field is required.",
                "code": "VALIDATION_FAILED",
            },
        ],
    }
    wrong = await gql(LOGIN, {"username": "bob", "password": "wrong password"})
    assert wrong.codes == ["UNAUTHENTICATED"]
    assert wrong.errors[0]["message"] == "Invalid username/password."


# --- logout ------------------------------------------------------------------------------------

LOGOUT = "mutation { logout { ok } }"


async def test_logout(
    gql: GraphQLClient,
    client: TestClient,
    factory: Factory,
    session: AsyncSession,
    people: dict[str, Any],
) -> None:
    headers = await auth(factory, people, "bob")
    assert (await gql.ok(LOGOUT, headers=headers))["logout"] == {"ok": True}
    assert (
        await session.scalar(select(AuthToken).where(AuthToken.user_id == people["bob"].id)) is None
    )
    again = await client.post("/graphql", json={"query": "{ me { username } }"}, headers=headers)
    assert again.status == 401  # the auth middleware refuses the dead token


async def test_logout_needs_authentication(gql: GraphQLClient) -> None:
    assert (await gql(LOGOUT)).codes == ["UNAUTHENTICATED"]


# --- pullRemoteUser ----------------------------------------------------------------------------

PULL = """mutation($uuid: UUID!) {
  pullRemoteUser(uuid: $uuid) { synced userErrors { field message code } } }"""


async def test_pull_remote_user_of_a_local_user_is_a_user_error(
    gql: GraphQLClient, factory: Factory, people: dict[str, Any]
) -> None:
    data = await gql.ok(
        PULL, {"uuid": people["bob"].uuid.hex}, headers=await auth(factory, people, "staff")
    )
    assert data["pullRemoteUser"] == {
        "synced": False,
        "userErrors": [
            {
                "field": None,
                "message": "User is not managed by eduTEAMS.",
                "code": "VALIDATION_FAILED",
            }
        ],
    }


@pytest.mark.parametrize(
    ("caller", "target", "code"),
    [
        (None, "bob", "UNAUTHENTICATED"),
        ("alice", "bob", "FORBIDDEN"),
        ("alice", "carol", "NOT_FOUND"),
    ],
)
async def test_pull_remote_user_denied(
    gql: GraphQLClient,
    factory: Factory,
    people: dict[str, Any],
    caller: str | None,
    target: str,
    code: str,
) -> None:
    headers = await auth(factory, people, caller) if caller else {}
    response = await gql(PULL, {"uuid": people[target].uuid.hex}, headers=headers)
    assert response.codes == [code]


# --- several mutations in one document ---------------------------------------------------------


async def test_mutations_of_one_document_see_each_others_writes(
    gql: GraphQLClient, factory: Factory, people: dict[str, Any]
) -> None:
    """The loaders' caches are emptied after each write, and a failed write (whose session is
    rolled back) neither loses track of the caller nor nulls the other mutations' results."""
    alice = people["alice"]
    response = await gql(
        """mutation($uuid: UUID!) {
          first: changeEmail(uuid: $uuid, email: "one@example.com") { user { requestedEmail } }
          bad: confirmEmail(code: "00000000000000000000000000000000") { confirmed }
          second: changeEmail(uuid: $uuid, email: "two@example.com") { user { requestedEmail } }
        }""",
        {"uuid": alice.uuid.hex},
        headers=await auth(factory, people, "alice"),
    )
    assert response.data == {
        "first": {"user": {"requestedEmail": "one@example.com"}},
        "bad": None,
        "second": {"user": {"requestedEmail": "two@example.com"}},
    }
    assert response.codes == ["NOT_FOUND"]
    assert response.errors[0]["path"] == ["bad"]
