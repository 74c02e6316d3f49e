"""Headless Chromium for browser tests, driven by Playwright's async API.

Playwright never downloads a browser here: it drives the machine's own Chromium (Debian's
``chromium`` package; CI installs it). ``GQL_USERS_TEST_CHROMIUM`` names another binary. Tests
that need a browser skip, saying why, when there is none.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser

CHROMIUM_ENV = "GQL_USERS_TEST_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_binary() -> str | None:
    """The Chromium to drive: ``$GQL_USERS_TEST_CHROMIUM``, else the first one on PATH."""
    given = os.environ.get(CHROMIUM_ENV)
    if given:
        return given
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium, closed on exit; skips the test when the machine has none."""
    binary = chromium_binary()
    if binary is None:
        pytest.skip(
            f"no Chromium binary ({', '.join(CHROMIUM_NAMES)} on PATH, or {CHROMIUM_ENV}): "
            "apt-get install chromium"
        )
    from playwright.async_api import async_playwright

    # Chromium's sandbox refuses to start as root (CI runs as root) unless it is turned off.
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=binary, headless=True, args=args)
        try:
            yield browser
        finally:
            await browser.close()
