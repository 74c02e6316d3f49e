"""How core errors reach GraphQL clients.

Two channels, one rule each:

* In a **mutation**, a problem the caller can fix in their input (what REST answers with 400:
  ``ValidationFailed`` and ``BadRequest``) comes back as data, in the payload's
  ``userErrors``, so that a form can show it next to the field.
* Everything else is a GraphQL error whose ``extensions.code`` is the core error's code:
  ``UNAUTHENTICATED`` (401), ``FORBIDDEN`` (403), ``NOT_FOUND`` (404), ``BAD_REQUEST`` (a 400
  outside a mutation, e.g. a cursor from another ordering), ``CONFLICT`` (409). The message
  is the core's ``detail``. Anything that is not a core error is masked (``masking.py``).
"""

from __future__ import annotations

import strawberry
from strawberry.utils.str_converters import to_camel_case

from gql_users.accounts.errors import AccountsError, BadRequest, ValidationFailed


@strawberry.type(description="A problem with the input of a mutation, to show next to a field.")
class UserError:
    field: str | None = strawberry.field(
        description="The input field (camelCase), or null when the problem is not one field's."
    )
    message: str
    code: str = strawberry.field(description="VALIDATION_FAILED or BAD_REQUEST.")


def user_errors(error: ValidationFailed | BadRequest) -> list[UserError]:
    """One ``UserError`` per message: a field dict gives each its field name in camelCase,
    a bare list (and a ``BadRequest``) gives ``field: null``."""
    if isinstance(error, BadRequest):
        return [UserError(field=None, message=error.detail, code=error.code)]
    if isinstance(error.errors, dict):
        return [
            UserError(field=to_camel_case(name), message=message, code=error.code)
            for name, messages in error.errors.items()
            for message in messages
        ]
    return [UserError(field=None, message=message, code=error.code) for message in error.errors]


def error_message(error: AccountsError) -> str:
    """The message of a core error shown as a GraphQL error (outside ``userErrors``)."""
    if isinstance(error, ValidationFailed):
        if isinstance(error.errors, dict):
            return " ".join(
                f"{to_camel_case(name)}: {message}"
                for name, messages in error.errors.items()
                for message in messages
            )
        return " ".join(error.errors)
    return error.detail


def error_code(error: AccountsError) -> str:
    """``VALIDATION_FAILED`` is a 400 like ``BadRequest``: outside ``userErrors`` both are
    ``BAD_REQUEST``, so clients have one code to handle for "fix the request"."""
    return BadRequest.code if isinstance(error, ValidationFailed) else error.code
