"""Every entity QBO really sent, and every one the emulator generates, decodes and encodes exactly.

The recorded sandbox traffic in `../shared/fixtures/qbo-recorded/` holds entities in every
envelope QBO uses (single entity, query page, CDC, batch, attachment upload) and in request
bodies; the emulator's generator adds the entity types the recordings lack (Bill, Payment,
BillPayment, JournalEntry, Item, CompanyInfo...). For each object: the decoded class is the
typed one (or `RawEntity`), and encoding gives back the very same JSON: equal as data, and
equal as canonical JSON text, with no float anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from qbo_adapters.emulator.datagen import generate_company
from qbo_core.entities import ENTITY_CLASSES, RawEntity, entity_type_of
from qbo_core.wire.entities import decode_entity, encode_entity
from tests.core.corpus import exact_json, parse
from tests.shared_fixtures import RECORDED

#: Recorded files with entities in a request or response body, and how many.
ENTITY_FILES = {
    "all/alt_select.json": 6,
    "all/customers.json": 41,
    "all/employees_including_active.json": 2,
    "all/sales_receipts.json": 4,
    "all/vendors_by_5.json": 26,
    "attachment/create_for_invoice.json": 1,
    "attachment/delete_attachment.json": 2,
    "attachment/read_attachment.json": 1,
    "batch/basic.json": 6,
    "cdc/basic.json": 4,
    "create/customer.json": 2,
    "create/invoice.json": 2,
    "deactivate/account.json": 3,
    "deactivate/employee.json": 3,
    "delete/invoice.json": 3,
    "error/400.json": 41,
    "error/400_json.json": 1,
    "error/validation.json": 1,
    "get/display_name.json": 1,
    "get/id.json": 1,
    "get/inactive_vendors.json": 27,
    "misc/ampersand.json": 1,
    "update/customer.json": 3,
    "update/sales_receipt.json": 3,
    "void/invoice.json": 3,
}
#: Recorded files with no entity anywhere: faults, reports, a PDF.
OTHER_FILES = {
    "attachment/error_estimate.json",
    "error/401.json",
    "error/500.json",
    "get_pdf/invoice.json",
    "reports/gl.json",
    "reports/profit_and_loss.json",
}

#: Keys of a `QueryResponse` that are paging counters, not entity lists.
PAGING_KEYS = {"startPosition", "maxResults", "totalCount"}
#: Lower-case URL path segments of entity endpoints, to the entity name.
ENDPOINTS = {name.lower(): name for name in [*ENTITY_CLASSES, "Attachable", "Estimate"]}


def entity_list(value: Any) -> list[dict[str, Any]]:
    return [value] if isinstance(value, dict) else list(value)


def in_query_response(page: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    for part in entity_list(page):
        for name, found in part.items():
            if name not in PAGING_KEYS:
                for obj in entity_list(found):
                    yield name, obj


def in_items(items: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Entities in batch or upload items: `{"<Entity>": {...}, "bId": ...}` or a query page."""
    for item in items:
        for name, found in item.items():
            if name == "QueryResponse":
                yield from in_query_response(found)
            elif name[:1].isupper() and name not in {"Fault", "Query"}:
                yield name, found


def entities_in_response(body: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every entity in a QBO response body, with its entity name."""
    if not isinstance(body, dict) or "time" not in body:
        return  # reports, gateway faults
    for name, found in body.items():
        if name == "QueryResponse":
            yield from in_query_response(found)
        elif name == "CDCResponse":
            for change in found:
                yield from in_query_response(change["QueryResponse"])
        elif name in {"BatchItemResponse", "AttachableResponse"}:
            yield from in_items(found)
        elif name[:1].isupper() and name != "Fault":
            yield name, found


def entities_in_request(uri: str, body: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every entity in a request body: a batch's items, or the bare entity POSTed to its path."""
    if isinstance(body, dict) and "BatchItemRequest" in body:
        yield from in_items(body["BatchItemRequest"])
        return
    segment = urlsplit(uri).path.rstrip("/").rsplit("/", 1)[-1]
    if isinstance(body, dict) and segment in ENDPOINTS:
        yield ENDPOINTS[segment], body


def recorded_entities(path: Path) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for interaction in json.loads(path.read_text())["interactions"]:
        request, response = interaction["request"], interaction["response"]
        for text, walk in (
            (request.get("body"), lambda b, uri=request["uri"]: entities_in_request(uri, b)),
            (response.get("body"), entities_in_response),
        ):
            try:
                body = parse(text) if text else None
            except ValueError:
                continue  # multipart uploads, PDFs
            found.extend(walk(body))
    return found


def assert_round_trip(entity_type: str, obj: dict[str, Any]) -> None:
    """`obj` decodes to its class and encodes back to exactly `obj`."""
    entity = decode_entity(entity_type, obj)
    expected = ENTITY_CLASSES.get(entity_type, RawEntity)
    assert type(entity) is expected, (entity_type, type(entity))
    assert entity_type_of(entity) == entity_type
    encoded = encode_entity(entity)
    assert encoded == obj
    assert exact_json(encoded) == exact_json(obj)


@pytest.fixture
def recorded() -> Path:
    if not RECORDED.is_dir():
        pytest.skip(f"recorded QBO traffic not found at {RECORDED} (../shared is absent)")
    return RECORDED


@pytest.mark.fixtures
def test_every_recorded_file_is_classified(recorded: Path) -> None:
    """Each recorded JSON file is listed as holding entities or not, so none is skipped unseen."""
    names = {str(path.relative_to(recorded)) for path in recorded.rglob("*.json")}
    assert names == set(ENTITY_FILES) | OTHER_FILES


@pytest.mark.fixtures
@pytest.mark.parametrize("name", sorted(ENTITY_FILES))
def test_recorded_entities_round_trip_exactly(recorded: Path, name: str) -> None:
    """Every entity in a recorded file decodes to its class and encodes back unchanged."""
    found = recorded_entities(recorded / name)
    assert len(found) == ENTITY_FILES[name]
    for entity_type, obj in found:
        assert_round_trip(entity_type, obj)


@pytest.mark.fixtures
@pytest.mark.parametrize("name", sorted(OTHER_FILES))
def test_files_without_entities_hold_none(recorded: Path, name: str) -> None:
    """Fault, report and PDF recordings really carry no entity (the walker is not blind)."""
    assert recorded_entities(recorded / name) == []


@pytest.mark.fixtures
def test_the_recordings_cover_typed_and_raw_entities(recorded: Path) -> None:
    """The recorded corpus exercises typed classes and raw entities alike."""
    types = {
        entity_type
        for name in ENTITY_FILES
        for entity_type, _ in recorded_entities(recorded / name)
    }
    assert {"Customer", "Vendor", "Employee", "Account", "Invoice", "SalesReceipt"} <= types
    assert {"Estimate", "Attachable"} <= types


def generated_objects(seed: int) -> list[tuple[str, dict[str, Any]]]:
    company = generate_company(
        seed=seed, size="small", realm_id="1", now=datetime(2025, 6, 1, 12, tzinfo=UTC)
    )
    objects = [(name, obj) for name, objs in company.entities.items() for obj in objs]
    objects += [("CompanyInfo", company.company_info), ("Preferences", company.preferences)]
    return objects


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_entities_round_trip_exactly(seed: int) -> None:
    """Every object of a generated company, read as the wire reads JSON, round-trips exactly."""
    objects = generated_objects(seed)
    assert set(ENTITY_CLASSES) <= {entity_type for entity_type, _ in objects}
    for entity_type, obj in objects:
        assert_round_trip(entity_type, parse(json.dumps(obj)))


def test_generated_entities_with_float_numbers_decode_to_equal_decimals() -> None:
    """Objects holding Python floats (plain `json.loads`) decode; numbers encode as the
    Decimals their JSON text spells."""
    for entity_type, obj in generated_objects(4):
        encoded = encode_entity(decode_entity(entity_type, obj))
        if entity_type in ENTITY_CLASSES:
            assert exact_json(encoded) == exact_json(parse(json.dumps(obj)))
        else:
            assert encoded == obj
