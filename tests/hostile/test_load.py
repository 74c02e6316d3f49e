"""A bounded load test: 20 clients read and write for 15 s against one live server, on the
leg's database. Nothing may answer 5xx (nor fail to answer), and every write a 2xx
acknowledged is in the database afterwards. The figures are printed on one line in the
session's closing summary ("figures"), also under pytest-xdist.

``GQL_USERS_TEST_LOAD_SECONDS`` shortens (or lengthens) the run; CI uses the default.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import aiohttp

from tests.conftest import BACKEND, FIGURES, Factory
from tests.hostile.load_traffic import Traffic, missing_writes
from tests.live_server import LiveServer

CLIENTS = 20
SECONDS = float(os.environ.get("GQL_USERS_TEST_LOAD_SECONDS", "15"))


async def test_twenty_clients_reading_and_writing_get_no_5xx_and_lose_no_write(
    live: LiveServer,
    http: aiohttp.ClientSession,
    factory: Factory,
    record_property: Callable[[str, object], None],
) -> None:
    staff = await factory.user("loadstaff", is_staff=True)
    targets = [(await factory.user(f"target{i}")).uuid.hex for i in range(CLIENTS)]
    traffic = Traffic(http, live.base_url, await factory.auth(staff), targets)

    await traffic.run(CLIENTS, SECONDS)

    record_property(FIGURES, traffic.summary(f"load {BACKEND} {CLIENTS} clients {SECONDS:.0f} s"))
    failed = [answer for answer in traffic.answers if not 200 <= answer.status < 300]
    assert not failed, [(a.operation, a.status, a.body) for a in failed[:5]]
    assert {answer.operation for answer in traffic.answers} >= {"list", "graphql", "create"}
    assert traffic.created and traffic.patched
    assert all(not answer.graphql_codes for answer in traffic.answers)
    assert await missing_writes(factory.session, traffic, exact=True) == []
