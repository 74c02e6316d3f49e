"""Which fields each caller reads (docs/fields.md#fields-per-caller,
docs/fields.md#the-field-parameter, docs/visibility.md#visible-users,
docs/fields.md#tokens-in-user-bodies)."""

from __future__ import annotations

import pytest

from gql_users.accounts.callers import ANONYMOUS, Caller
from gql_users.accounts.shaping import (
    OWN_TOKEN_FIELDS,
    PERSONAL_FIELDS,
    PRIVILEGED_FIELDS,
    USER_FIELDS,
    fields_readable_on_every_listed_user,
    readable_fields,
    readable_fields_for_page,
    select_fields,
)
from gql_users.db.models import User


def make_user(user_id: int, **flags: bool) -> User:
    return User(id=user_id, username=f"u{user_id}", **flags)


NORMAL = make_user(1)
COLLEAGUE = make_user(2)
SUPPORT = make_user(3, is_support=True)
STAFF = make_user(4, is_staff=True)
IDENTITY_MANAGER = make_user(5, is_identity_manager=True)


def test_user_fields_follow_the_sdk_model_order() -> None:
    assert USER_FIELDS[:5] == ("url", "uuid", "username", "slug", "full_name")
    assert USER_FIELDS[-1] == "has_active_session"
    assert len(USER_FIELDS) == len(set(USER_FIELDS)) == 36
    assert USER_FIELDS.index("last_name") + 1 == USER_FIELDS.index("birth_date")
    assert USER_FIELDS.index("birth_date") + 1 == USER_FIELDS.index("identity_provider_name")
    assert USER_FIELDS.index("token") < USER_FIELDS.index("token_expires_at")


def test_normal_user_reading_self_gets_token_but_no_privileged_fields() -> None:
    fields = readable_fields(Caller(user=NORMAL), NORMAL)
    assert set(fields) >= OWN_TOKEN_FIELDS
    assert not PRIVILEGED_FIELDS & set(fields)
    assert "token_expires_at" in fields


@pytest.mark.parametrize("caller_user", [NORMAL, IDENTITY_MANAGER])
def test_normal_user_reading_another_gets_neither(caller_user: User) -> None:
    fields = readable_fields(Caller(user=caller_user), COLLEAGUE)
    hidden = PRIVILEGED_FIELDS | OWN_TOKEN_FIELDS | PERSONAL_FIELDS
    assert not hidden & set(fields)
    assert fields == tuple(name for name in USER_FIELDS if name not in hidden)


@pytest.mark.parametrize("caller_user", [SUPPORT, STAFF])
def test_staff_and_support_read_privileged_fields_but_not_others_tokens(
    caller_user: User,
) -> None:
    """Scenario 5: staff do not see another user's token or token_lifetime."""
    fields = readable_fields(Caller(user=caller_user), NORMAL)
    assert set(fields) >= PRIVILEGED_FIELDS
    assert not OWN_TOKEN_FIELDS & set(fields)
    assert readable_fields(Caller(user=caller_user), caller_user) == USER_FIELDS


def test_anonymous_gets_the_plainest_view() -> None:
    fields = readable_fields(ANONYMOUS, NORMAL)
    assert not (PRIVILEGED_FIELDS | OWN_TOKEN_FIELDS | PERSONAL_FIELDS) & set(fields)


@pytest.mark.parametrize("caller_user", [NORMAL, IDENTITY_MANAGER, SUPPORT, STAFF])
def test_personal_fields_show_to_oneself_on_a_page_of_any_size(caller_user: User) -> None:
    shapes = readable_fields_for_page(Caller(user=caller_user), [caller_user, COLLEAGUE])
    assert set(shapes[0]) >= PERSONAL_FIELDS
    assert set(readable_fields(Caller(user=caller_user), caller_user)) >= PERSONAL_FIELDS


@pytest.mark.parametrize(
    ("caller_user", "shown"),
    [(NORMAL, False), (IDENTITY_MANAGER, False), (SUPPORT, True), (STAFF, True)],
)
def test_personal_fields_of_others_for_staff_and_support_only(
    caller_user: User, shown: bool
) -> None:
    caller = Caller(user=caller_user)
    assert (set(readable_fields(caller, COLLEAGUE)) >= PERSONAL_FIELDS) is shown
    [_, colleague_shape] = readable_fields_for_page(caller, [caller_user, COLLEAGUE])
    assert (set(colleague_shape) >= PERSONAL_FIELDS) is shown
    assert (fields_readable_on_every_listed_user(caller) >= PERSONAL_FIELDS) is shown


def test_in_a_list_the_token_shows_only_on_a_page_holding_just_the_caller() -> None:
    caller = Caller(user=NORMAL)
    assert set(readable_fields(caller, NORMAL, items_on_page=1)) >= OWN_TOKEN_FIELDS
    assert not OWN_TOKEN_FIELDS & set(readable_fields(caller, NORMAL, items_on_page=2))
    assert not OWN_TOKEN_FIELDS & set(readable_fields(caller, COLLEAGUE, items_on_page=1))


def test_staff_cannot_see_token_in_the_list() -> None:
    """Scenario 4: even the staff caller's own item of a longer list has no token."""
    shapes = readable_fields_for_page(Caller(user=STAFF), [STAFF, NORMAL, COLLEAGUE])
    assert all(not OWN_TOKEN_FIELDS & set(shape) for shape in shapes)
    assert all(set(shape) >= PRIVILEGED_FIELDS for shape in shapes)


def test_a_page_of_one_self_shows_the_token() -> None:
    [shape] = readable_fields_for_page(Caller(user=NORMAL), [NORMAL])
    assert set(shape) >= OWN_TOKEN_FIELDS
    assert readable_fields_for_page(Caller(user=NORMAL), []) == []


# --- the field parameter ---------------------------------------------------------------------


def test_select_fields_keeps_serializer_order_and_ignores_unknown_names() -> None:
    """Scenario 97 and docs/fields.md#the-field-parameter:
    ``?field=username&field=uuid&field=nope``."""
    available = readable_fields(Caller(user=NORMAL), COLLEAGUE)
    assert select_fields(available, ["username", "uuid", "nope"]) == ("uuid", "username")


def test_select_fields_cannot_reach_hidden_fields() -> None:
    available = readable_fields(Caller(user=NORMAL), COLLEAGUE)
    assert select_fields(available, ["is_staff", "token", "email"]) == ("email",)


@pytest.mark.parametrize("requested", [[], ["nope"], ["is_staff", "token"]])
def test_no_valid_name_means_every_available_field(requested: list[str]) -> None:
    available = readable_fields(Caller(user=NORMAL), COLLEAGUE)
    assert select_fields(available, requested) == available
