"""Which role grants count: the one condition every query about roles applies.

A grant (a ``UserRole`` row) counts while it is active and its expiration time, if it has one,
is still ahead (docs/visibility.md#current-roles). An expired grant needs no write to stop
counting: it drops out of ``permissions``, of who sees whom and of the role filters the moment
its time passes, the same in every API and every process.
"""

from __future__ import annotations

from sqlalchemy import BindParameter, ColumnElement, bindparam, or_, true
from sqlalchemy.orm.util import AliasedClass

from gql_users.db.models import UserRole, utcnow


def is_current(grant: type[UserRole] | AliasedClass[UserRole] = UserRole) -> ColumnElement[bool]:
    """``grant`` is active and not expired, as of the moment the statement runs."""
    return (grant.is_active == true()) & or_(
        grant.expiration_time.is_(None), grant.expiration_time > _now()
    )


def _now() -> BindParameter[object]:
    """The current time, taken at each execution rather than when the statement is built:
    statements that are built once and reused (the REST read path caches them) must not keep
    the time of their first use. A parameter rather than the database's clock, so that both
    backends compare the value as the column stores it."""
    return bindparam("now", callable_=utcnow, type_=UserRole.expiration_time.type, unique=True)
