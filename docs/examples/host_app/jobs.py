"""The app's background work: the mirror job, and what a webhook delivery triggers.

Both write to the one `Mirror`, so both take the realm's lock first: `MirrorSync` runs
of one realm must not overlap, nor a webhook's upserts land in the middle of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Sequence

from host_app.database import HostDatabase
from qbo_container import QBO
from qbo_core import (
    MirrorSync,
    QBOError,
    ReconcileResult,
    SmartSyncService,
    SyncReport,
    WebhookEvent,
    reconcile,
)
from qbo_core.ports import Clock, Mirror

__all__ = ["SyncJob", "WebhookInbox"]

_log = logging.getLogger("host_app")


class _RealmLocks:
    """One `asyncio.Lock` per realm: the app's single writer per company mirror."""

    def __init__(self) -> None:
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def __call__(self, realm_id: str) -> asyncio.Lock:
        return self._locks[realm_id]


class SyncJob:
    """Mirrors every connected business's company into `mirror`, every `interval` seconds.

    `start()` runs it as a task (a first run at once, then one per interval, slept on
    `clock`); `close()` cancels it and waits for it. `run_once()` is one iteration: a
    `MirrorSync` run per connected business (full the first time, incremental after),
    one log line each; a business whose run fails is logged and retried next time.
    """

    def __init__(
        self,
        qbo: QBO,
        database: HostDatabase,
        mirror: Mirror,
        *,
        interval: float,
        entities: Sequence[str],
        clock: Clock | None = None,
    ) -> None:
        self._qbo = qbo
        self._database = database
        self._mirror = mirror
        self._interval = interval
        self._entities = tuple(entities)
        self._clock = clock if clock is not None else qbo.clock
        self.locks = _RealmLocks()
        self._task: asyncio.Task[None] | None = None
        self._finished = asyncio.Condition()
        #: Iterations completed so far.
        self.runs = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="host_app.sync_job")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self) -> dict[str, SyncReport]:
        """One iteration; returns each business's report (failed ones left out)."""
        reports: dict[str, SyncReport] = {}
        for business_id, business in self._database.connected():
            realm = business.realm_id
            assert realm is not None  # connected() lists businesses with a realm only
            sync = MirrorSync(
                self._qbo.smart_sync(business_id=business_id, realm_id=realm),
                self._mirror,
                entities=self._entities,
            )
            try:
                async with self.locks(realm):
                    report = await sync.run()
            except QBOError as exc:
                # The error's text names what failed, never a token.
                _log.warning("sync %s (realm %s) failed: %s", business_id, realm, exc)
                continue
            reports[business_id] = report
            _log.info(
                "sync %s (realm %s): %s, %d upserted, %d deleted",
                business_id,
                realm,
                report.mode,
                sum(report.upserted.values()),
                sum(report.deleted.values()),
            )
        async with self._finished:
            self.runs += 1
            self._finished.notify_all()
        return reports

    async def wait_for_runs(self, count: int) -> None:
        """Return once `count` iterations have completed (for tests and health pages)."""
        async with self._finished:
            await self._finished.wait_for(lambda: self.runs >= count)

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # the mirror's store down, say: log it, try again later
                _log.exception("the sync job's iteration failed")
            await self._clock.sleep(self._interval)


class WebhookInbox:
    """The webhook callback: records each accepted event, then reconciles them.

    Reconciling reads the changed entities from QBO (`reconcile`, through the business's
    `smart_sync`) and writes them to the mirror under the realm's lock, so the mirror
    follows a change in seconds rather than at the next sync run. Events of a realm no
    business is connected to are recorded and skipped. `events` and `results` keep what
    was received and fetched (a real host would store or meter them instead).
    """

    def __init__(self, qbo: QBO, database: HostDatabase, mirror: Mirror, job: SyncJob) -> None:
        self._qbo = qbo
        self._database = database
        self._mirror = mirror
        self._job = job
        self.events: list[WebhookEvent] = []
        self.results: asyncio.Queue[ReconcileResult] = asyncio.Queue()

    async def __call__(self, events: tuple[WebhookEvent, ...]) -> None:
        self.events.extend(events)
        by_realm: defaultdict[str, list[WebhookEvent]] = defaultdict(list)
        for event in events:
            by_realm[event.realm_id].append(event)
        for realm, realm_events in by_realm.items():
            business_id = self._database.business_of(realm)
            if business_id is None:
                _log.warning("webhook events for realm %s, which no business owns", realm)
                continue
            result = await reconcile(realm_events, self._smart_sync_for)
            async with self._job.locks(realm):
                await self._mirror.apply(realm, upserts=result.entities, deletions=result.deleted)
            _log.info(
                "webhook %s (realm %s): %d events, %d fetched, %d deleted, %d failed",
                business_id,
                realm,
                len(realm_events),
                len(result.entities),
                len(result.deleted),
                len(result.failed),
            )
            self.results.put_nowait(result)

    def _smart_sync_for(self, realm_id: str) -> SmartSyncService:
        business_id = self._database.business_of(realm_id)
        if business_id is None:  # disconnected meanwhile: smart sync then refuses the realm
            business_id = "unknown"
        return self._qbo.smart_sync(business_id=business_id, realm_id=realm_id)
