"""The outcome of a core call as a value, so that a table of callers can say who may."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from gql_users.accounts.errors import AccountsError

OK = "ok"


async def outcome(call: Awaitable[Any]) -> type[AccountsError] | str:
    """``"ok"`` when ``call`` succeeds, else the class of the core error it raised."""
    try:
        await call
    except AccountsError as error:
        return type(error)
    return OK
