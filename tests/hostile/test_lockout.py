"""The login lockout under parallel attempts, against a live server (REST and GraphQL).

Every attempt is counted before its password is checked, so a burst of guesses gets exactly
``lockout_failures`` passwords checked, however many arrive at once, and a correct password
sent once the threshold is passed is refused like the guesses
(docs/hardening.md#login-lockout-under-parallel-attempts).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from sqlalchemy import select

from gql_users.accounts.login import INVALID_CREDENTIALS
from gql_users.db.models import LoginFailure
from tests.conftest import Factory
from tests.hostile.conftest import StartServer

LOGIN = "/api-auth/password/"
GRAPHQL_LOGIN = """mutation($username: String, $password: String) {
  login(username: $username, password: $password) { token userErrors { message } } }"""
LOCKED = "Username is locked out. Try in 10 minutes."
THRESHOLD = 3  # not the default (4): the burst must follow the setting
BURST = 30
PASSWORD = "correct horse battery"


async def rest_login(http: aiohttp.ClientSession, base: str, password: str) -> tuple[int, str]:
    """The status and the message (``detail``) or token of one REST login."""
    async with http.post(base + LOGIN, json={"username": "alice", "password": password}) as reply:
        body = await reply.json()
        return reply.status, body.get("detail") or body.get("token")


async def graphql_login(http: aiohttp.ClientSession, base: str, password: str) -> tuple[int, str]:
    """The same for GraphQL: 401 stands for an UNAUTHENTICATED error, 200 for a token."""
    variables = {"username": "alice", "password": password}
    async with http.post(
        base + "/graphql", json={"query": GRAPHQL_LOGIN, "variables": variables}
    ) as reply:
        assert reply.status == 200, await reply.text()
        body: dict[str, Any] = await reply.json()
    if body.get("errors"):
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "UNAUTHENTICATED", error
        return 401, error["message"]
    return 200, body["data"]["login"]["token"]


Login = Any  # rest_login or graphql_login


async def burst_with_a_late_correct_password(
    login: Login, http: aiohttp.ClientSession, base: str
) -> tuple[list[tuple[int, str]], tuple[int, str]]:
    """``BURST`` wrong passwords at once, and the correct one sent as soon as the first
    refusal is back (the threshold is passed then) while the rest are still in flight."""
    passed = asyncio.Event()

    async def wrong() -> tuple[int, str]:
        answer = await login(http, base, "wrong password")
        if answer[1] == LOCKED:
            passed.set()
        return answer

    async def correct_after_the_threshold() -> tuple[int, str]:
        await asyncio.wait_for(passed.wait(), timeout=30)
        return await login(http, base, PASSWORD)

    *answers, correct = await asyncio.gather(
        *(wrong() for _ in range(BURST)), correct_after_the_threshold()
    )
    return answers, correct


async def check_burst(login: Login, factory: Factory, start_server: StartServer) -> None:
    await factory.user("alice", password=PASSWORD)
    base = start_server(env={"GQL_USERS_LOCKOUT_FAILURES": str(THRESHOLD)}).base_url
    connector = aiohttp.TCPConnector(limit=BURST + 1)
    async with aiohttp.ClientSession(connector=connector) as http:
        answers, correct = await burst_with_a_late_correct_password(login, http, base)
        assert {status for status, _ in answers} == {401}
        checked = [message for _, message in answers if message == INVALID_CREDENTIALS]
        refused = [message for _, message in answers if message == LOCKED]
        counters = (await factory.session.execute(select(LoginFailure.__table__))).all()
        assert (len(checked), len(refused)) == (THRESHOLD, BURST - THRESHOLD), counters
        assert correct == (401, LOCKED)
        assert await login(http, base, PASSWORD) == (401, LOCKED)
    row = await factory.session.scalar(
        select(LoginFailure)
        .where(LoginFailure.username == "alice")
        .execution_options(populate_existing=True)
    )
    assert row is not None and row.failures == BURST + 2  # every attempt counted


async def test_parallel_wrong_passwords_check_only_the_threshold_rest(
    factory: Factory, start_server: StartServer
) -> None:
    await check_burst(rest_login, factory, start_server)


async def test_parallel_wrong_passwords_check_only_the_threshold_graphql(
    factory: Factory, start_server: StartServer
) -> None:
    await check_burst(graphql_login, factory, start_server)


async def test_parallel_correct_passwords_below_the_threshold_all_log_in(
    factory: Factory, start_server: StartServer, http: aiohttp.ClientSession
) -> None:
    """Below the threshold a success clears the count as before: a later guess is checked."""
    await factory.user("alice", password=PASSWORD)
    base = start_server(env={"GQL_USERS_LOCKOUT_FAILURES": str(THRESHOLD)}).base_url
    logins = [rest_login, graphql_login, rest_login][:THRESHOLD]
    answers = await asyncio.gather(*(login(http, base, PASSWORD) for login in logins))
    assert [status for status, _ in answers] == [200] * THRESHOLD
    assert len({token for _, token in answers}) == 1
    for _ in range(THRESHOLD):
        assert await rest_login(http, base, "wrong password") == (401, INVALID_CREDENTIALS)
    assert await rest_login(http, base, PASSWORD) == (401, LOCKED)
