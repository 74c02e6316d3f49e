"""Who may see which user, customer and project: the base querysets and the visibility rules
of docs/visibility.md#visible-users and docs/visibility.md#visible-customers-and-projects.

Everything here is one SQL statement built from ``IN (subquery)`` conditions, so a page of
users costs the same whatever the caller's number of roles, and the result can be filtered,
ordered, counted and paged by the database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    false,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased

from gql_users.accounts.callers import Caller
from gql_users.accounts.grants import is_current
from gql_users.db.models import Customer, Project, User, UserRole

Scope = TypeVar("Scope", Customer, Project)

# The caller's own roles, under another name than the colleagues' roles they are nested in, so
# that no subquery is ever correlated with the enclosing one by accident.
CallerRole = aliased(UserRole, name="caller_role")


CallerId = int | BindParameter[int]
"""The caller's user id in a statement: its value, or a parameter bound at each execution (for
a statement built once and reused by every caller of the same kind)."""


def visible_users(caller: Caller, caller_id: CallerId | None = None) -> Select[User]:
    """The users ``caller`` may list or retrieve, before any query filter or ordering.

    * anonymous: nobody;
    * staff and global support: every user, inactive and staff users included;
    * everyone else (identity managers too): the *active*, *non-staff* users that are the
      caller, or hold a current customer-level role in a customer visible to the caller, or
      a current project-level role in a project visible to the caller
      (docs/visibility.md#visible-users; Waldur's marketplace rule has nothing to apply to,
      docs/api-differences.md#scope).

    Args:
        caller: whose visibility applies.
        caller_id: stands for ``caller.user.id`` in the statement (a ``bindparam``), so that the
            statement depends on the caller's kind alone; by default, the id itself.

    Returns:
        ``SELECT users`` with the visibility condition in its WHERE clause and no ORDER BY.
    """
    statement = select(User)
    user = caller.user
    if user is None:
        return statement.where(false())
    if sees_every_user(caller):
        return statement
    own_id = user.id if caller_id is None else caller_id
    return statement.where(
        User.is_active == true(),
        User.is_staff == false(),
        User.id.in_(_self_and_colleague_ids(own_id)),
    )


def sees_every_user(caller: Caller) -> bool:
    """Whether ``visible_users(caller)`` is every user: staff and global support."""
    return caller.user is not None and caller.is_privileged


def visible_customers(caller: Caller) -> Select[Customer]:
    """The customers ``caller`` may see: none for anonymous callers, all for staff and global
    support, else those where the caller holds a current role in the customer or in one of its
    projects (docs/visibility.md#visible-customers-and-projects)."""
    return _scopes_visible_to(caller, Customer, _visible_customer_ids)


def visible_projects(caller: Caller) -> Select[Project]:
    """The projects ``caller`` may see: none for anonymous callers, all for staff and global
    support, else those where the caller holds a current project role, and every project of a
    customer where the caller holds a current customer role
    (docs/visibility.md#visible-customers-and-projects)."""
    return _scopes_visible_to(caller, Project, _visible_project_ids)


def _scopes_visible_to(
    caller: Caller,
    model: type[Scope],
    visible_ids: Callable[[CallerId], CompoundSelect[int | None]],
) -> Select[Scope]:
    statement = select(model)
    user = caller.user
    if user is None:
        return statement.where(false())
    if caller.is_privileged:
        return statement
    return statement.where(model.id.in_(visible_ids(user.id)))


def _self_and_colleague_ids(caller_id: CallerId) -> CompoundSelect[int]:
    """The caller's id, and the ids of users with a current role in a customer or project
    visible to the caller.

    One ``UNION ALL`` of three selects, so that the user list is one ``IN`` that a database can
    drive from these few ids (an ``OR`` of the caller's id and the colleagues, or of the two
    kinds of scope, makes PostgreSQL test every user and every role instead); each select reads
    the roles by the index of its scope.
    """
    own_id = literal(caller_id, Integer) if isinstance(caller_id, int) else caller_id
    return union_all(
        select(own_id),
        select(UserRole.user_id).where(
            is_current(UserRole), UserRole.customer_id.in_(_visible_customer_ids(caller_id))
        ),
        select(UserRole.user_id).where(
            is_current(UserRole), UserRole.project_id.in_(_visible_project_ids(caller_id))
        ),
    )


def _caller_roles(caller_id: CallerId) -> ColumnElement[bool]:
    return (CallerRole.user_id == caller_id) & is_current(CallerRole)


def _visible_customer_ids(caller_id: CallerId) -> CompoundSelect[int | None]:
    """Customers where the caller has a customer-level role, plus parents of their projects.

    Written as one UNION so that the outer condition stays a single ``IN``.
    """
    customer_roles = select(CallerRole.customer_id).where(
        _caller_roles(caller_id), CallerRole.customer_id.is_not(None)
    )
    parents_of_project_roles = (
        select(Project.customer_id)
        .join(CallerRole, CallerRole.project_id == Project.id)
        .where(_caller_roles(caller_id))
    )
    return customer_roles.union(parents_of_project_roles)


def _visible_project_ids(caller_id: CallerId) -> CompoundSelect[int | None]:
    """Projects where the caller has a project-level role, plus every project of a customer
    where the caller has a customer-level role (a customer owner sees all its projects).

    Parents of the caller's project roles do *not* widen this set: a project member does not
    see the members of sibling projects (docs/visibility.md#visible-users).
    """
    project_roles = select(CallerRole.project_id).where(
        _caller_roles(caller_id), CallerRole.project_id.is_not(None)
    )
    projects_of_customer_roles = (
        select(Project.id)
        .join(CallerRole, CallerRole.customer_id == Project.customer_id)
        .where(_caller_roles(caller_id))
    )
    return project_roles.union(projects_of_customer_roles)
