"""A documented route asked for without its trailing slash is redirected to it with 308, query
string kept, for every method (a 308 keeps the method and the body); other paths stay 404."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import Factory


@pytest.mark.parametrize(
    ("method", "path", "location"),
    [
        ("GET", "/api/users", "/api/users/"),
        ("GET", "/api/users?page=2&o=username", "/api/users/?page=2&o=username"),
        ("HEAD", "/api/users?page_size=1", "/api/users/?page_size=1"),
        ("POST", "/api/users", "/api/users/"),
        ("GET", "/api/users/me", "/api/users/me/"),
        ("GET", "/api/users/0123456789abcdef0123456789abcdef", None),
        ("PATCH", "/api/users/0123456789abcdef0123456789abcdef", None),
        ("GET", "/api/users/0123456789abcdef0123456789abcdef/token", None),
        ("POST", "/api-auth/password", "/api-auth/password/"),
        ("GET", "/api/schema", "/api/schema/"),
    ],
)
async def test_a_slashless_route_is_redirected_with_308(
    client: TestClient, method: str, path: str, location: str | None
) -> None:
    response = await client.request(method, path, allow_redirects=False)
    assert response.status == 308
    assert response.headers["Location"] == (location or f"{path}/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/users/me/extra"),
        ("GET", "/api"),
        ("GET", "/no/such/page"),
        ("GET", "/health/"),
        ("GET", "/graphql/"),
        ("DELETE", "/api/users"),  # /api/users/ serves no DELETE: nothing to redirect to
    ],
)
async def test_paths_without_a_slashed_route_are_not_redirected(
    client: TestClient, method: str, path: str
) -> None:
    response = await client.request(method, path, allow_redirects=False)
    assert response.status in (404, 405)
    assert "Location" not in response.headers


async def test_a_redirected_write_keeps_its_method_and_body(
    client: TestClient, factory: Factory
) -> None:
    staff = await factory.user("slash.staff", is_staff=True)
    headers = await factory.auth(staff)
    created = await client.post(
        "/api/users",
        json={"username": "slash.new", "email": "slash.new@example.com", "agreement_date": None},
        headers=headers,
    )
    assert created.status == 201, await created.text()
    assert (await created.json())["username"] == "slash.new"
    assert [r.status for r in created.history] == [308]

    listed = await client.get("/api/users?username=slash.new", headers=headers)
    assert listed.status == 200
    assert [user["username"] for user in await listed.json()] == ["slash.new"]
