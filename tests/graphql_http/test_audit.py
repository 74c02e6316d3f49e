"""GraphQL over HTTP conformance: graphql-http's ``serverAudits`` against a live gql-users.

The audits come from the npm package ``graphql-http`` (version pinned in package-lock.json),
run by ``audit.mjs`` against a real server process on 127.0.0.1. Each audit is one test named
by its id (``test_audit[22EB]``), so a failure names the spec requirement it breaks.

``audits.json`` is the pinned package's audit list (``node audit.mjs --list``): the tests are
collected from it without Node.js, and ``test_pinned_audit_list_is_current`` fails when the
package and the list disagree (after a version bump, regenerate the list).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import LiveServer

HERE = Path(__file__).resolve().parent
AUDIT_TIMEOUT = 180

AUDITS: list[dict[str, str]] = json.loads((HERE / "audits.json").read_text())

ALSO_REQUIRED = {
    "9C48": "issue 4: GET runs queries only, never mutations",
    "5A70": "issue 4: GET is accepted for queries",
}
"""MAY audits that gql-users promises all the same."""

DELIBERATE_GAPS: dict[str, str] = {}
"""Audit id -> why gql-users knowingly departs from it (the test is a strict xfail)."""

REQUIRED = [
    pytest.param(
        audit,
        id=audit["id"],
        marks=[pytest.mark.xfail(reason=DELIBERATE_GAPS[audit["id"]], strict=True)]
        if audit["id"] in DELIBERATE_GAPS
        else [],
    )
    for audit in AUDITS
    if audit["name"].startswith(("MUST ", "SHOULD ")) or audit["id"] in ALSO_REQUIRED
]


def describe(result: dict[str, Any]) -> str:
    lines = [f"{result['id']} {result['name']}: {result['status']}", f"  {result.get('reason')}"]
    if "httpStatus" in result:
        lines.append(f"  server answered {result['httpStatus']} {result.get('contentType')}")
    if result.get("body"):
        lines.append(f"  body: {result['body']}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def audit_results(node: str, live_server: LiveServer) -> dict[str, dict[str, Any]]:
    """Every audit's result by id, from one run of the whole suite."""
    run = subprocess.run(
        [node, str(HERE / "audit.mjs"), f"{live_server.base_url}/graphql"],
        capture_output=True,
        text=True,
        timeout=AUDIT_TIMEOUT,
        cwd=HERE,
    )
    assert run.returncode == 0, (
        f"audit.mjs failed:\n{run.stderr}\nserver log:\n{live_server.output()}"
    )
    results = {result["id"]: result for result in json.loads(run.stdout)}
    failing = [describe(r) for r in results.values() if r["status"] != "ok"]
    if failing:  # shown with the first failing test (-rA or -s shows it always)
        print(f"{len(failing)} of {len(results)} graphql-http audits do not pass:")
        print("\n".join(failing))
    return results


def test_pinned_audit_list_is_current(audit_results: dict[str, dict[str, Any]]) -> None:
    ran = {(r["id"], r["name"]) for r in audit_results.values()}
    pinned = {(a["id"], a["name"]) for a in AUDITS}
    assert ran == pinned, "regenerate audits.json: node tests/graphql_http/audit.mjs --list"


@pytest.mark.parametrize("audit", REQUIRED)
def test_audit(audit: dict[str, str], audit_results: dict[str, dict[str, Any]]) -> None:
    """Every MUST and SHOULD of the GraphQL-over-HTTP spec (and the MAYs in ALSO_REQUIRED)."""
    result = audit_results[audit["id"]]
    assert result["status"] == "ok", describe(result)
