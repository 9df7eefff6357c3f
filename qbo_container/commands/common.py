"""What the `qbo` user commands share: exit codes, one-line errors, the stack, the registry.

Exit codes (the same for every command; `docs/cli.md` lists them):

    0    done
    1    the operation failed, or a verification found a difference (QBO refused a
         query, a company is unhealthy, the mirror differs from QBO, a sign-in failed)
    2    a usage or configuration mistake (a bad flag, setting or settings file)
    3    not connected: the company is unknown, was never connected, or needs the
         user to connect it again
    4    a backend cannot be reached or used: the emulator or QBO, the database (a
         locked or damaged SQLite file included), Redis
    130  interrupted (Ctrl-C)
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

import sqlalchemy.engine
from rich.console import Console

from qbo_container.settings import SQL_DRIVERS, Settings, load_settings, sql_url
from qbo_container.storage import data_dir, private_file
from qbo_core.dtos import QBOEvent
from qbo_core.errors import (
    AuthorizationCallbackError,
    ConfigurationError,
    InvalidClientError,
    LockTimeoutError,
    PermissionDeniedError,
    QBOError,
    ReauthorizationRequiredError,
    StoreUnavailableError,
    TransportError,
)

if TYPE_CHECKING:
    from qbo_container.facade import QBO

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_CONNECTED",
    "EXIT_OK",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "CommandFailed",
    "ConnectionRegistry",
    "EventCounter",
    "command_settings",
    "failure_of",
    "make_console",
    "one_line",
    "open_qbo",
    "registry_path",
]

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_NOT_CONNECTED: Final = 3
EXIT_UNREACHABLE: Final = 4
EXIT_INTERRUPTED: Final = 130

#: The file, beside the token database, listing the companies `qbo connect` connected.
REGISTRY_FILE: Final = "connections.json"
#: The business id the commands connect and call under unless told otherwise.
DEFAULT_BUSINESS: Final = "qbo-cli"


class CommandFailed(Exception):
    """A command ends with `message` (one line on stderr) and exit status `status`."""

    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


#: How wide tables are drawn when the output is not a terminal (a file, a pipe).
_PLAIN_WIDTH = 160


def make_console(out: TextIO) -> Console:
    """A rich console writing to `out`: the terminal's width, or 160 columns and no
    colour codes when `out` is a file or a pipe."""
    terminal = out.isatty()
    return Console(
        file=out, soft_wrap=True, width=None if terminal else _PLAIN_WIDTH, no_color=not terminal
    )


def one_line(text: object) -> str:
    """`text` on one line: newlines and runs of blanks become one space."""
    return " ".join(str(text).split())


def failure_of(exc: BaseException, *, doing: str | None = None) -> CommandFailed:
    """The `CommandFailed` for an error met while `doing` something, with its exit status.

    Not connected (re-authorization needed, a revoked grant, a 403 for the realm): 3.
    A transport error, an unreachable or damaged store, a lock timeout: 4. A setting
    (the app's id or secret included): 2. Anything else QBO or the stack refused: 1.
    """
    prefix = f"{doing}: " if doing else ""
    text = one_line(exc) or type(exc).__name__
    if isinstance(exc, ConfigurationError):
        return CommandFailed(f"configuration error: {text}", EXIT_USAGE)
    if isinstance(exc, InvalidClientError):
        return CommandFailed(
            f"{prefix}the app's client id or secret was refused (api.client_id, "
            f"api.client_secret): {text}",
            EXIT_USAGE,
        )
    if isinstance(exc, ReauthorizationRequiredError | PermissionDeniedError):
        return CommandFailed(f"{prefix}{text}; run `qbo connect` again", EXIT_NOT_CONNECTED)
    if isinstance(exc, TransportError | StoreUnavailableError | LockTimeoutError):
        return CommandFailed(f"{prefix}{text}", EXIT_UNREACHABLE)
    if isinstance(exc, AuthorizationCallbackError | QBOError):
        return CommandFailed(f"{prefix}{text}", EXIT_FAILED)
    return CommandFailed(f"{prefix}{type(exc).__name__}: {text}", EXIT_FAILED)


def command_settings(
    overrides: Mapping[str, Mapping[str, Any]] | None = None, *, config: str | None = None
) -> Settings:
    """The validated settings: `overrides` (from flags) > `QBO_*` environment > the TOML
    file `config` > defaults. Raises `ConfigurationError` (exit 2)."""
    return load_settings({k: dict(v) for k, v in (overrides or {}).items() if v}, file=config)


@contextlib.asynccontextmanager
async def open_qbo(settings: Settings, **ports: Any) -> AsyncIterator[QBO]:
    """The stack built from already validated `settings` (the environment and the file
    are in them), open for the block; `ports` are `QBO.open`'s port keywords."""
    from qbo_container.facade import QBO  # the whole stack: imported when a command runs

    async with QBO.open(settings, environ={}, **ports) as qbo:
        yield qbo


def registry_path(settings: Mapping[str, Mapping[str, Any]]) -> Path:
    """Where the connection registry lives: beside the SQLite token database, or in the
    user's data directory when the tokens are elsewhere."""
    url = sqlalchemy.engine.make_url(sql_url(settings))
    if url.drivername == SQL_DRIVERS["sqlite"] and url.database:
        return Path(url.database).expanduser().parent / REGISTRY_FILE
    return data_dir() / REGISTRY_FILE


class ConnectionRegistry:
    """The companies `qbo connect` connected, by realm id, in a small private JSON file.

    The token store has no way to list its realms, so the commands that act on "every
    connected company" (`qbo health`, `qbo sync`) read this list. It holds realm ids,
    business ids, company names and times: never a token.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> dict[str, dict[str, str]]:
        """Every recorded connection: realm id -> {business_id, company_name, connected_at}."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise CommandFailed(
                f"cannot read the connection list {self.path}: {one_line(exc)}", EXIT_UNREACHABLE
            ) from None
        if not isinstance(raw, dict):
            return {}
        return {
            str(realm): {str(k): str(v) for k, v in entry.items()}
            for realm, entry in raw.items()
            if isinstance(entry, dict)
        }

    def realms(self) -> list[str]:
        return sorted(self.entries())

    def business_of(self, realm_id: str) -> str:
        return self.entries().get(realm_id, {}).get("business_id", DEFAULT_BUSINESS)

    def record(self, realm_id: str, *, business_id: str, company_name: str | None) -> None:
        entries = self.entries()
        entries[realm_id] = {
            "business_id": business_id,
            "company_name": company_name or "",
            "connected_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
        private_file(self.path)
        temporary = self.path.with_name(self.path.name + ".tmp")
        descriptor = os.open(temporary, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(entries, handle, indent=2, sort_keys=True)
        os.replace(temporary, self.path)


def chosen_realms(given: Iterable[str] | None, registry: ConnectionRegistry) -> list[str]:
    """The realms named by `--realm` (deduplicated, in order), else every registered one;
    `CommandFailed` (3) when there are none."""
    realms = list(dict.fromkeys(given or ()))
    if realms:
        return realms
    realms = registry.realms()
    if not realms:
        raise CommandFailed(
            f"no connected company (none listed in {registry.path}): run `qbo connect` "
            "first, or name one with --realm",
            EXIT_NOT_CONNECTED,
        )
    return realms


class EventCounter:
    """An `EventSink` counting events by kind (what `qbo demo`'s summary reports)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.by_realm: dict[tuple[str, str], int] = {}

    def emit(self, event: QBOEvent) -> None:
        self.counts[event.kind] = self.counts.get(event.kind, 0) + 1
        if event.realm_id is not None:
            key = (event.realm_id, event.kind)
            self.by_realm[key] = self.by_realm.get(key, 0) + 1

    def count(self, kind: str, realm_id: str | None = None) -> int:
        if realm_id is None:
            return self.counts.get(kind, 0)
        return self.by_realm.get((realm_id, kind), 0)

    def __repr__(self) -> str:
        return f"EventCounter(kinds={len(self.counts)})"
