"""The playground recovers from a stale token, in a real browser (headless Chromium) against a
real gql-users process: /graphql answers 401, the page says so, and one click drops the stored
token and loads the schema again (docs/hardening.md#http-headers)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.db.models import AuthToken
from tests.browser import chromium
from tests.conftest import Factory
from tests.live_server import LiveServer
from tests.playground.browser_page import WAIT_MS, open_example, run_and_read

NOTICE = "#playground-notice"
TOKEN_KEY = "gql-users.playground.token"


async def test_a_stale_token_is_reported_and_one_click_clears_it(
    live: LiveServer, factory: Factory, session: AsyncSession
) -> None:
    user = await factory.user("browser.user")
    token = await factory.token(user)

    async with chromium() as browser:
        page = await browser.new_page()
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        await page.goto(f"{live.base_url}/playground/")
        await page.wait_for_selector("#playground-examples:not([disabled])", timeout=WAIT_MS)
        await page.fill("#playground-token", token)
        await open_example(page, "me")
        assert (await run_and_read(page))["data"]["me"]["username"] == "browser.user"
        assert await page.is_hidden(NOTICE)

        # The token dies (logged out elsewhere); the page, reloaded, still sends it.
        await session.execute(delete(AuthToken).where(AuthToken.user_id == user.id))
        await session.commit()
        await page.reload()
        await page.wait_for_selector(NOTICE, state="visible", timeout=WAIT_MS)
        notice = await page.inner_text(NOTICE)
        assert "refused the API token" in notice and "Invalid token." in notice
        assert token not in notice
        assert await page.evaluate(f"localStorage.getItem('{TOKEN_KEY}')") == token

        # One click: the token is gone from the field and from storage, the notice too, and
        # the schema loads again, so an anonymous query runs and gets GraphQL's own answer.
        await page.click("#playground-token-clear")
        await page.wait_for_selector(NOTICE, state="hidden", timeout=WAIT_MS)
        assert await page.input_value("#playground-token") == ""
        assert await page.evaluate(f"localStorage.getItem('{TOKEN_KEY}')") is None
        await open_example(page, "me")
        result = await run_and_read(page)
        assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert await page.is_hidden(NOTICE)  # no token was sent: not a stale-token case
        assert page_errors == []
