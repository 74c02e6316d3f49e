"""Driving the playground page in headless Chromium: the live server it talks to and the
page helpers the browser tests share."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.async_api import Page

WAIT_MS = 10_000
# GraphiQL writes its tabs to localStorage at most every 500 ms.
TAB_STORE_MS = 700

VARIABLES = ".graphiql-editor-tool .CodeMirror"
RESPONSE = ".graphiql-response .CodeMirror"


async def open_page(page: Page, url: str) -> None:
    await page.goto(url)
    await page.wait_for_selector("#playground-examples:not([disabled])", timeout=WAIT_MS)
    await page.wait_for_selector(VARIABLES, timeout=WAIT_MS)


async def editor_text(page: Page, selector: str) -> str:
    return await page.eval_on_selector(selector, "element => element.CodeMirror.getValue()")


async def saved_tabs(
    page: Page,
    tabs: int | None = None,
    containing: str | None = None,
    active_containing: str | None = None,
) -> dict[str, Any]:
    """GraphiQL's stored tab state, once it has been written (it is stored after a debounce,
    which a loaded machine can stretch); with ``tabs``, once it holds that many tabs; with
    ``containing``, once that text is stored (wait for it before a reload); with
    ``active_containing``, once the tab stored as active holds that text (a switch of tabs is
    stored after the same debounce)."""
    await page.wait_for_timeout(TAB_STORE_MS)
    if containing is not None:
        await page.wait_for_function(
            "text => (localStorage.getItem('graphiql:tabState') || '').includes(text)",
            arg=containing,
            timeout=WAIT_MS,
        )
    if tabs is not None:
        await page.wait_for_function(
            "n => JSON.parse(localStorage.getItem('graphiql:tabState') || '{}').tabs?.length === n",
            arg=tabs,
            timeout=WAIT_MS,
        )
    if active_containing is not None:
        await page.wait_for_function(
            """text => {
                const state = JSON.parse(localStorage.getItem('graphiql:tabState') || '{}');
                const active = (state.tabs || [])[state.activeTabIndex];
                return active !== undefined && JSON.stringify(active).includes(text);
            }""",
            arg=active_containing,
            timeout=WAIT_MS,
        )
    return json.loads(await page.evaluate("localStorage.getItem('graphiql:tabState')"))


async def open_example(page: Page, name: str) -> None:
    await page.select_option("#playground-examples", name)
    await page.wait_for_function(
        "name => document.querySelector('.graphiql-query-editor .CodeMirror')"
        ".CodeMirror.getValue().includes('query ' + name)",
        arg=name[:1].upper() + name[1:],
        timeout=WAIT_MS,
    )


async def run_and_read(page: Page) -> dict[str, Any]:
    await page.eval_on_selector(RESPONSE, "element => element.CodeMirror.setValue('')")
    await page.click(".graphiql-execute-button")
    await page.wait_for_function(
        "selector => document.querySelector(selector).CodeMirror.getValue().length > 0",
        arg=RESPONSE,
        timeout=WAIT_MS,
    )
    return json.loads(await editor_text(page, RESPONSE))
