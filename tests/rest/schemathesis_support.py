"""Running schemathesis against gql-users served by a separate process.

schemathesis sends its requests synchronously (``requests``), so the server cannot share the
test's event loop: it runs as ``python -c`` with ``create_app`` on a free port, over the test's
own database, which ``seed_world`` fills first. Path parameters are not left to chance: a
generated ``{uuid}`` would name no user, so each operation walks a list of seeded users (and
keeps the generated, unknown uuid now and then, which exercises the 404 path).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)
from sqlalchemy import insert

from gql_users.db.models import EmailChangeRequest, User, utcnow
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.live_server import LiveServer

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
"""No 5xx, bodies and content types as documented. Not status-code conformance: the published
document lists no error codes at all."""


DISPOSABLE_USERS = 40


@dataclass
class World:
    """The seeded users, as uuid hex strings, and the two callers' token keys."""

    staff_key: str
    user_key: str
    user: str
    colleague: str
    stranger: str
    members: list[str]
    disposable: list[str]

    def targets(self, caller: str, method: str) -> list[str | None]:
        """The uuids one caller's operation walks through; None keeps the generated uuid.

        Staff never targets itself (a generated PATCH could demote or deactivate the caller
        and end the run) and deletes only users that exist to be deleted. The normal user
        targets itself (its own writes are the ones it may make), a colleague it can see
        (403) and a stranger it cannot (404).
        """
        if caller == "staff":
            if method == "DELETE":
                return [*self.disposable, None]
            return [*self.members, self.colleague, self.stranger, self.user, None]
        return [self.user, self.colleague, self.stranger, self.members[0], None]


async def seed_world(factory: Factory) -> World:
    """A customer with an owner (the normal caller), a support colleague and project members
    whose roles have a creator, a stranger, a pending email change, and disposable users."""
    staff = await factory.user("staff", is_staff=True, slug="staff-1", first_name="Stella")
    user = await factory.user("owner", slug="owner-1", first_name="Olga", last_name="\u00d6stlund")
    colleague = await factory.user("colleague", slug="colleag-1", job_title="Support")
    stranger = await factory.user("stranger", slug="stranger-1", phone_number="+372 555")
    customer = await factory.customer("Acme")
    project = await factory.project(customer, "Rocket")
    await factory.grant(user, "CUSTOMER.OWNER", customer)
    await factory.grant(colleague, "CUSTOMER.SUPPORT", customer, created_by=staff)
    members = []
    for number, role in enumerate(["PROJECT.ADMIN", "PROJECT.MANAGER", "PROJECT.MEMBER"]):
        member = await factory.user(f"member{number}", slug=f"member{number}-1", affiliations=["x"])
        await factory.grant(member, role, project, created_by=staff)
        members.append(member.uuid.hex)
    session = factory.session
    session.add(EmailChangeRequest(user_id=colleague.id, email="new@example.com", created=utcnow()))
    disposable = await session.scalars(
        insert(User).returning(User.uuid),
        [
            {
                "username": f"spare{number:02d}",
                "email": f"spare{number}@example.com",
                "slug": "spare-1",
            }
            for number in range(DISPOSABLE_USERS)
        ],
    )
    await session.commit()
    return World(
        staff_key=await factory.token(staff),
        user_key=await factory.token(user),
        user=user.uuid.hex,
        colleague=colleague.uuid.hex,
        stranger=stranger.uuid.hex,
        members=members,
        disposable=[value.hex for value in disposable],
    )


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """gql-users in a child process over ``settings.database_url``; yields its base URL.

    The sliding-token debounce is 0 so that a generated ``token_lifetime: 60`` on the normal
    user's own profile cannot expire its token in the middle of the run.
    """
    server = LiveServer(
        Path(settings.media_dir).parent,
        database_url=settings.database_url,
        env={
            "GQL_USERS_MAIL_DIR": settings.mail_dir,
            "GQL_USERS_MEDIA_DIR": settings.media_dir,
            "GQL_USERS_TOKEN_REFRESH_DEBOUNCE": "0",
            "GQL_USERS_LOG_LEVEL": "WARNING",
        },
    )
    try:
        yield server.start()
    finally:
        server.stop()


@dataclass
class Report:
    requests: int = 0
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def describe_failures(self) -> str:
        return "\n\n".join(
            f"== {label}: {len(found)} failing cases; the first:\n{found[0]}"
            for label, found in self.failures.items()
        )

    def statuses_seen(self, label: str) -> set[int]:
        return set(self.statuses[label])


def run_schemathesis(
    schema: BaseSchema,
    base_url: str,
    token: str,
    targets_for: dict[str, Sequence[str | None]] | None = None,
    *,
    examples: int,
    negative: bool = True,
) -> Report:
    """Up to ``examples`` generated requests per operation, every response checked.

    Failures are collected rather than raised, so one run reports every broken operation
    (and hypothesis does not spend the time budget shrinking against a live server).

    Args:
        schema: the loaded document, already filtered.
        base_url: the server's root.
        token: the caller's token key.
        targets_for: method -> uuids that ``{uuid}`` walks through (None: keep the generated).
        examples: hypothesis ``max_examples`` per operation.
        negative: also generate invalid requests (half the examples, roughly), which must
            never produce a 5xx either.
    """
    report = Report()
    http = requests.Session()
    headers = {"Authorization": f"Token {token}"}
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = operation.as_strategy(GenerationMode.POSITIVE)
        if negative:
            strategy = st.one_of(strategy, operation.as_strategy(GenerationMode.NEGATIVE))
        targets = (targets_for or {}).get(operation.method.upper(), [None])
        exercise = _exerciser(report, http, base_url, headers, operation.label, targets)
        given(case=strategy)(
            settings(
                max_examples=examples,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )(exercise)
        )()
    return report


def _exerciser(
    report: Report,
    http: requests.Session,
    base_url: str,
    headers: dict[str, str],
    label: str,
    targets: Sequence[str | None],
) -> Callable[[Case], None]:
    """The body of one operation's hypothesis test: aim, send, check, record."""
    cycle = itertools.cycle(targets)

    def exercise(case: Case) -> None:
        target = next(cycle)
        if target is not None and "uuid" in (case.path_parameters or {}):
            case.path_parameters["uuid"] = target  # type: ignore[index]
        report.requests += 1
        try:
            response = case.call_and_validate(
                base_url=base_url, session=http, headers=headers, checks=CHECKS, timeout=30
            )
        except FailureGroup as failure:
            report.failures[label].append(str(failure))
            return
        report.statuses[label][response.status_code] += 1

    return exercise
