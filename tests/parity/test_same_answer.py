"""REST and GraphQL asked the same thing on one database give the same answer, value for value.

The scenario tests check each transport against a written expectation of the parts that
matter to each rule; here the two transports are checked against each other on everything
they render (every field of every user, every permission, every datetime), for every caller
kind and every user of the world.
"""

from __future__ import annotations

from typing import Any

from tests.parity.outcome import Outcome
from tests.parity.transport import Transport
from tests.parity.world import World

Both = tuple[Transport, Transport]


def full(outcome: Outcome) -> tuple[Any, ...]:
    """Everything an outcome says, its value included (``==`` on Outcome ignores it)."""
    return (outcome.kind, outcome.message, outcome.errors, outcome.value)


async def test_every_caller_lists_the_same_users_rendered_the_same(
    both: Both, world: World
) -> None:
    rest, graphql = both
    for caller in [None, *world.users().values()]:
        assert full(await rest.list_users(caller)) == full(await graphql.list_users(caller))
        assert full(await rest.me(caller)) == full(await graphql.me(caller))


async def test_every_caller_retrieves_every_user_rendered_the_same(
    both: Both, world: World
) -> None:
    rest, graphql = both
    for caller in [None, *world.users().values()]:
        for target in world.users().values():
            by_rest = await rest.get_user(caller, target.uuid)
            by_graphql = await graphql.get_user(caller, target.uuid)
            assert full(by_rest) == full(by_graphql), (caller, target)


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
            assert full(by_rest) == full(by_graphql), (caller, filters, ordering)


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
