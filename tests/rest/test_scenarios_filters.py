"""Waldur's UserFilterTest (32-37) and CustomUsersFilterTest (38-39) through the REST shim, plus
the decisions on query parameters: malformed scope uuids, ``o`` in both spellings, filters on
detail routes. UserFilterIsStaffIsSupportTest (40-45), who may filter by ``is_staff`` and
``is_support`` and how the values parse, is tested at the core (tests/accounts/test_filters.py)
and through both APIs (tests/parity/test_visibility.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from gql_users.db.models import User
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.rest.scenario_helpers import NOT_FOUND, client_with, detail_path, json_of, user_url

LIST = "/api/users/"

STAFF_PROFILE = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "native_name": "Augusta Ada King",
    "organization": "Analytical Engines",
    "email": "ada@engines.example",
    "phone_number": "+44 20 7946 0000",
    "description": "First programmer",
    "job_title": "Countess",
    "civil_number": "18151210",
}


@pytest.fixture
async def staff(factory: Factory) -> User:
    return await factory.user("ada", is_staff=True, **STAFF_PROFILE)


@pytest.fixture
async def second(factory: Factory) -> User:
    """Waldur's second user: inactive and mostly empty."""
    return await factory.user("second", is_active=False, email="second@example.com")


async def urls(client: Any, factory: Factory, caller: User, **params: Any) -> list[str]:
    response = await client.get(LIST, params=params, headers=await factory.auth(caller))
    assert response.status == 200, await response.text()
    return [user["url"] for user in await json_of(response)]


# --- UserFilterTest (32-37) --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "full_name",
        "native_name",
        "organization",
        "email",
        "phone_number",
        "description",
        "job_title",
        "username",
        "civil_number",
        "is_active",
    ],
)
async def test_user_list_can_be_filtered(
    client: Any, factory: Factory, staff: User, second: User, name: str
) -> None:
    value = {"full_name": "Ada Lovelace", "username": "ada", "is_active": "true"}.get(
        name, STAFF_PROFILE.get(name)
    )
    found = await urls(client, factory, staff, **{name: value})
    assert user_url(staff) in found
    assert user_url(second) not in found


@pytest.mark.parametrize("name", ["full_name", "native_name", "email", "job_title"])
async def test_user_list_can_be_filtered_by_fields_with_partial_matching(
    client: Any, factory: Factory, staff: User, second: User, name: str
) -> None:
    value = "Ada Lovelace" if name == "full_name" else STAFF_PROFILE[name]
    assert await urls(client, factory, staff, **{name: value[:-1]}) == [user_url(staff)]


async def test_use_query_parameter_to_filtering_by_full_name(
    client: Any, factory: Factory, staff: User, second: User
) -> None:
    assert await urls(client, factory, staff, query="Ada Lovelace") == [user_url(staff)]


async def test_user_list_can_be_filtered_with_accents(
    client: Any, factory: Factory, staff: User
) -> None:
    francois = await factory.user(
        "francois", first_name="Fran\u00e7ois", last_name="J\u00fcrim\u00e4e"
    )
    found = await urls(client, factory, staff, full_name="Fran\u00e7ois J\u00fcrim\u00e4e")
    assert found == [user_url(francois)]


async def test_user_list_can_be_filtered_without_accents(
    client: Any, factory: Factory, staff: User
) -> None:
    francois = await factory.user(
        "francois", first_name="Fran\u00e7ois", last_name="J\u00fcrim\u00e4e"
    )
    assert await urls(client, factory, staff, full_name="Francois Jurimae") == [user_url(francois)]


async def test_user_identity_provider_data(
    aiohttp_client: Any, settings: Settings, factory: Factory, staff: User
) -> None:
    client = await client_with(
        aiohttp_client,
        settings,
        local_idp_name="Local IdP",
        local_idp_label="Local login",
        local_idp_management_url="https://idp.example/manage",
        local_idp_protected_fields=["first_name", "last_name"],
    )
    response = await client.get(detail_path(staff), headers=await factory.auth(staff))
    body = await json_of(response)
    assert body["registration_method"] == "default"
    assert body["identity_provider_name"] == "Local IdP"
    assert body["identity_provider_label"] == "Local login"
    assert body["identity_provider_management_url"] == "https://idp.example/manage"
    assert body["identity_provider_fields"] == ["first_name", "last_name"]


async def test_identity_provider_data_is_empty_for_an_unconfigured_registration_method(
    client: Any, factory: Factory, staff: User
) -> None:
    remote = await factory.user("remote", registration_method="eduteams")
    body = await json_of(await client.get(detail_path(remote), headers=await factory.auth(staff)))
    assert [body[key] for key in ("identity_provider_name", "identity_provider_label")] == ["", ""]
    assert body["identity_provider_fields"] == []


# --- CustomUsersFilterTest (38-39) -------------------------------------------------------------


@pytest.fixture
async def two_organisations(factory: Factory) -> dict[str, Any]:
    """Two customer/project fixtures, each with a customer owner and a project manager."""
    built: dict[str, Any] = {}
    for tag in ("one", "two"):
        customer = await factory.customer(f"Customer {tag}")
        project = await factory.project(customer, f"Project {tag}")
        owner = await factory.user(f"owner_{tag}")
        manager = await factory.user(f"manager_{tag}")
        await factory.grant(owner, "CUSTOMER.OWNER", customer)
        await factory.grant(manager, "PROJECT.MANAGER", project)
        built[tag] = {"customer": customer, "project": project, "owner": owner, "manager": manager}
    return built


async def test_filter_user_by_customer(
    client: Any, factory: Factory, staff: User, two_organisations: dict[str, Any]
) -> None:
    one = two_organisations["one"]
    found = await urls(client, factory, staff, customer_uuid=one["customer"].uuid.hex)
    assert sorted(found) == sorted([user_url(one["owner"]), user_url(one["manager"])])


async def test_filter_user_by_project(
    client: Any, factory: Factory, staff: User, two_organisations: dict[str, Any]
) -> None:
    one = two_organisations["one"]
    found = await urls(client, factory, staff, project_uuid=str(one["project"].uuid))
    assert found == [user_url(one["manager"])]


@pytest.mark.parametrize("name", ["customer_uuid", "project_uuid"])
async def test_malformed_scope_uuid_is_400_not_500(
    client: Any, factory: Factory, staff: User, name: str
) -> None:
    response = await client.get(
        LIST, params={name: "not-a-uuid"}, headers=await factory.auth(staff)
    )
    assert response.status == 400
    assert await json_of(response) == {name: ["Must be a valid UUID."]}
    head = await client.head(LIST, params={name: "xyz"}, headers=await factory.auth(staff))
    assert head.status == 400


async def test_unknown_scope_uuid_gives_an_empty_list(
    client: Any, factory: Factory, staff: User
) -> None:
    assert await urls(client, factory, staff, customer_uuid="0" * 32) == []


# --- ordering (docs/api-differences.md#repeated-o-keys-all-apply) ------------------------------


@pytest.fixture
async def orderable(factory: Factory, staff: User) -> list[User]:
    return [
        await factory.user("carol", organization="B", first_name="Carol"),
        await factory.user("bob", organization="A", first_name="Bob"),
        await factory.user("dave", organization="B", first_name="Dave"),
    ]


async def usernames(client: Any, factory: Factory, caller: User, query: str) -> list[str]:
    response = await client.get(f"{LIST}?{query}", headers=await factory.auth(caller))
    assert response.status == 200, await response.text()
    return [user["username"] for user in await json_of(response)]


async def test_o_accepts_a_comma_separated_list(
    client: Any, factory: Factory, staff: User, orderable: list[User]
) -> None:
    found = await usernames(client, factory, staff, "o=-organization,username&organization=B")
    assert found == ["carol", "dave"]
    found = await usernames(client, factory, staff, "o=-organization,-username&is_staff=false")
    assert found == ["dave", "carol", "bob"]


async def test_o_repeated_applies_every_key_in_order(
    client: Any, factory: Factory, staff: User, orderable: list[User]
) -> None:
    """docs/api-differences.md#repeated-o-keys-all-apply: Waldur keeps only the last ``o``;
    gql-users applies all of them."""
    found = await usernames(client, factory, staff, "o=organization&o=-username&is_staff=false")
    assert found == ["bob", "dave", "carol"]


async def test_default_order_is_username(
    client: Any, factory: Factory, staff: User, orderable: list[User]
) -> None:
    assert await usernames(client, factory, staff, "") == ["ada", "bob", "carol", "dave"]


async def test_unknown_ordering_key_is_400(client: Any, factory: Factory, staff: User) -> None:
    response = await client.get(f"{LIST}?o=password", headers=await factory.auth(staff))
    assert response.status == 400
    assert await json_of(response) == {
        "o": ["Select a valid choice. password is not one of the available choices."]
    }


# --- query filters on detail routes (docs/visibility.md#query-filters-on-detail-routes) --------


async def test_query_filters_apply_to_retrieve_so_is_active_false_hides_an_active_user(
    client: Any, factory: Factory, staff: User, second: User
) -> None:
    headers = await factory.auth(staff)
    response = await client.get(detail_path(staff), params={"is_active": "false"}, headers=headers)
    assert response.status == 404
    assert await json_of(response) == NOT_FOUND
    response = await client.get(detail_path(second), params={"is_active": "false"}, headers=headers)
    assert response.status == 200


async def test_query_filters_apply_to_update_and_delete(
    client: Any, factory: Factory, staff: User, second: User
) -> None:
    headers = await factory.auth(staff)
    path = detail_path(second)
    response = await client.patch(
        path, params={"username": "nobody"}, json={"job_title": "x"}, headers=headers
    )
    assert response.status == 404
    response = await client.delete(path, params={"is_active": "true"}, headers=headers)
    assert response.status == 404
    response = await client.delete(path, params={"is_active": "false"}, headers=headers)
    assert response.status == 204


async def test_query_filters_do_not_apply_to_detail_actions_as_in_the_2025_build(
    client: Any, factory: Factory, staff: User, second: User
) -> None:
    """docs/api-differences.md#filters-on-action-routes: later ActionsViewSet builds clear the
    filterset on @action routes; a Waldur client calling ``token`` or ``change_email`` never sends
    list filters, so the filter-free reading is the one that cannot surprise it."""
    headers = await factory.auth(staff)
    response = await client.get(
        detail_path(staff, "token"), params={"is_active": "false"}, headers=headers
    )
    assert response.status == 200
    response = await client.post(
        detail_path(staff, "change_email"),
        params={"username": "nobody"},
        json={"email": "moved@example.com"},
        headers=headers,
    )
    assert response.status == 200
