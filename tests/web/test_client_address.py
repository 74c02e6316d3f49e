"""The client address (docs/hardening.md#trusted-proxies): the socket peer, or, from a trusted
proxy, the right-most ``X-Forwarded-For`` entry that is not itself trusted. It is what ``me``
shows as ``ip_address`` (REST and GraphQL) and what the login lockout of both APIs counts by.

The test client reaches the server over a real socket from 127.0.0.1, so "the proxy" is the
test itself: trusting 127.0.0.0/8 makes its ``X-Forwarded-For`` count.
"""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import ValidationError

from gql_users.http.addresses import MAX_FORWARDED_FOR_LENGTH
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.live_server import LiveServer
from tests.rest.scenario_helpers import client_with, json_of

ME = "/api/users/me/"
LOGIN = "/api-auth/password/"
GRAPHQL_ME = "{ me { username ipAddress } }"
PEER = "127.0.0.1"
CLIENT = "203.0.113.7"
PROXIES = [ip_network("127.0.0.0/8"), ip_network("10.0.0.0/8"), ip_network("fd00::/8")]


@pytest.fixture
async def behind_proxy(settings: Settings, aiohttp_client: Any) -> Any:
    """A server that trusts the test (127.0.0.0/8) and two proxy networks behind it."""
    return await client_with(aiohttp_client, settings, trusted_proxies=PROXIES)


async def ip_of(client: Any, headers: dict[str, str], forwarded: str | list[str] | None) -> Any:
    """``ip_address`` of ``me``, sending ``forwarded`` as one or several X-Forwarded-For."""
    sent: list[tuple[str, str]] = list(headers.items())
    values = [forwarded] if isinstance(forwarded, str) else forwarded or []
    sent += [("X-Forwarded-For", value) for value in values]
    response = await client.get(ME, headers=sent)
    assert response.status == 200
    return (await json_of(response))["ip_address"]


async def graphql_ip_of(client: Any, headers: dict[str, str], forwarded: str) -> Any:
    response = await client.post(
        "/graphql",
        json={"query": GRAPHQL_ME},
        headers={**headers, "X-Forwarded-For": forwarded, "Accept": "application/json"},
    )
    body = await response.json()
    assert response.status == 200 and "errors" not in body, body
    return body["data"]["me"]["ipAddress"]


# --- without trusted proxies -------------------------------------------------------------------


async def test_without_trusted_proxies_the_peer_is_the_client(
    client: Any, factory: Factory
) -> None:
    headers = await factory.auth(await factory.user("alice"))
    assert await ip_of(client, headers, None) == PEER
    assert await graphql_ip_of(client, headers, CLIENT) == PEER


async def test_a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(
    settings: Settings, aiohttp_client: Any, factory: Factory
) -> None:
    """Proxies are configured, but the test's address is not one of them."""
    client = await client_with(aiohttp_client, settings, trusted_proxies=PROXIES[1:])
    headers = await factory.auth(await factory.user("alice"))
    for spoofed in (CLIENT, f"{CLIENT}, 10.0.0.1", "10.0.0.1"):
        assert await ip_of(client, headers, spoofed) == PEER
        assert await graphql_ip_of(client, headers, spoofed) == PEER


# --- behind a trusted proxy --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        (CLIENT, CLIENT),
        (f"198.51.100.1, {CLIENT}", CLIENT),  # the left entry was written by the client
        (f"{CLIENT}, 10.1.2.3", CLIENT),  # a second trusted proxy in the chain
        (f"{CLIENT},10.1.2.3,fd00::1", CLIENT),
        ("10.9.9.9, 10.1.2.3", "10.9.9.9"),  # every hop trusted: the left-most
        ("2001:DB8::0:1", "2001:db8::1"),  # written in its normal form
        ("::ffff:198.51.100.4", "198.51.100.4"),  # IPv4-mapped IPv6 is IPv4
        ([f"198.51.100.1, {CLIENT}", "10.1.2.3"], CLIENT),  # several headers are one list
    ],
    ids=["one", "two", "chain", "chain-v6", "all-trusted", "ipv6", "mapped", "two-headers"],
)
async def test_a_trusted_proxy_forwards_the_right_most_untrusted_address(
    behind_proxy: Any, factory: Factory, forwarded: str | list[str], expected: str
) -> None:
    headers = await factory.auth(await factory.user("alice"))
    assert await ip_of(behind_proxy, headers, forwarded) == expected


async def test_graphql_me_shows_the_same_address_as_rest(
    behind_proxy: Any, factory: Factory
) -> None:
    headers = await factory.auth(await factory.user("alice"))
    forwarded = f"198.51.100.1, {CLIENT}, 10.1.2.3"
    assert await graphql_ip_of(behind_proxy, headers, forwarded) == CLIENT
    assert await ip_of(behind_proxy, headers, forwarded) == CLIENT


@pytest.mark.parametrize(
    "forwarded",
    [
        "",
        "unknown",
        "proxy.example",
        f"{CLIENT}:8080",  # a port
        "[2001:db8::1]:443",
        "fe80::1%eth0",  # a zone: free text, never stored
        "fe80::1%" + "x" * 200,
        f"{CLIENT},,10.1.2.3",
        f"{CLIENT}, 300.1.2.3",
        f"{CLIENT} 10.1.2.3",  # no comma
        ", ".join(["198.51.100.1"] * 200),  # over the length bound
    ],
    ids=[
        "empty",
        "word",
        "name",
        "port",
        "v6-port",
        "zone",
        "long-zone",
        "empty-hop",
        "bad-octet",
        "space",
        "overlong",
    ],
)
async def test_a_malformed_or_overlong_header_falls_back_to_the_peer(
    behind_proxy: Any, factory: Factory, forwarded: str
) -> None:
    headers = await factory.auth(await factory.user("alice"))
    assert await ip_of(behind_proxy, headers, forwarded) == PEER


async def test_the_length_bound_counts_every_header(behind_proxy: Any, factory: Factory) -> None:
    headers = await factory.auth(await factory.user("alice"))
    hop = "198.51.100.1"
    fits = ",".join([hop] * (MAX_FORWARDED_FOR_LENGTH // (len(hop) + 1)))
    assert len(fits) <= MAX_FORWARDED_FOR_LENGTH
    assert await ip_of(behind_proxy, headers, [fits]) == hop
    assert await ip_of(behind_proxy, headers, [fits, fits]) == PEER


# --- the login lockout counts by the same address ---------------------------------------------


async def fail_logins(client: Any, count: int, forwarded: str) -> list[int]:
    statuses = []
    for _ in range(count):
        response = await client.post(
            LOGIN,
            json={"username": "alice", "password": "wrong"},
            headers={"X-Forwarded-For": forwarded},
        )
        statuses.append(response.status)
    return statuses


async def login(client: Any, forwarded: str) -> Any:
    response = await client.post(
        LOGIN,
        json={"username": "alice", "password": "correct horse"},
        headers={"X-Forwarded-For": forwarded},
    )
    return response.status, await response.json()


async def test_rotating_a_spoofed_forwarded_for_does_not_escape_the_lockout(
    client: Any, factory: Factory, settings: Settings
) -> None:
    await factory.user("alice", password="correct horse")
    failures = settings.lockout_failures
    statuses = [
        status
        for number in range(failures)
        for status in await fail_logins(client, 1, f"198.51.100.{number}")
    ]
    assert statuses == [401] * failures
    status, body = await login(client, "198.51.100.200")
    assert status == 401 and "locked out" in body["detail"]


async def test_behind_a_trusted_proxy_each_client_has_its_own_lockout(
    behind_proxy: Any, factory: Factory, settings: Settings
) -> None:
    await factory.user("alice", password="correct horse")
    assert await fail_logins(behind_proxy, settings.lockout_failures, CLIENT) == (
        [401] * settings.lockout_failures
    )
    status, body = await login(behind_proxy, f"198.51.100.1, {CLIENT}, 10.1.2.3")
    assert status == 401 and "locked out" in body["detail"]  # the same client, through a chain
    status, body = await login(behind_proxy, "198.51.100.9")
    assert status == 200 and len(body["token"]) == 40  # another client is not locked out


# --- the setting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("[]", []),
        (
            '["10.0.0.1", "10.1.2.3/8", "::1", "fd00::/8"]',
            ["10.0.0.1/32", "10.0.0.0/8", "::1/128", "fd00::/8"],
        ),
    ],
)
def test_trusted_proxies_read_addresses_and_networks(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[str]
) -> None:
    monkeypatch.setenv("GQL_USERS_TRUSTED_PROXIES", raw)
    assert [str(network) for network in Settings().trusted_proxies] == expected


@pytest.mark.parametrize(
    "raw", ['["proxy.example"]', '["10.0.0.0/33"]', "[1]", '"10.0.0.1"', '{"a": 1}']
)
def test_a_bad_trusted_proxies_value_is_refused(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("GQL_USERS_TRUSTED_PROXIES", raw)
    with pytest.raises((ValidationError, ValueError)):
        Settings()


async def test_a_served_process_reads_the_setting_from_its_environment(
    tmp_path: Path, settings: Settings, factory: Factory
) -> None:
    """End to end: ``GQL_USERS_TRUSTED_PROXIES`` as production sets it."""
    headers = await factory.auth(await factory.user("alice"))
    server = LiveServer(
        tmp_path / "live",
        database_url=settings.database_url,
        env={"GQL_USERS_TRUSTED_PROXIES": '["127.0.0.1"]'},
    )
    (tmp_path / "live").mkdir()
    server.start()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                server.base_url + ME, headers={**headers, "X-Forwarded-For": CLIENT}
            ) as response,
        ):
            assert response.status == 200
            assert (await response.json())["ip_address"] == CLIENT
    finally:
        server.stop()


async def test_graphql_ip_address_is_null_except_on_me(client: Any, factory: Factory) -> None:
    alice = await factory.user("alice")
    query = """query($uuid: UUID!) { me { ipAddress } user(uuid: $uuid) { ipAddress }
        users(first: 5) { edges { node { username ipAddress } } } }"""
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": {"uuid": alice.uuid.hex}},
        headers={**await factory.auth(alice), "Accept": "application/json"},
    )
    data = (await response.json())["data"]
    assert data["me"] == {"ipAddress": PEER}
    assert data["user"] == {"ipAddress": None}
    assert data["users"]["edges"] == [{"node": {"username": "alice", "ipAddress": None}}]
