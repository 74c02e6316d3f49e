"""Which user fields a caller may write, and how raw input becomes validated values.

The policy (docs/writes.md#writable-fields, docs/writes.md#create, docs/writes.md#update,
docs/writes.md#the-policy-agreement) lives here once; the REST shim and GraphQL mutations both call
:func:`writable_fields` and :func:`validate_user_input`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from gql_users.accounts import validation as v
from gql_users.accounts.callers import Caller
from gql_users.accounts.errors import ValidationFailed
from gql_users.db.models import User
from gql_users.mail.addresses import is_valid_email
from gql_users.settings import Settings

Coercer = Callable[[Any], Any]


def _string(max_length: int | None, *, blank: bool = True) -> Coercer:
    return lambda value: v.coerce_string(value, max_length=max_length, allow_blank=blank)


def _username(value: Any) -> str:
    text = v.coerce_string(value, max_length=128, allow_blank=False)
    if not v.USERNAME_PATTERN.match(text):
        raise ValueError(v.INVALID_USERNAME)
    return text


def _email(value: Any) -> str:
    text = v.coerce_string(value, max_length=320, allow_blank=False)
    if not is_valid_email(text):
        raise ValueError(v.INVALID_EMAIL)
    return text


def _phone(value: Any) -> str:
    text = v.coerce_string(value, max_length=255)
    if text and not v.PHONE_PATTERN.match(text):
        raise ValueError(v.INVALID_PHONE)
    return text


def _slug(value: Any) -> str:
    text = v.coerce_string(value, max_length=50, allow_blank=False)
    if not v.SLUG_PATTERN.match(text):
        raise ValueError(v.INVALID_SLUG)
    return text


def _token_lifetime(value: Any) -> int | None:
    return v.coerce_optional_integer(value, minimum=60)


# Every writable input field of the UserRequest models, with its coercion (declaration order
# is the order errors are reported in).
FIELD_COERCERS: dict[str, Coercer] = {
    "username": _username,
    "slug": _slug,
    "native_name": _string(100),
    "job_title": _string(120),
    "email": _email,
    "phone_number": _phone,
    "organization": _string(255),
    "description": _string(2000),
    "is_staff": v.coerce_boolean,
    "is_active": v.coerce_boolean,
    "is_support": v.coerce_boolean,
    "token_lifetime": _token_lifetime,
    "agree_with_policy": v.coerce_boolean,
    "notifications_enabled": v.coerce_boolean,
    "preferred_language": _string(10),
    "first_name": _string(100),
    "last_name": _string(100),
    "birth_date": v.coerce_optional_birth_date,
}
NULLABLE_FIELDS = frozenset({"token_lifetime", "birth_date"})
"""Fields an explicit null clears; on any other field null is refused."""

PROFILE_FIELDS = frozenset(
    {
        "native_name",
        "job_title",
        "phone_number",
        "organization",
        "first_name",
        "last_name",
        "birth_date",
        "preferred_language",
        "agree_with_policy",
        "image",
    }
)
STAFF_ONLY_FIELDS = frozenset(
    {"is_staff", "is_active", "is_support", "description", "notifications_enabled", "slug"}
)
# PROTECT_USER_DETAILS_FOR_REGISTRATION_METHODS makes these read-only (full_name is always).
PROTECTED_DETAIL_FIELDS = frozenset(
    {"native_name", "job_title", "email", "phone_number", "organization"}
)
REQUIRED_ON_CREATE = ("username", "email")


def identity_provider_fields(target: User, settings: Settings) -> list[str]:
    """Fields the target's identity provider manages (docs/fields.md#identity-provider-fields).

    Only the local database provider is configurable here; the OIDC providers would read an
    IdentityProvider table that gql-users does not have, which Waldur renders as [].
    """
    if target.registration_method == "default":
        return list(settings.local_idp_protected_fields)
    return []


def writable_fields(caller: Caller, target: User | None, settings: Settings) -> frozenset[str]:
    """The input fields ``caller`` may set on ``target`` (None when creating).

    Fields outside this set are ignored silently, never rejected (docs/writes.md#writable-fields).
    """
    fields = set(PROFILE_FIELDS)
    if target is None:
        fields |= {"username", "email", "token_lifetime"}
    elif caller.is_self(target):
        fields.add("token_lifetime")
    if caller.is_staff:
        fields |= STAFF_ONLY_FIELDS
    caller_method = caller.user.registration_method if caller.user else None
    protected_methods = settings.protect_user_details_for_registration_methods
    if target is not None and caller_method in protected_methods:
        fields -= PROTECTED_DETAIL_FIELDS
    if target is not None:
        fields -= set(identity_provider_fields(target, settings))
    return frozenset(fields)


@dataclass(frozen=True, slots=True)
class UserInput:
    """Validated values, restricted to what the caller may write."""

    values: dict[str, Any]
    agree_with_policy: bool


def validate_user_input(
    data: Mapping[str, Any],
    *,
    allowed: Collection[str],
    creating: bool,
) -> UserInput:
    """Coerce and validate ``data`` for the fields in ``allowed``; other keys are dropped.

    Raises:
        ValidationFailed: a field dict with every problem found.
    """
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if creating:
        for name in REQUIRED_ON_CREATE:
            if name in allowed and (name not in data or data[name] is None):
                errors[name] = [v.REQUIRED]
    for name, coerce in FIELD_COERCERS.items():
        if name not in allowed or name not in data or name in errors:
            continue
        raw = data[name]
        if raw is None and name not in NULLABLE_FIELDS:
            errors[name] = ["This field may not be null."]
            continue
        try:
            values[name] = coerce(raw)
        except ValueError as problem:
            errors[name] = [str(problem)]
    if errors:
        raise ValidationFailed(errors)
    agree = bool(values.pop("agree_with_policy", False))
    return UserInput(values=values, agree_with_policy=agree)
