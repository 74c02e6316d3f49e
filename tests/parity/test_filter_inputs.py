"""List filters read alike through both APIs: a blank value filters nothing, list items are
trimmed, and text holding NUL (which PostgreSQL cannot compare) is a 400, never a 500.

REST gets these from ``rest.query.user_filter_from_query``; GraphQL's typed input used to build the
filter directly and skipped them (an empty ``username`` matched nobody, ``[" X "]`` found no
role X, NUL ended in a masked internal error on PostgreSQL), so both now go through the
core's normalisation.
"""

from __future__ import annotations

from typing import Any

import pytest

from gql_users.accounts.validation import NULL_CHARACTERS
from tests.parity.outcome import invalid, usernames
from tests.parity.transport import Transport
from tests.world import World


@pytest.mark.parametrize(
    "filters",
    [
        {"username": ""},
        {"registration_method": ""},
        {"phone_number": ""},
        {"organization_roles": [""]},
        {"organization_roles": []},
        {"project_roles": ["  "]},
    ],
)
async def test_a_blank_filter_filters_nothing(
    transport: Transport, world: World, filters: dict[str, Any]
) -> None:
    everyone = usernames(await transport.list_users(world.staff))
    assert len(everyone) == len(world.users())
    assert usernames(await transport.list_users(world.staff, filters)) == everyone


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"organization_roles": [" CUSTOMER.OWNER "]}, ["owner_a", "owner_b"]),
        ({"username_list": [" owner_a ", "", "owner_a", "loner"]}, ["loner", "owner_a"]),
        ({"username_list": []}, []),  # a list was given, with nobody in it
        ({"username_list": [" ", ""]}, []),
    ],
)
async def test_list_items_are_trimmed(
    transport: Transport, world: World, filters: dict[str, Any], expected: list[str]
) -> None:
    assert usernames(await transport.list_users(world.staff, filters)) == expected


@pytest.mark.parametrize(
    "filters",
    [
        {"username": "a\x00b"},
        {"full_name": "a\x00"},
        {"description": "\x00"},
        {"organization_roles": ["CUSTOMER.OWNER", "A\x00"]},
        {"username_list": ["a\x00"]},
    ],
)
async def test_null_characters_are_refused(
    transport: Transport, world: World, filters: dict[str, Any]
) -> None:
    (name,) = filters
    outcome = await transport.list_users(world.staff, filters)
    assert outcome == invalid({name: [NULL_CHARACTERS]})
