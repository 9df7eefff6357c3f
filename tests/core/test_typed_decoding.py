"""Typed decoding: an answer asked for as a class is that class exactly, or a DecodeError."""

from __future__ import annotations

import json
from typing import Any

import pytest

from qbo_core.entities import Customer, Invoice, RawEntity, Vendor
from qbo_core.errors import DecodeError
from qbo_core.http import HttpResponse
from qbo_core.query import Field, Query
from qbo_core.wire import responses
from qbo_core.wire.entities import decode_entity_as


def answer(payload: dict[str, Any]) -> HttpResponse:
    body = json.dumps(payload).encode()
    return HttpResponse(status=200, headers={"Content-Type": "application/json"}, body=body)


def test_a_typed_envelope_decodes_into_the_class_asked_for() -> None:
    """`decode_entity_response(r, Customer)` is a Customer, even under a lower-case key."""
    for key in ("Customer", "customer"):
        customer = responses.decode_entity_response(
            answer({key: {"Id": "5", "DisplayName": "Amy"}}), Customer
        )
        assert type(customer) is Customer
        assert customer.display_name == "Amy"


def test_an_envelope_of_another_entity_is_a_decode_error_for_a_class() -> None:
    """Asked for a Customer, an Invoice envelope is refused rather than returned."""
    with pytest.raises(DecodeError, match="expected a Customer envelope"):
        responses.decode_entity_response(answer({"Invoice": {"Id": "5"}}), Customer)


def test_the_raw_form_stays_raw_for_an_entity_with_a_class() -> None:
    """`decode_entity_response_as(r, RawEntity, "Customer")` keeps the JSON as it came."""
    raw = responses.decode_entity_response_as(
        answer({"Customer": {"Id": "5", "DisplayName": "Amy"}}), RawEntity, "Customer"
    )
    assert type(raw) is RawEntity
    assert raw.data == {"Id": "5", "DisplayName": "Amy"}


def test_decode_entity_as_refuses_a_class_that_is_not_the_name_s() -> None:
    """A class and a name that disagree never yield an object of the wrong class."""
    with pytest.raises(DecodeError, match="cannot read Vendor as a Customer"):
        decode_entity_as(Customer, "Vendor", {"Id": "1"})
    with pytest.raises(DecodeError, match="cannot read Estimate as a Customer"):
        decode_entity_as(Customer, "Estimate", {"Id": "1"})
    assert type(decode_entity_as(Vendor, "Vendor", {"Id": "1"})) is Vendor


def test_a_typed_query_page_holds_only_its_class() -> None:
    """`decode_query(r, Invoice)` decodes every row into Invoice; rows of another entity
    are a DecodeError; an empty page is empty."""
    page = responses.decode_query(
        answer({"QueryResponse": {"Invoice": [{"Id": "1"}, {"Id": "2"}], "startPosition": 1}}),
        Invoice,
    )
    assert [type(item) for item in page] == [Invoice, Invoice]
    assert page.entity_type == "Invoice"
    with pytest.raises(DecodeError, match="a query of Invoice answered with Bill rows"):
        responses.decode_query(answer({"QueryResponse": {"Bill": [{"Id": "1"}]}}), Invoice)
    empty = responses.decode_query(answer({"QueryResponse": {}}), Invoice)
    assert empty.items == ()


def test_a_query_knows_the_class_it_was_built_from() -> None:
    """`Query.select(Customer)` names the entity by the class's name and keeps the class;
    refining keeps it; a name keeps none; the statements are the same."""
    typed = Query.select(Customer).where(Field("Active") == True)  # noqa: E712
    named = Query.select("Customer").where(Field("Active") == True)  # noqa: E712
    assert typed.entity_class is Customer
    assert named.entity_class is None
    assert typed.build() == named.build() == "SELECT * FROM Customer WHERE Active = true"
    assert Query.count(Invoice).build() == "SELECT COUNT(*) FROM Invoice"
    assert Query.count(Invoice).entity_class is Invoice


def test_a_query_refuses_a_class_that_disagrees_with_its_entity() -> None:
    """A query made directly with a class and another name, or with a non-entity class,
    raises instead of decoding one entity's rows as another's."""
    with pytest.raises(ValueError, match="is not the name of Customer"):
        Query(entity="Vendor", entity_class=Customer)
    with pytest.raises(TypeError, match="not a typed QBO entity class"):
        Query.select(RawEntity)  # type: ignore[type-var]
