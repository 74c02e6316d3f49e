"""Look-ahead: load what a document selects on users for all of them at once, before any of
their fields is read.

``plan_users`` reads the names of the fields selected on ``User`` (fragments and inline
fragments merged in, whatever their type condition or directives: a field that will not be
shown is at worst loaded for nothing) and loads, each in one statement for all the users: the
tokens, the pending emails, the permissions with their roles and scopes, and the users who
hold and granted them, whose own selection is planned in turn (one more step per nesting of
``user`` or ``createdBy``, whatever the page size). What it loads is handed to the objects, so
that their fields are plain reads (``types.py``); anything it did not load is still loaded on
demand.

The selection also decides how much is loaded: users are rows of the columns their selected
fields read (``columns_read``, the page's too), and of the roles, scopes and customers of the
permissions only the columns beyond the permission row that the selected fields read
(``extra_columns``). For a caller who sees every user, the creators come with the
permissions, in their statement.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, NamedTuple, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types.nodes import SelectedField, Selection

from gql_users.accounts.email_change import requested_emails
from gql_users.accounts.permission_scopes import ALL_EXTRA, load_scoped_permissions
from gql_users.accounts.permissions import OMITTABLE
from gql_users.accounts.tokens import tokens_by_user
from gql_users.accounts.user_fields import USER_FIELD_TABLE, Source, UserDetails
from gql_users.accounts.user_rows import UserRecord, has_columns, visible_users_by_id
from resolvers.context import Context, Info
from resolvers.users.types import GraphObjects, Permission, User

SOURCE_BY_GRAPHQL_NAME = {entry.graphql_name: entry.source for entry in USER_FIELD_TABLE}
COLUMNS_BY_GRAPHQL_NAME = {entry.graphql_name: entry.columns for entry in USER_FIELD_TABLE}

LoadById = Callable[[AsyncSession, list[int]], Awaitable[dict[int, Any]]]

DETAILS: dict[Source, tuple[LoadById, Callable[[Any], UserDetails]]] = {
    Source.TOKEN: (tokens_by_user, lambda token: UserDetails(token=token)),
    Source.REQUESTED_EMAIL: (requested_emails, lambda email: UserDetails(requested_email=email)),
}
"""The parts of a user's details loaded apart from the permissions: how, by user id, and how
each user's value makes their ``UserDetails``."""

CREATOR_FIELDS = ("createdBy", "createdByFullName", "createdByUsername")
"""The fields of ``Permission`` that need to know whether the caller may see the creator."""

ROLE_FROM_ROW = frozenset({"uuid", "name", "description", "__typename"})
CUSTOMER_FROM_ROW = frozenset({"id", "uuid", "name", "projects", "permissions", "__typename"})
SCOPE_FROM_ROW = CUSTOMER_FROM_ROW | {"customer"}
"""The fields of a permission's role, customer and scope (a customer or a project) that its
``PermissionRow`` answers: ids, uuids, names and the role's description (the nested
connections load by id). A selection of only these loads no more columns
(``load_scoped_permissions(extra=())``)."""

CUSTOMER_COLUMNS = {
    name: (f"scope_customer_{name}", f"project_customer_{name}")
    for name in ("abbreviation", "description", "created")
}
ROLE_COLUMNS = {
    "scopeType": ("role_scope_type",),
    "isActive": ("role_is_active",),
    "isSystemRole": ("role_is_system_role",),
}
SCOPE_COLUMNS = {
    "abbreviation": CUSTOMER_COLUMNS["abbreviation"],
    "description": (*CUSTOMER_COLUMNS["description"], "project_description"),
    "created": (*CUSTOMER_COLUMNS["created"], "project_created"),
}
"""The columns (``permission_scopes.ALL_EXTRA``) that each other field of a role, a customer
and a scope reads. A customer's are loaded for both ways of meeting it, as a scope and as a
project's customer: one record serves both."""

CUSTOMER_UUIDS = ("scope_customer_uuid", "project_customer_uuid")
SCOPE_UUIDS = (*CUSTOMER_UUIDS, "project_uuid")
ROLE_ROW_COLUMNS = ("role_uuid", "role_description")
PERMISSION_READS: dict[str, tuple[str, ...]] = {
    "id": ("uuid",),
    "userUuid": ("user_uuid",),
    "userName": ("user_first_name", "user_last_name"),
    "userSlug": ("user_slug",),
    "created": ("created",),
    "expirationTime": ("expiration_time",),
    "roleUuid": ("role_uuid",),
    "roleDescription": ("role_description",),
    "scopeUuid": SCOPE_UUIDS,
    "customerUuid": CUSTOMER_UUIDS,
    **dict.fromkeys(
        (
            "__typename",
            "roleName",
            "scopeType",
            "scopeName",
            "customerName",
            "createdByFullName",
            "createdByUsername",
            "createdBy",
            "user",
        ),
        (),
    ),
}
NAMES_AND_EXTRA = dict.fromkeys(
    ("__typename", "name", "abbreviation", "description", "created", "scopeType", "isActive",
     "isSystemRole"),
    (),
)  # fmt: skip
ROLE_READS = {**NAMES_AND_EXTRA, "uuid": ("role_uuid",), "description": ("role_description",)}
CUSTOMER_READS = {**NAMES_AND_EXTRA, "id": CUSTOMER_UUIDS, "uuid": CUSTOMER_UUIDS}
SCOPE_READS = {**NAMES_AND_EXTRA, "id": SCOPE_UUIDS, "uuid": SCOPE_UUIDS, "customer": ()}
"""The columns of the permission row that may be left out (``permissions.OMITTABLE``) which
each field of ``Permission``, and of its role, scope and customer, reads: a field not named
reads them all (of its object: its role's, its scope's). A customer's uuid is read for both
ways of meeting it, as a scope and as a project's customer (one record serves both), and a
scope's for both kinds of scope; the scope's ``customer`` is read as a customer."""

Selections = Sequence[Selection]
Loaded = TypeVar("Loaded")


def fields_of(selections: Iterable[Selection]) -> dict[str, list[Selection]]:
    """The fields selected in ``selections``, by name, each with the selections below it
    (those of every alias and fragment that selects it, merged)."""
    found: dict[str, list[Selection]] = {}
    pending = list(selections)
    while pending:
        selection = pending.pop()
        if isinstance(selection, SelectedField):
            found.setdefault(selection.name, []).extend(selection.selections)
        else:
            pending.extend(selection.selections)
    return found


def selected_below(info: Info, *path: str) -> list[Selection]:
    """What is selected below the resolver's own field and then ``path`` (field names)."""
    selections: list[Selection] = []
    for field in info.selected_fields:
        selections.extend(field.selections)
    for name in path:
        selections = fields_of(selections).get(name, [])
    return selections


class ObjectSelections(NamedTuple):
    """What is selected on the role, the scope and the customers (a project's, the scope's
    own ``customer`` included) of the permissions, by field name."""

    role: dict[str, list[Selection]]
    scope: dict[str, list[Selection]]
    customers: dict[str, list[Selection]]


def object_selections(fields: dict[str, list[Selection]]) -> ObjectSelections:
    """The ``ObjectSelections`` of the fields selected on ``Permission`` (``fields``)."""
    scope = fields_of(fields.get("scope", []))
    return ObjectSelections(
        fields_of(fields.get("role", [])),
        scope,
        fields_of([*fields.get("customer", []), *scope.get("customer", [])]),
    )


def extra_columns(objects: ObjectSelections) -> frozenset[str]:
    """The columns beyond the permission row (``permission_scopes.ALL_EXTRA``) that the
    fields selected on a permission's role, scope or customer (``objects``) read; every one
    of them for a field not known here."""
    wanted: set[str] = set()
    for selected, from_row, columns in (
        (objects.role, ROLE_FROM_ROW, ROLE_COLUMNS),
        (objects.scope, SCOPE_FROM_ROW, SCOPE_COLUMNS),
        (objects.customers, CUSTOMER_FROM_ROW, CUSTOMER_COLUMNS),
    ):
        for name in selected.keys() - from_row:
            wanted.update(columns.get(name, ALL_EXTRA))
    return frozenset(wanted)


def omitted_columns(
    fields: dict[str, list[Selection]], objects: ObjectSelections
) -> frozenset[str]:
    """The columns of the permission row (``permissions.OMITTABLE``) that none of the fields
    selected on ``Permission`` (``fields``) reads, with their role, scope and customer
    (``objects``): the load leaves them out (``load_scoped_permissions(omit=...)``)."""
    read: set[str] = set()
    for name in fields.keys() - {"role", "scope", "customer"}:
        read.update(PERMISSION_READS.get(name, OMITTABLE))
    for selected, reads, every in (
        (objects.role, ROLE_READS, ROLE_ROW_COLUMNS),
        (objects.scope, SCOPE_READS, SCOPE_UUIDS),
        (objects.customers, CUSTOMER_READS, CUSTOMER_UUIDS),
    ):
        for name in selected:
            read.update(reads.get(name, every))
    return OMITTABLE - read


def columns_read(selections: Selections) -> set[str]:
    """The columns of the users table that the fields selected on ``User`` read (their
    ``UserField.columns``; the others read the id or the uuid, which every row has): what a
    users row loaded for them needs (``user_rows.record_columns``)."""
    return {
        column for name in fields_of(selections) for column in COLUMNS_BY_GRAPHQL_NAME.get(name, ())
    }


async def _load(
    context: Context,
    load: Callable[[AsyncSession, list[int]], Awaitable[Loaded]],
    ids: list[int],
) -> Loaded | Exception:
    """What ``load`` returns for ``ids``, or the exception it raised: handed to the objects,
    each field that needs the part raises it, at its own path, and the other fields keep
    their values (as with a resolver that failed)."""
    try:
        async with context.database() as session:
            return await load(session, ids)
    except Exception as error:  # noqa: BLE001 - raised again by the fields, see above
        return error


async def plan_users(context: Context, users: Sequence[User], selections: Selections) -> None:
    """Load what ``selections`` (on ``User``) need beyond the users rows, for all ``users``."""
    if not users:
        return
    fields = fields_of(selections)
    sources = {SOURCE_BY_GRAPHQL_NAME.get(name) for name in fields}
    ids = list(dict.fromkeys(user.model.id for user in users))
    for source, (load, details_of) in DETAILS.items():
        if source in sources:
            found = await _load(context, load, ids)
            for user in users:
                user.plan(
                    source,
                    found if isinstance(found, Exception) else details_of(found.get(user.model.id)),
                )
    if Source.PERMISSIONS in sources:
        await plan_permissions(context, users, ids, fields_of(fields["permissions"]))


async def plan_permissions(
    context: Context, users: Sequence[User], ids: list[int], fields: dict[str, list[Selection]]
) -> None:
    """The permissions of ``users`` (``ids``) with their roles and scopes, with the columns
    beyond their rows that ``fields`` (on ``Permission``) read (``extra_columns``), and the
    creators the caller may see when ``fields`` ask (``load_scoped_permissions``); then their
    holders."""
    on_objects = object_selections(fields)
    extra = extra_columns(on_objects)
    omit = omitted_columns(fields, on_objects)
    creators_for = context.caller if any(name in fields for name in CREATOR_FIELDS) else None
    creator_columns = columns_read(fields.get("createdBy", []))
    loaded = await _load(
        context,
        lambda session, ids: load_scoped_permissions(
            session,
            ids,
            extra=extra,
            creators_for=creators_for,
            creator_columns=creator_columns,
            omit=omit,
        ),
        ids,
    )
    if isinstance(loaded, Exception):
        for user in users:
            user.plan_permissions(loaded)
        return
    objects = GraphObjects(loaded)
    permissions: list[Permission] = []
    for user in users:
        own = objects.permissions(context, loaded.by_user[user.model.id])
        user.plan_permissions(own)
        permissions += own
    await plan_holders(context, users, permissions, fields)
    if loaded.creators is not None:
        await plan_creators(context, permissions, fields, loaded.creators)


async def plan_holders(
    context: Context,
    users: Sequence[User],
    permissions: Sequence[Permission],
    fields: dict[str, list[Selection]],
) -> None:
    """Who holds each permission when the selection asks, with their own selection planned in
    turn: the ``users`` whose permissions these are, whom the caller sees (each is on the
    page, the caller, or a user already loaded as visible), from their own rows when those
    hold the columns the selection reads, else as the caller may see them (one statement)."""
    if "user" not in fields:
        return
    selections = fields["user"]
    wanted = columns_read(selections)
    models = {user.model.id: user.model for user in users}
    holders: dict[int | None, User] | Exception
    if all(has_columns(model, wanted) for model in models.values()):
        shaped = User.shaped_all(context, models.values(), items_on_page=0)
        holders = dict(zip(models, shaped, strict=True))
    else:
        holders = await _visible_users(context, list(models), selections)
    for permission in permissions:
        permission.plan_holder(
            holders if isinstance(holders, Exception) else holders.get(permission.row.user_id)
        )
    if not isinstance(holders, Exception):
        await plan_users(context, list(holders.values()), selections)


async def plan_creators(
    context: Context,
    permissions: Sequence[Permission],
    fields: dict[str, list[Selection]],
    creators: dict[int, UserRecord],
) -> None:
    """Hand each permission who granted it (``creators``: those the caller may see, loaded
    with the permissions), each shaped as one of many on the page, and plan their own
    selection."""
    shaped = dict(
        zip(creators, User.shaped_all(context, creators.values(), items_on_page=0), strict=True)
    )
    for permission in permissions:
        if permission.row.created_by_id is not None:
            permission.plan_creator(shaped.get(permission.row.created_by_id))
    if "createdBy" in fields:
        await plan_users(context, list(shaped.values()), fields["createdBy"])


async def _visible_users(
    context: Context, user_ids: Sequence[int | None], selections: Selections
) -> dict[int | None, User] | Exception:
    """The users among ``user_ids`` the caller may see, by id, each shaped as one of many on
    the page (never with the caller's own token), as rows of the columns that ``selections``
    read; no statement when there are none."""
    ids = list({user_id for user_id in user_ids if user_id is not None})
    if not ids:
        return {}
    columns = columns_read(selections)
    found = await _load(
        context,
        lambda session, ids: visible_users_by_id(session, context.caller, ids, columns),
        ids,
    )
    if isinstance(found, Exception):
        return found
    return dict(zip(found, User.shaped_all(context, found.values(), items_on_page=0), strict=True))
