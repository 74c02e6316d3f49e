"""Well-formed but out-of-range inputs against a live server: each gets its documented 4xx
and changes nothing, never a 500 (docs/hardening.md#odd-inputs)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from gql_users.accounts.pagination import DEFAULT_PAGE_SIZE, INVALID_PAGE
from gql_users.rest.query import INVALID_DATETIME
from tests.conftest import Factory
from tests.hostile.conftest import StartServer
from tests.live_server import LiveServer

HUGE_NUMBER = "9" * 5_000  # over the 4,300 digits Python's int() converts
OUT_OF_RANGE_DATES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-01:00")
DATE_FILTERS = ("date_joined", "modified", "agreement_date")

USERS = """
query($filter: UserFilterInput, $first: Int, $offset: Int) {
  users(filter: $filter, first: $first, offset: $offset) {
    edges { node { username } }
    pageInfo { hasNextPage }
  }
}
"""


@pytest.fixture
async def staff_headers(factory: Factory) -> dict[str, str]:
    staff = await factory.user("staff", is_staff=True)
    for number in range(DEFAULT_PAGE_SIZE + 2):
        await factory.user(f"user{number:02d}", with_token=False)
    return await factory.auth(staff)


async def get(
    http: aiohttp.ClientSession, server: LiveServer, path: str, headers: dict[str, str]
) -> tuple[int, Any]:
    async with http.get(f"{server.base_url}{path}", headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def graphql(
    http: aiohttp.ClientSession,
    server: LiveServer,
    headers: dict[str, str],
    variables: dict[str, Any],
    query: str = USERS,
) -> tuple[int, dict[str, Any]]:
    async with http.post(
        f"{server.base_url}/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
    ) as response:
        return response.status, await response.json(content_type=None)


async def test_rest_page_numbers_too_long_to_convert(
    live: LiveServer, http: aiohttp.ClientSession, staff_headers: dict[str, str]
) -> None:
    for page in (HUGE_NUMBER, f"-{HUGE_NUMBER}", f" {HUGE_NUMBER} "):
        status, body = await get(http, live, f"/api/users/?page={page}", staff_headers)
        assert (status, body) == (404, {"detail": INVALID_PAGE})
    # A page size that cannot be converted falls back to the default, like any unusable one.
    # The Link header repeats the query as given (as Waldur's does), three times: over the
    # 8 KiB a header line may have by aiohttp's default, so this client allows more.
    async with aiohttp.ClientSession(max_line_size=65536, max_field_size=65536) as roomy:
        for size in (HUGE_NUMBER, "0", "abc"):
            status, body = await get(roomy, live, f"/api/users/?page_size={size}", staff_headers)
            assert status == 200 and len(body) == DEFAULT_PAGE_SIZE, (size, status)
    status, body = await get(http, live, "/api/users/?page_size=11", staff_headers)
    assert status == 200 and len(body) == 11  # a usable size still applies


@pytest.mark.parametrize(
    "query",
    [
        "page=107374184",  # the default size: the offset just over 2**30
        "page=4000000&page_size=300",  # offset * 2 past a 32-bit integer
        "page=8000000&page_size=300",  # the offset itself past a 32-bit integer
        f"page={10**30}",
    ],
)
async def test_rest_page_numbers_past_any_list(
    live: LiveServer, http: aiohttp.ClientSession, staff_headers: dict[str, str], query: str
) -> None:
    """A page that starts beyond any list's length is past the last page: "Invalid page.",
    before the database is asked to skip that far (docs/hardening.md#odd-inputs)."""
    status, body = await get(http, live, f"/api/users/?{query}", staff_headers)
    assert (status, body) == (404, {"detail": INVALID_PAGE})


@pytest.mark.parametrize("value", OUT_OF_RANGE_DATES)
async def test_dates_outside_years_1_to_9999_in_utc(
    live: LiveServer, http: aiohttp.ClientSession, staff_headers: dict[str, str], value: str
) -> None:
    for name in DATE_FILTERS:
        query = f"/api/users/?{name}={value.replace('+', '%2B')}"
        status, body = await get(http, live, query, staff_headers)
        assert (status, body) == (400, {name: [INVALID_DATETIME]})

    camel = {"date_joined": "dateJoined", "modified": "modified", "agreement_date": "agreementDate"}
    for name in DATE_FILTERS:
        status, body = await graphql(http, live, staff_headers, {"filter": {camel[name]: value}})
        assert status == 200 and "data" not in body, body  # a variable that does not coerce
        assert "outside years 1-9999" in body["errors"][0]["message"]
        literal = f'{{ users(filter: {{{camel[name]}: "{value}"}}) {{ edges {{ cursor }} }} }}'
        status, body = await graphql(http, live, staff_headers, {}, literal)
        assert status == 200 and "data" not in body, body
        assert "outside years 1-9999" in body["errors"][0]["message"]

    # The extremes that do fit still filter.
    for edge in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
        status, body = await get(http, live, f"/api/users/?date_joined={edge}", staff_headers)
        assert status == 200 and len(body) == (DEFAULT_PAGE_SIZE if edge[0] == "0" else 0)


async def test_media_paths_no_file_can_have(
    live: LiveServer, http: aiohttp.ClientSession, staff_headers: dict[str, str]
) -> None:
    for path in (
        "/media/user/%00",
        "/media/%00",
        "/media/user/a%00b.png",
        "/media/" + "a" * 5_000,
        "/media/user/" + "b" * 300 + ".png",  # one component over the file system's limit
        "/media/" + "c/" * 600 + "d.png",
    ):
        async with http.get(f"{live.base_url}{path}", headers=staff_headers) as response:
            assert response.status == 404, (path[:40], response.status)
    async with http.get(f"{live.base_url}/health") as response:
        assert response.status == 200


async def test_graphql_paging_numbers_at_and_past_32_bits(
    live: LiveServer, http: aiohttp.ClientSession, staff_headers: dict[str, str]
) -> None:
    largest = 2**31 - 1
    status, body = await graphql(http, live, staff_headers, {"offset": largest})
    assert status == 200 and body["data"]["users"]["edges"] == [], body
    status, body = await graphql(http, live, staff_headers, {"first": largest})
    assert status == 200 and len(body["data"]["users"]["edges"]) == DEFAULT_PAGE_SIZE + 3
    for name in ("first", "offset"):
        for value in (largest + 1, int(HUGE_NUMBER[:400])):
            status, body = await graphql(http, live, staff_headers, {name: value})
            assert status == 200 and "data" not in body, body  # does not coerce to Int
            assert "Int cannot represent" in body["errors"][0]["message"]


async def raw_request(server: LiveServer, request: bytes) -> bytes:
    """Send ``request`` as is on a new connection; the response's status line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(request)
        await writer.drain()
        return await reader.readline()
    finally:
        writer.close()


async def test_requests_that_cannot_be_parsed_are_one_warning_line_without_what_was_sent(
    start_server: StartServer, http: aiohttp.ClientSession
) -> None:
    """docs/hardening.md#http-headers: a request line or header over 8,190 bytes, or a header
    without a colon, is refused with 400 and logged as one WARNING line; neither a traceback
    nor any of the bytes sent (here, what looks like a token) reaches the log."""
    server = start_server(cli=True)
    secret = "Token " + "5ec2e7" * 2_000
    sent = [
        b"GET /api/users/?q=" + b"5ec2e7" * 2_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        f"GET /api/users/ HTTP/1.1\r\nHost: x\r\nAuthorization: {secret}\r\n\r\n".encode(),
        b"GET /api/users/ HTTP/1.1\r\nHost: x\r\n5ec2e7 no colon\r\n\r\n",
    ]
    for request in sent:
        status_line = await raw_request(server, request)
        assert status_line.split()[1:2] == [b"400"], status_line
    async with http.get(f"{server.base_url}/health") as response:  # it still serves
        assert response.status == 200
    log = server.log_path.read_text(errors="replace")
    warnings = [line for line in log.splitlines() if "malformed HTTP request" in line]
    assert len(warnings) == len(sent), log[-3000:]
    assert all(" WARNING aiohttp.server " in line and "127.0.0.1" in line for line in warnings)
    assert "Traceback" not in log and "ERROR" not in log
    assert "5ec2e7" not in log
