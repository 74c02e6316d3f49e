"""``python -m gql_users``: the same command line as the ``gql-users`` script."""

from __future__ import annotations

from gql_users.cli import main

if __name__ == "__main__":
    main(prog_name="gql-users")
