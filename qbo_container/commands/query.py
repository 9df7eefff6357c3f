"""`qbo query`: run a QBO query statement for a connected company, page by page.

The statement is QBO's SQL-like language, sent as written through the company's
`SmartSyncService` (limiter, token refresh, retries, cache). Unless it already carries
`STARTPOSITION` or `MAXRESULTS`, it is paged as `query_pages` pages a `Query`:
`ORDERBY Id` added when it has no ORDERBY, then `STARTPOSITION 1, 1 + rows read, ...`
with pages of up to 1000 rows, each page printed as it arrives (a table, or JSON lines).
A `SELECT COUNT(*)` statement prints its count. A statement QBO refuses ends with QBO's
own message on one line (exit 1).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any, TextIO

from rich.table import Table

from qbo_container.commands.common import (
    EXIT_FAILED,
    EXIT_NOT_CONNECTED,
    CommandFailed,
    ConnectionRegistry,
    failure_of,
    make_console,
    open_qbo,
    registry_path,
)
from qbo_container.settings import Settings
from qbo_core.dtos import ConnectionState
from qbo_core.entities import QBOEntity
from qbo_core.errors import QBOError
from qbo_core.query import MAX_MAX_RESULTS
from qbo_core.services.smart_sync import SmartSyncService
from qbo_core.wire.entities import encode_entity

__all__ = ["run_query", "statement_pages"]

_PAGED = re.compile(r"\b(?:STARTPOSITION|MAXRESULTS)\b", re.IGNORECASE)
_ORDERED = re.compile(r"\bORDER\s*BY\b", re.IGNORECASE)
_COUNT = re.compile(r"^\s*SELECT\s+COUNT\s*\(\s*\*\s*\)", re.IGNORECASE)
#: Columns a table shows first when an entity has them (then other plain fields).
_PREFERRED = (
    "Id",
    "DisplayName",
    "Name",
    "FullyQualifiedName",
    "DocNumber",
    "TxnDate",
    "TotalAmt",
    "Balance",
    "Active",
)
_MAX_COLUMNS = 8


async def statement_pages(
    sync: SmartSyncService, statement: str, *, limit: int | None = None
) -> AsyncIterator[list[QBOEntity]]:
    """The rows of `statement`, a page at a time, at most `limit` rows in all."""
    text = statement.strip().rstrip(";").strip()
    if _PAGED.search(text):
        page = await sync.query(text)
        yield list(page.items)[:limit] if limit is not None else list(page.items)
        return
    if not _ORDERED.search(text):
        text += " ORDERBY Id"
    start, read = 1, 0
    while limit is None or read < limit:
        size = MAX_MAX_RESULTS if limit is None else min(MAX_MAX_RESULTS, limit - read)
        page = await sync.query(f"{text} STARTPOSITION {start} MAXRESULTS {size}")
        items = list(page.items)
        yield items
        read += len(items)
        if len(items) < size:
            return
        start += len(items)


def _plain(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    keys: list[str] = []
    for row in rows:
        for key, value in row.items():
            if key not in keys and _plain(value):
                keys.append(key)
    ordered = [key for key in _PREFERRED if key in keys]
    ordered += [key for key in keys if key not in ordered]
    return ordered[:_MAX_COLUMNS]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return str(value.get("name") or value.get("value") or "")
    return str(value)


async def _query(
    settings: Settings,
    *,
    realm_id: str,
    business_id: str,
    statement: str,
    output: str,
    limit: int | None,
    out: TextIO,
) -> int:
    console = make_console(out)
    async with open_qbo(settings) as qbo:
        status = await qbo.auth.status(realm_id)
        if status.state in (ConnectionState.DISCONNECTED, ConnectionState.REVOKED):
            raise CommandFailed(
                f"QBO company {realm_id} is not connected here: run `qbo connect` first",
                EXIT_NOT_CONNECTED,
            )
        sync = qbo.smart_sync(business_id=business_id, realm_id=realm_id)
        if _COUNT.match(statement):
            count = await sync.count(statement.strip().rstrip(";"))
            print(json.dumps({"count": count}) if output == "jsonl" else count, file=out)
            return 0
        shown = 0
        async for page in statement_pages(sync, statement, limit=limit):
            rows = [encode_entity(entity) for entity in page]
            if output == "jsonl":
                for row in rows:
                    out.write(json.dumps(row, default=str, sort_keys=True) + "\n")
                out.flush()
            elif rows:
                columns = _columns(rows)
                table = Table(*columns, show_lines=False)
                for row in rows:
                    table.add_row(*(_cell(row.get(column)) for column in columns))
                console.print(table)
            shown += len(rows)
        if output != "jsonl":
            console.print(f"{shown} row{'s' if shown != 1 else ''}")
    return 0


def run_query(
    settings: Settings,
    *,
    statement: str,
    realm_id: str | None,
    output: str,
    limit: int | None,
    out: TextIO,
) -> int:
    """The body of `qbo query`; returns the exit status (raises `CommandFailed`)."""
    registry = ConnectionRegistry(registry_path(settings))
    if realm_id is None:
        realms = registry.realms()
        if len(realms) != 1:
            raise CommandFailed(
                "name the company with --realm ID"
                + (f" (connected: {', '.join(realms)})" if realms else " (none connected yet)"),
                EXIT_NOT_CONNECTED if not realms else 2,
            )
        realm_id = realms[0]
    try:
        return asyncio.run(
            _query(
                settings,
                realm_id=realm_id,
                business_id=registry.business_of(realm_id),
                statement=statement,
                output=output,
                limit=limit,
                out=out,
            )
        )
    except QBOError as exc:
        raise failure_of(exc, doing="query failed") from None
    except ValueError as exc:  # a statement the client refuses before sending it
        raise CommandFailed(f"query refused: {exc}", EXIT_FAILED) from None
