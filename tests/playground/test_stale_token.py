"""The playground recovers from a stale token: /graphql answers 401, the page says so, and one
click drops the stored token and reloads the schema.

The page's own script runs in Node (``stale_token_harness.js`` gives it a minimal DOM) and
talks to the test server over real HTTP; skipped where Node is not installed.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import Factory

HERE = Path(__file__).resolve().parent
SCRIPT = HERE.parents[1] / "playground" / "static" / "playground.js"
HARNESS = HERE / "stale_token_harness.js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")


async def run_page(client: TestClient, stale: str, good: str) -> dict[str, Any]:
    base = str(client.make_url("")).rstrip("/")
    assert NODE is not None
    process = await asyncio.create_subprocess_exec(
        NODE,
        str(HARNESS),
        str(SCRIPT),
        base,
        stale,
        good,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()
    return json.loads(stdout)


async def refusal_message(client: TestClient, token: str) -> str:
    """What the server says about the token, in either shape a 401 may have."""
    response = await client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"Authorization": f"Token {token}"},
    )
    assert response.status == 401
    body = await response.json(content_type=None)
    return body["errors"][0]["message"] if "errors" in body else body["detail"]


async def test_a_refused_token_is_reported_and_one_click_clears_it(
    client: TestClient, factory: Factory
) -> None:
    alice = await factory.user("alice")
    good = await factory.token(alice)
    stale = "0" * 40
    message = await refusal_message(client, stale)
    steps = await run_page(client, stale, good)

    assert steps["loaded"]["noticeHidden"] is True
    assert steps["loaded"]["tokenField"] == stale

    # The 401 becomes a GraphQL result for GraphiQL and a notice naming the server's reason.
    [error] = steps["staleResult"]["errors"]
    assert error["message"] == message
    assert steps["afterStale"]["noticeHidden"] is False
    assert message in steps["afterStale"]["noticeText"]
    assert "expired" in steps["afterStale"]["noticeText"]
    assert stale not in steps["afterStale"]["noticeText"]

    # One click: the token is gone from the field and the storage, GraphiQL is mounted again
    # (a new key, so it fetches the schema again), and requests work anonymously.
    cleared = steps["afterClear"]
    assert cleared["noticeHidden"] is True
    assert cleared["storedToken"] is None
    assert cleared["tokenField"] == ""
    assert cleared["mounts"] == steps["afterStale"]["mounts"] + 1
    assert cleared["key"] != steps["afterStale"]["key"]
    assert steps["clearedResult"]["data"] == {"__typename": "Query"}

    # A stale token typed in GraphiQL's own headers editor is pointed at as well.
    assert steps["afterEditor"]["noticeHidden"] is False
    assert "Headers editor" in steps["afterEditor"]["noticeText"]

    # A working token hides the notice again.
    assert steps["goodResult"]["data"] == {"me": {"username": "alice"}}
    assert steps["afterGood"]["noticeHidden"] is True
