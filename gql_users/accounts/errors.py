"""Errors raised by the accounts core. The REST shim and GraphQL map them to their own shapes."""

from __future__ import annotations

PERMISSION_DENIED = "You do not have permission to perform this action."
USER_NOT_FOUND = "No User matches the given query."


class AccountsError(Exception):
    """Base class: every failure the core reports to a caller on purpose."""

    status = 400
    code = "BAD_REQUEST"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


class ValidationFailed(AccountsError):
    """Bad input. ``errors`` is a field dict ``{"field": ["msg"]}`` or a bare list ``["msg"]``."""

    code = "VALIDATION_FAILED"

    def __init__(self, errors: dict[str, list[str]] | list[str]) -> None:
        super().__init__("Invalid input.")
        self.errors = errors


class BadRequest(AccountsError):
    """A request the core refuses with a single message, rendered as ``{"detail": ...}``."""


class NotAuthenticated(AccountsError):
    status = 401
    code = "UNAUTHENTICATED"

    def __init__(self, detail: str = "Authentication credentials were not provided.") -> None:
        super().__init__(detail)


class AuthenticationFailed(NotAuthenticated):
    """Credentials were given but are not acceptable (bad, expired, inactive owner)."""


class PermissionDenied(AccountsError):
    status = 403
    code = "FORBIDDEN"

    def __init__(self, detail: str = PERMISSION_DENIED) -> None:
        super().__init__(detail)


class ListingRefused(PermissionDenied):
    """A 403 for listing users that Waldur answers with a bare JSON string, not the usual
    ``{"detail": ...}`` (an identity manager asking for the list)."""


class NotFound(AccountsError):
    status = 404
    code = "NOT_FOUND"

    def __init__(self, detail: str = USER_NOT_FOUND) -> None:
        super().__init__(detail)


class Conflict(AccountsError):
    status = 409
    code = "CONFLICT"
