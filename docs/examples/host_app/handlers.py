"""The routes. Two ways to reach the library, shown side by side:

- the typed facade kept in `app[QBO_KEY]` (`connect`, `oauth_callback`): plain
  attribute access, typed, nothing to set up; what most handlers should use;
- dependency-injector wiring (`business_health`): `@inject` and
  `Provide[QBOContainer.<provider>]` give the handler a provider of the process's one
  container, once `app.qbo_context` has called `container.wire(modules=[handlers])`.
"""

from __future__ import annotations

import html
from typing import Any

from aiohttp import web
from dependency_injector.wiring import Provide, inject

from host_app.state import DATABASE, EMULATOR_URL, QBO_KEY, WEBHOOKS
from qbo_container import QBOContainer
from qbo_container.settings import EMULATOR_BASE_URL
from qbo_core import (
    AuthorizationCallbackError,
    AuthorizationDeniedError,
    BusinessHealth,
    QBOHealthMonitor,
    ReauthorizationRequiredError,
)

__all__ = [
    "BUSINESS_COOKIE",
    "business_health",
    "connect",
    "health_json",
    "index",
    "intuit_webhooks",
    "oauth_callback",
]

#: Which business the browser is connecting. A real host takes it from its signed-in
#: session instead: `complete` must be given the business the user acts for, never one
#: read from the callback's query.
BUSINESS_COOKIE = "host_app_business"


def _page(title: str, *paragraphs: str, status: int = 200) -> web.Response:
    body = "".join(f"<p>{html.escape(text)}</p>" for text in paragraphs)
    return web.Response(
        text=f"<!DOCTYPE html><html><head><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>",
        content_type="text/html",
        status=status,
    )


async def index(request: web.Request) -> web.Response:
    """The host's businesses, each with its connection and its health links."""
    lines = [
        f"{key}: {b.name}, "
        + (f"QBO company {b.realm_id}" if b.realm_id else "not connected")
        + f" (/businesses/{key}/connect, /businesses/{key}/health)"
        for key, b in sorted(request.app[DATABASE].businesses.items())
    ]
    return _page("Businesses", *lines)


async def connect(request: web.Request) -> web.Response:
    """Start connecting a business's QBO company: redirect to the consent screen."""
    business_id = request.match_info["business_id"]
    if request.app[DATABASE].get(business_id) is None:
        raise web.HTTPNotFound(text=f"no business {business_id!r}")
    qbo = request.app[QBO_KEY]
    started = await qbo.setup.begin(business_id)
    url = started.authorization_url
    served = request.app[EMULATOR_URL]
    if served and url.startswith(EMULATOR_BASE_URL):
        # The embedded emulator's origin is unreachable for a browser: use the loopback
        # address the app serves it at (see app.qbo_context).
        url = served + url[len(EMULATOR_BASE_URL) :]
    redirect = web.HTTPFound(url)
    redirect.set_cookie(
        BUSINESS_COOKIE, business_id, max_age=600, httponly=True, samesite="Lax", path="/"
    )
    raise redirect


async def oauth_callback(request: web.Request) -> web.Response:
    """Intuit's redirect after consent: complete the connection, record the realm."""
    database = request.app[DATABASE]
    business_id = request.cookies.get(BUSINESS_COOKIE, "")
    business = database.get(business_id)
    if business is None:
        return _page("Not connected", "No connection was started from this browser.", status=400)
    qbo = request.app[QBO_KEY]
    try:
        connection = await qbo.setup.complete(business_id, dict(request.query))
    except AuthorizationDeniedError:
        return _page("Not connected", f"{business.name}: the connection was cancelled.")
    except (AuthorizationCallbackError, ReauthorizationRequiredError) as exc:
        # Their messages say what to do and never hold a token or a code.
        return _page("Not connected", f"{business.name}: {exc}", status=400)
    business.realm_id = connection.realm_id  # the host's own record of the company
    company = connection.company_name or "(name not read)"
    answer = _page(
        "Connected",
        f"{business.name} is connected to the QuickBooks company {company} "
        f"(realm {connection.realm_id}).",
    )
    answer.del_cookie(BUSINESS_COOKIE, path="/")
    return answer


async def intuit_webhooks(request: web.Request) -> web.Response:
    """Intuit's webhook deliveries, judged by the container's receiver (`app.qbo_context`
    builds the `WebhookHandler` once the facade is open)."""
    return await request.app[WEBHOOKS].handle(request)


def _when(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def health_json(health: BusinessHealth) -> dict[str, Any]:
    """A `BusinessHealth` as JSON (never a token: it holds none)."""
    return {
        "business_id": health.business_id,
        "business_name": health.business_name,
        "realm_id": health.realm_id,
        "state": health.state.value,
        "reasons": list(health.reasons),
        "checked_at": _when(health.checked_at),
        "connection": None if health.connection is None else health.connection.value,
        "access_token_expires_at": _when(health.access_token_expires_at),
        "refresh_token_expires_at": _when(health.refresh_token_expires_at),
        "last_success_at": _when(health.last_success_at),
        "request_count": health.request_count,
        "error_rate": health.error_rate,
        "throttle_rate": health.throttle_rate,
        "alerts": [alert.name for alert in health.alerts],
        "adapters": {name: adapter.up for name, adapter in sorted(health.adapters.items())},
    }


@inject
async def business_health(
    request: web.Request,
    health: QBOHealthMonitor = Provide[QBOContainer.health],
) -> web.Response:
    """A business's QBO connection health, as JSON. The business's name and realm come
    from the host's database and are passed in: the library keeps no host model."""
    business_id = request.match_info["business_id"]
    business = request.app[DATABASE].get(business_id)
    if business is None:
        raise web.HTTPNotFound(text=f"no business {business_id!r}")
    details = {"realm_id": business.realm_id} if business.realm_id else {}
    report = await health.get_business_health_details(business_id, business.name, details)
    return web.json_response(health_json(report))
