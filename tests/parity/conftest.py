"""Parity fixtures: ``transport`` runs each scenario once through REST and once through
GraphQL; ``both`` puts the two transports on one database, for tests that compare their
answers to each other directly. ``world`` (tests/conftest.py) is the shared cast of
tests/world.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gql_users.settings import Settings
from gql_users.web.app import create_app
from tests.conftest import Factory
from tests.parity.graphql_transport import GraphQLTransport
from tests.parity.rest_transport import RestTransport
from tests.parity.transport import Transport

TRANSPORTS: dict[str, Callable[[TestClient, Factory], Transport]] = {
    "rest": RestTransport,
    "graphql": GraphQLTransport,
}

MakeTransport = Callable[..., Awaitable[Transport]]


@pytest.fixture(params=list(TRANSPORTS))
def transport_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def transport(transport_name: str, client: TestClient, factory: Factory) -> Transport:
    return TRANSPORTS[transport_name](client, factory)


@pytest.fixture
def transport_with(
    transport_name: str, settings: Settings, aiohttp_client: Any, factory: Factory
) -> MakeTransport:
    """``await transport_with(**settings_overrides)``: the same transport over an app whose
    settings differ from the test defaults (same database)."""

    async def make(**overrides: Any) -> Transport:
        client = await aiohttp_client(create_app(settings.model_copy(update=overrides)))
        return TRANSPORTS[transport_name](client, factory)

    return make


@pytest.fixture
def both(client: TestClient, factory: Factory) -> tuple[Transport, Transport]:
    """(REST, GraphQL) over the same app and database."""
    return RestTransport(client, factory), GraphQLTransport(client, factory)
