"""The `qbo` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from qbo_container.settings import load_settings, redacted_settings
from qbo_core.errors import ConfigurationError

__all__ = ["build_parser", "main"]


def _version() -> str:
    try:
        return version("qbo-infra")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `qbo`, with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="qbo",
        description="QuickBooks Online infrastructure: client, sync, OAuth and an emulator.",
    )
    parser.add_argument("--version", action="version", version=f"qbo-infra {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    show = commands.add_parser(
        "settings", help="print the effective settings (secrets masked) and exit"
    )
    show.add_argument("--file", help="a TOML settings file to read as well")
    show.set_defaults(handler=_settings)

    emu = commands.add_parser(
        "emulator",
        help="serve the QuickBooks Online emulator over HTTP until stopped",
        description="Serve the QBO emulator (data API, OAuth 2, control API) over HTTP. "
        "Prints its base URL, realm ids and OAuth credentials, then serves until Ctrl-C.",
    )
    emu.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    emu.add_argument("--port", type=int, default=0, help="port to bind (default: any free)")
    emu.add_argument("--client-id", default="emulator-client", help="the accepted client id")
    emu.add_argument(
        "--client-secret", default="emulator-secret", help="the accepted client secret"
    )
    emu.add_argument(
        "--auto-consent",
        action="store_true",
        help="skip the consent page: authorize redirects straight back with a code",
    )
    emu.add_argument("--seed", type=int, default=0, help="seed for data and randomness")
    emu.add_argument(
        "--size",
        choices=("empty", "small", "medium", "large"),
        default="small",
        help="company size: small ~300, medium ~5,000, large ~100,000 objects per realm",
    )
    emu.add_argument("--realms", type=int, default=1, help="how many companies to serve")
    emu.add_argument(
        "--no-throttle",
        action="store_true",
        help="do not enforce Intuit's rate limits (500/min, 10/s per realm and app)",
    )
    emu.set_defaults(handler=_emulator)
    return parser


def _settings(args: argparse.Namespace) -> int:
    settings = load_settings(file=args.file)
    print(json.dumps(redacted_settings(settings), indent=2, sort_keys=True))
    return 0


def _emulator(args: argparse.Namespace) -> int:
    from qbo_container.emulator_command import run_emulator

    return run_emulator(
        host=args.host,
        port=args.port,
        client_id=args.client_id,
        client_secret=args.client_secret,
        auto_consent=args.auto_consent,
        seed=args.seed,
        size=args.size,
        realms=args.realms,
        throttle=not args.no_throttle,
    )


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
    except ConfigurationError as exc:
        print(f"qbo: configuration error: {exc}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
