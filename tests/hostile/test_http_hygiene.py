"""HTTP hygiene against a live server: ``Cache-Control: no-store`` on every API response,
``X-Content-Type-Options: nosniff`` on every response, GraphQL-shaped refusals of a token on
``/graphql`` (docs/hardening.md#http-headers); and the sliding refresh with the shortest token
lifetime (docs/hardening.md#sliding-refresh)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import aiohttp
import orjson
import pytest
from sqlalchemy import select, update

from gql_users.accounts.errors import AuthenticationFailed
from gql_users.accounts.tokens import authenticate_token
from gql_users.db.models import AuthToken, User, utcnow
from tests.conftest import Factory
from tests.live_server import LiveServer

PASSWORD = "a-long-Secret-99"
GRAPHQL_RESPONSE = "application/graphql-response+json"
ME = "{ me { username token } }"
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"


async def call(
    http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> tuple[int, Any, Any]:
    async with http.request(method, url, **kwargs) as response:
        body = await response.read()
        return response.status, response.headers, body


async def test_every_api_response_is_no_store_and_every_response_nosniff(
    live: LiveServer, http: aiohttp.ClientSession, factory: Factory
) -> None:
    staff = await factory.user("boss", password=PASSWORD, is_staff=True)
    user = await factory.user("alice", password=PASSWORD)
    auth = await factory.auth(staff)
    base = live.base_url
    user_url = f"{base}/api/users/{user.uuid.hex}/"
    credentials = {"username": "alice", "password": PASSWORD}
    graphql_login = {"query": LOGIN, "variables": {"u": "alice", "p": PASSWORD}}
    api_calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", f"{base}/api-auth/password/", {"json": credentials}),
        ("GET", f"{base}/api/users/me/", {"headers": auth}),
        ("GET", f"{base}/api/users/", {"headers": auth}),
        ("GET", user_url, {"headers": auth}),
        ("GET", f"{user_url}token/", {"headers": auth}),
        ("POST", f"{user_url}refresh_token/", {"headers": auth}),
        ("GET", f"{base}/api/users/{uuid.uuid4().hex}/", {"headers": auth}),  # 404
        ("DELETE", f"{base}/api/users/me/", {"headers": auth}),  # 405
        ("GET", f"{base}/api/users/me/", {}),  # 401
        ("POST", f"{base}/graphql", {"json": graphql_login}),
        ("POST", f"{base}/graphql", {"json": {"query": ME}, "headers": auth}),
        ("POST", f"{base}/graphql", {"json": {"query": "{"}}),  # 400/200 request error
        ("POST", f"{base}/api-auth/logout/", {"headers": auth}),  # 204
    ]
    statuses = set()
    for method, url, kwargs in api_calls:
        status, headers, _ = await call(http, method, url, **kwargs)
        statuses.add(status)
        assert headers.get("Cache-Control") == "no-store", (method, url, status)
        assert headers.get("X-Content-Type-Options") == "nosniff", (method, url, status)
    assert {200, 204, 401, 404, 405} <= statuses
    for path in ("/health", "/playground/", "/no/such/page"):
        status, headers, _ = await call(http, "GET", base + path, allow_redirects=False)
        assert headers.get("X-Content-Type-Options") == "nosniff", path
        assert headers.get("Cache-Control") != "no-store", path  # public pages may be cached


async def _expired(factory: Factory, user: User) -> None:
    await factory.session.execute(
        update(AuthToken)
        .where(AuthToken.user_id == user.id)
        .values(created=utcnow() - timedelta(seconds=user.token_lifetime or 0, hours=1))
    )
    await factory.session.commit()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unknown", "Invalid token."),
        ("expired", "Token has expired."),
        ("inactive", "User inactive or deleted."),
        ("spaces", "Invalid token. Token string should not contain spaces."),
        ("empty", "Invalid token. No credentials provided."),
    ],
)
async def test_a_refused_token_on_graphql_is_a_graphql_401(
    live: LiveServer, http: aiohttp.ClientSession, factory: Factory, case: str, message: str
) -> None:
    user = await factory.user("alice", is_active=case != "inactive")
    key = await factory.token(user)
    if case == "expired":
        await _expired(factory, user)
    authorization = {
        "unknown": "Token " + "0" * 40,
        "spaces": f"Token {key} more",
        "empty": "Token",
    }.get(case, f"Token {key}")
    for accept in (GRAPHQL_RESPONSE, "application/json"):
        status, headers, body = await call(
            http,
            "POST",
            f"{live.base_url}/graphql",
            json={"query": ME},
            headers={"Authorization": authorization, "Accept": accept},
        )
        assert status == 401
        assert headers["Content-Type"].split(";")[0] == accept
        assert headers["WWW-Authenticate"] == "Token"
        assert orjson.loads(body) == {
            "errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]
        }


async def test_an_impersonation_refusal_on_graphql_is_a_graphql_403(
    live: LiveServer, http: aiohttp.ClientSession, factory: Factory
) -> None:
    staff = await factory.user("boss", is_staff=True)
    tokenless = await factory.user("nobody", with_token=False)
    headers = await factory.auth(staff) | {
        "X-Impersonated-User-Uuid": str(tokenless.uuid),
        "Accept": GRAPHQL_RESPONSE,
    }
    status, response_headers, body = await call(
        http, "POST", f"{live.base_url}/graphql", json={"query": ME}, headers=headers
    )
    assert status == 403
    assert response_headers["Content-Type"].startswith(GRAPHQL_RESPONSE)
    error = orjson.loads(body)["errors"][0]
    assert error["extensions"] == {"code": "FORBIDDEN"}
    assert "impersonate" in error["message"]


async def _created(factory: Factory, key: str) -> Any:
    return await factory.session.scalar(
        select(AuthToken.created)
        .where(AuthToken.key == key)
        .execution_options(populate_existing=True)
    )


async def test_an_active_user_with_the_shortest_lifetime_stays_logged_in(
    factory: Factory,
) -> None:
    """Lifetime 60 s with the default 60 s debounce: requests every 25 s for ten minutes keep
    the token alive, because the refresh is written once ``created`` is half a lifetime old."""
    user = await factory.user("brief", token_lifetime=60)
    key = await factory.token(user)
    start = await _created(factory, key)
    slides = 0
    for step in range(1, 25):
        now = start + timedelta(seconds=25 * step)
        before = await _created(factory, key)
        _, token = await authenticate_token(factory.session, key, debounce=60, now=now)
        after = await _created(factory, key)
        assert token.created == after
        if after != before:
            slides += 1
            assert after == now
            assert now - before > timedelta(seconds=30)
        else:
            assert now - before <= timedelta(seconds=30)
    assert slides >= 10  # every other request writes; the rest are debounced

    # Idle for longer than the lifetime: the token has expired and stays expired.
    idle = await _created(factory, key) + timedelta(seconds=61)
    with pytest.raises(AuthenticationFailed, match="expired"):
        await authenticate_token(factory.session, key, debounce=60, now=idle)


@pytest.mark.parametrize(("lifetime", "quiet", "slides"), [(3600, 59, 61), (None, 59, 61)])
async def test_a_long_lifetime_keeps_the_configured_debounce(
    factory: Factory, lifetime: int | None, quiet: int, slides: int
) -> None:
    user = await factory.user("steady", token_lifetime=lifetime)
    key = await factory.token(user)
    start = await _created(factory, key)
    await authenticate_token(
        factory.session, key, debounce=60, now=start + timedelta(seconds=quiet)
    )
    assert await _created(factory, key) == start
    moved = start + timedelta(seconds=slides)
    await authenticate_token(factory.session, key, debounce=60, now=moved)
    assert await _created(factory, key) == moved
