"""`SmartSyncService`: the resilient path hosts call for everything, one realm per instance.

The order for one call::

    cache (reads)  ->  de-duplication of identical in-flight reads  ->  [ retries:
        access token (auth service)  ->  limiter permit  ->  QBORawClient ]

The access token is read before the permit, not after it: nothing is awaited between
the permit's grant and the request going out. QBO counts a request when it arrives and
the limiter's windows count it when granted; a token-store read between the two let the
event loop run other work first (decoding and storing a 1,000-row page: 223 ms in the
medium demo), the request arrived that much later than its grant, and QBO answered 429
where the windows had room. A permit that waited longer than half the auth service's
refresh margin reads the token again inside it, so no request carries a token staler
than the auth service allows.

What it guarantees, and how:

- **One upstream request for identical concurrent reads.** `read`, `query`, `count`,
  `cdc`, `report`, `company_info` and `preferences` that are already in flight with the
  same arguments (in this process, through the shared `ReadCoalescer`) are joined, not
  sent again; every waiter gets the same result or error. The first caller runs the
  read itself (no task, no turn of the event loop added to a miss); a cancelled joined
  caller leaves it running for the others. A cancelled first caller takes its read with
  it, and the first of the callers that had joined runs it again for the rest (one more
  request, only then). A read that starts after a write has finished never joins one
  that started before it.
- **Retries that never double a write.** Each logical write (`create`, `update`,
  `sparse_update`, `delete`, `void`, `upload`, and a `batch` holding a write) gets one
  `requestid` (a uuid4, or the caller's `request_id`), generated once and sent with
  every attempt, so when an attempt's outcome is unknown (a timeout after QBO applied
  it, a reset, a 5xx, a damaged body) the retry gets QBO's first answer replayed instead
  of acting twice. A write sent without a requestid (a batch whose bIds are longer than
  the 10 characters QBO allows with one) is retried only after failures that prove
  nothing was applied: the request was never sent, a 429, a 401.
- **What is retried.** `RequestNotSentError`, `OutcomeUnknownError`, `ServerError` and
  `IncompleteResponseError` after a wait drawn from the `RetryPolicy` (exponential, full
  jitter, slept on the `Clock`); a 429 (`ThrottledError`) after telling the limiter
  (`Permits.throttled`, which holds the realm back for Retry-After or 60 s in every
  process) — the next permit waits for that; a 401 (`AccessTokenInvalidError` from the
  data API) once, at once, after `auth.access_token(realm, rejected=<the refused
  token>)` refreshed it. Never: validation faults (stale SyncToken 5010, duplicate name
  6240, ...), other authentication failures, `DecodeError`s of a well-formed but
  unexpected answer. Attempts and total time are bounded by the policy.
- **Errors name what failed.** The error finally raised is the typed `QBOError` of the
  last attempt, carrying QBO's last answer (`status`, `codes`, `intuit_tid`), the
  `realm_id`, the `operation` (`"create Invoice"`) and the number of `attempts`.
- **A cache that is never wrong for longer than its TTL, and never fatal.** Reads are
  cached as bytes (the entity codec), per realm, for the TTL of their entity type
  (`DEFAULT_CACHE_TTLS`, overridable; 0 disables). Every write, whatever its outcome,
  drops the realm's whole cache (`Cache.invalidate_realm`; `invalidate()` does the same
  for a change made elsewhere, such as one a webhook reports): a transaction changes
  customer, account and linked-transaction balances, a rename changes names inside
  references, so no narrower set is safe. A read that overlapped a write in this process
  is returned but not cached. A failing cache backend (`StoreUnavailableError`) or an
  unreadable entry is a miss, reported as a `cache.error` event; the call goes on.
- **Cancellation is clean.** A cancelled caller leaves the limiter's context manager
  (its permit is released); no task is left behind, and no caller that joined a read is
  left waiting for it.
- **Events.** Cache hits, misses, errors and coalesced reads (`cache.*`), each retry
  (`http.retry`: operation, attempt, wait, error, status, code, intuit_tid) and each 429
  (`rate.throttled`) go to the `EventSink`; each HTTP exchange is reported by the raw
  client (`http.request`) when it was given the sink, as the container does.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import re
import uuid
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any, Protocol, TypeVar, cast, overload, runtime_checkable

from qbo_core import events
from qbo_core.config import QBOConfig
from qbo_core.dtos import QBOEvent, RealmAuth, SyncCursor
from qbo_core.entities import (
    CompanyInfo,
    EntityBase,
    QBOEntity,
    RawEntity,
    TypedEntity,
    entity_name,
    entity_type_of,
)
from qbo_core.errors import (
    AccessTokenInvalidError,
    AuthenticationError,
    QBOError,
    RequestNotSentError,
    StoreUnavailableError,
    ThrottledError,
)
from qbo_core.ports.cache import Cache
from qbo_core.ports.clock import Clock
from qbo_core.ports.event_sink import EventSink
from qbo_core.query import MAX_MAX_RESULTS, Query
from qbo_core.results import (
    BatchItem,
    BatchItemResult,
    ChangeBatch,
    ChangeSet,
    DeletedEntity,
    QueryPage,
    Report,
    UploadResult,
)
from qbo_core.services.auth import QBOAuthService
from qbo_core.services.batch_writer import write_batch
from qbo_core.services.incremental import DEFAULT_OVERLAP, changes_since
from qbo_core.services.raw_client import QBORawClient
from qbo_core.services.retry import RetryPolicy
from qbo_core.services.streaming import query_all, query_pages
from qbo_core.wire import cache_values

__all__ = [
    "DEFAULT_CACHE_TTLS",
    "Permits",
    "ReadCoalescer",
    "SmartSyncService",
    "UnlimitedPermits",
]

R = TypeVar("R")
#: An entity given to `create` / `update`: the answer has its class.
E = TypeVar("E", bound=QBOEntity)
#: A typed entity class named by a call: the answer is an instance of it.
T = TypeVar("T", bound=TypedEntity)

#: Seconds a cached answer lives, by entity type. `"Report"` is for reports and `"*"` for
#: every type not listed (transactions, mostly). Name lists change rarely; transactions
#: and balances often. Any key can be overridden with `cache_ttls`; 0 turns caching off.
DEFAULT_CACHE_TTLS: Mapping[str, float] = MappingProxyType(
    {
        "CompanyInfo": 3600.0,
        "Preferences": 3600.0,
        "Account": 600.0,
        "Class": 600.0,
        "Department": 600.0,
        "Item": 600.0,
        "PaymentMethod": 600.0,
        "TaxCode": 600.0,
        "TaxRate": 600.0,
        "Term": 600.0,
        "Customer": 300.0,
        "Employee": 300.0,
        "Vendor": 300.0,
        "Report": 300.0,
        "*": 60.0,
    }
)

#: Every cache key starts with this; a change of the stored format changes it.
_KEY_PREFIX = "sync1:"
_FROM = re.compile(r"\bfrom\s+([A-Za-z][A-Za-z0-9]*)", re.IGNORECASE)
#: The longest bId QBO accepts in a batch that carries a requestid.
_BATCH_BID_WITH_REQUEST_ID = 10


# --------------------------------------------------------------------- the limiter seam


# A Protocol declaration, left out of mutation like the ports: mutmut's trampolines would
# add members to it, and then no limiter would be an instance of it (runtime_checkable).
@runtime_checkable
class Permits(Protocol):  # pragma: no mutate block
    """What the service needs from a rate limiter (the real one is `RateLimiter`).

    `permit` is entered around each attempt (token and HTTP call); it may wait (on the
    clock) for the realm's windows and an in-flight slot, and must release the slot on
    exit, cancellation included. `throttled` is told about each 429 QBO answered: the
    realm is held back for `retry_after` seconds (60 when `None`), so that the next
    permit waits until then.
    """

    def permit(
        self, realm_id: str, *, batch: bool = False
    ) -> contextlib.AbstractAsyncContextManager[None]: ...

    async def throttled(self, realm_id: str, *, retry_after: float | None) -> None: ...


class UnlimitedPermits:
    """A `Permits` with no limit of its own, for hosts that want none (one process).

    Permits are granted at once, except after a 429: `throttled` holds the realm back
    in this process for Retry-After seconds (`default_block`, 60, when QBO sent none),
    and permits for it wait on the clock until then. Nothing is shared across
    processes: with several workers, use the real `RateLimiter`.
    """

    def __init__(self, clock: Clock, *, default_block: float = 60.0) -> None:
        self._clock = clock
        self._default_block = default_block
        self._blocked_until: dict[str, float] = {}  # monotonic seconds

    def blocked_until(self, realm_id: str) -> float | None:
        """When (on `clock.monotonic()`) the realm's block ends, or `None`."""
        return self._blocked_until.get(realm_id)

    @contextlib.asynccontextmanager
    async def permit(self, realm_id: str, *, batch: bool = False) -> AsyncIterator[None]:
        while True:
            until = self._blocked_until.get(realm_id)
            left = until - self._clock.monotonic() if until is not None else 0.0
            if left <= 0:
                break
            await self._clock.sleep(left)
        yield

    async def throttled(self, realm_id: str, *, retry_after: float | None) -> None:
        wait = retry_after if retry_after is not None else self._default_block
        until = self._clock.monotonic() + max(wait, 0.0)
        self._blocked_until[realm_id] = max(until, self._blocked_until.get(realm_id, until))

    def __repr__(self) -> str:
        return "UnlimitedPermits()"


# --------------------------------------------------------------------- de-duplication


class _Flight:
    """One shared read, run by its first caller: the futures of the callers that joined
    it (insertion-ordered), which the first caller resolves when the read ends, and the
    one last chosen to run the read again (`_RESTART`), if any."""

    __slots__ = ("chosen", "waiters")

    def __init__(self) -> None:
        self.waiters: dict[asyncio.Future[Any], None] = {}
        self.chosen: asyncio.Future[Any] | None = None


#: What a joined caller's future holds when the caller running the read was cancelled
#: and this caller is to run it again (the others stay joined).
_RESTART: Any = object()


class ReadCoalescer:
    """The reads in flight and the writes under way, per realm, for one process.

    Shared by every `SmartSyncService` of a process (the container holds one), so that
    identical reads coalesce whichever instance they come through. Each write moves
    the realm's epoch on when it starts and when it ends: a read joins only a flight of
    the current epoch, and its result is cached only when the epoch did not move while
    it was in flight (no write overlapped it).
    """

    def __init__(self) -> None:
        self._flights: dict[tuple[str, int, str], _Flight] = {}
        self._epochs: dict[str, int] = {}
        self._writing: dict[str, int] = {}

    def in_flight(self) -> int:
        """How many shared reads are running now."""
        return len(self._flights)

    def epoch(self, realm_id: str) -> int:
        return self._epochs.get(realm_id, 0)

    def quiet(self, realm_id: str, since: int) -> bool:
        """Whether no write of the realm started, ran or ended since epoch `since`."""
        return self._epochs.get(realm_id, 0) == since and not self._writing.get(realm_id)

    def write_started(self, realm_id: str) -> None:
        """A write of the realm begins; end it with `write_finished`, once."""
        self._epochs[realm_id] = self.epoch(realm_id) + 1
        self._writing[realm_id] = self._writing.get(realm_id, 0) + 1

    def write_finished(self, realm_id: str) -> None:
        """A write begun with `write_started` ended (`RuntimeError` if none is under way)."""
        left = self._writing.get(realm_id, 0) - 1
        if left < 0:
            raise RuntimeError(f"write_finished({realm_id!r}) without a write under way")
        self._epochs[realm_id] = self.epoch(realm_id) + 1
        if left:
            self._writing[realm_id] = left
        else:
            del self._writing[realm_id]

    async def run(
        self,
        realm_id: str,
        key: str,
        start: Callable[[], Coroutine[Any, Any, R]],
        joined: Callable[[], None],
    ) -> R:
        """`await start()`, or join the identical flight already running (`joined` is
        called then).

        The first caller runs the read itself: no task of its own, no turn of the event
        loop added to a read. Callers that join it each await a future of their own,
        which the runner resolves with the read's result or error, so cancelling a
        joined caller cancels only its own wait. Cancelling the runner cancels the read
        (its request may already have reached QBO); the callers that joined are not
        cancelled: the first of them still waiting runs the read again, and the others
        stay joined to it.
        """
        slot = (realm_id, self._epochs.get(realm_id, 0), key)
        flight = self._flights.get(slot)
        if flight is None:
            flight = self._flights[slot] = _Flight()
            return await self._lead(slot, flight, start)
        joined()
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        flight.waiters[waiter] = None
        try:
            value = await waiter
        except asyncio.CancelledError:
            if flight.chosen is waiter:
                # Chosen to run the read again, but cancelled first: pass it on. (Any
                # other outcome already in the future is dropped: a cancelled caller
                # ends cancelled, never with the read's result or error.)
                del flight.waiters[waiter]
                self._hand_over(slot, flight)
            raise
        finally:
            flight.waiters.pop(waiter, None)
        if value is _RESTART:
            return await self._lead(slot, flight, start)
        return cast(R, value)

    async def _lead(
        self,
        slot: tuple[str, int, str],
        flight: _Flight,
        start: Callable[[], Coroutine[Any, Any, R]],
    ) -> R:
        """Run the read for `flight`, then hand its outcome to the callers that joined."""
        try:
            result = await start()
        except asyncio.CancelledError:
            self._hand_over(slot, flight)
            raise
        except BaseException as error:
            self._landed(slot, flight)
            for waiter in flight.waiters:
                if not waiter.done():
                    waiter.set_exception(error)
            raise
        self._landed(slot, flight)
        for waiter in flight.waiters:
            if not waiter.done():
                waiter.set_result(result)
        return result

    def _hand_over(self, slot: tuple[str, int, str], flight: _Flight) -> None:
        """The flight's runner was cancelled: the first caller still waiting runs it
        again (its future holds `_RESTART`); with none left, the flight is over."""
        for waiter in flight.waiters:
            if not waiter.done():
                flight.chosen = waiter
                waiter.set_result(_RESTART)
                return
        self._landed(slot, flight)

    def _landed(self, slot: tuple[str, int, str], flight: _Flight) -> None:
        if self._flights.get(slot) is flight:
            del self._flights[slot]


# --------------------------------------------------------------------- the service


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def _statement_of(statement: str | Query[QBOEntity]) -> tuple[str, str | None]:
    """The text of a query and the entity type it reads (`None` when not recognised)."""
    if isinstance(statement, Query):
        return statement.build(), statement.entity
    if isinstance(statement, str):
        found = _FROM.search(statement)
        return statement, found[1] if found else None
    raise TypeError(f"a query is a str or a Query, got {type(statement).__name__}")


def _when(value: date | datetime) -> str:
    return value.isoformat()


class SmartSyncService:
    """Every QBO operation for one business's company, cached, de-duplicated, rate
    limited, authenticated and retried (see the module docstring for the guarantees).

    `limiter` is the rate limiter (`Permits`); `cache` the `Cache` port; `retry` the
    `RetryPolicy` (default: `RetryPolicy()`); `cache_ttls` overrides entries of
    `DEFAULT_CACHE_TTLS` (seconds; 0 turns caching off for that type);
    `coalescer` the process's `ReadCoalescer` (default: one of this instance's own).
    """

    def __init__(
        self,
        business_id: str,
        realm_id: str,
        *,
        raw_client: QBORawClient,
        auth: QBOAuthService,
        limiter: Permits,
        cache: Cache,
        clock: Clock,
        events: EventSink,
        config: QBOConfig,
        retry: RetryPolicy | None = None,
        cache_ttls: Mapping[str, float] | None = None,
        coalescer: ReadCoalescer | None = None,
    ) -> None:
        if not isinstance(business_id, str) or not business_id:
            raise ValueError("business_id must be a non-empty string")
        if not isinstance(realm_id, str) or not realm_id.isdigit():
            raise ValueError("realm_id must be the numeric QBO company id")
        ttls = dict(DEFAULT_CACHE_TTLS)
        for name, ttl in (cache_ttls or {}).items():
            if isinstance(ttl, bool) or not isinstance(ttl, int | float):
                raise ValueError(f"cache_ttls[{name!r}] must be seconds, got {ttl!r}")
            if not (math.isfinite(ttl) and ttl >= 0):
                raise ValueError(f"cache_ttls[{name!r}] must be >= 0 seconds, got {ttl!r}")
            ttls[name] = float(ttl)
        self._business_id = business_id
        self._realm_id = realm_id
        self._raw = raw_client
        self._auth = auth
        self._limiter = limiter
        self._cache = cache
        self._clock = clock
        self._events = events
        self._config = config
        self._retry = retry if retry is not None else RetryPolicy()
        self._ttls: Mapping[str, float] = MappingProxyType(ttls)
        self._coalescer = coalescer if coalescer is not None else ReadCoalescer()
        self._last_auth: RealmAuth | None = None
        # A permit slower than this re-reads the token inside it (`_send`).
        self._token_recheck = config.refresh_margin / 2

    @property
    def business_id(self) -> str:
        return self._business_id

    @property
    def realm_id(self) -> str:
        return self._realm_id

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._retry

    def cache_ttl(self, entity_type: str | None) -> float:
        """The TTL, in seconds, of cached reads of `entity_type` (0: not cached)."""
        if entity_type is None:
            return 0.0
        return self._ttls.get(entity_type, self._ttls["*"])  # "*" is in the defaults

    def __repr__(self) -> str:
        return f"SmartSyncService(business_id={self._business_id!r}, realm_id={self._realm_id!r})"

    async def invalidate(self) -> None:
        """Drop this realm's cached answers, so the next reads go to QBO.

        For a host that learned of a change made elsewhere (a webhook, another app):
        what the cache held from before is gone, in every process sharing the cache.
        Reads in flight while it runs are not cached, as if a write had overlapped
        them. A failing cache is reported as `cache.error` and otherwise ignored.
        """
        self._coalescer.write_started(self._realm_id)
        try:
            await self._invalidate("invalidate")
        finally:
            self._coalescer.write_finished(self._realm_id)

    # ----------------------------------------------------------------- single entities

    @overload
    async def read(self, entity_type: type[T], entity_id: str) -> T: ...
    @overload
    async def read(self, entity_type: str, entity_id: str) -> QBOEntity: ...
    async def read(self, entity_type: str | type[T], entity_id: str) -> QBOEntity:
        """The entity with `entity_id`, typed as `QBORawClient.read` types it."""
        name = entity_name(entity_type)
        cls = None if isinstance(entity_type, str) else entity_type
        ttl = self.cache_ttl(name)
        if ttl <= 0:
            return await self._read_through(
                f"read {name}",
                f"read:{name}:{entity_id}",
                ttl,
                lambda auth: self._raw.read(auth, entity_type, entity_id),
                None,
                None,
            )
        # The cache value is the response body as it came (`dump_entity_body`), kept here
        # by the last successful attempt: no encoding of the entity again for the set.
        wire: list[tuple[str, bytes]] = []

        async def fetch(auth: RealmAuth) -> QBOEntity:
            entity, key, body = await self._raw.read_with_body(auth, entity_type, entity_id)
            wire[:] = ((key, body),)
            return entity

        def dump(entity: QBOEntity) -> bytes:
            if wire:
                key, body = wire[0]
                value = cache_values.dump_entity_body(entity_type_of(entity), key, body)
                if value is not None:
                    return value
            return cache_values.dump_entity(entity)

        return await self._read_through(
            f"read {name}",
            f"read:{name}:{entity_id}",
            ttl,
            fetch,
            dump,
            lambda raw: cache_values.load_entity(raw, cls),
        )

    async def create(self, entity: E, *, request_id: str | None = None) -> E:
        """Create `entity` (one requestid for every attempt: `request_id`, or a new uuid4)."""
        return await self._write(
            f"create {entity_type_of(entity)}",
            lambda auth, rid: self._raw.create(auth, entity, request_id=rid),
            request_id,
        )

    async def update(self, entity: E, *, request_id: str | None = None) -> E:
        """Full update of `entity` (see `QBORawClient.update`), with one requestid."""
        return await self._write(
            f"update {entity_type_of(entity)}",
            lambda auth, rid: self._raw.update(auth, entity, request_id=rid),
            request_id,
        )

    @overload
    async def sparse_update(
        self,
        entity_type: type[T],
        entity_id: str,
        sync_token: str,
        changes: Mapping[str, Any],
        *,
        request_id: str | None = None,
    ) -> T: ...
    @overload
    async def sparse_update(
        self,
        entity_type: str,
        entity_id: str,
        sync_token: str,
        changes: Mapping[str, Any],
        *,
        request_id: str | None = None,
    ) -> QBOEntity: ...
    async def sparse_update(
        self,
        entity_type: str | type[T],
        entity_id: str,
        sync_token: str,
        changes: Mapping[str, Any],
        *,
        request_id: str | None = None,
    ) -> QBOEntity:
        """Change only the fields in `changes`, with one requestid."""
        return await self._write(
            f"sparse_update {entity_name(entity_type)}",
            lambda auth, rid: self._raw.sparse_update(
                auth, entity_type, entity_id, sync_token, changes, request_id=rid
            ),
            request_id,
        )

    async def delete(
        self,
        entity_type: str | type[EntityBase],
        entity_id: str,
        sync_token: str,
        *,
        request_id: str | None = None,
    ) -> DeletedEntity:
        """Delete a transaction, with one requestid."""
        return await self._write(
            f"delete {entity_name(entity_type)}",
            lambda auth, rid: self._raw.delete(
                auth, entity_type, entity_id, sync_token, request_id=rid
            ),
            request_id,
        )

    @overload
    async def void(
        self,
        entity_type: type[T],
        entity_id: str,
        sync_token: str,
        *,
        request_id: str | None = None,
    ) -> T: ...
    @overload
    async def void(
        self, entity_type: str, entity_id: str, sync_token: str, *, request_id: str | None = None
    ) -> QBOEntity: ...
    async def void(
        self,
        entity_type: str | type[T],
        entity_id: str,
        sync_token: str,
        *,
        request_id: str | None = None,
    ) -> QBOEntity:
        """Void a transaction, with one requestid."""
        return await self._write(
            f"void {entity_name(entity_type)}",
            lambda auth, rid: self._raw.void(
                auth, entity_type, entity_id, sync_token, request_id=rid
            ),
            request_id,
        )

    # ----------------------------------------------------------------- queries and changes

    @overload
    async def query(self, statement: Query[T]) -> QueryPage[T]: ...
    @overload
    async def query(self, statement: str | Query[QBOEntity]) -> QueryPage[QBOEntity]: ...
    async def query(self, statement: str | Query[QBOEntity]) -> QueryPage[QBOEntity]:
        """One page of `statement`, typed as `QBORawClient.query` types it."""
        text, name = _statement_of(statement)
        cls = statement.entity_class if isinstance(statement, Query) else None
        typed = cls if cls is not None and issubclass(cls, EntityBase) else None
        return await self._read_through(
            f"query {name or '?'}",
            f"query:{name}:{_digest(text)}",
            self.cache_ttl(name),
            lambda auth: self._raw.query(auth, statement),
            cache_values.dump_page,
            lambda raw: cache_values.load_page(raw, typed),
        )

    async def count(self, statement: str | Query[QBOEntity]) -> int:
        """The `totalCount` of a `SELECT COUNT(*)` statement."""
        text, name = _statement_of(statement)
        return await self._read_through(
            f"count {name or '?'}",
            f"count:{name}:{_digest(text)}",
            self.cache_ttl(name),
            lambda auth: self._raw.count(auth, statement),
            cache_values.dump_count,
            cache_values.load_count,
        )

    async def cdc(
        self,
        entity_types: Sequence[str | type[EntityBase]],
        changed_since: date | datetime,
    ) -> ChangeSet:
        """What changed since `changed_since` (never cached; identical calls coalesce)."""
        names = [entity_name(kind) for kind in entity_types]
        return await self._read_through(
            "cdc",
            f"cdc:{_digest(*names, _when(changed_since))}",
            0.0,
            lambda auth: self._raw.cdc(auth, entity_types, changed_since),
            None,
            None,
        )

    async def batch(
        self, items: Sequence[BatchItem], *, request_id: str | None = None
    ) -> tuple[BatchItemResult, ...]:
        """Up to 30 operations in one request; each result carries its own error.

        A batch holding a write is a write: one requestid for every attempt, the realm's
        cache dropped afterwards. QBO allows bIds of at most 10 characters with a
        requestid; a batch with longer ones is sent without (and then retried only after
        failures that prove nothing was applied). Item errors are results, not retried.
        """
        items = tuple(items)
        if all(item.operation == "query" for item in items):
            return await self._send("batch", lambda auth: self._raw.batch(auth, items), batch=True)
        short = all(len(item.bid) <= _BATCH_BID_WITH_REQUEST_ID for item in items)
        if request_id is None and not short:
            return await self._write(
                "batch",
                lambda auth, _: self._raw.batch(auth, items),
                None,
                batch=True,
                with_id=False,
            )
        return await self._write(
            "batch",
            lambda auth, rid: self._raw.batch(auth, items, request_id=rid),
            request_id,
            batch=True,
        )

    # ----------------------------------------------------------------- streams, sync, batches

    def query_all(self, query: Query[E], *, page_size: int = MAX_MAX_RESULTS) -> AsyncIterator[E]:
        """Every entity `query` matches, page by page through this service, one page held.

        See `qbo_core.services.streaming.query_all`: each page is one resilient `query`
        (cached, coalesced, limited, retried); a refused query raises at the call.
        """
        return query_all(self, query, page_size=page_size)

    def query_pages(
        self, query: Query[E], *, page_size: int = MAX_MAX_RESULTS
    ) -> AsyncIterator[QueryPage[E]]:
        """Every page of `query`, each fetched when the previous one was consumed."""
        return query_pages(self, query, page_size=page_size)

    async def changes_since(
        self,
        entities: Sequence[str | type[EntityBase]],
        cursor: SyncCursor | None,
        *,
        overlap: timedelta = DEFAULT_OVERLAP,
    ) -> ChangeBatch:
        """What changed in `entities` since `cursor` (`None`: everything) and the next cursor.

        See `qbo_core.services.incremental.changes_since`: CDC inside its window, paged
        `LastUpdatedTime` queries beyond it, cursors from QBO's own times. Store the
        returned `cursor` and pass it back next time.
        """
        return await changes_since(self, entities, cursor, config=self._config, overlap=overlap)

    async def write_batch(
        self, items: Iterable[BatchItem], *, size: int | None = None
    ) -> list[BatchItemResult]:
        """Any number of operations in batches of at most 30, one result per item, in order.

        See `qbo_core.services.batch_writer.write_batch`; each batch is one resilient
        `batch` call (the batch budgets, one requestid per batch).
        """
        return await write_batch(self, items, size=size, config=self._config)

    # ----------------------------------------------------------------- company, reports, files

    async def company_info(self, *, fresh: bool = False) -> CompanyInfo:
        """The company's CompanyInfo (cached for the `CompanyInfo` TTL).

        `fresh=True` always asks QBO: the cache is neither read nor written and no
        identical read in flight is joined (the limiter, the token and the retries still
        apply). The health monitor's probe uses it, so a probe proves QBO answered now.
        """
        if fresh:
            return await self._send("company_info", self._raw.company_info)
        return await self._read_through(
            "company_info",
            "company_info",
            self.cache_ttl("CompanyInfo"),
            self._raw.company_info,
            cache_values.dump_entity,
            lambda raw: cache_values.load_entity(raw, CompanyInfo),
        )

    async def preferences(self) -> RawEntity:
        """The company's Preferences (cached for the `Preferences` TTL)."""
        return await self._read_through(
            "preferences",
            "preferences",
            self.cache_ttl("Preferences"),
            self._raw.preferences,
            cache_values.dump_entity,
            lambda raw: cache_values.load_entity(raw, RawEntity),
        )

    async def report(self, name: str, params: Mapping[str, object] | None = None) -> Report:
        """A report (cached for the `Report` TTL, keyed by its name and parameters)."""
        shown = sorted((str(key), str(value)) for key, value in (params or {}).items())
        return await self._read_through(
            f"report {name}",
            f"report:{name}:{_digest(*(f'{k}={v}' for k, v in shown))}",
            self.cache_ttl("Report"),
            lambda auth: self._raw.report(auth, name, params),
            cache_values.dump_report,
            cache_values.load_report,
        )

    async def upload(
        self,
        files: Sequence[tuple[Mapping[str, Any], bytes]],
        *,
        request_id: str | None = None,
    ) -> tuple[UploadResult, ...]:
        """Upload files as Attachables, with one requestid."""
        return await self._write(
            "upload",
            lambda auth, rid: self._raw.upload(auth, files, request_id=rid),
            request_id,
        )

    async def download_url(self, attachable_id: str) -> str:
        """A temporary URL for an attachment's bytes (not cached: it expires)."""
        return await self._send(
            "download_url", lambda auth: self._raw.download_url(auth, attachable_id)
        )

    async def pdf(self, entity_type: str | type[EntityBase], entity_id: str) -> bytes:
        """The PDF of a sales form (not cached)."""
        return await self._send(
            f"pdf {entity_name(entity_type)}",
            lambda auth: self._raw.pdf(auth, entity_type, entity_id),
        )

    # ----------------------------------------------------------------- cache and flights

    async def _read_through(
        self,
        operation: str,
        key: str,
        ttl: float,
        fetch: Callable[[RealmAuth], Awaitable[R]],
        dump: Callable[[R], bytes] | None,
        load: Callable[[bytes], R] | None,
    ) -> R:
        key = _KEY_PREFIX + key
        caching = ttl > 0 and dump is not None and load is not None
        if caching and load is not None:
            raw = await self._cache_get(key)
            if raw is not None:
                try:
                    value = load(raw)
                except QBOError as exc:
                    self._emit(events.CACHE_ERROR, operation=operation, action="load", error=exc)
                else:
                    self._emit(events.CACHE_HIT, operation=operation)
                    return value
            self._emit(events.CACHE_MISS, operation=operation)

        async def flight() -> R:
            coalescer, realm_id = self._coalescer, self._realm_id
            since = coalescer.epoch(realm_id)
            quiet = coalescer.quiet(realm_id, since)
            value = await self._send(operation, fetch)
            # Not cached when a write overlapped the flight: the answer may predate it.
            if caching and dump is not None and quiet and coalescer.quiet(realm_id, since):
                await self._cache_set(operation, key, value, dump, ttl)
            return value

        return await self._coalescer.run(
            self._realm_id,
            key,
            flight,
            lambda: self._emit(events.CACHE_COALESCED, operation=operation),
        )

    async def _cache_get(self, key: str) -> bytes | None:
        try:
            return await self._cache.get(self._realm_id, key)
        except StoreUnavailableError as exc:
            self._emit(events.CACHE_ERROR, action="get", error=exc)
            return None

    async def _cache_set(
        self, operation: str, key: str, value: R, dump: Callable[[R], bytes], ttl: float
    ) -> None:
        try:
            await self._cache.set(self._realm_id, key, dump(value), ttl=ttl)
        except (StoreUnavailableError, ValueError, TypeError) as exc:
            self._emit(events.CACHE_ERROR, operation=operation, action="set", error=exc)

    async def _invalidate(self, operation: str) -> None:
        try:
            await self._cache.invalidate_realm(self._realm_id)
        except StoreUnavailableError as exc:
            self._emit(events.CACHE_ERROR, operation=operation, action="invalidate", error=exc)

    # ----------------------------------------------------------------- writes and retries

    async def _write(
        self,
        operation: str,
        call: Callable[[RealmAuth, str | None], Awaitable[R]],
        request_id: str | None,
        *,
        batch: bool = False,
        with_id: bool = True,
    ) -> R:
        """One logical write: one requestid for all its attempts; the realm's cache is
        dropped afterwards, whatever happened (a failed attempt may have been applied)."""
        rid = (request_id or str(uuid.uuid4())) if with_id else None
        self._coalescer.write_started(self._realm_id)
        try:
            return await self._send(
                operation, lambda auth: call(auth, rid), write=True, request_id=rid, batch=batch
            )
        finally:
            self._coalescer.write_finished(self._realm_id)
            await self._invalidate(operation)

    async def _send(
        self,
        operation: str,
        call: Callable[[RealmAuth], Awaitable[R]],
        *,
        write: bool = False,
        request_id: str | None = None,
        batch: bool = False,
    ) -> R:
        """The retry loop: [access token -> permit -> raw call], as the policy allows.

        The token comes first so that nothing is awaited between the permit's grant and
        the request going out: a token-store read in between let the loop run other
        work first (a page being decoded and stored: 223 ms measured in the medium
        demo), the request reached QBO later than its grant was recorded, and QBO
        answered 429 (module docstring, "Order of one call"). A permit that took longer
        than half the refresh margin to come reads the token again, inside the permit,
        so a token never goes out staler than the auth service allows.
        """
        policy = self._retry
        waits: Iterator[float] | None = None  # drawn from on the first retry only
        started = self._clock.monotonic()
        attempt = 0
        rejected: str | None = None
        refreshed = False
        while True:
            attempt += 1
            token: str | None = None
            sent = False
            try:
                token = await self._auth.access_token(self._realm_id, rejected=rejected)
                asked = self._clock.monotonic()
                async with self._limiter.permit(self._realm_id, batch=batch):
                    if self._clock.monotonic() - asked > self._token_recheck:
                        token = await self._auth.access_token(self._realm_id)
                    sent = True
                    return await call(self._realm_auth(token))
            except QBOError as error:
                wait = 0.0
                budget = 0.0
                if isinstance(error, AccessTokenInvalidError) and sent and not refreshed:
                    refreshed, rejected = True, token
                elif isinstance(error, ThrottledError) and sent:
                    await self._limiter.throttled(self._realm_id, retry_after=error.retry_after)
                    budget = (
                        error.retry_after if error.retry_after is not None else policy.throttle_wait
                    )
                    self._emit(
                        events.RATE_THROTTLED,
                        operation=operation,
                        source="qbo",
                        status=error.status,
                        retry_after=error.retry_after,
                        intuit_tid=error.intuit_tid,
                    )
                elif _may_retry(error, sent=sent, unsafe=write and request_id is None):
                    if waits is None:
                        waits = policy.waits()
                    wait = budget = next(waits)
                else:
                    self._annotate(error, operation, attempt)
                    raise
                elapsed = self._clock.monotonic() - started
                if attempt >= policy.max_attempts or elapsed + budget > policy.max_elapsed:
                    self._annotate(error, operation, attempt)
                    raise
                self._emit(
                    events.HTTP_RETRY,
                    operation=operation,
                    attempt=attempt,
                    wait=wait,
                    error=error,
                    request_id=request_id,
                )
            if wait > 0:
                await self._clock.sleep(wait)

    def _realm_auth(self, token: str) -> RealmAuth:
        """The `RealmAuth` of `token`, kept while the token stays the same (one validated
        DTO per token, not one per call)."""
        auth = self._last_auth
        if auth is None or auth.access_token != token:
            auth = self._last_auth = RealmAuth(realm_id=self._realm_id, access_token=token)
        return auth

    def _annotate(self, error: QBOError, operation: str, attempts: int) -> None:
        """Name the realm, the operation and the attempts on the error about to be raised."""
        error.operation = operation
        error.attempts = attempts
        if error.realm_id is None:
            error.realm_id = self._realm_id

    # ----------------------------------------------------------------- events

    def _emit(self, kind: str, *, error: Exception | None = None, **attributes: object) -> None:
        if error is not None:
            attributes["error"] = type(error).__name__
        if isinstance(error, QBOError):
            attributes["status"] = error.status
            attributes["code"] = error.code
            attributes["intuit_tid"] = error.intuit_tid
        self._events.emit(
            QBOEvent(
                kind=kind,
                at=self._clock.now(),
                realm_id=self._realm_id,
                business_id=self._business_id,
                attributes=attributes,
            )
        )


def _may_retry(error: QBOError, *, sent: bool, unsafe: bool) -> bool:
    """Whether `error` may be retried after a wait.

    `sent`: the raw call was made (else the failure came before it: the token). `unsafe`:
    a write without a requestid, which may be repeated only when it surely never arrived.
    Authentication failures are handled (or refused) by the caller.
    """
    if isinstance(error, AuthenticationError) or not error.retryable:
        return False
    if not sent:
        return True
    if unsafe:
        return isinstance(error, RequestNotSentError)
    return True
