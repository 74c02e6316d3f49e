"""The ``Link`` header of list responses (docs/rest.md#the-link-header,
docs/api-differences.md#commas-in-link-urls)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from aiohttp import web

from gql_users.accounts.pagination import Page, page_links
from gql_users.settings import Settings


def page_url(settings: Settings, request: web.Request, number: int | None) -> str:
    """The request's URL with ``page`` replaced (or removed for page 1 and None).

    Every other parameter is kept in order. Commas are percent-encoded, because the generated
    client splits the header on commas.
    """
    params = [(key, value) for key, value in request.query.items() if key != "page"]
    if number is not None and number != 1:
        params.append(("page", str(number)))
    base = settings.public_url.rstrip("/") + request.path
    query = urlencode(params, quote_via=quote, safe="")
    return f"{base}?{query}" if query else base


def link_header(settings: Settings, request: web.Request, page: Page) -> str:
    links = page_links(page)
    relations = [
        ("first", links.first),
        ("prev", links.prev),
        ("next", links.next),
        ("last", links.last),
    ]
    return ", ".join(
        f'<{page_url(settings, request, number)}>; rel="{name}"'
        for name, number in relations
        if number is not None
    )


def page_headers(settings: Settings, request: web.Request, page: Page) -> dict[str, str]:
    """The headers of every list response: the total (``X-Result-Count``) and ``Link``."""
    return {"X-Result-Count": str(page.total), "Link": link_header(settings, request, page)}
