"""The shared cattrs converter: wire formats, strictness and how decoding errors read.

Most tests run twice (the `codec` fixture): through the shared converter, and through a
new one from `make_converter()`, which must behave the same; the new one also builds its
hooks inside the test, where the shared one built them once, at its first use.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import cattrs
import pytest
from cattrs.gen import make_dict_structure_fn
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


@attrs.frozen
class Codec:
    """Structure and unstructure through one converter: the shared functions (`using` None)
    or a converter of its own."""

    using: cattrs.Converter | None

    def structure(self, data: object, cls: Any) -> Any:
        return structure(data, cls, using=self.using)

    def unstructure(self, obj: object) -> Any:
        return unstructure(obj) if self.using is None else self.using.unstructure(obj)


@pytest.fixture(params=["shared", "new"])
def codec(request: pytest.FixtureRequest) -> Codec:
    """The shared converter, then a new converter from `make_converter()`."""
    return Codec(None if request.param == "shared" else make_converter())


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


def test_offsets_finer_than_a_minute_are_written_in_utc(codec: Codec) -> None:
    """An offset ISO-8601 cannot express is replaced by UTC, keeping the instant exact."""
    moment = datetime(2000, 1, 1, tzinfo=timezone(timedelta(microseconds=1)))
    assert codec.unstructure(moment) == "1999-12-31T23:59:59.999999+00:00"
    assert codec.structure(codec.unstructure(moment), datetime) == moment


@pytest.fixture
def host_in_india(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone is UTC+05:30 for the test (then set back)."""
    monkeypatch.setenv("TZ", "IST-05:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("host_in_india")
def test_fine_offsets_are_written_in_utc_whatever_the_host_zone(codec: Codec) -> None:
    """The UTC form of a sub-minute offset does not depend on the host's local zone."""
    assert time.localtime(0).tm_gmtoff == 5 * 3600 + 30 * 60
    moment = datetime(2000, 1, 1, tzinfo=timezone(timedelta(microseconds=1)))
    assert codec.unstructure(moment) == "1999-12-31T23:59:59.999999+00:00"


def test_a_fine_offset_that_cannot_move_to_utc_is_refused(codec: Codec) -> None:
    """A sub-minute offset on the first day of year 1 has no UTC form, and says so."""
    moment = datetime(1, 1, 1, tzinfo=timezone(timedelta(microseconds=1)))
    with pytest.raises(ValueError, match="out of range in UTC"):
        codec.unstructure(moment)


def test_datetimes_keep_their_offset_on_the_wire(codec: Codec) -> None:
    """QBO-style local times keep their offset rather than being shifted to UTC."""
    moment = datetime(2025, 2, 24, 10, 33, 39, tzinfo=timezone(timedelta(hours=-7)))
    assert codec.unstructure(moment) == "2025-02-24T10:33:39-07:00"
    assert codec.structure("2025-02-24T10:33:39-07:00", datetime) == moment


@given(st.datetimes())
def test_naive_datetime_text_is_refused(moment: datetime) -> None:
    """Text without a UTC offset is refused, because its instant would depend on the reader."""
    with pytest.raises(DecodeError, match="no UTC offset"):
        structure(moment.isoformat(), datetime)


def test_naive_datetime_is_refused_with_the_field_path(codec: Codec) -> None:
    """A naive datetime inside a DTO is reported at its full field path."""
    data = {"tokens": token_data(access_token_expires_at="2025-01-01T12:00:00"), "version": 1}
    with pytest.raises(DecodeError) as caught:
        codec.structure(data, VersionedTokenSet)
    assert str(caught.value) == (
        "cannot read VersionedTokenSet: datetime '2025-01-01T12:00:00' has no UTC offset; "
        "naive datetimes are refused @ $.tokens.access_token_expires_at"
    )


@given(st.datetimes())
def test_naive_datetimes_cannot_be_unstructured(moment: datetime) -> None:
    """Serializing a naive datetime fails at once instead of writing an ambiguous time."""
    with pytest.raises(ValueError, match="naive"):
        unstructure(moment)


@pytest.mark.parametrize("text", ["yesterday", "2025-13-01T00:00:00Z", ""])
def test_text_that_is_not_a_datetime_is_refused(codec: Codec, text: str) -> None:
    """Text that is not ISO-8601 is a decode error, not a crash."""
    with pytest.raises(DecodeError) as caught:
        codec.structure(text, datetime)
    assert str(caught.value) == f"cannot read datetime: not an ISO-8601 datetime: {text!r} @ $"


def test_a_datetime_must_be_text_on_the_wire(codec: Codec) -> None:
    """A number (an epoch, say) is not accepted where ISO text belongs."""
    with pytest.raises(DecodeError) as caught:
        codec.structure(1_601_391_072_830, datetime)
    assert str(caught.value) == (
        "cannot read datetime: expected an ISO-8601 datetime string, got int @ $"
    )


# --------------------------------------------------------------------- decimals


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_decimals_round_trip_as_exact_text(amount: Decimal) -> None:
    """A Decimal travels as its exact text and comes back with the same value and scale."""
    wire = unstructure(amount)
    assert isinstance(wire, str)
    back = structure(through_json(wire), Decimal)
    assert back == amount
    assert str(back) == str(amount)


def test_decimal_keeps_trailing_zeros(codec: Codec) -> None:
    """Money keeps its scale: "12.50" stays "12.50", not 12.5."""
    assert codec.unstructure(Decimal("12.50")) == "12.50"
    assert str(codec.structure("12.50", Decimal)) == "12.50"


def test_a_whole_number_is_read_as_a_decimal(codec: Codec) -> None:
    """An integer (exact in JSON) is taken as a decimal amount."""
    assert codec.structure(12, Decimal) == Decimal(12)


@pytest.mark.parametrize(
    ("value", "kind"), [(12.5, "float"), (True, "bool"), (None, "null"), ([1], "list")]
)
def test_decimals_refuse_floats_and_other_types(codec: Codec, value: object, kind: str) -> None:
    """Floats (already rounded) and other non-text values are not taken as decimals."""
    with pytest.raises(DecodeError) as caught:
        codec.structure(value, Decimal)
    assert str(caught.value) == (
        f"cannot read Decimal: expected a decimal number as a string, got {kind} @ $"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("NaN", "expected a finite decimal number, got 'NaN'"),
        ("Infinity", "expected a finite decimal number, got 'Infinity'"),
        ("-inf", "expected a finite decimal number, got '-inf'"),
        ("twelve", "not a decimal number: 'twelve'"),
    ],
)
def test_non_finite_or_malformed_decimals_are_refused(
    codec: Codec, text: str, problem: str
) -> None:
    """NaN, infinities and non-numbers are never read as amounts."""
    with pytest.raises(DecodeError) as caught:
        codec.structure(text, Decimal)
    assert str(caught.value) == f"cannot read Decimal: {problem} @ $"


def test_non_finite_decimals_cannot_be_unstructured(codec: Codec) -> None:
    """A NaN amount cannot be written out."""
    with pytest.raises(ValueError, match=r"^cannot serialize the non-finite decimal NaN$"):
        codec.unstructure(Decimal("NaN"))


# --------------------------------------------------------------------- enums, tuples, mappings


@pytest.mark.parametrize("status", list(IntegrationStatus))
def test_enums_travel_by_value(codec: Codec, status: IntegrationStatus) -> None:
    """An enum member becomes its value and is read back from it."""
    assert codec.unstructure(status) == status.value
    assert codec.structure(status.value, IntegrationStatus) is status


def test_unknown_enum_value_is_a_decode_error(codec: Codec) -> None:
    """A value outside the enum is reported, naming the value."""
    with pytest.raises(DecodeError, match="'paused' is not a valid IntegrationStatus"):
        codec.structure("paused", IntegrationStatus)


@given(st.lists(st.integers()).map(tuple))
def test_tuples_become_lists_and_come_back_as_tuples(values: tuple[int, ...]) -> None:
    """A homogeneous tuple is a JSON list on the wire and a tuple again after structuring."""
    wire = unstructure(values)
    assert wire == list(values)
    assert structure(through_json(wire), tuple[int, ...]) == values


@pytest.mark.parametrize(
    ("data", "cls", "expected"),
    [
        ([1, 2, 3], tuple[int, ...], (1, 2, 3)),
        ([], tuple[int, ...], ()),
        (["a", "b"], list[str], ["a", "b"]),
        ((1, "a"), tuple[int, str], (1, "a")),
        ([1, "a"], tuple[int, str], (1, "a")),
        ({"a": 1, "b": 2}, dict[str, int], {"a": 1, "b": 2}),
        (
            {"when": "2025-01-01T00:00:00+00:00"},
            dict[str, datetime],
            {"when": datetime(2025, 1, 1, tzinfo=UTC)},
        ),
    ],
)
def test_collections_are_read_item_by_item(
    codec: Codec, data: object, cls: Any, expected: object
) -> None:
    """Lists, homogeneous and fixed-length tuples and mappings are read with each item's
    own hook, and come back as the declared collection."""
    read = codec.structure(data, cls)
    assert read == expected
    assert type(read) is type(expected)


def test_a_homogeneous_tuple_checks_every_item(codec: Codec) -> None:
    """Each item of a `tuple[int, ...]` is read as an int, and a bad one is reported at its
    index."""
    with pytest.raises(DecodeError) as caught:
        codec.structure([1, "2"], tuple[int, ...])
    assert str(caught.value) == ("cannot read tuple[int, ...]: expected an integer, got str @ $[1]")


def test_a_fixed_length_tuple_checks_each_position(codec: Codec) -> None:
    """A `tuple[int, str]` reads position 0 as an int and position 1 as a string."""
    with pytest.raises(DecodeError) as caught:
        codec.structure(["a", 1], tuple[int, str])
    assert "expected an integer, got str @ $[0]" in str(caught.value)
    assert "expected a string, got int @ $[1]" in str(caught.value)


@pytest.mark.parametrize("cls", [tuple[str, ...], list[str]], ids=["tuple[str, ...]", "list[str]"])
def test_a_string_is_not_taken_for_a_sequence(codec: Codec, cls: Any) -> None:
    """A string where a list belongs is refused rather than split into characters."""
    with pytest.raises(DecodeError) as caught:
        codec.structure("abc", cls)
    assert str(caught.value) == f"cannot read {cls!r}: expected a list, got str @ $"


def test_sequence_items_are_reported_by_index(codec: Codec) -> None:
    """A bad item in a list is reported at its index."""
    with pytest.raises(DecodeError) as caught:
        codec.structure(["a", 1], list[str])
    assert str(caught.value) == "cannot read list[str]: expected a string, got int @ $[1]"


@given(st.dictionaries(st.text(), st.integers()))
def test_mappings_round_trip_as_objects(values: dict[str, int]) -> None:
    """A mapping is a JSON object on the wire and a mapping with the same items after."""
    wire = unstructure(values)
    assert structure(through_json(wire), dict[str, int]) == values


def test_a_list_is_not_taken_for_a_mapping(codec: Codec) -> None:
    """A list where an object belongs is refused with the shape it had."""
    with pytest.raises(DecodeError) as caught:
        codec.structure([["a", 1]], dict[str, int])
    assert str(caught.value) == "cannot read dict[str, int]: expected an object, got list @ $"


def test_event_attributes_unstructure_to_json_ready_values(codec: Codec) -> None:
    """Tuples, sets and nested mappings inside event attributes come out as lists and
    dicts; datetimes and decimals as their text."""
    event = QBOEvent(
        kind="http.request",
        at=datetime(2025, 1, 1, tzinfo=UTC),
        attributes={
            "ids": (1, 2),
            "tags": frozenset({"a"}),
            "nested": {"at": datetime(2025, 1, 2, tzinfo=UTC), "amount": Decimal("1.50")},
        },
    )
    data = codec.unstructure(event)
    assert data == {
        "kind": "http.request",
        "at": "2025-01-01T00:00:00+00:00",
        "realm_id": None,
        "business_id": None,
        "attributes": {
            "ids": [1, 2],
            "tags": ["a"],
            "nested": {"at": "2025-01-02T00:00:00+00:00", "amount": "1.50"},
        },
    }
    assert json.loads(json.dumps(data)) == data


def test_a_bare_object_attribute_is_passed_through(codec: Codec) -> None:
    """An attribute whose type is `object` itself has no structure to take apart: it is
    passed through as it is (the host's sink decides what to do with it)."""
    marker = object()
    event = QBOEvent(kind="k", at=datetime(2025, 1, 1, tzinfo=UTC), attributes={"m": marker})
    assert codec.unstructure(event)["attributes"]["m"] is marker


def test_event_attributes_read_back_every_plain_json_value(codec: Codec) -> None:
    """Strings, numbers, booleans, null, and lists and objects of them are read as they are."""
    attributes = {
        "s": "x",
        "i": 1,
        "b": True,
        "none": None,
        "f": 1.5,
        "list": [1, "a", None, [2.5]],
        "obj": {"k": [None, {"deep": False}]},
    }
    data = {"kind": "k", "at": "2025-01-01T00:00:00+00:00", "attributes": attributes}
    assert codec.structure(data, QBOEvent).attributes == attributes


@pytest.mark.parametrize(
    ("attributes", "problem"),
    [
        ({"when": {1: "x"}}, "expected string keys, got int @ $.attributes['when']"),
        ({"ratio": float("nan")}, "expected a finite number @ $.attributes['ratio']"),
        ({"raw": b"bytes"}, "expected a plain JSON value, got bytes @ $.attributes['raw']"),
        ({"xs": [1, float("nan")]}, "expected a finite number @ $.attributes['xs']"),
        ({"o": {"k": float("inf")}}, "expected a finite number @ $.attributes['o']"),
        ({"o": {"k": [b"x"]}}, "expected a plain JSON value, got bytes @ $.attributes['o']"),
    ],
)
def test_event_attributes_accept_plain_json_values_only(
    codec: Codec, attributes: dict[str, Any], problem: str
) -> None:
    """Attribute values that JSON cannot carry faithfully are refused, at any depth, and
    reported at the attribute that holds them."""
    data = {"kind": "k", "at": "2025-01-01T00:00:00+00:00", "attributes": attributes}
    with pytest.raises(DecodeError) as caught:
        codec.structure(data, QBOEvent)
    assert str(caught.value) == f"cannot read QBOEvent: {problem}"


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
def test_scalars_are_strict(codec: Codec, value: object, cls: type, problem: str) -> None:
    """Stored data is never coerced: a string is not an int and 1 is not a bool."""
    with pytest.raises(DecodeError) as caught:
        codec.structure(value, cls)
    assert str(caught.value) == f"cannot read {cls.__name__}: {problem} @ $"


@pytest.mark.parametrize(
    ("value", "cls"), [("x", str), (5, int), (True, bool), (False, bool), (2.5, float)]
)
def test_scalars_of_the_declared_type_are_read_as_they_are(
    codec: Codec, value: object, cls: type
) -> None:
    """A value that already has the declared type is taken unchanged."""
    read = codec.structure(value, cls)
    assert read == value
    assert type(read) is cls


def test_ints_are_accepted_where_floats_are_declared(codec: Codec) -> None:
    """JSON has one number type, so an integer fills a float field (as a float)."""
    limit = codec.structure({"limit": 10, "period": 1}, RateLimit)
    assert limit == RateLimit(limit=10, period=1.0)
    assert isinstance(limit.period, float)


# --------------------------------------------------------------------- error reporting


def test_every_failing_path_is_reported_at_once(codec: Codec) -> None:
    """A DecodeError lists each bad field with its path, not just the first, in order."""
    data = {"tokens": token_data(access_token=5, scope=["x"]), "version": "3"}
    with pytest.raises(DecodeError) as caught:
        codec.structure(data, VersionedTokenSet)
    assert str(caught.value) == (
        "cannot read VersionedTokenSet: expected a string, got int @ $.tokens.access_token; "
        "expected a string, got list @ $.tokens.scope; expected an integer, got str @ $.version"
    )


def test_a_dto_is_read_from_its_object(codec: Codec) -> None:
    """A DTO, nested DTOs included, is built from the object its unstructured form gives."""
    tokens = codec.structure(token_data(), TokenSet)
    assert tokens.access_token == "access-value"
    assert tokens.access_token_expires_at == datetime(2025, 1, 1, 12, tzinfo=UTC)
    versioned = codec.structure({"tokens": token_data(), "version": 3}, VersionedTokenSet)
    assert versioned == VersionedTokenSet(tokens=tokens, version=3)


def test_missing_fields_are_named(codec: Codec) -> None:
    """A required field that is absent is reported by name."""
    with pytest.raises(DecodeError) as caught:
        codec.structure({"limit": 5}, RateLimit)
    assert str(caught.value) == "cannot read RateLimit: required field missing @ $.period"


def test_a_dto_validator_failure_becomes_a_decode_error(codec: Codec) -> None:
    """A value the DTO itself refuses (an empty token) surfaces as a DecodeError."""
    with pytest.raises(DecodeError, match="access_token must not be empty"):
        codec.structure(token_data(access_token=""), TokenSet)


def test_a_non_object_where_a_dto_belongs_is_refused(codec: Codec) -> None:
    """A string where a DTO's object belongs is reported with its shape."""
    with pytest.raises(DecodeError) as caught:
        codec.structure({"tokens": "abc", "version": 1}, VersionedTokenSet)
    assert str(caught.value) == (
        "cannot read VersionedTokenSet: expected an object, got str @ $.tokens"
    )


def test_decode_errors_never_echo_a_token_value(codec: Codec) -> None:
    """A token that fails to decode is described by its type, never by its value."""
    secret = "AB11760000000aaaabbbbccccdddd"
    data = token_data(refresh_token=[secret])
    with pytest.raises(DecodeError) as caught:
        codec.structure(data, TokenSet)
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value)


def test_decode_error_keeps_the_cattrs_error_as_cause(codec: Codec) -> None:
    """The original cattrs error stays reachable as `__cause__` for debugging."""
    with pytest.raises(DecodeError) as caught:
        codec.structure({"limit": "x", "period": 1}, RateLimit)
    assert isinstance(caught.value.__cause__, cattrs.ClassValidationError)


def test_unexpected_fields_are_named_when_a_converter_forbids_them() -> None:
    """A converter that forbids unknown keys gets them reported by name, sorted."""
    strict = make_converter()
    strict.register_structure_hook(
        RateLimit, make_dict_structure_fn(RateLimit, strict, _cattrs_forbid_extra_keys=True)
    )
    with pytest.raises(DecodeError) as caught:
        structure({"limit": 1, "period": 1, "zeta": 0, "alpha": 0}, RateLimit, using=strict)
    assert str(caught.value) == "cannot read RateLimit: unexpected fields (alpha, zeta) @ $"


def test_a_problem_without_text_is_named_by_its_class() -> None:
    """A hook that fails with an exception carrying no message is still reported, by the
    exception's class."""
    odd = make_converter()

    def refuse(_: object, __: type) -> RateLimit:
        raise LookupError

    odd.register_structure_hook(RateLimit, refuse)
    with pytest.raises(DecodeError) as caught:
        structure({}, RateLimit, using=odd)
    assert str(caught.value) == "cannot read RateLimit: LookupError @ $"


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


def test_structure_uses_the_converter_it_is_given() -> None:
    """`structure(..., using=...)` builds with that converter's hooks, not the shared ones."""
    mine = make_converter()
    mine.register_structure_hook(Decimal, lambda value, _: Decimal("-1"))
    assert structure("1.5", Decimal, using=mine) == Decimal("-1")
    assert structure("1.5", Decimal) == Decimal("1.5")
