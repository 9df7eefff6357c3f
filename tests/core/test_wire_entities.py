"""The entity codec at its edges: `qbo_core.wire.entities` and its hooks (`entity_hooks`).

What each JSON key is called, which values each kind of field reads and writes (exactly),
and the full message of each `DecodeError`: what was wrong, and the path where it was.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

import attrs
import cattrs
import pytest

from qbo_core.converter import structure
from qbo_core.entities import (
    EntityBase,
    EntityPart,
    Invoice,
    Line,
    LinkedTxnLine,
    MetaData,
    RawEntity,
    RawLine,
    Ref,
    SalesItemLine,
    SalesItemLineDetail,
)
from qbo_core.entities.lines import DescriptionOnlyLine, SubTotalLine
from qbo_core.entities.names import Customer, Vendor
from qbo_core.errors import DecodeError
from qbo_core.wire import entity_hooks
from qbo_core.wire.entities import (
    decode_entity,
    decode_entity_as,
    decode_part,
    encode_entity,
    encode_part,
    entity_converter,
    make_entity_converter,
)
from qbo_core.wire.entity_hooks import qbo_key

T = TypeVar("T")


@pytest.fixture
def codec() -> cattrs.Converter:
    """An entity converter made inside the test, so that the hooks' set-up (keys, codecs,
    line classes) runs in it: mutation testing forks after import, when the shared
    converter is already built."""
    return make_entity_converter()


def read(codec: cattrs.Converter, data: object, cls: type[T]) -> T:
    """`data` read as `cls` by `codec`, as `decode_part` reads it with the shared one."""
    return structure(data, cls, using=codec)


def write(codec: cattrs.Converter, part: object) -> dict[str, Any]:
    """`part` written by `codec`, as `encode_part` writes it with the shared one."""
    written: dict[str, Any] = codec.unstructure(part)
    return written


def refusal(codec: cattrs.Converter, cls: type[Any], data: object) -> str:
    """The message of the `DecodeError` reading `data` as `cls` raises."""
    with pytest.raises(DecodeError) as caught:
        read(codec, data, cls)
    return caught.value.message


# --------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    ("cls", "name", "key"),
    [
        (Customer, "display_name", "DisplayName"),
        (Customer, "id", "Id"),
        (Vendor, "vendor_1099", "Vendor1099"),
        (Customer, "meta", "MetaData"),
        (Customer, "domain", "domain"),
        (Customer, "sparse", "sparse"),
        (Customer, "uri", "URI"),
        (Customer, "ssn", "SSN"),
        (Customer, "ap_account_ref", "APAccountRef"),
        (Customer, "ar_account_ref", "ARAccountRef"),
        (Customer, "cc_account_ref", "CCAccountRef"),
        (Ref, "value", "value"),
        (Ref, "meta", "meta"),
        (Ref, "display_name", "display_name"),
        (SalesItemLine, "detail", "SalesItemLineDetail"),
        (DescriptionOnlyLine, "detail", "DescriptionLineDetail"),
        (LinkedTxnLine, "detail", "Detail"),
        (Customer, "detail", "Detail"),
        (SalesItemLine, "line_num", "LineNum"),
        (SalesItemLine, "meta", "MetaData"),
        (Customer, "x", "X"),
    ],
)
def test_each_attribute_has_its_qbo_key(
    cls: type, name: str, key: str, codec: cattrs.Converter
) -> None:
    """PascalCase by default; the irregular keys; a Ref's keys as named; a line's detail
    keyed by its detail type (`DescriptionLineDetail` for a description-only line)."""
    assert qbo_key(cls, name) == key


# --------------------------------------------------------------------- reading values


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"DisplayName": 5}, "expected a string, got a number @ $.DisplayName"),
        ({"DisplayName": 1.5}, "expected a string, got a number @ $.DisplayName"),
        ({"DisplayName": Decimal(1)}, "expected a string, got a number @ $.DisplayName"),
        ({"DisplayName": True}, "expected a string, got a boolean @ $.DisplayName"),
        ({"DisplayName": {}}, "expected a string, got an object @ $.DisplayName"),
        ({"DisplayName": []}, "expected a string, got a list @ $.DisplayName"),
        ({"DisplayName": ("a",)}, "expected a string, got a list @ $.DisplayName"),
        ({"DisplayName": b"x"}, "expected a string, got bytes @ $.DisplayName"),
        ({"Active": 1}, "expected true or false, got a number @ $.Active"),
        ({"Active": "true"}, "expected true or false, got a string @ $.Active"),
        ({"Level": True}, "expected an integer, got a boolean @ $.Level"),
        ({"Level": "5"}, "expected an integer, got a string @ $.Level"),
        ({"Level": Decimal("5")}, "expected an integer, got a number @ $.Level"),
        ({"Balance": True}, "expected a number, got a boolean @ $.Balance"),
        ({"Balance": {}}, "expected a number, got an object @ $.Balance"),
        ({"Balance": "1_000"}, "expected a number, got the string '1_000' @ $.Balance"),
        ({"Balance": " 1"}, "expected a number, got the string ' 1' @ $.Balance"),
        ({"Balance": "+1"}, "expected a number, got the string '+1' @ $.Balance"),
        ({"Balance": "1e"}, "expected a number, got the string '1e' @ $.Balance"),
        ({"Balance": ""}, "expected a number, got the string '' @ $.Balance"),
        ({"Balance": "Infinity"}, "expected a number, got the string 'Infinity' @ $.Balance"),
        (
            {"Balance": "x" * 50},
            f"expected a number, got the string '{'x' * 40}' @ $.Balance",
        ),
        ({"Balance": float("nan")}, "expected a finite number, got nan @ $.Balance"),
        ({"Balance": Decimal("-Infinity")}, "expected a finite number, got -Infinity @ $.Balance"),
        (
            {"OpenBalanceDate": 20200101},
            "expected a date string (YYYY-MM-DD), got a number @ $.OpenBalanceDate",
        ),
        (
            {"OpenBalanceDate": "2020-1-01"},
            "not a date (YYYY-MM-DD): '2020-1-01' @ $.OpenBalanceDate",
        ),
        (
            {"OpenBalanceDate": "2020-02-30"},
            "not a date (YYYY-MM-DD): '2020-02-30' @ $.OpenBalanceDate",
        ),
        (
            {"OpenBalanceDate": "2020-01-01T00:00:00"},
            "not a date (YYYY-MM-DD): '2020-01-01T00:00:00' @ $.OpenBalanceDate",
        ),
        (
            {"OpenBalanceDate": "2" * 50},
            f"not a date (YYYY-MM-DD): '{'2' * 40}' @ $.OpenBalanceDate",
        ),
        (
            {"MetaData": {"CreateTime": 5}},
            "expected an ISO-8601 datetime string, got a number @ $.MetaData.CreateTime",
        ),
        (
            {"MetaData": {"CreateTime": "today"}},
            "not an ISO-8601 datetime: 'today' @ $.MetaData.CreateTime",
        ),
        (
            {"MetaData": {"CreateTime": "2020-01-01T00:00:00" + "0" * 50}},
            f"not an ISO-8601 datetime: '2020-01-01T00:00:00{'0' * 21}' @ $.MetaData.CreateTime",
        ),
        (
            {"MetaData": {"CreateTime": "2020-01-01T00:00:00"}},
            "datetime '2020-01-01T00:00:00' has no UTC offset @ $.MetaData.CreateTime",
        ),
        (
            {"MetaData": {"CreateTime": "2020-01-01T00:00:00." + "0" * 60}},
            f"datetime '2020-01-01T00:00:00.{'0' * 20}' has no UTC offset @ $.MetaData.CreateTime",
        ),
        ({"ParentRef": "1"}, "expected an object, got a string @ $.ParentRef"),
        ({"ParentRef": {}}, "required field missing @ $.ParentRef.value"),
        ({"ParentRef": {"value": None}}, "required field missing @ $.ParentRef.value"),
        ({"ParentRef": {"value": 1}}, "expected a string, got a number @ $.ParentRef.value"),
    ],
)
def test_a_value_of_the_wrong_kind_is_refused_exactly(
    data: dict[str, Any], message: str, codec: cattrs.Converter
) -> None:
    """Each refusal says what was expected, what came (its kind, or text cut at 40
    characters) and the path where it was."""
    assert refusal(codec, Customer, data) == f"cannot read Customer: {message}"


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("1.", Decimal("1")),
        (".5", Decimal("0.5")),
        ("-.5", Decimal("-0.5")),
        ("-0", Decimal("-0")),
        ("2.50E-3", Decimal("0.00250")),
        ("1e+2", Decimal("100")),
        (7, Decimal(7)),
        (54.1, Decimal("54.1")),
        (Decimal("1.10"), Decimal("1.10")),
    ],
)
def test_numbers_read_exactly(sent: object, expected: Decimal, codec: cattrs.Converter) -> None:
    """Numeric strings (`1.`, `.5`, exponents), ints, floats (by their shortest repr) and
    decimals are read as exact `Decimal`s."""
    balance = read(codec, {"Balance": sent}, Customer).balance
    assert type(balance) is Decimal
    assert balance == expected
    assert str(balance) == str(Decimal(str(sent)) if not isinstance(sent, float) else expected)


def test_modelled_values_read_as_their_types(codec: cattrs.Converter) -> None:
    """Strings, booleans, integers, dates and aware datetimes are read as such."""
    customer = read(
        codec,
        {
            "DisplayName": "Ada",
            "Active": False,
            "Level": 0,
            "OpenBalanceDate": "2020-02-29",
            "MetaData": {"CreateTime": "2020-01-01T00:00:00.5+05:30"},
        },
        Customer,
    )
    assert customer.display_name == "Ada"
    assert customer.active is False
    assert customer.level == 0
    assert customer.open_balance_date == date(2020, 2, 29)
    assert customer.meta is not None
    assert customer.meta.create_time == datetime(
        2020, 1, 1, 0, 0, 0, 500_000, tzinfo=timezone(timedelta(hours=5, minutes=30))
    )


# --------------------------------------------------------------------- writing values


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC), "2020-01-02T03:04:05+00:00"),
        (datetime(2020, 1, 2, 3, 4, 5, 1000, tzinfo=UTC), "2020-01-02T03:04:05.001+00:00"),
        (datetime(2020, 1, 2, 3, 4, 5, 999_000, tzinfo=UTC), "2020-01-02T03:04:05.999+00:00"),
        (datetime(2020, 1, 2, 3, 4, 5, 1, tzinfo=UTC), "2020-01-02T03:04:05.000001+00:00"),
        (datetime(2020, 1, 2, 3, 4, 5, 1500, tzinfo=UTC), "2020-01-02T03:04:05.001500+00:00"),
        (
            datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-7))),
            "2020-01-02T03:04:05-07:00",
        ),
    ],
)
def test_datetimes_are_written_to_the_precision_they_hold(
    moment: datetime, text: str, codec: cattrs.Converter
) -> None:
    """Whole seconds without a fraction; milliseconds when the microseconds are whole
    milliseconds; else microseconds; always the offset."""
    assert write(codec, MetaData(create_time=moment)) == {"CreateTime": text}


def test_values_are_written_in_qbo_form(codec: cattrs.Converter) -> None:
    """Dates as `YYYY-MM-DD`, decimals as `Decimal` objects (ints become decimals), scalars
    as they are."""
    customer = Customer(
        display_name="Ada",
        active=True,
        level=2,
        balance=5,  # type: ignore[arg-type]  # an int where a Decimal belongs is written as one
        balance_with_jobs=Decimal("1.10"),
        open_balance_date=date(2020, 2, 29),
    )
    encoded = write(codec, customer)
    assert encoded == {
        "DisplayName": "Ada",
        "Active": True,
        "Level": 2,
        "Balance": Decimal(5),
        "BalanceWithJobs": Decimal("1.10"),
        "OpenBalanceDate": "2020-02-29",
    }
    assert type(encoded["Balance"]) is Decimal


@pytest.mark.parametrize(
    ("customer", "error", "message"),
    [
        (Customer(balance=True), TypeError, "expected a Decimal, got bool"),  # type: ignore[arg-type]
        (Customer(balance=1.5), TypeError, "expected a Decimal, got float"),  # type: ignore[arg-type]
        (Customer(balance=Decimal("sNaN")), ValueError, "cannot write the non-finite decimal sNaN"),
        (
            Customer(open_balance_date=datetime(2020, 1, 1, tzinfo=UTC)),
            TypeError,
            "expected a date, got datetime",
        ),
        (Customer(open_balance_date="2020-01-01"), TypeError, "expected a date, got str"),  # type: ignore[arg-type]
        (
            Customer(meta=MetaData(create_time=date(2020, 1, 1))),  # type: ignore[arg-type]
            TypeError,
            "expected a datetime, got date",
        ),
        (
            Customer(meta=MetaData(create_time=datetime(2020, 1, 1, 0, 0, 1))),
            ValueError,
            "cannot write the naive datetime 2020-01-01T00:00:01; add a tzinfo",
        ),
    ],
)
def test_a_value_that_cannot_be_written_is_refused_exactly(
    customer: Customer, error: type[Exception], message: str, codec: cattrs.Converter
) -> None:
    """A value JSON cannot hold, or of the wrong type, is refused, saying which."""
    with pytest.raises(error) as caught:
        write(codec, customer)
    assert str(caught.value) == message


# --------------------------------------------------------------------- objects


def test_keys_are_written_detail_type_first_then_fields_then_extra(codec: cattrs.Converter) -> None:
    """A line writes its `DetailType` first, then its set fields in declaration order, then
    each unknown key it kept that no field wrote."""
    line = read(
        codec,
        {
            "Custom": 1,
            "SalesItemLineDetail": {"Qty": 2},
            "DetailType": "SalesItemLine" + "Detail",
            "Amount": Decimal("3.00"),
            "Id": "1",
        },
        SalesItemLine,
    )
    encoded = write(codec, line)
    assert list(encoded) == ["DetailType", "Id", "Amount", "SalesItemLineDetail", "Custom"]
    assert encoded["SalesItemLineDetail"] == {"Qty": Decimal(2)}


def test_a_typed_value_wins_over_an_extra_key_of_the_same_name(codec: cattrs.Converter) -> None:
    """A key both set as a field and kept in `extra` is written once, from the field."""
    customer = Customer(display_name="New", extra={"DisplayName": None, "Other": [1]})
    assert write(codec, customer) == {"DisplayName": "New", "Other": [1]}


def test_kept_extras_are_written_as_plain_fresh_json(codec: cattrs.Converter) -> None:
    """Unknown keys come back as plain dicts and lists, new ones each time."""
    customer = read(codec, {"Custom": {"a": [1, {"b": 2}]}}, Customer)
    first, second = write(codec, customer), write(codec, customer)
    assert first == {"Custom": {"a": [1, {"b": 2}]}}
    assert type(first["Custom"]) is dict
    assert type(first["Custom"]["a"]) is list
    assert first["Custom"] is not second["Custom"]


def test_null_modelled_keys_and_unknown_keys_are_kept_as_they_came(codec: cattrs.Converter) -> None:
    """A modelled key sent as null is absent to typed access but kept, as is an unknown key;
    `DetailType` on a class that is not a line is an unknown key too."""
    customer = read(codec, {"DisplayName": None, "DetailType": "X", "Y": None}, Customer)
    assert customer.display_name is None
    assert dict(customer.extra) == {"DisplayName": None, "DetailType": "X", "Y": None}
    assert write(codec, customer) == {"DisplayName": None, "DetailType": "X", "Y": None}


def test_a_line_refuses_another_detail_type_naming_both(codec: cattrs.Converter) -> None:
    """A line class reading a `DetailType` not its own says which it expected and got."""
    assert refusal(codec, SalesItemLine, {"DetailType": "DiscountLineDetail"}) == (
        "cannot read SalesItemLine: expected 'SalesItemLineDetail', got 'DiscountLineDetail'"
        " @ $.DetailType"
    )


def test_every_problem_of_an_object_is_reported_with_its_path(codec: cattrs.Converter) -> None:
    """Several wrong values (and a missing required key) are all named, in one message."""
    message = refusal(
        codec,
        SalesItemLine,
        {"DetailType": "X", "LineNum": "1", "SalesItemLineDetail": {"ItemRef": {"name": "n"}}},
    )
    assert message == (
        "cannot read SalesItemLine: expected 'SalesItemLineDetail', got 'X' @ $.DetailType; "
        "expected an integer, got a string @ $.LineNum; "
        "required field missing @ $.SalesItemLineDetail.ItemRef.value"
    )


@pytest.mark.parametrize(("data", "kind"), [([], "a list"), (None, "null"), (3, "a number")])
def test_a_part_that_is_not_an_object_is_refused(
    data: object, kind: str, codec: cattrs.Converter
) -> None:
    """Reading a part from anything but an object names what came instead, at `$`."""
    assert refusal(codec, Ref, data) == f"cannot read Ref: expected an object, got {kind} @ $"


# --------------------------------------------------------------------- lists and lines


def test_every_bad_list_item_is_reported_by_index(codec: cattrs.Converter) -> None:
    """Each wrong item of a list is reported with its index; a list may be a tuple."""
    message = refusal(codec, Invoice, {"Line": ({"DetailType": "SubTotalLineDetail"}, 5, "x")})
    assert message == (
        "cannot read Invoice: expected an object, got a number @ $.Line[1]; "
        "expected an object, got a string @ $.Line[2]"
    )
    assert refusal(codec, Invoice, {"Line": {"a": 1}}) == (
        "cannot read Invoice: expected a list, got an object @ $.Line"
    )


def test_lines_are_read_by_detail_type(codec: cattrs.Converter) -> None:
    """A known `DetailType` picks its class; none is a linked-transaction line; an unknown
    or non-text one keeps the line raw, as it came."""
    invoice = read(
        codec,
        {
            "Line": [
                {"DetailType": "SubTotalLineDetail", "Amount": 1},
                {"Amount": 2, "LinkedTxn": []},
                {"DetailType": "FutureLineDetail", "Amount": 3},
                {"DetailType": 7, "Amount": 4},
                {"DetailType": ["SubTotalLineDetail"], "Amount": 5},
            ]
        },
        Invoice,
    )
    assert invoice.line is not None
    subtotal, linked, future, odd, listed = invoice.line
    assert type(subtotal) is SubTotalLine
    assert type(linked) is LinkedTxnLine
    assert type(future) is RawLine
    assert dict(future.data) == {"DetailType": "FutureLineDetail", "Amount": 3}
    assert type(odd) is RawLine
    assert type(listed) is RawLine
    assert write(codec, invoice)["Line"] == [
        {"DetailType": "SubTotalLineDetail", "Amount": Decimal(1)},
        {"Amount": Decimal(2), "LinkedTxn": []},
        {"DetailType": "FutureLineDetail", "Amount": 3},
        {"DetailType": 7, "Amount": 4},
        {"DetailType": ["SubTotalLineDetail"], "Amount": 5},
    ]


def test_a_raw_entity_is_written_as_its_plain_json(codec: cattrs.Converter) -> None:
    """The converter writes a `RawEntity` as the JSON object it holds, in plain dicts and
    lists (not as an attrs class)."""
    raw = RawEntity(entity_type="Estimate", data={"Id": "3", "A": ({"b": 1},)})
    written = codec.unstructure(raw)
    assert written == {"Id": "3", "A": [{"b": 1}]}
    assert type(written) is dict


def test_a_raw_line_is_read_from_an_object_only(codec: cattrs.Converter) -> None:
    """A `RawLine` holds any object as it came and refuses anything else."""
    line = structure({"DetailType": "X", "A": [1]}, RawLine, using=codec)
    assert dict(line.data) == {"DetailType": "X", "A": [1]}
    assert codec.unstructure(line) == {"DetailType": "X", "A": [1]}
    with pytest.raises(DecodeError) as caught:
        structure(["x"], RawLine, using=codec)
    assert caught.value.message == "cannot read RawLine: expected an object, got a list @ $"


# --------------------------------------------------------------------- entities


def test_a_name_without_a_class_is_read_as_a_raw_entity() -> None:
    """An entity type no class models is read as a `RawEntity` holding the object."""
    entity = decode_entity("Estimate", {"Id": "3", "Line": [{"x": 1}]})
    assert entity == RawEntity(entity_type="Estimate", data={"Id": "3", "Line": [{"x": 1}]})
    assert type(decode_entity("Customer", {"Id": "3"})) is Customer


@pytest.mark.parametrize(("data", "kind"), [(None, "null"), ([], "list"), ("x", "str")])
def test_a_raw_entity_must_be_an_object(data: object, kind: str) -> None:
    """A raw entity's JSON that is not an object is refused, naming what came, at `$`."""
    with pytest.raises(DecodeError) as caught:
        decode_entity("Estimate", data)  # type: ignore[arg-type]
    assert caught.value.message == f"cannot read Estimate: expected an object, got {kind} @ $"


def test_decode_entity_as_gives_exactly_the_class_asked_for() -> None:
    """The typed class of the name, or `RawEntity` for any name; another class is refused."""
    assert type(decode_entity_as(Customer, "Customer", {"Id": "1"})) is Customer
    raw = decode_entity_as(RawEntity, "Customer", {"Id": "1"})
    assert raw == RawEntity(entity_type="Customer", data={"Id": "1"})
    with pytest.raises(DecodeError) as caught:
        decode_entity_as(Vendor, "Customer", {"Id": "1"})
    assert caught.value.message == "cannot read Customer as a Vendor"
    with pytest.raises(DecodeError) as caught:
        decode_entity_as(Customer, "Estimate", {"Id": "1"})
    assert caught.value.message == "cannot read Estimate as a Customer"
    with pytest.raises(DecodeError) as caught:
        decode_entity_as(EntityBase, "Customer", {"Id": "1"})  # type: ignore[type-var]
    assert caught.value.message == "cannot read Customer as a EntityBase"


def test_encode_entity_gives_a_fresh_plain_dict() -> None:
    """A raw entity is written as a new plain dict of plain values; a typed one by its class."""
    raw = RawEntity(entity_type="Estimate", data={"Id": "3", "A": {"b": [1]}})
    first = encode_entity(raw)
    assert first == {"Id": "3", "A": {"b": [1]}}
    assert type(first) is dict
    assert type(first["A"]) is dict
    first["A"]["b"].append(2)
    assert encode_entity(raw) == {"Id": "3", "A": {"b": [1]}}


def test_only_entities_are_encoded_as_entities() -> None:
    """A part, or an instance of a subclass of an entity class, is not an entity."""

    class MyCustomer(Customer):  # type: ignore[misc]  # final for type checkers only
        pass

    for thing in (Ref(value="1"), MyCustomer(id="1")):
        with pytest.raises(TypeError) as caught:
            encode_entity(thing)  # type: ignore[arg-type]
        assert str(caught.value) == f"not a QBO entity: {type(thing).__name__}"


def test_a_new_entity_converter_reads_and_writes_like_the_shared_one() -> None:
    """`make_entity_converter` gives a separate converter with every entity hook."""
    fresh = make_entity_converter()
    assert fresh is not entity_converter
    data = {"DetailType": "SalesItemLineDetail", "SalesItemLineDetail": {"Qty": "2"}, "X": 1}
    line = fresh.structure(data, SalesItemLine)
    assert line == decode_part(data, SalesItemLine)
    assert fresh.unstructure(line) == encode_part(line)
    assert isinstance(line.detail, SalesItemLineDetail)


def test_every_entity_part_class_round_trips_its_extra(codec: cattrs.Converter) -> None:
    """Every exported part class keeps an unknown key both ways (its hooks are registered)."""
    import qbo_core.entities as entities

    classes = [
        value
        for value in vars(entities).values()
        if isinstance(value, type) and issubclass(value, EntityPart) and value is not EntityPart
    ]
    assert len(classes) > 30
    for cls in classes:
        required: Mapping[str, Any] = {"value": "1"} if cls is Ref else {}
        detail_type = getattr(cls, "DETAIL_TYPE", None)
        data = {**required, "Unknown": [1]}
        if detail_type is not None:
            data["DetailType"] = detail_type
        part = read(codec, data, cls)
        assert write(codec, part)["Unknown"] == [1], cls


def _tree(exc: BaseException) -> object:
    """An error and its notes (text, key or index, type), with the errors it groups."""
    notes = [
        (str(note), getattr(note, "name", getattr(note, "index", None)), note.type)
        for note in getattr(exc, "__notes__", [])
    ]
    if isinstance(exc, cattrs.BaseValidationError):
        return (type(exc), exc.message, exc.cl, notes, [_tree(inner) for inner in exc.exceptions])
    return (type(exc), exc.args, notes)


def test_wrong_shapes_raise_cattrs_validation_errors_with_keys_and_indexes(
    codec: cattrs.Converter,
) -> None:
    """The converter raises cattrs' own error tree (what `DecodeError` keeps as its cause):
    a class error per object, a list error per list, each problem noted with its JSON key
    or index and the declared type there."""
    hints = typing.get_type_hints(Invoice)
    line_hints = typing.get_type_hints(SalesItemLine)
    with pytest.raises(cattrs.ClassValidationError) as caught:
        codec.structure(
            {"Line": [{"DetailType": "SalesItemLineDetail", "LineNum": "1"}, 5], "DocNumber": 7},
            Invoice,
        )
    line_error, number_error = caught.value.exceptions
    assert _tree(caught.value) == (
        cattrs.ClassValidationError,
        "While structuring Invoice",
        Invoice,
        [],
        [_tree(line_error), _tree(number_error)],
    )
    assert _tree(number_error) == (
        TypeError,
        ("expected a string, got a number",),
        [("Structuring class Invoice @ attribute DocNumber", "DocNumber", hints["doc_number"])],
    )
    assert _tree(line_error) == (
        cattrs.IterableValidationError,
        "While structuring a list",
        tuple,
        [("Structuring class Invoice @ attribute Line", "Line", hints["line"])],
        [
            (
                cattrs.ClassValidationError,
                "While structuring SalesItemLine",
                SalesItemLine,
                [("Structuring @ index 0", 0, Line)],
                [
                    (
                        TypeError,
                        ("expected an integer, got a string",),
                        [
                            (
                                "Structuring class SalesItemLine @ attribute LineNum",
                                "LineNum",
                                line_hints["line_num"],
                            )
                        ],
                    )
                ],
            ),
            (
                TypeError,
                ("expected an object, got a number",),
                [("Structuring @ index 1", 1, Line)],
            ),
        ],
    )


def test_missing_keys_and_foreign_detail_types_are_noted_with_their_types(
    codec: cattrs.Converter,
) -> None:
    """A missing required key is a `KeyError` of the key; a `DetailType` not the line's a
    `ValueError`; each noted with its key and type (`str` for the detail type)."""
    with pytest.raises(cattrs.ClassValidationError) as caught:
        codec.structure({"DetailType": "X", "SalesItemLineDetail": {"ItemRef": {}}}, SalesItemLine)
    detail_error, nested = caught.value.exceptions
    assert _tree(detail_error) == (
        ValueError,
        ("expected 'SalesItemLineDetail', got 'X'",),
        [("Structuring class SalesItemLine @ attribute DetailType", "DetailType", str)],
    )
    assert isinstance(nested, cattrs.ClassValidationError)
    (ref_error,) = nested.exceptions
    assert isinstance(ref_error, cattrs.ClassValidationError)
    (missing,) = ref_error.exceptions
    assert _tree(missing) == (
        KeyError,
        ("value",),
        [("Structuring class Ref @ attribute value", "value", str)],
    )


@attrs.frozen(kw_only=True)
class _TwoKeys(EntityPart):
    """A class bug: `a_b` and `a__b` both have the JSON key `AB`."""

    a_b: str | None = None
    a__b: str | None = None


def test_class_bugs_are_refused_when_the_hooks_are_made(codec: cattrs.Converter) -> None:
    """An attribute that is not `X | None`, a type no codec reads, or two attributes with
    one JSON key stop the converter's set-up with a `TypeError` naming the problem."""
    with pytest.raises(TypeError) as caught:
        entity_hooks._field_codec(codec, int | str | None)
    assert str(caught.value) == "entity attributes must be `X | None`, not int | str | None"
    with pytest.raises(TypeError) as caught:
        entity_hooks._field_codec(codec, float | None)
    assert str(caught.value) == "no entity codec for <class 'float'>"
    with pytest.raises(TypeError) as caught:
        entity_hooks._ObjectCodec(codec, _TwoKeys)
    assert str(caught.value) == "_TwoKeys maps two attributes to one JSON key"
