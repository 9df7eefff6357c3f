"""The shared cattrs converter: wire formats, strictness and how decoding errors read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import cattrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbo_core.converter import converter, make_converter, structure, unstructure
from qbo_core.dtos import IntegrationStatus, QBOEvent, RateLimit, TokenSet, VersionedTokenSet
from qbo_core.errors import DecodeError

OFFSETS = st.just(UTC) | st.builds(
    timezone,
    st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23)),
)
#: Any offset Python allows, on dates far enough from the ends that UTC stays in range.
AWARE = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=OFFSETS
)
MINUTE_OFFSETS = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60 - 59, 23 * 60 + 59)
)


def through_json(data: Any) -> Any:
    """`data` after a trip through JSON text, as a store or the network would return it."""
    return json.loads(json.dumps(data))


def token_data(**changes: object) -> dict[str, Any]:
    """The unstructured form of a valid `TokenSet`, with `changes` applied."""
    tokens = TokenSet(
        access_token="access-value",
        refresh_token="refresh-value",
        access_token_expires_at=datetime(2025, 1, 1, 12, tzinfo=UTC),
        refresh_token_expires_at=datetime(2025, 4, 1, 12, tzinfo=UTC),
    )
    data: dict[str, Any] = unstructure(tokens)
    data.update(changes)
    return data


# --------------------------------------------------------------------- datetimes


@given(AWARE)
def test_aware_datetimes_round_trip_as_iso_text(moment: datetime) -> None:
    """An aware datetime becomes ISO-8601 text and comes back as the same instant."""
    wire = unstructure(moment)
    assert isinstance(wire, str)
    back = structure(through_json(wire), datetime)
    assert back == moment


@given(st.datetimes(timezones=MINUTE_OFFSETS))
def test_whole_minute_offsets_are_kept(moment: datetime) -> None:
    """An offset of whole minutes (every real zone's) is written and read back as it was."""
    back = structure(unstructure(moment), datetime)
    assert back.utcoffset() == moment.utcoffset()


def test_offsets_finer_than_a_minute_are_written_in_utc() -> None:
    """An offset ISO-8601 cannot express is replaced by UTC, keeping the instant exact."""
    moment = datetime(2000, 1, 1, tzinfo=timezone(timedelta(microseconds=1)))
    assert unstructure(moment) == "1999-12-31T23:59:59.999999+00:00"
    assert structure(unstructure(moment), datetime) == moment


def test_a_fine_offset_that_cannot_move_to_utc_is_refused() -> None:
    """A sub-minute offset on the first day of year 1 has no UTC form, and says so."""
    moment = datetime(1, 1, 1, tzinfo=timezone(timedelta(microseconds=1)))
    with pytest.raises(ValueError, match="out of range in UTC"):
        unstructure(moment)


def test_datetimes_keep_their_offset_on_the_wire() -> None:
    """QBO-style local times keep their offset rather than being shifted to UTC."""
    moment = datetime(2025, 2, 24, 10, 33, 39, tzinfo=timezone(timedelta(hours=-7)))
    assert unstructure(moment) == "2025-02-24T10:33:39-07:00"


@given(st.datetimes())
def test_naive_datetime_text_is_refused(moment: datetime) -> None:
    """Text without a UTC offset is refused, because its instant would depend on the reader."""
    with pytest.raises(DecodeError, match="no UTC offset"):
        structure(moment.isoformat(), datetime)


def test_naive_datetime_is_refused_with_the_field_path() -> None:
    """A naive datetime inside a DTO is reported at its full field path."""
    data = {"tokens": token_data(access_token_expires_at="2025-01-01T12:00:00"), "version": 1}
    with pytest.raises(DecodeError) as caught:
        structure(data, VersionedTokenSet)
    assert "@ $.tokens.access_token_expires_at" in str(caught.value)


@given(st.datetimes())
def test_naive_datetimes_cannot_be_unstructured(moment: datetime) -> None:
    """Serializing a naive datetime fails at once instead of writing an ambiguous time."""
    with pytest.raises(ValueError, match="naive"):
        unstructure(moment)


@pytest.mark.parametrize("text", ["yesterday", "2025-13-01T00:00:00Z", ""])
def test_text_that_is_not_a_datetime_is_refused(text: str) -> None:
    """Text that is not ISO-8601 is a decode error, not a crash."""
    with pytest.raises(DecodeError, match="not an ISO-8601 datetime"):
        structure(text, datetime)


def test_a_datetime_must_be_text_on_the_wire() -> None:
    """A number (an epoch, say) is not accepted where ISO text belongs."""
    with pytest.raises(DecodeError, match="expected an ISO-8601 datetime string, got int"):
        structure(1_601_391_072_830, datetime)


# --------------------------------------------------------------------- decimals


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_decimals_round_trip_as_exact_text(amount: Decimal) -> None:
    """A Decimal travels as its exact text and comes back with the same value and scale."""
    wire = unstructure(amount)
    assert isinstance(wire, str)
    back = structure(through_json(wire), Decimal)
    assert back == amount
    assert str(back) == str(amount)


def test_decimal_keeps_trailing_zeros() -> None:
    """Money keeps its scale: "12.50" stays "12.50", not 12.5."""
    assert unstructure(Decimal("12.50")) == "12.50"
    assert str(structure("12.50", Decimal)) == "12.50"


@pytest.mark.parametrize("value", [12.5, True, None, [1]])
def test_decimals_refuse_floats_and_other_types(value: object) -> None:
    """Floats (already rounded) and other non-text values are not taken as decimals."""
    with pytest.raises(DecodeError, match="expected a decimal number"):
        structure(value, Decimal)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-inf", "twelve"])
def test_non_finite_or_malformed_decimals_are_refused(text: str) -> None:
    """NaN, infinities and non-numbers are never read as amounts."""
    with pytest.raises(DecodeError, match="decimal number"):
        structure(text, Decimal)


def test_non_finite_decimals_cannot_be_unstructured() -> None:
    """A NaN amount cannot be written out."""
    with pytest.raises(ValueError, match="non-finite"):
        unstructure(Decimal("NaN"))


# --------------------------------------------------------------------- enums, tuples, mappings


@pytest.mark.parametrize("status", list(IntegrationStatus))
def test_enums_travel_by_value(status: IntegrationStatus) -> None:
    """An enum member becomes its value and is read back from it."""
    assert unstructure(status) == status.value
    assert structure(status.value, IntegrationStatus) is status


def test_unknown_enum_value_is_a_decode_error() -> None:
    """A value outside the enum is reported, naming the value."""
    with pytest.raises(DecodeError, match="'paused' is not a valid IntegrationStatus"):
        structure("paused", IntegrationStatus)


@given(st.lists(st.integers()).map(tuple))
def test_tuples_become_lists_and_come_back_as_tuples(values: tuple[int, ...]) -> None:
    """A homogeneous tuple is a JSON list on the wire and a tuple again after structuring."""
    wire = unstructure(values)
    assert wire == list(values)
    assert structure(through_json(wire), tuple[int, ...]) == values


@pytest.mark.parametrize("cls", [tuple[str, ...], list[str]])
def test_a_string_is_not_taken_for_a_sequence(cls: Any) -> None:
    """A string where a list belongs is refused rather than split into characters."""
    with pytest.raises(DecodeError, match="expected a list, got str"):
        structure("abc", cls)


def test_sequence_items_are_reported_by_index() -> None:
    """A bad item in a list is reported at its index."""
    with pytest.raises(DecodeError, match=r"expected a string, got int @ \$\[1\]"):
        structure(["a", 1], list[str])


@given(st.dictionaries(st.text(), st.integers()))
def test_mappings_round_trip_as_objects(values: dict[str, int]) -> None:
    """A mapping is a JSON object on the wire and a mapping with the same items after."""
    wire = unstructure(values)
    assert structure(through_json(wire), dict[str, int]) == values


def test_a_list_is_not_taken_for_a_mapping() -> None:
    """A list where an object belongs is refused with the shape it had."""
    with pytest.raises(DecodeError, match="expected an object, got list"):
        structure([["a", 1]], dict[str, int])


def test_event_attributes_unstructure_to_json_ready_values() -> None:
    """Tuples and nested mappings inside event attributes come out as lists and dicts."""
    event = QBOEvent(
        kind="http.request", at=datetime(2025, 1, 1, tzinfo=UTC), attributes={"ids": (1, 2)}
    )
    data = unstructure(event)
    assert data["attributes"] == {"ids": [1, 2]}
    assert json.loads(json.dumps(data)) == data


@pytest.mark.parametrize(
    ("attributes", "problem"),
    [
        ({"when": {1: "x"}}, "expected string keys, got int"),
        ({"ratio": float("nan")}, "expected a finite number"),
        ({"raw": b"bytes"}, "expected a plain JSON value, got bytes"),
    ],
)
def test_event_attributes_accept_plain_json_values_only(
    attributes: dict[str, Any], problem: str
) -> None:
    """Attribute values that JSON cannot carry faithfully are refused, at their path."""
    data = {"kind": "k", "at": "2025-01-01T00:00:00+00:00", "attributes": attributes}
    with pytest.raises(DecodeError, match=problem) as caught:
        structure(data, QBOEvent)
    assert "@ $.attributes[" in str(caught.value)


# --------------------------------------------------------------------- strict scalars


@pytest.mark.parametrize(
    ("value", "cls", "problem"),
    [
        ("5", int, "expected an integer, got str"),
        (True, int, "expected an integer, got bool"),
        (5.0, int, "expected an integer, got float"),
        (1, bool, "expected true or false, got int"),
        ("true", bool, "expected true or false, got str"),
        (5, str, "expected a string, got int"),
        (None, str, "expected a string, got null"),
        ("1.5", float, "expected a number, got str"),
        (float("inf"), float, "expected a finite number"),
    ],
)
def test_scalars_are_strict(value: object, cls: type, problem: str) -> None:
    """Stored data is never coerced: a string is not an int and 1 is not a bool."""
    with pytest.raises(DecodeError, match=problem):
        structure(value, cls)


def test_ints_are_accepted_where_floats_are_declared() -> None:
    """JSON has one number type, so an integer fills a float field (as a float)."""
    limit = structure({"limit": 10, "period": 1}, RateLimit)
    assert limit == RateLimit(limit=10, period=1.0)
    assert isinstance(limit.period, float)


# --------------------------------------------------------------------- error reporting


def test_every_failing_path_is_reported_at_once() -> None:
    """A DecodeError lists each bad field with its path, not just the first."""
    data = {"tokens": token_data(access_token=5, scope=["x"]), "version": "3"}
    with pytest.raises(DecodeError) as caught:
        structure(data, VersionedTokenSet)
    message = str(caught.value)
    assert message.startswith("cannot read VersionedTokenSet:")
    assert "expected a string, got int @ $.tokens.access_token" in message
    assert "expected a string, got list @ $.tokens.scope" in message
    assert "expected an integer, got str @ $.version" in message


def test_missing_fields_are_named() -> None:
    """A required field that is absent is reported by name."""
    with pytest.raises(DecodeError, match=r"required field missing @ \$\.period"):
        structure({"limit": 5}, RateLimit)


def test_a_dto_validator_failure_becomes_a_decode_error() -> None:
    """A value the DTO itself refuses (an empty token) surfaces as a DecodeError."""
    with pytest.raises(DecodeError, match="access_token must not be empty"):
        structure(token_data(access_token=""), TokenSet)


def test_a_non_object_where_a_dto_belongs_is_refused() -> None:
    """A string where a DTO's object belongs is reported with its shape."""
    with pytest.raises(DecodeError, match=r"expected an object, got str @ \$\.tokens"):
        structure({"tokens": "abc", "version": 1}, VersionedTokenSet)


def test_decode_errors_never_echo_a_token_value() -> None:
    """A token that fails to decode is described by its type, never by its value."""
    secret = "AB11760000000aaaabbbbccccdddd"
    data = token_data(refresh_token=[secret])
    with pytest.raises(DecodeError) as caught:
        structure(data, TokenSet)
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value)


def test_decode_error_keeps_the_cattrs_error_as_cause() -> None:
    """The original cattrs error stays reachable as `__cause__` for debugging."""
    with pytest.raises(DecodeError) as caught:
        structure({"limit": "x", "period": 1}, RateLimit)
    assert isinstance(caught.value.__cause__, cattrs.ClassValidationError)


def test_an_unsupported_type_is_a_programming_error_not_a_decode_error() -> None:
    """Asking for a type no hook can build raises cattrs' error, not a misleading DecodeError."""

    class Opaque:
        pass

    with pytest.raises(cattrs.errors.StructureHandlerNotFoundError):
        structure({}, Opaque)


def test_make_converter_builds_an_independent_converter() -> None:
    """A converter from make_converter has the core hooks but its own registrations."""
    mine = make_converter()
    mine.register_unstructure_hook(Decimal, lambda _: "hidden")
    assert mine.unstructure(datetime(2025, 1, 1, tzinfo=UTC)) == "2025-01-01T00:00:00+00:00"
    assert mine.unstructure(Decimal("1.5")) == "hidden"
    assert converter.unstructure(Decimal("1.5")) == "1.5"
