"""The GraphQL API as a ``Transport``: one document per operation, posted to ``/graphql``.

Every user is fetched with every field of the REST representation (``shaping.USER_FIELDS``)
and its permissions with every REST permission field, so a rendering can be compared with
REST's key by key once both are normalised (``outcome.without_nulls``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from strawberry.utils.str_converters import to_camel_case

from gql_users.accounts.shaping import USER_FIELDS
from tests.parity.outcome import (
    GRAPHQL_CODE_KINDS,
    REST_STATUS_KINDS,
    FieldErrors,
    Outcome,
    graphql_field_errors,
    snake_case,
    without_nulls,
)
from tests.parity.rest_transport import LIST_PAGE_SIZE
from tests.parity.transport import HttpTransport, ScopeKind, Who

PERMISSION_FIELDS = [
    "user_uuid",
    "user_name",
    "user_slug",
    "created",
    "expiration_time",
    "created_by_full_name",
    "created_by_username",
    "role_name",
    "role_description",
    "role_uuid",
    "scope_type",
    "scope_uuid",
    "scope_name",
    "customer_uuid",
    "customer_name",
]
TOKEN_FIELDS = [
    "created",
    "user_first_name",
    "user_last_name",
    "user_username",
    "user_is_active",
    "user_token_lifetime",
    "token",
]

PERMISSION_SELECTION = " ".join(to_camel_case(name) for name in PERMISSION_FIELDS)
USER_SELECTION = " ".join(
    f"permissions {{ {PERMISSION_SELECTION} }}" if name == "permissions" else to_camel_case(name)
    for name in USER_FIELDS
)
TOKEN_SELECTION = " ".join(to_camel_case(name) for name in TOKEN_FIELDS)
USER_ERRORS = "userErrors { field message code }"

ME = f"query {{ me {{ {USER_SELECTION} ipAddress }} }}"  # REST's me adds ip_address
USER = f"query($uuid: UUID!) {{ user(uuid: $uuid) {{ {USER_SELECTION} }} }}"
USERS = f"""query($filter: UserFilterInput, $orderBy: [UserOrder!], $first: Int) {{
  users(filter: $filter, orderBy: $orderBy, first: $first) {{
    totalCount edges {{ node {{ {USER_SELECTION} }} }} }} }}"""
CREATE = f"""mutation($input: CreateUserInput!) {{
  createUser(input: $input) {{ user {{ {USER_SELECTION} }} {USER_ERRORS} }} }}"""
UPDATE = f"""mutation($uuid: UUID!, $input: UpdateUserInput!) {{
  updateUser(uuid: $uuid, input: $input) {{ user {{ {USER_SELECTION} }} {USER_ERRORS} }} }}"""
DELETE = f"""mutation($uuid: UUID!) {{
  deleteUser(uuid: $uuid) {{ deletedUuid {USER_ERRORS} }} }}"""
TOKEN = f"query($uuid: UUID!) {{ userToken(uuid: $uuid) {{ {TOKEN_SELECTION} }} }}"
REFRESH = f"""mutation($uuid: UUID!) {{
  refreshToken(uuid: $uuid) {{ token {{ {TOKEN_SELECTION} }} {USER_ERRORS} }} }}"""
CHANGE_EMAIL = f"""mutation($uuid: UUID!, $email: String) {{
  changeEmail(uuid: $uuid, email: $email) {{ user {{ uuid requestedEmail }} {USER_ERRORS} }} }}"""
CANCEL_EMAIL = f"""mutation($uuid: UUID!) {{
  cancelChangeEmail(uuid: $uuid) {{ cancelled {USER_ERRORS} }} }}"""
CONFIRM_EMAIL = f"""mutation($code: String) {{
  confirmEmail(code: $code) {{ confirmed {USER_ERRORS} }} }}"""
CHANGE_PASSWORD = f"""mutation($uuid: UUID!, $newPassword: String) {{
  changePassword(uuid: $uuid, newPassword: $newPassword) {{ user {{ uuid }} {USER_ERRORS} }} }}"""
PULL_REMOTE = f"""mutation($uuid: UUID!) {{
  pullRemoteUser(uuid: $uuid) {{ synced {USER_ERRORS} }} }}"""
LOGIN = f"""mutation($username: String, $password: String) {{
  login(username: $username, password: $password) {{ token {USER_ERRORS} }} }}"""
LOGOUT = f"mutation {{ logout {{ ok {USER_ERRORS} }} }}"


def json_value(value: Any) -> Any:
    """A filter or input value as a GraphQL variable carries it."""
    if isinstance(value, UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


FIELD_PREFIX = re.compile(r"(?P<field>[a-z][A-Za-z]*): (?P<message>.+)")


def query_field_errors(message: str) -> FieldErrors:
    """A ``BAD_REQUEST`` error outside a mutation as field errors. Its message is the core's
    ``"fieldName: message"`` (``resolvers/errors.error_message``); scenarios make one mistake
    at a time, so one field is enough to read back."""
    prefixed = FIELD_PREFIX.fullmatch(message)
    if prefixed is None:
        return {None: [message]}
    return {snake_case(prefixed["field"]): [prefixed["message"]]}


def camel_input(data: Mapping[str, Any]) -> dict[str, Any]:
    return {to_camel_case(name): json_value(value) for name, value in data.items()}


def order_by(ordering: Sequence[str]) -> list[dict[str, str]]:
    """REST ``o`` keys (``-full_name``) as ``UserOrder`` inputs."""
    return [
        {"field": key.lstrip("-").upper(), "direction": "DESC" if key.startswith("-") else "ASC"}
        for key in ordering
    ]


@dataclass
class GraphQLTransport(HttpTransport):
    name: str = "graphql"

    async def _post(self, document: str, variables: dict[str, Any], caller: Who) -> Any:
        """The response body, or the ``Outcome`` of a refusal made before GraphQL ran (a bad
        token is refused by the auth middleware with 401, as for REST, in GraphQL's shape)."""
        response = await self.client.post(
            "/graphql",
            json={"query": document, "variables": variables},
            headers={"Accept": "application/json", **await self.headers(caller)},
        )
        body = await response.json(content_type=None)
        if response.status != 200:
            kind = REST_STATUS_KINDS.get(response.status)
            assert kind not in (None, "ok", "invalid"), (response.status, body)
            return Outcome(kind, body["errors"][0]["message"])
        return body

    async def _run(self, document: str, variables: dict[str, Any], caller: Who) -> Any:
        """The data of the operation's one root field, or an ``Outcome`` for its error."""
        body = await self._post(document, variables, caller)
        if isinstance(body, Outcome):
            return body
        errors = body.get("errors") or []
        if errors:
            assert len(errors) == 1, errors
            code = (errors[0].get("extensions") or {}).get("code")
            assert code in GRAPHQL_CODE_KINDS, f"uncoded error (a broken document?): {errors}"
            if GRAPHQL_CODE_KINDS[code] == "invalid":
                return Outcome("invalid", errors=query_field_errors(errors[0]["message"]))
            return Outcome(GRAPHQL_CODE_KINDS[code], errors[0]["message"])
        (data,) = body["data"].values()
        return data

    async def _mutate(self, document: str, variables: dict[str, Any], caller: Who) -> Any:
        """The payload of a mutation, or the ``Outcome`` of its error or its userErrors."""
        payload = await self._run(document, variables, caller)
        if isinstance(payload, Outcome):
            return payload
        assert payload is not None, "a mutation without errors must return its payload"
        if payload["userErrors"]:
            return Outcome("invalid", errors=graphql_field_errors(payload["userErrors"]))
        return payload

    async def list_scopes(self, caller: Who, kind: ScopeKind) -> Outcome:
        document = f"""query($first: Int) {{ {kind}s(first: $first) {{
          totalCount edges {{ node {{ name }} }} }} }}"""
        connection = await self._run(document, {"first": LIST_PAGE_SIZE}, caller)
        if isinstance(connection, Outcome):
            return connection
        names = [edge["node"]["name"] for edge in connection["edges"]]
        assert connection["totalCount"] == len(names), "scenarios fit in one page"
        return Outcome("ok", value=names)

    async def _role_write(
        self, name: str, caller: Who, kind: ScopeKind, uuid: UUID, role: str, user: UUID
    ) -> Outcome:
        document = f"""mutation($input: RoleGrantInput!) {{ {name}(input: $input) {{
          userErrors {{ field message code }} }} }}"""
        given = {"scopeType": kind.upper(), "scopeUuid": uuid.hex, "role": role, "user": user.hex}
        payload = await self._mutate(document, {"input": given}, caller)
        return payload if isinstance(payload, Outcome) else Outcome("ok")

    async def grant_role(
        self, caller: Who, kind: ScopeKind, uuid: UUID, role: str, user: UUID
    ) -> Outcome:
        return await self._role_write("grantRole", caller, kind, uuid, role, user)

    async def revoke_role(
        self, caller: Who, kind: ScopeKind, uuid: UUID, role: str, user: UUID
    ) -> Outcome:
        return await self._role_write("revokeRole", caller, kind, uuid, role, user)

    async def scope_team(self, caller: Who, kind: ScopeKind, uuid: UUID) -> Outcome:
        document = f"""query($uuid: UUID!, $first: Int) {{ {kind}(uuid: $uuid) {{
          permissions(first: $first) {{ edges {{ node {{ user {{ username }} }} }} }} }} }}"""
        scope = await self._run(document, {"uuid": uuid.hex, "first": LIST_PAGE_SIZE}, caller)
        if isinstance(scope, Outcome):
            return scope
        if scope is None:  # null when unknown or not visible: REST's 404
            return Outcome("not_found", f"No {kind.capitalize()} matches the given query.")
        edges = scope["permissions"]["edges"]
        return Outcome("ok", value=[edge["node"]["user"]["username"] for edge in edges])

    async def me(self, caller: Who) -> Outcome:
        user = await self._run(ME, {}, caller)
        return user if isinstance(user, Outcome) else Outcome("ok", value=without_nulls(user))

    async def get_user(self, caller: Who, uuid: UUID) -> Outcome:
        user = await self._run(USER, {"uuid": uuid.hex}, caller)
        if isinstance(user, Outcome):
            return user
        if user is None:  # "null when it does not exist or is not visible": REST's 404
            return Outcome("not_found", "No User matches the given query.")
        return Outcome("ok", value=without_nulls(user))

    async def list_users(
        self,
        caller: Who,
        filters: Mapping[str, Any] | None = None,
        ordering: Sequence[str] = (),
    ) -> Outcome:
        variables = {
            "filter": camel_input(filters or {}),
            "orderBy": order_by(ordering),
            "first": LIST_PAGE_SIZE,
        }
        connection = await self._run(USERS, variables, caller)
        if isinstance(connection, Outcome):
            return connection
        users = [without_nulls(edge["node"]) for edge in connection["edges"]]
        assert connection["totalCount"] == len(users), "scenarios fit in one page"
        return Outcome("ok", value=users)

    async def create_user(self, caller: Who, data: Mapping[str, Any]) -> Outcome:
        payload = await self._mutate(CREATE, {"input": camel_input(data)}, caller)
        if isinstance(payload, Outcome):
            return payload
        return Outcome("ok", value=without_nulls(payload["user"]))

    async def update_user(self, caller: Who, uuid: UUID, data: Mapping[str, Any]) -> Outcome:
        variables = {"uuid": uuid.hex, "input": camel_input(data)}
        payload = await self._mutate(UPDATE, variables, caller)
        if isinstance(payload, Outcome):
            return payload
        return Outcome("ok", value=without_nulls(payload["user"]))

    async def delete_user(self, caller: Who, uuid: UUID) -> Outcome:
        payload = await self._mutate(DELETE, {"uuid": uuid.hex}, caller)
        if isinstance(payload, Outcome):
            return payload
        assert payload["deletedUuid"] == uuid.hex, payload
        return Outcome("ok")

    async def token(self, caller: Who, uuid: UUID) -> Outcome:
        token = await self._run(TOKEN, {"uuid": uuid.hex}, caller)
        if isinstance(token, Outcome):
            return token
        return Outcome("ok", value=without_nulls(token))

    async def refresh_token(self, caller: Who, uuid: UUID) -> Outcome:
        payload = await self._mutate(REFRESH, {"uuid": uuid.hex}, caller)
        if isinstance(payload, Outcome):
            return payload
        return Outcome("ok", value=without_nulls(payload["token"]))

    async def change_email(self, caller: Who, uuid: UUID, email: Any) -> Outcome:
        variables = {"uuid": uuid.hex, "email": email}
        payload = await self._mutate(CHANGE_EMAIL, variables, caller)
        if isinstance(payload, Outcome):
            return payload
        assert payload["user"]["requestedEmail"] == email.strip(), payload
        return Outcome("ok")

    async def cancel_change_email(self, caller: Who, uuid: UUID) -> Outcome:
        """The value is whether a pending request was dropped."""
        payload = await self._mutate(CANCEL_EMAIL, {"uuid": uuid.hex}, caller)
        if isinstance(payload, Outcome):
            return payload
        return Outcome("ok", value=payload["cancelled"])

    async def confirm_email(self, caller: Who, code: Any) -> Outcome:
        payload = await self._mutate(CONFIRM_EMAIL, {"code": code}, caller)
        if isinstance(payload, Outcome):
            return payload
        assert payload["confirmed"] is True, payload
        return Outcome("ok")

    async def change_password(self, caller: Who, uuid: UUID, new_password: Any) -> Outcome:
        variables = {"uuid": uuid.hex, "newPassword": new_password}
        payload = await self._mutate(CHANGE_PASSWORD, variables, caller)
        return payload if isinstance(payload, Outcome) else Outcome("ok")

    async def pull_remote_user(self, caller: Who, uuid: UUID) -> Outcome:
        payload = await self._mutate(PULL_REMOTE, {"uuid": uuid.hex}, caller)
        if isinstance(payload, Outcome):
            return payload
        assert payload["synced"] is True, payload
        return Outcome("ok")

    async def login(self, username: Any, password: Any) -> Outcome:
        """The value is the token key."""
        variables = {"username": username, "password": password}
        payload = await self._mutate(LOGIN, variables, None)
        if isinstance(payload, Outcome):
            return payload
        return Outcome("ok", value=payload["token"])

    async def logout(self, caller: Who) -> Outcome:
        payload = await self._mutate(LOGOUT, {}, caller)
        if isinstance(payload, Outcome):
            return payload
        assert payload["ok"] is True, payload
        return Outcome("ok")
