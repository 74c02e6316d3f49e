"""Change events (both databases): delivered once the writing transaction commits and never
after a rollback, through a hub on the test's own database (LISTEN on PostgreSQL, the process's
sessions on SQLite); every writer of users in the core publishes its kind, with the uuid only."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts import operations
from gql_users.accounts.admin import create_user_from_cli
from gql_users.accounts.callers import Caller
from gql_users.accounts.email_change import confirm_email_change
from gql_users.accounts.operations import UserChanges, already_read
from gql_users.accounts.permissions import publish_permissions_changed
from gql_users.accounts.tokens import logout
from gql_users.db.models import EmailChangeRequest
from gql_users.eduteams.client import EduteamsClient
from gql_users.events import Event, Hub, Kind, Subscription, publish
from gql_users.events.hub import Notice
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.eduteams.support import (
    ALICE_INFO,
    FakeEduteams,
    clock_fixture,  # noqa: F401 (a fixture: pytest finds it by name)
    eduteams_fixture,  # noqa: F401
    eduteams_user,
    fake_fixture,  # noqa: F401
    pull,
    remote_fixture,  # noqa: F401
    remote_settings_fixture,  # noqa: F401
)

WAIT = 5.0


@pytest.fixture
async def heard(settings: Settings) -> AsyncIterator[Subscription]:
    hub = Hub(settings.database_url)
    try:
        async with hub.subscribe() as subscription:
            yield subscription
    finally:
        await hub.close()


async def next_event(subscription: Subscription) -> Event | Notice:
    return await asyncio.wait_for(subscription.get(), WAIT)


async def test_events_arrive_after_the_commit_and_never_after_a_rollback(
    session: AsyncSession, heard: Subscription
) -> None:
    dropped, kept = Event(Kind.UPDATED, uuid.uuid4()), Event(Kind.DELETED, uuid.uuid4())
    await publish(session, dropped)
    await session.rollback()
    await publish(session, kept)
    assert heard.queue.empty()  # not before the commit
    await session.commit()
    assert await next_event(heard) == kept
    await asyncio.sleep(0.2)
    assert heard.queue.empty()


def test_the_wire_form_is_a_kind_and_a_uuid_only() -> None:
    event = Event(Kind.PERMISSIONS, uuid.UUID("0123456789abcdef0123456789abcdef"))
    assert event.encode() == "permissions:0123456789abcdef0123456789abcdef"
    assert Event.decode(event.encode()) == event
    for noise in ("", "permissions", "nope:0123456789abcdef0123456789abcdef", "created:xyz"):
        assert Event.decode(noise) is None


async def test_a_subscriber_that_falls_behind_is_told_once() -> None:
    subscription = Subscription(queue_size=2)
    for _ in range(5):
        subscription.put(Event(Kind.UPDATED, uuid.uuid4()))
    assert await subscription.get() is Notice.OVERFLOW
    assert subscription.queue.empty()


async def test_each_write_of_the_core_publishes_its_kind(
    session: AsyncSession, settings: Settings, factory: Factory, heard: Subscription
) -> None:
    staff = await factory.user("staff", is_staff=True)
    target = await factory.user("target")
    caller = Caller(user=staff)

    async def expect(kind: Kind, user: uuid.UUID) -> None:
        assert await next_event(heard) == Event(kind, user)

    created = await operations.create_user(
        session,
        settings,
        caller,
        already_read(UserChanges({"username": "fresh", "email": "fresh@example.com"})),
    )
    await expect(Kind.CREATED, created.uuid)
    changes = already_read(UserChanges({"job_title": "Chemist", "agree_with_policy": True}))
    await operations.update_user(session, settings, caller, target.uuid, changes)
    await expect(Kind.UPDATED, target.uuid)
    changes = already_read(UserChanges({"token_lifetime": 7200}))  # a user's own to change
    await operations.update_user(session, settings, Caller(user=target), target.uuid, changes)
    await expect(Kind.UPDATED, target.uuid)
    await expect(Kind.TOKENS, target.uuid)
    deactivate = already_read(UserChanges({"is_active": False}))
    await operations.update_user(session, settings, caller, created.uuid, deactivate)
    await expect(Kind.DEACTIVATED, created.uuid)

    await operations.change_email(
        session, settings, caller, target.uuid, already_read("new@example.com")
    )
    await expect(Kind.UPDATED, target.uuid)
    cancelled = await operations.cancel_change_email(session, caller, target.uuid)
    assert cancelled.cancelled
    await expect(Kind.UPDATED, target.uuid)
    await operations.change_email(
        session, settings, caller, target.uuid, already_read("newer@example.com")
    )
    await expect(Kind.UPDATED, target.uuid)
    code = await session.scalar(
        EmailChangeRequest.__table__.select()
        .with_only_columns(EmailChangeRequest.uuid)
        .where(EmailChangeRequest.user_id == target.id)
    )
    await confirm_email_change(session, settings, code.hex)
    await expect(Kind.UPDATED, target.uuid)

    await operations.refresh_token(session, caller, target.uuid)
    await expect(Kind.TOKENS, target.uuid)
    await operations.delete_user(session, settings, caller, created.uuid)
    await expect(Kind.DELETED, created.uuid)

    operator = await create_user_from_cli(
        session, settings, username="operator", email="operator@example.com"
    )
    await expect(Kind.CREATED, operator.user.uuid)
    await logout(session, Caller(user=operator.user, token=operator.token))
    await expect(Kind.TOKENS, operator.user.uuid)

    await publish_permissions_changed(session, target.uuid, target.uuid, staff.uuid)
    await session.commit()
    await expect(Kind.PERMISSIONS, target.uuid)  # once per user, however often named
    await expect(Kind.PERMISSIONS, staff.uuid)

    # A password change alters no field anyone reads: nothing is published.
    await operations.change_password(
        session, settings, caller, target.uuid, already_read("a long new passphrase 42")
    )
    await asyncio.sleep(0.2)
    assert heard.queue.empty()


async def test_the_eduteams_sync_publishes_creation_update_and_deactivation(
    session: AsyncSession,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
    heard: Subscription,
) -> None:
    staff = await factory.user("staff", is_staff=True)
    alice = await eduteams_user(factory)
    fake.users["alice"] = ALICE_INFO
    await pull(session, remote_settings, remote, staff, alice)
    assert await next_event(heard) == Event(Kind.UPDATED, alice.uuid)

    fake.users["alice"] = {**ALICE_INFO, "sub": "alice-new@eduteams.org"}
    await pull(session, remote_settings, remote, staff, alice)
    created: Any = await next_event(heard)
    assert created.kind is Kind.CREATED and created.user != alice.uuid

    del fake.users["alice"]
    await pull(session, remote_settings, remote, staff, alice)
    assert await next_event(heard) == Event(Kind.DEACTIVATED, alice.uuid)
