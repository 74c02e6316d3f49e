"""Waldur's Authentication tests (83-91) where the users API shows them, and its Impersonation
tests (93-95) through ``GET /api/users/me/``.

Already covered in tests/web/test_login.py, not repeated here:
    87 test_account_is_blocked_after_five_failed_attempts
    88 test_expired_token_is_recreated_on_successful_authentication
    89 test_not_expired_token_creation_time_is_updated_on_authentication
    90 test_token_never_expires_if_token_lifetime_is_none
    (the bare 401 cases, the inactive owner, the logout row deletion, impersonation
    ignored for non-staff (94), of an inactive user (95) and of a user without a token:
    tests/web/test_auth.py)
Not applicable: 92 (AUTHENTICATION_METHODS; gql-users has only the local sign-in) and 96
(event logs).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from gql_users.db.models import AuthToken, User, utcnow
from tests.conftest import Factory
from tests.rest.scenario_helpers import detail_path, json_of

ME = "/api/users/me/"
LOGIN = "/api-auth/password/"
SECRET = "correct horse battery"


async def age_token(factory: Factory, user: User, seconds: int) -> None:
    await factory.session.execute(
        update(AuthToken)
        .where(AuthToken.user_id == user.id)
        .values(created=utcnow() - timedelta(seconds=seconds))
    )
    await factory.session.commit()


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- Authentication (83-91) --------------------------------------------------------------------


async def test_user_can_authenticate_with_token_on_the_users_api(
    client: Any, factory: Factory
) -> None:
    """83, extended: the key from the login works on the users API."""
    await factory.user("alice", password=SECRET)
    login = await client.post(LOGIN, json={"username": "alice", "password": SECRET})
    assert login.status == 200
    key = (await json_of(login))["token"]
    response = await client.get(ME, headers={"Authorization": f"Token {key}"})
    assert response.status == 200
    body = await json_of(response)
    assert body["username"] == "alice" and body["token"] == key


async def test_user_can_logout(client: Any, factory: Factory) -> None:
    """84: after logout the key is refused, and staff see no active session for the user."""
    user = await factory.user("alice")
    staff = await factory.user("staff", is_staff=True)
    headers = await factory.auth(user)
    assert (await client.post("/api-auth/logout/", headers=headers)).status == 204
    response = await client.get(ME, headers=headers)
    assert response.status == 401 and await json_of(response) == {"detail": "Invalid token."}
    seen = await json_of(await client.get(detail_path(user), headers=await factory.auth(staff)))
    assert seen["has_active_session"] is False
    assert seen["token_expires_at"] is None


async def test_token_expires_based_on_user_token_lifetime(client: Any, factory: Factory) -> None:
    user = await factory.user("alice", token_lifetime=300)
    headers = await factory.auth(user)
    await age_token(factory, user, 299)
    assert (await client.get(ME, headers=headers)).status == 200
    await age_token(factory, user, 301)
    response = await client.get(ME, headers=headers)
    assert response.status == 401
    assert await json_of(response) == {"detail": "Token has expired."}
    assert response.headers["WWW-Authenticate"] == "Token"


async def test_token_creation_time_is_updated_on_requests_after_the_60_second_debounce(
    client: Any, factory: Factory
) -> None:
    """86 [ambiguous]: the 2025 code moves ``created`` only when it is older than 60 s; a Waldur
    client sees it as ``token_expires_at`` moving forward."""
    user = await factory.user("alice", token_lifetime=3600)
    headers = await factory.auth(user)
    await age_token(factory, user, 120)
    before = utcnow()
    body = await json_of(await client.get(ME, headers=headers))
    assert parse_time(body["token_expires_at"]) >= before + timedelta(seconds=3599)
    await age_token(factory, user, 10)
    body = await json_of(await client.get(ME, headers=headers))
    assert parse_time(body["token_expires_at"]) < utcnow() + timedelta(seconds=3595)


async def test_token_created_date_is_refreshed_even_if_token_lifetime_is_none(
    client: Any, factory: Factory
) -> None:
    user = await factory.user("alice", password=SECRET, token_lifetime=None)
    await age_token(factory, user, 7200)
    key = await factory.token(user)
    login = await client.post(LOGIN, json={"username": "alice", "password": SECRET})
    assert (await json_of(login))["token"] == key
    await factory.session.execute(
        update(User).where(User.id == user.id).values(token_lifetime=3600)
    )
    await factory.session.commit()
    response = await client.get(ME, headers={"Authorization": f"Token {key}"})
    assert response.status == 200  # the login moved ``created``, so the restored lifetime holds


# --- Impersonation (93-95) ---------------------------------------------------------------------


async def test_impersonation_is_available_for_user(client: Any, factory: Factory) -> None:
    staff = await factory.user("staff", is_staff=True)
    target = await factory.user("target")
    headers = await factory.auth(staff) | {"X-Impersonated-User-Uuid": str(target.uuid)}
    response = await client.get(ME, headers=headers)
    assert response.status == 200
    body = await json_of(response)
    assert body["uuid"] == target.uuid.hex
    # docs/visibility.md#impersonation: the impersonated user's
    assert body["token"] == await factory.token(target)
    assert "is_staff" not in body  # shaped for the impersonated (normal) user
    assert response.headers["X-impersonator-uuid"] == staff.uuid.hex


async def test_impersonated_permission_checks_run_as_the_impersonated_user(
    client: Any, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True)
    target = await factory.user("target")
    headers = await factory.auth(staff) | {"X-Impersonated-User-Uuid": target.uuid.hex}
    response = await client.post(
        "/api/users/", json={"username": "x", "email": "x@example.com"}, headers=headers
    )
    assert response.status == 403
    listed = await json_of(await client.get("/api/users/", headers=headers))
    assert [user["username"] for user in listed] == ["target"]
