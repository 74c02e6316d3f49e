"""Page-number pagination of the REST list (behaviour.md B §4.4), as pure arithmetic.

The REST shim parses ``page`` and ``page_size`` into a ``PageRequest``, counts the filtered
users, resolves the request against that total into a ``Page`` (offset and limit for the SQL),
and builds its ``Link`` header from ``page_links``. GraphQL uses keyset cursors instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from gql_users.accounts.errors import NotFound

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 300
LAST_PAGE = "last"
INVALID_PAGE = "Invalid page."

_INTEGER = re.compile(r"\s*[+-]?\d+\s*")


@dataclass(frozen=True, slots=True)
class Page:
    """A resolved page: ``number`` is 1-based and always within ``1..num_pages``."""

    number: int
    size: int
    num_pages: int
    total: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def limit(self) -> int:
        return self.size

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What the client asked for, before the total is known."""

    page: int | Literal["last"] = 1
    size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def from_query(cls, page: str | None, page_size: str | None) -> PageRequest:
        """Parse the raw ``page`` and ``page_size`` values (None when absent).

        ``page_size``: a positive integer, cut to 300; anything else (0, negative, not a number,
        empty, over 4,300 digits) falls back to 10, as DRF does. ``page``: absent means 1,
        ``last`` means the last page; other values must be integers and are range-checked by
        ``resolve``.

        Raises:
            NotFound: "Invalid page." when ``page`` is present but not an integer (an empty
                value included, as Django's paginator rejects it) or over 4,300 digits.
        """
        return cls(page=_parse_page(page), size=parse_page_size(page_size))

    def resolve(self, total: int) -> Page:
        """Place the request on a result of ``total`` items.

        With no items there is still one (empty) page 1, as Django's paginator has.

        Raises:
            NotFound: "Invalid page." for a page below 1 or past the last page.
        """
        num_pages = count_pages(total, self.size)
        number = num_pages if self.page == LAST_PAGE else self.page
        if not 1 <= number <= num_pages:
            raise NotFound(INVALID_PAGE)
        return Page(number=number, size=self.size, num_pages=num_pages, total=total)


def _parse_int(raw: str) -> int | None:
    """An integer written in decimal (spaces and a sign allowed), else None.

    Over 4,300 digits is None too: Python's ``int()`` refuses to convert that many (a guard
    against quadratic conversion), and so Django's paginator and DRF's page size do.
    """
    if not _INTEGER.fullmatch(raw):
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def _parse_page(raw: str | None) -> int | Literal["last"]:
    if raw is None:
        return 1
    if raw == LAST_PAGE:
        return LAST_PAGE
    number = _parse_int(raw)
    if number is None:
        raise NotFound(INVALID_PAGE)
    return number


def parse_page_size(raw: str | None) -> int:
    size = None if raw is None else _parse_int(raw)
    if size is None:
        return DEFAULT_PAGE_SIZE
    return min(size, MAX_PAGE_SIZE) if size > 0 else DEFAULT_PAGE_SIZE


def count_pages(total: int, size: int) -> int:
    """Pages needed for ``total`` items, never fewer than one."""
    return max(1, -(-total // size))


@dataclass(frozen=True, slots=True)
class PageLinks:
    """Page numbers for the ``Link`` header; None where that relation is absent.

    ``first`` and ``last`` are always there. The shim writes page 1 as the URL without
    ``page`` (B §4.4), which is why this returns numbers rather than URLs.
    """

    first: int
    prev: int | None
    next: int | None
    last: int


def page_links(page: Page) -> PageLinks:
    return PageLinks(
        first=1,
        prev=page.number - 1 if page.has_previous else None,
        next=page.number + 1 if page.has_next else None,
        last=page.num_pages,
    )
