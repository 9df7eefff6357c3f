"""The `qbo` command.

Every mistake a user can make (a bad flag, setting or address) ends in one line on
stderr and exit status 2, never a traceback.
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

from qbo_container.emulator_command import CommandError
from qbo_container.settings import effective_settings, load_settings
from qbo_core.errors import ConfigurationError

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
    return parser


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
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
