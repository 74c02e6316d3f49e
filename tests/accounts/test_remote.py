"""pull_remote_user (docs/writes.md#eduteams-sync) against a real HTTP server on 127.0.0.1 standing
in for eduTEAMS (tests/eduteams/support.py): create, update, deactivate, who may, and the checks on
remote values. The client's own behaviour (token cache, failures) is tested in tests/eduteams/.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gql_users.accounts.errors import (
    BadRequest,
    NotAuthenticated,
    PermissionDenied,
    ValidationFailed,
)
from gql_users.accounts.remote import NOT_MANAGED, SYNC_DISABLED, _insert_eduteams_user
from gql_users.db.engine import create_sessionmaker
from gql_users.db.models import AuthToken, User
from gql_users.eduteams.client import EduteamsClient
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.eduteams.support import (
    ALICE_INFO,
    NOW,
    FakeEduteams,
    clock_fixture,  # noqa: F401 (a fixture: pytest finds it by name)
    eduteams_fixture,  # noqa: F401
    eduteams_user,
    fake_fixture,  # noqa: F401
    load,
    pull,
    remote_fixture,  # noqa: F401
    remote_settings_fixture,  # noqa: F401
)


async def token_count(engine: AsyncEngine, user: User) -> int:
    async with create_sessionmaker(engine)() as fresh:
        count = await fresh.scalar(
            select(func.count()).select_from(AuthToken).where(AuthToken.user_id == user.id)
        )
        return int(count or 0)


# --- create, update, deactivate ----------------------------------------------------------------


async def test_update_copies_the_remote_profile(
    session: AsyncSession,
    engine: AsyncEngine,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
) -> None:
    staff = await factory.user("staff", is_staff=True)
    alice = await eduteams_user(factory, first_name="Old", email="old@example.com")
    fake.users["alice"] = ALICE_INFO

    await pull(session, remote_settings, remote, staff, alice)

    stored = await load(engine, "alice")
    assert stored is not None and stored.id == alice.id
    assert stored.email == "alice@uni.example"
    assert (stored.first_name, stored.last_name) == ("Alice", "Jürimäe")
    assert stored.query_field == "Alice Jurimae"
    assert stored.details == {"eduperson_assurance": ["https://refeds.org/assurance/IAP/medium"]}
    assert stored.affiliations == ["member@uni.example", "staff@uni.example"]
    assert stored.is_active is True
    assert stored.last_sync == NOW
    assert fake.requested_usernames == ["alice"]


async def test_a_new_sub_creates_an_eduteams_user(
    session: AsyncSession,
    engine: AsyncEngine,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
) -> None:
    staff = await factory.user("staff", is_staff=True)
    alice = await eduteams_user(factory)
    fake.users["alice"] = {**ALICE_INFO, "sub": "alice-new@eduteams.org"}

    await pull(session, remote_settings, remote, staff, alice)

    created = await load(engine, "alice-new@eduteams.org")
    assert created is not None
    assert created.registration_method == "eduteams"
    assert created.identity_source == "eduteams"
    assert created.notifications_enabled is False
    assert created.password == ""
    assert created.token_lifetime == remote_settings.token_lifetime == 3600
    assert created.slug == "alice-ne-1"
    assert created.email == "alice@uni.example"
    assert created.is_active is True and created.last_sync == NOW
    assert await token_count(engine, created) == 1
    assert (await load(engine, "alice")) is not None  # the target itself is left alone


async def test_voperson_id_names_the_user_when_sub_is_missing(
    session: AsyncSession,
    engine: AsyncEngine,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
) -> None:
    alice = await eduteams_user(factory)
    info = {k: v for k, v in ALICE_INFO.items() if k not in ("sub", "mail")}
    fake.users["alice"] = {**info, "voperson_id": "alice"}

    await pull(session, remote_settings, remote, alice, alice)

    stored = await load(engine, "alice")
    assert stored is not None and stored.email == "ignored@example.com"


async def test_an_inactive_user_known_again_is_reactivated(
    session: AsyncSession,
    engine: AsyncEngine,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
) -> None:
    staff = await factory.user("staff", is_staff=True)
    alice = await eduteams_user(factory, is_active=False)
    fake.users["alice"] = ALICE_INFO

    key = await factory.token(alice)
    await pull(session, remote_settings, remote, staff, alice)

    stored = await load(engine, "alice")
    assert stored is not None and stored.is_active is True
    assert await token_count(engine, alice) == 1
    async with create_sessionmaker(engine)() as fresh:  # the existing token was not replaced
        assert await fresh.scalar(select(AuthToken.key).where(AuthToken.user_id == alice.id)) == key


async def test_unknown_to_eduteams_deactivates_the_local_user(
    session: AsyncSession,
    engine: AsyncEngine,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
) -> None:
    staff = await factory.user("staff", is_staff=True)
    alice = await eduteams_user(factory)

    await pull(session, remote_settings, remote, staff, alice)

    stored = await load(engine, "alice")
    assert stored is not None
    assert stored.is_active is False
    assert stored.last_sync == NOW
    assert fake.userinfo_calls == 1


async def test_no_transaction_is_held_while_eduteams_answers(
    session: AsyncSession,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
) -> None:
    alice = await eduteams_user(factory)
    await session.scalar(select(User.id))  # the adapter has read the target: a transaction
    assert session.in_transaction()
    fake.users["alice"] = ALICE_INFO
    seen: list[bool] = []
    fake.while_answering = lambda: seen.append(session.in_transaction())
    await pull(session, remote_settings, remote, alice, alice)
    assert seen == [False]


async def test_a_lost_creation_race_finds_the_other_users_row(
    session: AsyncSession, factory: Factory, remote_settings: Settings
) -> None:
    existing = await eduteams_user(factory, "carol")
    user, created = await _insert_eduteams_user(session, remote_settings, "carol", NOW)
    assert (user.id, created) == (existing.id, False)


# --- who may, and when -------------------------------------------------------------------------


async def test_non_staff_on_another_user_is_denied(
    session: AsyncSession,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
) -> None:
    bob = await factory.user("bob")
    alice = await eduteams_user(factory)
    customer = await factory.customer()
    for member in (bob, alice):  # bob sees alice, so the refusal is a 403, not a 404
        await factory.grant(member, "CUSTOMER.OWNER", customer)
    with pytest.raises(PermissionDenied):
        await pull(session, remote_settings, remote, bob, alice)
    assert fake.token_calls == fake.userinfo_calls == 0


async def test_anonymous_is_not_authenticated(
    session: AsyncSession, factory: Factory, remote: EduteamsClient, remote_settings: Settings
) -> None:
    alice = await eduteams_user(factory)
    with pytest.raises(NotAuthenticated):
        await pull(session, remote_settings, remote, None, alice)


async def test_non_staff_on_self_is_allowed(
    session: AsyncSession,
    engine: AsyncEngine,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
) -> None:
    alice = await eduteams_user(factory, registration_method="default")  # identity_source only
    fake.users["alice"] = ALICE_INFO
    await pull(session, remote_settings, remote, alice, alice)
    stored = await load(engine, "alice")
    assert stored is not None and stored.first_name == "Alice"


async def test_user_not_managed_by_eduteams_is_refused(
    session: AsyncSession,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
) -> None:
    staff = await factory.user("staff", is_staff=True)
    local = await factory.user("local")
    with pytest.raises(ValidationFailed) as raised:
        await pull(session, remote_settings, remote, staff, local)
    assert raised.value.errors == [NOT_MANAGED]
    assert fake.token_calls == 0


async def test_disabled_sync_is_refused_before_any_remote_call(
    session: AsyncSession,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
) -> None:
    staff = await factory.user("staff", is_staff=True)
    alice = await eduteams_user(factory)
    disabled = remote_settings.model_copy(update={"eduteams_enabled": False})
    with pytest.raises(ValidationFailed) as raised:
        await pull(session, disabled, remote, staff, alice)
    assert raised.value.errors == [SYNC_DISABLED]
    assert fake.token_calls == fake.userinfo_calls == 0


# --- remote values are checked before they are stored ------------------------------------------

LONG = "n" * 150


@pytest.mark.parametrize(
    ("info", "claim"),
    [
        ({"sub": 42}, "sub"),
        ({"sub": "x" * 129}, "sub"),
        ({"sub": "with space"}, "sub"),
        ({"sub": " alice"}, "sub"),
        ({"sub": "", "voperson_id": ["a"]}, "voperson_id"),
        ({"given_name": {"a": 1}}, "given_name"),
        ({"family_name": "nul\u0000byte"}, "family_name"),
        ({"given_name": "\ud800"}, "given_name"),  # a lone surrogate cannot be stored
        ({"mail": [f"{LONG * 3}@x.org"]}, "mail"),
        ({"mail": [7]}, "mail"),
        ({"email": False, "mail": []}, "email"),
        ({"voperson_external_affiliation": ["ok", 3]}, "voperson_external_affiliation"),
        ({"voperson_external_affiliation": ["x" * 256]}, "voperson_external_affiliation"),
        ({"eduperson_assurance": ["a"] * 101}, "eduperson_assurance"),
        ({"eduperson_assurance": {"a": 1}}, "eduperson_assurance"),
    ],
)
async def test_unusable_remote_values_are_refused_and_nothing_is_written(
    session: AsyncSession,
    engine: AsyncEngine,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
    info: dict[str, Any],
    claim: str,
) -> None:
    alice = await eduteams_user(factory, first_name="Kept")
    fake.users["alice"] = {**ALICE_INFO, **info}
    with pytest.raises(BadRequest) as raised:
        await pull(session, remote_settings, remote, alice, alice)
    assert raised.value.detail == f"eduTEAMS user info has an invalid {claim} value."
    stored = await load(engine, "alice")
    assert stored is not None and stored.first_name == "Kept"


async def test_userinfo_without_a_username_is_refused(
    session: AsyncSession,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
) -> None:
    alice = await eduteams_user(factory)
    fake.users["alice"] = {**ALICE_INFO, "sub": None, "voperson_id": ""}
    with pytest.raises(BadRequest) as raised:
        await pull(session, remote_settings, remote, alice, alice)
    assert raised.value.detail == "eduTEAMS user info has neither a sub nor a voperson_id."


async def test_long_names_are_cut_and_single_values_accepted(
    session: AsyncSession,
    engine: AsyncEngine,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
) -> None:
    alice = await eduteams_user(factory)
    fake.users["alice"] = {
        "sub": "alice",
        "mail": "single@uni.example",
        "given_name": LONG,
        "family_name": None,
        "voperson_external_affiliation": "member@uni.example",
    }
    await pull(session, remote_settings, remote, alice, alice)
    stored = await load(engine, "alice")
    assert stored is not None
    assert stored.first_name == LONG[:100] and stored.last_name == ""
    assert stored.email == "single@uni.example"
    assert stored.affiliations == ["member@uni.example"]
    assert stored.details == {"eduperson_assurance": []}
