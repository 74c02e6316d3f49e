"""The playground's saved subscription in a real browser (headless Chromium) against a real
gql-users process: the page opens the WebSocket under its Content-Security-Policy, sends the
bar's token in connection_init, and shows a change made meanwhile. Skips without Chromium."""

from __future__ import annotations

import json

import aiohttp

from tests.browser import chromium
from tests.conftest import Factory
from tests.live_server import LiveServer
from tests.playground.browser_page import RESPONSE, WAIT_MS, editor_text, open_page


async def test_the_saved_subscription_shows_a_change_live(
    live: LiveServer, factory: Factory
) -> None:
    staff = await factory.user("browser.staff", is_staff=True)
    target = await factory.user("browser.target")
    token = await factory.token(staff)
    await factory.session.close()

    async with chromium() as browser, aiohttp.ClientSession() as http:
        page = await browser.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on(
            "console",
            lambda message: problems.append(message.text) if message.type == "error" else None,
        )
        await open_page(page, f"{live.base_url}/playground/")
        await page.fill("#playground-token", token)
        await page.select_option("#playground-examples", "users-changed")
        await page.wait_for_function(
            "() => document.querySelector('.graphiql-query-editor .CodeMirror')"
            ".CodeMirror.getValue().includes('subscription UsersChanged')",
            timeout=WAIT_MS,
        )
        await page.eval_on_selector(RESPONSE, "element => element.CodeMirror.setValue('')")
        await page.click(".graphiql-execute-button")

        # Change the user until the running subscription shows it (it listens a moment after
        # the page subscribed).
        shown = ""
        for attempt in range(40):
            async with http.patch(
                f"{live.base_url}/api/users/{target.uuid.hex}/",
                json={"job_title": f"Seen live {attempt}"},
                headers={"Authorization": f"Token {token}"},
            ) as response:
                assert response.status == 200, await response.text()
            await page.wait_for_timeout(250)
            shown = await editor_text(page, RESPONSE)
            if "UPDATED" in shown:
                break
        change = json.loads(shown)["data"]["usersChanged"]
        assert change["kind"] == "UPDATED"
        assert change["user"]["username"] == "browser.target"
        assert change["user"]["jobTitle"].startswith("Seen live")
        assert problems == []
