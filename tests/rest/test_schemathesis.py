"""schemathesis against a live gql-users: the published Waldur document and our own.

Each test fills a fresh database, starts gql-users in a child process over it, and lets
schemathesis generate requests (valid and invalid) for every operation, as staff or as a
normal user. Every response must be free of 5xx and match the documented body and content
type. Status codes are not checked: the published document lists no error codes at all.

Generated-request budget (asserted per test, at least 2,200 in all, per database):
    published document, staff and normal user: 17 operations x 50 examples, >= 800 each
    our /api/schema/ document, staff and normal user: 41 operations x 20, >= 320 each
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import schemathesis
from schemathesis.schemas import BaseSchema

from gql_users.settings import Settings
from tests.conftest import FIGURES, Factory
from tests.rest.schemathesis_support import Report, World, run_schemathesis, seed_world, serve

RecordProperty = Callable[[str, object], None]
PUBLISHED = Path(__file__).resolve().parents[1] / "reference" / "openapi-users.yaml"
OUT_OF_SCOPE = "remove_password|profile_completeness"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
PUBLISHED_EXAMPLES, PUBLISHED_MINIMUM = 50, 800
OWN_EXAMPLES, OWN_MINIMUM = 20, 320


@pytest.fixture
async def gateway(settings: Settings, factory: Factory) -> AsyncIterator[tuple[str, World]]:
    world = await seed_world(factory)
    with serve(settings) as base_url:
        yield base_url, world


def published_document() -> BaseSchema:
    assert PUBLISHED.is_file(), f"the published document is expected at {PUBLISHED}"
    return schemathesis.openapi.from_path(PUBLISHED).exclude(operation_id_regex=OUT_OF_SCOPE)


def own_document(base_url: str) -> BaseSchema:
    return schemathesis.openapi.from_url(base_url + "/api/schema/")


async def run_as(
    schema: BaseSchema, base_url: str, world: World, caller: str, examples: int
) -> Report:
    token = world.staff_key if caller == "staff" else world.user_key
    targets = {method: world.targets(caller, method) for method in METHODS}
    return await asyncio.to_thread(
        run_schemathesis, schema, base_url, token, targets, examples=examples
    )


def assert_clean(report: Report, minimum: int, record_property: RecordProperty) -> None:
    record_property(FIGURES, f"{report.requests} generated requests")
    assert not report.failures, report.describe_failures()
    assert report.requests >= minimum, f"only {report.requests} generated requests"
    # generation reached the success paths, not only the refusals
    assert 200 in report.statuses_seen("GET /api/users/")
    assert 200 in report.statuses_seen("GET /api/users/{uuid}/")
    assert 200 in report.statuses_seen("PATCH /api/users/{uuid}/")


@pytest.mark.parametrize("caller", ["staff", "user"])
async def test_published_document_finds_no_server_error_and_no_schema_violation(
    gateway: tuple[str, World], caller: str, record_property: RecordProperty
) -> None:
    base_url, world = gateway
    schema = published_document()
    operations = {result.ok().label for result in schema.get_all_operations()}
    assert len(operations) == 17 and not any("remove_password" in op for op in operations)
    report = await run_as(schema, base_url, world, caller, PUBLISHED_EXAMPLES)
    assert_clean(report, PUBLISHED_MINIMUM, record_property)
    if caller == "staff":
        assert 201 in report.statuses_seen("POST /api/users/")
        assert 204 in report.statuses_seen("DELETE /api/users/{uuid}/")
        assert 200 in report.statuses_seen("POST /api/users/{uuid}/refresh_token/")


@pytest.mark.parametrize("caller", ["staff", "user"])
async def test_own_document_finds_no_server_error_and_no_schema_violation(
    gateway: tuple[str, World], caller: str, record_property: RecordProperty
) -> None:
    base_url, world = gateway
    schema = own_document(base_url)
    report = await run_as(schema, base_url, world, caller, OWN_EXAMPLES)
    assert_clean(report, OWN_MINIMUM, record_property)
