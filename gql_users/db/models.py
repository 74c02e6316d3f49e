"""SQLAlchemy 2 models: the only description of the schema besides the migrations.

``tests/db/test_migrations.py`` asserts that the Alembic history and these models agree on
both SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid as uuid_module
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from gql_users.db.folding import fold_ascii

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime on every backend.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so values are stored as naive
    UTC and given their zone back on load. Callers always see aware UTC datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def new_uuid() -> uuid_module.UUID:
    return uuid_module.uuid4()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        uuid_module.UUID: Uuid(as_uuid=True),
    }


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        Index("ix_users_email", "email"),
        Index("ix_users_query_field", "query_field"),
        Index("ix_users_first_name_last_name", "first_name", "last_name"),
        Index("ix_users_date_joined", "date_joined"),
        Index("ix_users_modified", "modified"),
        Index("ix_users_is_active_is_staff", "is_active", "is_staff"),
        Index("ix_users_registration_method", "registration_method"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[uuid_module.UUID] = mapped_column(unique=True, default=new_uuid)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    slug: Mapped[str] = mapped_column(String(50), default="", index=True)
    email: Mapped[str] = mapped_column(String(320), default="")
    civil_number: Mapped[str | None] = mapped_column(String(50), unique=True, default=None)
    native_name: Mapped[str] = mapped_column(String(100), default="")
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    birth_date: Mapped[date | None] = mapped_column(Date, default=None)
    query_field: Mapped[str] = mapped_column(String(300), default="")
    phone_number: Mapped[str] = mapped_column(String(255), default="")
    organization: Mapped[str] = mapped_column(String(255), default="")
    job_title: Mapped[str] = mapped_column(String(120), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    affiliations: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    is_support: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_identity_manager: Mapped[bool] = mapped_column(Boolean, default=False)
    notifications_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    date_joined: Mapped[datetime] = mapped_column(default=utcnow)
    modified: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_sync: Mapped[datetime] = mapped_column(default=utcnow)
    last_login: Mapped[datetime | None] = mapped_column(default=None)
    registration_method: Mapped[str] = mapped_column(String(50), default="default")
    identity_source: Mapped[str] = mapped_column(String(50), default="")
    agreement_date: Mapped[datetime | None] = mapped_column(default=None, index=True)
    preferred_language: Mapped[str] = mapped_column(String(10), default="")
    token_lifetime: Mapped[int | None] = mapped_column(Integer, default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    backend_id: Mapped[str] = mapped_column(String(255), default="")
    image: Mapped[str | None] = mapped_column(String(255), default=None)
    # Deferred so that no query loads the hash unless it asks for it by name.
    password: Mapped[str] = mapped_column(String(255), default="", deferred=True)

    token: Mapped[AuthToken | None] = relationship(
        back_populates="user", uselist=False, lazy="raise", passive_deletes=True
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def __repr__(self) -> str:  # never shows secrets
        return f"<User {self.username} {self.uuid.hex if self.uuid else ''}>"


@event.listens_for(User, "before_insert")
@event.listens_for(User, "before_update")
def _refresh_query_field(_mapper: Any, _connection: Any, user: User) -> None:
    """The folded full name that the full_name and user_keyword filters search."""
    user.query_field = fold_ascii(f"{user.first_name or ''} {user.last_name or ''}".strip())[:300]


class AuthToken(Base):
    __tablename__ = "auth_tokens"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="token", lazy="raise")


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[uuid_module.UUID] = mapped_column(unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(150), unique=True)
    description: Mapped[str] = mapped_column(String(2000), default="")
    scope_type: Mapped[str] = mapped_column(String(20))  # "customer" or "project"
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_system_role: Mapped[bool] = mapped_column(Boolean, default=False)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[uuid_module.UUID] = mapped_column(unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(150))
    abbreviation: Mapped[str] = mapped_column(String(12), default="")
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    created: Mapped[datetime] = mapped_column(default=utcnow)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[uuid_module.UUID] = mapped_column(unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(500))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    created: Mapped[datetime] = mapped_column(default=utcnow)


class UserRole(Base):
    """A permission: a role held by a user in exactly one customer or one project."""

    __tablename__ = "user_roles"
    __table_args__ = (
        CheckConstraint("(customer_id IS NULL) <> (project_id IS NULL)", name="exactly_one_scope"),
        Index("ix_user_roles_user_id_is_active", "user_id", "is_active"),
        Index("ix_user_roles_customer_id_is_active", "customer_id", "is_active"),
        Index("ix_user_roles_project_id_is_active", "project_id", "is_active"),
        # One active grant of a role per user and scope (migration 0006): the database, not a
        # check-then-insert, is what stops two parallel grants of the same role.
        Index(
            "uq_user_roles_active_customer_role",
            "user_id",
            "role_id",
            "customer_id",
            unique=True,
            sqlite_where=text("is_active AND customer_id IS NOT NULL"),
            postgresql_where=text("is_active AND customer_id IS NOT NULL"),
        ),
        Index(
            "uq_user_roles_active_project_role",
            "user_id",
            "role_id",
            "project_id",
            unique=True,
            sqlite_where=text("is_active AND project_id IS NOT NULL"),
            postgresql_where=text("is_active AND project_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[uuid_module.UUID] = mapped_column(unique=True, default=new_uuid)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), default=None
    )
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), default=None
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    created: Mapped[datetime] = mapped_column(default=utcnow)
    expiration_time: Mapped[datetime | None] = mapped_column(default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class EmailChangeRequest(Base):
    __tablename__ = "email_change_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[uuid_module.UUID] = mapped_column(unique=True, default=new_uuid)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    modified: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LoginFailure(Base):
    """Failed password logins, counted per (username, client address) and shared by processes."""

    __tablename__ = "login_failures"
    __table_args__ = (UniqueConstraint("username", "client_address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(128))
    client_address: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure: Mapped[datetime] = mapped_column(default=utcnow)


class ServerSecret(Base):
    """Secrets the service makes for itself (the cursor signing key when none is configured),
    kept here so that every process serving one database uses the same value."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    created: Mapped[datetime] = mapped_column(default=utcnow)


BUILTIN_ROLES: tuple[tuple[str, str, str], ...] = (
    ("CUSTOMER.OWNER", "Customer owner", "customer"),
    ("CUSTOMER.SUPPORT", "Customer support", "customer"),
    ("CUSTOMER.MANAGER", "Customer manager", "customer"),
    ("PROJECT.ADMIN", "Project administrator", "project"),
    ("PROJECT.MANAGER", "Project manager", "project"),
    ("PROJECT.MEMBER", "Project member", "project"),
)


POSTGRESQL_CODE_POINT_INDEXES: dict[str, str] = {
    "ix_users_username_c": 'username COLLATE "C", id',
    "ix_users_email_c": 'email COLLATE "C", id',
    "ix_users_full_name_c": 'first_name COLLATE "C", last_name COLLATE "C", id',
}
"""PostgreSQL-only expression indexes (migration 0002) that serve the code-point orderings."""

SEARCHED_COLUMNS: tuple[str, ...] = (
    "query_field",
    "username",
    "email",
    "first_name",
    "last_name",
    "civil_number",
    "native_name",
    "organization",
    "job_title",
)
"""The columns of ``users`` that the substring (``icontains``) filters of the user list compare
(gql_users/accounts/filters.py): PostgreSQL has a trigram index on each, SQLite one full-text
table over all of them (``gql_users.db.search``)."""

POSTGRESQL_TRIGRAM_INDEXES: dict[str, str] = {
    f"ix_users_{column}_trgm": f"{column} gin_trgm_ops" for column in SEARCHED_COLUMNS
}
"""PostgreSQL-only GIN trigram indexes (migration 0005) on the ``SEARCHED_COLUMNS``
(``column ILIKE '%' || :value || '%'`` on PostgreSQL), so that a substring search reads the
index rather than every row."""
