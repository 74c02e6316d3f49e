"""Compiled execution of plain subtrees (resolvers/compiled.py): whatever the document and the
data, the response is the one graphql-core's own executor gives, errors included, and compiled
code is what answers the pages it can answer."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from enum import Enum
from typing import Annotated, Any
from uuid import UUID

import strawberry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from bench.run import GRAPHQL_PAGE
from gql_users.settings import Settings
from resolvers.compiled import MAX_VARIANTS, Plans
from resolvers.execution import executor_for
from resolvers.schema import build_schema
from tests.conftest import Factory
from tests.graphql.conftest import GraphQLClient, GraphQLResponse
from tests.graphql.test_planning import USER_FIELDS, WRITTEN_OTHERWISE, general_executor, populate

# --- a schema of its own, with every way a plain value can go wrong --------------------------


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.interface
class Named:
    name: str


class Read:
    """A field computed when it is read, as ``types.Computed`` does: the instance's
    ``_<name>``, raised when it is an exception, a coroutine when it is ``Later`` (a new one
    each read, or the same one kept in the instance)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__.get(f"_{self.name}")
        if isinstance(value, Exception):
            raise value
        if isinstance(value, Later):
            if not value.kept:
                return later(value.value)
            kept = f"kept_{self.name}"
            if kept not in instance.__dict__:
                instance.__dict__[kept] = later(value.value)
            return instance.__dict__[kept]
        return value


class Later:
    def __init__(self, value: Any, *, kept: bool = False) -> None:
        self.value = value
        self.kept = kept


async def later(value: Any) -> Any:
    return value


@strawberry.type
class Pet:
    name: str
    colour: Colour | None = None


@strawberry.type
class Person(Named):
    name: str
    age: int | None
    score: float
    awake: bool
    born: date
    seen: datetime
    key: UUID
    code: strawberry.ID
    colour: Colour
    tags: list[str | None]
    grid: list[list[int | None]]
    friend: Person | None
    best: Person
    pets: list[Pet]
    pal: Annotated[Person | Pet, strawberry.union("Pal")] | None
    computed: str | None

    @strawberry.field
    def greeting(self) -> str:
        if self.name == "boom":
            raise ValueError("no greeting for boom")
        return f"hi {self.name}"


Person.computed = Read("computed")  # type: ignore[assignment]
Person.friend = Read("friend")  # type: ignore[assignment]


class Impostor(Person):
    """A ``Person`` of another class (graphql-core takes it; compiled code gives it up)."""


def person(name: str, **fields: Any) -> Person:
    values: dict[str, Any] = {
        "name": name,
        "age": 30,
        "score": 1.5,
        "awake": True,
        "born": date(1990, 1, 2),
        "seen": datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
        "key": UUID(int=len(name)),
        "code": f"id-{name}",
        "colour": Colour.RED,
        "tags": ["a", None],
        "grid": [[1, None], []],
        "_friend": None,
        "pets": [Pet(name="rex", colour=Colour.BLUE), Pet(name="tom")],
        "pal": Pet(name="pal"),
        "_computed": f"computed {name}",
    }
    values.update({f"_{k}" if k == "friend" else k: v for k, v in fields.items()})
    cls = values.pop("cls", Person)
    made = object.__new__(cls)
    best = values.pop("best", made)
    for attribute, value in values.items():
        made.__dict__[attribute] = value
    made.__dict__["best"] = best
    return made


def people() -> list[Person | None]:
    """Good people, then one anomaly each (on the person, or on what it leads to)."""
    good = person("ann", friend=person("bob"), pal=person("cy"))
    return [
        good,
        None,
        person("dee", friend=good, pets=[]),
        person("boom"),  # a plain method that raises
        person("eve", _computed=RuntimeError("planned load failed")),  # a read that raises
        person("fay", _computed=Later("late")),  # an awaitable, new each read
        person("gus", computed=None, pal=None),
        person("hal", friend=person("ida", best=None)),  # null on a non-null field
        person("jo", age="seven"),  # a failed coercion
        person("kim", age=2**40),  # an Int out of range
        person("lee", colour="green"),  # not a member of the enum
        person("max", friend=person("ned", cls=Impostor)),  # another class
        person("oz", pal=Colour.RED),  # a union member unknown by its class
        person("pam", pal=strawberry.cast(Pet, person("quo"))),  # cast to another member
        person("rae", tags=["a", 3]),  # a String that is an int: coerced
        person("sam", grid=[[1, "x"]]),  # a nested list item that fails
        person("tim", pets=[Pet(name="p"), None]),  # null in a list of non-null
        person("uma", friend=Later(person("vic"))),  # an awaitable object
        person("wes", _computed=Later("kept", kept=True)),  # the same awaitable each read
    ]


@strawberry.type
class Query:
    @strawberry.field
    def people(self) -> list[Person | None]:
        return people()

    @strawberry.field
    async def later_people(self) -> list[Person | None]:
        return people()

    @strawberry.field
    def good(self) -> Person:
        return person("ann", friend=person("bob"), pal=person("cy"))


PERSON = """
  __typename name age score awake born seen key code colour tags grid greeting computed
  friend { name ...Who best { name } }
  best { name }
  pets { name colour __typename }
  pal { __typename ... on Person { name friend { name } } ... on Pet { name } }
  ...Who
  ... on Named { name alias: name }
"""
FRAGMENT = "fragment Who on Person { name also: age friend { age } }"

DOCUMENTS = [
    f"{{ people {{ {PERSON} }} }} {FRAGMENT}",
    f"{{ laterPeople {{ {PERSON} }} }} {FRAGMENT}",
    "{ people { name } again: people { name greeting } }",
    "{ laterPeople { pal { ... on Pet { colour } } friend { friend { friend { name } } } } }",
    "{ good { name friend { name } friend { age } pal { ... on Person { best { name } } } } }",
    "{ people { grid tags } }",
    "{ people { computed } }",
    "{ good { ...on Person { ... on Named { name } } } }",
]


def outcome(result: Any) -> tuple[Any, list[tuple[Any, ...]]]:
    """The data, in its keys' order, and the errors with their paths and locations."""
    errors = [
        (error.message, error.path, [(loc.line, loc.column) for loc in error.locations or []])
        for error in result.errors or []
    ]
    return in_order(result.data), errors


def in_order(data: Any) -> Any:
    """``data`` with each dict as the list of its items: equal only in the same order."""
    if isinstance(data, dict):
        return [(key, in_order(value)) for key, value in data.items()]
    if isinstance(data, list):
        return [in_order(item) for item in data]
    return data


@contextmanager
def no_coroutine_left() -> Iterator[None]:
    """Fails when a coroutine was left never awaited meanwhile."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
        gc.collect()
    left = [w for w in caught if "was never awaited" in str(w.message)]
    assert not left, left


def compiled_schema(plans: int = 256) -> tuple[strawberry.Schema, Plans]:
    """The schema with compiled execution; as the service's, it keeps parsed documents (the
    same text, the same nodes: the same plans)."""
    schema = strawberry.Schema(query=Query, extensions=[ParserCache])
    executor = executor_for(schema._schema, plans)
    schema.execution_context_class = executor
    assert executor.plans is not None
    return schema, executor.plans


async def reference(document: str, variables: dict[str, Any] | None = None) -> Any:
    schema = strawberry.Schema(query=Query)
    assert schema.execution_context_class is StrawberryGraphQLCoreExecutionContext
    return outcome(await schema.execute(document, variable_values=variables))


async def test_compiled_code_answers_as_graphql_core_does_whatever_goes_wrong() -> None:
    schema, plans = compiled_schema()
    for document in DOCUMENTS:
        expected = await reference(document)
        for _ in range(3):  # the general way, compiled, then taken from the plans
            with no_coroutine_left():
                got = outcome(await schema.execute(document))
            assert got == expected, document
    result = await strawberry.Schema(query=Query).execute(DOCUMENTS[0])
    data = result.data
    assert data is not None
    assert [tuple(error.path or ()) for error in result.errors or []] == [
        ("people", 3, "greeting"),  # a method that raises: the person is null
        ("people", 4, "computed"),  # a read that raises: the field is null
        ("people", 7, "friend", "best"),  # null on a non-null field: the friend is null
        ("people", 8, "age"),  # a failed coercion, under its name and its alias
        ("people", 8, "also"),
        ("people", 9, "age"),
        ("people", 9, "also"),
        ("people", 10, "colour"),
        ("people", 12, "pal"),
        ("people", 15, "grid", 0, 1),
        ("people", 16, "pets", 1),
    ]
    names = [p and p["name"] for p in data["people"]]
    assert names[:4] == ["ann", None, "dee", None] and names[-2:] == ["uma", "wes"]
    assert data["people"][7]["friend"] is None and data["people"][17]["friend"]["name"] == "vic"
    assert data["people"][18]["computed"] == "kept"
    assert plans.completed and plans.fallbacks


async def test_good_values_are_completed_by_compiled_code_alone() -> None:
    schema, plans = compiled_schema()
    document = "{ good { name pets { name } pal { __typename } friend { key seen born } } }"
    for round_number in range(4):  # the first time, the general way
        result = await schema.execute(document)
        assert not result.errors
        assert (plans.completed, plans.fallbacks) == (round_number, 0)
    assert result.data == {
        "good": {
            "name": "ann",
            "pets": [{"name": "rex"}, {"name": "tom"}],
            "pal": {"__typename": "Person"},
            "friend": {"key": str(UUID(int=3)), "seen": "2024-05-06T07:08:09+00:00",
                       "born": "1990-01-02"},
        }
    }  # fmt: skip


async def test_a_value_given_up_is_completed_the_general_way_without_trying_it_again() -> None:
    schema, plans = compiled_schema()
    document = "{ people { computed } }"
    for _ in range(2):  # the general way, then compiled
        await schema.execute(document)
    before = (plans.completed, plans.fallbacks)
    result = await schema.execute(document)
    assert outcome(result) == await reference(document)
    # The list is given up (eve's read raises), and completed the general way: each person
    # compiled, but for eve, fay and wes (an awaitable); the list itself is not tried again.
    assert (plans.completed - before[0], plans.fallbacks - before[1]) == (len(people()) - 3, 4)


SKIPPING = """
query Skipping($a: Boolean!, $b: Boolean!, $c: Boolean!, $d: Boolean!, $e: Boolean!) {
  good {
    name @skip(if: $a)
    age @include(if: $b)
    ... on Person @include(if: $c) { friend { name @skip(if: $d) } }
    ...Bits @skip(if: $e)
  }
}
fragment Bits on Person { pets { name @include(if: $a) } code }
"""


async def test_skip_and_include_are_compiled_per_value_of_their_variables() -> None:
    schema, plans = compiled_schema()
    names = ["a", "b", "c", "d", "e"]
    combinations = [{name: bool(n >> i & 1) for i, name in enumerate(names)} for n in range(32)]
    for variables in combinations:
        expected = await reference(SKIPPING, variables)
        for _ in range(2):
            assert outcome(await schema.execute(SKIPPING, variable_values=variables)) == expected
    by_variables = {selection.variables: selection for selection in plans.selections.values()}
    # Then the general way, which finds the friend's selection (which reads $d alone).
    assert len(by_variables[("a", "b", "c", "d", "e")].variants) == MAX_VARIANTS
    assert len(by_variables[("d",)].variants) == 2
    assert plans.completed > MAX_VARIANTS
    assert plans.fallbacks == 0


async def test_the_plans_stay_bounded_whatever_documents_are_sent() -> None:
    schema, plans = compiled_schema(plans=8)
    for number in range(40):
        document = f"{{ good {{ n{number}: name friend {{ name }} }} }}"
        for _ in range(2):
            result = await schema.execute(document)
            assert result.data == {"good": {f"n{number}": "ann", "friend": {"name": "bob"}}}
        assert len(plans.selections) <= 8
    assert plans.completed == 40
    document = "{ good { name friend { name } } }"
    expected = await reference(document)
    for _ in range(3):  # the same text: the same parsed document, the same plan
        assert outcome(await schema.execute(document)) == expected
    assert len(plans.selections) == 8
    assert plans.completed == 42


class Resolving(SchemaExtension):
    """A middleware: it sees every field resolved."""

    resolved = 0

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        Resolving.resolved += 1
        return _next(root, info, *args, **kwargs)


async def test_a_middleware_keeps_every_field_on_the_general_way() -> None:
    document = "{ good { name friend { name } } }"
    schema = strawberry.Schema(query=Query, extensions=[Resolving])
    general = outcome(await schema.execute(document))
    resolved = Resolving.resolved
    executor = executor_for(schema._schema)
    schema.execution_context_class = executor
    assert outcome(await schema.execute(document)) == general
    assert Resolving.resolved == 2 * resolved == 8
    assert executor.plans is not None and executor.plans.completed == 0


# --- the service's own schema, on the database -----------------------------------------------


def plans_of(settings: Settings) -> Plans:
    plans = build_schema(settings).execution_context_class.plans  # type: ignore[attr-defined]
    assert isinstance(plans, Plans)
    return plans


def same(compiled: GraphQLResponse, general: GraphQLResponse) -> None:
    assert compiled.status == general.status == 200
    assert in_order(compiled.data) == in_order(general.data)
    assert [(e["message"], e.get("path"), e.get("locations")) for e in compiled.errors] == [
        (e["message"], e.get("path"), e.get("locations")) for e in general.errors
    ]
    assert compiled.sql_count == general.sql_count


async def test_the_bench_page_is_completed_by_compiled_code(
    gql: GraphQLClient, factory: Factory, settings: Settings
) -> None:
    staff, _member = await populate(factory, 6)
    headers = await factory.auth(staff)
    plans = plans_of(settings)
    await gql(GRAPHQL_PAGE, headers=headers)  # the process loads its cursor key
    before = (plans.completed, plans.fallbacks)
    compiled = await gql(GRAPHQL_PAGE, headers=headers)
    assert (plans.completed, plans.fallbacks) == (before[0] + 1, before[1])
    with general_executor(settings):
        general = await gql(GRAPHQL_PAGE, headers=headers)
    same(compiled, general)
    nodes = [edge["node"] for edge in compiled.data["users"]["edges"]]
    assert len(nodes) == 10
    assert any(p["createdBy"] for node in nodes for p in node["permissions"])


async def test_documents_of_the_service_answer_as_graphql_core_does(
    gql: GraphQLClient, factory: Factory, settings: Settings
) -> None:
    staff, member = await populate(factory, 3)
    plans = plans_of(settings)
    documents = [
        (f"query Page($first: Int!) {{ users(first: $first) {{ edges {{ cursor node {{ "
         f"{USER_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}", {"first": 10}),
        (WRITTEN_OTHERWISE, {"first": 5}),
        ("query Some($all: Boolean!) { users(first: 4) { edges { node { username "
         "permissions @include(if: $all) { roleName scope { __typename } } } } } }",
         {"all": True}),
        ("query Some($all: Boolean!) { users(first: 4) { edges { node { username "
         "permissions @include(if: $all) { roleName scope { __typename } } } } } }",
         {"all": False}),
        ("{ users(first: 3) { totalCount edges { node { username "
         "permissions { created expirationTime scope { ... on Project { customer { name } } } } "
         "} } } }", None),
        (f"mutation Same($uuid: UUID!) {{ updateUser(uuid: $uuid, input: {{}}) {{ user {{ "
         f"{USER_FIELDS} }} }} }}", {"uuid": str(member.uuid)}),
    ]  # fmt: skip
    for caller in (staff, member):
        headers = await factory.auth(caller)
        for document, variables in documents:
            await gql(document, variables, headers=headers)  # the first time: not compiled
            completed = plans.completed
            with no_coroutine_left():
                compiled = await gql(document, variables, headers=headers)
            if not document.startswith("mutation"):  # its user loads on demand: awaitables
                assert plans.completed > completed, document
            with general_executor(settings):
                general = await gql(document, variables, headers=headers)
            same(compiled, general)


async def test_a_failed_planned_load_gives_the_subtree_to_the_general_way(
    gql: GraphQLClient, factory: Factory, session: AsyncSession, settings: Settings
) -> None:
    staff, _member = await populate(factory, 2)
    headers = await factory.auth(staff)
    await session.execute(text("DROP TABLE email_change_requests"))
    await session.commit()
    plans = plans_of(settings)
    document = "{ users(first: 3) { edges { node { username requestedEmail fullName } } } }"
    await gql(document, headers=headers)  # the first time: not compiled
    fallbacks = plans.fallbacks
    compiled = await gql(document, headers=headers)
    assert plans.fallbacks > fallbacks
    with general_executor(settings):
        general = await gql(document, headers=headers)
    same(compiled, general)
    assert [e["path"] for e in compiled.errors] == [
        ["users", "edges", n, "node", "requestedEmail"] for n in range(3)
    ]
