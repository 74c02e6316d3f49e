"""Customers, projects and who holds roles in them, and who may grant them, asked through
each transport for every caller kind of the world, with one expected answer for REST and
GraphQL: the world's ``VISIBLE_CUSTOMERS``, ``VISIBLE_PROJECTS`` and ``CURRENT_HOLDERS`` as
``VISIBLE_TO`` filters them (docs/visibility.md#visible-customers-and-projects)."""

from __future__ import annotations

from gql_users.accounts.role_grants import ALREADY_GRANTED
from tests.conftest import Factory
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


GRANTERS = {"staff", "owner_a"}
"""Who may grant A1's member role: staff, and the owner of A1's customer."""


async def test_who_may_grant_a_project_role(transport: Transport, world: World) -> None:
    """Each caller tries to make loner a member of A1 (revoked again after each success):
    staff and Alpha's owner may; whoever sees A1 otherwise is refused; for the others A1 does
    not exist (docs/writes.md#who-may-grant-what)."""
    seen: dict[str | None, str] = {}
    for caller in [None, *CALLERS]:
        outcome = await transport.grant_role(
            world.caller(caller), "project", world.a1.uuid, "PROJECT.MEMBER", world.loner.uuid
        )
        seen[caller] = outcome.kind
        if outcome.ok:
            revoked = await transport.revoke_role(
                world.staff, "project", world.a1.uuid, "PROJECT.MEMBER", world.loner.uuid
            )
            assert revoked.ok
    assert seen == {
        None: "unauthenticated",
        **{
            caller: "ok"
            if caller in GRANTERS
            else ("forbidden" if "A1" in VISIBLE_PROJECTS[caller] else "not_found")
            for caller in CALLERS
        },
    }


async def test_a_project_manager_grants_the_member_role_only_and_once(
    transport: Transport, factory: Factory, world: World
) -> None:
    await factory.grant(world.admin_a2, "PROJECT.MANAGER", world.a2)
    manager, a2, loner = world.admin_a2, world.a2.uuid, world.loner.uuid
    assert (await transport.grant_role(manager, "project", a2, "PROJECT.MEMBER", loner)).ok
    again = await transport.grant_role(manager, "project", a2, "PROJECT.MEMBER", loner)
    assert again == Outcome("invalid", errors={"non_field_errors": [ALREADY_GRANTED]})
    admin = await transport.grant_role(manager, "project", a2, "PROJECT.ADMIN", loner)
    assert admin.kind == "forbidden"
    team = await transport.scope_team(world.loner, "project", a2)
    # One entry per grant: admin_a2 is A2's admin and manager.
    assert sorted(team.value) == ["admin_a2", "admin_a2", "loner", "unagreed"]
