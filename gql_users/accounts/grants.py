"""Which role grants count: the one condition every query about roles applies.

A grant (a ``UserRole`` row) counts while it is active and its expiration time, if it has one,
is still ahead (docs/visibility.md#current-roles). An expired grant needs no write to stop
counting: it drops out of ``permissions``, of who sees whom and of the role filters the moment
its time passes, the same in every API and every process.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, true
from sqlalchemy.orm.util import AliasedClass

from gql_users.db.models import UserRole, utcnow


def is_current(grant: type[UserRole] | AliasedClass[UserRole] = UserRole) -> ColumnElement[bool]:
    """``grant`` is active and not expired, as of now (the time is a bound parameter, so the
    statement's compiled form is cached across calls)."""
    return (grant.is_active == true()) & or_(
        grant.expiration_time.is_(None), grant.expiration_time > utcnow()
    )
