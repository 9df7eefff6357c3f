"""The example host application (docs/examples/host_app), end to end over real HTTP.

The emulator's HTTP door plays Intuit on one loopback port (auto-consent, one small
company, webhooks subscribed to the app with the app's verifier token); the app runs on
another, on qbo-infra's default SQLite stores and its own SQLite mirror in a temporary
directory. A business is connected by following the app's redirects with a real HTTP
client; the sync job's next iteration (its clock is a `FakeClock`, moved by the test)
mirrors the company; a customer created through SmartSync comes back as a webhook, is
reconciled into the mirror; the health page reports the business by the name the host
passed in.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import attrs
from aiohttp import web
from host_app import AppSettings, Business, HostDatabase, create_app
from host_app.state import DATABASE, INBOX, MIRROR, QBO_KEY, SYNC_JOB

from qbo_adapters.emulator import (
    EmulatorSettings,
    QBOEmulator,
    WebhookSubscription,
    serve_emulator,
)
from qbo_adapters.memory import FakeClock
from qbo_core import Customer, Field, Query

VERIFIER = "host-app-example-verifier"
INTERVAL = 600.0
#: A bound on waiting for what happens in the background (never a timed assertion).
PATIENCE = 30.0


@attrs.define
class Running:
    app: web.Application
    url: str
    http: aiohttp.ClientSession
    emulator: QBOEmulator
    job_clock: FakeClock


@contextlib.asynccontextmanager
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    emulator = QBOEmulator(
        EmulatorSettings(size="small", throttle=False, auto_consent=True, realms=1, seed=11),
        clock=FakeClock(),
    )
    server = await serve_emulator(emulator)
    # The app's port is chosen first (a socket bound here and handed to aiohttp), since
    # its URL is the OAuth redirect URI and the webhook URL.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = AppSettings(
        port=port,
        sync_interval=INTERVAL,
        sync_entities=("Customer", "Item"),
        data_dir=tmp_path / "data",
    )
    environ = {
        "QBO_EMULATOR__URL": server.base_url,  # a running emulator instead of Intuit
        "QBO_API__WEBHOOK_VERIFIER_TOKEN": VERIFIER,
    }
    emulator.webhooks.subscribe(
        WebhookSubscription(url=settings.webhook_url, verifier_token=VERIFIER, format="cloudevents")
    )
    job_clock = FakeClock(auto_advance=False)
    database = HostDatabase({"acme": Business(name="Acme Plumbing")})
    app = create_app(settings, environ=environ, database=database, job_clock=job_clock)
    runner = web.AppRunner(app, access_log=None)
    try:
        await runner.setup()
        await web.SockSite(runner, sock).start()
        # The browser's cookies for 127.0.0.1 (aiohttp refuses IP cookies unless unsafe).
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            yield Running(app, settings.base_url, http, emulator, job_clock)
    finally:
        await runner.cleanup()
        sock.close()
        await server.close()


async def test_connect_sync_webhook_and_health(tmp_path: Path) -> None:
    """A business connects through the app's redirects, the sync job mirrors its
    company's customers, a new customer arrives by webhook and is reconciled into the
    mirror, and the health page is healthy under the host's business name."""
    async with running(tmp_path) as r:
        job = r.app[SYNC_JOB]
        await asyncio.wait_for(job.wait_for_runs(1), PATIENCE)  # at startup: nobody yet

        # Connect: the app redirects to the emulator's consent (auto), which redirects
        # to the app's callback; the client follows both.
        async with r.http.get(f"{r.url}/businesses/acme/connect") as page:
            text = await page.text()
            assert page.status == 200, text
            hops = [str(hop.url) for hop in page.history]
            assert page.url.path == "/oauth/callback"
        assert len(hops) == 2  # the app's redirect, then the emulator's consent
        assert hops[1].startswith(r.emulator.base_url)
        (realm,) = r.emulator.realm_ids
        qbo = r.app[QBO_KEY]
        sync = qbo.smart_sync(business_id="acme", realm_id=realm)
        company = (await sync.company_info()).company_name
        assert company is not None
        assert f"Acme Plumbing is connected to the QuickBooks company {company}" in text
        assert f"(realm {realm})" in text
        assert r.app[DATABASE].businesses["acme"].realm_id == realm

        # The sync job's next iteration mirrors the company's customers.
        r.job_clock.advance(INTERVAL)
        await asyncio.wait_for(job.wait_for_runs(2), PATIENCE)
        everyone = Query.select(Customer).where(Field("Active").in_([True, False]))
        customers = [customer async for customer in sync.query_all(everyone)]
        mirror = r.app[MIRROR]
        held = (await mirror.summary(realm))["Customer"]
        assert customers
        assert held.count == len(customers)

        # A customer created in QBO comes back as a webhook and lands in the mirror.
        created = await sync.create(Customer(display_name="Hooked Ltd"))
        assert created.id is not None
        result = await asyncio.wait_for(r.app[INBOX].results.get(), PATIENCE)
        assert [(type(e).__name__, e.id) for e in result.entities] == [("Customer", created.id)]
        assert [(e.entity_type, e.entity_id) for e in r.app[INBOX].events] == [
            ("Customer", created.id)
        ]
        copy = await mirror.get(realm, "Customer", created.id)
        assert isinstance(copy, Customer)
        assert copy.display_name == "Hooked Ltd"

        # Health: JSON with the name the host passed in.
        async with r.http.get(f"{r.url}/businesses/acme/health") as answer:
            assert answer.status == 200
            health = await answer.json()
        assert health["business_name"] == "Acme Plumbing"
        assert health["realm_id"] == realm
        assert health["state"] == "healthy", health["reasons"]
        assert all(health["adapters"].values())


async def test_unknown_business_and_stray_callback_are_refused(tmp_path: Path) -> None:
    """The connect and health routes answer 404 for a business the host does not have,
    and a callback from a browser that started no connection is refused (400)."""
    async with running(tmp_path) as r:
        for path in ("connect", "health"):
            async with r.http.get(
                f"{r.url}/businesses/nobody/{path}", allow_redirects=False
            ) as answer:
                assert answer.status == 404
        async with r.http.get(f"{r.url}/oauth/callback?code=x&state=y&realmId=1") as answer:
            assert answer.status == 400
            assert "No connection was started" in await answer.text()
        assert r.app[DATABASE].connected() == []
