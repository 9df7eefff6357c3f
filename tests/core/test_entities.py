"""Typed QBO entities: field access, key renames, unknown and null keys, lenient numbers,
decoding errors with their paths, immutability, repr and the public surface."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar

import attrs
import pytest

import qbo_core.entities as entities
from qbo_core.entities import (
    ENTITY_CLASSES,
    Bill,
    BillPayment,
    CompanyInfo,
    Customer,
    EntityBase,
    EntityPart,
    GroupLine,
    Invoice,
    JournalEntry,
    LinkedTxn,
    LinkedTxnLine,
    MetaData,
    Payment,
    RawEntity,
    RawLine,
    Ref,
    SalesItemLine,
    SalesItemLineDetail,
    SubTotalLine,
    Vendor,
    entity_name,
    entity_type_of,
)
from qbo_core.errors import DecodeError
from qbo_core.wire.entities import (
    decode_entity,
    decode_part,
    encode_entity,
    encode_part,
    make_entity_converter,
)

INVOICE: dict[str, Any] = {
    "domain": "QBO",
    "sparse": False,
    "Id": "130",
    "SyncToken": "0",
    "MetaData": {
        "CreateTime": "2020-09-29T05:59:21-07:00",
        "LastUpdatedTime": "2020-09-29T05:59:21-07:00",
    },
    "DocNumber": "1037",
    "TxnDate": "2020-09-29",
    "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
    "Line": [
        {
            "Id": "1",
            "LineNum": 1,
            "Amount": Decimal("100.00"),
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {
                "ItemRef": {"value": "1", "name": "Services"},
                "UnitPrice": 100,
                "Qty": 1,
                "TaxCodeRef": {"value": "NON"},
            },
        },
        {"Amount": Decimal("100.00"), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}},
    ],
    "TxnTaxDetail": {"TotalTax": 0},
    "CustomerRef": {"value": "1", "name": "Amy's Bird Sanctuary"},
    "BillAddr": {"Id": "2", "Line1": "4581 Finch St.", "City": "Bayshore"},
    "DueDate": "2020-10-29",
    "TotalAmt": Decimal("100.00"),
    "Balance": Decimal("100.00"),
}


def invoice_with(**changes: Any) -> dict[str, Any]:
    return {**INVOICE, **changes}


def decoded_invoice(data: dict[str, Any] | None = None) -> Invoice:
    invoice = decode_entity("Invoice", INVOICE if data is None else data)
    assert isinstance(invoice, Invoice)
    return invoice


# --------------------------------------------------------------------- typed access


def test_invoice_fields_are_typed() -> None:
    """An invoice's lines, references, dates and money are reachable as typed attributes."""
    invoice = decoded_invoice()
    assert invoice.id == "130"
    assert invoice.sync_token == "0"
    assert invoice.doc_number == "1037"
    assert invoice.txn_date == date(2020, 9, 29)
    assert invoice.due_date == date(2020, 10, 29)
    assert invoice.total_amt == Decimal("100.00")
    assert invoice.customer_ref == Ref(value="1", name="Amy's Bird Sanctuary")
    assert invoice.bill_addr is not None
    assert invoice.bill_addr.city == "Bayshore"
    assert invoice.line is not None
    first, subtotal = invoice.line
    assert isinstance(first, SalesItemLine)
    assert first.amount == Decimal("100.00")
    assert first.line_num == 1
    assert first.detail == SalesItemLineDetail(
        item_ref=Ref(value="1", name="Services"),
        unit_price=Decimal(100),
        qty=Decimal(1),
        tax_code_ref=Ref(value="NON"),
    )
    assert isinstance(subtotal, SubTotalLine)
    assert invoice.txn_tax_detail is not None
    assert invoice.txn_tax_detail.total_tax == Decimal(0)


def test_metadata_times_are_aware_and_keep_the_offset_qbo_sent() -> None:
    """`MetaData` times are aware datetimes in the company's offset, not converted to UTC."""
    meta = decoded_invoice().meta
    assert meta is not None
    assert meta.create_time == datetime(
        2020, 9, 29, 5, 59, 21, tzinfo=timezone(timedelta(hours=-7))
    )
    assert meta.create_time is not None
    assert meta.create_time.utcoffset() == timedelta(hours=-7)


def test_customer_contact_details_are_typed() -> None:
    """A customer's e-mail, phone, web address and addresses are typed objects."""
    customer = decode_entity(
        "Customer",
        {
            "Id": "5",
            "DisplayName": "Dukes Basketball Camp",
            "PrimaryEmailAddr": {"Address": "Dukes_bball@intuit.com"},
            "PrimaryPhone": {"FreeFormNumber": "(520) 420-5638"},
            "WebAddr": {"URI": "http://dukes.example"},
            "ShipAddr": {"Id": "6", "Lat": "32.2841116", "Long": "-110.9744298"},
            "Balance": 0,
            "Level": 1,
            "Job": False,
        },
    )
    assert isinstance(customer, Customer)
    assert customer.primary_email_addr is not None
    assert customer.primary_email_addr.address == "Dukes_bball@intuit.com"
    assert customer.primary_phone is not None
    assert customer.primary_phone.free_form_number == "(520) 420-5638"
    assert customer.web_addr is not None
    assert customer.web_addr.uri == "http://dukes.example"
    assert customer.ship_addr is not None
    assert customer.ship_addr.lat == "32.2841116"
    assert customer.balance == Decimal(0)
    assert isinstance(customer.balance, Decimal)
    assert customer.level == 1
    assert customer.job is False


@pytest.mark.parametrize(
    ("entity_type", "data", "read"),
    [
        ("Vendor", {"Vendor1099": True}, lambda e: e.vendor_1099),
        ("Employee", {"SSN": "XXX-XX-1234"}, lambda e: e.ssn),
        ("Bill", {"APAccountRef": {"value": "33"}}, lambda e: e.ap_account_ref.value),
        ("Payment", {"ARAccountRef": {"value": "84"}}, lambda e: e.ar_account_ref.value),
        (
            "BillPayment",
            {"CreditCardPayment": {"CCAccountRef": {"value": "41"}}},
            lambda e: e.credit_card_payment.cc_account_ref.value,
        ),
        ("Customer", {"MetaData": {"CreateTime": "2020-01-01T00:00:00+01:00"}}, lambda e: 2020),
        ("Customer", {"domain": "QBO", "sparse": True}, lambda e: (e.domain, e.sparse)),
        ("Item", {"Sku": "AB-1", "QtyOnHand": 3}, lambda e: (e.sku, e.qty_on_hand)),
        ("CompanyInfo", {"NameValue": [{"Name": "a", "Value": "b"}]}, lambda e: e.name_value[0]),
    ],
)
def test_irregular_keys_map_both_ways(entity_type: str, data: dict[str, Any], read: Any) -> None:
    """Keys that are not plain PascalCase (`APAccountRef`, `SSN`, `domain`...) are modelled
    fields: read into attributes, nothing left in `extra`, written back under the same key."""
    entity = decode_entity(entity_type, data)
    assert type(entity) is ENTITY_CLASSES[entity_type]
    assert read(entity) is not None
    assert entity.extra == {}
    assert encode_entity(entity) == data


def test_a_sparse_update_encodes_exactly_the_fields_set() -> None:
    """Only the fields that are set are written, under QBO's keys: absent stays absent."""
    update = Customer(id="5", sync_token="1", sparse=True, active=False)
    assert encode_entity(update) == {"Id": "5", "SyncToken": "1", "sparse": True, "Active": False}
    assert encode_entity(Customer()) == {}


def test_payment_lines_without_detail_type_are_linked_txn_lines() -> None:
    """A payment line with `LinkedTxn` and no `DetailType` is a typed `LinkedTxnLine`."""
    payment = decode_entity(
        "Payment",
        {
            "TotalAmt": Decimal("55.00"),
            "Line": [
                {
                    "Amount": Decimal("55.00"),
                    "LinkedTxn": [{"TxnId": "67", "TxnType": "Invoice"}],
                    "LineEx": {"any": [{"name": "txnId", "value": {"Name": "txnId"}}]},
                }
            ],
        },
    )
    assert isinstance(payment, Payment)
    assert payment.line is not None
    (line,) = payment.line
    assert isinstance(line, LinkedTxnLine)
    assert line.linked_txn == (LinkedTxn(txn_id="67", txn_type="Invoice"),)
    assert line.extra["LineEx"] == {"any": [{"name": "txnId", "value": {"Name": "txnId"}}]}
    assert "DetailType" not in encode_entity(payment)["Line"][0]


def test_group_lines_hold_typed_lines() -> None:
    """A group (bundle) line's own lines are typed lines too."""
    invoice = decoded_invoice(
        invoice_with(
            Line=[
                {
                    "DetailType": "GroupLineDetail",
                    "GroupLineDetail": {
                        "GroupItemRef": {"value": "19"},
                        "Quantity": 2,
                        "Line": [INVOICE["Line"][0]],
                    },
                }
            ]
        )
    )
    assert invoice.line is not None
    (group,) = invoice.line
    assert isinstance(group, GroupLine)
    assert group.detail is not None
    assert group.detail.line is not None
    assert isinstance(group.detail.line[0], SalesItemLine)
    assert group.detail.quantity == Decimal(2)


@pytest.mark.parametrize("detail_type", ["FutureLineDetail", None, 7])
def test_an_unknown_detail_type_becomes_a_raw_line_that_round_trips(detail_type: object) -> None:
    """A line whose `DetailType` is unknown (or not a string) is a `RawLine`, written back as is."""
    line = {"DetailType": detail_type, "Amount": Decimal("1.5"), "FutureLineDetail": {"X": [1]}}
    data = invoice_with(Line=[line])
    invoice = decoded_invoice(data)
    assert invoice.line == (RawLine(data=line),)
    assert isinstance(invoice.line[0], RawLine)
    assert invoice.line[0].detail_type == detail_type
    assert encode_entity(invoice) == data


def test_every_transaction_and_name_class_is_registered() -> None:
    """Each typed entity name maps to its class, whose `ENTITY_TYPE` is that name."""
    assert sorted(ENTITY_CLASSES) == [
        "Account",
        "Bill",
        "BillPayment",
        "CompanyInfo",
        "Customer",
        "Employee",
        "Invoice",
        "Item",
        "JournalEntry",
        "Payment",
        "SalesReceipt",
        "Vendor",
    ]
    for name, cls in ENTITY_CLASSES.items():
        assert name == cls.ENTITY_TYPE
        assert issubclass(cls, EntityBase)
    with pytest.raises(TypeError):
        ENTITY_CLASSES["Estimate"] = Invoice  # type: ignore[index]


def test_entity_type_of_names_typed_and_raw_entities() -> None:
    """`entity_type_of` gives the QBO name of a typed entity and a raw one's own name."""
    assert entity_type_of(JournalEntry()) == "JournalEntry"
    assert entity_type_of(CompanyInfo()) == "CompanyInfo"
    assert entity_type_of(RawEntity(entity_type="Estimate", data={})) == "Estimate"


def test_entity_name_takes_a_name_or_a_typed_class() -> None:
    """A call names its entity by a string, passed through as it is, or by a typed class."""
    assert entity_name("Estimate") == "Estimate"
    assert entity_name("invoice") == "invoice"
    assert entity_name(Invoice) == "Invoice"
    assert entity_name(CompanyInfo) == "CompanyInfo"


TYPED_NAMES = (
    "Account, Bill, BillPayment, CompanyInfo, Customer, Employee, Invoice, Item, "
    "JournalEntry, Payment, SalesReceipt, Vendor"
)


@pytest.mark.parametrize(
    ("kind", "shown"),
    [
        (RawEntity, "RawEntity"),
        (EntityBase, "EntityBase"),
        (Ref, "Ref"),
        (Invoice(), "Invoice"),
        (5, "int"),
    ],
)
def test_entity_name_refuses_anything_but_a_name_or_a_typed_class(kind: object, shown: str) -> None:
    """A class that is not one of the typed entity classes (or anything that is not a class
    or a string) is a TypeError naming it and listing the classes that are accepted."""
    with pytest.raises(TypeError) as caught:
        entity_name(kind)  # type: ignore[arg-type]
    assert str(caught.value) == (
        f"{shown} is not a typed QBO entity class; name the entity as a string "
        f"or pass one of {TYPED_NAMES}"
    )


def test_entity_name_refuses_a_class_that_only_claims_a_typed_name() -> None:
    """A class whose ENTITY_TYPE is a typed entity's name, but which is not that typed
    class, is refused: answers are decoded into the typed classes only."""

    @attrs.frozen(kw_only=True, repr=False)
    class Special(EntityBase):
        ENTITY_TYPE: ClassVar[str] = "Vendor"

    with pytest.raises(TypeError, match=r"^Special is not a typed QBO entity class"):
        entity_name(Special)


# --------------------------------------------------------------------- raw entities


def test_an_unknown_entity_type_becomes_a_raw_entity() -> None:
    """Any name without a typed class decodes to a `RawEntity` holding the data unchanged."""
    data = {"Id": "48", "SyncToken": "2", "TotalAmt": Decimal("1005.00"), "Line": [{"X": None}]}
    estimate = decode_entity("Estimate", data)
    assert isinstance(estimate, RawEntity)
    assert estimate.entity_type == "Estimate"
    assert estimate.id == "48"
    assert estimate.sync_token == "2"
    assert estimate.data == data
    assert encode_entity(estimate) == data
    assert repr(estimate) == "RawEntity(entity_type='Estimate', id='48')"


def test_entity_names_are_case_sensitive() -> None:
    """Only QBO's own spelling is typed: `"invoice"` is a raw entity named `"invoice"`."""
    assert isinstance(decode_entity("invoice", {"Id": "1"}), RawEntity)


# --------------------------------------------------------------------- unknown and null keys


def test_unknown_keys_are_kept_at_every_level() -> None:
    """Keys a class does not model survive on the entity, its lines, details, addresses, refs."""
    line = {
        **INVOICE["Line"][0],
        "NewLineField": 1,
        "SalesItemLineDetail": {
            **INVOICE["Line"][0]["SalesItemLineDetail"],
            "MarkupInfo": {"Percent": Decimal("2.5")},
            "ItemRef": {"value": "1", "futureKey": True},
        },
    }
    data = invoice_with(
        Line=[line],
        AllowOnlinePayment=False,
        BillAddr={"Id": "2", "Line1": "x", "Geo": {"Lat": "1"}},
        MetaData={"CreateTime": "2020-09-29T05:59:21-07:00", "LastModifiedByRef": {"value": "9"}},
    )
    invoice = decoded_invoice(data)
    assert invoice.extra == {"AllowOnlinePayment": False}
    assert invoice.bill_addr is not None
    assert invoice.bill_addr.extra == {"Geo": {"Lat": "1"}}
    assert invoice.meta is not None
    assert invoice.meta.extra == {"LastModifiedByRef": {"value": "9"}}
    assert invoice.line is not None
    first = invoice.line[0]
    assert isinstance(first, SalesItemLine)
    assert first.extra == {"NewLineField": 1}
    assert first.detail is not None
    assert first.detail.extra == {"MarkupInfo": {"Percent": Decimal("2.5")}}
    assert first.detail.item_ref is not None
    assert first.detail.item_ref.extra == {"futureKey": True}
    assert encode_entity(invoice) == data


def test_null_keys_round_trip_and_are_absent_to_typed_access() -> None:
    """A modelled key sent as `null` reads as `None` and is written back as `null`."""
    data = invoice_with(
        DocNumber=None,
        BillAddr={"Id": "2", "City": None},
        Line=[{**INVOICE["Line"][1], "Amount": None}],
    )
    invoice = decoded_invoice(data)
    assert invoice.doc_number is None
    assert invoice.extra == {"DocNumber": None}
    assert invoice.bill_addr is not None
    assert invoice.bill_addr.city is None
    assert invoice.line is not None
    assert invoice.line[0].amount is None  # type: ignore[union-attr]
    encoded = encode_entity(invoice)
    assert encoded == data
    assert encoded["DocNumber"] is None
    assert "DocNumber" not in encode_entity(Invoice())


def test_a_typed_value_set_later_wins_over_a_kept_null() -> None:
    """Setting a field that arrived as `null` writes the new value, not the old `null`."""
    invoice = decoded_invoice(invoice_with(DocNumber=None))
    renumbered = attrs.evolve(invoice, doc_number="2001")
    assert encode_entity(renumbered)["DocNumber"] == "2001"


# --------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        (Decimal("300.00"), Decimal("300.00")),
        (75, Decimal(75)),
        (22.5, Decimal("22.5")),
        (0.1, Decimal("0.1")),
        ("12.50", Decimal("12.50")),
        ("-3", Decimal(-3)),
        ("1E+2", Decimal("1E+2")),
    ],
)
def test_money_is_read_as_decimal(sent: object, expected: Decimal) -> None:
    """Amounts arrive as Decimals, ints, floats or numeric strings and become exact Decimals."""
    invoice = decoded_invoice(invoice_with(TotalAmt=sent))
    assert isinstance(invoice.total_amt, Decimal)
    assert invoice.total_amt == expected
    assert str(invoice.total_amt) == str(expected)


def test_money_is_written_as_decimal_objects_never_floats() -> None:
    """Encoding writes every modelled number as a `Decimal`, keeping its digits."""
    encoded = encode_entity(decoded_invoice(invoice_with(TotalAmt=22.5)))
    assert type(encoded["TotalAmt"]) is Decimal
    assert str(encoded["TotalAmt"]) == "22.5"
    detail = encoded["Line"][0]["SalesItemLineDetail"]
    assert type(detail["UnitPrice"]) is Decimal
    assert type(encoded["Line"][0]["Amount"]) is Decimal
    assert str(encoded["Line"][0]["Amount"]) == "100.00"


def test_datetimes_are_written_in_qbo_form() -> None:
    """Times are written with seconds, milliseconds only when present, and their offset."""
    meta = MetaData(
        create_time=datetime(2020, 9, 29, 6, 4, 50, 776000, tzinfo=timezone(timedelta(hours=-7))),
        last_updated_time=datetime(2020, 9, 29, 6, 4, 50, tzinfo=UTC),
    )
    assert encode_part(meta) == {
        "CreateTime": "2020-09-29T06:04:50.776-07:00",
        "LastUpdatedTime": "2020-09-29T06:04:50+00:00",
    }
    assert decode_part(encode_part(meta), MetaData) == meta


def test_a_z_suffix_reads_as_utc_and_is_written_as_an_offset() -> None:
    """`Z` is read as UTC; it comes back as `+00:00`, the same instant (documented)."""
    meta = decode_part({"CreateTime": "2020-01-01T00:00:00Z"}, MetaData)
    assert meta.create_time == datetime(2020, 1, 1, tzinfo=UTC)
    assert encode_part(meta) == {"CreateTime": "2020-01-01T00:00:00+00:00"}


# --------------------------------------------------------------------- decoding errors


@pytest.mark.parametrize(
    ("changes", "path", "problem"),
    [
        ({"Line": {"Amount": 1}}, "$.Line", "expected a list, got an object"),
        ({"Line": [INVOICE["Line"][0], "x"]}, "$.Line[1]", "expected an object, got a string"),
        ({"TotalAmt": "abc"}, "$.TotalAmt", "expected a number"),
        ({"TotalAmt": "NaN"}, "$.TotalAmt", "expected a number"),
        ({"TotalAmt": Decimal("NaN")}, "$.TotalAmt", "expected a finite number"),
        ({"TotalAmt": True}, "$.TotalAmt", "expected a number, got a boolean"),
        ({"TxnDate": "2020-13-01"}, "$.TxnDate", "not a date"),
        ({"TxnDate": "20200929"}, "$.TxnDate", "not a date"),
        ({"DocNumber": 1037}, "$.DocNumber", "expected a string, got a number"),
        ({"sparse": "false"}, "$.sparse", "expected true or false"),
        ({"CustomerRef": {"name": "Amy"}}, "$.CustomerRef.value", "required field missing"),
        ({"CustomerRef": "1"}, "$.CustomerRef", "expected an object, got a string"),
        (
            {"MetaData": {"CreateTime": "2020-09-29T05:59:21"}},
            "$.MetaData.CreateTime",
            "has no UTC offset",
        ),
        (
            {"Line": [{"DetailType": "SalesItemLineDetail", "SalesItemLineDetail": {"Qty": "x"}}]},
            "$.Line[0].SalesItemLineDetail.Qty",
            "expected a number",
        ),
        (
            {"Line": [{"DetailType": "SubTotalLineDetail", "LineNum": "1"}]},
            "$.Line[0].LineNum",
            "expected an integer, got a string",
        ),
    ],
)
def test_wrong_types_raise_decode_error_naming_the_path(
    changes: dict[str, Any], path: str, problem: str
) -> None:
    """A value of the wrong type raises `DecodeError` saying what was wrong and where."""
    with pytest.raises(DecodeError) as caught:
        decode_entity("Invoice", invoice_with(**changes))
    message = str(caught.value)
    assert message.startswith("cannot read Invoice:")
    assert f"{problem}" in message
    assert message.endswith(f"@ {path}") or f"@ {path};" in message


def test_every_problem_is_reported_at_once() -> None:
    """All wrong values of one object are listed in a single `DecodeError`."""
    with pytest.raises(DecodeError) as caught:
        decode_entity("Customer", {"DisplayName": 5, "Balance": "x", "BillAddr": {"City": 1}})
    message = str(caught.value)
    for path in ("$.DisplayName", "$.Balance", "$.BillAddr.City"):
        assert f"@ {path}" in message


@pytest.mark.parametrize("entity_type", ["Customer", "Estimate"])
@pytest.mark.parametrize("data", [[], "Customer", None])
def test_an_entity_that_is_not_an_object_is_refused(entity_type: str, data: Any) -> None:
    """Typed or not, an entity's JSON must be an object."""
    with pytest.raises(DecodeError, match=r"expected an object.* @ \$"):
        decode_entity(entity_type, data)


def test_a_line_class_refuses_another_detail_type() -> None:
    """Reading a line as one class when its `DetailType` names another is an error there."""
    with pytest.raises(DecodeError, match=r"@ \$\.DetailType"):
        decode_part({"DetailType": "DiscountLineDetail"}, SalesItemLine)


# --------------------------------------------------------------------- encoding errors


def test_encoding_refuses_values_json_cannot_hold() -> None:
    """A naive datetime, a NaN amount or a float where a Decimal belongs are refused."""
    naive = Customer(meta=MetaData(create_time=datetime(2020, 1, 1)))
    with pytest.raises(ValueError, match="naive"):
        encode_entity(naive)
    with pytest.raises(ValueError, match="non-finite"):
        encode_entity(Invoice(total_amt=Decimal("NaN")))
    with pytest.raises(TypeError, match="expected a Decimal"):
        encode_entity(Invoice(total_amt=1.5))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a QBO entity"):
        encode_entity(Ref(value="1"))  # type: ignore[arg-type]


# --------------------------------------------------------------------- values


def test_entities_are_frozen_and_extra_is_read_only() -> None:
    """Entities cannot be changed in place, not even through `extra`."""
    invoice = decoded_invoice(invoice_with(Unknown={"a": 1}))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        invoice.doc_number = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        invoice.extra["Unknown"] = 2  # type: ignore[index]


def test_entities_share_nothing_with_their_input_or_output() -> None:
    """Changing the input after decoding, or the encoded dict, leaves the entity unchanged."""
    data = invoice_with(Unknown={"a": [1]})
    invoice = decoded_invoice(data)
    data["Unknown"]["a"].append(2)
    assert invoice.extra == {"Unknown": {"a": [1]}}
    encoded = encode_entity(invoice)
    encoded["Unknown"]["a"].append(3)
    encoded["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"] = "99"
    assert encode_entity(invoice)["Unknown"] == {"a": [1]}
    assert invoice == decoded_invoice(invoice_with(Unknown={"a": [1]}))


def test_equal_entities_hash_equal() -> None:
    """Decoding the same JSON twice gives equal, equally hashed entities."""
    assert hash(decoded_invoice()) == hash(decoded_invoice())
    assert decoded_invoice() != decoded_invoice(invoice_with(DocNumber="1038"))


def test_repr_is_short() -> None:
    """`repr` names the object by its id and a few telling fields, not every attribute."""
    assert repr(Customer(id="5", display_name="Amy")) == "Customer(id='5', display_name='Amy')"
    assert repr(decoded_invoice()) == (
        "Invoice(id='130', doc_number='1037', txn_date=datetime.date(2020, 9, 29),"
        " total_amt=Decimal('100.00'))"
    )
    assert repr(Ref(value="4", name="Design")) == "Ref(value='4', name='Design')"
    assert repr(Vendor()) == "Vendor()"
    assert repr(RawLine(data={"DetailType": "X"})) == "RawLine(detail_type='X')"


def test_repr_leaves_out_the_kept_unknown_keys() -> None:
    """What `extra` keeps (unknown keys, nulls) never shows in a repr, which lists the
    modelled fields only."""
    assert repr(Ref(value="4", extra={"Note": "kept"})) == "Ref(value='4')"
    assert repr(MetaData(extra={"Other": 1})) == "MetaData()"


# --------------------------------------------------------------------- the converter


def test_every_exported_class_has_the_entity_hooks() -> None:
    """Each exported entity class reads unknown keys into `extra` through the entity converter."""
    classes = [
        value
        for value in (getattr(entities, name) for name in entities.__all__)
        if isinstance(value, type) and issubclass(value, EntityPart) and value is not EntityPart
    ]
    assert len(classes) > 40
    for cls in classes:
        required = {"value": "1"} if cls is Ref else {}
        part = decode_part({**required, "Zz": [Decimal("1.0")]}, cls)
        assert type(part) is cls
        assert part.extra == {"Zz": [Decimal("1.0")]}
        detail_type = getattr(cls, "DETAIL_TYPE", None)
        chosen = {"DetailType": detail_type} if detail_type else {}
        assert encode_part(part) == {**required, **chosen, "Zz": [Decimal("1.0")]}


def test_new_entity_converters_know_entities_too() -> None:
    """`make_entity_converter()` builds new converters with the entity hooks."""
    conv = make_entity_converter()
    bill = conv.structure({"TotalAmt": 5, "APAccountRef": {"value": "1"}}, Bill)
    assert bill == Bill(total_amt=Decimal(5), ap_account_ref=Ref(value="1"))
    assert conv.unstructure(BillPayment(pay_type="Check")) == {"PayType": "Check"}


# --------------------------------------------------------------------- public surface


def test_the_public_names_exist_and_leave_the_codec_to_the_wire() -> None:
    """`qbo_core.entities` exports its classes and type names, each one existing; the JSON
    codec is `qbo_core.wire.entities`'s.

    (The order and the exact list are held by tests/test_public_api.py.)
    """
    exported = list(entities.__all__)
    for name in exported:
        assert hasattr(entities, name)
    assert {
        "ENTITY_CLASSES",
        "QBOEntity",
        "RawEntity",
        "entity_name",
        "entity_type_of",
        "Ref",
        "MetaData",
        "PhysicalAddress",
        "EmailAddress",
        "TelephoneNumber",
        "WebSiteAddress",
        "LinkedTxn",
        "CustomField",
        "TxnTaxDetail",
    } <= set(exported)
    assert not [name for name in exported if name.startswith("_")]
    assert "decode_entity" not in exported
    assert "encode_entity" not in exported
