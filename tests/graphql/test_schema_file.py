"""``schema.graphql`` is generated from the code and must stay in sync with it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from gql_users.cli import main
from resolvers.schema import schema_sdl

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_file_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_sdl(), (
        "schema.graphql is out of date: run `gql-users export-schema`"
    )


def test_export_schema_command(tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "schema.graphql"
    stale = runner.invoke(main, ["export-schema", "--check", "-o", str(target)])
    assert stale.exit_code == 1
    assert "out of date" in stale.output
    written = runner.invoke(main, ["export-schema", "-o", str(target)])
    assert written.exit_code == 0, written.output
    assert target.read_text(encoding="utf-8") == schema_sdl()
    fresh = runner.invoke(main, ["export-schema", "--check", "-o", str(target)])
    assert fresh.exit_code == 0
    printed = runner.invoke(main, ["export-schema", "-o", "-"])
    assert printed.output == schema_sdl()
