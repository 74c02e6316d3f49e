"""CORS (docs/operations.md#cors) over a socket with aiohttp's client: preflights and actual
requests from a listed origin and from another, on both APIs and the login routes."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest
from aiohttp.test_utils import TestClient

from gql_users.settings import Settings
from gql_users.web.app import create_app
from gql_users.web.cors import ALLOW_HEADERS, EXPOSE_HEADERS
from tests.conftest import Factory

APP_ORIGIN = "https://app.example.org"
OTHER_ORIGIN = "https://evil.example.net"
ALLOW_ORIGIN = "Access-Control-Allow-Origin"
CORS_HEADERS = (
    ALLOW_ORIGIN,
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Allow-Credentials",
    "Access-Control-Expose-Headers",
)


@pytest.fixture
async def cors_client(settings: Settings, aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(
        create_app(settings.model_copy(update={"cors_origins": [APP_ORIGIN]}))
    )


def preflight_headers(origin: str, method: str, headers: str = "") -> dict[str, str]:
    asked = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        asked["Access-Control-Request-Headers"] = headers
    return asked


def cors_headers_of(headers: Any) -> dict[str, str]:
    return {name: headers[name] for name in CORS_HEADERS if name in headers}


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/graphql", "POST"),
        ("/graphql", "GET"),
        ("/api/users/", "GET"),
        ("/api/users/", "POST"),
        ("/api/users/me/", "GET"),
        ("/api/users/confirm_email/", "POST"),
        ("/api/users/0123456789abcdef0123456789abcdef/", "PATCH"),
        ("/api/users/0123456789abcdef0123456789abcdef/", "DELETE"),
        ("/api-auth/password/", "POST"),
    ],
)
async def test_a_listed_origin_may_call_each_route_with_its_methods(
    cors_client: TestClient, path: str, method: str
) -> None:
    asked = ", ".join(ALLOW_HEADERS)
    response = await cors_client.options(path, headers=preflight_headers(APP_ORIGIN, method, asked))
    assert response.status == 200, await response.text()
    assert response.headers[ALLOW_ORIGIN] == APP_ORIGIN
    assert response.headers["Access-Control-Allow-Methods"] == method
    allowed = response.headers["Access-Control-Allow-Headers"].lower().split(",")
    assert sorted(allowed) == sorted(name.lower() for name in ALLOW_HEADERS)
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("path", "method"),
    [("/graphql", "POST"), ("/api/users/me/", "GET"), ("/api-auth/password/", "POST")],
)
async def test_another_origin_gets_no_cors_headers(
    cors_client: TestClient, factory: Factory, path: str, method: str
) -> None:
    response = await cors_client.options(path, headers=preflight_headers(OTHER_ORIGIN, method))
    assert response.status == 403
    assert "not allowed" in (await response.json())["detail"]
    assert cors_headers_of(response.headers) == {}

    # The actual request is served (CORS binds browsers, not servers) but without the headers
    # that would let a script on that origin read the answer.
    user = await factory.user("cors.other")
    actual = await cors_client.get(
        "/api/users/me/", headers={"Origin": OTHER_ORIGIN, **await factory.auth(user)}
    )
    assert actual.status == 200
    assert cors_headers_of(actual.headers) == {}


@pytest.mark.parametrize(
    ("path", "headers", "refused"),
    [
        # a method the route does not serve
        ("/api/users/me/", preflight_headers(APP_ORIGIN, "DELETE"), "'DELETE' is not allowed"),
        ("/api/users/", preflight_headers(APP_ORIGIN, "PUT"), "'PUT' is not allowed"),
        # a request header that is not on the list
        ("/graphql", preflight_headers(APP_ORIGIN, "POST", "X-Other"), "X-OTHER"),
    ],
)
async def test_a_preflight_outside_the_rules_is_refused_in_the_rest_shape(
    cors_client: TestClient, path: str, headers: dict[str, str], refused: str
) -> None:
    response = await cors_client.options(path, headers=headers)
    assert response.status == 403
    assert refused in (await response.json())["detail"]
    assert ALLOW_ORIGIN not in response.headers


async def test_actual_requests_expose_the_paging_headers_to_a_listed_origin(
    cors_client: TestClient, factory: Factory
) -> None:
    staff = await factory.user("cors.staff", is_staff=True)
    headers = {"Origin": APP_ORIGIN, **await factory.auth(staff)}
    response = await cors_client.get("/api/users/", headers=headers)
    assert response.status == 200
    assert response.headers[ALLOW_ORIGIN] == APP_ORIGIN
    assert set(response.headers["Access-Control-Expose-Headers"].split(",")) == set(EXPOSE_HEADERS)
    assert response.headers["X-Result-Count"] == str(len(await response.json()))
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"

    # HEAD answers as GET does, CORS headers included.
    head = await cors_client.head("/api/users/me/", headers=headers)
    assert head.status == 200
    assert head.headers[ALLOW_ORIGIN] == APP_ORIGIN

    # GraphQL too, and its errors are readable by the listed origin.
    graphql = await cors_client.post(
        "/graphql", json={"query": "{ me { username } }"}, headers=headers
    )
    assert (await graphql.json())["data"]["me"]["username"] == "cors.staff"
    assert graphql.headers[ALLOW_ORIGIN] == APP_ORIGIN
    refused = await cors_client.post(
        "/graphql",
        json={"query": "{ me { username } }"},
        headers={"Origin": APP_ORIGIN, "Authorization": "Token not-a-token"},
    )
    assert refused.status == 401
    assert refused.headers[ALLOW_ORIGIN] == APP_ORIGIN


async def test_a_preflight_needs_no_authentication_and_other_options_stay_405(
    cors_client: TestClient,
) -> None:
    # A browser never sends Authorization with a preflight: the route needs it, the
    # preflight does not.
    response = await cors_client.options(
        "/api/users/me/", headers=preflight_headers(APP_ORIGIN, "GET", "Authorization")
    )
    assert response.status == 200
    assert response.headers[ALLOW_ORIGIN] == APP_ORIGIN
    actual = await cors_client.get("/api/users/me/", headers={"Origin": APP_ORIGIN})
    assert actual.status == 401
    assert actual.headers[ALLOW_ORIGIN] == APP_ORIGIN

    plain = await cors_client.options("/api/users/me/")
    assert plain.status == 405
    assert plain.headers["Allow"] == "GET, HEAD"
    assert await plain.json() == {"detail": 'Method "OPTIONS" not allowed.'}
    other_method = await cors_client.delete("/api/users/me/", headers={"Origin": APP_ORIGIN})
    assert other_method.status == 405
    assert await other_method.json() == {"detail": 'Method "DELETE" not allowed.'}


async def test_without_origins_there_is_no_cors_at_all(client: TestClient) -> None:
    response = await client.options("/graphql", headers=preflight_headers(APP_ORIGIN, "POST"))
    assert response.status == 405
    assert cors_headers_of(response.headers) == {}
    actual = await client.get("/api/users/", headers={"Origin": APP_ORIGIN})
    assert cors_headers_of(actual.headers) == {}


async def test_cors_covers_the_apis_only(cors_client: TestClient) -> None:
    for path in ("/health", "/playground/", "/"):
        response = await cors_client.get(path, headers={"Origin": APP_ORIGIN})
        assert response.status == 200, path
        assert cors_headers_of(response.headers) == {}, path


def test_origins_are_normalised_and_checked() -> None:
    settings = Settings(cors_origins=["HTTPS://App.Example.org/", "http://127.0.0.1:5173"])
    assert settings.cors_origins == ["https://app.example.org", "http://127.0.0.1:5173"]
    for bad in ("*", "app.example.org", "https://app.example.org/path", "ftp://x"):
        with pytest.raises(pydantic.ValidationError, match="is not an origin"):
            Settings(cors_origins=[bad])
