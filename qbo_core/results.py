"""What the raw client returns besides single entities: pages, change sets, batch results,
reports and the realm credentials every call takes.

Frozen, keyword-only attrs classes, like every DTO in the core.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

import attrs

from qbo_core.entities import QBOEntity, encode_entity, entity_type_of
from qbo_core.errors import QBOError

__all__ = [
    "BatchItem",
    "BatchItemResult",
    "BatchOperation",
    "ChangeSet",
    "DeletedEntity",
    "QueryPage",
    "RealmAuth",
    "Report",
    "ReportCell",
    "ReportColumn",
    "ReportRow",
    "UploadResult",
]


_REALM_ID = re.compile(r"[0-9]{1,32}")
_TOKEN = re.compile(r"[\x21-\x7e]+")  # visible ASCII: nothing that could break a header


def _realm(_: object, attribute: Any, value: str) -> None:
    if not isinstance(value, str) or _REALM_ID.fullmatch(value) is None:
        raise ValueError(f"{attribute.name} must be the numeric QBO company id, got {value!r}")


def _token(_: object, attribute: Any, value: str) -> None:
    if not isinstance(value, str) or _TOKEN.fullmatch(value) is None:
        raise ValueError(f"{attribute.name} must be a non-empty token of visible ASCII characters")


@attrs.frozen(kw_only=True)
class RealmAuth:
    """Which company to talk to and the access token to do it with (never in `repr`)."""

    realm_id: str = attrs.field(validator=_realm)
    access_token: str = attrs.field(repr=False, validator=_token)


@attrs.frozen(kw_only=True)
class QueryPage:
    """One page of a query. `max_results` is how many QBO returned, not how many were asked.

    `start_position` is `None` for an empty page (QBO omits it then).
    """

    entity_type: str | None
    items: tuple[QBOEntity, ...]
    start_position: int | None
    max_results: int
    total_count: int | None = None

    def __iter__(self) -> Iterator[QBOEntity]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@attrs.frozen(kw_only=True)
class DeletedEntity:
    """An entity QBO reports as deleted: after a delete, or as a CDC tombstone."""

    entity_type: str
    id: str
    last_updated: datetime | None = None


def _frozen(value: Mapping[str, Sequence[Any]]) -> Mapping[str, tuple[Any, ...]]:
    return MappingProxyType({key: tuple(items) for key, items in value.items()})


@attrs.frozen(kw_only=True)
class ChangeSet:
    """What changed since a moment: live objects and deletions, by entity type.

    `capped` is true when QBO returned its maximum (1,000 objects): more changes may
    exist, so ask again with a later `changedSince` or a narrower set of entities.
    """

    changed: Mapping[str, tuple[QBOEntity, ...]] = attrs.field(converter=_frozen, hash=False)
    deleted: Mapping[str, tuple[DeletedEntity, ...]] = attrs.field(converter=_frozen, hash=False)
    capped: bool = False

    @property
    def total(self) -> int:
        return sum(map(len, self.changed.values())) + sum(map(len, self.deleted.values()))


BatchOperation = Literal["create", "update", "delete", "void", "query"]


@attrs.frozen(kw_only=True)
class BatchItem:
    """One operation in a batch request. Build with the class methods."""

    bid: str
    operation: BatchOperation
    entity_type: str | None = None
    payload: Mapping[str, Any] | None = attrs.field(default=None, hash=False)
    query: str | None = None

    @classmethod
    def create(cls, bid: str, entity: QBOEntity) -> BatchItem:
        return cls(
            bid=bid,
            operation="create",
            entity_type=entity_type_of(entity),
            payload=encode_entity(entity),
        )

    @classmethod
    def update(cls, bid: str, entity: QBOEntity) -> BatchItem:
        return cls(
            bid=bid,
            operation="update",
            entity_type=entity_type_of(entity),
            payload=encode_entity(entity),
        )

    @classmethod
    def sparse_update(
        cls, bid: str, entity_type: str, entity_id: str, sync_token: str, changes: Mapping[str, Any]
    ) -> BatchItem:
        payload = {**changes, "Id": entity_id, "SyncToken": sync_token, "sparse": True}
        return cls(bid=bid, operation="update", entity_type=entity_type, payload=payload)

    @classmethod
    def delete(cls, bid: str, entity_type: str, entity_id: str, sync_token: str) -> BatchItem:
        payload = {"Id": entity_id, "SyncToken": sync_token}
        return cls(bid=bid, operation="delete", entity_type=entity_type, payload=payload)

    @classmethod
    def void(cls, bid: str, entity_type: str, entity_id: str, sync_token: str) -> BatchItem:
        payload = {"Id": entity_id, "SyncToken": sync_token, "sparse": True}
        return cls(bid=bid, operation="void", entity_type=entity_type, payload=payload)

    @classmethod
    def select(cls, bid: str, statement: str) -> BatchItem:
        return cls(bid=bid, operation="query", query=str(statement))


@attrs.frozen(kw_only=True)
class BatchItemResult:
    """The answer to one batch item: exactly one of entity, page, deleted or error is set."""

    bid: str
    entity: QBOEntity | None = None
    page: QueryPage | None = None
    deleted: DeletedEntity | None = None
    error: QBOError | None = attrs.field(default=None, eq=False)

    @property
    def ok(self) -> bool:
        return self.error is None


@attrs.frozen(kw_only=True)
class UploadResult:
    """One file of an upload: the created Attachable (a raw entity) or the error for it."""

    attachable: QBOEntity | None = None
    error: QBOError | None = attrs.field(default=None, eq=False)


@attrs.frozen(kw_only=True)
class ReportColumn:
    title: str
    type: str
    metadata: Mapping[str, str] = attrs.field(factory=dict, hash=False)


@attrs.frozen(kw_only=True)
class ReportCell:
    value: str
    id: str | None = None


@attrs.frozen(kw_only=True)
class ReportRow:
    """One row of a report, flattened: `kind` is "Header", "Data" or "Summary".

    `path` holds the titles of the sections the row sits in (outermost first), and
    `group` the innermost section's `group` attribute (e.g. "Income").
    """

    kind: Literal["Header", "Data", "Summary"]
    cells: tuple[ReportCell, ...]
    path: tuple[str, ...]
    group: str | None

    def value(self, column: int) -> str:
        return self.cells[column].value if column < len(self.cells) else ""


@attrs.frozen(kw_only=True)
class Report:
    """A QBO report: its raw structure as sent, plus a typed walk over rows and columns."""

    name: str
    raw: Mapping[str, Any] = attrs.field(hash=False, repr=False)
    columns: tuple[ReportColumn, ...]
    options: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    start_period: str | None = None
    end_period: str | None = None
    currency: str | None = None

    def rows(self) -> Iterator[ReportRow]:
        """Every row, depth first, sections' headers before and summaries after their rows."""
        rows = self.raw.get("Rows")
        yield from _walk(rows, (), None)

    def data_rows(self) -> list[ReportRow]:
        return [row for row in self.rows() if row.kind == "Data"]

    def summary(self, group: str) -> ReportRow | None:
        """The summary row of the section whose `group` is `group` (e.g. "NetIncome")."""
        return next(
            (row for row in self.rows() if row.kind == "Summary" and row.group == group), None
        )


def _cells(data: object) -> tuple[ReportCell, ...]:
    if not isinstance(data, Mapping):
        return ()
    cells = data.get("ColData")
    if not isinstance(cells, list):
        return ()
    return tuple(
        ReportCell(
            value=str(cell.get("value", "")),
            id=str(cell["id"]) if cell.get("id") is not None else None,
        )
        for cell in cells
        if isinstance(cell, Mapping)
    )


def _walk(rows: object, path: tuple[str, ...], group: str | None) -> Iterator[ReportRow]:
    if not isinstance(rows, Mapping):
        return
    items = rows.get("Row")
    if not isinstance(items, list):
        return
    for row in items:
        if not isinstance(row, Mapping):
            continue
        own_group = str(row["group"]) if row.get("group") is not None else group
        if "ColData" in row:
            yield ReportRow(kind="Data", cells=_cells(row), path=path, group=own_group)
            continue
        header = _cells(row.get("Header"))
        title = header[0].value if header else (own_group or "")
        inner = (*path, title)
        if header:
            yield ReportRow(kind="Header", cells=header, path=inner, group=own_group)
        yield from _walk(row.get("Rows"), inner, own_group)
        summary = _cells(row.get("Summary"))
        if summary:
            yield ReportRow(kind="Summary", cells=summary, path=inner, group=own_group)
