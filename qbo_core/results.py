"""What the raw client returns besides single entities: pages, change sets, batch items and
their results, uploads and reports.

Frozen, keyword-only attrs classes holding data only, like every DTO in the core: the
decoding that builds them (a report's row walk included) and the encoding of batch items
live in `qbo_core.wire`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, Generic, Literal, TypeVar

import attrs

from qbo_core.dtos import SyncCursor
from qbo_core.entities import EntityBase, QBOEntity, entity_name, entity_type_of
from qbo_core.errors import QBOError
from qbo_core.query import Query

__all__ = [
    "BatchItem",
    "BatchItemResult",
    "BatchOperation",
    "ChangeBatch",
    "ChangeSet",
    "DeletedEntity",
    "QueryPage",
    "Report",
    "ReportCell",
    "ReportColumn",
    "ReportRow",
    "UploadResult",
]

E_co = TypeVar("E_co", bound=QBOEntity, covariant=True)


@attrs.frozen(kw_only=True)
class QueryPage(Generic[E_co]):
    """One page of a query. `max_results` is how many QBO returned, not how many were asked.

    `start_position` is `None` for an empty page (QBO omits it then). A page of a query
    built from an entity class (`Query.select(Customer)`) is a `QueryPage[Customer]`: every
    item is a `Customer`; otherwise a `QueryPage[QBOEntity]`. `time` is QBO's own clock
    when it answered (the envelope's `time`, with the company's offset), `None` when the
    answer carried none (a batch item's page); incremental sync computes cursors from it.
    """

    entity_type: str | None
    items: tuple[E_co, ...]
    start_position: int | None
    max_results: int
    total_count: int | None = None
    time: datetime | None = None

    def __iter__(self) -> Iterator[E_co]:
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
    `time` is QBO's own clock when it answered (the envelope's `time`), `None` if absent:
    the changes listed are those up to that moment.
    """

    changed: Mapping[str, tuple[QBOEntity, ...]] = attrs.field(converter=_frozen, hash=False)
    deleted: Mapping[str, tuple[DeletedEntity, ...]] = attrs.field(converter=_frozen, hash=False)
    capped: bool = False
    time: datetime | None = None

    @property
    def total(self) -> int:
        return sum(map(len, self.changed.values())) + sum(map(len, self.deleted.values()))


@attrs.frozen(kw_only=True)
class ChangeBatch:
    """What one incremental sync found: upserts, deletions, and the cursor to store.

    - `upserts`: entities created or changed, each once (its newest version), in the
      order of the entity types asked, then of `LastUpdatedTime`. Name-list entities
      QBO "deletes" arrive here deactivated (`Active` false).
    - `deletions`: entities deleted (CDC tombstones), each once.
    - `cursor`: store it, once the batch is applied, and pass it to the next sync.
    - `full_types`: entity types read in full (no position in the cursor yet): their
      `upserts` are every live entity of the type, and the host's copy of the type should
      be replaced by them (what it holds and they lack was deleted).
    - `unknown_deletions`: entity types for which deletions may be missing, because the
      cursor was older than CDC's window (the query path sees no hard deletes) or more
      than QBO's 1,000-object CDC cap changed (the older part of the split window is read
      by query). Resync those types (drop them from the cursor) or reconcile their ids.
    """

    upserts: tuple[QBOEntity, ...]
    deletions: tuple[DeletedEntity, ...]
    cursor: SyncCursor
    full_types: tuple[str, ...] = ()
    unknown_deletions: tuple[str, ...] = ()

    @property
    def deletions_complete(self) -> bool:
        """Whether every deletion since the previous cursor is in `deletions`."""
        return not self.unknown_deletions


BatchOperation = Literal["create", "update", "delete", "void", "query"]


@attrs.frozen(kw_only=True)
class BatchItem:
    """One operation in a batch request. Build with the class methods.

    A create or update holds its `entity` (encoded when the request is built); the other
    operations hold the JSON `payload` QBO takes, or the `query` statement.
    """

    bid: str
    operation: BatchOperation
    entity_type: str | None = None
    entity: QBOEntity | None = None
    payload: Mapping[str, Any] | None = attrs.field(default=None, hash=False)
    query: str | None = None

    @classmethod
    def create(cls, bid: str, entity: QBOEntity) -> BatchItem:
        return cls(bid=bid, operation="create", entity_type=entity_type_of(entity), entity=entity)

    @classmethod
    def update(cls, bid: str, entity: QBOEntity) -> BatchItem:
        return cls(bid=bid, operation="update", entity_type=entity_type_of(entity), entity=entity)

    @classmethod
    def sparse_update(
        cls,
        bid: str,
        entity_type: str | type[EntityBase],
        entity_id: str,
        sync_token: str,
        changes: Mapping[str, Any],
    ) -> BatchItem:
        payload = {**changes, "Id": entity_id, "SyncToken": sync_token, "sparse": True}
        return cls(
            bid=bid, operation="update", entity_type=entity_name(entity_type), payload=payload
        )

    @classmethod
    def delete(
        cls, bid: str, entity_type: str | type[EntityBase], entity_id: str, sync_token: str
    ) -> BatchItem:
        payload = {"Id": entity_id, "SyncToken": sync_token}
        return cls(
            bid=bid, operation="delete", entity_type=entity_name(entity_type), payload=payload
        )

    @classmethod
    def void(
        cls, bid: str, entity_type: str | type[EntityBase], entity_id: str, sync_token: str
    ) -> BatchItem:
        payload = {"Id": entity_id, "SyncToken": sync_token, "sparse": True}
        name = entity_name(entity_type)
        return cls(bid=bid, operation="void", entity_type=name, payload=payload)

    @classmethod
    def select(cls, bid: str, statement: str | Query[QBOEntity]) -> BatchItem:
        """A query item: `statement` is a string or a `qbo_core.query.Query`."""
        return cls(bid=bid, operation="query", query=str(statement))


@attrs.frozen(kw_only=True)
class BatchItemResult:
    """The answer to one batch item: exactly one of entity, page, deleted or error is set."""

    bid: str
    entity: QBOEntity | None = None
    page: QueryPage[QBOEntity] | None = None
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
    """A QBO report: its raw structure as sent, its columns, and its rows flattened.

    `rows` holds every row, depth first, each section's header before and its summary
    after the section's rows.
    """

    name: str
    raw: Mapping[str, Any] = attrs.field(hash=False, repr=False)
    columns: tuple[ReportColumn, ...]
    rows: tuple[ReportRow, ...] = ()
    options: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    start_period: str | None = None
    end_period: str | None = None
    currency: str | None = None

    def data_rows(self) -> list[ReportRow]:
        return [row for row in self.rows if row.kind == "Data"]

    def summary(self, group: str) -> ReportRow | None:
        """The summary row of the section whose `group` is `group` (e.g. "NetIncome")."""
        return next(
            (row for row in self.rows if row.kind == "Summary" and row.group == group), None
        )
