"""Token authentication (docs/writes.md#token-authentication): every 401 case, expiry, the sliding
refresh, impersonation.

The protected route used here is ``POST /api-auth/logout/`` for failures (it needs a caller)
and ``GET /health`` is public. Where a route that shows the caller is needed, the REST
``/api/users/me/`` tests cover it; here the auth layer is checked through logout and a probe
route registered by the test.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from gql_users.db.models import AuthToken, User, utcnow
from gql_users.http.authentication import require_caller
from gql_users.http.keys import CALLER
from gql_users.http.responses import json_response
from gql_users.settings import Settings
from gql_users.web.app import create_app
from tests.conftest import Factory


async def whoami(request: web.Request) -> web.Response:
    caller = require_caller(request)
    assert caller.user is not None
    return json_response({"username": caller.user.username, "kind": str(caller.kind)})


async def anonymous_ok(request: web.Request) -> web.Response:
    return json_response({"authenticated": request[CALLER].is_authenticated})


@pytest.fixture
async def probe(settings: Settings, aiohttp_client: Any) -> Any:
    app = create_app(settings)
    app.router.add_get("/api/probe/", whoami)
    app.router.add_get("/api/open/", anonymous_ok)
    return await aiohttp_client(app)


async def token_created(factory: Factory, user: User) -> Any:
    """The stored ``created`` of the user's token, read fresh from the database."""
    return await factory.session.scalar(
        select(AuthToken.created)
        .where(AuthToken.user_id == user.id)
        .execution_options(populate_existing=True)
    )


async def test_valid_token_authenticates(probe: Any, factory: Factory) -> None:
    user = await factory.user("alice")
    response = await probe.get("/api/probe/", headers=await factory.auth(user))
    assert response.status == 200
    assert await response.json() == {"username": "alice", "kind": "user"}


async def test_keyword_is_case_insensitive(probe: Any, factory: Factory) -> None:
    user = await factory.user("alice")
    key = await factory.token(user)
    response = await probe.get("/api/probe/", headers={"Authorization": f"tOkEn {key}"})
    assert response.status == 200


async def test_missing_credentials_get_401_with_challenge(probe: Any) -> None:
    response = await probe.get("/api/probe/")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    assert await response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("Token", "Invalid token. No credentials provided."),
        ("Token a b", "Invalid token. Token string should not contain spaces."),
        ("Token " + "0" * 40, "Invalid token."),
    ],
    ids=["no-key", "spaces", "unknown"],
)
async def test_malformed_and_unknown_tokens_get_401(probe: Any, header: str, detail: str) -> None:
    response = await probe.get("/api/probe/", headers={"Authorization": header})
    assert response.status == 401
    assert await response.json() == {"detail": detail}
    assert response.headers["WWW-Authenticate"] == "Token"


async def test_a_bad_token_is_refused_even_where_anonymous_is_allowed(probe: Any) -> None:
    assert (await probe.get("/api/open/")).status == 200
    response = await probe.get("/api/open/", headers={"Authorization": "Token nope"})
    assert response.status == 401


async def test_other_schemes_are_anonymous(probe: Any) -> None:
    response = await probe.get("/api/open/", headers={"Authorization": "Bearer abc"})
    assert response.status == 200
    assert await response.json() == {"authenticated": False}


async def test_inactive_owner_gets_401(probe: Any, factory: Factory) -> None:
    user = await factory.user("gone", is_active=False)
    response = await probe.get("/api/probe/", headers=await factory.auth(user))
    assert response.status == 401
    assert await response.json() == {"detail": "User inactive or deleted."}


async def test_expired_token_gets_401_and_stays_expired(probe: Any, factory: Factory) -> None:
    user = await factory.user("late", token_lifetime=60)
    token = await factory.session.scalar(select(AuthToken).where(AuthToken.user_id == user.id))
    assert token is not None
    token.created = utcnow() - timedelta(seconds=61)
    await factory.session.commit()
    expired_at = token.created
    for _ in range(2):
        response = await probe.get("/api/probe/", headers={"Authorization": f"Token {token.key}"})
        assert response.status == 401
        assert await response.json() == {"detail": "Token has expired."}
    assert await token_created(factory, user) == expired_at


async def test_null_lifetime_never_expires(probe: Any, factory: Factory) -> None:
    user = await factory.user("forever", token_lifetime=None)
    token = await factory.session.scalar(select(AuthToken).where(AuthToken.user_id == user.id))
    assert token is not None
    token.created = utcnow() - timedelta(days=365)
    await factory.session.commit()
    response = await probe.get("/api/probe/", headers={"Authorization": f"Token {token.key}"})
    assert response.status == 200


async def test_sliding_refresh_moves_created_after_the_debounce(
    probe: Any, factory: Factory
) -> None:
    user = await factory.user("slider", token_lifetime=3600)
    token = await factory.session.scalar(select(AuthToken).where(AuthToken.user_id == user.id))
    assert token is not None
    old = utcnow() - timedelta(seconds=600)
    token.created = old
    await factory.session.commit()
    before = utcnow()
    assert (
        await probe.get("/api/probe/", headers={"Authorization": f"Token {token.key}"})
    ).status == 200
    moved = await token_created(factory, user)
    assert moved >= before - timedelta(seconds=1)


async def test_sliding_refresh_is_debounced(probe: Any, factory: Factory) -> None:
    user = await factory.user("recent", token_lifetime=3600)
    token = await factory.session.scalar(select(AuthToken).where(AuthToken.user_id == user.id))
    assert token is not None
    recent = utcnow() - timedelta(seconds=10)
    token.created = recent
    await factory.session.commit()
    assert (
        await probe.get("/api/probe/", headers={"Authorization": f"Token {token.key}"})
    ).status == 200
    assert await token_created(factory, user) == recent


async def test_staff_can_impersonate(probe: Any, factory: Factory) -> None:
    staff = await factory.user("boss", is_staff=True)
    target = await factory.user("worker")
    headers = await factory.auth(staff) | {"X-Impersonated-User-Uuid": str(target.uuid)}
    response = await probe.get("/api/probe/", headers=headers)
    assert response.status == 200
    assert (await response.json())["username"] == "worker"
    assert response.headers["X-impersonator-uuid"] == staff.uuid.hex


async def test_impersonation_accepts_hex_and_inactive_targets(probe: Any, factory: Factory) -> None:
    staff = await factory.user("boss", is_staff=True)
    target = await factory.user("sleeper", is_active=False)
    headers = await factory.auth(staff) | {"X-Impersonated-User-Uuid": target.uuid.hex}
    response = await probe.get("/api/probe/", headers=headers)
    assert (await response.json())["username"] == "sleeper"


@pytest.mark.parametrize("kind", ["user", "support"])
async def test_impersonation_is_ignored_for_non_staff(
    probe: Any, factory: Factory, kind: str
) -> None:
    caller = await factory.user("caller", is_support=kind == "support")
    target = await factory.user("target")
    headers = await factory.auth(caller) | {"X-Impersonated-User-Uuid": str(target.uuid)}
    response = await probe.get("/api/probe/", headers=headers)
    assert (await response.json())["username"] == "caller"
    assert "X-impersonator-uuid" not in response.headers


async def test_unknown_impersonation_target_runs_as_staff(probe: Any, factory: Factory) -> None:
    staff = await factory.user("boss", is_staff=True)
    headers = await factory.auth(staff) | {
        "X-Impersonated-User-Uuid": "12345678-1234-5678-1234-567812345678"
    }
    response = await probe.get("/api/probe/", headers=headers)
    assert (await response.json())["username"] == "boss"
    assert "X-impersonator-uuid" not in response.headers


async def test_impersonating_a_user_without_token_is_403(probe: Any, factory: Factory) -> None:
    staff = await factory.user("boss", is_staff=True)
    target = await factory.user("tokenless", with_token=False)
    headers = await factory.auth(staff) | {"X-Impersonated-User-Uuid": target.uuid.hex}
    response = await probe.get("/api/probe/", headers=headers)
    assert response.status == 403
    assert await response.json() == {
        "detail": "Unable to impersonate user that does not have an active session."
    }


async def test_logout_deletes_the_token(client: Any, factory: Factory) -> None:
    user = await factory.user("leaving")
    headers = await factory.auth(user)
    response = await client.post("/api-auth/logout/", headers=headers)
    assert response.status == 204
    assert (
        await factory.session.scalar(select(AuthToken).where(AuthToken.user_id == user.id)) is None
    )
    response = await client.post("/api-auth/logout/", headers=headers)
    assert response.status == 401
    assert await response.json() == {"detail": "Invalid token."}


async def test_logout_needs_credentials(client: Any) -> None:
    response = await client.post("/api-auth/logout/")
    assert response.status == 401


async def test_sql_count_header_reports_statements(probe: Any, factory: Factory) -> None:
    user = await factory.user("counted")
    response = await probe.get("/api/probe/", headers=await factory.auth(user))
    # the token lookup; no refresh write because the token is fresh
    assert response.headers["X-SQL-Count"] == "1"
    response = await probe.get("/api/open/")
    assert response.headers["X-SQL-Count"] == "0"


async def test_sql_count_header_is_off_by_default(database_url: str, aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(Settings(database_url=database_url)))
    response = await client.get("/health")
    assert "X-SQL-Count" not in response.headers
