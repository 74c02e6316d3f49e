"""REST and GraphQL asked the same thing on one database give the same answer, value for value.

The scenario tests check each transport against a written expectation of the parts that
matter to each rule; here the two transports are checked against each other on everything
they render (every field of every user, every permission, every datetime), for every caller
kind and every user of the world.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gql_users.accounts.shaping import PRIVILEGED_FIELDS
from tests.parity.outcome import Outcome
from tests.parity.transport import Transport
from tests.world import World

Both = tuple[Transport, Transport]


CREATOR_NAMES = frozenset({"created_by_full_name", "created_by_username"})
HIDDEN_FROM_OTHERS = PRIVILEGED_FIELDS | {"modified"}
"""What only staff and support may order or filter the GraphQL list by."""


def full(outcome: Outcome) -> tuple[Any, ...]:
    """Everything an outcome says, its value included (``==`` on Outcome ignores it)."""
    return (outcome.kind, outcome.message, outcome.errors, outcome.value)


def creators_as_graphql(rest: Outcome, graphql: Outcome) -> Outcome:
    """``rest`` without the creator names of the permissions where GraphQL has none: GraphQL
    shows them only with a visible ``createdBy`` (docs/hardening.md#cursors-and-hidden-fields),
    REST always, as Waldur. Every other value must still be equal."""

    def walk(ours: Any, theirs: Any) -> Any:
        if isinstance(ours, dict) and isinstance(theirs, dict):
            return {
                key: walk(value, theirs.get(key))
                for key, value in ours.items()
                if key not in CREATOR_NAMES or key in theirs
            }
        if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
            return [walk(a, b) for a, b in zip(ours, theirs, strict=True)]
        return ours

    return dataclasses.replace(rest, value=walk(rest.value, graphql.value))


def same(rest: Outcome, graphql: Outcome) -> bool:
    return full(creators_as_graphql(rest, graphql)) == full(graphql)


async def test_every_caller_lists_the_same_users_rendered_the_same(
    both: Both, world: World
) -> None:
    rest, graphql = both
    for caller in [None, *world.users().values()]:
        assert same(await rest.list_users(caller), await graphql.list_users(caller)), caller
        assert same(await rest.me(caller), await graphql.me(caller)), caller


async def test_every_caller_retrieves_every_user_rendered_the_same(
    both: Both, world: World
) -> None:
    rest, graphql = both
    for caller in [None, *world.users().values()]:
        for target in world.users().values():
            by_rest = await rest.get_user(caller, target.uuid)
            by_graphql = await graphql.get_user(caller, target.uuid)
            assert same(by_rest, by_graphql), (caller, target)


async def test_filtered_and_ordered_lists_are_the_same(both: Both, world: World) -> None:
    rest, graphql = both
    queries: list[tuple[dict[str, Any], tuple[str, ...]]] = [
        ({"customer_uuid": world.alpha.uuid}, ("-full_name",)),
        ({"project_uuid": world.b1.uuid}, ("email",)),
        ({"organization_roles": ["PROJECT.MEMBER", "PROJECT.ADMIN"]}, ("-is_active", "username")),
        ({"query": "a1"}, ("job_title", "-username")),
        ({"user_keyword": "owner"}, ()),
        ({"is_active": True, "is_support": False}, ("-is_staff", "organization")),
    ]
    for caller in (world.staff, world.support, world.owner_a, world.member_b1):
        for filters, ordering in queries:
            by_rest = await rest.list_users(caller, filters, ordering)
            by_graphql = await graphql.list_users(caller, filters, ordering)
            names = {*filters, *(key.lstrip("-") for key in ordering)}
            if names & HIDDEN_FROM_OTHERS and not (caller.is_staff or caller.is_support):
                # GraphQL refuses what REST, as Waldur, answers
                # (docs/hardening.md#cursors-and-hidden-fields).
                assert (by_rest.kind, by_graphql.kind) == ("ok", "invalid"), (caller, names)
                continue
            assert same(by_rest, by_graphql), (caller, filters, ordering)


async def test_idempotent_updates_render_the_same(both: Both, world: World) -> None:
    """The same update sent twice, once by each API: the second finds nothing to change, so
    both renderings must be identical."""
    rest, graphql = both
    cases = [
        (world.loner, world.loner, {"job_title": "Hermit", "is_staff": True}),
        (world.support, world.support, {"organization": "Helpdesk", "is_support": False}),
        (world.staff, world.owner_b, {"description": "noted", "notifications_enabled": False}),
    ]
    for caller, target, data in cases:
        by_rest = await rest.update_user(caller, target.uuid, data)
        by_graphql = await graphql.update_user(caller, target.uuid, data)
        assert by_rest.ok
        assert full(by_rest) == full(by_graphql), (caller, target, data)


async def test_created_users_render_the_same_but_for_their_identity(
    both: Both, world: World
) -> None:
    rest, graphql = both
    data = {"first_name": "New", "is_support": True, "token_lifetime": 600}
    by_rest = await rest.create_user(world.staff, {"username": "r", "email": "r@x.org", **data})
    by_graphql = await graphql.create_user(
        world.staff, {"username": "g", "email": "g@x.org", **data}
    )
    identity = {"url", "uuid", "username", "slug", "email", "date_joined", "token_expires_at"}

    def anonymised(outcome: Outcome) -> dict[str, Any]:
        return {key: value for key, value in outcome.expect_ok().items() if key not in identity}

    assert anonymised(by_rest) == anonymised(by_graphql)
    assert set(by_rest.value) == set(by_graphql.value)
