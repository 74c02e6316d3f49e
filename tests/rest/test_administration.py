"""The customers and projects routes over HTTP (docs/rest.md#customers-and-projects): bodies,
status codes, headers, pagination, Waldur's error shapes, and hostile input that must change
nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.db.models import Customer, Project, UserRole, utcnow
from gql_users.rest.openapi import openapi_document
from gql_users.settings import Settings
from gql_users.web.app import create_app
from tests.conftest import Factory
from tests.world import World

PERMISSION_DENIED = {"detail": "You do not have permission to perform this action."}


async def headers_of(factory: Factory, world: World, name: str | None) -> dict[str, str]:
    return {} if name is None else await factory.auth(world.user(name))


async def count(session: AsyncSession, model: type[Any], *where: Any) -> int:
    total = await session.scalar(select(func.count()).select_from(model).where(*where))
    await session.commit()
    return total or 0


async def test_customers_list_by_visibility_with_pagination_headers(
    client: Any, factory: Factory, world: World
) -> None:
    response = await client.get(
        "/api/customers/?page_size=1", headers=await headers_of(factory, world, "staff")
    )
    assert response.status == 200
    assert response.headers["X-Result-Count"] == "2"
    assert 'rel="next"' in response.headers["Link"]
    [alpha] = await response.json()
    assert alpha == {
        "url": f"http://testserver/api/customers/{world.alpha.uuid.hex}/",
        "uuid": world.alpha.uuid.hex,
        "created": alpha["created"],
        "name": "Alpha",
        "abbreviation": "",
        "description": "",
    }
    for name, expected in [("member_a1", ["Alpha"]), ("owner_b", ["Beta"]), ("loner", [])]:
        response = await client.get(
            "/api/customers/", headers=await headers_of(factory, world, name)
        )
        assert [item["name"] for item in await response.json()] == expected
    assert (await client.get("/api/customers/")).status == 401


async def test_projects_list_a_customer_owner_sees_every_project_a_member_one(
    client: Any, factory: Factory, world: World
) -> None:
    async def names(name: str, query: str = "") -> list[str]:
        response = await client.get(
            f"/api/projects/{query}", headers=await headers_of(factory, world, name)
        )
        assert response.status == 200, await response.text()
        return [item["name"] for item in await response.json()]

    assert await names("owner_a") == ["A1", "A2"]
    assert await names("member_a1") == ["A1"]
    assert await names("staff", f"?customer={world.beta.uuid.hex}") == ["B1"]
    bad = await client.get(
        "/api/projects/?customer=nope", headers=await headers_of(factory, world, "staff")
    )
    assert (bad.status, await bad.json()) == (400, {"customer": ["Must be a valid UUID."]})
    one = await client.get(
        f"/api/projects/{world.a1.uuid.hex}/", headers=await headers_of(factory, world, "owner_a")
    )
    body = await one.json()
    assert body["customer"] == f"http://testserver/api/customers/{world.alpha.uuid.hex}/"
    assert body["customer_name"] == "Alpha"
    hidden = await client.get(
        f"/api/projects/{world.a1.uuid.hex}/", headers=await headers_of(factory, world, "owner_b")
    )
    assert (hidden.status, await hidden.json()) == (
        404,
        {"detail": "No Project matches the given query."},
    )


async def test_customer_create_update_delete(
    client: Any, factory: Factory, world: World, session: AsyncSession
) -> None:
    staff = await headers_of(factory, world, "staff")
    owner = await headers_of(factory, world, "owner_a")
    refused = await client.post("/api/customers/", json={"name": "Gamma"}, headers=owner)
    assert (refused.status, await refused.json()) == (403, PERMISSION_DENIED)
    created = await client.post(
        "/api/customers/", json={"name": "Gamma", "abbreviation": "G"}, headers=staff
    )
    assert created.status == 201
    gamma = await created.json()
    assert created.headers["Location"] == gamma["url"]
    detail = f"/api/customers/{gamma['uuid']}/"
    patched = await client.patch(detail, json={"description": "third"}, headers=staff)
    assert (await patched.json())["description"] == "third"
    put = await client.put(detail, json={"abbreviation": "X"}, headers=staff)
    assert (put.status, await put.json()) == (400, {"name": ["This field is required."]})
    conflict = await client.delete(f"/api/customers/{world.alpha.uuid.hex}/", headers=staff)
    assert (conflict.status, await conflict.json()) == (
        409,
        {"detail": "Cannot delete organization with existing projects"},
    )
    assert (await client.delete(detail, headers=staff)).status == 204
    assert (await client.get(detail, headers=staff)).status == 404
    assert await count(session, Customer) == 2


async def test_an_owner_creates_and_deletes_a_project_of_their_customer(
    client: Any, factory: Factory, world: World, session: AsyncSession
) -> None:
    owner = await headers_of(factory, world, "owner_a")
    alpha_url = f"http://testserver/api/customers/{world.alpha.uuid.hex}/"
    created = await client.post(
        "/api/projects/", json={"name": "A3", "customer": alpha_url}, headers=owner
    )
    assert created.status == 201, await created.text()
    project = await created.json()
    assert project["customer_uuid"] == world.alpha.uuid.hex
    beta_url = f"http://testserver/api/customers/{world.beta.uuid.hex}/"
    invisible = await client.post(
        "/api/projects/", json={"name": "B2", "customer": beta_url}, headers=owner
    )
    assert (invisible.status, await invisible.json()) == (
        400,
        {"customer": ["Invalid hyperlink - Object does not exist."]},
    )
    support = await headers_of(factory, world, "support")  # sees it, may not delete it
    refused = await client.delete(f"/api/projects/{project['uuid']}/", headers=support)
    assert (refused.status, await refused.json()) == (403, PERMISSION_DENIED)
    assert (await client.delete(f"/api/projects/{project['uuid']}/", headers=owner)).status == 204
    assert await count(session, Project) == 3


async def test_add_update_list_and_delete_a_user_in_a_project(
    client: Any, factory: Factory, world: World, session: AsyncSession
) -> None:
    owner = await headers_of(factory, world, "owner_a")
    team = f"/api/projects/{world.a2.uuid.hex}/"
    until = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    added = await client.post(
        team + "add_user/",
        json={
            "user": world.loner.uuid.hex,
            "role": "PROJECT.MEMBER",
            "expiration_time": until.isoformat(),
        },
        headers=owner,
    )
    assert (added.status, await added.json()) == (
        201,
        {"expiration_time": until.strftime("%Y-%m-%dT%H:%M:%SZ")},
    )
    again = await client.post(
        team + "add_user/",
        json={"user": world.loner.uuid.hex, "role": "PROJECT.MEMBER"},
        headers=owner,
    )
    assert (again.status, await again.json()) == (
        400,
        {"non_field_errors": ["User has already the same role in this scope."]},
    )
    updated = await client.post(
        team + "update_user/",
        json={"user": world.loner.uuid.hex, "role": "PROJECT.MEMBER", "expiration_time": None},
        headers=owner,
    )
    assert (updated.status, await updated.json()) == (200, {"expiration_time": None})

    listed = await client.get(
        team + f"list_users/?user={world.loner.uuid.hex}&field=role_name&field=user_username",
        headers=owner,
    )
    assert listed.headers["X-Result-Count"] == "1"
    assert await listed.json() == [{"role_name": "PROJECT.MEMBER", "user_username": "loner"}]
    everyone = await client.get(team + "list_users/", headers=owner)
    assert {item["user_username"] for item in await everyone.json()} == {
        "admin_a2",
        "unagreed",
        "loner",
    }
    head = await client.head(team + "list_users/", headers=owner)
    assert (head.status, head.headers["X-Result-Count"]) == (200, "3")

    deleted = await client.post(
        team + "delete_user/",
        json={"user": world.loner.uuid.hex, "role": "PROJECT.MEMBER"},
        headers=owner,
    )
    assert (deleted.status, await deleted.read()) == (200, b"")
    assert await count(session, UserRole, UserRole.user_id == world.loner.id) == 1
    assert (
        await count(
            session,
            UserRole,
            UserRole.user_id == world.loner.id,
            UserRole.is_active.is_(True),
        )
        == 0
    )


@pytest.mark.parametrize(
    ("caller", "status"),
    [(None, 401), ("member_a1", 403), ("support", 403), ("owner_b", 404), ("owner_a", 201)],
)
async def test_who_may_add_a_user_to_a_customer(
    client: Any, factory: Factory, world: World, caller: str | None, status: int
) -> None:
    response = await client.post(
        f"/api/customers/{world.alpha.uuid.hex}/add_user/",
        json={"user": world.loner.uuid.hex, "role": "CUSTOMER.MANAGER"},
        headers=await headers_of(factory, world, caller),
    )
    assert response.status == status


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"[1, 2]",
        b'{"user": null, "role": null, "expiration_time": 7}',
        b'{"user": "' + b"a" * 1_000_000 + b'", "role": "PROJECT.MEMBER"}',
        b'{"user": "\\u0000", "role": "\\u0000"}',
        b'{"user": {"a": 1}, "role": ["x"], "expiration_time": "yesterday"}',
    ],
)
async def test_hostile_bodies_are_400_and_change_nothing(
    client: Any, factory: Factory, world: World, session: AsyncSession, payload: bytes
) -> None:
    before = await count(session, UserRole)
    response = await client.post(
        f"/api/projects/{world.a1.uuid.hex}/add_user/",
        data=payload,
        headers={
            **await headers_of(factory, world, "staff"),
            "Content-Type": "application/json",
        },
    )
    assert response.status == 400, await response.text()
    body = await response.json()
    assert isinstance(body, dict) and body
    assert await count(session, UserRole) == before


async def test_malformed_and_unknown_scopes_are_404(
    client: Any, factory: Factory, world: World
) -> None:
    staff = await headers_of(factory, world, "staff")
    for path in (
        "/api/customers/not-a-uuid/",
        "/api/projects/%00/list_users/",
        f"/api/customers/{'0' * 32}/list_users/",
    ):
        response = await client.get(path, headers=staff)
        assert response.status == 404, path


async def test_parallel_add_user_requests_leave_one_grant(
    client: Any, factory: Factory, world: World, session: AsyncSession
) -> None:
    staff = await headers_of(factory, world, "staff")

    async def add() -> int:
        response = await client.post(
            f"/api/customers/{world.beta.uuid.hex}/add_user/",
            json={"user": world.loner.uuid.hex, "role": "CUSTOMER.SUPPORT"},
            headers=staff,
        )
        return int(response.status)

    statuses = await asyncio.gather(*(add() for _ in range(30)))
    assert sorted(set(statuses)) == [201, 400]
    assert statuses.count(201) == 1
    assert (
        await count(
            session,
            UserRole,
            UserRole.user_id == world.loner.id,
            UserRole.customer_id == world.beta.id,
        )
        == 1
    )


def test_the_openapi_document_describes_every_customers_and_projects_route() -> None:
    document = json.loads(openapi_document())
    app = create_app(Settings(database_url="sqlite+aiosqlite:///unused.db"))
    served = {
        (route.resource.canonical, route.method.lower())
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith(("/api/customers/", "/api/projects/"))
        and route.method != "*"
    }
    described = {
        (path, method)
        for path, operations in document["paths"].items()
        if path.startswith(("/api/customers/", "/api/projects/"))
        for method in operations
    }
    assert len(described) == 24
    assert described <= served
    # aiohttp serves HEAD wherever GET is; the document names the HEADs that count
    assert all(method == "head" for _path, method in served - described)


async def test_form_bodies_and_an_expired_grant_that_stops_counting_without_a_write(
    client: Any, factory: Factory, world: World, session: AsyncSession
) -> None:
    owner = await headers_of(factory, world, "owner_b")
    team = f"/api/projects/{world.b1.uuid.hex}/"
    added = await client.post(
        team + "add_user/",
        data={"user": world.loner.uuid.hex, "role": "PROJECT.ADMIN", "expiration_time": "None"},
        headers=owner,
    )
    assert (added.status, await added.json()) == (201, {"expiration_time": None})
    # the grant's time passes (written directly: no API sets a time in the past)
    grant = await session.scalar(
        select(UserRole).where(
            UserRole.user_id == world.loner.id, UserRole.project_id == world.b1.id
        )
    )
    assert grant is not None
    grant.expiration_time = utcnow() - timedelta(seconds=1)
    await session.commit()
    listed = await client.get(team + "list_users/", headers=owner)
    assert world.loner.username not in {item["user_username"] for item in await listed.json()}
    loner = await headers_of(factory, world, "loner")
    assert (await client.get(team, headers=loner)).status == 404
    again = await client.post(
        team + "add_user/",
        data={"user": world.loner.uuid.hex, "role": "PROJECT.ADMIN"},
        headers=owner,
    )
    assert again.status == 201
    assert (await client.get(team, headers=loner)).status == 200


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("role=%00", {"role": ["Null characters are not allowed."]}),
        ("search_string=a%00b", {"search_string": ["Null characters are not allowed."]}),
        ("user=%00", {"user": ["Must be a valid UUID."]}),
    ],
)
async def test_list_users_refuses_unusable_filters(
    client: Any, factory: Factory, world: World, query: str, errors: dict[str, list[str]]
) -> None:
    response = await client.get(
        f"/api/customers/{world.alpha.uuid.hex}/list_users/?{query}",
        headers=await headers_of(factory, world, "owner_a"),
    )
    assert (response.status, await response.json()) == (400, errors)


async def test_search_and_role_filters_of_list_users(
    client: Any, factory: Factory, world: World
) -> None:
    staff = await headers_of(factory, world, "staff")
    team = f"/api/projects/{world.a1.uuid.hex}/list_users/"
    response = await client.get(team + "?search_string=MEMBER_A", headers=staff)
    assert [item["user_username"] for item in await response.json()] == ["member_a1"]
    role = await factory.role("PROJECT.MEMBER")
    by_uuid = await client.get(f"{team}?role={role.uuid.hex}&role=NO.SUCH", headers=staff)
    assert (await by_uuid.json()) and {item["role_name"] for item in await by_uuid.json()} == {
        "PROJECT.MEMBER"
    }
    none = await client.get(team + "?role=PROJECT.ADMIN", headers=staff)
    assert (none.headers["X-Result-Count"], await none.json()) == ("0", [])
