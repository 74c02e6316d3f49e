"""The failure every eduTEAMS call reports, in a module of its own: the accounts core catches it
without importing the HTTP client (and with it aiohttp)."""

from __future__ import annotations


class EduteamsUnavailable(Exception):
    """eduTEAMS could not be asked, or answered unusably. ``detail`` is the message for the
    caller: it names what failed, never a secret or the remote's body."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
