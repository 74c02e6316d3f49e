"""The user representation, field by field: the one table both APIs render a user from.

Each entry names a field (its REST name; the GraphQL name is its camelCase), its type, who may
read it, where its value comes from and its description. The REST shim renders the entries a
caller may read, in table order (the Waldur serializer's); the GraphQL ``User`` type declares
one field per entry, in the same order, generated from the entry. ``shaping`` derives the
read rules of both from ``readers``. docs/architecture.md#how-to-add-a-user-field-end-to-end
walks through adding one.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from gql_users.accounts.images import image_url
from gql_users.accounts.permissions import (
    PermissionRow,
    RenderedPermissions,
    full_name,
    permission_to_waldur,
)
from gql_users.accounts.tokens import token_expires_at
from gql_users.accounts.user_input import identity_provider_fields
from gql_users.accounts.wire import wire_form
from gql_users.db.models import User
from gql_users.settings import Settings


class SessionToken(Protocol):
    """What the fields read of a user's token: an ``AuthToken``, or just those two columns."""

    @property
    def key(self) -> str: ...

    @property
    def created(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class UserDetails:
    """What the fields of a user need beyond the users row: loaded for a whole page at once
    (``user_details.load_user_details``), or one part at a time by GraphQL's DataLoaders."""

    token: SessionToken | None = None
    permissions: list[PermissionRow] | RenderedPermissions = field(default_factory=list)
    requested_email: str | None = None

    def token_expires_at(self, user: User) -> datetime | None:
        return token_expires_at(self.token.created if self.token else None, user.token_lifetime)

    @property
    def has_active_session(self) -> bool:
        return self.token is not None


@dataclass(frozen=True, slots=True)
class IdentityProvider:
    name: str
    label: str
    management_url: str
    fields: list[str]


NO_IDENTITY_PROVIDER = IdentityProvider(name="", label="", management_url="", fields=[])
_local_provider: tuple[Settings, IdentityProvider] | None = None
"""The local provider of the settings last asked about: a page of users shares it."""


def identity_provider(user: User, settings: Settings) -> IdentityProvider:
    """The identity provider fields, derived from ``registration_method``.

    Only the local database provider is configured in gql-users; other methods render empty,
    as Waldur does when it has no IdentityProvider row for them. The answer is shared: its
    ``fields`` list is not to be changed (``identity_provider_fields`` gives a copy).
    """
    global _local_provider
    if user.registration_method != "default":
        return NO_IDENTITY_PROVIDER
    local = _local_provider
    if local is None or local[0] is not settings:
        provider = IdentityProvider(
            name=settings.local_idp_name,
            label=settings.local_idp_label,
            management_url=settings.local_idp_management_url,
            fields=identity_provider_fields(user, settings),
        )
        local = _local_provider = (settings, provider)
    return local[1]


FieldValue = Callable[[User, Settings, UserDetails], Any]
"""How a value is obtained: from the users row, the settings and the loaded details."""


class Readers(enum.Enum):
    """Who may read a field, among the callers who may see the user at all."""

    ANYONE = "everyone who sees the user"
    PRIVILEGED = "staff and global support only, even on a normal user's own profile"
    PERSONAL = "the user themselves, staff and global support"
    OWN_TOKEN = "the user themselves only, shown on its own or on a page of one"


class Source(enum.Enum):
    """Where a value comes from. The last three are loaded for a whole page at once
    (``user_details.load_user_details`` for REST, one DataLoader each for GraphQL)."""

    MODEL = "the column of the same name of the users table (an attribute of a User or a row)"
    DERIVED = "computed from the users row and the settings"
    TOKEN = "the user's auth token"
    PERMISSIONS = "the user's active roles"
    REQUESTED_EMAIL = "the address of the user's pending email change"

    @property
    def loaded(self) -> bool:
        return self not in (Source.MODEL, Source.DERIVED)


@dataclass(frozen=True, slots=True)
class UserField:
    """One field of the user representation.

    Attributes:
        name: the REST key (snake_case).
        type: the Python type of the value; GraphQL declares it (nullable when ``readers``
            can hide the field), REST writes it in its wire form.
        source: where the value comes from.
        value: computes the value; reads only what ``source`` names of ``UserDetails``.
        readers: who may read it; anyone else gets no key (REST) or null (GraphQL).
        description: the GraphQL description, if any.
        wire: the REST form of the value (uuids, datetimes and dates as DRF writes them).
        columns: the columns of the users table the value reads: a user loaded as a row of
            only some columns (``user_rows``) has at least these for each field it shows.
    """

    name: str
    type: Any
    source: Source
    value: FieldValue
    readers: Readers = Readers.ANYONE
    description: str | None = None
    wire: Callable[[Any], object] = wire_form
    columns: tuple[str, ...] = ()

    @property
    def graphql_name(self) -> str:
        first, *rest = self.name.split("_")
        return first + "".join(word.capitalize() for word in rest)

    @property
    def hideable(self) -> bool:
        """Whether some caller who sees the user may not read this field."""
        return self.readers is not Readers.ANYONE

    def render(self, settings: Settings, user: User, details: UserDetails) -> object:
        """The REST form of the field's value."""
        return self.wire(self.value(user, settings, details))


def user_url(settings: Settings, user: User) -> str:
    """The REST URL of ``user``: its ``url`` field and the ``Location`` of a created user."""
    return user_url_of(settings, user.uuid.hex)


def user_url_of(settings: Settings, uuid_hex: str) -> str:
    """``user_url`` of the user with this uuid, given as 32 hex digits."""
    return f"{settings.public_url}api/users/{uuid_hex}/"


def _model(
    name: str, type_: Any, readers: Readers = Readers.ANYONE, description: str | None = None
) -> UserField:
    def value(user: User, _settings: Settings, _details: UserDetails) -> Any:
        return getattr(user, name)

    return UserField(name, type_, Source.MODEL, value, readers, description, columns=(name,))


def _identity_provider(name: str, type_: Any) -> UserField:
    attribute = name.removeprefix("identity_provider_")

    def value(user: User, settings: Settings, _details: UserDetails) -> Any:
        found = getattr(identity_provider(user, settings), attribute)
        return list(found) if isinstance(found, list) else found  # each body its own list

    return UserField(name, type_, Source.DERIVED, value, columns=("registration_method",))


def _permissions_to_waldur(
    rows: list[PermissionRow] | RenderedPermissions,
) -> list[dict[str, Any]]:
    if isinstance(rows, RenderedPermissions):  # the REST details: in their Waldur form already
        return rows
    return [permission_to_waldur(row) for row in rows]


STAFF_AND_SUPPORT = "Staff and support only."

USER_FIELD_TABLE: tuple[UserField, ...] = (
    UserField(
        "url",
        str,
        Source.DERIVED,
        lambda user, settings, _details: user_url(settings, user),
        description="The REST URL of the user.",
        columns=("uuid",),
    ),
    _model("uuid", UUID),
    _model("username", str),
    _model("slug", str),
    UserField(
        "full_name",
        str,
        Source.DERIVED,
        lambda user, _settings, _details: full_name(user.first_name, user.last_name),
        columns=("first_name", "last_name"),
    ),
    _model("native_name", str),
    _model("job_title", str),
    _model("email", str),
    _model("phone_number", str),
    _model("organization", str),
    _model("civil_number", str | None),
    _model("description", str, Readers.PRIVILEGED, STAFF_AND_SUPPORT),
    _model("is_staff", bool, Readers.PRIVILEGED, STAFF_AND_SUPPORT),
    _model("is_active", bool, Readers.PRIVILEGED, STAFF_AND_SUPPORT),
    _model("is_support", bool, Readers.PRIVILEGED, STAFF_AND_SUPPORT),
    UserField(
        "token",
        str | None,
        Source.TOKEN,
        lambda _user, _settings, details: details.token.key if details.token else None,
        Readers.OWN_TOKEN,
        "Your own token, shown only on yourself (and on a page of one).",
    ),
    _model(
        "token_lifetime",
        int | None,
        Readers.OWN_TOKEN,
        "Seconds a token lives; yours only. Null means no expiry.",
    ),
    UserField(
        "token_expires_at",
        datetime | None,
        Source.TOKEN,
        lambda user, _settings, details: details.token_expires_at(user),
        columns=("token_lifetime",),
    ),
    _model("registration_method", str),
    _model("date_joined", datetime),
    _model("agreement_date", datetime | None),
    _model("notifications_enabled", bool),
    _model("preferred_language", str),
    UserField(
        "permissions",
        list[PermissionRow],
        Source.PERMISSIONS,
        lambda _user, _settings, details: details.permissions,
        description="Active roles, oldest first; loaded for a whole page at once.",
        wire=_permissions_to_waldur,
    ),
    UserField(
        "requested_email",
        str | None,
        Source.REQUESTED_EMAIL,
        lambda _user, _settings, details: details.requested_email,
        description="The address of a pending email change, if any.",
    ),
    UserField(
        "affiliations",
        list[str],
        Source.DERIVED,
        lambda user, _settings, _details: list(user.affiliations or []),
        columns=("affiliations",),
    ),
    _model("first_name", str),
    _model("last_name", str),
    _model("birth_date", date | None, Readers.PERSONAL, "Yourself, staff and support only."),
    _identity_provider("identity_provider_name", str),
    _identity_provider("identity_provider_label", str),
    _identity_provider("identity_provider_management_url", str),
    _identity_provider("identity_provider_fields", list[str]),
    UserField(
        "image",
        str | None,
        Source.DERIVED,
        lambda user, settings, _details: image_url(settings, user.image),
        description="The absolute URL of the user's image, if any.",
        columns=("image",),
    ),
    _model("identity_source", str),
    UserField(
        "has_active_session",
        bool,
        Source.TOKEN,
        lambda _user, _settings, details: details.has_active_session,
        Readers.PRIVILEGED,
        "Whether the user has a token. Staff and support only.",
    ),
)
"""Every field of the user representation, in the Waldur serializer's output order (the SDK
``User`` model of 2025-08)."""

FIELD_BY_NAME: dict[str, UserField] = {field.name: field for field in USER_FIELD_TABLE}


def names_read_by(readers: Readers) -> frozenset[str]:
    """The names of the fields whose readers are ``readers``."""
    return frozenset(field.name for field in USER_FIELD_TABLE if field.readers is readers)
