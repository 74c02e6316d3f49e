"""The Relay ``Node`` interface: a global id for User, Customer, Project and Permission.

A global id is the base64 of ``<Type>:<uuid hex>``. It names the type so that ``node(id:)``
knows where to look, and the uuid rather than the row id, because ids are internal and never
leave the service (docs/graphql.md#node-and-global-ids). It is not signed: it says nothing a
``uuid`` field does not say already, and ``node`` applies the caller's visibility.
"""

from __future__ import annotations

import base64
import binascii
import uuid

import strawberry

from gql_users.accounts.errors import BadRequest

NODE_TYPES = ("User", "Customer", "Project", "Permission")
MAX_GLOBAL_ID_LENGTH = 100
"""Longer than any id this module makes (``Permission:`` and 32 hex digits, in base64)."""
INVALID_ID = "Invalid node id: pass an id exactly as a previous response returned it."


def global_id(type_name: str, object_uuid: uuid.UUID) -> strawberry.ID:
    raw = f"{type_name}:{object_uuid.hex}".encode("ascii")
    return strawberry.ID(base64.b64encode(raw).decode("ascii"))


def parse_global_id(value: str) -> tuple[str, uuid.UUID]:
    """The type name and uuid of a global id.

    Raises:
        BadRequest: not an id this module makes (too long, not base64, unknown type, bad uuid).
    """
    if len(value) > MAX_GLOBAL_ID_LENGTH or not value.isascii():
        raise BadRequest(INVALID_ID)
    try:
        decoded = base64.b64decode(value, validate=True).decode("ascii")
        type_name, _, hex_uuid = decoded.partition(":")
        parsed = uuid.UUID(hex=hex_uuid)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest(INVALID_ID) from None
    if type_name not in NODE_TYPES:
        raise BadRequest(INVALID_ID)
    return type_name, parsed


@strawberry.interface(description="An object with a global id, which node(id:) fetches again.")
class Node:
    """Each implementing type answers ``node_uuid``; its Python class name is its GraphQL
    type name."""

    def node_uuid(self) -> uuid.UUID:
        raise NotImplementedError

    @strawberry.field(description="Global id: opaque and stable; node(id:) fetches the object.")
    def id(self) -> strawberry.ID:
        return global_id(type(self).__name__, self.node_uuid())
