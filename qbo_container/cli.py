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
    return parser


def _settings(args: argparse.Namespace) -> int:
    settings = load_settings(file=args.file)
    print(json.dumps(redacted_settings(settings), indent=2, sort_keys=True))
    return 0


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
