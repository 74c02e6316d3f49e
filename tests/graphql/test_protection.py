"""Protection: depth, alias and token limits, the linear document analysis and the query cost,
the validation budget, introspection switch, no batching, caches that hit, and unexpected
errors masked with an id that is logged."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import graphql
import pytest
from aiohttp.test_utils import TestClient
from graphql import ASTValidationRule, DocumentNode, ValidationContext, parse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.extensions import AddValidationRules, SchemaExtension
from strawberry.schema.config import StrawberryConfig

from gql_users.settings import Settings
from gql_users.web.app import create_app
from gql_users.web.playground import load_operations, playground_dir
from resolvers import protection
from resolvers.document_limits import (
    CEILING,
    UNPAGED_LIST_SIZE,
    count_spreads,
    measure_document,
    operations_of,
    query_cost,
)
from resolvers.protection import (
    Limits,
    PassedDocuments,
    document_clock,
    protection_extensions,
    timing_collections,
)
from resolvers.scalars import SCALAR_MAP
from resolvers.schema import Mutation, Query, Schema, build_schema
from resolvers.users.queries import DEFAULT_PAGE_SIZE
from tests.conftest import Factory
from tests.graphql.conftest import GraphQLClient
from tests.hostile.graphql_limits_support import fragment_bomb

DEEP = """{ users { edges { node { permissions { createdBy { permissions { createdBy {
  permissions { createdBy { permissions { createdBy { username } } } } } } } } } } } }"""


def aliases(count: int) -> str:
    return "{ " + " ".join(f"a{n}: __typename" for n in range(count)) + " }"


async def client_with(aiohttp_client: Any, settings: Settings, **overrides: Any) -> GraphQLClient:
    app = create_app(settings.model_copy(update=overrides))
    return GraphQLClient(await aiohttp_client(app))


async def test_depth_limit(gql: GraphQLClient, factory: Factory) -> None:
    staff = await factory.user("staff", is_staff=True)
    response = await gql(DEEP, headers=await factory.auth(staff))
    assert response.status == 200
    assert "data" not in response.body
    assert response.errors[0]["message"] == "'anonymous' exceeds maximum operation depth of 10"


async def test_alias_limit(gql: GraphQLClient) -> None:
    assert (await gql(aliases(15))).errors == []
    response = await gql(aliases(16))
    assert "data" not in response.body
    assert response.errors[0]["message"] == "16 aliases found. Allowed: 15"


async def test_token_limit(gql: GraphQLClient) -> None:
    response = await gql("{ " + "__typename " * 2001 + "}")
    assert "data" not in response.body
    assert response.errors[0]["message"] == (
        "Syntax Error: Document contains more than 2000 tokens. Parsing aborted."
    )


async def test_limits_follow_the_settings(aiohttp_client: Any, settings: Settings) -> None:
    shallow = await client_with(aiohttp_client, settings, graphql_max_depth=1)
    too_deep = await shallow("{ me { permissions { roleName } } }")
    assert too_deep.errors[0]["message"] == "'anonymous' exceeds maximum operation depth of 1"
    no_aliases = await client_with(aiohttp_client, settings, graphql_max_aliases=0)
    too_many_aliases = await no_aliases("{ a: __typename }")
    assert too_many_aliases.errors[0]["message"] == "1 aliases found. Allowed: 0"
    short = await client_with(aiohttp_client, settings, graphql_max_tokens=5)
    too_long = await short("{ __typename __typename __typename __typename }")
    assert "more than 5 tokens" in too_long.errors[0]["message"]


INTROSPECTION = "{ __schema { queryType { name } } }"


async def test_introspection_is_on_by_default(gql: GraphQLClient) -> None:
    assert await gql.ok(INTROSPECTION) == {"__schema": {"queryType": {"name": "Query"}}}


async def test_introspection_can_be_turned_off(aiohttp_client: Any, settings: Settings) -> None:
    closed = await client_with(aiohttp_client, settings, graphql_introspection=False)
    response = await closed(INTROSPECTION)
    assert "data" not in response.body
    assert "introspection" in response.errors[0]["message"].lower()
    assert await closed.ok("{ __typename }") == {"__typename": "Query"}


async def test_the_full_introspection_query_fits_the_default_limits(gql: GraphQLClient) -> None:
    """GraphiQL and code generators send this document; the defaults must let it through."""
    from graphql import get_introspection_query

    data = await gql.ok(get_introspection_query(descriptions=True))
    assert data["__schema"]["queryType"]["name"] == "Query"


async def test_operation_batching_is_off(client: TestClient) -> None:
    response = await client.post(
        "/graphql", json=[{"query": "{ __typename }"}, {"query": "{ __typename }"}]
    )
    assert response.status == 400
    assert (await response.json())["errors"][0]["message"] == "Batching is not enabled"


async def test_parser_and_validation_caches_hit() -> None:
    """Observed through Strawberry's public extension API on a schema with the app's own
    protection extensions: a validation rule runs only when a document is really validated,
    and the parsed document a request executes is the same object when the parse was cached."""
    validations: list[int] = []
    documents: list[DocumentNode | None] = []

    class CountValidations(ASTValidationRule):  # a new class: no earlier test cached it
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            validations.append(1)

    class RecordDocuments(SchemaExtension):
        def on_execute(self) -> Iterator[None]:
            documents.append(self.execution_context.graphql_document)
            yield

    schema = Schema(
        query=Query,
        mutation=Mutation,
        extensions=[
            *protection_extensions(Limits.from_settings(Settings())),
            partial(AddValidationRules, [CountValidations]),
            RecordDocuments,
        ],
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
    )
    for document in ["query CacheProbe { __typename }"] * 3 + ["query Other { __typename }"]:
        result = await schema.execute(document)
        assert result.errors is None and result.data == {"__typename": "Query"}
    assert len(validations) == 2  # the probe once, then the other document
    assert documents[0] is documents[1] is documents[2]
    assert documents[3] is not documents[0]


async def test_an_unexpected_error_is_masked_and_logged(
    gql: GraphQLClient,
    factory: Factory,
    session: AsyncSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    alice = await factory.user("alice")
    headers = await factory.auth(alice)
    # A real failure inside a resolver: the table its DataLoader reads is gone.
    await session.execute(text("DROP TABLE email_change_requests"))
    await session.commit()
    with caplog.at_level(logging.ERROR, logger="gql_users.graphql"):
        response = await gql(
            "{ me { username requestedEmail } }", headers={**headers, "X-Request-Id": "rq-7"}
        )
    assert response.status == 200
    assert response.data == {"me": {"username": "alice", "requestedEmail": None}}
    [error] = response.errors
    assert error["message"] == "Unexpected error."
    assert error["path"] == ["me", "requestedEmail"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    error_id = error["extensions"]["errorId"]
    assert set(error["extensions"]) == {"code", "errorId", "requestId"}
    assert error["extensions"]["requestId"] == "rq-7"
    body = str(response.body).lower()
    for leak in ("email_change_requests", "sqlite", "relation", "traceback", "select"):
        assert leak not in body
    [record] = [r for r in caplog.records if error_id in r.getMessage()]
    assert record.exc_info is not None
    assert "email_change_requests" in caplog.text  # the log has the detail, the client not


# --- the linear document analysis and the cost (resolvers/document_limits.py) ----------------


def test_each_fragment_is_measured_once() -> None:
    """2**35 expanded fields: a measure that expanded spreads would never return."""
    document = parse(fragment_bomb(35))
    shape = measure_document(document)
    assert shape.widest == 2**35
    assert shape.repeated == (2**35, "username")
    assert shape.depth == {"anonymous": 1}
    assert count_spreads(document) == 71


def test_counts_saturate_instead_of_growing_without_bound() -> None:
    shape = measure_document(parse(fragment_bomb(200)))
    assert shape.widest == CEILING


def test_repeated_response_keys_are_counted_per_selection_set() -> None:
    document = parse(
        "{ me { ...A a: username username ...A permissions { roleName roleName } } } "
        "fragment A on User { username a: username }"
    )
    shape = measure_document(document)
    assert shape.repeated == (3, "username")  # two from the fragments, one written
    assert shape.widest == 7


def test_fragment_cycles_end_the_walk() -> None:
    document = parse(
        "{ me { ...A } } fragment A on User { a: username ...B } "
        "fragment B on User { b: email ...A permissions { ...A } }"
    )
    shape = measure_document(document)
    assert shape.aliases == 2
    [operation] = operations_of(document)
    assert cost_of(document, operation, {}) > 0


async def test_fragment_cycles_are_reported_by_the_standard_rule(gql: GraphQLClient) -> None:
    response = await gql("{ me { ...A } } fragment A on User { ...B } fragment B on User { ...A }")
    assert "data" not in response.body
    assert "within itself" in response.errors[0]["message"]


def cost_of(document: Any, operation: Any, variables: dict[str, Any]) -> int:
    return query_cost(
        graphql.build_schema(build_schema().as_str()),  # graphql-core's reading of the SDL
        document,
        operation,
        variables,
        default_page_size=DEFAULT_PAGE_SIZE,
        max_page_size=Settings().graphql_max_page_size,
    )


PAGE = "query Page($first: Int = 7) { users(first: $first) { edges { node { username } } } }"


def page_cost(variables: dict[str, Any], document: str = PAGE) -> int:
    parsed = parse(document)
    return cost_of(parsed, operations_of(parsed)[0], variables)


def test_the_cost_of_a_page_grows_with_its_size() -> None:
    one, two, three = (page_cost({"first": n}) for n in (1, 2, 3))
    assert two - one == three - two > 0
    assert page_cost({"first": 0}) == one - (two - one)
    assert page_cost({}) == page_cost({"first": 7})  # the variable's default
    absent = "{ users { edges { node { username } } } }"
    assert page_cost({}, absent) == page_cost({"first": DEFAULT_PAGE_SIZE})
    maximum = Settings().graphql_max_page_size
    assert page_cost({"first": 10**9}) == page_cost({"first": maximum})
    assert page_cost({"first": "ten"}) == page_cost({"first": DEFAULT_PAGE_SIZE})
    last = "query($n: Int) { users(last: $n) { edges { node { username } } } }"
    assert page_cost({"n": 3}, last) == three


def test_unpaged_lists_multiply_and_introspection_is_free() -> None:
    lists = "{ me { permissions { roleName } } }"
    assert page_cost({}, lists) == 1 + 1 + UNPAGED_LIST_SIZE * 1
    assert page_cost({}, "{ __typename __schema { types { fields { name } } } }") == 0


def test_every_saved_playground_operation_fits_the_cost_limit_at_the_largest_page() -> None:
    settings = Settings()
    for saved in load_operations(playground_dir() / "operations"):
        variables = dict(saved.variables or {})
        if "first" in variables:
            variables["first"] = settings.graphql_max_page_size
        assert page_cost(variables, saved.document) <= settings.graphql_max_cost, saved.name


async def test_the_validation_budget_refuses_and_is_not_cached(
    aiohttp_client: Any, settings: Settings, gql: GraphQLClient
) -> None:
    from graphql import get_introspection_query

    document = get_introspection_query(descriptions=False) + " "  # a document no test caches
    hurried = await client_with(aiohttp_client, settings, graphql_validation_timeout=1e-9)
    response = await hurried(document)
    assert "data" not in response.body
    [error] = response.errors
    assert error["message"] == (
        "Validating the document took longer than 1e-09 s; send a simpler document."
    )
    assert error["extensions"] == {"code": "VALIDATION_TIMEOUT", "timeoutSeconds": 1e-9}
    # The same document, with time to validate, is fine: the refusal was not cached.
    assert (await gql.ok(document))["__schema"]["queryType"]["name"] == "Query"


async def test_several_operations_need_an_operation_name(gql: GraphQLClient) -> None:
    response = await gql("query A { __typename } query B { __typename }")
    assert "data" not in response.body
    assert response.codes == ["OPERATION_NAME_REQUIRED"]
    one = await gql("query A { __typename }")
    assert one.data == {"__typename": "Query"}


def test_the_validation_clock_leaves_out_garbage_collections() -> None:
    """A full collection of a large heap is not the document's doing: the budget's clock
    stands still through it (a pytest worker's heap made simple documents time out)."""
    heap = [[] for _ in range(1_000_000)]  # a million tracked objects for the collector
    with timing_collections():
        cpu, clock = time.thread_time(), document_clock()
        gc.collect()
        spent_cpu, spent_clock = time.thread_time() - cpu, document_clock() - clock
    assert len(heap) == 1_000_000
    assert spent_cpu > 0
    assert spent_clock < spent_cpu / 10, (spent_clock, spent_cpu)
    # Outside a timing, collections are not timed (nor left out).
    cpu, clock = time.thread_time(), document_clock()
    gc.collect()
    spent_cpu, spent_clock = time.thread_time() - cpu, document_clock() - clock
    assert spent_clock > spent_cpu / 2, (spent_clock, spent_cpu)


async def test_a_document_that_passed_is_not_measured_again_but_each_request_is_costed(
    aiohttp_client: Any, settings: Settings, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shape of a document that passed every check is not measured again (the parser
    cache hands the same object); the cost, which the variables change, is checked at every
    request; a document refused by a check is checked again each time."""
    measured: list[DocumentNode] = []

    def measuring(document: DocumentNode) -> Any:
        measured.append(document)
        return measure_document(document)

    monkeypatch.setattr(protection, "measure_document", measuring)
    limit = page_cost({"first": 5})
    guarded = await client_with(aiohttp_client, settings, graphql_max_cost=limit)
    headers = await factory.auth(await factory.user("staff", is_staff=True))
    for _ in range(3):
        assert (await guarded(PAGE, {"first": 5}, headers=headers)).errors == []
    assert len(measured) == 1
    [error] = (await guarded(PAGE, {"first": 6}, headers=headers)).errors
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    unknown = "query Unknown { users(first: 1) { edges { node { noSuchField } } } }"
    for count in (2, 3):
        [error] = (await guarded(unknown)).errors
        assert "noSuchField" in error["message"]
        assert len(measured) == count  # refused: measured again
    assert (await guarded(PAGE, {"first": 1}, headers=headers)).errors == []
    assert len(measured) == 3


def test_passed_documents_are_kept_by_identity_and_the_oldest_go_first() -> None:
    passed = PassedDocuments(2)
    first, second, third = (parse(f"query Q{n} {{ __typename }}") for n in range(3))
    passed.add(first)
    passed.add(second)
    assert first in passed  # now the most recently used
    passed.add(third)
    assert first in passed and third in passed and second not in passed
    assert parse("query Q0 { __typename }") not in passed  # the same text, another object
