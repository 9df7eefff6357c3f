"""`qbo sync`: copy connected companies into the local mirror, then keep it current.

Each chosen realm (`--realm`, repeatable; default every company in the connection
registry) gets a `MirrorSync` run into the mirror (`--mirror PATH|URL`, else
`mirror.url`, else the SQLite file `mirror.sqlite3` in the user's data directory): a
full sync the first time (or with `--full`), an incremental one after. Realms run
concurrently (each has its own QBO quota), with a progress bar each, and a summary
table at the end.

Ctrl-C cancels the runs: every page already applied stays (each `apply` is one
transaction), the command exits 130 saying "interrupted; run again to resume", and the
next run resumes the interrupted full sync where it stood.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TextIO

import attrs
import sqlalchemy.engine
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import create_async_engine

from qbo_adapters.sql import SqlMirror
from qbo_container.commands.common import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CommandFailed,
    ConnectionRegistry,
    chosen_realms,
    failure_of,
    make_console,
    open_qbo,
    registry_path,
)
from qbo_container.facade import QBO
from qbo_container.settings import SQL_DRIVERS, Settings, mask_url, mirror_url
from qbo_container.storage import private_file
from qbo_core import DEFAULT_MIRROR_ENTITIES, MirrorSync, SyncProgress, SyncReport
from qbo_core.errors import QBOError
from qbo_core.ports.mirror import Mirror

__all__ = [
    "RealmSync",
    "SyncBars",
    "mirror_setting",
    "open_mirror",
    "parse_entities",
    "run_sync",
    "summary_json",
    "summary_table",
]


def mirror_setting(given: str) -> str:
    """`--mirror`'s value as a `mirror.url`: a URL as given, a path as a SQLite URL."""
    if "://" in given:
        return given
    return f"{SQL_DRIVERS['sqlite']}:///{Path(given).expanduser().resolve()}"


def parse_entities(text: str | None) -> tuple[str, ...]:
    """`--entities A,B` as entity type names, each one `MirrorSync` mirrors (else exit 2)."""
    if text is None:
        return tuple(DEFAULT_MIRROR_ENTITIES)
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    known = {name.lower(): name for name in DEFAULT_MIRROR_ENTITIES}
    unknown = [name for name in names if name.lower() not in known]
    if not names or unknown:
        raise CommandFailed(
            f"--entities: {', '.join(unknown) or 'none given'} not mirrored; choose from "
            f"{', '.join(DEFAULT_MIRROR_ENTITIES)}",
            EXIT_USAGE,
        )
    return tuple(known[name.lower()] for name in names)


@contextlib.asynccontextmanager
async def open_mirror(url: str, schema: str | None = None) -> AsyncIterator[Mirror]:
    """An `SqlMirror` on `url` (a SQLite file is created private if missing), checked
    readable before it is yielded; its engine disposed afterwards. Raises
    `StoreUnavailableError` (a locked file, an unreachable server) or `StoreCorruptError`."""
    parsed = sqlalchemy.engine.make_url(url)
    if parsed.drivername == SQL_DRIVERS["sqlite"] and parsed.database:
        private_file(Path(parsed.database))
    engine = create_async_engine(parsed, hide_parameters=True)
    try:
        mirror = SqlMirror(engine, schema=schema)
        await mirror.ping()
        await mirror.realms()  # reads the tables: a damaged or locked file fails here
        yield mirror
    finally:
        await engine.dispose()


class SyncBars:
    """One rich progress bar per realm, fed by `MirrorSync`'s `on_progress`."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}

    def add(self, realm_id: str, label: str) -> Callable[[SyncProgress], None]:
        task = self.progress.add_task(f"{label} {realm_id}: starting", total=None)
        self._tasks[realm_id] = task

        def tell(update: SyncProgress) -> None:
            self.progress.update(
                task,
                description=f"{label} {realm_id}: {update.entity_type} ({update.phase})",
                completed=update.done,
                total=update.total if update.total is not None else None,
            )

        return tell

    def finish(self, realm_id: str, label: str, text: str, rows: int) -> None:
        task = self._tasks.get(realm_id)
        if task is not None:
            self.progress.update(
                task, description=f"{label} {realm_id}: {text}", total=rows, completed=rows
            )


@attrs.frozen(kw_only=True)
class RealmSync:
    """What one realm's sync did: the report, rows held afterwards, seconds taken."""

    realm_id: str
    report: SyncReport
    rows: int
    seconds: float


async def sync_realms(
    qbo: QBO,
    mirror: Mirror,
    realms: Sequence[str],
    registry: ConnectionRegistry,
    *,
    entities: Sequence[str],
    full: bool,
    bars: SyncBars,
    label: str = "sync",
) -> list[RealmSync]:
    """Run `MirrorSync` for every realm concurrently; each realm's result, in order."""

    async def one(realm: str) -> RealmSync:
        started = time.monotonic()
        sync = MirrorSync(
            qbo.smart_sync(business_id=registry.business_of(realm), realm_id=realm),
            mirror,
            entities=entities,
            on_progress=bars.add(realm, label),
        )
        report = await sync.run(full=full)
        held = await mirror.summary(realm)
        rows = sum(summary.count for name, summary in held.items() if name in entities)
        bars.finish(realm, label, f"{report.mode} sync done, rows held", rows)
        return RealmSync(
            realm_id=realm, report=report, rows=rows, seconds=time.monotonic() - started
        )

    return list(await asyncio.gather(*(one(realm) for realm in realms)))


def summary_json(result: RealmSync) -> dict[str, object]:
    """One realm's sync as plain JSON values."""
    report = result.report
    return {
        "realm_id": result.realm_id,
        "mode": report.mode,
        "upserted": dict(report.upserted),
        "deleted": dict(report.deleted),
        "resumed": report.resumed,
        "reconciled": list(report.reconciled),
        "rows": result.rows,
        "seconds": round(result.seconds, 3),
    }


def summary_table(results: Sequence[RealmSync], *, title: str = "Sync") -> Table:
    table = Table(title=title)
    for column in ("realm", "mode", "upserted", "deleted", "resumed", "rows held", "seconds"):
        table.add_column(column, justify="right" if column != "realm" else "left")
    for result in results:
        report = result.report
        table.add_row(
            result.realm_id,
            report.mode,
            str(sum(report.upserted.values())),
            str(sum(report.deleted.values())),
            "yes" if report.resumed else "no",
            str(result.rows),
            f"{result.seconds:.1f}",
        )
    return table


async def _sync(
    settings: Settings,
    realms: Sequence[str],
    registry: ConnectionRegistry,
    *,
    entities: Sequence[str],
    full: bool,
    as_json: bool,
    out: TextIO,
) -> list[RealmSync]:
    url = mirror_url(settings)
    # With --json, stdout holds the JSON only: the bars go to stderr.
    console = make_console(sys.stderr if as_json else out)
    console.print(f"Mirror: {mask_url(url)}")
    async with open_mirror(url, settings["mirror"]["schema"]) as mirror, open_qbo(settings) as qbo:
        bars = SyncBars(console)
        with bars.progress:
            results = await sync_realms(
                qbo, mirror, realms, registry, entities=entities, full=full, bars=bars
            )
    if as_json:
        print(json.dumps([summary_json(result) for result in results], indent=2), file=out)
    else:
        console.print(summary_table(results))
    return results


def run_sync(
    settings: Settings,
    *,
    realms: Sequence[str] | None,
    entities: str | None,
    full: bool,
    out: TextIO,
    as_json: bool = False,
) -> int:
    """The body of `qbo sync`; returns the exit status (raises `CommandFailed`)."""
    names = parse_entities(entities)
    registry = ConnectionRegistry(registry_path(settings))
    chosen = chosen_realms(realms, registry)
    try:
        asyncio.run(
            _sync(settings, chosen, registry, entities=names, full=full, as_json=as_json, out=out)
        )
    except KeyboardInterrupt:
        raise CommandFailed("interrupted; run again to resume", EXIT_INTERRUPTED) from None
    except QBOError as exc:
        raise failure_of(exc, doing="sync failed") from None
    return 0
