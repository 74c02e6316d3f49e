"""The Waldur REST shim as a ``Transport``: JSON over ``/api/users/`` and ``/api-auth/``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from aiohttp import ClientResponse

from tests.parity.outcome import REST_STATUS_KINDS, Outcome, rest_field_errors, without_nulls
from tests.parity.transport import HttpTransport, ScopeKind, Who

LIST_PAGE_SIZE = 100
"""Big enough for every scenario's list, and what GraphQL is asked for (``first``)."""

CREATED_EMAIL_REQUEST = "The change email request has been successfully created."
DELETED_EMAIL_REQUEST = "The change email request has been successfully deleted."
NO_EMAIL_REQUEST = "The change email request has not been found."


def query_value(value: Any) -> str:
    """A filter value as the query string spells it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def query_params(filters: Mapping[str, Any], ordering: Sequence[str]) -> list[tuple[str, str]]:
    params = [("page_size", str(LIST_PAGE_SIZE))]
    for name, value in filters.items():
        if name == "username_list":  # "," is how a query string says "an empty list"
            params.append((name, ",".join(value) or ","))
        elif isinstance(value, list | tuple):
            params.extend((name, query_value(item)) for item in value)
        else:
            params.append((name, query_value(value)))
    if ordering:
        params.append(("o", ",".join(ordering)))
    return params


def user_path(uuid: UUID, action: str = "") -> str:
    return f"/api/users/{uuid.hex}/" + (f"{action}/" if action else "")


async def outcome_of(
    response: ClientResponse, value: Callable[[Any], Any] = lambda body: None
) -> Outcome:
    """A REST response as an ``Outcome``; ``value`` turns a success's body into its value."""
    kind = REST_STATUS_KINDS.get(response.status)
    assert kind is not None, f"unexpected status {response.status}: {await response.text()}"
    body = await response.json() if response.status != 204 else None
    if kind == "ok":
        return Outcome("ok", value=value(body))
    if kind == "invalid":
        return Outcome("invalid", errors=rest_field_errors(body))
    # Waldur's identity-manager refusal is a bare JSON string; everything else has "detail".
    message = body if isinstance(body, str) else body["detail"]
    return Outcome(kind, message)


@dataclass
class RestTransport(HttpTransport):
    name: str = "rest"

    async def _call(
        self,
        method: str,
        path: str,
        caller: Who,
        *,
        json: Any = None,
        params: Any = None,
        value: Callable[[Any], Any] = lambda body: None,
    ) -> Outcome:
        response = await self.client.request(
            method, path, json=json, params=params, headers=await self.headers(caller)
        )
        return await outcome_of(response, value)

    async def me(self, caller: Who) -> Outcome:
        return await self._call("GET", "/api/users/me/", caller, value=without_nulls)

    async def list_scopes(self, caller: Who, kind: ScopeKind) -> Outcome:
        return await self._call(
            "GET",
            f"/api/{kind}s/",
            caller,
            params={"page_size": LIST_PAGE_SIZE},
            value=lambda body: [scope["name"] for scope in body],
        )

    async def grant_role(
        self, caller: Who, kind: ScopeKind, uuid: UUID, role: str, user: UUID
    ) -> Outcome:
        body = {"role": role, "user": user.hex}
        return await self._call("POST", f"/api/{kind}s/{uuid.hex}/add_user/", caller, json=body)

    async def revoke_role(
        self, caller: Who, kind: ScopeKind, uuid: UUID, role: str, user: UUID
    ) -> Outcome:
        body = {"role": role, "user": user.hex}
        response = await self.client.post(
            f"/api/{kind}s/{uuid.hex}/delete_user/", json=body, headers=await self.headers(caller)
        )
        # A revoke answers 200 with no body, as Waldur's.
        return Outcome("ok") if response.status == 200 else await outcome_of(response)

    async def scope_team(self, caller: Who, kind: ScopeKind, uuid: UUID) -> Outcome:
        return await self._call(
            "GET",
            f"/api/{kind}s/{uuid.hex}/list_users/",
            caller,
            params={"page_size": LIST_PAGE_SIZE},
            value=lambda body: [grant["user_username"] for grant in body],
        )

    async def get_user(self, caller: Who, uuid: UUID) -> Outcome:
        return await self._call("GET", user_path(uuid), caller, value=without_nulls)

    async def list_users(
        self,
        caller: Who,
        filters: Mapping[str, Any] | None = None,
        ordering: Sequence[str] = (),
    ) -> Outcome:
        return await self._call(
            "GET",
            "/api/users/",
            caller,
            params=query_params(filters or {}, ordering),
            value=lambda body: [without_nulls(user) for user in body],
        )

    async def create_user(self, caller: Who, data: Mapping[str, Any]) -> Outcome:
        return await self._call("POST", "/api/users/", caller, json=dict(data), value=without_nulls)

    async def update_user(self, caller: Who, uuid: UUID, data: Mapping[str, Any]) -> Outcome:
        return await self._call(
            "PATCH", user_path(uuid), caller, json=dict(data), value=without_nulls
        )

    async def delete_user(self, caller: Who, uuid: UUID) -> Outcome:
        return await self._call("DELETE", user_path(uuid), caller)

    async def token(self, caller: Who, uuid: UUID) -> Outcome:
        return await self._call("GET", user_path(uuid, "token"), caller, value=without_nulls)

    async def refresh_token(self, caller: Who, uuid: UUID) -> Outcome:
        return await self._call(
            "POST", user_path(uuid, "refresh_token"), caller, value=without_nulls
        )

    async def change_email(self, caller: Who, uuid: UUID, email: Any) -> Outcome:
        outcome = await self._call(
            "POST",
            user_path(uuid, "change_email"),
            caller,
            json={} if email is None else {"email": email},
            value=lambda body: body["detail"],
        )
        if outcome.ok:
            assert outcome.value == CREATED_EMAIL_REQUEST, outcome.value
        return outcome

    async def cancel_change_email(self, caller: Who, uuid: UUID) -> Outcome:
        """The value is whether a pending request was dropped (both answers are 200)."""
        details = {DELETED_EMAIL_REQUEST: True, NO_EMAIL_REQUEST: False}
        return await self._call(
            "POST",
            user_path(uuid, "cancel_change_email"),
            caller,
            value=lambda body: details[body["detail"]],
        )

    async def confirm_email(self, caller: Who, code: Any) -> Outcome:
        return await self._call(
            "POST",
            "/api/users/confirm_email/",
            caller,
            json={} if code is None else {"code": code},
        )

    async def change_password(self, caller: Who, uuid: UUID, new_password: Any) -> Outcome:
        return await self._call(
            "POST",
            user_path(uuid, "change_password"),
            caller,
            json={} if new_password is None else {"new_password": new_password},
        )

    async def pull_remote_user(self, caller: Who, uuid: UUID) -> Outcome:
        return await self._call("POST", user_path(uuid, "pull_remote_user"), caller)

    async def login(self, username: Any, password: Any) -> Outcome:
        """The value is the token key."""
        body = {
            name: value
            for name, value in (("username", username), ("password", password))
            if value is not None
        }
        return await self._call(
            "POST", "/api-auth/password/", None, json=body, value=lambda body: body["token"]
        )

    async def logout(self, caller: Who) -> Outcome:
        return await self._call("POST", "/api-auth/logout/", caller)
