"""The user list filters (docs/rest.md#filters, docs/api-differences.md#no-server-errors) and
scenarios 32-36, 38-45."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import Caller
from gql_users.accounts.errors import ValidationFailed
from gql_users.accounts.filters import FILTER_READS, UserFilter
from gql_users.accounts.keyset import ensure_readable_sort_and_filter
from gql_users.accounts.ordering import OrderKey
from gql_users.db.models import User
from gql_users.rest.query import user_filter_from_query
from tests.accounts.read_world import World, build_world, usernames_for
from tests.conftest import Factory


def query(**params: str | list[str]) -> UserFilter:
    """The REST shim's ``user_filter_from_query`` with single values written plainly."""
    return user_filter_from_query(
        {key: value if isinstance(value, list) else [value] for key, value in params.items()}
    )


@pytest.fixture
async def staff(factory: Factory) -> Caller:
    return Caller(user=await factory.user("admin", is_staff=True))


@pytest.fixture
async def people(factory: Factory) -> dict[str, User]:
    """Two well-filled users and one mostly empty, inactive one (as in UserFilterTest)."""
    return {
        "francois": await factory.user(
            "francois",
            first_name="François",
            last_name="Jürimäe",
            native_name="Франсуа",
            organization="Université de Tartu",
            job_title="Research Engineer",
            email="Francois.Jurimae@Example.org",
            phone_number="+372 555 1234",
            description="likes 100% coverage",
            civil_number="EE38001085718",
            registration_method="eduteams",
            date_joined=datetime(2020, 5, 1, 12, 0, tzinfo=UTC),
            agreement_date=datetime(2021, 1, 1, tzinfo=UTC),
        ),
        "mary": await factory.user(
            "mary",
            first_name="Mary",
            last_name="Smith",
            native_name="Mary Smith",
            organization="Tartu Observatory",
            job_title="Engineer",
            email="mary@example.com",
            phone_number="+372 555 9999",
            description="astronomer",
            civil_number="EE49002124277",
            date_joined=datetime(2023, 3, 10, 8, 30, tzinfo=UTC),
            agreement_date=None,
        ),
        "ghost": await factory.user("ghost", is_active=False, email="", agreement_date=None),
    }


async def names(session: AsyncSession, caller: Caller, user_filter: UserFilter) -> set[str]:
    return set(await usernames_for(session, caller, user_filter))


# --- parsing ---------------------------------------------------------------------------------


def test_empty_and_unknown_parameters_are_ignored() -> None:
    parsed = query(username="", full_name="", is_active="", customer_uuid="", current="1")
    assert parsed == UserFilter()


def test_the_last_of_repeated_values_wins() -> None:
    assert query(username=["first", "second"]).username == "second"
    assert query(username=["first", ""]).username is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("false", False),
        ("False", False),
        ("0", False),
        ("yes", None),
        ("2", None),
        ("unknown", None),
    ],
)
def test_booleans(raw: str, expected: bool | None) -> None:
    assert query(is_active=raw, is_staff=raw, is_support=raw) == UserFilter(
        is_active=expected, is_staff=expected, is_support=expected
    )


def test_malformed_customer_uuid_is_a_400_shaped_error() -> None:
    """docs/api-differences.md#no-server-errors: no 500, no silent empty list."""
    with pytest.raises(ValidationFailed) as raised:
        query(customer_uuid="not-a-uuid")
    assert raised.value.errors == {"customer_uuid": ["Must be a valid UUID."]}


def test_malformed_project_uuid_is_reported_under_its_own_name() -> None:
    with pytest.raises(ValidationFailed) as raised:
        query(project_uuid="1234")
    assert raised.value.errors == {"project_uuid": ["Must be a valid UUID."]}


def test_uuids_are_accepted_with_and_without_hyphens() -> None:
    value = uuid.uuid4()
    assert query(customer_uuid=value.hex).customer_uuid == value
    assert query(project_uuid=str(value)).project_uuid == value


def test_bad_date_is_a_400_shaped_error() -> None:
    with pytest.raises(ValidationFailed) as raised:
        query(date_joined="yesterday")
    assert raised.value.errors == {"date_joined": ["Enter a valid date/time."]}


def test_all_bad_parameters_are_reported_together() -> None:
    with pytest.raises(ValidationFailed) as raised:
        query(modified="2024-13-01", agreement_date="soon", customer_uuid="x", project_uuid="y")
    assert raised.value.errors == {
        "modified": ["Enter a valid date/time."],
        "agreement_date": ["Enter a valid date/time."],
        "customer_uuid": ["Must be a valid UUID."],
        "project_uuid": ["Must be a valid UUID."],
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-01-02", datetime(2024, 1, 2, tzinfo=UTC)),
        ("2024-01-02T03:04:05", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05+02:00", datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC)),
        # the generated client's encoding, once decoded
        ("2024-01-02T03:04:05+00:00", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        # a hand-typed "+" that the query string decoded to a space
        ("2024-01-02T03:04:05 02:00", datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC)),
    ],
)
def test_dates_and_datetimes_are_parsed_to_utc(raw: str, expected: datetime) -> None:
    assert query(date_joined=raw).date_joined == expected


def test_role_lists_keep_every_value_and_merge() -> None:
    parsed = query(
        organization_roles=["CUSTOMER.OWNER", "", "PROJECT.ADMIN"],
        project_roles=["PROJECT.ADMIN", "PROJECT.MEMBER"],
    )
    assert parsed.organization_roles == ("CUSTOMER.OWNER", "PROJECT.ADMIN")
    assert parsed.role_names == ("CUSTOMER.OWNER", "PROJECT.ADMIN", "PROJECT.MEMBER")


@pytest.mark.parametrize(
    ("raw", "expected"), [("a, b ,a", ("a", "b")), (",", ()), (" , ,", ()), ("a", ("a",))]
)
def test_username_list_parsing(raw: str, expected: tuple[str, ...]) -> None:
    assert query(username_list=raw).username_list == expected


# --- scenarios 32-36 (UserFilterTest) --------------------------------------------------------


@pytest.mark.parametrize(
    "field",
    [
        "full_name",
        "native_name",
        "organization",
        "email",
        "phone_number",
        "description",
        "job_title",
        "username",
        "civil_number",
        "is_active",
    ],
)
async def test_user_list_can_be_filtered(
    session: AsyncSession, staff: Caller, people: dict[str, User], field: str
) -> None:
    """Filtering by francois's own value finds francois and not the empty, inactive ghost."""
    francois = people["francois"]
    value = "true" if field == "is_active" else str(getattr(francois, field))
    found = await names(session, staff, query(**{field: value}))
    assert "francois" in found
    assert "ghost" not in found


@pytest.mark.parametrize("field", ["full_name", "native_name", "email", "job_title"])
async def test_user_list_can_be_filtered_by_fields_with_partial_matching(
    session: AsyncSession, staff: Caller, people: dict[str, User], field: str
) -> None:
    value = str(getattr(people["francois"], field))[:-1]
    assert "francois" in await names(session, staff, query(**{field: value}))


async def test_use_query_parameter_to_filtering_by_full_name(
    session: AsyncSession, staff: Caller, people: dict[str, User]
) -> None:
    assert "mary" in await names(session, staff, query(query="Mary Smith"))


async def test_user_list_can_be_filtered_with_accents(
    session: AsyncSession, staff: Caller, people: dict[str, User]
) -> None:
    assert await names(session, staff, query(full_name="François Jürimäe")) == {"francois"}


async def test_user_list_can_be_filtered_without_accents(
    session: AsyncSession, staff: Caller, people: dict[str, User]
) -> None:
    assert await names(session, staff, query(full_name="Francois Jurimae")) == {"francois"}
    assert await names(session, staff, query(full_name="cois jÜri")) == {"francois"}


# --- text filters in detail ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        # same-case non-ASCII only: SQLite's lower() folds ASCII letters alone
        ("native_name", "рансу", {"francois"}),
        ("organization", "TARTU", {"francois", "mary"}),
        ("organization", "observ", {"mary"}),
        ("job_title", "engineer", {"francois", "mary"}),
        ("job_title", "research", {"francois"}),
        ("email", "EXAMPLE.", {"francois", "mary", "admin"}),
        ("email", "jurimae@", {"francois"}),
    ],
)
async def test_icontains_filters_ignore_case(
    session: AsyncSession,
    staff: Caller,
    people: dict[str, User],
    field: str,
    value: str,
    expected: set[str],
) -> None:
    assert await names(session, staff, query(**{field: value})) == expected


async def test_like_wildcards_in_a_value_are_literal(
    session: AsyncSession, staff: Caller, people: dict[str, User]
) -> None:
    assert await names(session, staff, query(email="%")) == set()
    assert await names(session, staff, query(email="_")) == set()
    assert await names(session, staff, query(user_keyword="%")) == set()


@pytest.mark.parametrize(
    ("field", "partial"),
    [
        ("phone_number", "+372 555"),
        ("description", "astro"),
        ("civil_number", "EE49"),
        ("registration_method", "edu"),
    ],
)
async def test_exact_filters_do_not_match_parts(
    session: AsyncSession, staff: Caller, people: dict[str, User], field: str, partial: str
) -> None:
    assert await names(session, staff, query(**{field: partial})) == set()


async def test_registration_method_exact(
    session: AsyncSession, staff: Caller, people: dict[str, User]
) -> None:
    assert await names(session, staff, query(registration_method="eduteams")) == {"francois"}
    assert "mary" in await names(session, staff, query(registration_method="default"))


async def test_username_is_exact_and_case_sensitive(
    session: AsyncSession, staff: Caller, people: dict[str, User]
) -> None:
    assert await names(session, staff, query(username="mary")) == {"mary"}
    assert await names(session, staff, query(username="Mary")) == set()
    assert await names(session, staff, query(username="mar")) == set()


async def test_username_list(session: AsyncSession, staff: Caller, people: dict[str, User]) -> None:
    assert await names(session, staff, query(username_list="mary, ghost,nobody")) == {
        "mary",
        "ghost",
    }
    assert await names(session, staff, query(username_list=" , ,")) == set()
    assert await names(session, staff, query(username_list=",")) == set()
    assert len(await names(session, staff, query(username_list=""))) == 4  # ignored


async def test_user_keyword_matches_folded_name_email_or_username(
    session: AsyncSession, staff: Caller, people: dict[str, User]
) -> None:
    assert await names(session, staff, query(user_keyword="jurimäe")) == {"francois"}
    assert await names(session, staff, query(user_keyword="MARY@")) == {"mary"}
    assert await names(session, staff, query(user_keyword="hos")) == {"ghost"}


async def test_query_matches_names_civil_number_username_or_email(
    session: AsyncSession, staff: Caller, people: dict[str, User]
) -> None:
    assert await names(session, staff, query(query="smi")) == {"mary"}
    assert await names(session, staff, query(query="ee3800")) == {"francois"}
    assert await names(session, staff, query(query="GHOST")) == {"ghost"}
    assert await names(session, staff, query(query="example.org")) == {"francois"}


async def test_query_with_two_words_widens_by_first_and_last_name(
    session: AsyncSession, staff: Caller, people: dict[str, User]
) -> None:
    """Word 1 in first_name OR word 2 in last_name: "Mary Jürimäe" finds both users."""
    assert await names(session, staff, query(query="Mary Jürimäe")) == {"mary", "francois"}
    assert await names(session, staff, query(query="Nobody Smith")) == {"mary"}
    assert await names(session, staff, query(query="Nobody Else")) == set()


async def test_is_active(session: AsyncSession, staff: Caller, people: dict[str, User]) -> None:
    assert await names(session, staff, query(is_active="false")) == {"ghost"}
    assert "ghost" not in await names(session, staff, query(is_active="1"))
    assert "ghost" in await names(session, staff, query(is_active="maybe"))  # no filter


@pytest.mark.parametrize(
    ("field", "since", "expected"),
    [
        ("date_joined", "2023-03-10", {"mary"}),
        ("date_joined", "2023-03-10T08:30:00Z", {"mary"}),
        ("date_joined", "2023-03-10T08:30:01Z", set()),
        ("date_joined", "2020-05-01T12:00:00+01:00", {"francois", "mary"}),
        ("agreement_date", "2020-12-31", {"francois"}),
    ],
)
async def test_date_filters_are_greater_or_equal(
    session: AsyncSession,
    staff: Caller,
    people: dict[str, User],
    field: str,
    since: str,
    expected: set[str],
) -> None:
    found = await names(session, staff, query(**{field: since})) - {"admin", "ghost"}
    assert found == expected


async def test_modified_filter(
    session: AsyncSession, staff: Caller, people: dict[str, User]
) -> None:
    everyone = await names(session, staff, UserFilter())
    assert await names(session, staff, query(modified="2000-01-01")) == everyone
    assert await names(session, staff, query(modified="2999-01-01")) == set()


# --- scope filters ---------------------------------------------------------------------------


@pytest.fixture
async def world(factory: Factory) -> World:
    return await build_world(factory)


async def test_filter_user_by_customer(session: AsyncSession, world: World) -> None:
    """Scenario 38 and more: the customer's roles and roles in any of its projects; inactive
    roles (former_a) do not count; inactive users still show for staff."""
    found = await names(session, world.caller("staff"), query(customer_uuid=world.alpha.uuid.hex))
    assert found == {
        "owner_a",
        "support_a",
        "staff_a",
        "manager_a1",
        "member_a1",
        "inactive_a1",
        "manager_im",
        "member_a2",
    }
    beta = await names(session, world.caller("staff"), query(customer_uuid=str(world.beta.uuid)))
    assert beta == {"owner_b", "member_b1"}


async def test_filter_user_by_customer_stays_within_visibility(
    session: AsyncSession, world: World
) -> None:
    found = await names(
        session, world.caller("member_a1"), query(customer_uuid=world.alpha.uuid.hex)
    )
    assert found == {"owner_a", "support_a", "manager_a1", "member_a1", "manager_im"}


async def test_filter_user_by_project(session: AsyncSession, world: World) -> None:
    """Scenario 39: project members only, not the customer's owners."""
    found = await names(session, world.caller("staff"), query(project_uuid=world.alpha_1.uuid.hex))
    assert found == {"manager_a1", "member_a1", "inactive_a1", "manager_im"}
    assert await names(
        session, world.caller("staff"), query(project_uuid=world.beta_1.uuid.hex)
    ) == {"member_b1"}


async def test_unknown_scope_uuid_gives_an_empty_list(session: AsyncSession, world: World) -> None:
    unknown = uuid.uuid4().hex
    assert await names(session, world.caller("staff"), query(customer_uuid=unknown)) == set()
    assert await names(session, world.caller("staff"), query(project_uuid=unknown)) == set()


async def test_role_filters_match_role_names_in_any_scope(
    session: AsyncSession, world: World
) -> None:
    staff = world.caller("staff")
    owners = await names(session, staff, query(organization_roles="CUSTOMER.OWNER"))
    assert owners == {"owner_a", "staff_a", "owner_b"}
    # project_roles is the same filter: it is not limited to project roles (docs/rest.md#filters)
    assert await names(session, staff, query(project_roles="CUSTOMER.OWNER")) == owners
    either = query(organization_roles="PROJECT.MANAGER", project_roles="CUSTOMER.SUPPORT")
    managers = await names(session, staff, either)
    assert managers == {"manager_a1", "support_a"}
    # former_a's CUSTOMER.MANAGER role is inactive
    assert await names(session, staff, query(organization_roles="CUSTOMER.MANAGER")) == set()
    assert await names(session, staff, query(organization_roles="NO.SUCH.ROLE")) == set()


async def test_filters_combine_with_and(session: AsyncSession, world: World) -> None:
    found = await names(
        session,
        world.caller("staff"),
        query(customer_uuid=world.alpha.uuid.hex, project_roles="PROJECT.MEMBER", is_active="true"),
    )
    assert found == {"member_a1", "manager_im", "member_a2"}


# --- scenarios 40-45 (UserFilterIsStaffIsSupportTest) ----------------------------------------


async def test_staff_can_filter_staff_users(session: AsyncSession, world: World) -> None:
    found = await names(session, world.caller("staff"), query(is_staff="true"))
    assert found == {"staff", "staff_a"}
    assert "member_a1" not in found


async def test_staff_can_filter_support_users(session: AsyncSession, world: World) -> None:
    assert await names(session, world.caller("staff"), query(is_support="true")) == {"support"}


async def test_support_can_filter_staff_users(session: AsyncSession, world: World) -> None:
    assert await names(session, world.caller("support"), query(is_staff="true")) == {
        "staff",
        "staff_a",
    }
    not_staff = await names(session, world.caller("support"), query(is_staff="false"))
    assert not_staff == world.all_usernames - {"staff", "staff_a"}


async def test_support_can_filter_support_users(session: AsyncSession, world: World) -> None:
    assert await names(session, world.caller("support"), query(is_support="1")) == {"support"}


@pytest.mark.parametrize("value", ["true", "false"])
async def test_regular_user_cannot_filter_staff_users(
    session: AsyncSession, world: World, value: str
) -> None:
    assert await names(session, world.caller("owner_a"), query(is_staff=value)) == set()


@pytest.mark.parametrize("value", ["true", "false"])
async def test_regular_user_cannot_filter_support_users(
    session: AsyncSession, world: World, value: str
) -> None:
    assert await names(session, world.caller("owner_a"), query(is_support=value)) == set()


async def test_regular_user_with_an_invalid_flag_value_is_not_filtered(
    session: AsyncSession, world: World
) -> None:
    """Only a *valid* boolean empties the list; anything else means no filter at all."""
    found = await names(session, world.caller("owner_a"), query(is_staff="maybe"))
    assert found == await names(session, world.caller("owner_a"), UserFilter())
    assert found


def test_every_filter_names_the_fields_it_reads() -> None:
    assert set(FILTER_READS) == {field.name for field in dataclasses.fields(UserFilter)}
    assert UserFilter().given == ()
    assert UserFilter(username_list=(), organization_roles=()).given == ("username_list",)
    assert UserFilter(is_staff=False, query="x").given == ("query", "is_staff")


@pytest.mark.parametrize(
    ("user_filter", "ordering", "refused"),
    [
        (UserFilter(description="x"), [], {"description"}),
        (UserFilter(is_active=True, modified=datetime(2000, 1, 1, tzinfo=UTC)), [], None),
        (UserFilter(), [OrderKey("is_support", descending=True)], {"order_by"}),
        (UserFilter(is_staff=False), [OrderKey("description")], {"is_staff", "order_by"}),
        (UserFilter(query="a", civil_number="1", customer_uuid=uuid.uuid4()), [], set()),
        (UserFilter(), [OrderKey(name) for name in ("full_name", "email", "username")], set()),
    ],
)
def test_only_fields_readable_on_every_listed_user_sort_and_filter(
    user_filter: UserFilter, ordering: list[OrderKey], refused: set[str] | None
) -> None:
    normal = Caller(user=User(username="normal", is_staff=False, is_support=False))
    expected = {"is_active", "modified"} if refused is None else refused
    if expected:
        with pytest.raises(ValidationFailed) as raised:
            ensure_readable_sort_and_filter(normal, user_filter, ordering)
        assert isinstance(raised.value.errors, dict)
        assert set(raised.value.errors) == expected
    else:
        ensure_readable_sort_and_filter(normal, user_filter, ordering)
    for flag in ("is_staff", "is_support"):
        privileged = Caller(user=User(username="boss", is_staff=False, is_support=False))
        setattr(privileged.user, flag, True)
        ensure_readable_sort_and_filter(privileged, user_filter, ordering)  # nothing refused
