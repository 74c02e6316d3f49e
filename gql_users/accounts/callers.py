"""Who is calling: the caller kinds that every rule of the core is written against."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gql_users.accounts.errors import NotAuthenticated
from gql_users.db.models import AuthToken, User


class CallerKind(enum.StrEnum):
    ANONYMOUS = "anonymous"
    USER = "user"
    IDENTITY_MANAGER = "identity_manager"
    SUPPORT = "support"
    STAFF = "staff"


@dataclass(slots=True)
class Caller:
    """The effective user of a request (after impersonation) and how they authenticated.

    ``user`` is None for anonymous callers. ``impersonator`` is the staff user whose token was
    used when ``X-Impersonated-User-Uuid`` was honoured.
    """

    user: User | None = None
    token: AuthToken | None = None
    impersonator: User | None = None

    @property
    def kind(self) -> CallerKind:
        user = self.user
        if user is None:
            return CallerKind.ANONYMOUS
        if user.is_staff:
            return CallerKind.STAFF
        if user.is_support:
            return CallerKind.SUPPORT
        if user.is_identity_manager:
            return CallerKind.IDENTITY_MANAGER
        return CallerKind.USER

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None

    @property
    def is_staff(self) -> bool:
        return self.user is not None and self.user.is_staff

    @property
    def is_support(self) -> bool:
        return self.user is not None and self.user.is_support

    @property
    def is_privileged(self) -> bool:
        """Staff and global support see every user, inactive and staff ones included."""
        return self.is_staff or self.is_support

    def is_self(self, target: User) -> bool:
        return self.user is not None and self.user.id == target.id


ANONYMOUS = Caller()


def ensure_authenticated(caller: Caller) -> User:
    """The caller's user: every operation but login and confirm_email needs one.

    Raises:
        NotAuthenticated: anonymous caller (401 in REST, UNAUTHENTICATED in GraphQL).
    """
    if caller.user is None:
        raise NotAuthenticated()
    return caller.user
