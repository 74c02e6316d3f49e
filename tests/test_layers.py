"""The layering contracts of pyproject.toml (``[tool.importlinter]``), run with the real
``lint-imports``: the project keeps them, and a copy of the project with one import that breaks
a contract fails, naming that contract.

The copies live in ``tmp_path`` and are put first on ``PYTHONPATH``, so import-linter analyses
them instead of the packages installed in the virtualenv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gql_users", "resolvers")


def lint_imports_command() -> list[str]:
    """The ``lint-imports`` script of the interpreter running the tests."""
    script = Path(sys.executable).parent / "lint-imports"
    if script.exists():
        return [str(script)]
    found = shutil.which("lint-imports")
    assert found is not None, "lint-imports is not installed (the test extra has it)"
    return [found]


def contract_names() -> dict[str, str]:
    """Each contract's ``id`` and ``name``, as pyproject.toml declares them."""
    config: dict[str, Any] = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    return {contract["id"]: contract["name"] for contract in contracts}


def lint_imports(project: Path) -> tuple[int, str]:
    """Run lint-imports on ``project`` (its pyproject.toml and packages); the exit code and the
    output with whitespace runs collapsed (the report wraps long contract names)."""
    env = {**os.environ, "PYTHONPATH": str(project), "COLUMNS": "200", "NO_COLOR": "1"}
    result = subprocess.run(
        [*lint_imports_command(), "--no-cache", "--no-logo"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, " ".join((result.stdout + result.stderr).split())


def copy_project(target: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            REPO_ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO_ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def test_the_project_keeps_every_contract() -> None:
    code, output = lint_imports(REPO_ROOT)
    names = contract_names()
    assert code == 0, output
    assert f"Contracts: {len(names)} kept, 0 broken." in output
    for name in names.values():
        assert f"{name} KEPT" in output


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # The core loading a web framework, directly or through the app.
        ("gql_users/accounts/remote.py", "import aiohttp", {"core-without-web"}),
        ("gql_users/db/models.py", "import strawberry", {"core-without-web"}),
        (
            "gql_users/accounts/users.py",
            "from gql_users.web import app",
            {"layers", "core-without-web", "no-cycles"},
        ),
        # An adapter reaching into the app, or into the other adapter.
        ("gql_users/rest/users.py", "from gql_users.web import app", {"layers", "no-cycles"}),
        ("gql_users/rest/users.py", "import resolvers.schema", {"layers"}),
        # The services under the core depending on each other.
        ("gql_users/mail/messages.py", "from gql_users.db.models import utcnow", {"layers"}),
        # A cycle inside the core, where the layers say nothing.
        ("gql_users/accounts/callers.py", "import gql_users.accounts.tokens", {"no-cycles"}),
    ],
)
def test_a_contract_breaking_import_fails_naming_the_contract(
    tmp_path: Path, module: str, line: str, broken: set[str]
) -> None:
    project = copy_project(tmp_path)
    with (project / module).open("a", encoding="utf-8") as source:
        source.write(f"\n{line}  # noqa: E402, F401\n")

    code, output = lint_imports(project)

    names = contract_names()
    assert code != 0, output
    for contract_id, name in names.items():
        verdict = "BROKEN" if contract_id in broken else "KEPT"
        assert f"{name} {verdict}" in output, f"{contract_id} should be {verdict}:\n{output}"
    assert f"Contracts: {len(names) - len(broken)} kept, {len(broken)} broken." in output
