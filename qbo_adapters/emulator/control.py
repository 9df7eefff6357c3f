"""`ControlAPI`: the emulator's test-control endpoints under `/_emulator/`, and the same
operations as Python methods.

Every answer is JSON. Errors are `{"error": "<code>", "detail": "<what is wrong>"}` with
HTTP 400 (a bad body or parameter, or one nested deeper than `jsonbody.MAX_DEPTH`), 404
(no such endpoint, fault, realm or object), 405 (wrong method; `Allow` lists the right
ones), 409 (not possible in this state, e.g. advancing a real clock) or 415 (a body, or
a declared Content-Type, other than `application/json`). Over HTTP the door's guard
(`guard.py`) also asks for the control token (`X-Emulator-Token`) and a local `Host`.

    GET    /_emulator/state                       realms, clock, settings, throttle, errors
    POST   /_emulator/reset          {"seed"?}    regenerate everything (optionally re-seeded)
    POST   /_emulator/seed           {"seed"}     restart the random draws; data and rules stay
    GET    /_emulator/faults                      the fault rules, with their counters
    POST   /_emulator/faults         rule JSON    add a rule (see `chaos.rule_from_json`) -> id
    DELETE /_emulator/faults                      remove every rule
    GET    /_emulator/faults/history?limit=n      what was injected, newest last
    GET    /_emulator/faults/{id}                 one rule
    DELETE /_emulator/faults/{id}                 remove one rule
    POST   /_emulator/clock/advance  {"seconds"}  move a FakeClock forward
    POST   /_emulator/tokens         {"realm_id", "scopes"?}  mint tokens, no consent needed
    POST   /_emulator/tokens/expire  {"realm_id"?, "which": "access"|"refresh"}
    POST   /_emulator/tokens/revoke  {"realm_id"?}
    GET    /_emulator/requests?limit=n            the request log, newest last (default 100)
    GET    /_emulator/realms/{realm}/{Entity}/{id} one object exactly as stored
    GET    /_emulator/files/{token}               an attachment's bytes while its temporary
                                                  link lives (`attachments.py`; not JSON)
    GET    /_emulator/webhooks                    the subscription (verifier masked), the
                                                  delivery being retried, queued events
    PUT    /_emulator/webhooks       {"url", "verifier_token", "format"?, "realm_ids"?}
                                                  configure or replace the subscription
    DELETE /_emulator/webhooks                    remove it (queued events are dropped)
    GET    /_emulator/webhooks/deliveries?limit=n the delivery log, newest last
    POST   /_emulator/webhooks/deliver            send now what is held, the delivery being
                                                  retried included (its wait skipped)
    POST   /_emulator/webhooks/events {"realm_id", "entity", "entity_id", "operation"}
                                                  queue an event by hand (Merge, Emailed...)

The Python methods (`add_fault`, `advance_clock`, `state`, ...) raise `ControlError` with
the same status and code as the HTTP answer would carry.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Final, Protocol

import attrs

from qbo_adapters.emulator.attachments import serve_file
from qbo_adapters.emulator.chaos import (
    FaultRule,
    InjectionRecord,
    RuleError,
    RuleStatus,
    rule_from_json,
    rule_to_json,
)
from qbo_adapters.emulator.context import RequestContext, json_response
from qbo_adapters.emulator.jsonbody import loads_bounded
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.store import Company
from qbo_adapters.emulator.webhook_control import (
    SubscriptionError,
    attempt_json,
    event_json,
    subscription_from_json,
    subscription_json,
    webhooks_json,
)
from qbo_adapters.emulator.webhook_payloads import OPERATIONS
from qbo_adapters.emulator.webhooks import (
    NoWebhookTransportError,
    WebhookDispatcher,
    WebhookSubscription,
)
from qbo_adapters.memory.clock import FakeClock
from qbo_core.http import HttpResponse

if TYPE_CHECKING:
    from qbo_adapters.emulator.app import InternalError, LoggedRequest
    from qbo_adapters.emulator.chaos import FaultInjector
    from qbo_adapters.emulator.oauth import OAuthServer
    from qbo_adapters.emulator.throttle import Throttle
    from qbo_core.ports.clock import Clock

__all__ = ["ControlAPI", "ControlError", "ControlHost"]

PREFIX: Final = "/_emulator"
DEFAULT_LOG_LIMIT: Final = 100


class ControlHost(Protocol):
    """What the control API reads and moves in the emulator (`QBOEmulator` is one).

    Each part is read anew on every call: after `reset` the control API acts on the new
    ones. Nothing here raises; the control API turns bad input into `ControlError`.
    """

    @property
    def settings(self) -> EmulatorSettings:
        """The settings in force; `seed` is the one the companies were generated from."""
        ...

    @property
    def base_url(self) -> str:
        """Where the emulator is served (no trailing slash)."""
        ...

    @property
    def clock(self) -> Clock:
        """The emulator's time; only a `FakeClock` can be advanced."""
        ...

    @property
    def companies(self) -> Mapping[str, Company]:
        """Each realm's company, by realm Id."""
        ...

    @property
    def chaos(self) -> FaultInjector:
        """The fault rules, their counters and the injection history."""
        ...

    @property
    def oauth(self) -> OAuthServer:
        """The authorization server: grants and tokens."""
        ...

    @property
    def throttle(self) -> Throttle:
        """The per-realm request windows."""
        ...

    @property
    def request_log(self) -> Sequence[LoggedRequest]:
        """The requests served, oldest first (bounded)."""
        ...

    @property
    def internal_errors(self) -> Sequence[InternalError]:
        """Unexpected exceptions met while serving (emulator bugs), oldest first, bounded."""
        ...

    @property
    def anchor(self) -> datetime:
        """The instant generated data is built up to (00:00 UTC of the anchor day)."""
        ...

    @property
    def webhooks(self) -> WebhookDispatcher:
        """The webhook subscription, its queue and delivery log (`webhooks.py`)."""
        ...

    def reset(self, *, seed: int | None = None) -> None:
        """Regenerate every company from `seed` (None: the current one); forget tokens,
        fault rules, throttle windows and logs."""
        ...

    def reseed(self, seed: int) -> None:
        """Restart the random draws (transaction ids, fault draws) from `seed`; companies,
        tokens and fault rules stay. Idempotent for a given seed."""
        ...


class ControlError(Exception):
    """A control request that cannot be served: HTTP `status`, a short `error` code, `detail`."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(f"{status} {error}: {detail}")
        self.status = status
        self.error = error
        self.detail = detail


def _bad(error: str, detail: str) -> ControlError:
    return ControlError(400, error, detail)


# -- JSON helpers ------------------------------------------------------------------------


def _body(ctx: RequestContext) -> dict[str, Any]:
    """The request body as a JSON object (empty body: `{}`)."""
    raw = ctx.request.body
    if not raw.strip():
        return {}
    try:
        data = loads_bounded(raw)
    except ValueError as exc:
        raise _bad("invalid_json", f"the body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise _bad("invalid_json", f"the body must be a JSON object, got {type(data).__name__}")
    return data


def _check_media_type(ctx: RequestContext) -> None:
    """A control request with a body (or a declared type) must be `application/json`.

    So a web page cannot drive the API with a "simple" cross-origin `text/plain` POST,
    which browsers send without a preflight.
    """
    declared = ctx.request.headers.get("content-type")
    if ctx.method in ("GET", "HEAD") or (declared is None and not ctx.request.body):
        return
    media = (declared or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise ControlError(
            415,
            "unsupported_media_type",
            f"control request bodies are JSON: send Content-Type: application/json, "
            f"not {declared!r}",
        )


def _optional_int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad("invalid_parameter", f"{key!r} must be a whole number, got {value!r}")
    return value


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _bad("invalid_parameter", f"{key!r} must be a non-empty string, got {value!r}")
    return value


def _limit(ctx: RequestContext) -> int:
    text = ctx.param("limit")
    if text is None:
        return DEFAULT_LOG_LIMIT
    if not text.isdigit() or int(text) < 1:
        raise _bad("invalid_parameter", f"limit must be a whole number >= 1, got {text!r}")
    return int(text)


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def settings_summary(settings: EmulatorSettings) -> dict[str, Any]:
    """Every setting except secrets (fields hidden from `repr`, or named `*secret*`)."""
    return {
        field.name: _jsonable(getattr(settings, field.name))
        for field in attrs.fields(EmulatorSettings)
        if field.repr is not False and "secret" not in field.name
    }


def rule_status_json(status: RuleStatus) -> dict[str, Any]:
    """A fault rule as listed: id, counters and its JSON form."""
    return {
        "id": status.id,
        "matched": status.matched,
        "fired": status.fired,
        **rule_to_json(status.rule),
    }


def injection_json(record: InjectionRecord) -> dict[str, Any]:
    return {
        "at": record.at.isoformat(),
        "rule_id": record.rule_id,
        "ordinal": record.ordinal,
        "method": record.method,
        "path": record.path,
        "realm_id": record.realm_id,
        "kind": record.kind,
        "status": record.status or None,
        "latency": record.latency,
    }


def logged_request_json(entry: LoggedRequest) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "method": entry.method,
        "path": entry.path,
        "query": entry.query,
        "realm_id": entry.realm_id,
        "status": entry.status,
        "intuit_tid": entry.tid,
        "injected": entry.injected,
    }


# -- the API ----------------------------------------------------------------------------------

_Handler = Callable[[RequestContext, "re.Match[str]"], tuple[int, Any]]


class ControlAPI:
    """Serves `/_emulator/...` for one emulator (a `ControlHost`); see the module docstring.

    It always acts on the emulator's current parts (`emulator.chaos`, `.throttle`,
    `.oauth`, ...), so a reference kept across `emulator.reset()` stays valid.
    """

    def __init__(self, emulator: ControlHost) -> None:
        self.emulator = emulator
        self._routes: list[tuple[re.Pattern[str], dict[str, _Handler]]] = [
            (re.compile(r"/state"), {"GET": self._get_state}),
            (re.compile(r"/reset"), {"POST": self._post_reset}),
            (re.compile(r"/seed"), {"POST": self._post_seed}),
            (
                re.compile(r"/faults"),
                {
                    "GET": self._get_faults,
                    "POST": self._post_fault,
                    "DELETE": self._delete_faults,
                },
            ),
            (re.compile(r"/faults/history"), {"GET": self._get_fault_history}),
            (
                re.compile(r"/faults/(?P<id>[^/]+)"),
                {"GET": self._get_fault, "DELETE": self._delete_fault},
            ),
            (re.compile(r"/clock/advance"), {"POST": self._post_clock_advance}),
            (re.compile(r"/tokens"), {"POST": self._post_tokens}),
            (re.compile(r"/tokens/expire"), {"POST": self._post_tokens_expire}),
            (re.compile(r"/tokens/revoke"), {"POST": self._post_tokens_revoke}),
            (re.compile(r"/requests"), {"GET": self._get_requests}),
            (
                re.compile(r"/realms/(?P<realm>[^/]+)/(?P<entity>[^/]+)/(?P<id>[^/]+)"),
                {"GET": self._get_object},
            ),
            (
                re.compile(r"/webhooks"),
                {
                    "GET": self._get_webhooks,
                    "PUT": self._put_webhooks,
                    "DELETE": self._delete_webhooks,
                },
            ),
            (re.compile(r"/webhooks/deliveries"), {"GET": self._get_webhook_deliveries}),
            (re.compile(r"/webhooks/events"), {"POST": self._post_webhook_event}),
        ]

    # -- HTTP -------------------------------------------------------------------------

    async def handle_async(self, ctx: RequestContext) -> HttpResponse:
        """`handle`, plus the one route that awaits: `POST /_emulator/webhooks/deliver`."""
        rest = ctx.path[len(PREFIX) :].rstrip("/")
        if rest != "/webhooks/deliver":
            return self.handle(ctx)
        if ctx.method != "POST":
            return json_response(
                ctx,
                {
                    "error": "method_not_allowed",
                    "detail": f"{ctx.method} {ctx.path} is not served; use POST",
                },
                status=405,
                extra_headers=(("Allow", "POST"),),
            )
        try:
            _check_media_type(ctx)
            before = len(self.emulator.webhooks.log)
            attempts = await self.deliver_webhooks()
        except ControlError as exc:
            return json_response(ctx, {"error": exc.error, "detail": exc.detail}, status=exc.status)
        log = list(self.emulator.webhooks.log)
        made = log[before:] if attempts <= len(log) - before else log[-attempts:]
        return json_response(
            ctx, {"attempts": attempts, "deliveries": [attempt_json(a) for a in made]}
        )

    def handle(self, ctx: RequestContext) -> HttpResponse:
        """Answer one `/_emulator/...` request with JSON (errors included)."""
        rest = ctx.path[len(PREFIX) :] if ctx.path.startswith(PREFIX) else ctx.path
        if rest.startswith("/files/"):  # a temporary attachment link (`attachments.py`)
            return serve_file(ctx, self.emulator.companies.values())
        rest = rest.rstrip("/") or "/"
        try:
            _check_media_type(ctx)
            for pattern, methods in self._routes:
                match = pattern.fullmatch(rest)
                if match is None:
                    continue
                handler = methods.get(ctx.method)
                if handler is None:
                    allowed = ", ".join(sorted(methods))
                    return json_response(
                        ctx,
                        {
                            "error": "method_not_allowed",
                            "detail": f"{ctx.method} {ctx.path} is not served; use {allowed}",
                        },
                        status=405,
                        extra_headers=(("Allow", allowed),),
                    )
                status, payload = handler(ctx, match)
                return json_response(ctx, payload, status=status)
            raise ControlError(
                404,
                "not_found",
                f"no control endpoint {ctx.method} {ctx.path}; see GET {PREFIX}/state",
            )
        except ControlError as exc:
            return json_response(ctx, {"error": exc.error, "detail": exc.detail}, status=exc.status)

    def _get_state(self, ctx: RequestContext, _: re.Match[str]) -> tuple[int, Any]:
        return 200, self.state()

    def _post_reset(self, ctx: RequestContext, _: re.Match[str]) -> tuple[int, Any]:
        seed = _optional_int(_body(ctx), "seed")
        self.reset(seed)
        return 200, {"reset": True, "seed": self.emulator.settings.seed}

    def _post_seed(self, ctx: RequestContext, _: re.Match[str]) -> tuple[int, Any]:
        seed = _optional_int(_body(ctx), "seed")
        if seed is None:
            raise _bad("invalid_parameter", "'seed' is required (a whole number)")
        self.reseed(seed)
        return 200, {"seed": seed}

    def _get_faults(self, ctx: RequestContext, _: re.Match[str]) -> tuple[int, Any]:
        return 200, {"faults": self.faults()}

    def _post_fault(self, ctx: RequestContext, _: re.Match[str]) -> tuple[int, Any]:
        rule_id = self.add_fault(_body(ctx))
        return 201, self.fault(rule_id)

    def _delete_faults(self, ctx: RequestContext, _: re.Match[str]) -> tuple[int, Any]:
        return 200, {"removed": self.clear_faults()}

    def _get_fault_history(self, ctx: RequestContext, _: re.Match[str]) -> tuple[int, Any]:
        return 200, {"injections": self.fault_history(_limit(ctx))}

    def _get_fault(self, ctx: RequestContext, match: re.Match[str]) -> tuple[int, Any]:
        return 200, self.fault(match["id"])

    def _delete_fault(self, ctx: RequestContext, match: re.Match[str]) -> tuple[int, Any]:
        self.remove_fault(match["id"])
        return 200, {"removed": 1}

    def _post_clock_advance(self, ctx: RequestContext, _: re.Match[str]) -> tuple[int, Any]:
        seconds = _body(ctx).get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise _bad("invalid_parameter", f"'seconds' must be a number, got {seconds!r}")
        self.advance_clock(float(seconds))
        return 200, {"now": self.emulator.clock.now().isoformat()}

    def _post_tokens(self, ctx: RequestContext, _: re.Match[str]) -> tuple[int, Any]:
        body = _body(ctx)
        realm_id = _optional_str(body, "realm_id")
        if realm_id is None:
            raise _bad("invalid_parameter", "'realm_id' is required")
        scopes = body.get("scopes")
        if scopes is not None and (
            not isinstance(scopes, list) or not all(isinstance(x, str) for x in scopes)
        ):
            raise _bad("invalid_parameter", f"'scopes' must be a list of strings, got {scopes!r}")
        return 201, self.mint_tokens(realm_id, scopes=scopes)

    def _post_tokens_expire(self, ctx: RequestContext, _: re.Match[str]) -> tuple[int, Any]:
        body = _body(ctx)
        which = body.get("which", "access")
        if which not in ("access", "refresh"):
            raise _bad("invalid_parameter", f"'which' must be 'access' or 'refresh', got {which!r}")
        realm_id = _optional_str(body, "realm_id")
        count = self.expire_tokens(which, realm_id=realm_id)
        return 200, {"expired": which, "realm_id": realm_id, "count": count}

    def _post_tokens_revoke(self, ctx: RequestContext, _: re.Match[str]) -> tuple[int, Any]:
        realm_id = _optional_str(_body(ctx), "realm_id")
        count = self.revoke_tokens(realm_id=realm_id)
        return 200, {"revoked": count, "realm_id": realm_id}

    def _get_requests(self, ctx: RequestContext, _: re.Match[str]) -> tuple[int, Any]:
        return 200, {"requests": self.requests(_limit(ctx))}

    def _get_object(self, ctx: RequestContext, match: re.Match[str]) -> tuple[int, Any]:
        return 200, self.inspect(match["realm"], match["entity"], match["id"])

    def _get_webhooks(self, ctx: RequestContext, _: re.Match[str]) -> tuple[int, Any]:
        return 200, self.webhooks()

    def _put_webhooks(self, ctx: RequestContext, _: re.Match[str]) -> tuple[int, Any]:
        try:
            subscription = subscription_from_json(_body(ctx))
        except SubscriptionError as exc:
            raise _bad("invalid_subscription", str(exc)) from None
        self.subscribe_webhooks(subscription)
        return 200, {"subscription": subscription_json(subscription)}

    def _delete_webhooks(self, ctx: RequestContext, _: re.Match[str]) -> tuple[int, Any]:
        return 200, {"dropped": self.unsubscribe_webhooks()}

    def _get_webhook_deliveries(self, ctx: RequestContext, _: re.Match[str]) -> tuple[int, Any]:
        return 200, {"deliveries": self.webhook_deliveries(_limit(ctx))}

    def _post_webhook_event(self, ctx: RequestContext, _: re.Match[str]) -> tuple[int, Any]:
        body = _body(ctx)
        fields = {}
        for key in ("realm_id", "entity", "entity_id", "operation"):
            value = _optional_str(body, key)
            if value is None:
                raise _bad("invalid_parameter", f"{key!r} is required")
            fields[key] = value
        return 201, self.emit_webhook_event(**fields)

    # -- Python ------------------------------------------------------------------------------

    def webhooks(self) -> dict[str, Any]:
        """What `GET /_emulator/webhooks` answers: the subscription with its verifier
        masked, the delivery being retried, the queued events."""
        return webhooks_json(self.emulator.webhooks)

    def subscribe_webhooks(self, subscription: WebhookSubscription) -> None:
        """Configure or replace the webhook subscription."""
        self.emulator.webhooks.subscribe(subscription)

    def unsubscribe_webhooks(self) -> int:
        """Remove the subscription; returns how many unsent events were dropped."""
        return self.emulator.webhooks.unsubscribe()

    def webhook_deliveries(self, limit: int = DEFAULT_LOG_LIMIT) -> list[dict[str, Any]]:
        """The last `limit` delivery attempts, newest last."""
        log = list(self.emulator.webhooks.log)
        return [attempt_json(attempt) for attempt in log[-limit:]]

    async def deliver_webhooks(self) -> int:
        """Send what is held now, the delivery being retried included; returns how many
        attempts were made. `ControlError` 409 without a subscription or a transport."""
        dispatcher = self.emulator.webhooks
        if dispatcher.subscription is None:
            raise ControlError(
                409, "no_subscription", "no webhook subscription: PUT /_emulator/webhooks first"
            )
        try:
            return await dispatcher.deliver_now()
        except NoWebhookTransportError as exc:
            raise ControlError(409, "no_webhook_transport", str(exc)) from None

    def emit_webhook_event(
        self, *, realm_id: str, entity: str, entity_id: str, operation: str
    ) -> dict[str, Any]:
        """Queue an event by hand; `ControlError` 404 for an unknown realm, 400 for an
        unknown operation, 409 without a subscription covering the realm."""
        self._company(realm_id)
        if operation not in OPERATIONS:
            raise _bad(
                "invalid_parameter",
                f"'operation' must be one of {', '.join(OPERATIONS)}, got {operation[:40]!r}",
            )
        event = self.emulator.webhooks.emit(
            realm_id=realm_id,
            entity=entity,
            entity_id=entity_id,
            operation=operation,
        )
        if event is None:
            raise ControlError(
                409, "no_subscription", f"no webhook subscription covers realm {realm_id}"
            )
        return event_json(event)

    def state(self) -> dict[str, Any]:
        """What `GET /_emulator/state` answers."""
        emulator = self.emulator
        clock = emulator.clock
        return {
            "now": clock.now().isoformat(),
            "clock": type(clock).__name__,
            "anchor": emulator.anchor.isoformat(),
            "base_url": emulator.base_url,
            "seed": emulator.settings.seed,
            "realms": [
                {"realm_id": realm_id, "entities": company_entity_counts(company)}
                for realm_id, company in emulator.companies.items()
            ],
            "settings": settings_summary(emulator.settings),
            "throttle": emulator.throttle.snapshot(clock.now()),
            "oauth": emulator.oauth.snapshot(),
            "faults": len(emulator.chaos.rules()),
            "requests_logged": len(emulator.request_log),
            "internal_errors": len(emulator.internal_errors),
            "webhooks": {
                "subscription": subscription_json(emulator.webhooks.subscription),
                "unacknowledged_events": emulator.webhooks.queued_count,
            },
            "internal_error_messages": [
                str(error) for error in list(emulator.internal_errors)[-20:]
            ],
        }

    def reset(self, seed: int | None = None) -> None:
        """Regenerate every company, forget tokens, faults, windows and logs (`emulator.reset`)."""
        self.emulator.reset(seed=seed)

    def reseed(self, seed: int) -> None:
        """Restart the emulator's random draws (tids, fault draws) from `seed`.

        Unlike `reset`, companies, tokens, fault rules and their counters stay; a run
        from here on is reproducible.
        """
        self.emulator.reseed(seed)

    def faults(self) -> list[dict[str, Any]]:
        """The installed fault rules in priority order, with their counters."""
        return [rule_status_json(s) for s in self.emulator.chaos.rules()]

    def fault(self, rule_id: str) -> dict[str, Any]:
        """One installed rule; `ControlError` 404 if there is none with that id."""
        for status in self.emulator.chaos.rules():
            if status.id == rule_id:
                return rule_status_json(status)
        raise ControlError(404, "unknown_fault", f"no fault rule with id {rule_id!r}")

    def add_fault(self, rule: FaultRule | Mapping[str, Any]) -> str:
        """Install a rule (a `FaultRule` or its JSON form); return its id.

        Raises `ControlError` 400 `invalid_rule` with `RuleError`'s message.
        """
        if isinstance(rule, FaultRule):
            return self.emulator.chaos.add(rule)
        try:
            return self.emulator.chaos.add(rule_from_json(rule))
        except RuleError as exc:
            raise _bad("invalid_rule", str(exc)) from exc

    def remove_fault(self, rule_id: str) -> None:
        """Uninstall one rule; `ControlError` 404 if there is none with that id."""
        try:
            self.emulator.chaos.remove(rule_id)
        except KeyError:
            raise ControlError(404, "unknown_fault", f"no fault rule with id {rule_id!r}") from None

    def clear_faults(self) -> int:
        """Uninstall every rule; return how many there were."""
        count = len(self.emulator.chaos.rules())
        self.emulator.chaos.clear()
        return count

    def fault_history(self, limit: int = DEFAULT_LOG_LIMIT) -> list[dict[str, Any]]:
        """The last `limit` injections, newest last."""
        history = list(self.emulator.chaos.history)
        return [injection_json(r) for r in history[-limit:]]

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's `FakeClock` forward by `seconds`.

        `ControlError` 409 when the clock is not a `FakeClock` (real time cannot be
        moved), 400 for a negative or non-finite amount.
        """
        clock = self.emulator.clock
        if not isinstance(clock, FakeClock):
            raise ControlError(
                409,
                "clock_not_fake",
                f"the emulator runs on {type(clock).__name__}; only a FakeClock can be "
                "advanced (construct QBOEmulator(clock=FakeClock()))",
            )
        if not (math.isfinite(seconds) and seconds >= 0):
            raise _bad("invalid_parameter", f"'seconds' must be >= 0 and finite, got {seconds!r}")
        clock.advance(seconds)
        self.emulator.webhooks.wake()  # a retry may be due now

    def mint_tokens(self, realm_id: str, *, scopes: Sequence[str] | None = None) -> dict[str, Any]:
        """Tokens for `realm_id` as if the user had consented: the token endpoint's JSON.

        `scopes` defaults to the accounting scope. `ControlError` 404 for an unknown
        realm, 400 for an unknown scope.
        """
        self._company(realm_id)
        oauth = self.emulator.oauth
        try:
            if scopes is None:
                return oauth.mint_tokens(realm_id)
            return oauth.mint_tokens(realm_id, scopes=scopes)
        except ValueError as exc:
            raise _bad("invalid_parameter", str(exc)) from exc

    def expire_tokens(self, which: str = "access", *, realm_id: str | None = None) -> int:
        """Expire every live `which` ("access" or "refresh") token, of one realm or all.

        Returns how many were expired; the next use gets a 401 (access) or
        `invalid_grant` (refresh).
        """
        if realm_id is not None:
            self._company(realm_id)
        if which == "access":
            return self.emulator.oauth.expire_access_tokens(realm_id=realm_id)
        if which == "refresh":
            return self.emulator.oauth.expire_refresh_tokens(realm_id=realm_id)
        raise _bad("invalid_parameter", f"'which' must be 'access' or 'refresh', got {which!r}")

    def revoke_tokens(self, *, realm_id: str | None = None) -> int:
        """Revoke every grant (all its tokens), of one realm or all; returns how many."""
        if realm_id is not None:
            self._company(realm_id)
        return self.emulator.oauth.revoke_grants(realm_id=realm_id)

    def requests(self, limit: int = DEFAULT_LOG_LIMIT) -> list[dict[str, Any]]:
        """The last `limit` logged requests, newest last."""
        log = list(self.emulator.request_log)
        return [logged_request_json(entry) for entry in log[-limit:]]

    def inspect(self, realm_id: str, entity: str, object_id: str) -> dict[str, Any]:
        """One object exactly as stored; `ControlError` 404 for an unknown realm or object."""
        company = self._company(realm_id)
        stored = company_object(company, entity, object_id)
        if stored is None:
            raise ControlError(
                404, "unknown_object", f"realm {realm_id} holds no {entity} with Id {object_id!r}"
            )
        return stored

    def _company(self, realm_id: str) -> Company:
        company = self.emulator.companies.get(realm_id)
        if company is None:
            raise ControlError(
                404,
                "unknown_realm",
                f"no company with realm id {realm_id!r}; known: "
                f"{', '.join(self.emulator.companies) or 'none'}",
            )
        return company


# -- what the control API reads from a `Company` (store.py) ----------------------------------


def company_entity_counts(company: Company) -> dict[str, int]:
    """How many objects of each entity type the company holds (deleted ones excluded)."""
    return company.counts()


def company_object(company: Company, entity: str, object_id: str) -> dict[str, Any] | None:
    """A copy of one stored object, the entity named in any case; `None` when absent."""
    wanted = entity.lower()
    if wanted == "companyinfo":
        singleton = company.company_info
    elif wanted == "preferences":
        singleton = company.preferences
    else:
        for name in company.entity_names():
            if name.lower() == wanted:
                stored = company.get(name, object_id)
                return None if stored is None else copy.deepcopy(stored)
        return None
    return copy.deepcopy(singleton) if str(singleton.get("Id")) == object_id else None
