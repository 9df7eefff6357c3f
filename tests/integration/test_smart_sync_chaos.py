"""Smart sync under chaos, at the issue's scale: 2,000 mixed creates, updates (full and
sparse), deactivations, deletes, reads and queries through the whole stack (the real
`RateLimiter` on a `MemoryQuotaStore`, the auth service, the raw client) against the
emulator on a fake clock, with about 20% of data requests hit by a fault of every kind.

The faults: the emulator's seeded chaos rules (a 5xx `SystemFault`, an HTML error page,
an XML fault, a refused connection, a reset, a timeout after the write was applied, a
truncated body), and real 429s: the limiter is told the realm allows 12 requests a
second while the emulator enforces QBO's 10, so the emulator's throttle refuses what the
limiter let through, and every 429 holds the realm back for QBO's 60 s.

A model of the expected state follows every call: an acknowledged write is applied to
it; a write that finally failed is ambiguous (it may have been applied), so its record
is read back at the end and must hold either the state before or the state after it.
The emulator's store is then read directly and compared with the model.
"""

from __future__ import annotations

import asyncio
import collections
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from qbo_adapters.memory import MemoryQuotaStore
from qbo_core import events
from qbo_core.entities import Customer, Invoice, Ref, SalesItemLine, SalesItemLineDetail
from qbo_core.errors import DuplicateNameError, QBOError, StaleObjectError
from qbo_core.query import Field, Query
from qbo_core.services.rate_limiter import RateLimiter
from qbo_core.services.retry import RetryPolicy
from qbo_core.services.smart_sync import SmartSyncService
from tests.core.sync_world import SyncWorld

SEED = 2_000
OPERATIONS = 2_000
WORKERS = 24
#: Anchor customers (made before the chaos) that the invoices bill; never deactivated,
#: since QBO refuses to deactivate a customer who owes money.
ANCHORS = 6
#: The emulator's chaos kinds, each hitting this share of data requests (7 x 2% = 14%);
#: the 429s from the mis-configured limiter add about as many again.
CHAOS_KINDS = ("status", "html", "xml", "refuse", "reset", "timeout", "truncate")
CHAOS_SHARE = 0.02
#: What the limiter is told the realm allows per second; the emulator allows 10.
CLIENT_REQUESTS_PER_SECOND = 12
#: The last calls come from one caller, with no write in flight around its reads, so that
#: reads are cached and a write must drop what they cached (24 concurrent callers always
#: have a write in flight, and a read that overlaps a write is never cached).
TAIL = 160
#: Every kind of fault must have hit at least this many requests for the run to count.
AT_LEAST_PER_KIND = 10
#: The retries must recover almost everything the faults broke: at most this share of
#: the calls finally fails (most of those ran out of `max_elapsed` behind 60 s hold-backs).
MAX_FAILED_SHARE = 0.03
#: What QBO adds to the name of a deactivated name-list entity.
_DELETED = re.compile(r" \(deleted(?:-\d+)?\)$")

State = dict[str, Any]
"""The fields the test sets on a record, as QBO's JSON names them, and `"gone"`."""


@attrs.define
class Record:
    """One record's life in the model: its key (DisplayName or DocNumber), its id and
    SyncToken as last acknowledged, and the state the test expects it to hold."""

    entity: str
    key: str
    id: str | None = None
    sync_token: str | None = None
    state: State | None = None  # None: not created (yet, or a create that failed)
    #: An ambiguous write that finally failed: (state before, state after).
    doubt: tuple[State | None, State] | None = None
    last: Any = None  # the last entity QBO acknowledged


@attrs.define
class Tally:
    """What happened, for the assertions and the summary line."""

    ops: collections.Counter[str] = attrs.field(factory=collections.Counter)
    failures: list[QBOError] = attrs.field(factory=list)
    bare: list[BaseException] = attrs.field(factory=list)
    mismatches: list[str] = attrs.field(factory=list)


def customer_state(notes: str | None, company: str | None, active: bool) -> State:
    return {"Notes": notes, "CompanyName": company, "Active": active, "gone": False}


def invoice_state(note: str | None, total: Decimal) -> State:
    return {"PrivateNote": note, "TotalAmt": total, "gone": False}


def state_of_entity(entity: Customer | Invoice) -> State:
    if isinstance(entity, Customer):
        return customer_state(entity.notes, entity.company_name, entity.active is not False)
    return invoice_state(entity.private_note, entity.total_amt or Decimal(0))


def state_of_stored(entity: str, stored: Mapping[str, Any] | None) -> State | None:
    """The state of an object as the emulator's store holds it (None: absent)."""
    if stored is None:
        return None if entity == "Customer" else {"gone": True}
    if entity == "Customer":
        return customer_state(
            stored.get("Notes"), stored.get("CompanyName"), stored.get("Active") is not False
        )
    return invoice_state(stored.get("PrivateNote"), Decimal(str(stored.get("TotalAmt", 0))))


def sales_line(item_id: str, amount: Decimal) -> SalesItemLine:
    return SalesItemLine(
        amount=amount,
        detail=SalesItemLineDetail(item_ref=Ref(value=item_id), qty=Decimal(1), unit_price=amount),
    )


def life_plan(rng: random.Random) -> tuple[str, list[str]]:
    """One record's life: its entity and steps, a create, then updates, reads and queries
    in random order, sometimes a retirement (deactivation or delete) last."""
    entity = "Customer" if rng.random() < 0.6 else "Invoice"
    steps = ["create"]
    steps += rng.choices(["sparse", "full", "read", "query"], [3, 2, 2, 2], k=rng.randint(2, 7))
    if rng.random() < 0.3:
        steps.append("retire")
    return entity, steps


class Chaos:
    """Runs the planned lives through one `SmartSyncService`, keeping the model."""

    def __init__(self, sync: SmartSyncService, anchors: list[str], item_id: str) -> None:
        self.sync = sync
        self.anchors = anchors
        self.item_id = item_id
        self.records: list[Record] = []
        self.tally = Tally()
        self.budget = OPERATIONS - TAIL  # calls left to issue

    async def worker(self, rng: random.Random) -> None:
        """Lives, one after another, until every one of the `OPERATIONS` calls is issued."""
        while self.budget > 0:
            n = len(self.records)
            entity, steps = life_plan(rng)
            await self.live(n, entity, steps, rng)

    async def call(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        """One logical operation; a typed failure is recorded and re-raised as `None`."""
        self.tally.ops[what] += 1
        self.budget -= 1
        try:
            return await call()
        except QBOError as error:
            self.tally.failures.append(error)
            raise
        except Exception as error:  # exactly what the test must not see
            self.tally.bare.append(error)
            raise

    async def live(self, n: int, entity: str, steps: list[str], rng: random.Random) -> None:
        key = f"Chaos Customer {n:04d}" if entity == "Customer" else f"CH-{n:04d}"
        record = Record(entity=entity, key=key)
        self.records.append(record)
        await self.run(record, steps, 0, rng)

    async def run(self, record: Record, steps: list[str], first: int, rng: random.Random) -> None:
        """`steps` on `record`, numbered from `first`, until one fails or the budget ends."""
        for step, what in enumerate(steps, start=first):
            if self.budget <= 0:
                return
            try:
                await self.step(record, what, step, rng)
            except QBOError:
                return  # its SyncToken (even its existence) is unknown now: its life ends

    async def tail(self, rng: random.Random) -> None:
        """The quiet tail: one caller, whose reads are cached, reads each record twice (the
        second from the cache), updates it and reads it again (not the cached answer)."""
        self.budget = TAIL
        alive = [
            r
            for r in self.records
            if r.doubt is None
            and r.state is not None
            and not r.state["gone"]
            and r.state.get("Active", True)
        ]
        rng.shuffle(alive)
        for record in alive:
            if self.budget <= 0:
                return
            await self.run(record, ["read", "read", "sparse", "read"], 100, rng)

    async def step(self, record: Record, what: str, step: int, rng: random.Random) -> None:
        sync, customer = self.sync, record.entity == "Customer"
        tag = f"{record.key} step {step}"
        call: Awaitable[Any]
        if what == "create":
            if customer:
                entity: Any = Customer(display_name=record.key, notes=tag)
                after = customer_state(tag, None, True)
            else:
                amount = Decimal(rng.randint(1, 999))
                entity = Invoice(
                    customer_ref=Ref(value=rng.choice(self.anchors)),
                    doc_number=record.key,
                    private_note=tag,
                    line=(sales_line(self.item_id, amount),),
                )
                after = invoice_state(tag, amount)
            await self.write(record, f"create {record.entity}", sync.create(entity), after)
        elif what == "sparse":
            assert record.state is not None
            field = rng.choice(["Notes", "CompanyName"]) if customer else "PrivateNote"
            after = {**record.state, field: tag}
            call = sync.sparse_update(
                record.entity, record.id or "", record.sync_token or "", {field: tag}
            )
            await self.write(record, f"sparse {record.entity}", call, after)
        elif what == "full":
            assert record.state is not None
            if customer:
                changed = attrs.evolve(record.last, notes=tag, company_name=f"Co {tag}")
                after = {**record.state, "Notes": tag, "CompanyName": f"Co {tag}"}
            else:
                amount = Decimal(rng.randint(1, 999))
                line = (sales_line(self.item_id, amount),)
                changed = attrs.evolve(record.last, private_note=tag, line=line, total_amt=None)
                after = invoice_state(tag, amount)
            await self.write(record, f"full {record.entity}", sync.update(changed), after)
        elif what == "retire":
            assert record.state is not None
            if customer:
                call = sync.sparse_update(
                    "Customer", record.id or "", record.sync_token or "", {"Active": False}
                )
                after = {**record.state, "Active": False}
            else:
                call = sync.delete("Invoice", record.id or "", record.sync_token or "")
                after = {"gone": True}
            await self.write(record, f"retire {record.entity}", call, after)
        elif what == "read":
            got = await self.call(
                f"read {record.entity}", lambda: sync.read(record.entity, record.id or "")
            )
            self.check(record, "read", [got])
        else:
            field = "DisplayName" if customer else "DocNumber"
            query = Query.select(record.entity).where(Field(field) == record.key)
            page = await self.call(f"query {record.entity}", lambda: sync.query(query))
            self.check(record, "query", list(page.items))

    async def write(self, record: Record, what: str, call: Awaitable[Any], after: State) -> None:
        before = record.state
        try:
            answer = await self.call(what, lambda: call)
        except QBOError:
            record.doubt = (before, after)
            raise
        record.state = after
        if after["gone"]:
            return
        record.id, record.sync_token, record.last = answer.id, answer.sync_token, answer
        if state_of_entity(answer) != after:
            self.tally.mismatches.append(f"{what} {record.key}: answered {answer!r}")

    def check(self, record: Record, what: str, got: list[Any]) -> None:
        """A read or query of a record sees exactly its last acknowledged write."""
        states = [state_of_entity(entity) for entity in got]
        if states != [record.state] or got[0].sync_token != record.sync_token:
            self.tally.mismatches.append(f"{what} {record.key}: {states} != {record.state}")


async def test_two_thousand_operations_with_a_fifth_faulted_end_in_the_expected_state() -> None:
    """2,000 seeded creates, full and sparse updates, deactivations, deletes, reads and
    queries from 24 concurrent tasks, with ~20% of data requests faulted (every chaos kind
    and real 429s): the emulator's final state equals the model, no record exists twice,
    every record holds its last acknowledged write (SyncToken included), every read saw
    it, and every call that finally failed raised a typed `QBOError` naming its
    operation and realm. (With the emulator ignoring requestids this test fails.)"""
    started = time.perf_counter()
    world = SyncWorld(throttle=True, seed=SEED)
    await world.connect()
    auth = await world.raw_auth()
    item = (await world.raw.query(auth, Query.select("Item").max_results(1))).items[0]
    anchors = [
        str((await world.raw.create(auth, Customer(display_name=f"Chaos Anchor {n}"))).id)
        for n in range(ANCHORS)
    ]
    for kind in CHAOS_KINDS:
        world.emulator.control.add_fault(
            {
                "route": {"path": "/v3/company/*"},
                "trigger": {"probability": CHAOS_SHARE},
                "effect": kind,
            }
        )
    world.emulator.chaos.reseed(SEED)
    limiter = RateLimiter(
        quota_store=MemoryQuotaStore(world.clock),
        clock=world.clock,
        config=attrs.evolve(world.config, requests_per_second=CLIENT_REQUESTS_PER_SECOND),
        events=world.events,
    )
    sync = world.sync(limiter=limiter, retry=RetryPolicy(rng=random.Random(SEED)))
    chaos = Chaos(sync, anchors, str(item.id))
    rng = random.Random(SEED)
    first_request = len(world.emulator.request_log)
    await asyncio.gather(*(chaos.worker(random.Random(rng.random())) for _ in range(WORKERS)))
    await chaos.tail(rng)
    world.emulator.control.clear_faults()

    # -- what the chaos was -----------------------------------------------------------
    data = [
        e
        for e in list(world.emulator.request_log)[first_request:]
        if e.path.startswith("/v3/company/")
    ]
    faults = collections.Counter(e.injected for e in data if e.injected is not None)
    faults["429"] = sum(1 for e in data if e.status == 429 and e.injected is None)
    retries = len(world.events.of_kind(events.HTTP_RETRY))
    throttled = len(world.events.of_kind(events.RATE_THROTTLED))
    cache_hits = len(world.events.of_kind(events.CACHE_HIT))
    tally = chaos.tally

    # -- reconcile the ambiguous writes against the store, then compare -----------------
    company = world.emulator.companies[world.realm]
    stored = {
        entity: {str(obj.get("Id")): obj for obj in company.all(entity)}
        for entity in ("Customer", "Invoice")
    }
    by_key: dict[str, list[Mapping[str, Any]]] = collections.defaultdict(list)
    for obj in stored["Customer"].values():
        by_key[_DELETED.sub("", str(obj.get("DisplayName")))].append(obj)
    for obj in stored["Invoice"].values():
        by_key[str(obj.get("DocNumber"))].append(obj)
    duplicates = {key: len(objs) for key, objs in by_key.items() if len(objs) > 1}
    reconciled = collections.Counter[str]()
    wrong: list[str] = []
    for record in chaos.records:
        found = by_key.get(record.key, [])
        if record.id is None and record.doubt is not None and found:
            record.id = str(found[0].get("Id"))  # a create that failed yet was applied
        held = stored[record.entity].get(record.id or "") if record.id else None
        actual = state_of_stored(record.entity, held) if record.id else None
        if record.doubt is not None:
            was, would_be = record.doubt
            if actual == would_be:
                reconciled["applied"] += 1
                record.state = would_be
            elif actual == was:
                reconciled["not applied"] += 1
            else:
                wrong.append(f"{record.key}: {actual} is neither {was} nor {would_be}")
                continue
        if actual != record.state:
            wrong.append(f"{record.key}: stored {actual}, expected {record.state}")
        elif (
            held is not None and record.doubt is None and held.get("SyncToken") != record.sync_token
        ):
            wrong.append(f"{record.key}: SyncToken {held.get('SyncToken')} != {record.sync_token}")
    ours = {record.key for record in chaos.records}
    strays = sorted(
        key for key in by_key if key.startswith(("Chaos Customer", "CH-")) and key not in ours
    )

    failed = collections.Counter(type(error).__name__ for error in tally.failures)
    wall = time.perf_counter() - started
    summary = (
        f"chaos: {sum(tally.ops.values())} ops {dict(sorted(tally.ops.items()))}; "
        f"{len(data)} data requests, faults {dict(sorted(faults.items()))} "
        f"= {sum(faults.values()) / len(data):.1%}; {retries} retries, {throttled} 429s seen; "
        f"{cache_hits} cache hits; "
        f"final failures {dict(failed)}; ambiguous writes {dict(reconciled)}; "
        f"{world.clock.elapsed:.0f} s virtual, {wall:.1f} s wall"
    )
    print(summary)

    assert sum(tally.ops.values()) == OPERATIONS, summary
    for kind in (*CHAOS_KINDS, "429"):
        assert faults[kind] >= AT_LEAST_PER_KIND, f"too few {kind} faults: {summary}"
    assert 0.15 <= sum(faults.values()) / len(data) <= 0.3, summary
    # A write repeated without its requestid meets its own first application: a duplicate
    # name (6240) for a create, a stale SyncToken (5010) for an update or a delete.
    repeated = [e for e in tally.failures if isinstance(e, DuplicateNameError | StaleObjectError)]
    assert not repeated, f"writes applied twice {repeated[:3]}: {summary}"
    assert len(tally.failures) <= MAX_FAILED_SHARE * OPERATIONS, summary
    assert not tally.bare, f"untyped failures {tally.bare!r}: {summary}"
    for error in tally.failures:
        assert type(error) is not QBOError, repr(error)  # a subclass: what went wrong
        assert error.operation, repr(error)
        assert error.realm_id == world.realm, repr(error)
        assert error.attempts, repr(error)
    assert not duplicates, f"duplicates {duplicates}: {summary}"
    assert not strays, f"records nobody created {strays}"
    assert cache_hits >= TAIL // 10, summary
    assert not tally.mismatches, f"{tally.mismatches[:5]}: {summary}"
    assert not wrong, f"{wrong[:5]}: {summary}"
    assert not world.emulator.internal_errors, list(world.emulator.internal_errors)[:3]
