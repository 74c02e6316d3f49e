"""``/graphql`` over HTTP: GET for queries only, content negotiation and status codes of the
GraphQL-over-HTTP specification, GraphiQL, the SQL count, malformed requests."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gql_users.http.responses import GRAPHQL_RESPONSE, JSON, negotiate
from gql_users.settings import Settings
from gql_users.web.app import create_app
from tests.conftest import Factory

PARSE_ERROR = {"query": "{"}
VALIDATION_ERROR = {"query": "{ noSuchField }"}
SCALAR_ERROR = {
    "query": "query($id: UUID!) { user(uuid: $id) { username } }",
    "variables": {"id": "not-a-uuid"},
}
COERCION_ERROR = {
    "query": "query($id: UUID!) { user(uuid: $id) { username } }",
    "variables": {"id": None},
}


async def post(client: TestClient, body: Any, accept: str | None, **headers: str) -> Any:
    if accept is not None:
        headers["Accept"] = accept
    return await client.post("/graphql", json=body, headers=headers)


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json;q=0.5, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE}", JSON),
        (f"{GRAPHQL_RESPONSE};q=0, text/html", None),
        ("text/csv", None),
    ],
)
def test_negotiate(accept: str | None, media: str | None) -> None:
    assert negotiate(accept) == media


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, JSON])
async def test_a_valid_query_is_200_in_the_negotiated_type(client: TestClient, accept: str) -> None:
    response = await post(client, {"query": "{ __typename }"}, accept)
    assert response.status == 200
    assert response.headers["Content-Type"] == f"{accept}; charset=utf-8"
    assert (await response.json(content_type=None))["data"] == {"__typename": "Query"}


@pytest.mark.parametrize("body", [PARSE_ERROR, VALIDATION_ERROR, COERCION_ERROR, SCALAR_ERROR])
@pytest.mark.parametrize(("accept", "status"), [(GRAPHQL_RESPONSE, 400), (JSON, 200)])
async def test_request_errors(client: TestClient, body: Any, accept: str, status: int) -> None:
    """graphql-response+json: 4xx and no data entry; application/json: 200 (legacy clients)."""
    response = await post(client, body, accept)
    assert response.status == status
    assert response.headers["Content-Type"].startswith(accept)
    payload = await response.json(content_type=None)
    assert "data" not in payload
    assert payload["errors"]


async def test_a_field_error_keeps_200_and_data(client: TestClient) -> None:
    response = await post(client, {"query": "{ __typename me { username } }"}, GRAPHQL_RESPONSE)
    assert response.status == 200
    payload = await response.json(content_type=None)
    assert payload["data"] is None  # me is non-null
    assert payload["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_not_acceptable(client: TestClient) -> None:
    response = await post(client, {"query": "{ __typename }"}, "text/csv")
    assert response.status == 406
    assert response.headers["Content-Type"].startswith(JSON)


async def test_get_runs_queries(client: TestClient) -> None:
    response = await client.get("/graphql", params={"query": "{ __typename }"})
    assert response.status == 200
    assert (await response.json())["data"] == {"__typename": "Query"}


async def test_get_refuses_mutations(client: TestClient, factory: Factory) -> None:
    user = await factory.user("alice")
    headers = await factory.auth(user)
    response = await client.get(
        "/graphql",
        params={"query": "mutation { logout { ok } }"},
        headers={**headers, "Accept": GRAPHQL_RESPONSE},
    )
    assert response.status == 405
    assert response.headers["Allow"] == "POST"
    payload = await response.json(content_type=None)
    assert payload["errors"][0]["message"].startswith("Mutations are not allowed over GET")
    assert await factory.token(user) == headers["Authorization"].split()[1]  # still logged in


async def test_a_browser_get_is_sent_to_the_offline_graphiql(client: TestClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"}, allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/playground/"
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status == 200 and page.url.path == "/playground/"
    assert page.content_type == "text/html"
    assert "graphiql" in (await page.text()).lower()


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b'{ "not json', "application/json", "Unable to parse request body as JSON"),
        (b"", "application/json", "Unable to parse request body as JSON"),
        (b'{"query": "{ __typename }"}', "text/plain", "Unsupported content type"),
        (b'{"notquery": "x"}', "application/json", "No GraphQL query found in the request"),
        (b'{"query": 1}', "application/json", "The GraphQL operation's `query` must be a string"),
        (
            b'{"query": "{ __typename }", "operationName": 1}',
            "application/json",
            "The GraphQL operation's `operationName` must be a string",
        ),
        (
            b'{"query": "{ __typename }", "variables": []}',
            "application/json",
            "The GraphQL operation's `variables` must be an object",
        ),
    ],
)
async def test_malformed_requests_are_400_with_a_graphql_body(
    client: TestClient, body: bytes, content_type: str, message: str
) -> None:
    response = await client.post(
        "/graphql", data=body, headers={"Content-Type": content_type, "Accept": GRAPHQL_RESPONSE}
    )
    assert response.status == 400
    assert response.headers["Content-Type"].startswith(GRAPHQL_RESPONSE)
    assert (await response.json(content_type=None))["errors"][0]["message"].startswith(message)


async def test_a_bad_token_is_401_before_graphql(client: TestClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Authorization": "Token nope"}
    )
    assert response.status == 401


async def test_sql_count_in_extensions_only_when_debugging(
    client: TestClient, aiohttp_client: Any, settings: Settings, factory: Factory
) -> None:
    headers = await factory.auth(await factory.user("alice"))
    debug = await post(client, {"query": "{ me { username } }"}, JSON, **headers)
    assert (await debug.json())["extensions"]["sqlCount"] >= 1
    quiet_client = await aiohttp_client(
        create_app(settings.model_copy(update={"debug_sql": False}))
    )
    quiet = await post(quiet_client, {"query": "{ me { username } }"}, JSON, **headers)
    assert "extensions" not in await quiet.json()
