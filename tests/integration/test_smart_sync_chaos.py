"""Smart sync under chaos: mixed writes and reads against the emulator with about 20% of
data requests hit by injected faults of every kind; the emulator's final state is checked
against what the calls reported (no duplicate, no lost update, every failure typed)."""

from __future__ import annotations

import asyncio
import random

from qbo_core.entities import Customer
from qbo_core.errors import DuplicateNameError, QBOError, StaleObjectError
from qbo_core.query import Field, Query
from qbo_core.services.retry import RetryPolicy
from tests.core.sync_world import SyncWorld

KINDS = ["status", "html", "xml", "refuse", "reset", "timeout", "truncate"]
CUSTOMERS = 40
UPDATES = 3


async def test_mixed_traffic_with_faults_ends_in_the_expected_state() -> None:
    """40 customers created and each updated 3 times, with reads and queries between, while
    each data request has a ~20% chance of a fault: every customer exists exactly once and
    holds its last acknowledged update; any call that failed raised a typed error naming
    its operation. (With the emulator ignoring requestids this test fails: retried writes
    meet their own first application.)"""
    world = SyncWorld()
    await world.connect()
    # Lost answers after the write was applied, on every tenth customer create.
    world.emulator.control.add_fault(
        {
            "route": {"method": "POST", "path": "/v3/company/*/customer"},
            "trigger": {"every": 10},
            "effect": "timeout",
        }
    )
    for kind in KINDS:
        world.emulator.control.add_fault(
            {
                "route": {"path": "/v3/company/*"},
                "trigger": {"probability": 0.2 / len(KINDS)},
                "effect": kind,
            }
        )
    sync = world.sync(retry=RetryPolicy(max_attempts=8, rng=random.Random(3)))
    failures: list[QBOError] = []
    expected: dict[str, set[str]] = {}

    async def life(n: int) -> None:
        name = f"Chaos Customer {n:03d}"
        try:
            customer = await sync.create(Customer(display_name=name))
        except QBOError as error:
            failures.append(error)
            return
        expected[name] = {""}
        for step in range(UPDATES):
            note = f"note {step}"
            try:
                customer = await sync.sparse_update(
                    Customer, customer.id or "", customer.sync_token or "", {"Notes": note}
                )
            except QBOError as error:
                failures.append(error)
                expected[name] = {*expected[name], note}  # it may have been applied
                return
            expected[name] = {note}
            await sync.read(Customer, customer.id or "")
            await sync.query(Query.select(Customer).max_results(5))

    await asyncio.gather(*(life(n) for n in range(CUSTOMERS)))
    world.emulator.control.clear_faults()
    injected = [e for e in world.data_requests() if e.injected is not None]
    assert len(injected) > 20  # the chaos really happened
    auth = await world.raw_auth()
    for n in range(CUSTOMERS):
        name = f"Chaos Customer {n:03d}"
        page = await world.raw.query(
            auth, Query.select(Customer).where(Field("DisplayName") == name)
        )
        assert len(page.items) <= 1, f"{name} was created {len(page.items)} times"
        if name in expected:
            assert len(page.items) == 1
            assert (page.items[0].notes or "") in expected[name], name
    assert all(error.operation and error.attempts for error in failures)
    # A write repeated without its requestid would meet its own first application: a
    # duplicate name (6240) for a create, a stale SyncToken (5010) for an update.
    assert not [e for e in failures if isinstance(e, DuplicateNameError | StaleObjectError)]
    assert world.emulator.internal_errors == type(world.emulator.internal_errors)()
