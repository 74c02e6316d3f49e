"""``gql-users export-schema``: write the GraphQL schema (SDL) generated from the code.

``schema.graphql`` at the top of the repository is this command's output; a test fails when
the file and the code disagree, and ``--check`` lets CI do the same without writing.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("export-schema")
@click.option(
    "--output",
    "-o",
    default="schema.graphql",
    show_default=True,
    help="File to write; '-' prints to standard output.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; fail when the file differs from the schema of the code.",
)
def export_schema(output: str, check: bool) -> None:
    """Write the GraphQL schema generated from the code (SDL)."""
    # Imported here so that other commands do not pay for building the schema.
    from resolvers.schema import schema_sdl

    sdl = schema_sdl()
    if output == "-":
        click.echo(sdl, nl=False)
        return
    path = Path(output)
    if check:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != sdl:
            raise click.ClickException(
                f"{path} is out of date: run `gql-users export-schema -o {path}`"
            )
        click.echo(f"{path} is up to date.")
        return
    path.write_text(sdl, encoding="utf-8")
    click.echo(f"Wrote {path}.")
