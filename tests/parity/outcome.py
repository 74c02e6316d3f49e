"""The common shape both transports' answers are normalised to, so one assertion fits both.

Normalising is where the two APIs' *legitimate* differences are absorbed, and only those:

* status codes and ``extensions.code`` become one ``kind``: REST 401/403/404/409 and GraphQL
  ``UNAUTHENTICATED``/``FORBIDDEN``/``NOT_FOUND``/``CONFLICT``; REST 400 and a non-empty
  ``userErrors`` both become ``invalid``;
* the denial's text is kept (REST ``detail`` or Waldur's bare string, the GraphQL error
  message): both come from the core, so they must be equal too;
* validation errors become ``{field: [messages]}`` with snake_case names: REST's field dict
  as it is, REST's bare array and ``{"detail": ...}`` under the key None, GraphQL
  ``userErrors`` grouped by field (camelCase back to snake_case, null stays None);
* a rendered user (or permission, or token) gets snake_case keys and loses every null
  value: GraphQL resolves a hidden field to null where REST leaves the key out, and REST
  leaves out ``created_by_*``/``customer_*`` of a permission where GraphQL has nulls.
  A field that is null for everyone (say ``civil_number``) disappears on both sides alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gql_users.accounts.errors import PERMISSION_DENIED

Kind = Literal["ok", "unauthenticated", "forbidden", "not_found", "invalid", "conflict"]
FieldErrors = dict[str | None, list[str]]

NOT_PROVIDED = "Authentication credentials were not provided."
NO_SUCH_USER = "No User matches the given query."

REST_STATUS_KINDS: dict[int, Kind] = {
    200: "ok",
    201: "ok",
    204: "ok",
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
}
GRAPHQL_CODE_KINDS: dict[str, Kind] = {
    "UNAUTHENTICATED": "unauthenticated",
    "FORBIDDEN": "forbidden",
    "NOT_FOUND": "not_found",
    "BAD_REQUEST": "invalid",
    "CONFLICT": "conflict",
}


@dataclass(frozen=True)
class Outcome:
    """What an operation came to, whichever transport carried it.

    ``value`` is the normalised result of a success (a user dict, a list of them, a token
    dict, a flag) and is left out of equality, so ``outcome == FORBIDDEN`` reads naturally;
    tests look at ``value`` explicitly. ``message`` is the text of a denial; ``errors``
    the field errors of ``invalid``.
    """

    kind: Kind
    message: str | None = None
    errors: FieldErrors = field(default_factory=dict)
    value: Any = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        return self.kind == "ok"

    def expect_ok(self) -> Any:
        """The value of a success; a readable failure otherwise."""
        assert self.kind == "ok", f"expected success, got {self}"
        return self.value


OK = Outcome("ok")
UNAUTHENTICATED = Outcome("unauthenticated", NOT_PROVIDED)
FORBIDDEN = Outcome("forbidden", PERMISSION_DENIED)
NOT_FOUND = Outcome("not_found", NO_SUCH_USER)


def invalid(errors: Mapping[str | None, list[str]]) -> Outcome:
    return Outcome("invalid", errors=dict(errors))


def denied(kind: Kind, message: str) -> Outcome:
    return Outcome(kind, message)


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake_case(name: str) -> str:
    """``agreeWithPolicy`` -> ``agree_with_policy`` (the inverse of the schema's naming)."""
    return _CAMEL_BOUNDARY.sub(r"_\1", name).lower()


def without_nulls(rendering: Mapping[str, Any]) -> dict[str, Any]:
    """snake_case keys, null values dropped, nested permission dicts likewise."""
    normalised: dict[str, Any] = {}
    for key, value in rendering.items():
        if value is None:
            continue
        if key == "permissions" and isinstance(value, list):
            value = [without_nulls(item) for item in value]
        normalised[snake_case(key)] = value
    return normalised


def rest_field_errors(body: Any) -> FieldErrors:
    """A DRF 400 body as field errors: a field dict, a bare list, or ``{"detail": ...}``."""
    if isinstance(body, list):
        return {None: [str(message) for message in body]}
    assert isinstance(body, dict), f"unexpected 400 body {body!r}"
    if set(body) == {"detail"}:
        return {None: [body["detail"]]}
    return {name: list(messages) for name, messages in body.items()}


def graphql_field_errors(user_errors: Iterable[Mapping[str, Any]]) -> FieldErrors:
    """``userErrors`` grouped by field, in order, with snake_case field names."""
    grouped: FieldErrors = {}
    for error in user_errors:
        name = error["field"]
        # GraphQL's own shape: every input problem is coded (field problems as invalid input),
        # and names the argument as the schema spells it (camelCase), never the REST field
        assert error["code"] in ("VALIDATION_FAILED", "BAD_REQUEST"), error
        assert name is None or error["code"] == "VALIDATION_FAILED", error
        assert name is None or "_" not in name, error
        grouped.setdefault(None if name is None else snake_case(name), []).append(error["message"])
    return grouped


def usernames(outcome: Outcome) -> list[str]:
    """The usernames of a successful list, in list order."""
    return [user["username"] for user in outcome.expect_ok()]
