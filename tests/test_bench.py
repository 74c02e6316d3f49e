"""The benchmark's floor app (bench/floor.py) answers the same bytes as gql-users.

Its ratios mean something only if it does the same work: the same users, fields, permissions,
datetimes and headers for the same page, read from the same database by a real gql-users
process over a socket.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gql_users.db.models import EmailChangeRequest
from tests.conftest import Factory
from tests.live_server import LiveServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import floor  # noqa: E402


@pytest.fixture
async def floor_and_live(
    database_url: str, tmp_path: Path, factory: Factory
) -> AsyncIterator[tuple[str, str, dict[str, str]]]:
    staff = await factory.user("staff", is_staff=True, token_lifetime=None)
    owner = await factory.user(
        "Ödön",
        first_name="Ödön",
        last_name="Ärm",
        birth_date=date(1990, 5, 6),
        affiliations=["a", "b"],
        image="user/x.png",
        registration_method="eduteams",
    )
    plain = await factory.user("plain", with_token=False, civil_number="EE123", is_support=True)
    await factory.user(
        "whole-second",
        date_joined=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        agreement_date=None,
    )
    customer = await factory.customer("Acme")
    project = await factory.project(customer, "Rocket")
    await factory.grant(owner, "CUSTOMER.OWNER", customer, created_by=staff)
    await factory.grant(
        owner, "PROJECT.ADMIN", project, expiration_time=datetime.now(UTC) + timedelta(days=3)
    )
    await factory.grant(plain, "PROJECT.MEMBER", project, created_by=owner)
    await factory.grant(plain, "CUSTOMER.MANAGER", customer, is_active=False)
    factory.session.add(EmailChangeRequest(user_id=plain.id, email="new@example.com"))
    await factory.session.commit()
    headers = await factory.auth(staff)

    workdir = tmp_path / "live"
    workdir.mkdir()
    live = LiveServer(workdir, database_url=database_url)
    live.start()
    floor_server = TestServer(
        await floor.create_floor(database_url, f"{live.base_url}/"), host="127.0.0.1"
    )
    await floor_server.start_server()
    try:
        yield live.base_url, str(floor_server.make_url("")).rstrip("/"), headers
    finally:
        await floor_server.close()
        live.stop()


PAGES = [
    # Every branch of the rendering: creator or not, customer or project scope, a pending email,
    # an image, a birth date, whole-second and fractional datetimes; a later page; ``me``.
    (
        "/api/users/?page_size=50",
        [b"new@example.com", b'"created_by_username":"staff"', b'"customer_name":"Acme"',
         b"/media/user/x.png", b'"birth_date":"1990-05-06"', b'"2024-01-02T03:04:05Z"'],
    ),
    ("/api/users/?page_size=2&page=2", [b'"username":"whole-second"', b'rel="prev"']),
    ("/api/users/me/", [b'"token":', b'"ip_address":"127.0.0.1"']),
]  # fmt: skip


async def test_floor_answers_the_same_bytes(
    floor_and_live: tuple[str, str, dict[str, str]],
) -> None:
    """One server pair for all the pages: starting a live server is the slow part."""
    live_url, floor_url, headers = floor_and_live
    async with aiohttp.ClientSession(headers=headers) as http:
        for path, fragments in PAGES:
            async with http.get(live_url + path) as response:
                assert response.status == 200
                expected = await response.read()
                expected_headers = dict(response.headers)
            async with http.get(floor_url + path) as response:
                assert response.status == 200
                body = await response.read()
                got_headers = dict(response.headers)
            assert body == expected, path
            for name in ("X-Result-Count", "Link"):
                assert got_headers.get(name) == expected_headers.get(name), (path, name)
            for fragment in fragments:
                assert fragment in body + got_headers.get("Link", "").encode(), (path, fragment)
        async with http.get(
            floor_url + "/api/users/?page_size=50", headers={"Authorization": "Token nope"}
        ) as response:
            assert response.status == 401
            assert await response.json() == {"detail": "Invalid token."}
