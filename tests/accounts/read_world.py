"""A small organisation for the read-path tests: two customers, three projects, one user per role.

Kept out of a conftest.py (tests/accounts is shared by several areas); each test module that
needs it declares a two-line ``world`` fixture calling ``build_world``.

    Alpha (customer)              Beta (customer)
      owner_a   CUSTOMER.OWNER      owner_b   CUSTOMER.OWNER
      support_a CUSTOMER.SUPPORT    Beta-1 (project)
      staff_a   CUSTOMER.OWNER, a staff user        member_b1 PROJECT.MEMBER
      former_a  CUSTOMER.MANAGER, role inactive
      Alpha-1 (project)
        manager_a1  PROJECT.MANAGER
        member_a1   PROJECT.MEMBER
        inactive_a1 PROJECT.MEMBER, user inactive
        manager_im  PROJECT.MEMBER, an identity manager
      Alpha-2 (project)
        member_a2   PROJECT.MEMBER
    loner (no roles), staff (global staff), support (global support)
"""

from __future__ import annotations

from dataclasses import dataclass

from gql_users.accounts.callers import Caller
from gql_users.db.models import Customer, Project, User
from tests.conftest import Factory
from tests.world import usernames_for

__all__ = ["World", "build_world", "usernames_for"]


@dataclass
class World:
    alpha: Customer
    beta: Customer
    alpha_1: Project
    alpha_2: Project
    beta_1: Project
    users: dict[str, User]

    def __getattr__(self, name: str) -> User:
        try:
            return self.__dict__["users"][name]
        except KeyError:
            raise AttributeError(name) from None

    def caller(self, name: str) -> Caller:
        return Caller(user=self.users[name])

    @property
    def all_usernames(self) -> set[str]:
        return set(self.users)


async def build_world(factory: Factory) -> World:
    async with factory.batch():
        return await _build_world(factory)


async def _build_world(factory: Factory) -> World:
    alpha = await factory.customer("Alpha")
    beta = await factory.customer("Beta")
    alpha_1 = await factory.project(alpha, "Alpha-1")
    alpha_2 = await factory.project(alpha, "Alpha-2")
    beta_1 = await factory.project(beta, "Beta-1")

    users: dict[str, User] = {}
    for username, fields in {
        "owner_a": {"first_name": "Olivia", "last_name": "Owner"},
        "support_a": {"first_name": "Sam", "last_name": "Support"},
        "staff_a": {"is_staff": True},
        "former_a": {},
        "manager_a1": {},
        "member_a1": {},
        "inactive_a1": {"is_active": False},
        "manager_im": {"is_identity_manager": True},
        "member_a2": {},
        "owner_b": {},
        "member_b1": {},
        "loner": {},
        "staff": {"is_staff": True},
        "support": {"is_support": True},
    }.items():
        users[username] = await factory.user(username, **fields)

    grants = [
        ("owner_a", "CUSTOMER.OWNER", alpha, True),
        ("support_a", "CUSTOMER.SUPPORT", alpha, True),
        ("staff_a", "CUSTOMER.OWNER", alpha, True),
        ("former_a", "CUSTOMER.MANAGER", alpha, False),
        ("manager_a1", "PROJECT.MANAGER", alpha_1, True),
        ("member_a1", "PROJECT.MEMBER", alpha_1, True),
        ("inactive_a1", "PROJECT.MEMBER", alpha_1, True),
        ("manager_im", "PROJECT.MEMBER", alpha_1, True),
        ("member_a2", "PROJECT.MEMBER", alpha_2, True),
        ("owner_b", "CUSTOMER.OWNER", beta, True),
        ("member_b1", "PROJECT.MEMBER", beta_1, True),
    ]
    for username, role, scope, is_active in grants:
        await factory.grant(users[username], role, scope, is_active=is_active)
    return World(alpha, beta, alpha_1, alpha_2, beta_1, users)
