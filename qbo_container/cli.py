"""The `qbo` command.

Every mistake a user can make (a bad flag, setting or address) ends in one line on
stderr and exit status 2, never a traceback. The user commands (connect, query, health,
sync, demo; bodies in `qbo_container.commands`) share one set of exit codes:
0 done, 1 failed, 2 usage or configuration, 3 not connected, 4 a backend unreachable,
130 interrupted (`qbo_container.commands.common`).
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import os
import re
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NoReturn

from qbo_container.commands.common import CommandFailed, failure_of, one_line
from qbo_container.emulator_command import CommandError
from qbo_container.settings import effective_settings, load_settings
from qbo_core.errors import ConfigurationError, QBOError

__all__ = ["build_parser", "main"]

_HOSTNAME = re.compile(
    r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?\Z"
)
_MAX_REALMS = 1000
#: Where `qbo emulator` reads the webhook verifier token when `--webhook-verifier` is unset.
WEBHOOK_VERIFIER_ENV = "QBO_EMULATOR_WEBHOOK_VERIFIER"


def _version() -> str:
    try:
        return version("qbo-infra")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, got {text!r}")
    return port


def _host(text: str) -> str:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        if not _HOSTNAME.match(text):
            raise argparse.ArgumentTypeError(
                f"must be an IP address or a host name, got {text!r}"
            ) from None
    return text


def _realms(text: str) -> int:
    try:
        realms = int(text)
    except ValueError:
        realms = 0
    if not 1 <= realms <= _MAX_REALMS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {_MAX_REALMS}, got {text!r}")
    return realms


def _anchor(text: str) -> str:
    if text.strip().lower() == "today":
        return "today"
    try:
        return datetime.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a date YYYY-MM-DD or 'today', got {text!r}"
        ) from None


def _webhook_url(text: str) -> str:
    if not re.match(r"https?://[^/\s]+", text):
        raise argparse.ArgumentTypeError(f"must be an http:// or https:// URL, got {text!r}")
    return text


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `qbo`, with one sub-parser per command."""
    parser = _Parser(
        prog="qbo",
        description="QuickBooks Online infrastructure: client, sync, OAuth and an emulator.",
    )
    parser.add_argument("--version", action="version", version=f"qbo-infra {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    show = commands.add_parser(
        "settings",
        help="print the effective settings, defaults included (secrets masked), and exit",
    )
    show.add_argument("--file", help="a TOML settings file to read as well")
    show.set_defaults(handler=_settings)

    emu = commands.add_parser(
        "emulator",
        help="serve the QuickBooks Online emulator over HTTP until stopped",
        description="Serve the QBO emulator (data API, OAuth 2, control API) over HTTP. "
        "Prints its base URL, realm ids and OAuth credentials, then serves until Ctrl-C. "
        "Unset flags take the `emulator` settings (QBO_EMULATOR__SIZE=medium, a --file, "
        "...); flags win over settings.",
    )
    emu.add_argument(
        "--host", type=_host, default="127.0.0.1", help="address to bind (default 127.0.0.1)"
    )
    emu.add_argument("--port", type=_port, default=0, help="port to bind (default: any free)")
    emu.add_argument("--file", help="a TOML settings file to read as well")
    emu.add_argument("--client-id", help="the accepted client id (default emulator-client)")
    emu.add_argument("--client-secret", help="the accepted client secret (default emulator-secret)")
    emu.add_argument(
        "--auto-consent",
        action="store_true",
        default=None,
        help="skip the consent page: authorize redirects straight back with a code",
    )
    emu.add_argument("--seed", type=_seed, help="seed for data and randomness (default 0)")
    emu.add_argument(
        "--size",
        choices=("empty", "small", "medium", "large"),
        help="company size: small ~300 (default), medium ~5,000, large ~100,000 objects per realm",
    )
    emu.add_argument("--realms", type=_realms, help="how many companies to serve (default 1)")
    emu.add_argument(
        "--no-throttle",
        dest="throttle",
        action="store_false",
        default=None,
        help="do not enforce Intuit's rate limits (500/min, 10/s per realm and app)",
    )
    emu.add_argument(
        "--now",
        dest="anchor",
        type=_anchor,
        help="the day generated data ends at, YYYY-MM-DD or 'today' (default 2026-01-01): "
        "the same seed and day give byte-identical data",
    )
    emu.add_argument(
        "--fake-clock",
        action="store_true",
        help="run on a fake clock starting at --now, moved only by POST /_emulator/clock/advance",
    )
    emu.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests whose Host is NAME (e.g. a Docker service name); repeatable",
    )
    emu.add_argument(
        "--webhook-url",
        type=_webhook_url,
        metavar="URL",
        help="send Intuit-style webhooks for every change made through the data API to "
        "URL (POST, signed with intuit-signature; retried on Intuit's schedule until it "
        "answers 200); needs a verifier token",
    )
    emu.add_argument(
        "--webhook-verifier",
        metavar="TOKEN",
        help="the verifier token that signs webhook bodies (HMAC-SHA256); prefer the "
        f"environment variable {WEBHOOK_VERIFIER_ENV}, which `ps` does not show",
    )
    emu.add_argument(
        "--webhook-format",
        choices=("legacy", "cloudevents"),
        default="legacy",
        help="webhook payload format: legacy eventNotifications (default) or a CloudEvents "
        "1.0 array",
    )
    emu.set_defaults(handler=_emulator)
    _add_user_commands(commands)
    return parser


_EXIT_CODES = """exit status:
  0    done
  1    the operation failed, or a check found a problem
  2    a usage or configuration mistake
  3    not connected: unknown company, or it must be connected again
  4    a backend is unreachable or unusable (emulator, QBO, database, Redis)
  130  interrupted (Ctrl-C)
"""
_SOURCES = (
    "Settings come from flags > QBO_<SECTION>__<KEY> environment variables > the "
    "--config TOML file > defaults (see `qbo settings` and docs/cli.md)."
)


def _realm_id(text: str) -> str:
    if not re.fullmatch(r"[0-9]{1,32}", text):
        raise argparse.ArgumentTypeError(f"must be a QBO company id (digits), got {text!r}")
    return text


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return number


def _seconds(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        number = 0.0
    if not 0 < number < 86_400 * 7:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return number


def _business(text: str) -> str:
    if not text.strip() or any(ord(char) < 32 for char in text):
        raise argparse.ArgumentTypeError(f"must be a non-empty business id, got {text!r}")
    return text


def _user_command(
    commands: Any, name: str, help_text: str, description: str, *, emulator_url: bool = True
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=help_text,
        description=f"{description} {_SOURCES}",
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="FILE", help="a TOML settings file (default none)")
    if not emulator_url:  # the demo serves an emulator of its own
        return parser
    parser.add_argument(
        "--emulator-url",
        type=_webhook_url,
        metavar="URL",
        help="use the running `qbo emulator` at URL instead of the embedded one "
        "(setting emulator.url; ignored once api.client_id is set)",
    )
    return parser


def _add_user_commands(commands: Any) -> None:
    connect = _user_command(
        commands,
        "connect",
        "connect a QuickBooks company (OAuth 2 in the browser) and store its tokens",
        "Connect a QBO company: prints (and opens) the authorization URL, receives the "
        "redirect on a loopback HTTP server, stores the tokens in the configured token "
        "store. Against Intuit when api.client_id/api.client_secret are set (QBO_API__"
        "CLIENT_ID, QBO_API__CLIENT_SECRET; register the printed redirect URI with the "
        "app, or set api.redirect_uri), else against the emulator.",
    )
    connect.add_argument(
        "--realm", type=_realm_id, metavar="ID", help="the company to connect (reconnect)"
    )
    connect.add_argument(
        "--business",
        type=_business,
        default="qbo-cli",
        metavar="ID",
        help="the business id the connection belongs to (default qbo-cli)",
    )
    connect.add_argument(
        "--no-browser", action="store_true", help="print the URL only; do not open a browser"
    )
    connect.add_argument(
        "--port",
        type=_port,
        default=None,
        metavar="N",
        help="the callback server's port on 127.0.0.1 (default: any free port, or the "
        "port of a loopback api.redirect_uri)",
    )
    connect.add_argument(
        "--timeout",
        type=_seconds,
        default=300.0,
        metavar="SECONDS",
        help="how long to wait for the browser to come back (default 300)",
    )
    connect.set_defaults(handler=_connect)

    query = _user_command(
        commands,
        "query",
        "run a QBO query for a connected company and print the rows",
        "Run a QBO query statement (SELECT ... FROM ...) for a connected company, page by "
        "page through its smart sync; rows print as a table or JSON lines as they arrive.",
    )
    query.add_argument("statement", help='the query, e.g. "SELECT * FROM Customer"')
    query.add_argument(
        "--realm",
        type=_realm_id,
        metavar="ID",
        help="the company (default: the only connected one)",
    )
    query.add_argument(
        "--format",
        dest="output",
        choices=("table", "jsonl"),
        default="table",
        help="table (default) or jsonl: one JSON object per row",
    )
    query.add_argument(
        "--max", dest="limit", type=_positive, metavar="N", help="print at most N rows"
    )
    query.set_defaults(handler=_query)

    health = _user_command(
        commands,
        "health",
        "show the connection health of connected companies",
        "Show each connected company's health: state and reasons, token expiries, "
        "traffic, active alerts. Exit 0 when every company is healthy or degraded, 1 when "
        "any is unhealthy or needs to be connected again.",
    )
    health.add_argument(
        "--realm",
        dest="realms",
        type=_realm_id,
        action="append",
        metavar="ID",
        help="a company to check (repeatable; default every connected one)",
    )
    health.add_argument("--json", action="store_true", help="print JSON instead of a table")
    health.add_argument(
        "--no-probe",
        dest="probe",
        action="store_false",
        help="do not read CompanyInfo first (report from stored facts only)",
    )
    health.set_defaults(handler=_health)

    sync = _user_command(
        commands,
        "sync",
        "copy connected companies into the local mirror (full, then incremental)",
        "Mirror connected companies into a local database: a full sync the first time, "
        "incremental after; Ctrl-C stops safely and the next run resumes.",
    )
    sync.add_argument(
        "--realm",
        dest="realms",
        type=_realm_id,
        action="append",
        metavar="ID",
        help="a company to sync (repeatable; default every connected one)",
    )
    sync.add_argument(
        "--entities",
        metavar="A,B",
        help="the entity types to mirror, comma-separated (default: every supported one)",
    )
    sync.add_argument(
        "--full", action="store_true", help="copy everything again instead of the changes"
    )
    sync.add_argument(
        "--mirror",
        metavar="PATH|URL",
        help="the mirror: a SQLite file path or an SQLAlchemy async URL (setting "
        "mirror.url; default mirror.sqlite3 in the user's data directory)",
    )
    sync.add_argument(
        "--json",
        action="store_true",
        help="print the summary as JSON (progress goes to stderr) instead of a table",
    )
    sync.set_defaults(handler=_sync)

    demo = _user_command(
        commands,
        "demo",
        "the whole stack end to end on an emulator: connect, sync, change, verify",
        "Serve the QBO emulator on a loopback port, connect each company through the real "
        "OAuth flow, mirror every supported entity type into SQLite, change records "
        "through SmartSync, sync again incrementally, verify the mirror against the "
        "emulator, and print health and traffic tables. Exit 1 if verification fails.",
        emulator_url=False,
    )
    demo.add_argument(
        "--size",
        choices=("small", "medium", "large"),
        default="medium",
        help="company size: small ~300, medium ~5,000 (default), large ~100,000 objects",
    )
    demo.add_argument(
        "--realms",
        type=_realms,
        default=2,
        metavar="N",
        help="how many companies (default 2)",
    )
    demo.add_argument(
        "--output",
        metavar="DIR",
        help="where the token store and mirror go (default: a new temporary directory)",
    )
    demo.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary directory (an --output directory is always kept)",
    )
    demo.add_argument("--seed", type=_seed, default=0, help="the emulator's seed (default 0)")
    demo.set_defaults(handler=_demo)


def _flags(args: argparse.Namespace, **sections: dict[str, Any]) -> dict[str, dict[str, Any]]:
    overrides: dict[str, dict[str, Any]] = {
        name: {k: v for k, v in values.items() if v is not None}
        for name, values in sections.items()
    }
    if getattr(args, "emulator_url", None):
        overrides.setdefault("emulator", {})["url"] = args.emulator_url
    return overrides


def _connect(args: argparse.Namespace) -> int:
    from qbo_container.commands.common import command_settings
    from qbo_container.commands.connect import run_connect

    settings = command_settings(_flags(args), config=args.config)
    return run_connect(
        settings,
        business_id=args.business,
        realm_id=args.realm,
        port=args.port,
        open_browser=not args.no_browser,
        timeout=args.timeout,
        out=sys.stdout,
    )


def _query(args: argparse.Namespace) -> int:
    from qbo_container.commands.common import command_settings
    from qbo_container.commands.query import run_query

    settings = command_settings(_flags(args), config=args.config)
    return run_query(
        settings,
        statement=args.statement,
        realm_id=args.realm,
        output=args.output,
        limit=args.limit,
        out=sys.stdout,
    )


def _health(args: argparse.Namespace) -> int:
    from qbo_container.commands.common import command_settings
    from qbo_container.commands.health import run_health

    settings = command_settings(_flags(args), config=args.config)
    return run_health(
        settings, realms=args.realms, as_json=args.json, probe=args.probe, out=sys.stdout
    )


def _sync(args: argparse.Namespace) -> int:
    from qbo_container.commands.common import command_settings
    from qbo_container.commands.sync import mirror_setting, run_sync

    mirror = {"url": mirror_setting(args.mirror) if args.mirror else None}
    settings = command_settings(_flags(args, mirror=mirror), config=args.config)
    return run_sync(
        settings,
        realms=args.realms,
        entities=args.entities,
        full=args.full,
        as_json=args.json,
        out=sys.stdout,
    )


def _demo(args: argparse.Namespace) -> int:
    from qbo_container.commands.demo import run_demo

    return run_demo(
        size=args.size,
        realms=args.realms,
        output=args.output,
        keep=args.keep,
        seed=args.seed,
        config=args.config,
        out=sys.stdout,
    )


def _settings(args: argparse.Namespace) -> int:
    settings = load_settings(file=args.file)
    print(json.dumps(effective_settings(settings), indent=2, sort_keys=True))
    return 0


def _emulator(args: argparse.Namespace) -> int:
    from qbo_container.emulator_command import run_emulator

    flags: dict[str, Any] = {
        "client_id": args.client_id,
        "client_secret": args.client_secret,
        "auto_consent": args.auto_consent,
        "seed": args.seed,
        "size": args.size,
        "realms": args.realms,
        "throttle": args.throttle,
        "anchor": args.anchor,
    }
    given = {key: value for key, value in flags.items() if value is not None}
    verifier = args.webhook_verifier or os.environ.get(WEBHOOK_VERIFIER_ENV) or None
    webhook: dict[str, str] | None = None
    if args.webhook_url is not None:
        if verifier is None:
            raise CommandError(
                f"--webhook-url needs a verifier token: set {WEBHOOK_VERIFIER_ENV} "
                "(or --webhook-verifier)"
            )
        webhook = {"url": args.webhook_url, "verifier_token": verifier}
        webhook["format"] = args.webhook_format
    elif args.webhook_verifier is not None:
        raise CommandError("--webhook-verifier is only used with --webhook-url")
    return run_emulator(
        host=args.host,
        port=args.port,
        emulator=given,
        file=args.file,
        fake_clock=args.fake_clock,
        allowed_hosts=[_host(name) for name in args.allow_host],
        webhook=webhook,
    )


def _silence_stdout() -> None:
    # The reader went away (`qbo settings | head -1`): send what is left nowhere, so
    # that flushing at exit does not fail again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `qbo` with `argv` (default: the process arguments); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        status: int = handler(args)
        sys.stdout.flush()
    except ConfigurationError as exc:
        print(f"qbo: configuration error: {exc}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(f"qbo {args.command}: {exc}", file=sys.stderr)
        return 2
    except CommandFailed as exc:
        sys.stdout.flush()
        print(f"qbo {args.command}: {one_line(exc.message)}", file=sys.stderr)
        return exc.status
    except QBOError as exc:
        failure = failure_of(exc)
        print(f"qbo {args.command}: {failure.message}", file=sys.stderr)
        return failure.status
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        print(f"qbo {args.command}: interrupted", file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
