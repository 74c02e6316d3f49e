"""Login and logout, the GraphQL twins of ``/api-auth/password/`` and ``/api-auth/logout/``.

Wrong credentials and the lockout are ``UNAUTHENTICATED`` errors (REST answers 401), missing
or malformed fields are ``userErrors`` (REST answers 400). The lockout is keyed on the same
client address as REST's: the socket peer.
"""

from __future__ import annotations

import strawberry

from gql_users.accounts import tokens
from gql_users.accounts.callers import ensure_authenticated
from gql_users.accounts.errors import ValidationFailed
from gql_users.accounts.login import login
from resolvers.context import Info
from resolvers.errors import UserError, user_errors
from resolvers.writes import core_write


@strawberry.type
class LoginPayload:
    token: str | None = strawberry.field(
        default=None, description="Send it as `Authorization: Token <token>`."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LogoutPayload:
    ok: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AuthMutations:
    @strawberry.mutation(
        description="Exchange a username and password for a token. Repeated failures lock the "
        "username out for a while from your address."
    )
    async def login(
        self, info: Info, username: str | None = None, password: str | None = None
    ) -> LoginPayload | None:
        context = info.context
        async with core_write(context) as session:
            try:
                token = await login(
                    session, context.settings, username, password, context.client_address
                )
            except ValidationFailed as problem:
                return LoginPayload(user_errors=user_errors(problem))
        return LoginPayload(token=token.key)

    @strawberry.mutation(description="Delete the caller's token: it stops working at once.")
    async def logout(self, info: Info) -> LogoutPayload | None:
        context = info.context
        ensure_authenticated(context.caller)
        async with core_write(context) as session:
            await tokens.logout(session, context.caller)
        return LogoutPayload(ok=True)
