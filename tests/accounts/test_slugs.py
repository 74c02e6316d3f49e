"""The slug rule of docs/fields.md#slugs: pure parts first, then against the real database."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.slugs import generate_slug, next_slug, slug_prefix, slugify
from tests.conftest import Factory


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("john1", "john1"),
        ("John.Doe@Example.com", "johndoeexamplecom"),
        ("François Jürimäe", "francois-jurimae"),
        ("a  -  b", "a-b"),
        ("__x__", "x"),
        ("-x+y-", "xy"),
        ("@.+", ""),
    ],
)
def test_slugify_behaves_like_django(value: str, expected: str) -> None:
    assert slugify(value) == expected


def test_prefix_is_the_first_eight_characters_or_a_fallback() -> None:
    assert slug_prefix("alexander.the.great") == "alexande"
    assert slug_prefix("@.+") == "user"


def test_next_slug_counts_only_numeric_suffixes_of_the_same_prefix() -> None:
    assert next_slug("john1", []) == "john1-1"
    existing = ["john1-1", "john1-9", "john1-10", "john1-x", "john1-2a"]
    assert next_slug("john1", existing) == "john1-11"
    # "john-x-5" has a non-numeric suffix for the prefix "john"; "john1-3" has another prefix.
    assert next_slug("john", ["john-x-5", "john1-3"]) == "john-1"


async def test_first_user_with_a_prefix_gets_suffix_one(session: AsyncSession) -> None:
    assert await generate_slug(session, "john1") == "john1-1"


async def test_suffix_is_one_more_than_the_highest_existing(
    session: AsyncSession, factory: Factory
) -> None:
    await factory.user("john1", slug="john1-1")
    await factory.user("john1.other", slug="john1-7")
    await factory.user("john1.third", slug="john1-abc")
    await factory.user("john12", slug="john12-40")
    assert await generate_slug(session, "John1") == "john1-8"


async def test_underscore_in_the_prefix_is_not_a_like_wildcard(
    session: AsyncSession, factory: Factory
) -> None:
    await factory.user("axb", slug="axb-7")
    await factory.user("a_b.old", slug="a_b-2")
    assert await generate_slug(session, "a_b") == "a_b-3"
