"""`FaultInjector`: seeded, rule-based fault injection for the emulator.

A `FaultRule` has three parts:

- a `Route`: the HTTP method (or `"*"`), a path glob (`*` matches anything, slashes
  included) or a regular expression (searched), both case-insensitive and matched
  against the request path without its query string, and optionally a realm id
  (taken from `/v3/company/{realm}/...`; a rule with a realm never matches other paths);
- a `Trigger`: always (the default), a probability drawn from the injector's own
  seeded `random.Random`, or a schedule over the rule's match ordinals (1 for the first
  request matching its route after it was added, 2 for the next, ...): the next N
  (`next`), every k-th (`every`), or an explicit list (`ordinals`);
- an `Effect`: `latency` (seconds plus uniform jitter, and combinable with any other
  effect), `status` (a 500/502/503/504 JSON `SystemFault`), `html` (an HTML error page),
  `xml` (an XML `IntuitResponse` fault), `refuse` (connection refused: the request never
  arrived), `reset` (connection reset before the request was applied), `timeout` (the
  request IS applied, then no answer comes) or `truncate` (the body is cut).

`pick(ctx)` consults every rule whose route matches, in insertion order: each counts
the request (its ordinal) and asks its trigger; the first rule whose trigger fires
supplies the `Injection`, and later rules that also fired are shadowed for that request.
Every rule sees every matching request, so one rule's schedule never depends on another.

Control-API paths (`/_emulator/...`) never match, so a test can always remove its faults.

Determinism: the same seed, rules and request sequence give the same injections.
Rules are built from plain JSON with `rule_from_json`, whose `RuleError` names the
offending field.
"""

from __future__ import annotations

import fnmatch
import math
import random
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Literal, cast, get_args

import attrs

from qbo_adapters.emulator.context import RequestContext

__all__ = [
    "EFFECT_KINDS",
    "Effect",
    "EffectKind",
    "FaultInjector",
    "FaultRule",
    "Injection",
    "InjectionRecord",
    "Route",
    "RuleError",
    "RuleStatus",
    "Trigger",
    "rule_from_json",
    "rule_to_json",
]

EffectKind = Literal["latency", "status", "html", "xml", "refuse", "reset", "timeout", "truncate"]
EFFECT_KINDS: Final[tuple[str, ...]] = get_args(EffectKind)

#: The statuses a `status` effect may use, and each status-bearing kind's default.
STATUS_FAULT_CODES: Final = (500, 502, 503, 504)
DEFAULT_STATUS: Final[Mapping[str, int]] = {"status": 503, "html": 502, "xml": 500}

_REALM_IN_PATH: Final = re.compile(r"^/v3/company/([^/]+)")
_CONTROL_PREFIX: Final = "/_emulator/"


class RuleError(ValueError):
    """A fault rule is invalid; the message names the field and what is wrong with it."""


def _fail(field: str, problem: str) -> RuleError:
    return RuleError(f"{field}: {problem}")


# -- the rule's parts -----------------------------------------------------------------


def _upper(value: str) -> str:
    return value.upper()


def _check_method(_: object, __: attrs.Attribute[str], value: str) -> None:
    if not value or not (value == "*" or value.isalpha()):
        raise _fail("route.method", f'must be an HTTP method or "*", got {value!r}')


def _check_regex(_: object, __: attrs.Attribute[str | None], value: str | None) -> None:
    if value is None:
        return
    try:
        re.compile(value)
    except re.error as exc:
        raise _fail("route.path_regex", f"is not a valid regular expression ({exc})") from exc


@attrs.frozen(kw_only=True)
class Route:
    """Which requests a rule applies to. See the module docstring for matching."""

    method: str = attrs.field(default="*", converter=_upper, validator=_check_method)
    path: str = "*"
    path_regex: str | None = attrs.field(default=None, validator=_check_regex)
    realm: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.path_regex is not None and self.path != "*":
            raise _fail("route", 'give "path" (a glob) or "path_regex", not both')


def _check_probability(_: object, __: attrs.Attribute[float | None], value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise _fail("trigger.probability", f"must be between 0 and 1, got {value!r}")


_IntValidator = Callable[[object, "attrs.Attribute[int | None]", "int | None"], None]
_FloatValidator = Callable[[object, "attrs.Attribute[float]", float], None]


def _check_positive(name: str) -> _IntValidator:
    def check(_: object, __: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and value < 1:
            raise _fail(f"trigger.{name}", f"must be a whole number >= 1, got {value!r}")

    return check


def _check_ordinals(
    _: object, __: attrs.Attribute[tuple[int, ...] | None], value: tuple[int, ...] | None
) -> None:
    if value is None:
        return
    if not value:
        raise _fail("trigger.ordinals", "must list at least one match ordinal")
    bad = [n for n in value if n < 1]
    if bad:
        raise _fail("trigger.ordinals", f"ordinals start at 1, got {bad}")


def _ordinals(value: Sequence[int] | None) -> tuple[int, ...] | None:
    return None if value is None else tuple(value)


@attrs.frozen(kw_only=True)
class Trigger:
    """When a matching request is hit. At most one field may be set; none: always.

    `probability`: each matching request with this chance (seeded draw). `next`: the
    first N matching requests after the rule was added. `every`: match ordinals k, 2k,
    3k, ... `ordinals`: exactly these match ordinals (1-based).
    """

    probability: float | None = attrs.field(default=None, validator=_check_probability)
    next: int | None = attrs.field(default=None, validator=_check_positive("next"))
    every: int | None = attrs.field(default=None, validator=_check_positive("every"))
    ordinals: tuple[int, ...] | None = attrs.field(
        default=None, converter=_ordinals, validator=_check_ordinals
    )

    def __attrs_post_init__(self) -> None:
        given = [
            name
            for name in ("probability", "next", "every", "ordinals")
            if getattr(self, name) is not None
        ]
        if len(given) > 1:
            raise _fail(
                "trigger", f"give at most one of probability/next/every/ordinals, got {given}"
            )

    def fires(self, ordinal: int, rng: random.Random) -> bool:
        """Whether the `ordinal`-th matching request is hit (draws from `rng` if random)."""
        if self.probability is not None:
            return rng.random() < self.probability
        if self.next is not None:
            return ordinal <= self.next
        if self.every is not None:
            return ordinal % self.every == 0
        if self.ordinals is not None:
            return ordinal in self.ordinals
        return True


def _check_seconds(name: str) -> _FloatValidator:
    def check(_: object, __: attrs.Attribute[float], value: float) -> None:
        if not (math.isfinite(value) and value >= 0):
            raise _fail(f"effect.{name}", f"must be seconds >= 0, got {value!r}")

    return check


def _check_kind(_: object, __: attrs.Attribute[str], value: str) -> None:
    if value not in EFFECT_KINDS:
        raise _fail("effect.kind", f"must be one of {', '.join(EFFECT_KINDS)}, got {value!r}")


@attrs.frozen(kw_only=True)
class Effect:
    """What happens to a hit request: `kind`, plus `latency` + uniform(0, `jitter`) seconds.

    `status` applies to `status` (500/502/503/504; default 503), `html` and `xml`
    (any 4xx/5xx; defaults 502 and 500) and must be absent for the other kinds.
    Kind `latency` delays the request and changes nothing else.
    """

    kind: EffectKind = attrs.field(validator=_check_kind)
    status: int | None = None
    latency: float = attrs.field(default=0.0, converter=float, validator=_check_seconds("latency"))
    jitter: float = attrs.field(default=0.0, converter=float, validator=_check_seconds("jitter"))

    def __attrs_post_init__(self) -> None:
        if self.status is not None:
            if self.kind not in DEFAULT_STATUS:
                raise _fail(
                    "effect.status",
                    f'only "status", "html" and "xml" take a status, not {self.kind!r}',
                )
            if self.kind == "status" and self.status not in STATUS_FAULT_CODES:
                raise _fail(
                    "effect.status", f"must be one of 500, 502, 503, 504, got {self.status!r}"
                )
            if not 400 <= self.status <= 599:
                raise _fail("effect.status", f"must be a 4xx or 5xx status, got {self.status!r}")
        if self.kind == "latency" and self.latency == 0 and self.jitter == 0:
            raise _fail("effect.latency", 'a "latency" effect needs latency or jitter > 0')

    @property
    def resolved_status(self) -> int:
        """The HTTP status this effect answers with (0 for kinds that send none)."""
        if self.status is not None:
            return self.status
        return DEFAULT_STATUS.get(self.kind, 0)


@attrs.frozen(kw_only=True)
class FaultRule:
    """Where (`route`), when (`trigger`) and what (`effect`). See the module docstring."""

    route: Route = attrs.field(factory=Route)
    trigger: Trigger = attrs.field(factory=Trigger)
    effect: Effect


@attrs.frozen(kw_only=True)
class Injection:
    """What `QBOEmulator.handle` is told to do to one request.

    `kind` is the effect (`"latency"` when only delayed), `status` the HTTP status for
    `status`/`html`/`xml` (else 0), `latency` the seconds to sleep first (jitter drawn).
    """

    kind: EffectKind
    status: int = 0
    latency: float = 0.0
    rule_id: str = ""


@attrs.frozen(kw_only=True)
class InjectionRecord:
    """One entry of `FaultInjector.history`: which rule hit which request, and how."""

    at: datetime
    method: str
    path: str
    realm_id: str | None
    rule_id: str
    ordinal: int
    kind: EffectKind
    status: int
    latency: float


@attrs.frozen(kw_only=True)
class RuleStatus:
    """A rule as installed: its id, the rule, and how often it matched and fired."""

    id: str
    rule: FaultRule
    matched: int
    fired: int


@attrs.define
class _Installed:
    id: str
    rule: FaultRule
    pattern: re.Pattern[str]
    matched: int = 0
    fired: int = 0


def _compile(route: Route) -> re.Pattern[str]:
    if route.path_regex is not None:
        return re.compile(route.path_regex, re.IGNORECASE)
    # `translate` anchors only the end; the glob must match the whole path.
    return re.compile(r"\A" + fnmatch.translate(route.path), re.IGNORECASE)


# -- the injector ------------------------------------------------------------------------


class FaultInjector:
    """Holds the fault rules and picks the injection for each request, deterministically.

    `seed` seeds the injector's own `random.Random` (probability triggers and jitter);
    nothing else draws from it. `history` keeps the last `history_limit` injections.
    """

    def __init__(self, seed: int | str = 0, *, history_limit: int = 10_000) -> None:
        self.rng = random.Random(seed)
        self.history: deque[InjectionRecord] = deque(maxlen=history_limit)
        self._rules: dict[str, _Installed] = {}
        self._next_id = 1

    def reseed(self, seed: int | str) -> None:
        """Restart the random draws from `seed`; rules, counters and history stay."""
        self.rng = random.Random(seed)

    def add(self, rule: FaultRule) -> str:
        """Install `rule` after the existing ones; return its id (`"fault-<n>"`, never reused)."""
        rule_id = f"fault-{self._next_id}"
        self._next_id += 1
        self._rules[rule_id] = _Installed(rule_id, rule, _compile(rule.route))
        return rule_id

    def add_json(self, data: object) -> str:
        """`add(rule_from_json(data))`; raises `RuleError` on an invalid rule."""
        return self.add(rule_from_json(data))

    def remove(self, rule_id: str) -> None:
        """Uninstall one rule. Raises `KeyError` when no rule has that id."""
        if rule_id not in self._rules:
            raise KeyError(rule_id)
        del self._rules[rule_id]

    def clear(self) -> None:
        """Uninstall every rule (history stays)."""
        self._rules.clear()

    def rules(self) -> list[RuleStatus]:
        """The installed rules in insertion (= priority) order, with their counters."""
        return [
            RuleStatus(id=r.id, rule=r.rule, matched=r.matched, fired=r.fired)
            for r in self._rules.values()
        ]

    def pick(self, ctx: RequestContext) -> Injection | None:
        """The injection for this request, or `None`. Advances counters and draws."""
        if not self._rules or ctx.path.startswith(_CONTROL_PREFIX):
            return None
        path = ctx.path
        method = ctx.method.upper()
        realm_id = ctx.realm_id
        if realm_id is None:
            found = _REALM_IN_PATH.match(path)
            realm_id = found[1] if found else None
        winner: _Installed | None = None
        for installed in self._rules.values():
            route = installed.rule.route
            if route.method not in ("*", method):
                continue
            if route.realm is not None and route.realm != realm_id:
                continue
            if installed.pattern.search(path) is None:
                continue
            installed.matched += 1
            if installed.rule.trigger.fires(installed.matched, self.rng) and winner is None:
                winner = installed
        if winner is None:
            return None
        winner.fired += 1
        effect = winner.rule.effect
        latency = effect.latency
        if effect.jitter > 0:
            latency += self.rng.uniform(0.0, effect.jitter)
        injection = Injection(
            kind=effect.kind,
            status=effect.resolved_status,
            latency=latency,
            rule_id=winner.id,
        )
        self.history.append(
            InjectionRecord(
                at=ctx.now,
                method=method,
                path=path,
                realm_id=realm_id,
                rule_id=winner.id,
                ordinal=winner.matched,
                kind=injection.kind,
                status=injection.status,
                latency=latency,
            )
        )
        return injection


# -- JSON ---------------------------------------------------------------------------------

_RULE_KEYS: Final = ("route", "trigger", "effect")
_ROUTE_KEYS: Final = ("method", "path", "path_regex", "realm")
_TRIGGER_KEYS: Final = ("probability", "next", "every", "ordinals")
_EFFECT_KEYS: Final = ("kind", "status", "latency", "jitter")


def _object(value: object, field: str, known: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(field, f"must be a JSON object, got {type(value).__name__}")
    unknown = sorted(str(k) for k in value if k not in known)
    if unknown:
        raise _fail(field, f"unknown key(s) {unknown}; known: {', '.join(known)}")
    return value


def _or_empty(value: object) -> object:
    return {} if value is None else value


def _string(data: Mapping[str, Any], key: str, field: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(f"{field}.{key}", f"must be a string, got {type(value).__name__}")
    return value


def _integer(data: Mapping[str, Any], key: str, field: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(f"{field}.{key}", f"must be a whole number, got {value!r}")
    return value


def _number(data: Mapping[str, Any], key: str, field: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"{field}.{key}", f"must be a number, got {value!r}")
    return float(value)


def rule_from_json(data: object) -> FaultRule:
    """Build a rule from JSON, e.g.::

        {"route": {"method": "POST", "path": "/v3/company/*/invoice"},
         "trigger": {"next": 1},
         "effect": {"kind": "timeout", "latency": 2}}

    `route` and `trigger` may be omitted (every request; always); `effect` may be just
    its kind as a string. Raises `RuleError` naming the offending field.
    """
    top = _object(data, "rule", _RULE_KEYS)
    route_data = _object(_or_empty(top.get("route")), "route", _ROUTE_KEYS)
    trigger_data = _object(_or_empty(top.get("trigger")), "trigger", _TRIGGER_KEYS)
    raw_effect = top.get("effect")
    if raw_effect is None:
        raise _fail("effect", f"is required (one of {', '.join(EFFECT_KINDS)})")
    if isinstance(raw_effect, str):
        raw_effect = {"kind": raw_effect}
    effect_data = _object(raw_effect, "effect", _EFFECT_KEYS)

    ordinals = trigger_data.get("ordinals")
    if ordinals is not None and (
        not isinstance(ordinals, list)
        or any(isinstance(n, bool) or not isinstance(n, int) for n in ordinals)
    ):
        raise _fail("trigger.ordinals", f"must be a list of whole numbers, got {ordinals!r}")
    kind = _string(effect_data, "kind", "effect")
    if kind not in EFFECT_KINDS:
        raise _fail("effect.kind", f"must be one of {', '.join(EFFECT_KINDS)}, got {kind!r}")
    return FaultRule(
        route=Route(
            method=_string(route_data, "method", "route") or "*",
            path=_string(route_data, "path", "route") or "*",
            path_regex=_string(route_data, "path_regex", "route"),
            realm=_string(route_data, "realm", "route"),
        ),
        trigger=Trigger(
            probability=_number(trigger_data, "probability", "trigger"),
            next=_integer(trigger_data, "next", "trigger"),
            every=_integer(trigger_data, "every", "trigger"),
            ordinals=ordinals,
        ),
        effect=Effect(
            kind=cast(EffectKind, kind),
            status=_integer(effect_data, "status", "effect"),
            latency=_number(effect_data, "latency", "effect") or 0.0,
            jitter=_number(effect_data, "jitter", "effect") or 0.0,
        ),
    )


def rule_to_json(rule: FaultRule) -> dict[str, Any]:
    """The JSON form `rule_from_json` reads back to an equal rule (defaults omitted)."""
    route = {
        key: value
        for key, value in (
            ("method", rule.route.method),
            ("path", rule.route.path),
            ("path_regex", rule.route.path_regex),
            ("realm", rule.route.realm),
        )
        if value is not None
    }
    trigger: dict[str, Any] = {}
    t = rule.trigger
    if t.probability is not None:
        trigger["probability"] = t.probability
    if t.next is not None:
        trigger["next"] = t.next
    if t.every is not None:
        trigger["every"] = t.every
    if t.ordinals is not None:
        trigger["ordinals"] = list(t.ordinals)
    effect: dict[str, Any] = {"kind": rule.effect.kind}
    if rule.effect.status is not None:
        effect["status"] = rule.effect.status
    if rule.effect.latency:
        effect["latency"] = rule.effect.latency
    if rule.effect.jitter:
        effect["jitter"] = rule.effect.jitter
    return {"route": route, "trigger": trigger, "effect": effect}
