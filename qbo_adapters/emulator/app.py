"""`QBOEmulator`: the sans-I/O handler at the heart of the emulator.

`handle(HttpRequest) -> HttpResponse` does no I/O: state is in memory, time comes from
the `Clock` port (injected latency sleeps on it), randomness from the seed. Companies
are generated up to `anchor` (00:00 UTC of `settings.anchor`, or of the clock's day),
never up to the clock's exact time, so the same seed gives the same bytes. The doors
(`EmulatorTransport` in-process, `qbo emulator` over HTTP) only move bytes.

The order for one request:

1. log it; pick any injected fault for its route (seeded, deterministic);
2. OAuth, discovery and control routes are answered directly;
3. data-API routes: authenticate the bearer token for the realm (401 / 403 gateway
   faults), admit it through the throttle (429), replay a repeated `requestid`,
   then run the operation;
4. render any `QBOFault` / `GatewayFault` in QBO's own shapes.

An unexpected exception inside a handler is an emulator bug: the client gets QBO's
`SystemFault` (HTTP 500) and a summary of the exception (type, message, route, the
traceback's text; never the exception itself, whose frames hold the request body) is kept
in `internal_errors`, the last `MAX_INTERNAL_ERRORS` of them, so that tests can insist
there were none.
"""

from __future__ import annotations

import json
import random
import re
import traceback
from collections import deque
from datetime import datetime
from typing import Any, Literal

import attrs

from qbo_adapters.emulator.chaos import FaultInjector, Injection
from qbo_adapters.emulator.company_time import company_zone
from qbo_adapters.emulator.context import (
    RequestContext,
    json_response,
    new_tid,
    text_response,
)
from qbo_adapters.emulator.control import ControlAPI
from qbo_adapters.emulator.data_api import DataAPI
from qbo_adapters.emulator.faults import (
    GatewayFault,
    QBOFault,
    gateway_json,
    unsupported_operation,
    xml_fault,
)
from qbo_adapters.emulator.oauth import OAuthServer
from qbo_adapters.emulator.settings import EmulatorSettings, anchor_time
from qbo_adapters.emulator.store import Company
from qbo_adapters.emulator.throttle import Throttle
from qbo_adapters.emulator.webhooks import WebhookDispatcher, event_source
from qbo_adapters.memory.clock import SystemClock
from qbo_core.http import Headers, HttpRequest, HttpResponse
from qbo_core.ports.clock import Clock
from qbo_core.ports.http_transport import HttpTransport

__all__ = ["DropConnection", "InternalError", "LoggedRequest", "QBOEmulator"]

#: Injected faults that replace the answer before the request reaches its handler.
_ANSWERED_EARLY = frozenset({"refuse", "reset", "status", "html", "xml"})

#: How many internal errors `QBOEmulator.internal_errors` keeps (the newest).
MAX_INTERNAL_ERRORS = 100
#: How much of an internal error's message and traceback text is kept.
_MAX_ERROR_TEXT = 4000

_COMPANY_PATH = re.compile(r"^/v3/company/(?P<realm>[^/]+)(?P<rest>/.*)?$")


class DropConnection(Exception):
    """Raised by `handle` when a fault says to answer with no response at all.

    `kind` is `"refuse"` (no connection: the request never arrived), `"reset"` (the
    connection broke before the request was applied) or `"timeout"` (the request was
    applied, and the answer never came: the case idempotent retries exist for).
    Each door turns it into what a client would see: in-process, the matching
    `TransportError`; over HTTP, a closed socket or a stalled response.
    """

    def __init__(self, kind: Literal["refuse", "reset", "timeout"], *, applied: bool) -> None:
        super().__init__(f"emulator dropped the connection ({kind}, applied={applied})")
        self.kind = kind
        self.applied = applied


@attrs.frozen(kw_only=True)
class LoggedRequest:
    """One entry of the request log the control API exposes."""

    at: datetime
    method: str
    path: str
    query: str
    realm_id: str | None
    status: int | None
    tid: str
    injected: str | None


@attrs.frozen(kw_only=True)
class InternalError:
    """An emulator bug met while serving a request: what was raised, and where.

    Only text is kept (no exception object, so no frame holds the request's body).
    """

    type: str
    message: str
    method: str
    path: str
    traceback: str

    @classmethod
    def of(cls, exc: BaseException, *, method: str, path: str) -> InternalError:
        return cls(
            type=type(exc).__name__,
            message=str(exc)[:_MAX_ERROR_TEXT],
            method=method,
            path=path[:_MAX_ERROR_TEXT],
            traceback="".join(traceback.format_exception(exc))[-_MAX_ERROR_TEXT:],
        )

    def __str__(self) -> str:
        return f"{self.type}: {self.message} ({self.method} {self.path})"


class QBOEmulator:
    """A stateful fake QuickBooks Online. See the module docstring for the request flow.

    `webhooks` (`webhooks.py`) sends Intuit-style webhooks for every change once a
    subscription is configured (`webhooks.subscribe`, or the control API), through
    `webhook_transport` (the HTTP door supplies its own when none is given). It keeps
    its subscription across `reset`; nothing is sent until `webhooks.deliver_due()` or
    `webhooks.run()` is awaited (the HTTP door runs it).
    """

    def __init__(
        self,
        settings: EmulatorSettings | None = None,
        *,
        clock: Clock | None = None,
        base_url: str = "http://emulator.invalid",
        webhook_transport: HttpTransport | None = None,
    ) -> None:
        self.settings = settings or EmulatorSettings()
        self.clock: Clock = clock or SystemClock()
        self.base_url = base_url.rstrip("/")
        self.zone = company_zone(self.settings.time_zone)
        self.request_log: deque[LoggedRequest] = deque(maxlen=10_000)
        self.internal_errors: deque[InternalError] = deque(maxlen=MAX_INTERNAL_ERRORS)
        self.webhooks = WebhookDispatcher(
            clock=self.clock,
            settings=self.settings,
            transport=webhook_transport,
            source=event_source(self.settings.client_id),
        )
        self.reset(seed=self.settings.seed)

    # -- state ---------------------------------------------------------------

    def reset(self, *, seed: int | None = None) -> None:
        """Forget everything and regenerate the companies from `seed` (default: current)."""
        if seed is not None:
            self.settings = attrs.evolve(self.settings, seed=seed)
        self.rng = random.Random(self.settings.seed)
        self.companies: dict[str, Company] = {}
        now = anchor_time(self.settings.anchor, self.clock.now())
        self.anchor = now
        for realm_id in realm_ids(self.settings.seed, self.settings.realms):
            self.companies[realm_id] = Company.generate(
                realm_id=realm_id,
                seed=self.settings.seed,
                size=self.settings.size,
                now=now,
                zone=self.zone,
                settings=self.settings,
            )
        self.oauth = OAuthServer(self)
        self.throttle = Throttle(self.settings)
        self.chaos = FaultInjector(self.settings.seed)
        self.data = DataAPI(self)
        self.control = ControlAPI(self)
        self.request_log.clear()
        self.internal_errors.clear()
        self.webhooks.settings = self.settings
        self.webhooks.reset(seed=self.settings.seed)
        for company in self.companies.values():
            company.observers.append(self.webhooks.observe)

    def reseed(self, seed: int) -> None:
        """Restart the random draws (tids, fault draws) from `seed`; data and rules stay."""
        self.rng = random.Random(seed)
        self.chaos.reseed(seed)

    @property
    def realm_ids(self) -> list[str]:
        return list(self.companies)

    def set_base_url(self, base_url: str) -> None:
        """Where the emulator is served; used in discovery documents and redirects."""
        self.base_url = base_url.rstrip("/")

    # -- the handler -----------------------------------------------------------

    async def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request. Raises only `DropConnection` (and cancellation)."""
        ctx = RequestContext.build(
            request, now=self.clock.now(), tid=new_tid(self.rng), zone=self.zone
        )
        injection = self.chaos.pick(ctx)
        status: int | None = None
        try:
            latency = injection.latency if injection is not None else 0.0
            if injection is not None and injection.kind in _ANSWERED_EARLY and latency > 0:
                await self.clock.sleep(latency)  # a slow failure: the delay comes first
                latency = 0.0
            early = self._inject_before(ctx, injection)
            if early is not None:
                status = early.status
                return early
            response = await self._dispatch(ctx, latency)
            response = self._inject_after(ctx, injection, response)
            status = response.status
            return response
        finally:
            self.request_log.append(
                LoggedRequest(
                    at=ctx.now,
                    method=ctx.method,
                    path=ctx.path,
                    query=request.url.partition("?")[2],
                    realm_id=ctx.realm_id,
                    status=status,
                    tid=ctx.tid,
                    injected=injection.kind if injection is not None else None,
                )
            )

    async def _dispatch(self, ctx: RequestContext, latency: float = 0.0) -> HttpResponse:
        """Route the request. Injected `latency` is spent while a data request holds its
        throttle slot (so concurrent slow requests count as in flight), before any other."""
        try:
            match = _COMPANY_PATH.match(ctx.path)
            if match is not None:
                return await self._data_request(ctx, match["realm"], match["rest"] or "/", latency)
            if latency > 0:
                await self.clock.sleep(latency)
            if ctx.path.startswith("/_emulator/"):
                return await self.control.handle_async(ctx)
            oauth_response = self.oauth.handle(ctx)
            if oauth_response is not None:
                return oauth_response
            if ctx.path.startswith("/v3/"):
                raise unsupported_operation(ctx.path)
            return text_response(
                ctx,
                b"<html><body><h1>404 Not Found</h1></body></html>",
                status=404,
                content_type="text/html;charset=utf-8",
            )
        except QBOFault as fault:
            return self.render_fault(ctx, fault)
        except GatewayFault as fault:
            return self.render_gateway_fault(ctx, fault)
        except DropConnection:
            raise
        except Exception as exc:  # an emulator bug: answer like QBO would, keep the evidence
            self.internal_errors.append(InternalError.of(exc, method=ctx.method, path=ctx.path))
            del exc  # the traceback's frames hold the request: let them go now
            return self.render_fault(
                ctx,
                QBOFault.single(
                    "10000",
                    "An application error has occurred while processing your request",
                    "System Failure Error: An unexpected error occurred while accessing or "
                    "saving your data.",
                    status=500,
                    fault_type="SystemFault",
                ),
            )

    async def _data_request(
        self, ctx: RequestContext, realm_id: str, rest: str, latency: float
    ) -> HttpResponse:
        ctx.realm_id = realm_id
        ctx.client_id = self.oauth.authenticate(ctx, realm_id)
        company = self.companies.get(realm_id)
        if company is None:  # a valid token names the realm, so this is rare
            raise GatewayFault(
                403,
                "3100",
                "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                "",
                "SERVICE",
            )
        is_batch = rest.rstrip("/").lower() == "/batch"
        release = self.throttle.admit(ctx, realm_id, ctx.client_id, batch=is_batch)
        try:
            if latency > 0:
                await self.clock.sleep(latency)
            return self.data.handle(ctx, company, rest)
        finally:
            release()

    # -- fault injection -------------------------------------------------------------

    def _inject_before(
        self, ctx: RequestContext, injection: Injection | None
    ) -> HttpResponse | None:
        if injection is None:
            return None
        kind = injection.kind
        if kind == "refuse":
            raise DropConnection("refuse", applied=False)
        if kind == "reset":
            raise DropConnection("reset", applied=False)
        if kind == "status":
            return self.render_fault(
                ctx,
                QBOFault.single(
                    str(injection.status),
                    "An application error has occurred while processing your request",
                    f"Injected HTTP {injection.status}",
                    status=injection.status,
                    fault_type="SystemFault",
                ),
            )
        if kind == "html":
            return text_response(
                ctx,
                (
                    f"<!DOCTYPE html><html><head><title>{injection.status} Error</title></head>"
                    f"<body><h1>{injection.status}</h1><p>The server encountered an error."
                    "</p></body></html>"
                ).encode(),
                status=injection.status,
                content_type="text/html;charset=utf-8",
            )
        if kind == "xml":
            fault = QBOFault.single(
                "10000",
                "An application error has occurred while processing your request",
                "Injected XML fault",
                status=injection.status,
                fault_type="SystemFault",
            )
            fault.as_xml = True
            return self.render_fault(ctx, fault)
        return None

    def _inject_after(
        self, ctx: RequestContext, injection: Injection | None, response: HttpResponse
    ) -> HttpResponse:
        if injection is None:
            return response
        if injection.kind == "timeout":
            raise DropConnection("timeout", applied=True)
        if injection.kind == "truncate":
            cut = max(0, len(response.body) // 2)
            return HttpResponse(
                status=response.status, headers=response.headers, body=response.body[:cut]
            )
        return response

    # -- rendering ----------------------------------------------------------------------

    def render_fault(self, ctx: RequestContext, fault: QBOFault) -> HttpResponse:
        """A data-service fault in JSON, or XML when asked for (or forced by the fault)."""
        if fault.as_xml or ctx.wants_xml():
            return text_response(
                ctx,
                xml_fault(fault.fault_type, fault.errors, ctx.time_text()),
                status=fault.status,
                content_type="application/xml",
                extra_headers=fault.headers,
            )
        payload: dict[str, Any] = {"Fault": fault.body(), "time": ctx.time_text()}
        return json_response(
            ctx,
            payload,
            status=fault.status,
            content_type="application/json",
            extra_headers=fault.headers,
        )

    def render_gateway_fault(self, ctx: RequestContext, fault: GatewayFault) -> HttpResponse:
        """A gateway fault: lower-case envelope, numeric time, no QBO standard headers."""
        body = json.dumps(
            gateway_json(fault, int(ctx.now.timestamp() * 1000)), separators=(",", ":")
        ).encode()
        return HttpResponse(
            status=fault.status,
            headers=Headers(
                [
                    ("Content-Type", "application/json"),
                    ("intuit_tid", ctx.tid),
                    ("Server", "nginx"),
                    *fault.headers,
                ]
            ),
            body=body,
        )


def realm_ids(seed: int, count: int) -> list[str]:
    """The realm ids of `count` companies for `seed`: stable, QBO-looking (16 digits)."""
    rng = random.Random(f"realms:{seed}")
    ids: list[str] = []
    while len(ids) < count:
        candidate = str(9_130_000_000_000_000 + rng.randrange(10**12, 10**13))
        if candidate not in ids:
            ids.append(candidate)
    return ids
