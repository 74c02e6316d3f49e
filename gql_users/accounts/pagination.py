"""Page-number pagination of the REST list (docs/rest.md#pagination), as pure arithmetic.

The REST shim parses ``page`` and ``page_size`` into a ``PageRequest`` (``gql_users.rest.query``),
counts the filtered users, resolves the request against that total into a ``Page`` (offset
and limit for the SQL), and builds its ``Link`` header from ``page_links``. GraphQL uses
keyset cursors instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from gql_users.accounts.errors import NotFound

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 300
LAST_PAGE: Final = "last"
INVALID_PAGE = "Invalid page."
MAX_OFFSET = 2**30
"""No list is this long: a numbered page that starts further in is past the last page of any
list, and is refused before the database is asked (which binds an offset as a 32-bit integer
and would overflow on ``offset * 2`` or beyond ``2**31``)."""


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


def count_pages(total: int, size: int) -> int:
    """Pages needed for ``total`` items, never fewer than one."""
    return max(1, -(-total // size))


@dataclass(frozen=True, slots=True)
class PageLinks:
    """Page numbers for the ``Link`` header; None where that relation is absent.

    ``first`` and ``last`` are always there. The shim writes page 1 as the URL without
    ``page`` (docs/rest.md#the-link-header), which is why this returns numbers rather than URLs.
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
