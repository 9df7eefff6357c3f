"""`qbo demo`: the whole stack, end to end, against an emulator it serves itself.

1. Serve the QBO emulator over HTTP on a free loopback port from a child process
   (`EmulatorProcess`: it counts requests against Intuit's rate limits as they arrive,
   as Intuit does, not when the demo's own loop has time), with `--realms` companies of
   `--size`, auto-consent on, the rate limits enforced.
2. Connect every company through the real OAuth flow: the same `authorize` as `qbo
   connect`, a loopback callback server, the authorization URL fetched by an HTTP
   client standing in for the user's browser; tokens in an SQLite token store in DIR.
3. Full sync of every supported entity type of every company into an SQLite mirror in
   DIR (`MirrorSync`), with a progress bar per company.
4. Change records through `SmartSyncService`: create customers, update customers,
   create estimates and delete some of them (a few dozen writes per company).
5. Incremental sync.
6. Verify: per company and entity type, the count and `entity_checksum` of what the
   emulator serves (read through the query API, every object, inactive ones included)
   against `Mirror.summary`. Any difference is printed and the exit status is 1.
7. Print the health table (`QBOHealthMonitor`, from the traffic just seen) and a traffic
   summary (requests, retries, throttles, cache hits, from the events), with the time
   taken against the time Intuit's quota (500 requests per minute per company) allows.

DIR is `--output`, else a new temporary directory removed at the end (`--keep` keeps it).
The run's figures are also written to DIR/summary.json: per company the requests,
retries, 429s, the time the quota allows, and for each sync its seconds, rows and (for
the full sync) requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import aiohttp
from rich.console import Console
from rich.table import Table

from qbo_adapters.emulator.child import EmulatorProcess
from qbo_adapters.emulator.oauth import AUTHORIZE_PATH, REVOKE_PATH, TOKEN_PATH, USERINFO_PATH
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_container.commands.common import (
    EXIT_FAILED,
    CommandFailed,
    ConnectionRegistry,
    EventCounter,
    command_settings,
    failure_of,
    make_console,
    open_qbo,
    registry_path,
)
from qbo_container.commands.connect import CallbackServer, authorize
from qbo_container.commands.health import collect_health, health_table, monitor_of
from qbo_container.commands.sync import (
    RealmSync,
    SyncBars,
    open_mirror,
    summary_table,
    sync_realms,
)
from qbo_container.facade import QBO
from qbo_container.settings import SQL_DRIVERS
from qbo_container.storage import private_directory
from qbo_core import DEFAULT_MIRROR_ENTITIES, compare_summaries, entity_checksum
from qbo_core import events as kinds
from qbo_core.dtos import EntitySummary
from qbo_core.entities import QBOEntity, RawEntity
from qbo_core.errors import QBOError
from qbo_core.ports.mirror import Mirror
from qbo_core.query import Field, Query
from qbo_core.services.incremental import every, pages_by_update
from qbo_core.services.smart_sync import SmartSyncService

__all__ = ["DEMO_BUSINESS", "quota_seconds", "run_demo"]

#: The business every demo company is connected for.
DEMO_BUSINESS = "qbo-demo"
#: QBO's request windows per company (QBOConfig's defaults): (limit, seconds).
QUOTA_WINDOWS = ((10, 1.0), (500, 60.0))


def quota_seconds(requests: int) -> float:
    """The least time `requests` requests to one company can take within QBO's windows:
    in a window of `limit` per `period`, the first `limit` go at once, the next at
    `period`, and so on."""
    if requests <= 0:
        return 0.0
    return max((requests - 1) // limit * period for limit, period in QUOTA_WINDOWS)


_DISCOVERY_PATH = "/.well-known/openid_sandbox_configuration"
_NEW_CUSTOMERS = 8
_UPDATED_CUSTOMERS = 8
_NEW_ESTIMATES = 8
_DELETED_ESTIMATES = 4


def _demo_settings(
    base: str, directory: Path, redirect_uri: str, emulator: EmulatorSettings, config: str | None
) -> dict[str, dict[str, Any]]:
    sqlite = SQL_DRIVERS["sqlite"]
    return {
        "api": {
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
            "api_base_url": base,
            "authorization_endpoint": base + AUTHORIZE_PATH,
            "token_endpoint": base + TOKEN_PATH,
            "revocation_endpoint": base + REVOKE_PATH,
            "userinfo_endpoint": base + USERINFO_PATH,
            "discovery_url": base + _DISCOVERY_PATH,
            "redirect_uri": redirect_uri,
        },
        "transport": {"backend": "aiohttp"},
        "token_store": {"backend": "sqlite"},
        "state_store": {"backend": "auto"},
        "lock": {"backend": "auto", "directory": str(directory / "locks")},
        "sql": {"url": f"{sqlite}:///{directory / 'tokens.sqlite3'}", "schema": ""},
        "mirror": {"url": f"{sqlite}:///{directory / 'mirror.sqlite3'}", "schema": ""},
        "emulator": {"url": base},
    }


async def _visit(session: aiohttp.ClientSession, url: str) -> None:
    """What the user's browser does with auto-consent: follow the redirects."""
    async with session.get(url, allow_redirects=True) as response:
        await response.read()
        if response.status != 200:
            raise CommandFailed(
                f"the authorization page answered HTTP {response.status}", EXIT_FAILED
            )


async def _mutate(sync: SmartSyncService, realm: str) -> int:
    """Create, update and delete a few dozen records of the company; the number of writes."""
    writes = 0
    tag = realm[-4:]
    for index in range(_NEW_CUSTOMERS):
        await sync.create(
            RawEntity(
                entity_type="Customer",
                data={"DisplayName": f"Demo customer {tag}-{index}", "Notes": "qbo demo"},
            )
        )
        writes += 1
    page = await sync.query(Query.select("Customer").order_by("Id").max_results(_UPDATED_CUSTOMERS))
    for customer in page.items:
        if customer.id is None or customer.sync_token is None:
            continue
        await sync.sparse_update(
            "Customer", customer.id, customer.sync_token, {"Notes": f"updated by qbo demo {tag}"}
        )
        writes += 1
    customers = await sync.query(
        Query.select("Customer").where(Field("Active") == True).max_results(1)  # noqa: E712
    )
    items = await sync.query(Query.select("Item").where(Field("Type") == "Service").max_results(1))
    if not customers.items or not items.items:
        return writes
    customer_id, item_id = customers.items[0].id, items.items[0].id
    created: list[QBOEntity] = []
    for index in range(_NEW_ESTIMATES):
        amount = 100 + 10 * index
        created.append(
            await sync.create(
                RawEntity(
                    entity_type="Estimate",
                    data={
                        "CustomerRef": {"value": customer_id},
                        "Line": [
                            {
                                "DetailType": "SalesItemLineDetail",
                                "Amount": amount,
                                "Description": f"qbo demo estimate {index}",
                                "SalesItemLineDetail": {
                                    "ItemRef": {"value": item_id},
                                    "Qty": 1,
                                    "UnitPrice": amount,
                                },
                            }
                        ],
                    },
                )
            )
        )
        writes += 1
    for estimate in created[:_DELETED_ESTIMATES]:
        if estimate.id is not None and estimate.sync_token is not None:
            await sync.delete("Estimate", estimate.id, estimate.sync_token)
            writes += 1
    return writes


async def _expected(sync: SmartSyncService, names: Sequence[str]) -> dict[str, EntitySummary]:
    """Per entity type, what the emulator serves now: every object, read through the
    query API, summarised as the mirror summarises what it holds."""
    expected: dict[str, EntitySummary] = {}
    for name in names:
        where = every(name)
        latest: dict[str, QBOEntity] = {}
        async for page in pages_by_update(sync, name, where=where):
            for entity in page.items:
                if entity.id is not None:
                    latest[entity.id] = entity
        if latest:
            expected[name] = EntitySummary(
                count=len(latest), checksum=entity_checksum(latest.values())
            )
    return expected


async def _verify(
    qbo: QBO, mirror: Mirror, realms: Sequence[str], names: Sequence[str], console: Console
) -> bool:
    ok = True
    for realm in realms:
        sync = qbo.smart_sync(business_id=DEMO_BUSINESS, realm_id=realm)
        expected = await _expected(sync, names)
        held = await mirror.summary(realm)
        actual = {name: summary for name, summary in held.items() if name in names}
        differences = compare_summaries(expected, actual)
        total = sum(summary.count for summary in expected.values())
        if differences:
            ok = False
            console.print(f"[red]verification FAILED[/red] for company {realm}:")
            for line in differences:
                console.print(f"  {line}")
        else:
            console.print(
                f"verified company {realm}: {len(expected)} entity types, {total} entities: "
                "mirror == emulator (counts and checksums)"
            )
    return ok


def _traffic_table(
    counter: EventCounter, realms: Sequence[str], writes: dict[str, int], elapsed: float
) -> Table:
    table = Table(title="Traffic")
    for column in (
        "realm",
        "requests",
        "retries",
        "throttled",
        "cache hits",
        "writes",
        "quota time (s)",
    ):
        table.add_column(column, justify="right" if column != "realm" else "left")
    for realm in realms:
        requests = counter.count(kinds.HTTP_REQUEST, realm)
        table.add_row(
            realm,
            str(requests),
            str(counter.count(kinds.HTTP_RETRY, realm)),
            str(counter.count(kinds.RATE_THROTTLED, realm)),
            str(counter.count(kinds.CACHE_HIT, realm)),
            str(writes.get(realm, 0)),
            f"{quota_seconds(requests):.1f}",
        )
    return table


#: The run's figures, machine-readable, in DIR (`benchmarks/bench_demo.py` reads them).
SUMMARY_FILE = "summary.json"


def _phase(results: Sequence[RealmSync], realm: str, requests: int | None) -> dict[str, Any]:
    result = next(result for result in results if result.realm_id == realm)
    phase: dict[str, Any] = {
        "seconds": round(result.seconds, 3),
        "upserted": sum(result.report.upserted.values()),
        "deleted": sum(result.report.deleted.values()),
        "rows": result.rows,
    }
    if requests is not None:
        phase["requests"] = requests
        phase["quota_seconds"] = quota_seconds(requests)
    return phase


def _write_summary(path: Path, **figures: Any) -> None:
    path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n", encoding="utf-8")


async def _demo(
    *,
    size: str,
    realm_count: int,
    seed: int,
    directory: Path,
    config: str | None,
    out: TextIO,
) -> bool:
    started = time.monotonic()
    console = make_console(out)
    emulator_settings = EmulatorSettings(
        size=size,  # type: ignore[arg-type]  # the parser allows only the sizes
        realms=realm_count,
        seed=seed,
        auto_consent=True,
    )
    async with EmulatorProcess(emulator_settings) as emulator:
        return await _demo_against(
            emulator,
            size=size,
            started=started,
            directory=directory,
            config=config,
            console=console,
            emulator_settings=emulator_settings,
        )


async def _demo_against(
    emulator: EmulatorProcess,
    *,
    size: str,
    started: float,
    directory: Path,
    config: str | None,
    console: Console,
    emulator_settings: EmulatorSettings,
) -> bool:
    realm_count = len(emulator.realm_ids)
    callback = CallbackServer()
    try:
        redirect = await callback.start()
        settings = command_settings(
            _demo_settings(emulator.base_url, directory, redirect, emulator_settings, config),
            config=config,
        )
        realms = emulator.realm_ids
        console.print(
            f"QBO demo: {realm_count} {size} compan{'y' if realm_count == 1 else 'ies'} on "
            f"the emulator at {emulator.base_url}; files in {directory}"
        )
        registry = ConnectionRegistry(registry_path(settings))
        names = tuple(DEFAULT_MIRROR_ENTITIES)
        async with (
            open_mirror(settings["mirror"]["url"]) as mirror,
            open_qbo(settings) as qbo,
            aiohttp.ClientSession() as browser,
        ):
            counter = EventCounter()
            qbo.add_event_sink(counter)
            monitor = monitor_of(qbo)

            console.rule("1. connect (OAuth 2 through the emulator's consent, no browser)")
            for realm in realms:
                integration = await authorize(
                    qbo,
                    business_id=DEMO_BUSINESS,
                    callback=callback,
                    visit=lambda url: _visit(browser, url),
                    wait_seconds=60.0,
                    out=None,
                    realm_id=realm,
                    realm_hint=True,
                )
                registry.record(
                    realm, business_id=DEMO_BUSINESS, company_name=integration.company_name
                )
                console.print(f"connected {integration.company_name!r} (realm {realm})")

            console.rule("2. full sync into the mirror")
            before = {realm: counter.count(kinds.HTTP_REQUEST, realm) for realm in realms}
            bars = SyncBars(console)
            with bars.progress:
                full = await sync_realms(
                    qbo, mirror, realms, registry, entities=names, full=True, bars=bars
                )
            full_requests = {
                realm: counter.count(kinds.HTTP_REQUEST, realm) - before[realm] for realm in realms
            }
            console.print(summary_table(full, title="Full sync"))

            console.rule("3. changes through SmartSync")
            done = await asyncio.gather(
                *(
                    _mutate(qbo.smart_sync(business_id=DEMO_BUSINESS, realm_id=realm), realm)
                    for realm in realms
                )
            )
            writes = dict(zip(realms, done, strict=True))
            for realm in realms:
                console.print(f"company {realm}: {writes[realm]} writes (create, update, delete)")

            console.rule("4. incremental sync")
            bars = SyncBars(console)
            with bars.progress:
                incremental = await sync_realms(
                    qbo, mirror, realms, registry, entities=names, full=False, bars=bars
                )
            console.print(summary_table(incremental, title="Incremental sync"))

            console.rule("5. verify the mirror against the emulator")
            verified = await _verify(qbo, mirror, realms, names, console)

            console.rule("6. health and traffic")
            health = await collect_health(qbo, realms, registry, probe=False, monitor=monitor)
            console.print(health_table(health))
            elapsed = time.monotonic() - started
            console.print(_traffic_table(counter, realms, writes, elapsed))
            busiest = max(counter.count(kinds.HTTP_REQUEST, realm) for realm in realms)
            console.print(
                f"elapsed {elapsed:.1f} s; within Intuit's 10 requests a second and 500 a "
                f"minute per company, the busiest company's {busiest} requests need at "
                f"least {quota_seconds(busiest):.1f} s"
            )
        bugs = await emulator.internal_errors()
        if bugs:
            verified = False
            console.print(f"[red]the emulator met {len(bugs)} bug(s)[/red]")
        _write_summary(
            directory / SUMMARY_FILE,
            size=size,
            elapsed=elapsed,
            verified=verified,
            realms={
                realm: {
                    "requests": counter.count(kinds.HTTP_REQUEST, realm),
                    "retries": counter.count(kinds.HTTP_RETRY, realm),
                    "throttled": counter.count(kinds.RATE_THROTTLED, realm),
                    "quota_seconds": quota_seconds(counter.count(kinds.HTTP_REQUEST, realm)),
                    "full_sync": _phase(full, realm, full_requests[realm]),
                    "incremental_sync": _phase(incremental, realm, None),
                    "writes": writes[realm],
                }
                for realm in realms
            },
        )
        console.print(
            "[green]verification passed: the mirror equals the emulator[/green]"
            if verified
            else "[red]verification failed[/red]"
        )
        return verified
    finally:
        await callback.close()


def run_demo(
    *,
    size: str,
    realms: int,
    output: str | None,
    keep: bool,
    seed: int,
    config: str | None,
    out: TextIO,
) -> int:
    """The body of `qbo demo`; returns the exit status (raises `CommandFailed`)."""
    command_settings(config=config)  # a bad settings file or variable: exit 2 before work
    if output is not None:
        directory = private_directory(Path(output).expanduser().resolve())
        temporary = False
    else:
        directory = Path(tempfile.mkdtemp(prefix="qbo-demo-"))
        temporary = True
    try:
        verified = asyncio.run(
            _demo(
                size=size,
                realm_count=realms,
                seed=seed,
                directory=directory,
                config=config,
                out=out,
            )
        )
    except QBOError as exc:
        raise failure_of(exc, doing="demo failed") from None
    finally:
        if temporary and not keep:
            with contextlib.suppress(OSError):
                shutil.rmtree(directory)
        elif temporary:
            print(f"kept {directory}", file=out)
    return 0 if verified else EXIT_FAILED
