"""The `Mirror` port: a local copy of QBO companies, by realm and entity type."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from qbo_core.dtos import EntitySummary, MirrorProgress
from qbo_core.entities import QBOEntity


@runtime_checkable
class Mirror(Protocol):
    """Entities of QBO companies kept locally, with where their copying stands.

    Rows are keyed by (realm, entity type, `Id`). Each row keeps the entity's `Id`,
    `SyncToken`, `MetaData.LastUpdatedTime` and its canonical JSON
    (`qbo_core.wire.canonical.canonical_json`), from which `get` decodes it again: what
    goes in comes back equal. `MirrorSync` writes it; hosts and tools read it.

    Every write is `apply`, one transaction: a reader, or a run interrupted at any point
    (a crash, a Ctrl-C), sees a realm either before or after an `apply`, never half of
    one. Realms are independent: nothing done to one changes another.

    A backend that fails or cannot be reached raises `StoreUnavailableError` (and
    `StoreCorruptError`, its subclass, when the stored data cannot be read at all, such
    as a damaged database file); nothing of a failed `apply` is kept.
    """

    async def ping(self) -> None:
        """Return once the backend has answered one round trip; otherwise raise.

        Raises `StoreUnavailableError` when the backend cannot be reached or fails to
        answer. Cheap and free of side effects; an in-process adapter returns at once.
        """
        ...

    async def apply(
        self,
        realm_id: str,
        *,
        upserts: Sequence[QBOEntity] = (),
        deletions: Sequence[tuple[str, str]] = (),
        progress: MirrorProgress | None = None,
    ) -> None:
        """In one transaction: store each of `upserts`, delete each `(entity_type, id)` of
        `deletions`, and store `progress` when given (else the stored one is kept).

        An upsert replaces the row with the same (realm, type, `Id`) whatever its
        `SyncToken` (the caller delivers versions in order); a deletion of a row that is
        not there is ignored. Upserts are applied before deletions, so an entity in both
        ends up deleted. Each upsert must have an `Id` (else `ValueError`, and nothing
        is applied). Idempotent: applying the same arguments twice leaves what once did.
        All or nothing: on any error nothing of the call is kept.
        """
        ...

    async def progress(self, realm_id: str) -> MirrorProgress | None:
        """The progress last stored for the realm, or `None` when none was."""
        ...

    async def summary(self, realm_id: str) -> Mapping[str, EntitySummary]:
        """Per entity type held for the realm: how many rows, and their checksum.

        The checksum is `qbo_core.wire.canonical.rows_checksum` of the rows' ids and
        canonical JSON (equal to `entity_checksum` of the entities `get` returns). Types
        with no rows are absent; an unknown realm gives an empty mapping.
        """
        ...

    async def ids(self, realm_id: str, entity_type: str) -> frozenset[str]:
        """The ids held for the realm's `entity_type` (empty when none)."""
        ...

    async def get(self, realm_id: str, entity_type: str, entity_id: str) -> QBOEntity | None:
        """The entity held under that key, or `None`.

        Decoded as `qbo_core.wire.entities.decode_entity` does: into its typed class
        when the package has one (`Customer`), else a `RawEntity`.
        """
        ...

    async def realms(self) -> tuple[str, ...]:
        """The realms holding rows or progress, sorted."""
        ...

    async def drop_realm(self, realm_id: str) -> None:
        """Delete everything held for the realm, rows and progress, in one transaction.
        An unknown realm is ignored."""
        ...
