"""Mixed read and write traffic from concurrent clients against a live server, recorded
request by request, for the load and fault tests.

Each client reads (REST list and ``me``, the GraphQL ``users`` connection) and writes (PATCH
of a user of its own, create of a new user) in turn, as staff. Every answer is kept with its
timing; the writes a 2xx acknowledged are kept apart, to be looked for in the database
afterwards.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.db.models import User

GRAPHQL_USERS = "{ users(first: 10) { edges { node { username jobTitle } } } }"
OPERATIONS = ("list", "me", "graphql", "patch", "create")


@dataclass
class Answer:
    operation: str
    status: int
    started: float
    finished: float
    headers: dict[str, str]
    body: Any

    @property
    def latency(self) -> float:
        return self.finished - self.started

    @property
    def graphql_codes(self) -> list[str]:
        if not isinstance(self.body, dict):
            return []
        return [(e.get("extensions") or {}).get("code") for e in self.body.get("errors") or ()]


@dataclass
class Traffic:
    """Clients share ``http``, the staff ``auth`` headers and the server's ``base`` URL;
    ``targets`` are the uuids (hex) of the users the clients PATCH, one per client."""

    http: aiohttp.ClientSession
    base: str
    auth: dict[str, str]
    targets: list[str]
    prefix: str = "load"
    answers: list[Answer] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # usernames acknowledged with 201
    patched: dict[str, str] = field(default_factory=dict)  # uuid -> last acknowledged title
    attempted: dict[str, list[str]] = field(default_factory=dict)  # uuid -> titles sent
    _numbers: itertools.count[int] = field(default_factory=itertools.count)

    async def request(self, operation: str, client: int) -> Answer:
        number = next(self._numbers)
        target = self.targets[client % len(self.targets)]
        kwargs: dict[str, Any] = {"headers": self.auth}
        method, url = "GET", f"{self.base}/api/users/?page_size=10"
        if operation == "me":
            url = f"{self.base}/api/users/me/"
        elif operation == "graphql":
            method, url = "POST", f"{self.base}/graphql"
            kwargs["json"] = {"query": GRAPHQL_USERS}
        elif operation == "patch":
            method, url = "PATCH", f"{self.base}/api/users/{target}/"
            title = f"title {number}"
            kwargs["json"] = {"job_title": title}
            self.attempted.setdefault(target, []).append(title)
        elif operation == "create":
            method = "POST"
            username = f"{self.prefix}{number}"
            kwargs["json"] = {"username": username, "email": f"{username}@example.com"}
        started = time.monotonic()
        try:
            async with self.http.request(method, url, **kwargs) as response:
                raw = await response.read()
                status, headers = response.status, dict(response.headers)
        except (TimeoutError, aiohttp.ClientConnectionError):
            status, headers, raw = 0, {}, b""  # no answer at all (the server was killed)
        body: Any = None
        if raw:
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                body = raw.decode(errors="replace")
        answer = Answer(operation, status, started, time.monotonic(), headers, body)
        self.answers.append(answer)
        if 200 <= status < 300:
            if operation == "create":
                self.created.append(kwargs["json"]["username"])
            elif operation == "patch":
                self.patched[target] = kwargs["json"]["job_title"]
        return answer

    async def client(self, index: int, stop: asyncio.Event, pause: float = 0.0) -> None:
        operations = itertools.islice(itertools.cycle(OPERATIONS), index, None)
        for operation in operations:
            if stop.is_set():
                return
            await self.request(operation, index)
            if pause:
                await asyncio.sleep(pause)

    async def run(self, clients: int, seconds: float, pause: float = 0.0) -> None:
        """``clients`` concurrent clients for ``seconds``."""
        stop = asyncio.Event()
        tasks = [asyncio.create_task(self.client(i, stop, pause)) for i in range(clients)]
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks)

    def summary(self, label: str) -> str:
        """One line: requests, answers by status, p50/p99 latency in milliseconds."""
        statuses = Counter(answer.status for answer in self.answers)
        latencies = sorted(answer.latency for answer in self.answers)

        def percentile(p: float) -> float:
            if not latencies:
                return 0.0
            return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

        by_status = " ".join(f"{status}:{count}" for status, count in sorted(statuses.items()))
        return (
            f"{label}: {len(self.answers)} requests, by status {by_status}, "
            f"created {len(self.created)}, p50 {percentile(0.5):.0f} ms, "
            f"p99 {percentile(0.99):.0f} ms"
        )


async def missing_writes(session: AsyncSession, traffic: Traffic, exact: bool) -> list[str]:
    """Acknowledged writes not in the database: created usernames, and PATCHed titles (with
    ``exact``, the stored title is the last acknowledged one; without, it is that one or one
    sent after it, whose answer was lost)."""
    stored = set(
        await session.scalars(
            select(User.username)
            .where(User.username.in_(traffic.created))
            .execution_options(populate_existing=True)
        )
    )
    missing = [name for name in traffic.created if name not in stored]
    for target, title in traffic.patched.items():
        user = await session.scalar(
            select(User)
            .where(User.uuid == uuid.UUID(target))
            .execution_options(populate_existing=True)
        )
        assert user is not None
        sent = traffic.attempted[target]
        allowed = [title] if exact else sent[sent.index(title) :]
        if user.job_title not in allowed:
            missing.append(f"{target}: {title!r} acknowledged, {user.job_title!r} stored")
    return missing
