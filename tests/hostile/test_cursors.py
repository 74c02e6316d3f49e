"""Cursors of the GraphQL ``users`` connection against a live server: they carry no value the
caller cannot see, they cannot be altered or forged, and processes on one database share the
key that signs them (docs/hardening.md#signed-cursors,
docs/hardening.md#cursors-and-hidden-fields)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from pydantic import ValidationError

from gql_users.db.models import User
from gql_users.settings import MIN_CURSOR_SECRET_LENGTH, Settings
from resolvers.users.cursors import MAX_CURSOR_LENGTH
from tests.conftest import Factory
from tests.hostile.conftest import StartServer
from tests.live_server import LiveServer

ORDER_FIELDS = """
{ __type(name: "UserOrderField") { enumValues { name } } }
"""

PAGE = """
query Page($orderBy: [UserOrder!], $first: Int, $after: String, $filter: UserFilterInput) {
  users(orderBy: $orderBy, first: $first, after: $after, filter: $filter) {
    edges {
      cursor
      node { uuid username description isActive isStaff isSupport hasActiveSession token }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

KEY_A = "a" * 40
KEY_B = "b" * 40


@dataclass
class Reply:
    status: int
    body: dict[str, Any]

    @property
    def codes(self) -> list[str | None]:
        return [(e.get("extensions") or {}).get("code") for e in self.body.get("errors") or []]

    @property
    def messages(self) -> list[str]:
        return [e["message"] for e in self.body.get("errors") or []]

    @property
    def users(self) -> dict[str, Any]:
        assert not self.body.get("errors"), self.body
        return self.body["data"]["users"]  # type: ignore[no-any-return]


async def post(
    http: aiohttp.ClientSession,
    server: LiveServer,
    token: str,
    query: str,
    variables: dict[str, Any] | None = None,
) -> Reply:
    async with http.post(
        f"{server.base_url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Token {token}"},
    ) as response:
        return Reply(response.status, await response.json(content_type=None))


def payload_of(cursor: str) -> str:
    """The JSON text a cursor carries, as anyone holding it can read it."""
    text, _, _mac = cursor.partition(".")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def signed(payload: bytes, key: str) -> str:
    """A cursor for ``payload`` signed with ``key``, built the documented way."""
    text = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    mac = hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()
    return f"{text}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


@dataclass
class Colleagues:
    owner: User
    token: str
    staff_token: str
    secrets: dict[str, str]
    """username -> a description that only staff and support may read."""


async def colleagues(factory: Factory) -> Colleagues:
    """A customer owner and the users they can list (themselves, a customer colleague and
    members of the customer's projects), each with a distinctive hidden description."""
    customer = await factory.customer("Acme")
    project = await factory.project(customer, "Rockets")
    owner = await factory.user("owner", description="hidden-owner-note")
    await factory.grant(owner, "CUSTOMER.OWNER", customer)
    secrets = {"owner": "hidden-owner-note"}
    for number in range(5):
        name = f"member{number}"
        note = f"hidden-note-{number}-{'xyz' * number}"
        member = await factory.user(name, description=note, first_name=f"M{number % 2}")
        await factory.grant(
            member,
            "PROJECT.MEMBER" if number % 2 else "CUSTOMER.MANAGER",
            project if number % 2 else customer,
        )
        secrets[name] = note
    await factory.user("stranger", description="hidden-stranger-note")
    staff = await factory.user("boss", is_staff=True)
    return Colleagues(owner, await factory.token(owner), await factory.token(staff), secrets)


async def test_no_cursor_carries_a_value_hidden_from_its_caller(
    factory: Factory, live: LiveServer, http: aiohttp.ClientSession
) -> None:
    world = await colleagues(factory)
    first = await post(http, live, world.token, PAGE, {"first": 50})
    nodes = [edge["node"] for edge in first.users["edges"]]
    assert {node["username"] for node in nodes} == set(world.secrets)
    # What shaping hides from the owner on some user of the list, observed, not assumed.
    hidden = {name for node in nodes for name, value in node.items() if value is None}
    assert {"description", "isActive", "isStaff", "isSupport"} <= hidden

    enum = await post(http, live, world.token, ORDER_FIELDS)
    fields = [value["name"] for value in enum.body["data"]["__type"]["enumValues"]]
    refused, walked = [], []
    for field in fields:
        for direction in ("ASC", "DESC"):
            order = [{"field": field, "direction": direction}]
            reply = await post(http, live, world.token, PAGE, {"orderBy": order, "first": 2})
            if reply.body.get("errors"):
                assert reply.codes == ["BAD_REQUEST"], reply.body
                assert field.lower() in reply.messages[0], reply.messages
                refused.append(field)
                continue
            walked.append(field)
            after, seen = None, 0
            while True:
                page = (
                    await post(
                        http,
                        live,
                        world.token,
                        PAGE,
                        {"orderBy": order, "first": 2, "after": after},
                    )
                ).users
                for edge in page["edges"]:
                    seen += 1
                    text = payload_of(edge["cursor"])
                    for note in world.secrets.values():
                        assert note not in text, (field, text)
                    values = json.loads(text)["p"]
                    assert not any(isinstance(value, bool) for value in values), (field, text)
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
            assert seen == len(world.secrets)
    # Every ordering on a field hidden from the owner is refused, and only those.
    hidden_orderings = {field for field in fields if _camel(field) in hidden}
    assert set(refused) == hidden_orderings
    assert set(walked) == set(fields) - hidden_orderings

    # Staff may order by the description, and their cursors do carry it.
    staff = await post(
        http,
        live,
        world.staff_token,
        PAGE,
        {"orderBy": [{"field": "DESCRIPTION", "direction": "DESC"}], "first": 1},
    )
    assert "hidden-stranger-note" in payload_of(staff.users["edges"][0]["cursor"])


def _camel(enum_name: str) -> str:
    head, *rest = enum_name.lower().split("_")
    return head + "".join(word.title() for word in rest)


@pytest.mark.parametrize(
    ("graphql_filter", "named"),
    [
        ({"description": "hidden-note-1-xyz"}, "description"),
        ({"isActive": True}, "isActive"),
        ({"isStaff": False}, "isStaff"),
        ({"isSupport": False}, "isSupport"),
        ({"modified": "2000-01-01T00:00:00Z"}, "modified"),
    ],
)
async def test_filtering_by_a_hidden_field_is_refused(
    factory: Factory,
    live: LiveServer,
    http: aiohttp.ClientSession,
    graphql_filter: dict[str, Any],
    named: str,
) -> None:
    world = await colleagues(factory)
    reply = await post(http, live, world.token, PAGE, {"filter": graphql_filter, "first": 5})
    assert reply.codes == ["BAD_REQUEST"]
    assert reply.messages[0].startswith(f"{named}: ")
    assert reply.body["data"] is None
    # A visible field still filters, and staff may filter by the hidden one.
    visible = await post(http, live, world.token, PAGE, {"filter": {"username": "member1"}})
    assert [edge["node"]["username"] for edge in visible.users["edges"]] == ["member1"]
    staff = await post(http, live, world.staff_token, PAGE, {"filter": graphql_filter})
    assert not staff.body.get("errors"), staff.body


def tampered(cursor: str) -> list[str]:
    """Variants of ``cursor`` with one character of the payload changed, MAC kept."""
    text, _, mac = cursor.partition(".")
    variants = []
    for index in (0, len(text) // 2, len(text) - 1):
        replacement = "A" if text[index] != "A" else "B"
        variants.append(f"{text[:index]}{replacement}{text[index + 1 :]}.{mac}")
    return variants


def refused_as_a_cursor(message: str) -> bool:
    """The refusal of a cursor that is not ours: unsigned, or longer than any of ours."""
    too_long = f"after: a cursor has at most {MAX_CURSOR_LENGTH:,} characters."
    return message.startswith("Invalid cursor: ") or message == too_long


async def test_an_altered_or_foreign_cursor_is_refused(
    factory: Factory, start_server: StartServer, http: aiohttp.ClientSession
) -> None:
    world = await colleagues(factory)
    stored_key, key_a = (
        start_server("stored"),
        start_server("a", {"GQL_USERS_CURSOR_SECRET": KEY_A}),
    )
    page = (await post(http, key_a, world.token, PAGE, {"first": 2})).users
    cursor = page["pageInfo"]["endCursor"]
    following = await post(http, key_a, world.token, PAGE, {"first": 2, "after": cursor})
    assert following.users["edges"]  # the genuine cursor works

    other_key = signed(payload_of(cursor).encode(), KEY_B)
    forged = [
        *tampered(cursor),
        cursor.partition(".")[0],  # no MAC at all
        cursor[:-1] + ("A" if cursor[-1] != "A" else "B"),  # MAC changed
        other_key,  # the same position signed with another server's key
        signed(b"[" * 20_000, "c" * 40),  # deeply nested JSON under a key we do not hold
        "A" * 100_000,  # larger than any cursor the service makes
        "é" * 10,
    ]
    for bad in forged:
        reply = await post(http, key_a, world.token, PAGE, {"first": 2, "after": bad})
        assert reply.status == 200 and reply.codes == ["BAD_REQUEST"], (bad[:40], reply.body)
        assert refused_as_a_cursor(reply.messages[0]), reply.messages

    # The same cursor is not accepted by a server whose key is the one generated and stored.
    elsewhere = await post(http, stored_key, world.token, PAGE, {"first": 2, "after": cursor})
    assert elsewhere.codes == ["BAD_REQUEST"]
    assert elsewhere.messages[0].startswith("Invalid cursor: ")


async def test_a_signed_but_malformed_cursor_is_still_a_bad_request(
    factory: Factory, start_server: StartServer, http: aiohttp.ClientSession
) -> None:
    """Were the key to leak, the parser behind the MAC still answers 4xx, never a crash."""
    world = await colleagues(factory)
    server = start_server("known", {"GQL_USERS_CURSOR_SECRET": KEY_A})
    for payload in (
        b"[" * 20_000,
        b'{"o":' * 10_000,
        b'{"o":"username,id","p":' + b"[" * 20_000,
        b'{"o":"username,id","p":["owner",' + b"9" * 5_000 + b"]}",
        b"\xff\xfe",
        b'{"o":"username,id","p":[1,2,3]}',
    ):
        reply = await post(
            http, server, world.token, PAGE, {"first": 1, "after": signed(payload, KEY_A)}
        )
        assert reply.status == 200 and reply.codes == ["BAD_REQUEST"], (payload[:30], reply.body)
        assert refused_as_a_cursor(reply.messages[0]), reply.messages


async def test_processes_on_one_database_share_the_generated_key(
    factory: Factory, start_server: StartServer, http: aiohttp.ClientSession
) -> None:
    world = await colleagues(factory)
    one, two = start_server("one"), start_server("two")
    # Both ask for their first cursor at once: each generates a key, one insert wins.
    replies = await asyncio.gather(
        *(post(http, server, world.token, PAGE, {"first": 2}) for server in (one, two, one, two))
    )
    cursors = [reply.users["pageInfo"]["endCursor"] for reply in replies]
    assert len(set(cursors)) == 1  # same position, same key: the very same cursor
    for reader in (one, two):
        following = await post(http, reader, world.token, PAGE, {"first": 2, "after": cursors[0]})
        assert [edge["node"]["username"] for edge in following.users["edges"]] == [
            "member2",
            "member3",
        ]


def test_a_short_configured_key_is_refused_without_echoing_it() -> None:
    short = "tiny-key-123"
    with pytest.raises(ValidationError) as raised:
        Settings(cursor_secret=short)
    (error,) = raised.value.errors()
    assert error["loc"] == ("cursor_secret",)
    assert str(MIN_CURSOR_SECRET_LENGTH) in error["msg"] and short not in error["msg"]
    assert Settings(cursor_secret="").cursor_secret == ""  # empty: generated and stored
