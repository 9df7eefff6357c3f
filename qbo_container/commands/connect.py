"""`qbo connect`: connect a QBO company through the OAuth 2 flow, from a terminal.

The flow is the one a host's web app runs (`QBOSetupService.begin` / `complete`), with
the web app replaced by a loopback HTTP server that receives Intuit's redirect:

1. a `CallbackServer` listens on 127.0.0.1 (`--port`, default any free port); its URL
   becomes `api.redirect_uri` (or the configured `api.redirect_uri` is served, when it
   is a loopback URL and no `--port` is given);
2. `setup.begin` makes the authorization URL, which is printed and opened in the
   browser (`webbrowser.open`, unless `--no-browser`);
3. the user consents; Intuit (or the emulator) redirects the browser to the callback;
4. `setup.complete` checks the state, trades the code for tokens and stores them in the
   configured token store; the company is recorded in the connection registry.

Which authorization server: Intuit's when `api.client_id` is set (production or sandbox
per `api.environment`), else the emulator: `--emulator-url` / `emulator.url` (a running
`qbo emulator`), or the embedded one, served on a loopback port for as long as the
command runs (its tokens are good for that emulator only).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import webbrowser
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TextIO
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from qbo_adapters.emulator.server import HandlerServer, serve_emulator
from qbo_container.commands.common import (
    EXIT_FAILED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CommandFailed,
    ConnectionRegistry,
    failure_of,
    open_qbo,
    registry_path,
)
from qbo_container.facade import QBO
from qbo_container.settings import (
    EMULATOR_BASE_URL,
    Settings,
    emulator_base_url,
    load_settings,
    mask_url,
    sql_url,
)
from qbo_core.dtos import QBOIntegrationDTO
from qbo_core.errors import QBOError
from qbo_core.http import HttpRequest

__all__ = ["CallbackServer", "authorize", "run_connect"]

#: Where the callback server answers, unless the configured redirect URI says otherwise.
CALLBACK_PATH = "/callback"
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")

Visit = Callable[[str], Awaitable[None]]

_ANSWER = (
    "<!DOCTYPE html><html><head><title>qbo connect</title></head><body>"
    "<p>qbo received Intuit's answer. Return to the terminal; you can close this tab.</p>"
    "</body></html>"
)


class CallbackServer:
    """A loopback HTTP server that receives one OAuth redirect on `path`.

    `start()` returns the redirect URI; `wait(timeout)` the next callback's query
    parameters, in the order they arrived (one per connection). Other paths get 404.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, path: str = CALLBACK_PATH):
        self.host = host
        self.port = port
        self.path = path
        self._runner: web.AppRunner | None = None
        self._answers: asyncio.Queue[dict[str, str]] | None = None
        self.redirect_uri = ""

    async def start(self) -> str:
        self._answers = asyncio.Queue()
        app = web.Application()
        app.router.add_get(self.path, self._callback)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            why = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise CommandFailed(
                f"cannot listen for the OAuth callback on {self.host}:{self.port}: {why}",
                EXIT_USAGE,
            ) from None
        self._runner = runner
        server = site._server  # aiohttp exposes the bound port nowhere else
        sockets = getattr(server, "sockets", None) or ()
        port = int(sockets[0].getsockname()[1]) if sockets else self.port
        self.port = port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.redirect_uri = f"http://{host}:{port}{self.path}"
        return self.redirect_uri

    async def _callback(self, request: web.Request) -> web.Response:
        if self._answers is not None:
            self._answers.put_nowait({key: request.query[key] for key in request.query})
        return web.Response(text=_ANSWER, content_type="text/html")

    async def wait(self, seconds: float) -> dict[str, str]:
        """The next callback's query parameters; `TimeoutError` after `seconds`."""
        if self._answers is None:
            raise RuntimeError("start the callback server first")
        async with asyncio.timeout(seconds):
            return await self._answers.get()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def loopback_redirect(uri: str | None) -> tuple[str, int, str] | None:
    """(host, port, path) of `uri` when it is an http loopback URL with a port, else None."""
    if not uri:
        return None
    parts = urlsplit(uri)
    if parts.scheme != "http" or parts.hostname is None or parts.port is None:
        return None
    host = parts.hostname
    if host not in _LOOPBACK_HOSTS:
        return None
    return ("127.0.0.1" if host == "localhost" else host, parts.port, parts.path or "/")


def with_redirect(settings: Settings, redirect_uri: str) -> Settings:
    """`settings` with `api.redirect_uri` set (validated again)."""
    changed = {section: dict(values) for section, values in settings.items()}
    changed["api"]["redirect_uri"] = redirect_uri
    return load_settings(changed, environ={})


async def authorize(
    qbo: QBO,
    *,
    business_id: str,
    callback: CallbackServer,
    visit: Visit | None,
    wait_seconds: float,
    out: TextIO | None,
    realm_id: str | None = None,
    public_base: str | None = None,
    realm_hint: bool = False,
) -> QBOIntegrationDTO:
    """One connection through the OAuth flow, the callback arriving at `callback`.

    `public_base` replaces the embedded emulator's unreachable origin in the URL (the
    address it is served at); `realm_hint` adds the emulator's `realmId` hint so that it
    consents for that company. `visit` opens the URL (a browser, or an HTTP client
    standing in for the user). Raises `CommandFailed` on a timeout, and the setup
    service's errors.
    """
    request = await qbo.setup.begin(business_id, realm_id=realm_id)
    url = request.authorization_url
    if public_base is not None and url.startswith(EMULATOR_BASE_URL):
        url = public_base + url[len(EMULATOR_BASE_URL) :]
    if realm_hint and realm_id is not None:
        url += ("&" if "?" in url else "?") + urlencode({"realmId": realm_id})
    if out is not None:
        print(f"Open this URL to connect a QuickBooks company:\n  {url}", file=out, flush=True)
    if visit is not None:
        await visit(url)
    try:
        params = await callback.wait(wait_seconds)
    except TimeoutError:
        raise CommandFailed(
            f"no answer from the authorization page within {wait_seconds:g} s: run `qbo connect` "
            "again (--timeout to wait longer)",
            EXIT_FAILED,
        ) from None
    return await qbo.setup.complete(business_id, params)


def token_store_description(settings: Mapping[str, Mapping[str, Any]]) -> str:
    backend = str(settings["token_store"]["backend"])
    if backend in ("sqlite", "postgres"):
        return f"{backend} ({mask_url(sql_url(settings))})"
    return backend


async def _reachable(qbo: QBO, base: str) -> None:
    """Ask the emulator at `base` for its discovery document before sending anyone there:
    an emulator that is not running is a `TransportError` now (exit 4), not a timeout."""
    discovery = qbo.config.discovery_url or base
    response = await qbo.transport.send(HttpRequest(method="GET", url=discovery, timeout=10.0))
    if response.status != 200:
        raise CommandFailed(
            f"{base} answered HTTP {response.status} for its discovery document: is it a "
            "`qbo emulator`?",
            EXIT_UNREACHABLE,
        )


async def _browser(url: str) -> None:
    await asyncio.to_thread(webbrowser.open, url)


async def _connect(
    settings: Settings,
    *,
    business_id: str,
    realm_id: str | None,
    port: int | None,
    open_browser: bool,
    wait_seconds: float,
    out: TextIO,
) -> QBOIntegrationDTO:
    configured = loopback_redirect(settings["api"].get("redirect_uri"))
    if configured is not None and port is None:
        host, bind_port, path = configured
        callback = CallbackServer(host=host, port=bind_port, path=path)
    else:
        callback = CallbackServer(port=port or 0)
    await callback.start()
    served: HandlerServer | None = None
    try:
        settings = with_redirect(settings, callback.redirect_uri)
        base = emulator_base_url(settings)
        async with open_qbo(settings) as qbo:
            public: str | None = None
            if base == EMULATOR_BASE_URL:
                served = await serve_emulator(qbo.embedded_emulator(), host="127.0.0.1")
                public = served.base_url
                print(
                    f"Using the embedded QBO emulator, served at {public} while this command "
                    "runs (its tokens are good for it only; keep one running with "
                    "`qbo emulator` and pass --emulator-url).",
                    file=out,
                )
            elif base is not None:
                await _reachable(qbo, base)
            integration = await authorize(
                qbo,
                business_id=business_id,
                callback=callback,
                visit=_browser if open_browser else None,
                wait_seconds=wait_seconds,
                out=out,
                realm_id=realm_id,
                public_base=public,
                realm_hint=base is not None,
            )
    finally:
        if served is not None:
            await served.close()
        await callback.close()
    return integration


def run_connect(
    settings: Settings,
    *,
    business_id: str,
    realm_id: str | None,
    port: int | None,
    open_browser: bool,
    timeout: float,
    out: TextIO,
) -> int:
    """The body of `qbo connect`; returns the exit status (raises `CommandFailed`)."""
    registry = ConnectionRegistry(registry_path(settings))
    try:
        integration = asyncio.run(
            _connect(
                settings,
                business_id=business_id,
                realm_id=realm_id,
                port=port,
                open_browser=open_browser,
                wait_seconds=timeout,
                out=out,
            )
        )
    except QBOError as exc:
        raise failure_of(exc, doing="connecting failed") from None
    realm = integration.realm_id or "?"
    with contextlib.suppress(CommandFailed):  # the tokens are stored: the list is a help
        registry.record(realm, business_id=business_id, company_name=integration.company_name)
    name = integration.company_name or "(name not read)"
    print(
        f"Connected QBO company {name!r} (realm {realm}) for business {business_id}; "
        f"tokens stored in {token_store_description(settings)}.",
        file=out,
    )
    return 0
