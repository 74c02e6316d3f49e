"""Live servers for the operations tests: the hostile tests' fixtures, shared."""

from tests.hostile.conftest import http, start_server

__all__ = ["http", "start_server"]
