"""A raw client bound to one emulator realm: what `SmartSyncService` will be to the
streaming, incremental-sync and batch-writing functions (their `*Caller` protocols).

`BoundClient` passes every call to `QBORawClient` with the realm's `RealmAuth`, minting a
fresh access token when the emulator's clock has moved past the old one's life.
`SyncWorld` is an emulator on a `FakeClock` set in 2031 (far from the generated data's
2026 anchor and from the machine's clock), throttling off, plus the counters tests read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar, overload

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.memory.clock import FakeClock
from qbo_core.config import QBOConfig
from qbo_core.dtos import RealmAuth
from qbo_core.entities import EntityBase, QBOEntity, TypedEntity
from qbo_core.query import Query
from qbo_core.results import BatchItem, BatchItemResult, ChangeSet, QueryPage
from qbo_core.services import BatchCaller, ChangeCaller, QBORawClient, QueryCaller

__all__ = ["EMULATOR_START", "BoundClient", "SyncWorld"]

TypedEntityT = TypeVar("TypedEntityT", bound=TypedEntity)

#: The emulator's clock: years from the machine's clock and from the generated data.
EMULATOR_START = datetime(2031, 6, 1, 17, 0, tzinfo=UTC)


class SyncWorld:
    """One emulator company on a fake clock, and a `BoundClient` for it."""

    def __init__(self, **settings: Any) -> None:
        self.clock = FakeClock(EMULATOR_START)
        options: dict[str, Any] = {"seed": 10, "size": "small", "throttle": False}
        options.update(settings)
        self.emulator = QBOEmulator(EmulatorSettings(**options), clock=self.clock)
        self.realm = self.emulator.realm_ids[0]
        self.raw = QBORawClient(EmulatorTransport(self.emulator), QBOConfig())
        self.client = BoundClient(self)

    @property
    def company(self) -> Any:
        return self.emulator.companies[self.realm]

    def auth(self) -> RealmAuth:
        token = self.emulator.oauth.mint_tokens(self.realm)["access_token"]
        return RealmAuth(realm_id=self.realm, access_token=token)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def requests(self, path: str) -> int:
        """How many requests the emulator received whose path holds `path`."""
        return sum(1 for entry in self.emulator.request_log if path in entry.path)


class BoundClient:
    """`QBORawClient` bound to one realm: the shape the sync functions call."""

    def __init__(self, world: SyncWorld) -> None:
        self._world = world
        self._auth: RealmAuth | None = None
        self._minted_at: datetime | None = None
        #: Every statement queried, every CDC call (types, changedSince), every batch size.
        self.statements: list[str] = []
        self.cdc_calls: list[tuple[list[str], datetime | date]] = []
        self.batch_sizes: list[int] = []

    def auth(self) -> RealmAuth:
        now = self._world.clock.now()
        if (
            self._auth is None
            or self._minted_at is None
            or (now - self._minted_at).total_seconds() > 600
        ):
            self._auth, self._minted_at = self._world.auth(), now
        return self._auth

    @overload
    async def query(self, statement: Query[TypedEntityT]) -> QueryPage[TypedEntityT]: ...
    @overload
    async def query(self, statement: str | Query[QBOEntity]) -> QueryPage[QBOEntity]: ...
    async def query(self, statement: str | Query[QBOEntity]) -> QueryPage[QBOEntity]:
        self.statements.append(str(statement))
        return await self._world.raw.query(self.auth(), statement)

    async def cdc(
        self, entity_types: Sequence[str | type[EntityBase]], changed_since: date | datetime
    ) -> ChangeSet:
        self.cdc_calls.append(([str(kind) for kind in entity_types], changed_since))
        return await self._world.raw.cdc(self.auth(), entity_types, changed_since)

    async def batch(self, items: Sequence[BatchItem]) -> tuple[BatchItemResult, ...]:
        self.batch_sizes.append(len(items))
        return await self._world.raw.batch(self.auth(), items)


def _conforms(client: BoundClient) -> tuple[QueryCaller, ChangeCaller, BatchCaller]:
    """Type-only: a bound client is each of the three callers."""
    return client, client, client
