"""``pull_remote_user`` through the generated client against a real HTTP stand-in for eduTEAMS
(docs/writes.md#eduteams-sync, docs/api-differences.md#eduteams-without-ssh-keys): update, create,
deactivate on 404, and remote failures as clear 400s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from waldur_api_client.api.users import (
    users_list,
    users_me_retrieve,
    users_pull_remote_user,
    users_retrieve,
)
from waldur_api_client.errors import UnexpectedStatus

from gql_users.settings import Settings
from tests.conftest import Factory
from tests.pgserver import free_port
from tests.rest.client_support import FAKE, FakeEduteams, error_of

ALICE_INFO = {
    "sub": "alice@eduteams",
    "mail": ["alice@uni.example"],
    "given_name": "Alice",
    "family_name": "Liddell",
    "eduperson_assurance": ["https://refeds.org/assurance/IAP/medium"],
    "voperson_external_affiliation": ["member@uni.example", "staff@uni.example"],
}


@pytest.fixture
async def eduteams_server() -> AsyncIterator[TestServer]:
    server = TestServer(
        FakeEduteams(users={"alice@eduteams": ALICE_INFO}).app(), host="127.0.0.1", port=free_port()
    )
    await server.start_server()
    yield server
    await server.close()  # idempotent: a test may have shut eduTEAMS down already


@pytest.fixture
def eduteams(eduteams_server: TestServer) -> tuple[FakeEduteams, str]:
    """The stand-in's state and its base URL."""
    fake = eduteams_server.app[FAKE]
    return fake, f"http://127.0.0.1:{eduteams_server.port}"


@pytest.fixture
async def live_settings(settings: Settings, eduteams: tuple[FakeEduteams, str]) -> Settings:
    """The live server's settings (tests/rest/conftest.py), with eduTEAMS sync pointed at the
    stand-in."""
    fake, url = eduteams
    port = free_port()
    return settings.model_copy(
        update={
            "public_url": f"http://127.0.0.1:{port}/",
            "port": port,
            "eduteams_enabled": True,
            "eduteams_token_url": f"{url}/OIDC/token",
            "eduteams_userinfo_url": f"{url}/api/userinfo",
            "eduteams_client_id": fake.client_id,
            "eduteams_secret": fake.secret,
            "eduteams_refresh_token": fake.refresh_token,
            "eduteams_timeout": 5.0,
        }
    )


async def eduteams_user(factory: Factory, username: str, **fields: Any) -> Any:
    return await factory.user(
        username, registration_method="eduteams", identity_source="eduteams", **fields
    )


async def test_pull_updates_the_user_from_userinfo(
    api: Any, factory: Factory, eduteams: tuple[FakeEduteams, str]
) -> None:
    fake, _url = eduteams
    staff = await factory.user("staff", is_staff=True)
    alice = await eduteams_user(factory, "alice@eduteams", first_name="Old", email="old@x.org")
    client = api(await factory.token(staff))

    response = await users_pull_remote_user.asyncio_detailed(uuid=alice.uuid, client=client)
    assert response.status_code == 200
    synced = await users_retrieve.asyncio(uuid=alice.uuid, client=client)
    assert (synced.first_name, synced.last_name, synced.email) == (
        "Alice", "Liddell", "alice@uni.example",
    )  # fmt: skip
    assert synced.affiliations == ["member@uni.example", "staff@uni.example"]
    assert synced.registration_method == "eduteams" and synced.is_active is True

    token_call, userinfo_call = fake.requests
    assert token_call[:2] == ("POST", "/OIDC/token") and token_call[2].startswith("Basic ")
    assert token_call[3] == {
        "grant_type": "refresh_token",
        "refresh_token": fake.refresh_token,
        "scope": "openid",
    }
    assert userinfo_call[:3] == ("GET", "/api/userinfo/alice@eduteams", "Bearer access-token-1")

    # The access token is cached: a second pull asks only for the userinfo.
    await users_pull_remote_user.asyncio_detailed(uuid=alice.uuid.hex, client=client)  # type: ignore[arg-type]
    assert [request[1] for request in fake.requests].count("/OIDC/token") == 1


async def test_a_user_pulls_themselves_and_keeps_their_session(api: Any, factory: Factory) -> None:
    """docs/writes.md#eduteams-sync: IsAdminOrOwner allows the user on themselves. Their token is
    theirs to keep: Waldur creates a token only for a new user."""
    alice = await eduteams_user(factory, "alice@eduteams")
    key = await factory.token(alice)
    client = api(key)
    response = await users_pull_remote_user.asyncio_detailed(uuid=alice.uuid, client=client)
    assert response.status_code == 200
    me = await users_me_retrieve.asyncio(client=client)
    assert me.full_name == "Alice Liddell" and me.token == key


async def test_pull_creates_the_user_eduteams_names(
    api: Any, factory: Factory, eduteams: tuple[FakeEduteams, str]
) -> None:
    fake, _url = eduteams
    fake.users["alias"] = {**ALICE_INFO, "sub": "newcomer@eduteams", "given_name": "Nia"}
    staff = await factory.user("staff", is_staff=True)
    alias = await eduteams_user(factory, "alias")
    client = api(await factory.token(staff))

    await users_pull_remote_user.asyncio_detailed(uuid=alias.uuid, client=client)
    (created,) = await users_list.asyncio(client=client, username="newcomer@eduteams")
    assert (created.first_name, created.email) == ("Nia", "alice@uni.example")
    assert created.registration_method == "eduteams" and created.identity_source == "eduteams"
    assert created.notifications_enabled is False and created.is_active is True
    assert created.has_active_session is True


async def test_unknown_to_eduteams_deactivates_the_user(api: Any, factory: Factory) -> None:
    staff = await factory.user("staff", is_staff=True)
    leaver = await eduteams_user(factory, "leaver@eduteams")
    client = api(await factory.token(staff))
    response = await users_pull_remote_user.asyncio_detailed(uuid=leaver.uuid, client=client)
    assert response.status_code == 200
    assert (await users_retrieve.asyncio(uuid=leaver.uuid, client=client)).is_active is False


async def test_a_failing_userinfo_endpoint_is_a_400_and_changes_nothing(
    api: Any, factory: Factory, eduteams: tuple[FakeEduteams, str]
) -> None:
    fake, url = eduteams
    fake.userinfo_status = 503
    staff = await factory.user("staff", is_staff=True)
    alice = await eduteams_user(factory, "alice@eduteams", first_name="Kept")
    client = api(await factory.token(staff))
    with pytest.raises(UnexpectedStatus) as failed:
        await users_pull_remote_user.asyncio_detailed(uuid=alice.uuid, client=client)
    assert failed.value.status_code == 400
    assert error_of(failed.value) == {
        "detail": f"Unable to get user info for {url}/api/userinfo/alice%40eduteams"
    }
    assert (await users_retrieve.asyncio(uuid=alice.uuid, client=client)).first_name == "Kept"


async def test_a_refused_token_grant_is_a_400(
    api: Any, factory: Factory, eduteams: tuple[FakeEduteams, str]
) -> None:
    fake, _url = eduteams
    fake.refresh_token = "a-different-one"  # eduTEAMS no longer accepts the configured token
    staff = await factory.user("staff", is_staff=True)
    alice = await eduteams_user(factory, "alice@eduteams")
    with pytest.raises(UnexpectedStatus) as failed:
        await users_pull_remote_user.asyncio_detailed(
            uuid=alice.uuid, client=api(await factory.token(staff))
        )
    assert failed.value.status_code == 400
    assert error_of(failed.value)["detail"].startswith("Unable to get access token")


async def test_an_unreachable_eduteams_is_a_400(
    api: Any, factory: Factory, eduteams_server: TestServer
) -> None:
    staff = await factory.user("staff", is_staff=True)
    alice = await eduteams_user(factory, "alice@eduteams")
    client = api(await factory.token(staff))
    await eduteams_server.close()  # the port now refuses connections
    with pytest.raises(UnexpectedStatus) as failed:
        await users_pull_remote_user.asyncio_detailed(uuid=alice.uuid, client=client)
    assert failed.value.status_code == 400
    assert "eduTEAMS could not be reached" in error_of(failed.value)["detail"]


async def test_a_user_not_managed_by_eduteams_is_refused(api: Any, factory: Factory) -> None:
    staff = await factory.user("staff", is_staff=True)
    local = await factory.user("local")
    with pytest.raises(UnexpectedStatus) as refused:
        await users_pull_remote_user.asyncio_detailed(
            uuid=local.uuid, client=api(await factory.token(staff))
        )
    assert refused.value.status_code == 400
    assert error_of(refused.value) == ["User is not managed by eduTEAMS."]
