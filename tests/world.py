"""The one fixture world the suites share (the parity suite, the GraphQL and REST tests, the
core's visibility tests): two customers, their projects, and one caller of each kind. Built on
the root conftest's ``factory`` (``Factory.person`` gives everyone a full profile); the
``world`` fixture of tests/conftest.py builds it on the test's database. Data a test needs that
is unusual stays in that test.

Customer Alpha has projects A1 and A2, customer Beta has project B1::

    staff            global staff, also a member of A1 (staff stay invisible to non-staff)
    support          global support, no role
    identity_manager identity manager, member of A1 (may retrieve colleagues, may not list)
    loner            a user with no role at all
    owner_a          CUSTOMER.OWNER of Alpha: sees Alpha and every project of it
    member_a1        PROJECT.MEMBER of A1: sees A1 and Alpha's customer-level roles only
    admin_a2         PROJECT.ADMIN of A2 (a sibling of A1)
    owner_b          CUSTOMER.OWNER of Beta
    member_b1        PROJECT.MEMBER of B1
    inactive_a1      an inactive user, PROJECT.MEMBER of A1
    former_a1        a user whose A1 role is no longer active
    unagreed         PROJECT.MEMBER of A2 who never agreed to the policy
    remote           an eduTEAMS user (registration method "eduteams"), member of B1

Every user has first and last names, an organisation, a description and a birth date, so that
a field missing from a rendering means "hidden", never "empty".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import Caller
from gql_users.accounts.filters import UserFilter
from gql_users.accounts.listing import filtered_users
from gql_users.accounts.ordering import OrderKey, order_by_clauses
from gql_users.db.models import Customer, Project, User

if TYPE_CHECKING:
    from tests.conftest import Factory

PASSWORD = "correct horse battery"
PASSWORD_HOLDERS = frozenset({"loner", "member_a1", "inactive_a1"})
"""Only these can log in with ``PASSWORD`` (the others have no password at all)."""


@dataclass
class World:
    staff: User
    support: User
    identity_manager: User
    loner: User
    owner_a: User
    member_a1: User
    admin_a2: User
    owner_b: User
    member_b1: User
    inactive_a1: User
    former_a1: User
    unagreed: User
    remote: User
    alpha: Customer
    beta: Customer
    a1: Project
    a2: Project
    b1: Project

    def users(self) -> dict[str, User]:
        """Every user of the world by its attribute name (which is also its username)."""
        return {
            spec.name: getattr(self, spec.name)
            for spec in fields(self)
            if isinstance(getattr(self, spec.name), User)
        }

    def user(self, name: str) -> User:
        return self.users()[name]

    def caller(self, name: str | None) -> User | None:
        """The user called ``name`` as a caller: None (anonymous) for None."""
        return None if name is None else self.user(name)


EVERYONE = sorted(
    [
        "staff",
        "support",
        "identity_manager",
        "loner",
        "owner_a",
        "member_a1",
        "admin_a2",
        "owner_b",
        "member_b1",
        "inactive_a1",
        "former_a1",
        "unagreed",
        "remote",
    ]
)
ALPHA_MEMBERS = ["admin_a2", "identity_manager", "member_a1", "owner_a", "unagreed"]
"""Active non-staff holders of an active role in Alpha or one of its projects."""

VISIBLE_TO: dict[str, list[str]] = {
    "staff": EVERYONE,
    "support": EVERYONE,
    "loner": ["loner"],
    # A customer owner sees the whole customer, every project included; never staff
    # (staff holds a role in A1), inactive users or roles that are no longer active.
    "owner_a": ALPHA_MEMBERS,
    # A project member sees the project and the customer-level roles, not sibling projects.
    "member_a1": ["identity_manager", "member_a1", "owner_a"],
    "admin_a2": ["admin_a2", "owner_a", "unagreed"],
    "unagreed": ["admin_a2", "owner_a", "unagreed"],
    "owner_b": ["member_b1", "owner_b", "remote"],
    "member_b1": ["member_b1", "owner_b", "remote"],
    "remote": ["member_b1", "owner_b", "remote"],
    "identity_manager": ["identity_manager", "member_a1", "owner_a"],  # retrieve only
    "former_a1": ["former_a1"],  # an inactive role shows nobody
}

VISIBLE_CUSTOMERS: dict[str, list[str]] = {
    "staff": ["Alpha", "Beta"],
    "support": ["Alpha", "Beta"],
    "loner": [],
    "owner_a": ["Alpha"],
    # A project role shows the project's customer.
    "member_a1": ["Alpha"],
    "admin_a2": ["Alpha"],
    "unagreed": ["Alpha"],
    "owner_b": ["Beta"],
    "member_b1": ["Beta"],
    "remote": ["Beta"],
    "identity_manager": ["Alpha"],
    "former_a1": [],
}
"""The customers each caller of ``VISIBLE_TO`` sees
(docs/visibility.md#visible-customers-and-projects)."""

VISIBLE_PROJECTS: dict[str, list[str]] = {
    "staff": ["A1", "A2", "B1"],
    "support": ["A1", "A2", "B1"],
    "loner": [],
    # A customer owner sees every project of the customer; a project role, that project only.
    "owner_a": ["A1", "A2"],
    "member_a1": ["A1"],
    "admin_a2": ["A2"],
    "unagreed": ["A2"],
    "owner_b": ["B1"],
    "member_b1": ["B1"],
    "remote": ["B1"],
    "identity_manager": ["A1"],
    "former_a1": [],
}
"""The projects each caller of ``VISIBLE_TO`` sees."""

CURRENT_HOLDERS: dict[str, list[str]] = {
    "Alpha": ["owner_a"],
    "A1": ["member_a1", "identity_manager", "staff", "inactive_a1"],
    "A2": ["admin_a2", "unagreed"],
    "Beta": ["owner_b"],
    "B1": ["member_b1", "remote"],
}
"""Who holds a current role in each customer and project, oldest grant first (former_a1's A1
role is not active). A caller sees those of them that ``VISIBLE_TO`` lets them see."""


async def build_world(factory: Factory) -> World:
    async with factory.batch():
        return await _build_world(factory)


async def _build_world(factory: Factory) -> World:
    async def person(name: str, **flags: Any) -> User:
        password = PASSWORD if name in PASSWORD_HOLDERS else None
        return await factory.person(name, password=password, **flags)

    people = {
        "staff": await person("staff", is_staff=True),
        "support": await person("support", is_support=True),
        "identity_manager": await person("identity_manager", is_identity_manager=True),
        "loner": await person("loner"),
        "owner_a": await person("owner_a"),
        "member_a1": await person("member_a1"),
        "admin_a2": await person("admin_a2"),
        "owner_b": await person("owner_b"),
        "member_b1": await person("member_b1"),
        "inactive_a1": await person("inactive_a1", is_active=False),
        "former_a1": await person("former_a1"),
        "unagreed": await person("unagreed", agreement_date=None),
        "remote": await person("remote", registration_method="eduteams"),
    }
    alpha = await factory.customer("Alpha")
    beta = await factory.customer("Beta")
    a1 = await factory.project(alpha, "A1")
    a2 = await factory.project(alpha, "A2")
    b1 = await factory.project(beta, "B1")
    staff = people["staff"]
    grants: list[tuple[str, str, Customer | Project, dict[str, Any]]] = [
        ("owner_a", "CUSTOMER.OWNER", alpha, {}),
        ("member_a1", "PROJECT.MEMBER", a1, {"created_by": staff}),
        ("identity_manager", "PROJECT.MEMBER", a1, {"created_by": people["owner_a"]}),
        ("staff", "PROJECT.MEMBER", a1, {}),
        ("inactive_a1", "PROJECT.MEMBER", a1, {}),
        ("former_a1", "PROJECT.MEMBER", a1, {"is_active": False}),
        ("admin_a2", "PROJECT.ADMIN", a2, {}),
        ("unagreed", "PROJECT.MEMBER", a2, {}),
        ("owner_b", "CUSTOMER.OWNER", beta, {}),
        ("member_b1", "PROJECT.MEMBER", b1, {}),
        ("remote", "PROJECT.MEMBER", b1, {}),
    ]
    for name, role, scope, options in grants:
        await factory.grant(people[name], role, scope, **options)
    return World(**people, alpha=alpha, beta=beta, a1=a1, a2=a2, b1=b1)


async def usernames_for(
    session: AsyncSession,
    caller: Caller,
    user_filter: UserFilter | None = None,
    ordering: Sequence[OrderKey] = (),
) -> list[str]:
    """Usernames of the core's whole filtered, ordered list (no paging), in list order: what an
    API's list must match."""
    statement = filtered_users(caller, user_filter).order_by(*order_by_clauses(ordering))
    return list((await session.scalars(statement.with_only_columns(User.username))).all())
