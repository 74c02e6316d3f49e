"""eduTEAMS, the outbound integration: an HTTP client for the token and userinfo endpoints.

The accounts core turns :class:`EduteamsUnavailable` into its own ``BadRequest``; nothing here
imports the core, so the arrow points one way (accounts -> eduteams), as for ``gql_users.mail``.
The package exports only the error: the aiohttp client is ``gql_users.eduteams.client``, which
the app creates and hands to the core as a ``UserinfoSource``, so importing the core never
loads aiohttp.
"""

from __future__ import annotations

from gql_users.eduteams.errors import EduteamsUnavailable

__all__ = ["EduteamsUnavailable"]
