"""`create_app`: the aiohttp application, and the context that opens qbo-infra for it.

One `QBOContainer` per process: `QBO.open` builds it from the settings (defaults, the
TOML file, `QBO_*` variables) and `qbo_context` keeps the facade open for the app's
lifetime (aiohttp's `cleanup_ctx`), wires the handlers to that container, starts the
sync job, and undoes all of it in reverse at shutdown.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import create_async_engine

from host_app import handlers
from host_app.database import HostDatabase
from host_app.jobs import SyncJob, WebhookInbox
from host_app.settings import AppSettings
from host_app.state import (
    DATABASE,
    EMULATOR_URL,
    ENGINE,
    INBOX,
    MIRROR,
    QBO_KEY,
    SETTINGS,
    SYNC_JOB,
    WEBHOOKS,
)
from qbo_adapters.aiohttp import WebhookHandler
from qbo_adapters.emulator import HandlerServer, WebhookSubscription, serve_emulator
from qbo_adapters.sql import SqlMirror
from qbo_container import QBO, load_settings
from qbo_container.settings import transport_backend
from qbo_core.ports import Clock

__all__ = ["create_app", "qbo_settings"]

_log = logging.getLogger("host_app")


def qbo_settings(
    settings: AppSettings, environ: Mapping[str, str] | None = None
) -> Mapping[str, Mapping[str, Any]]:
    """qbo-infra's settings for this app: the file and `QBO_*` variables of `environ`,
    with two defaults of the app's own. The OAuth redirect URI is the app's callback
    unless `api.redirect_uri` is set. On the embedded emulator with no
    `api.webhook_verifier_token`, a random one is made (the app subscribes itself at
    that emulator with it); anywhere else the token is required."""
    loaded = load_settings(None, file=settings.qbo_file, environ=environ)
    api = dict(loaded["api"])
    api.setdefault("redirect_uri", settings.redirect_uri)
    if transport_backend(loaded) == "emulator" and not api.get("webhook_verifier_token"):
        api["webhook_verifier_token"] = secrets.token_urlsafe(24)
    return {**loaded, "api": api}


async def _serve_embedded(qbo: QBO, settings: AppSettings) -> HandlerServer | None:
    """On the embedded emulator: serve it on loopback, so that a browser can reach its
    consent page and it can send webhooks, and subscribe the app's webhook URL."""
    if transport_backend(qbo.container.config()) != "emulator":
        return None
    emulator = qbo.embedded_emulator()
    served = await serve_emulator(emulator, host="127.0.0.1")
    verifier = qbo.config.webhook_verifier_token
    assert verifier is not None  # qbo_settings made one
    emulator.webhooks.subscribe(
        WebhookSubscription(url=settings.webhook_url, verifier_token=verifier, format="cloudevents")
    )
    _log.info("the embedded QBO emulator is served at %s", served.base_url)
    return served


def qbo_context(
    *, environ: Mapping[str, str] | None = None, job_clock: Clock | None = None
) -> Callable[[web.Application], AsyncIterator[None]]:
    """The `cleanup_ctx` entry that owns qbo-infra and everything built on it."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        async with contextlib.AsyncExitStack() as stack:
            qbo = await stack.enter_async_context(QBO.open(qbo_settings(settings, environ)))
            app[QBO_KEY] = qbo
            # Handlers with `Provide[QBOContainer....]` markers now get this container's
            # providers; unwired at shutdown, before the container closes.
            qbo.container.wire(modules=[handlers])
            stack.callback(qbo.container.unwire)

            served = await _serve_embedded(qbo, settings)
            if served is not None:
                stack.push_async_callback(served.close)
            app[EMULATOR_URL] = served.base_url if served is not None else ""

            settings.data_dir.mkdir(parents=True, exist_ok=True)
            engine = create_async_engine(
                f"sqlite+aiosqlite:///{settings.mirror_file}", hide_parameters=True
            )
            stack.push_async_callback(engine.dispose)
            app[ENGINE] = engine
            mirror = app[MIRROR] = SqlMirror(engine)

            job = SyncJob(
                qbo,
                app[DATABASE],
                mirror,
                interval=settings.sync_interval,
                entities=settings.sync_entities,
                clock=job_clock,
            )
            app[SYNC_JOB] = job
            inbox = app[INBOX] = WebhookInbox(qbo, app[DATABASE], mirror, job)
            # `webhook_handler(receiver, callback, app=app)` wants the app before it
            # starts; the receiver exists only once `QBO` is open, so the handler is
            # built here and closed below (waiting for callbacks still running).
            webhooks = app[WEBHOOKS] = WebhookHandler(qbo.webhook_receiver(), inbox)
            stack.push_async_callback(webhooks.close, grace=10.0)

            job.start()
            stack.push_async_callback(job.close)
            _log.info("host app ready at %s", settings.base_url)
            yield

    return context


def create_app(
    settings: AppSettings | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    database: HostDatabase | None = None,
    job_clock: Clock | None = None,
) -> web.Application:
    """The application. `settings` default to `AppSettings.from_environ(environ)`;
    qbo-infra reads `QBO_*` from `environ` (default `os.environ`). `job_clock` is what
    the sync job sleeps on (default the container's clock; a test's `FakeClock`)."""
    app = web.Application()
    app[SETTINGS] = settings if settings is not None else AppSettings.from_environ(environ)
    app[DATABASE] = database if database is not None else HostDatabase()
    app.cleanup_ctx.append(qbo_context(environ=environ, job_clock=job_clock))
    app.router.add_get("/", handlers.index)
    app.router.add_get("/businesses/{business_id}/connect", handlers.connect)
    app.router.add_get("/oauth/callback", handlers.oauth_callback)
    app.router.add_post("/webhooks/intuit", handlers.intuit_webhooks)
    app.router.add_get("/businesses/{business_id}/health", handlers.business_health)
    return app
