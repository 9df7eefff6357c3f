"""`qbo emulator`: serve the QBO emulator, built by the container, over HTTP until interrupted."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from dependency_injector import providers

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.guard import CONTROL_TOKEN_HEADER, is_loopback
from qbo_adapters.emulator.server import serve_emulator
from qbo_adapters.emulator.settings import anchor_time
from qbo_adapters.emulator.webhooks import WebhookSubscription
from qbo_adapters.memory.clock import FakeClock, SystemClock
from qbo_container.container import build_container
from qbo_container.settings import emulator_settings

__all__ = ["CommandError", "run_emulator", "serve_until_stopped"]


class CommandError(Exception):
    """A command cannot do what was asked for a reason the user can fix (one line, exit 2)."""


async def serve_until_stopped(
    emulator: QBOEmulator,
    *,
    host: str,
    port: int,
    out: TextIO = sys.stdout,
    stop: asyncio.Event | None = None,
    allowed_hosts: Sequence[str] = (),
    webhook: WebhookSubscription | None = None,
) -> None:
    """Serve `emulator`, print how to reach it (control token included), and wait for
    `stop` or SIGINT / SIGTERM. With `webhook`, the emulator is subscribed first and the
    HTTP door delivers its webhooks (the verifier is never printed)."""
    if webhook is not None:
        emulator.webhooks.subscribe(webhook)
    server = await serve_emulator(emulator, host=host, port=port, allowed_hosts=allowed_hosts)
    try:
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            # Not available off the main thread or on some platforms: Ctrl-C still works there.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        settings = emulator.settings
        base = server.base_url
        clock = (
            "fake (advance it: POST /_emulator/clock/advance)"
            if isinstance(emulator.clock, FakeClock)
            else "real"
        )
        hosts = ", ".join(["the bound address", *allowed_hosts])
        lines = [
            f"QBO emulator serving at {base}",
            f"  data API base URL : {base}  (e.g. {base}/v3/company/<realm>/customer/1)",
            f"  realm ids         : {', '.join(emulator.realm_ids)}",
            f"  company size      : {settings.size} (seed {settings.seed})",
            f"  data as of        : {emulator.anchor.date().isoformat()} 00:00 UTC (--now)",
            f"  clock             : {clock}, now {emulator.clock.now().isoformat()}",
            f"  throttling        : {'on' if settings.throttle else 'off'}",
            f"  client id         : {settings.client_id}",
            f"  client secret     : {settings.client_secret}",
            f"  discovery         : {base}/.well-known/openid_sandbox_configuration",
            f"  authorize         : {base}/connect/oauth2",
            f"  token             : {base}/oauth2/v1/tokens/bearer",
            f"  control API       : {base}/_emulator/state",
            f"  control token     : {server.control_token}  (header {CONTROL_TOKEN_HEADER})",
            f"  Host accepted     : {hosts}",
            f"  webhooks          : {_webhook_line(emulator.webhooks.subscription)}",
            "Press Ctrl-C to stop.",
        ]
        if not is_loopback(host):
            lines.insert(
                1,
                f"WARNING: listening on {host or 'every interface'}, not loopback: other "
                "machines can reach the emulator (the control API still needs the token)",
            )
        print("\n".join(lines), file=out, flush=True)
        await stop.wait()
    finally:
        await server.close()


def _webhook_line(subscription: WebhookSubscription | None) -> str:
    if subscription is None:
        return "off (--webhook-url, or PUT /_emulator/webhooks)"
    return f"POST {subscription.url} ({subscription.format} format, verifier set, not shown)"


def run_emulator(
    *,
    host: str,
    port: int,
    emulator: Mapping[str, Any] | None = None,
    file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    out: TextIO = sys.stdout,
    fake_clock: bool = False,
    allowed_hosts: Sequence[str] = (),
    webhook: Mapping[str, str] | None = None,
) -> int:
    """The body of `qbo emulator`; returns the exit status.

    The emulator is the container's, built from the settings (`emulator` section of
    the defaults, `file`, `QBO_EMULATOR__*` variables), with `emulator` (the command
    line's flags) winning over them. With `fake_clock` it runs on a `FakeClock` that
    starts at the data's anchor and moves only when the control API advances it (and
    through injected latency). `webhook` (`url`, `verifier_token`, `format`) subscribes
    the emulator's webhooks. Raises `ConfigurationError` for a bad setting and
    `CommandError` when the address cannot be served or the webhook is unusable.
    """
    subscription: WebhookSubscription | None = None
    if webhook is not None:
        try:
            subscription = WebhookSubscription(
                url=webhook["url"],
                verifier_token=webhook["verifier_token"],
                format=webhook.get("format", "legacy"),  # type: ignore[arg-type]
            )
        except ValueError as exc:
            raise CommandError(f"bad webhook subscription: {exc}") from None
    container = build_container({"emulator": dict(emulator or {})}, file=file, environ=environ)
    if fake_clock:
        anchor = emulator_settings(container.config()).anchor
        start = anchor_time(anchor, SystemClock().now())
        container.clock.override(providers.Object(FakeClock(start)))
    served = container.emulator()
    try:
        asyncio.run(
            serve_until_stopped(
                served,
                host=host,
                port=port,
                out=out,
                allowed_hosts=allowed_hosts,
                webhook=subscription,
            )
        )
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise CommandError(f"cannot listen on {host}:{port}: {reason or exc}") from exc
    return 0
