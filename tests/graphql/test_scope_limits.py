"""Hostile documents against the graph around users: the nested lists are bounded like every
page (docs/hardening.md#graphql-limits). A short anonymous document that would nest pages of
pages is refused before any SQL runs; page sizes are capped at every level; bad arguments are
clear errors."""

from __future__ import annotations

from typing import Any

import pytest

from gql_users.settings import Settings
from gql_users.web.app import create_app
from tests.conftest import Factory
from tests.graphql.conftest import GraphQLClient
from tests.world import World

NEST = """{ customers(first: 100) { edges { node { projects(first: 100) { edges { node {
  permissions(first: 100) { edges { node { user { username } } } } } } } } } } }"""
ALIASED = (
    "{ "
    + " ".join(f"c{n}: customers(first: 100) {{ edges {{ node {{ ...P }} }} }}" for n in range(15))
    + " } fragment P on Customer { projects(first: 100) { edges { node { name } } } }"
)
WIDE_USERS = """{ users(first: 100) { edges { node {
  customers(first: 100) { edges { node { permissions(first: 100) { edges { node {
    user { username } } } } } } }
} } } }"""


@pytest.mark.parametrize("document", [NEST, ALIASED, WIDE_USERS], ids=["nest", "alias", "users"])
async def test_a_short_document_of_pages_of_pages_is_refused_before_any_sql(
    gql: GraphQLClient, document: str
) -> None:
    assert len(document.encode()) < 1024
    response = await gql(document)
    assert response.codes == ["QUERY_TOO_COSTLY"]
    assert response.sql_count == 0
    assert "data" not in response.body


async def test_page_sizes_are_capped_at_every_level(
    aiohttp_client: Any, settings: Settings, factory: Factory, world: World
) -> None:
    async with factory.batch():
        for number in range(5):
            await factory.project(world.beta, f"Beta project {number}")
        for number in range(4):
            await factory.customer(f"Customer {number}")
    small_pages = create_app(settings.model_copy(update={"graphql_max_page_size": 3}))
    gql = GraphQLClient(await aiohttp_client(small_pages))
    query = """{ customers(first: 1000) { edges { node { name
      projects(first: 1000) { edges { node { name } } } } } } }"""
    data = await gql.ok(query, headers=await factory.auth(world.staff))
    customers = data["customers"]["edges"]
    assert [edge["node"]["name"] for edge in customers] == ["Alpha", "Beta", "Customer 0"]
    assert [len(edge["node"]["projects"]["edges"]) for edge in customers] == [2, 3, 0]


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ("first: -1", "BAD_REQUEST"),
        ('after: "garbage"', "BAD_REQUEST"),
        ('after: "' + "x" * 70_000 + '"', "BAD_REQUEST"),
    ],
)
async def test_bad_nested_arguments_are_clear_errors(
    gql: GraphQLClient, factory: Factory, world: World, arguments: str, code: str
) -> None:
    query = f"{{ customers {{ edges {{ node {{ projects({arguments}) {{ totalCount }} }} }} }} }}"
    response = await gql(query, headers=await factory.auth(world.staff))
    # The first refusal nulls the whole (non-null) list; never a 500.
    assert response.codes == [code]
    assert response.data is None


async def test_too_many_ordering_keys_are_refused(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    query = """{ customers(orderBy: [{field: NAME}, {field: ABBREVIATION}, {field: NAME}]) {
      totalCount } }"""
    response = await gql(query, headers=await factory.auth(world.staff))
    assert response.codes == ["BAD_REQUEST"]
    assert response.errors[0]["message"] == "orderBy: at most 2 ordering keys."
