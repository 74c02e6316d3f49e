"""The playground in a real browser (headless Chromium) against a real gql-users process.

An example's tab, with the variables it holds, survives a reload and runs; choosing an example
that is already open goes back to its tab instead of opening another. Skips when the machine
has no Chromium (tests/browser.py says how to install one).
"""

from __future__ import annotations

import json

from tests.browser import chromium
from tests.conftest import Factory
from tests.live_server import LiveServer
from tests.playground.browser_page import (
    VARIABLES,
    WAIT_MS,
    editor_text,
    open_example,
    open_page,
    run_and_read,
    saved_tabs,
)


async def test_an_examples_variables_survive_a_reload_and_run(
    live: LiveServer, factory: Factory
) -> None:
    staff = await factory.user("browser.staff", is_staff=True)
    token = await factory.token(staff)
    staff_variables = json.dumps({"uuid": staff.uuid.hex})

    async with chromium() as browser:
        page = await browser.new_page()
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        await open_page(page, f"{live.base_url}/playground/")
        await page.fill("#playground-token", token)

        # The example arrives with its own variables, and they survive a reload unchanged.
        await open_example(page, "user")
        example_variables = await editor_text(page, VARIABLES)
        assert set(json.loads(example_variables)) == {"uuid"}
        await saved_tabs(page, containing=json.loads(example_variables)["uuid"])
        await page.reload()
        await page.wait_for_selector(VARIABLES, timeout=WAIT_MS)
        assert await editor_text(page, VARIABLES) == example_variables
        assert len((await saved_tabs(page, tabs=1))["tabs"]) == 1

        # Variables edited in the example's tab survive a reload too, and the query runs with
        # them: the user named by the edited uuid comes back.
        await page.eval_on_selector(
            VARIABLES, "(element, text) => element.CodeMirror.setValue(text)", staff_variables
        )
        await saved_tabs(page, containing=staff.uuid.hex)
        await page.reload()
        await page.wait_for_selector(VARIABLES, timeout=WAIT_MS)
        assert await editor_text(page, VARIABLES) == staff_variables
        result = await run_and_read(page)
        assert "errors" not in result, result
        assert result["data"]["user"]["username"] == "browser.staff"

        # Choosing the open example again goes back to its tab, edited variables and all.
        await open_example(page, "me")
        assert len((await saved_tabs(page, tabs=2))["tabs"]) == 2
        await open_example(page, "user")
        tabs = await saved_tabs(page, tabs=2, active_containing=staff.uuid.hex)
        assert len(tabs["tabs"]) == 2
        assert tabs["tabs"][tabs["activeTabIndex"]]["variables"] == staff_variables
        assert await editor_text(page, VARIABLES) == staff_variables
        await page.reload()
        await page.wait_for_selector(VARIABLES, timeout=WAIT_MS)
        assert len((await saved_tabs(page, tabs=2))["tabs"]) == 2
        assert (await run_and_read(page))["data"]["user"]["uuid"].replace("-", "") == (
            staff.uuid.hex
        )
        assert page_errors == []
