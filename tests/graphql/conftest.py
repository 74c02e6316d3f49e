"""GraphQL fixtures: ``gql`` posts an operation to ``/graphql`` of the test app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient


@dataclass
class GraphQLResponse:
    status: int
    content_type: str
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.body.get("errors") or []

    @property
    def codes(self) -> list[str | None]:
        return [(error.get("extensions") or {}).get("code") for error in self.errors]

    @property
    def sql_count(self) -> int:
        return int(self.body["extensions"]["sqlCount"])


@dataclass
class GraphQLClient:
    client: TestClient

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        accept: str = "application/json",
    ) -> GraphQLResponse:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        response = await self.client.post(
            "/graphql", json=payload, headers={"Accept": accept, **(headers or {})}
        )
        return GraphQLResponse(
            status=response.status,
            content_type=response.headers.get("Content-Type", ""),
            body=await response.json(content_type=None),
        )

    async def ok(
        self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The data of a response that must have no errors."""
        response = await self(query, variables, **kwargs)
        assert response.status == 200, response.body
        assert not response.errors, response.errors
        return response.data


@pytest.fixture
def gql(client: TestClient) -> GraphQLClient:
    return GraphQLClient(client)
