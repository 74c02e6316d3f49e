"""Operator tasks that run outside any request: creating a user from the command line.

The command line is trusted (whoever runs it can read the database anyway), so there is no
caller and no permission check. Everything else is the API's: the same field validation
(``user_input``), username uniqueness, slug and token as ``users.insert_user``, and the
password policy of ``set_password``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.errors import ValidationFailed
from gql_users.accounts.passwords import hash_password, password_problems
from gql_users.accounts.slugs import generate_slug
from gql_users.accounts.tokens import create_token
from gql_users.accounts.user_input import validate_user_input
from gql_users.accounts.users import USERNAME_TAKEN, already_exists, username_taken
from gql_users.db.models import AuthToken, User, utcnow
from gql_users.events import Event, Kind, publish
from gql_users.settings import Settings

OPERATOR_FIELDS = frozenset({"username", "email", "is_staff", "is_support"})


@dataclass(frozen=True, slots=True)
class CreatedUser:
    """What the operator hands over: the new user (for its uuid) and its token."""

    user: User
    token: AuthToken


async def create_user_from_cli(
    session: AsyncSession,
    settings: Settings,
    *,
    username: str,
    email: str,
    is_staff: bool = False,
    is_support: bool = False,
    password: str | None = None,
    now: datetime | None = None,
) -> CreatedUser:
    """Create an active user with a token, as ``gql-users create-user`` does.

    As through the API, ``agreement_date`` stays empty; unlike the API, a password may be
    given. Without one the user can only use the returned token.

    Args:
        session: committed on success.
        settings: the default token lifetime and the password policy.
        username: ``^[0-9a-z_.@+-]+$``, at most 128 characters, not used by any user.
        email: a valid address.
        is_staff, is_support: the global roles.
        password: checked against the password policy, then hashed with argon2id.
        now: the creation time (tests).

    Returns:
        The new user and its token.

    Raises:
        ValidationFailed: a field dict naming each bad field (``password`` for the policy).
    """
    now = now or utcnow()
    data = {"username": username, "email": email, "is_staff": is_staff, "is_support": is_support}
    errors: dict[str, list[str]] = {}
    try:
        values = validate_user_input(data, allowed=OPERATOR_FIELDS, creating=True).values
    except ValidationFailed as invalid:
        assert isinstance(invalid.errors, dict)
        errors, values = dict(invalid.errors), {}
    if "username" not in errors and await username_taken(session, username):
        errors["username"] = [USERNAME_TAKEN]
    # The policy compares the password with the username and email, hence the transient User.
    candidate = User(username=username, email=email)
    if password is not None and (problems := password_problems(password, candidate, settings)):
        errors["password"] = problems
    if errors:
        raise ValidationFailed(errors)

    user = User(
        **values,
        slug=await generate_slug(session, username),
        token_lifetime=settings.token_lifetime,
        date_joined=now,
        registration_method="default",
        password=hash_password(password) if password is not None else "",
    )
    session.add(user)
    try:
        await session.flush()
        token = await create_token(session, user, now)
        await publish(session, Event(Kind.CREATED, user.uuid))
        await session.commit()
    except IntegrityError as exc:  # another process took the username in the meantime
        await session.rollback()
        raise already_exists(exc) from exc
    return CreatedUser(user=user, token=token)
