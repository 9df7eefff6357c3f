"""What the raw client returns besides entities: pages, change sets, batch items, reports."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from qbo_core.dtos import SyncCursor, SyncPosition
from qbo_core.entities import Customer, Invoice, RawEntity
from qbo_core.errors import ValidationError
from qbo_core.query import Field, Query
from qbo_core.results import (
    BatchItem,
    BatchItemResult,
    ChangeBatch,
    ChangeSet,
    DeletedEntity,
    QueryPage,
    Report,
    ReportCell,
    ReportColumn,
    ReportRow,
    UploadResult,
)

AMY = Customer(id="1", sync_token="0", display_name="Amy's Bird Sanctuary")
BILL = Customer(id="2", sync_token="3", display_name="Bill's Windsurf Shop")
INVOICE = Invoice(id="130", sync_token="0")
CURSOR = SyncCursor(positions={"Customer": SyncPosition(since=datetime(2025, 1, 1, tzinfo=UTC))})


# --------------------------------------------------------------------- pages


def test_a_query_page_iterates_and_counts_its_items() -> None:
    """A page is iterable over its items, in order, and its length is how many it holds."""
    page = QueryPage(entity_type="Customer", items=(AMY, BILL), start_position=1, max_results=2)
    assert list(page) == [AMY, BILL]
    assert len(page) == 2
    empty: QueryPage[Customer] = QueryPage(
        entity_type="Customer", items=(), start_position=None, max_results=0
    )
    assert list(empty) == []
    assert len(empty) == 0


# --------------------------------------------------------------------- change sets


def test_a_change_set_counts_changed_and_deleted_objects_together() -> None:
    """`total` is every live object plus every deletion, across entity types."""
    changes = ChangeSet(
        changed={"Customer": [AMY, BILL], "Invoice": [INVOICE]},
        deleted={"Customer": [DeletedEntity(entity_type="Customer", id="9")]},
    )
    assert changes.total == 4
    assert ChangeSet(changed={}, deleted={}).total == 0


def test_a_change_set_holds_read_only_tuples_copied_from_its_input() -> None:
    """The lists given become tuples in a read-only mapping; changing the input later does
    not change the set."""
    customers = [AMY]
    changes = ChangeSet(changed={"Customer": customers}, deleted={})
    customers.append(BILL)
    assert changes.changed["Customer"] == (AMY,)
    with pytest.raises(TypeError):
        changes.changed["Invoice"] = ()  # type: ignore[index]
    assert (changes.capped, changes.time) == (False, None)


def test_a_change_batch_says_whether_its_deletions_are_complete() -> None:
    """Deletions are complete exactly when no entity type is listed as possibly missing some."""
    complete = ChangeBatch(upserts=(AMY,), deletions=(), cursor=CURSOR)
    assert complete.deletions_complete is True
    assert (complete.full_types, complete.unknown_deletions) == ((), ())
    partial = ChangeBatch(upserts=(), deletions=(), cursor=CURSOR, unknown_deletions=("Invoice",))
    assert partial.deletions_complete is False


# --------------------------------------------------------------------- batch items


def test_batch_create_and_update_hold_the_entity_and_its_type() -> None:
    """A create or an update carries the entity itself, named by its QBO type."""
    assert BatchItem.create("b1", AMY) == BatchItem(
        bid="b1", operation="create", entity_type="Customer", entity=AMY
    )
    assert BatchItem.update("b2", INVOICE) == BatchItem(
        bid="b2", operation="update", entity_type="Invoice", entity=INVOICE
    )
    raw = RawEntity(entity_type="Estimate", data={"Id": "5"})
    assert BatchItem.create("b3", raw).entity_type == "Estimate"


def test_batch_sparse_update_sends_the_changes_with_id_token_and_sparse() -> None:
    """A sparse update's payload is the changes plus Id, SyncToken and `sparse: true`; the
    identity given as arguments wins over keys of the same name in the changes."""
    item = BatchItem.sparse_update("b1", Customer, "1", "4", {"Notes": "VIP", "Id": "other"})
    assert (item.bid, item.operation, item.entity_type, item.entity) == (
        "b1",
        "update",
        "Customer",
        None,
    )
    assert item.payload == {"Notes": "VIP", "Id": "1", "SyncToken": "4", "sparse": True}
    assert BatchItem.sparse_update("b2", "Estimate", "7", "0", {}).entity_type == "Estimate"


def test_batch_delete_sends_only_the_id_and_sync_token() -> None:
    """A delete names the object by Id and SyncToken, and nothing else."""
    item = BatchItem.delete("b1", Invoice, "130", "2")
    assert item == BatchItem(
        bid="b1",
        operation="delete",
        entity_type="Invoice",
        payload={"Id": "130", "SyncToken": "2"},
    )
    assert BatchItem.delete("b2", "Estimate", "7", "0").entity_type == "Estimate"


def test_batch_void_is_a_sparse_payload_of_id_and_sync_token() -> None:
    """A void names the object by Id and SyncToken, sent sparse."""
    item = BatchItem.void("b1", Invoice, "130", "2")
    assert item == BatchItem(
        bid="b1",
        operation="void",
        entity_type="Invoice",
        payload={"Id": "130", "SyncToken": "2", "sparse": True},
    )
    assert BatchItem.void("b2", "Payment", "8", "1").entity_type == "Payment"


def test_batch_select_takes_a_statement_or_a_query() -> None:
    """A query item holds the statement text, whether given as a string or a built query."""
    assert BatchItem.select("q1", "SELECT * FROM Customer") == BatchItem(
        bid="q1", operation="query", query="SELECT * FROM Customer"
    )
    built = Query.select(Customer).where(Field("Id") == "1")
    assert BatchItem.select("q2", built).query == "SELECT * FROM Customer WHERE Id = '1'"


def test_batch_item_classmethods_refuse_a_class_that_is_not_an_entity() -> None:
    """Naming the entity type by a class that is not a typed entity is a TypeError."""
    with pytest.raises(TypeError, match="is not a typed QBO entity class"):
        BatchItem.delete("b1", RawEntity, "1", "0")  # type: ignore[arg-type]


def test_a_batch_item_result_is_ok_exactly_when_it_has_no_error() -> None:
    """`ok` is true for an answer and false for an error, which equality ignores."""
    assert BatchItemResult(bid="b1", entity=AMY).ok is True
    failed = BatchItemResult(bid="b1", error=ValidationError("Duplicate Name", codes="6240"))
    assert failed.ok is False
    assert failed == BatchItemResult(bid="b1", error=ValidationError("other"))
    assert UploadResult(error=ValidationError("a")) == UploadResult(error=ValidationError("b"))


# --------------------------------------------------------------------- reports


def row(kind: str, *values: str, group: str | None = None) -> ReportRow:
    return ReportRow(
        kind=kind,  # type: ignore[arg-type]
        cells=tuple(ReportCell(value=value) for value in values),
        path=("Income",),
        group=group,
    )


def test_a_report_row_value_is_empty_past_its_last_cell() -> None:
    """`value(column)` is the cell's text, or "" for a column the row has no cell for."""
    data = row("Data", "Design income", "975.00")
    assert data.value(0) == "Design income"
    assert data.value(1) == "975.00"
    assert data.value(2) == ""
    assert data.value(7) == ""


def test_a_report_lists_its_data_rows_and_finds_a_summary_by_group() -> None:
    """`data_rows` keeps the Data rows in order; `summary(group)` is the Summary row of that
    group, never a Header or Data row of the same group, and None when there is none."""
    header = row("Header", "Income", group="Income")
    first = row("Data", "Design income", "975.00", group="Income")
    second = row("Data", "Landscaping", "1,200.00")
    total = row("Summary", "Total Income", "2,175.00", group="Income")
    net = row("Summary", "Net Income", "2,175.00", group="NetIncome")
    report = Report(
        name="ProfitAndLoss",
        raw={},
        columns=(ReportColumn(title="", type="Account"), ReportColumn(title="Total", type="Money")),
        rows=(header, first, second, total, net),
    )
    assert report.data_rows() == [first, second]
    assert report.summary("Income") is total
    assert report.summary("NetIncome") is net
    assert report.summary("GrossProfit") is None
    assert Report(name="Empty", raw={}, columns=()).summary("Income") is None
