"""Flows through GraphQL: the email change with the code read from the mail outbox, and the
login lockout."""

from __future__ import annotations

import re
from typing import Any

from gql_users.mail import read_outbox
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.graphql.conftest import GraphQLClient

CHANGE = """mutation($uuid: UUID!, $email: String) { changeEmail(uuid: $uuid, email: $email) {
  user { email requestedEmail } userErrors { field message code } } }"""
CANCEL = """mutation($uuid: UUID!) { cancelChangeEmail(uuid: $uuid) {
  cancelled user { requestedEmail } } }"""
CONFIRM = """mutation($code: String) { confirmEmail(code: $code) {
  confirmed userErrors { field message code } } }"""
CODE = re.compile(r"user_email_change/([0-9a-f]{32})/")


def code_in_mail(settings: Settings, to: str) -> str:
    messages = [message for message in read_outbox(settings.mail_dir) if message["To"] == to]
    assert len(messages) == 1, [m["To"] for m in read_outbox(settings.mail_dir)]
    body = messages[0].get_body(preferencelist=("plain",))
    assert body is not None
    match = CODE.search(body.get_content())
    assert match, "the mail carries the confirmation link"
    return match.group(1)


async def test_email_change_through_graphql(
    gql: GraphQLClient, factory: Factory, settings: Settings
) -> None:
    alice = await factory.user("alice", email="alice@example.com")
    headers = await factory.auth(alice)

    requested = await gql.ok(
        CHANGE, {"uuid": alice.uuid.hex, "email": "alice@new.example"}, headers=headers
    )
    assert requested["changeEmail"] == {
        "user": {"email": "alice@example.com", "requestedEmail": "alice@new.example"},
        "userErrors": [],
    }
    code = code_in_mail(settings, "alice@new.example")

    confirmed = await gql.ok(CONFIRM, {"code": code})  # no login needed: the code is the key
    assert confirmed["confirmEmail"] == {"confirmed": True, "userErrors": []}
    me = await gql.ok("{ me { email requestedEmail } }", headers=headers)
    assert me["me"] == {"email": "alice@new.example", "requestedEmail": None}

    again = await gql(CONFIRM, {"code": code})
    assert again.codes == ["NOT_FOUND"]


async def test_email_change_problems(
    gql: GraphQLClient, factory: Factory, settings: Settings
) -> None:
    alice = await factory.user("alice")
    bob = await factory.user("bob")
    headers = await factory.auth(alice)

    invalid = await gql.ok(CHANGE, {"uuid": alice.uuid.hex, "email": "nope"}, headers=headers)
    assert invalid["changeEmail"]["userErrors"] == [
        {"field": "email", "message": "Enter a valid email address.", "code": "VALIDATION_FAILED"}
    ]
    missing = await gql.ok(CONFIRM, {"code": None})
    assert missing["confirmEmail"]["userErrors"] == [
        {
            "field": None,
            "message": "The confirmation code is required.",
            "code": "VALIDATION_FAILED",
        }
    ]
    other = await gql(CHANGE, {"uuid": bob.uuid.hex, "email": "x@example.com"}, headers=headers)
    assert other.codes == ["NOT_FOUND"]  # bob is not visible to alice
    anonymous = await gql(CHANGE, {"uuid": alice.uuid.hex, "email": "x@example.com"})
    assert anonymous.codes == ["UNAUTHENTICATED"]
    assert read_outbox(settings.mail_dir) == []


async def test_cancel_email_change(gql: GraphQLClient, factory: Factory) -> None:
    alice = await factory.user("alice")
    headers = await factory.auth(alice)
    variables: dict[str, Any] = {"uuid": alice.uuid.hex}
    nothing = await gql.ok(CANCEL, variables, headers=headers)
    assert nothing["cancelChangeEmail"] == {"cancelled": False, "user": {"requestedEmail": None}}
    await gql.ok(CHANGE, {**variables, "email": "a@new.example"}, headers=headers)
    cancelled = await gql.ok(CANCEL, variables, headers=headers)
    assert cancelled["cancelChangeEmail"] == {"cancelled": True, "user": {"requestedEmail": None}}


async def test_staff_change_another_users_email(
    gql: GraphQLClient, factory: Factory, settings: Settings
) -> None:
    staff = await factory.user("staff", is_staff=True)
    bob = await factory.user("bob")
    data = await gql.ok(
        CHANGE,
        {"uuid": bob.uuid.hex, "email": "bob@new.example"},
        headers=await factory.auth(staff),
    )
    assert data["changeEmail"]["user"]["requestedEmail"] == "bob@new.example"
    assert code_in_mail(settings, "bob@new.example")


LOGIN = """mutation($username: String, $password: String) {
  login(username: $username, password: $password) { token userErrors { message } } }"""


async def test_login_lockout_through_graphql(
    gql: GraphQLClient, factory: Factory, settings: Settings
) -> None:
    await factory.user("alice", password="correct horse")
    ok = await gql.ok(LOGIN, {"username": "alice", "password": "correct horse"})
    assert ok["login"]["token"]
    for _ in range(settings.lockout_failures):
        wrong = await gql(LOGIN, {"username": "alice", "password": "wrong"})
        assert wrong.errors[0]["message"] == "Invalid username/password."
        assert wrong.codes == ["UNAUTHENTICATED"]
    locked = await gql(LOGIN, {"username": "alice", "password": "correct horse"})
    assert locked.codes == ["UNAUTHENTICATED"]
    assert locked.errors[0]["message"] == "Username is locked out. Try in 10 minutes."
    assert locked.data == {"login": None}
