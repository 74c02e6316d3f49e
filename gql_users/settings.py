"""Settings, read from environment variables prefixed ``GQL_USERS_``.

Every setting has a default that works on a laptop; the README lists them all.
"""

from __future__ import annotations

import re
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_CURSOR_SECRET_LENGTH = 32
_ORIGIN = re.compile(r"https?://[a-z0-9.\-]+(:[0-9]{1,5})?|https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?")
MIN_METRICS_TOKEN_LENGTH = 16


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GQL_USERS_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///gql_users.db"
    database_pool_size: int = Field(default=10, ge=1)
    database_max_overflow: int = Field(default=10, ge=0)
    database_pool_timeout: float = Field(default=3.0, gt=0, description="seconds")
    database_statement_timeout: float = Field(default=10.0, ge=0, description="seconds")
    database_busy_timeout: float = Field(default=5.0, ge=0, description="seconds")
    public_url: str = "http://127.0.0.1:8000/"
    frontend_url: str = "http://127.0.0.1:8000/"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=0, ge=0, description="serve's worker processes; 0: one per core")
    graceful_timeout: int = Field(
        default=30, ge=1, description="seconds in-flight requests get to finish at shutdown"
    )

    mail_backend: Literal["file", "smtp"] = "file"
    mail_dir: str = "var/mail"
    mail_from: str = "noreply@gql-users.local"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_timeout: float = 10.0

    media_dir: str = "var/media"

    token_lifetime: int | None = Field(default=3600, ge=60)
    token_refresh_debounce: int = Field(default=60, ge=0)
    lockout_window: int = Field(default=600, ge=1, description="seconds")
    lockout_failures: int = Field(
        default=4, ge=1, description="failed logins after which further attempts are refused"
    )
    trusted_proxies: list[IPv4Network | IPv6Network] = Field(
        default=[],
        description="peers whose X-Forwarded-For is believed (docs/hardening.md#trusted-proxies)",
    )
    cors_origins: list[str] = Field(
        default=[],
        description="origins (scheme://host[:port]) whose scripts may call the APIs "
        "(docs/operations.md#cors); empty: no CORS",
    )
    email_change_max_age: int = Field(default=86400, ge=1, description="seconds")

    password_min_length: int = Field(default=8, ge=1)
    password_reject_numeric: bool = True
    password_reject_similar: bool = True

    local_idp_name: str = "Local DB"
    local_idp_label: str = "Local DB"
    local_idp_management_url: str = ""
    local_idp_protected_fields: list[str] = []
    protect_user_details_for_registration_methods: list[str] = []

    eduteams_enabled: bool = False
    eduteams_token_url: str = "https://proxy.acc.researcher-access.org/OIDC/token"
    eduteams_userinfo_url: str = "https://proxy.acc.researcher-access.org/api/userinfo"
    eduteams_client_id: str = ""
    eduteams_secret: str = ""
    eduteams_refresh_token: str = ""
    eduteams_timeout: float = 10.0

    graphql_max_depth: int = 10
    graphql_max_aliases: int = 15
    graphql_max_tokens: int = 2000
    graphql_max_page_size: int = 100
    graphql_max_fragment_spreads: int = Field(default=50, ge=0)
    graphql_max_selections: int = Field(
        default=100, ge=1, description="fields in one selection set, fragments expanded"
    )
    graphql_max_field_repeats: int = Field(
        default=10, ge=1, description="selections of one response key in one selection set"
    )
    graphql_max_cost: int = Field(default=25_000, ge=1)
    graphql_validation_timeout: float = Field(default=0.5, gt=0, description="seconds")
    graphql_introspection: bool = True
    graphql_subscriptions_per_connection: int = Field(
        default=10, ge=1, description="subscriptions open at once on one WebSocket connection"
    )
    graphql_subscriptions_per_user: int = Field(
        default=20, ge=1, description="subscriptions one user holds open at once, per process"
    )
    graphql_ws_init_timeout: float = Field(
        default=10.0, gt=0, description="seconds a WebSocket has to send connection_init"
    )
    graphql_ws_max_message_size: int = Field(
        default=65536, ge=1024, description="bytes of one WebSocket message from a client"
    )
    cursor_secret: str = ""

    debug_sql: bool = False
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    log_sql: bool = Field(
        default=False, description="log every SQL statement (never its parameters) at INFO"
    )
    metrics: Literal["off", "open", "token"] = Field(
        default="off", description="/metrics: 404, open to all, or for the bearer token only"
    )
    metrics_token: str = ""

    @field_validator("public_url", "frontend_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("cursor_secret")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if value and len(value) < MIN_CURSOR_SECRET_LENGTH:
            raise ValueError(
                f"must be empty (generated and kept in the database) or at least "
                f"{MIN_CURSOR_SECRET_LENGTH} characters"
            )
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("metrics") == "token" and len(value) < MIN_METRICS_TOKEN_LENGTH:
            raise ValueError(
                f"GQL_USERS_METRICS=token needs a token of at least "
                f"{MIN_METRICS_TOKEN_LENGTH} characters"
            )
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        """Addresses and CIDR networks, IPv4 or IPv6; host bits are allowed (``10.0.0.1/8``)."""
        if not isinstance(value, list) or not all(
            isinstance(item, str | IPv4Network | IPv6Network) for item in value
        ):
            raise ValueError('must be a JSON list of strings, e.g. ["10.0.0.0/8", "::1"]')
        return [ip_network(item, strict=False) for item in value]

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        """Each origin as a browser sends it in ``Origin``: lower case, no path, no slash."""
        origins = []
        for item in value:
            origin = item.strip().lower().removesuffix("/")
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{item!r} is not an origin: write scheme://host[:port], e.g. "
                    '["https://app.example.org"] (no path, no wildcard)'
                )
            origins.append(origin)
        return origins

    @field_validator("token_lifetime", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value in ("", "none", "None", "null") else value


@lru_cache
def get_settings() -> Settings:
    return Settings()
