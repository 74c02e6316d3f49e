"""GraphQL cost control against a live server: hostile documents are refused in milliseconds,
without stalling other requests, and costly operations are refused with their cost and the
limit (docs/hardening.md#graphql-limits)."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from gql_users.settings import Settings
from tests.conftest import Factory
from tests.hostile.conftest import StartServer
from tests.hostile.graphql_limits_support import (
    assert_request_error,
    fragment_bomb,
    post_graphql,
)
from tests.live_server import LiveServer

DEFAULTS = Settings()


REPEATED_FIELD = "{ me { " + "permissions { roleName scopeName } " * 300 + "} }"

# Cost grows with the page size: 1 + first * (the cost of one user's edge).
COSTLY = """query Costly($first: Int) {
  users(first: $first) { edges { node { permissions { createdBy {
    permissions { role { name } createdBy { username } }
  } } } } }
}"""


async def health_time(http: aiohttp.ClientSession, server: LiveServer) -> float:
    started = time.monotonic()
    async with http.get(f"{server.base_url}/health") as response:
        assert response.status == 200
    return time.monotonic() - started


async def test_a_fragment_bomb_is_refused_at_once_and_health_stays_fast(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    bombs = [post_graphql(http, live, fragment_bomb(30)) for _ in range(8)]
    *answers, health = await asyncio.gather(*bombs, health_time(http, live))
    assert health < 0.5
    for answer in answers:
        error = assert_request_error(answer, "TOO_MANY_FRAGMENT_SPREADS")
        assert answer.seconds < 1
        assert error["extensions"]["spreads"] == 61  # two per level, one in the operation
        assert error["extensions"]["maxSpreads"] == DEFAULTS.graphql_max_fragment_spreads


async def test_a_fragment_bomb_under_raised_caps_is_still_measured_in_linear_time(
    start_server: StartServer, http: aiohttp.ClientSession
) -> None:
    """With the spread, selection and repeat caps out of the way, the cost (each fragment measured
    once, however often it is spread) still refuses the bomb fast."""
    lenient = start_server(
        env={
            "GQL_USERS_GRAPHQL_MAX_FRAGMENT_SPREADS": "1000",
            "GQL_USERS_GRAPHQL_MAX_SELECTIONS": str(10**12),
            "GQL_USERS_GRAPHQL_MAX_FIELD_REPEATS": str(10**12),
        }
    )
    answer, health = await asyncio.gather(
        post_graphql(http, lenient, fragment_bomb(30)), health_time(http, lenient)
    )
    error = assert_request_error(answer, "QUERY_TOO_COSTLY")
    assert answer.seconds < 1
    assert health < 0.5
    assert error["extensions"]["cost"] >= 2**30  # every expanded username counted


async def test_a_field_repeated_300_times_is_refused_fast(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    answer, health = await asyncio.gather(
        post_graphql(http, live, REPEATED_FIELD), health_time(http, live)
    )
    error = assert_request_error(answer, "TOO_MANY_SELECTIONS")
    assert answer.seconds < 1
    assert health < 0.5
    assert error["extensions"]["selections"] == 300
    assert error["extensions"]["maxSelections"] == DEFAULTS.graphql_max_selections
    assert error["message"] == (
        f"A selection set asks for 300 fields (fragments expanded); at most "
        f"{DEFAULTS.graphql_max_selections} are allowed."
    )
    repeated = assert_request_error(answer, "FIELD_REPEATED")
    assert repeated["message"] == (
        f"'permissions' is selected 300 times in one selection set (fragments expanded); at "
        f"most {DEFAULTS.graphql_max_field_repeats} are allowed."
    )
    assert repeated["extensions"]["field"] == "permissions"


async def test_fragment_spreads_are_capped(
    start_server: StartServer, http: aiohttp.ClientSession
) -> None:
    server = start_server(env={"GQL_USERS_GRAPHQL_MAX_FRAGMENT_SPREADS": "3"})
    spreads = "{ %s } fragment Q on Query { __typename }"
    allowed = await post_graphql(http, server, spreads % " ".join(["...Q"] * 3))
    assert allowed.status == 200
    assert allowed.body == {"data": {"__typename": "Query"}}
    refused = await post_graphql(http, server, spreads % " ".join(["...Q"] * 4))
    error = assert_request_error(refused, "TOO_MANY_FRAGMENT_SPREADS")
    assert error["message"] == "The document has 4 fragment spreads; at most 3 are allowed."


async def test_a_costly_query_is_refused_with_its_cost_and_the_limit(
    live: LiveServer, http: aiohttp.ClientSession, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True)
    token = await factory.token(staff)
    answer = await post_graphql(http, live, COSTLY, {"first": 100}, token=token)
    error = assert_request_error(answer, "QUERY_TOO_COSTLY")
    cost, limit = error["extensions"]["cost"], error["extensions"]["maxCost"]
    assert limit == DEFAULTS.graphql_max_cost < cost
    assert error["message"] == f"Query cost {cost:,} exceeds the limit of {limit:,}."
    # The same document with a smaller page costs proportionally less, and runs.
    allowed = await post_graphql(http, live, COSTLY, {"first": 10}, token=token)
    assert allowed.status == 200, allowed.body
    assert "errors" not in allowed.body
    assert allowed.body["data"]["users"]["edges"][0]["node"]["permissions"] == []


async def test_the_cost_limit_follows_the_setting(
    start_server: StartServer, http: aiohttp.ClientSession, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True)
    token = await factory.token(staff)
    query = "query Page($first: Int) { users(first: $first) { edges { node { username } } } }"
    # users (1) + first * (edges 1 + node 1 + username 1)
    server = start_server(env={"GQL_USERS_GRAPHQL_MAX_COST": str(1 + 3 * 5)})
    within = await post_graphql(http, server, query, {"first": 5}, token=token)
    assert within.body["data"]["users"]["edges"] == [{"node": {"username": "staff"}}]
    over = await post_graphql(http, server, query, {"first": 6}, token=token)
    error = assert_request_error(over, "QUERY_TOO_COSTLY")
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 19, "maxCost": 16}
    # Without first the default page size counts; the maximum page size caps any first.
    default = await post_graphql(http, server, query, {}, token=token)
    assert assert_request_error(default, "QUERY_TOO_COSTLY")["extensions"]["cost"] == 1 + 3 * 20
    huge = await post_graphql(http, server, query, {"first": 10**6}, token=token)
    capped = 1 + 3 * DEFAULTS.graphql_max_page_size
    assert assert_request_error(huge, "QUERY_TOO_COSTLY")["extensions"]["cost"] == capped


async def test_several_operations_without_an_operation_name_are_refused(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    document = "query A { a: __typename } query B { b: __typename }"
    answer = await post_graphql(http, live, document)
    error = assert_request_error(answer, "OPERATION_NAME_REQUIRED")
    assert error["message"] == (
        "The document holds 2 operations; name the one to run in operationName."
    )
    named = await post_graphql(http, live, document, operation_name="B")
    assert named.status == 200
    assert named.body == {"data": {"b": "Query"}}


GRAPH_OF_PAGES = """{ customers(first: 100) { edges { node { projects(first: 100) { edges {
  node { permissions(first: 100) { edges { node { user { username } } } } } } } } } } }"""


async def test_an_anonymous_graph_of_pages_is_refused_at_once_and_health_stays_fast(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    """Pages nested in pages (customers, their projects, their permissions) from an anonymous
    caller, under 1 KB, eight at a time: each refused by its cost before any resolver runs."""
    assert len(GRAPH_OF_PAGES.encode()) < 1024
    floods = [post_graphql(http, live, GRAPH_OF_PAGES) for _ in range(8)]
    *answers, health = await asyncio.gather(*floods, health_time(http, live))
    assert health < 0.5
    for answer in answers:
        error = assert_request_error(answer, "QUERY_TOO_COSTLY")
        assert answer.seconds < 1
        assert error["extensions"]["cost"] > 100**3
