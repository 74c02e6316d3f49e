"""Small helpers shared by the REST scenario tests (tests/rest/test_scenarios_*.py).

Kept out of conftest.py (which belongs to the REST fixtures): each scenario module imports what
it needs. The Waldur fixture of UserPermissionApiTest (staff, owner, not_owner, other) is built
here once so that every module names its users the way Waldur's tests do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from gql_users.db.models import Customer, User
from gql_users.settings import Settings
from gql_users.web.app import create_app
from tests.conftest import Factory

PUBLIC_URL = "http://testserver/"
PERMISSION_DENIED = {"detail": "You do not have permission to perform this action."}
NOT_FOUND = {"detail": "No User matches the given query."}
NOT_AUTHENTICATED = {"detail": "Authentication credentials were not provided."}
MUST_AGREE = {"agree_with_policy": ["User must agree with the policy."]}


def detail_path(user: User, action: str = "") -> str:
    """``/api/users/<hex>/`` or ``/api/users/<hex>/<action>/``."""
    return f"/api/users/{user.uuid.hex}/" + (f"{action}/" if action else "")


def user_url(user: User) -> str:
    """The absolute ``url`` field rendered for ``user`` under the test settings."""
    return f"{PUBLIC_URL}api/users/{user.uuid.hex}/"


async def reloaded(factory: Factory, user: User) -> User | None:
    """The user row as it is now in the database (the app writes through its own session)."""
    return await factory.session.scalar(
        select(User).where(User.id == user.id).execution_options(populate_existing=True)
    )


async def client_with(aiohttp_client: Any, settings: Settings, **overrides: Any) -> TestClient:
    """A test client of an app whose settings differ from the default test settings."""
    return await aiohttp_client(create_app(settings.model_copy(update=overrides)))


async def json_of(response: Any) -> Any:
    """The JSON body, after checking the content type every JSON answer must carry."""
    assert response.content_type == "application/json", response.content_type
    return await response.json()


@dataclass
class PermissionWorld:
    """UserPermissionApiTest's fixture: all four users have agreed to the policy.

    ``owner`` is CUSTOMER.OWNER and ``not_owner`` CUSTOMER.SUPPORT of one customer; ``other``
    has no role; ``staff`` is a global staff user.
    """

    staff: User
    owner: User
    not_owner: User
    other: User
    customer: Customer

    @property
    def users(self) -> list[User]:
        return [self.staff, self.owner, self.not_owner, self.other]


async def permission_world(factory: Factory) -> PermissionWorld:
    async with factory.batch():
        return await _permission_world(factory)


async def _permission_world(factory: Factory) -> PermissionWorld:
    staff = await factory.user("staff", is_staff=True, first_name="Staff", last_name="User")
    owner = await factory.user("owner", first_name="Owen", last_name="Owner")
    not_owner = await factory.user("not_owner", first_name="Nora", last_name="Support")
    other = await factory.user("other", first_name="Otto", last_name="Other")
    customer = await factory.customer("Customer")
    await factory.grant(owner, "CUSTOMER.OWNER", customer)
    await factory.grant(not_owner, "CUSTOMER.SUPPORT", customer)
    return PermissionWorld(staff, owner, not_owner, other, customer)
