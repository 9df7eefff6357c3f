"""Fault injection: seeded rules, exact schedules, JSON rules, and what each effect does."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.chaos import (
    EFFECT_KINDS,
    Effect,
    FaultInjector,
    FaultRule,
    Injection,
    Route,
    RuleError,
    Trigger,
    rule_from_json,
    rule_to_json,
)
from qbo_adapters.emulator.context import RequestContext
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.memory.clock import FakeClock
from qbo_core.errors import ConnectError, ConnectionLostError, ReadTimeoutError
from qbo_core.http import HttpRequest

T0 = datetime(2026, 1, 1, tzinfo=UTC)
REALM = "9130000000000001"
INVOICES = f"/v3/company/{REALM}/invoice"
QUERY = f"/v3/company/{REALM}/query"


def ctx(path: str = INVOICES, method: str = "POST") -> RequestContext:
    return RequestContext.build(
        HttpRequest(method=method, url=f"http://emulator.invalid{path}?minorversion=75"),
        now=T0,
        tid="1-00000000-000000000000000000000000",
        zone=UTC,
    )


def kinds(injector: FaultInjector, count: int, path: str = INVOICES) -> list[str | None]:
    """The injected kind for each of `count` identical requests (None: not hit)."""
    out: list[str | None] = []
    for _ in range(count):
        injection = injector.pick(ctx(path))
        out.append(None if injection is None else injection.kind)
    return out


def hits(injector: FaultInjector, count: int, path: str = INVOICES) -> list[int]:
    """The 1-based positions, among `count` identical requests, that were hit."""
    return [i for i, kind in enumerate(kinds(injector, count, path), start=1) if kind]


def rule(kind: str = "status", **trigger: Any) -> FaultRule:
    return rule_from_json({"trigger": trigger, "effect": kind})


# -- determinism and probability ----------------------------------------------------------


def _run(seed: int) -> list[Injection | None]:
    injector = FaultInjector(seed)
    injector.add(rule("reset", probability=0.3))
    injector.add(
        rule_from_json(
            {"trigger": {"probability": 0.5}, "effect": {"kind": "latency", "jitter": 2}}
        )
    )
    return [injector.pick(ctx()) for _ in range(200)]


def test_same_seed_and_requests_give_the_same_injections() -> None:
    """Two injectors with one seed, the same rules and requests inject identically, jitter too."""
    first = _run(7)
    assert first == _run(7)
    assert any(i is not None and i.kind == "latency" for i in first)
    assert first != _run(8)


def test_probability_is_roughly_honoured_over_many_draws() -> None:
    """A 0.3 rule hits close to 30% of 10,000 requests."""
    injector = FaultInjector(1)
    injector.add(rule(probability=0.3))
    hit = len(hits(injector, 10_000))
    assert 2_800 <= hit <= 3_200


def test_probability_zero_never_and_one_always() -> None:
    """Probability 0 never hits and probability 1 always does."""
    never = FaultInjector(0)
    never.add(rule(probability=0.0))
    assert hits(never, 500) == []
    always = FaultInjector(0)
    always.add(rule(probability=1.0))
    assert len(hits(always, 500)) == 500


def test_reseed_restarts_the_draws() -> None:
    """After `reseed(s)` the draws repeat those of a fresh injector seeded with s."""
    fresh = FaultInjector(5)
    fresh.add(rule(probability=0.5))
    expected = hits(fresh, 100)
    injector = FaultInjector(99)
    injector.add(rule(probability=0.5))
    hits(injector, 37)
    injector.reseed(5)
    assert hits(injector, 100) == expected


# -- schedules ------------------------------------------------------------------------------


def test_next_n_hits_exactly_the_next_n_matching_requests() -> None:
    """`next: 3` hits the first three matching requests and no others."""
    injector = FaultInjector(0)
    injector.add(rule(next=3))
    assert hits(injector, 10) == [1, 2, 3]


def test_every_k_hits_every_kth_matching_request() -> None:
    """`every: 3` hits matching requests 3, 6, 9."""
    injector = FaultInjector(0)
    injector.add(rule(every=3))
    assert hits(injector, 10) == [3, 6, 9]


def test_ordinals_hit_exactly_the_listed_matching_requests() -> None:
    """`ordinals: [2, 5]` hits the second and fifth matching requests only."""
    injector = FaultInjector(0)
    injector.add(rule(ordinals=[5, 2]))
    assert hits(injector, 10) == [2, 5]


def test_schedules_count_only_matching_requests() -> None:
    """Requests that do not match the route do not advance a rule's ordinals."""
    injector = FaultInjector(0)
    injector.add(
        rule_from_json(
            {"route": {"path": "*/invoice"}, "trigger": {"ordinals": [2]}, "effect": "reset"}
        )
    )
    assert injector.pick(ctx(INVOICES)) is None
    assert injector.pick(ctx(QUERY)) is None
    assert injector.pick(ctx(QUERY)) is None
    picked = injector.pick(ctx(INVOICES))
    assert picked is not None
    assert picked.kind == "reset"


def test_a_rule_without_a_trigger_hits_every_matching_request() -> None:
    """An absent trigger means always."""
    injector = FaultInjector(0)
    injector.add(rule_from_json({"effect": "truncate"}))
    assert kinds(injector, 3) == ["truncate"] * 3


# -- routes ---------------------------------------------------------------------------------


def test_method_filters_requests() -> None:
    """A POST rule ignores GETs on the same path; "*" matches both."""
    injector = FaultInjector(0)
    injector.add(FaultRule(route=Route(method="post"), effect=Effect(kind="reset")))
    assert injector.pick(ctx(method="GET")) is None
    assert injector.pick(ctx(method="POST")) is not None


def test_a_glob_matches_the_whole_path_case_insensitively() -> None:
    """A glob must match the whole path (not a substring), ignoring case."""
    injector = FaultInjector(0)
    injector.add(FaultRule(route=Route(path="/v3/company/*/INVOICE"), effect=Effect(kind="reset")))
    injector.add(FaultRule(route=Route(path="/invoice"), effect=Effect(kind="timeout")))
    picked = injector.pick(ctx(INVOICES))
    assert picked is not None
    assert picked.kind == "reset"
    assert injector.pick(ctx(f"{INVOICES}/12")) is None


def test_a_regex_is_searched_in_the_path() -> None:
    """A path regex matches anywhere in the path unless anchored."""
    injector = FaultInjector(0)
    injector.add(FaultRule(route=Route(path_regex=r"/invoice/\d+$"), effect=Effect(kind="reset")))
    assert injector.pick(ctx(INVOICES)) is None
    assert injector.pick(ctx(f"{INVOICES}/42")) is not None


def test_a_realm_rule_matches_only_that_realms_paths() -> None:
    """A rule with a realm hits only `/v3/company/{realm}/...` of that realm."""
    injector = FaultInjector(0)
    injector.add(FaultRule(route=Route(realm=REALM), effect=Effect(kind="reset")))
    assert injector.pick(ctx("/v3/company/123/invoice")) is None
    assert injector.pick(ctx("/oauth2/v1/tokens/bearer")) is None
    assert injector.pick(ctx(INVOICES)) is not None


def test_control_api_paths_are_never_faulted() -> None:
    """A catch-all rule leaves `/_emulator/...` alone, so faults can always be removed."""
    injector = FaultInjector(0)
    injector.add(rule("refuse"))
    assert injector.pick(ctx("/_emulator/faults", method="DELETE")) is None
    assert injector.rules()[0].matched == 0


def test_the_first_rule_that_fires_wins_and_every_rule_counts() -> None:
    """Rules are consulted in insertion order; a shadowed rule still counts the request."""
    injector = FaultInjector(0)
    first = injector.add(rule("reset", ordinals=[1]))
    second = injector.add(rule("timeout", ordinals=[1, 2]))
    assert kinds(injector, 3) == ["reset", "timeout", None]
    statuses = {s.id: (s.matched, s.fired) for s in injector.rules()}
    assert statuses == {first: (3, 1), second: (3, 1)}


# -- effects --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("effect", "status"),
    [
        ({"kind": "status"}, 503),
        ({"kind": "status", "status": 504}, 504),
        ({"kind": "html"}, 502),
        ({"kind": "html", "status": 429}, 429),
        ({"kind": "xml"}, 500),
        ({"kind": "timeout"}, 0),
        ({"kind": "truncate"}, 0),
    ],
)
def test_an_injection_carries_the_effects_status(effect: dict[str, Any], status: int) -> None:
    """Each effect kind reaches `pick` with its given or default status (0: none)."""
    injector = FaultInjector(0)
    injector.add(rule_from_json({"effect": effect}))
    assert injector.pick(ctx()) == Injection(
        kind=effect["kind"], status=status, latency=0.0, rule_id="fault-1"
    )


def test_latency_is_fixed_plus_uniform_jitter_and_combines_with_an_effect() -> None:
    """Latency is `latency` + uniform(0, jitter), carried alongside the main effect."""
    injector = FaultInjector(3)
    injector.add(rule_from_json({"effect": {"kind": "timeout", "latency": 2, "jitter": 0.5}}))
    latencies = []
    for _ in range(200):
        picked = injector.pick(ctx())
        assert picked is not None
        assert picked.kind == "timeout"
        latencies.append(picked.latency)
    assert all(2.0 <= x <= 2.5 for x in latencies)
    assert max(latencies) - min(latencies) > 0.4


# -- bookkeeping ----------------------------------------------------------------------------


def test_rules_can_be_listed_removed_and_cleared() -> None:
    """`add` returns fresh ids, `rules` lists them in order, `remove` and `clear` uninstall."""
    injector = FaultInjector(0)
    a = injector.add(rule("reset"))
    b = injector.add(rule("timeout"))
    assert [s.id for s in injector.rules()] == [a, b]
    injector.remove(a)
    assert [s.id for s in injector.rules()] == [b]
    with pytest.raises(KeyError):
        injector.remove(a)
    injector.clear()
    assert injector.rules() == []
    assert injector.pick(ctx()) is None
    assert injector.add(rule("reset")) not in (a, b)


def test_history_records_each_injection() -> None:
    """Each injection is logged with its rule, the request, and the rule's match ordinal."""
    injector = FaultInjector(0)
    rule_id = injector.add(rule("status", every=2))
    kinds(injector, 4)
    assert [
        (r.rule_id, r.ordinal, r.kind, r.status, r.path, r.realm_id) for r in injector.history
    ] == [
        (rule_id, 2, "status", 503, INVOICES, REALM),
        (rule_id, 4, "status", 503, INVOICES, REALM),
    ]
    assert injector.history[0].method == "POST"
    assert injector.history[0].at == T0


# -- JSON -------------------------------------------------------------------------------------


def test_a_full_json_rule_is_read() -> None:
    """Every JSON field lands on the matching rule attribute."""
    parsed = rule_from_json(
        {
            "route": {"method": "post", "path": "/v3/company/*/invoice", "realm": REALM},
            "trigger": {"every": 4},
            "effect": {"kind": "html", "status": 502, "latency": 1, "jitter": 0.25},
        }
    )
    assert parsed == FaultRule(
        route=Route(method="POST", path="/v3/company/*/invoice", realm=REALM),
        trigger=Trigger(every=4),
        effect=Effect(kind="html", status=502, latency=1.0, jitter=0.25),
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "rule: must be a JSON object"),
        ({}, "effect: is required"),
        ({"effect": "explode"}, "effect.kind: must be one of latency, status"),
        ({"effect": {"status": 503}}, "effect.kind: must be one of"),
        ({"effect": "status", "colour": 1}, "rule: unknown key(s) ['colour']"),
        ({"effect": {"kind": "status", "status": 418}}, "effect.status: must be one of 500"),
        ({"effect": {"kind": "html", "status": 302}}, "effect.status: must be a 4xx or 5xx"),
        ({"effect": {"kind": "timeout", "status": 500}}, 'effect.status: only "status"'),
        ({"effect": {"kind": "status", "status": "503"}}, "effect.status: must be a whole number"),
        ({"effect": "latency"}, 'effect.latency: a "latency" effect needs'),
        ({"effect": {"kind": "latency", "latency": -1}}, "effect.latency: must be seconds >= 0"),
        ({"effect": {"kind": "reset", "jitter": "x"}}, "effect.jitter: must be a number"),
        ({"effect": "reset", "trigger": {"probability": 1.5}}, "trigger.probability: must be"),
        ({"effect": "reset", "trigger": {"next": 0}}, "trigger.next: must be a whole number >= 1"),
        ({"effect": "reset", "trigger": {"every": 2.5}}, "trigger.every: must be a whole number"),
        ({"effect": "reset", "trigger": {"ordinals": 3}}, "trigger.ordinals: must be a list"),
        ({"effect": "reset", "trigger": {"ordinals": []}}, "trigger.ordinals: must list at least"),
        ({"effect": "reset", "trigger": {"ordinals": [0, 1]}}, "trigger.ordinals: ordinals start"),
        ({"effect": "reset", "trigger": {"next": 1, "every": 2}}, "trigger: give at most one"),
        ({"effect": "reset", "trigger": {"when": 1}}, "trigger: unknown key(s) ['when']"),
        ({"effect": "reset", "route": "x"}, "route: must be a JSON object, got str"),
        ({"effect": "reset", "route": {"method": "GE T"}}, "route.method: must be an HTTP method"),
        ({"effect": "reset", "route": {"path_regex": "("}}, "route.path_regex: is not a valid"),
        ({"effect": "reset", "route": {"path": "/a", "path_regex": "b"}}, "route: give"),
        ({"effect": "reset", "route": {"realm": 5}}, "route.realm: must be a string"),
    ],
)
def test_invalid_json_rules_are_refused_with_the_field_named(data: object, message: str) -> None:
    """Each invalid rule raises `RuleError` whose message names the field and the problem."""
    with pytest.raises(RuleError) as caught:
        rule_from_json(data)
    assert str(caught.value).startswith(message), str(caught.value)


_routes = st.builds(
    Route,
    method=st.sampled_from(["*", "GET", "POST", "DELETE"]),
    path=st.sampled_from(["*", "/v3/company/*/invoice", "*/query"]),
    realm=st.none() | st.sampled_from([REALM, "1"]),
) | st.builds(Route, path_regex=st.sampled_from([r"/invoice/\d+", "^/v3/"]))
_triggers = st.one_of(
    st.just(Trigger()),
    st.builds(Trigger, probability=st.floats(0, 1)),
    st.builds(Trigger, next=st.integers(1, 100)),
    st.builds(Trigger, every=st.integers(1, 100)),
    st.builds(Trigger, ordinals=st.lists(st.integers(1, 100), min_size=1, max_size=5)),
)
_effects = st.one_of(
    st.builds(
        Effect,
        kind=st.sampled_from([k for k in EFFECT_KINDS if k not in ("latency", "status")]),
        latency=st.floats(0, 30),
        jitter=st.floats(0, 5),
    ),
    st.builds(Effect, kind=st.just("status"), status=st.sampled_from([500, 502, 503, 504])),
    st.builds(Effect, kind=st.just("latency"), latency=st.floats(0.001, 30)),
)


@given(st.builds(FaultRule, route=_routes, trigger=_triggers, effect=_effects))
def test_rules_round_trip_through_json(original: FaultRule) -> None:
    """`rule_from_json(rule_to_json(r)) == r` for every valid rule."""
    assert rule_from_json(rule_to_json(original)) == original


# -- through the emulator: what a client sees ---------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> QBOEmulator:
    return QBOEmulator(EmulatorSettings(), clock=clock)


@pytest.fixture
def realm(emulator: QBOEmulator) -> str:
    return emulator.realm_ids[0]


@pytest.fixture
def transport(emulator: QBOEmulator) -> EmulatorTransport:
    return EmulatorTransport(emulator)


def data_request(
    emulator: QBOEmulator, realm: str, method: str, rest: str, body: Any = None
) -> HttpRequest:
    token = emulator.control.mint_tokens(realm)["access_token"]
    return HttpRequest(
        method=method,
        url=f"http://emulator.invalid/v3/company/{realm}{rest}",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        },
        body=b"" if body is None else json.dumps(body).encode(),
    )


def customer_names(emulator: QBOEmulator, realm: str) -> set[str]:
    return {c["DisplayName"] for c in emulator.companies[realm].all("Customer")}


def create_customer(emulator: QBOEmulator, realm: str, name: str) -> HttpRequest:
    return data_request(emulator, realm, "POST", "/customer", {"DisplayName": name})


async def test_refuse_is_a_connect_error_and_nothing_is_applied(
    emulator: QBOEmulator, realm: str, transport: EmulatorTransport
) -> None:
    """A refused connection raises ConnectError and the write never happens."""
    emulator.control.add_fault({"route": {"method": "POST"}, "effect": "refuse"})
    with pytest.raises(ConnectError):
        await transport.send(create_customer(emulator, realm, "Refused Ltd"))
    assert "Refused Ltd" not in customer_names(emulator, realm)


async def test_reset_is_a_lost_connection_and_nothing_is_applied(
    emulator: QBOEmulator, realm: str, transport: EmulatorTransport
) -> None:
    """A reset raises ConnectionLostError and the write never happens."""
    emulator.control.add_fault({"route": {"method": "POST"}, "effect": "reset"})
    with pytest.raises(ConnectionLostError):
        await transport.send(create_customer(emulator, realm, "Reset Ltd"))
    assert "Reset Ltd" not in customer_names(emulator, realm)


async def test_timeout_is_a_read_timeout_and_the_write_is_applied(
    emulator: QBOEmulator, realm: str, transport: EmulatorTransport
) -> None:
    """A timeout raises ReadTimeoutError although the write was applied: the idempotency case."""
    emulator.control.add_fault(
        {"route": {"method": "POST"}, "trigger": {"next": 1}, "effect": "timeout"}
    )
    with pytest.raises(ReadTimeoutError):
        await transport.send(create_customer(emulator, realm, "Timeout Ltd"))
    assert "Timeout Ltd" in customer_names(emulator, realm)
    again = await transport.send(create_customer(emulator, realm, "Timeout Ltd"))
    assert again.status == 400  # the retry without a requestid hits the duplicate name
    assert json.loads(again.body)["Fault"]["Error"][0]["code"] == "6240"


async def test_truncate_cuts_the_body(
    emulator: QBOEmulator, realm: str, transport: EmulatorTransport
) -> None:
    """A truncated answer keeps its status and headers but loses the end of its body."""
    full = await transport.send(data_request(emulator, realm, "GET", "/customer/1"))
    emulator.control.add_fault({"effect": "truncate"})
    cut = await transport.send(data_request(emulator, realm, "GET", "/customer/1"))
    assert cut.status == full.status == 200
    assert 0 < len(cut.body) < len(full.body)
    assert full.body.startswith(cut.body[:20])
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.body)


async def test_status_is_a_json_system_fault(
    emulator: QBOEmulator, realm: str, transport: EmulatorTransport
) -> None:
    """A `status` effect answers QBO's JSON SystemFault with the chosen status."""
    emulator.control.add_fault({"effect": {"kind": "status", "status": 504}})
    response = await transport.send(data_request(emulator, realm, "GET", "/customer/1"))
    assert response.status == 504
    assert response.content_type == "application/json"
    fault = json.loads(response.body)["Fault"]
    assert fault["type"] == "SystemFault"
    assert fault["Error"][0]["code"] == "504"


async def test_html_is_an_html_error_page(
    emulator: QBOEmulator, realm: str, transport: EmulatorTransport
) -> None:
    """An `html` effect answers an HTML page (what a proxy sends), not JSON."""
    emulator.control.add_fault({"effect": "html"})
    response = await transport.send(data_request(emulator, realm, "GET", "/customer/1"))
    assert response.status == 502
    assert response.content_type == "text/html"
    assert response.body.startswith(b"<!DOCTYPE html>")


async def test_xml_is_an_intuit_response_fault(
    emulator: QBOEmulator, realm: str, transport: EmulatorTransport
) -> None:
    """An `xml` effect answers an XML IntuitResponse fault although JSON was asked for."""
    emulator.control.add_fault({"effect": {"kind": "xml", "status": 503}})
    response = await transport.send(data_request(emulator, realm, "GET", "/customer/1"))
    assert response.status == 503
    assert response.content_type == "application/xml"
    assert b"<IntuitResponse" in response.body
    assert b'<Fault type="SystemFault">' in response.body


async def test_latency_moves_the_fake_clock(
    emulator: QBOEmulator, realm: str, clock: FakeClock, transport: EmulatorTransport
) -> None:
    """Injected latency sleeps on the emulator clock; with another effect, both happen."""
    emulator.control.add_fault(
        {"trigger": {"next": 1}, "effect": {"kind": "latency", "latency": 7}}
    )
    emulator.control.add_fault({"effect": {"kind": "status", "latency": 2.5}})
    delayed = await transport.send(data_request(emulator, realm, "GET", "/customer/1"))
    assert delayed.status == 200
    assert clock.elapsed == 7.0
    failed = await transport.send(data_request(emulator, realm, "GET", "/customer/1"))
    assert failed.status == 503
    assert clock.elapsed == 9.5


async def test_the_request_log_names_the_injection(
    emulator: QBOEmulator, realm: str, transport: EmulatorTransport
) -> None:
    """Each logged request records which effect, if any, was injected into it."""
    emulator.control.add_fault({"trigger": {"ordinals": [2]}, "effect": "html"})
    for _ in range(3):
        await transport.send(data_request(emulator, realm, "GET", "/customer/1"))
    assert [(e.injected, e.status) for e in emulator.request_log] == [
        (None, 200),
        ("html", 502),
        (None, 200),
    ]


async def test_the_same_seed_faults_the_same_requests_end_to_end(realm: str) -> None:
    """Two emulators with one seed and one probability rule fail exactly the same requests."""

    async def statuses() -> list[int]:
        emulator = QBOEmulator(EmulatorSettings(seed=0), clock=FakeClock())
        emulator.control.add_fault({"trigger": {"probability": 0.4}, "effect": "status"})
        transport = EmulatorTransport(emulator)
        request = data_request(emulator, realm, "GET", "/customer/1")
        out = []
        for _ in range(9):  # under the 10-per-second throttle
            out.append((await transport.send(request)).status)
        return out

    first = await statuses()
    assert first == await statuses()
    assert set(first) == {200, 503}
