"""Customers, projects and who holds roles in them, asked through each transport for every
caller kind of the world, with one expected answer for REST and GraphQL: the world's
``VISIBLE_CUSTOMERS``, ``VISIBLE_PROJECTS`` and ``CURRENT_HOLDERS`` as ``VISIBLE_TO`` filters
them (docs/visibility.md#visible-customers-and-projects)."""

from __future__ import annotations

from tests.parity.outcome import UNAUTHENTICATED, Outcome
from tests.parity.transport import Transport
from tests.world import CURRENT_HOLDERS, VISIBLE_CUSTOMERS, VISIBLE_PROJECTS, VISIBLE_TO, World

CALLERS = sorted(VISIBLE_TO)


async def test_lists_show_exactly_the_visible_customers_and_projects(
    transport: Transport, world: World
) -> None:
    seen = {
        caller: (
            await transport.list_scopes(world.caller(caller), "customer"),
            await transport.list_scopes(world.caller(caller), "project"),
        )
        for caller in CALLERS
    }
    assert seen == {
        caller: (
            Outcome("ok", value=VISIBLE_CUSTOMERS[caller]),
            Outcome("ok", value=VISIBLE_PROJECTS[caller]),
        )
        for caller in CALLERS
    }


async def test_anonymous_callers_see_no_customer_or_project(
    transport: Transport, world: World
) -> None:
    assert await transport.list_scopes(None, "customer") == UNAUTHENTICATED
    assert await transport.list_scopes(None, "project") == UNAUTHENTICATED


async def test_a_scopes_team_is_its_visible_holders(transport: Transport, world: World) -> None:
    scopes = {
        "Alpha": ("customer", world.alpha),
        "Beta": ("customer", world.beta),
        "A1": ("project", world.a1),
        "A2": ("project", world.a2),
        "B1": ("project", world.b1),
    }
    seen: dict[str, dict[str, list[str] | str]] = {}
    expected: dict[str, dict[str, list[str] | str]] = {}
    for caller in CALLERS:
        seen[caller], expected[caller] = {}, {}
        for name, (kind, scope) in scopes.items():
            outcome = await transport.scope_team(world.caller(caller), kind, scope.uuid)
            seen[caller][name] = sorted(outcome.value) if outcome.ok else outcome.kind
            visible = VISIBLE_CUSTOMERS[caller] + VISIBLE_PROJECTS[caller]
            expected[caller][name] = (
                sorted(h for h in CURRENT_HOLDERS[name] if h in VISIBLE_TO[caller])
                if name in visible
                else "not_found"
            )
    assert seen == expected
