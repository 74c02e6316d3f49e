"""eduTEAMS, the outbound integration: an HTTP client for the token and userinfo endpoints.

The accounts core turns :class:`EduteamsUnavailable` into its own ``BadRequest``; nothing here
imports the core, so the arrow points one way (accounts -> eduteams), as for ``gql_users.mail``.
"""

from __future__ import annotations

from gql_users.eduteams.client import (
    ACCESS_TOKEN_ERROR,
    USERINFO_JSON_ERROR,
    EduteamsClient,
    EduteamsUnavailable,
)

__all__ = [
    "ACCESS_TOKEN_ERROR",
    "USERINFO_JSON_ERROR",
    "EduteamsClient",
    "EduteamsUnavailable",
]
