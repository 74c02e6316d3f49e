"""The REST shim's query-string parsers: the page and page size, and the ``o`` ordering."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gql_users.accounts.errors import NotFound, ValidationFailed
from gql_users.accounts.ordering import OrderKey
from gql_users.accounts.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageRequest
from gql_users.rest.query import ordering_from_query, page_request_from_query

# --- page and page size ----------------------------------------------------------------------


def test_defaults() -> None:
    assert page_request_from_query(None, None) == PageRequest(page=1, size=DEFAULT_PAGE_SIZE)


@pytest.mark.parametrize(
    ("raw", "size"),
    [
        ("5", 5),
        ("300", 300),
        ("301", 300),
        ("100000", 300),
        ("0", 10),
        ("-3", 10),
        ("abc", 10),
        ("", 10),
        ("2.5", 10),
        (None, 10),
    ],
)
def test_page_size(raw: str | None, size: int) -> None:
    assert page_request_from_query(None, raw).size == size


@given(st.integers(min_value=1, max_value=10**9))
def test_any_positive_page_size_is_honoured_up_to_the_maximum(size: int) -> None:
    assert page_request_from_query(None, str(size)).size == min(size, MAX_PAGE_SIZE)


@pytest.mark.parametrize("raw", ["abc", "", "1.5", "one", "2x"])
def test_a_page_that_is_not_an_integer_is_invalid(raw: str) -> None:
    with pytest.raises(NotFound) as raised:
        page_request_from_query(raw, None)
    assert raised.value.detail == "Invalid page."


def test_page_last_and_numbers() -> None:
    assert page_request_from_query("last", "5").page == "last"
    assert page_request_from_query("3", None).page == 3


# --- ordering --------------------------------------------------------------------------------


def test_csv_and_repeated_values_both_apply_in_order() -> None:
    expected = [OrderKey("is_active", True), OrderKey("username"), OrderKey("email", True)]
    assert ordering_from_query(["-is_active,username,-email"]) == expected
    assert ordering_from_query(["-is_active", "username", "-email"]) == expected
    assert ordering_from_query(["-is_active,username", "-email"]) == expected


def test_blank_items_are_skipped_and_nothing_means_default() -> None:
    assert ordering_from_query([]) == []
    assert ordering_from_query(["", " , "]) == []
    assert ordering_from_query([" username , "]) == [OrderKey("username")]


@pytest.mark.parametrize(
    ("values", "named"),
    [
        (["unknown"], "unknown"),
        (["username,-password"], "-password"),
        (["email", "id"], "id"),
        (["--email"], "--email"),
        (["date_joined"], "date_joined"),
    ],
)
def test_unknown_names_are_a_validation_error(values: list[str], named: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        ordering_from_query(values)
    assert raised.value.errors == {
        "o": [f"Select a valid choice. {named} is not one of the available choices."]
    }
