"""The emulator's throttle: QBO's documented limits on sliding windows of the emulator clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.context import RequestContext
from qbo_adapters.emulator.faults import QBOFault
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.throttle import Throttle, throttle_fault
from qbo_adapters.memory.clock import FakeClock
from qbo_core.http import HttpRequest, HttpResponse

T0 = datetime(2026, 1, 1, tzinfo=UTC)
REALM = "9130000000000001"
OTHER_REALM = "9130000000000002"


def ctx_at(seconds: float) -> RequestContext:
    """A data-API request arriving `seconds` after T0."""
    return RequestContext.build(
        HttpRequest(method="GET", url=f"http://emulator.invalid/v3/company/{REALM}/query"),
        now=T0 + timedelta(seconds=seconds),
        tid="1-00000000-000000000000000000000000",
        zone=UTC,
    )


def admitted(
    throttle: Throttle,
    at: float,
    *,
    realm: str = REALM,
    client: str | None = "app",
    batch: bool = False,
) -> bool:
    """Send one request through the throttle and release it at once; True if admitted."""
    try:
        release = throttle.admit(ctx_at(at), realm, client, batch=batch)
    except QBOFault as fault:
        refused_with = fault.status
    else:
        release()
        return True
    assert refused_with == 429
    return False


def make(**overrides: Any) -> Throttle:
    return Throttle(attrs.evolve(EmulatorSettings(), **overrides))


# -- per second ----------------------------------------------------------------------


def test_ten_requests_in_one_second_pass_and_the_eleventh_is_refused() -> None:
    """Ten requests in the same instant are admitted and the eleventh gets a 429."""
    throttle = make()
    assert [admitted(throttle, 0.0) for _ in range(10)] == [True] * 10
    assert not admitted(throttle, 0.0)
    assert throttle.refused_by["per_second"] == 1


def test_ten_requests_spread_inside_one_second_fill_the_window() -> None:
    """Ten requests spread over 0.9 s fill the 1 s window, so one more at 0.99 s is refused."""
    throttle = make()
    assert all(admitted(throttle, i / 10) for i in range(10))
    assert not admitted(throttle, 0.99)


def test_the_second_window_slides_exactly_one_second() -> None:
    """A request just under 1 s after a full burst is refused; one at exactly 1 s passes."""
    throttle = make(requests_per_minute=10_000)
    assert all(admitted(throttle, 0.0) for _ in range(10))
    assert not admitted(throttle, 0.999_999)
    # The refused request at 0.999999 counts, so only nine more fit at exactly 1 s.
    assert all(admitted(throttle, 1.0) for _ in range(9))
    assert not admitted(throttle, 1.0)


# -- per minute ----------------------------------------------------------------------


def test_five_hundred_per_minute_across_seconds_then_refused() -> None:
    """500 requests at 10 per second over 50 s pass; the 501st within the minute is refused."""
    throttle = make()
    for second in range(50):
        assert all(admitted(throttle, float(second)) for _ in range(10)), second
    assert not admitted(throttle, 50.0)
    assert not admitted(throttle, 59.999)
    assert throttle.refused_by == {
        "per_second": 0,
        "per_minute": 2,
        "batch_per_minute": 0,
        "batch_per_minute_realm": 0,
        "in_flight": 0,
    }


def test_the_minute_window_slides_on_the_clock() -> None:
    """Once 60 s have passed since the first second's burst, that second's quota is free."""
    throttle = make()
    for second in range(50):
        assert all(admitted(throttle, float(second)) for _ in range(10))
    assert not admitted(throttle, 59.0)  # counts: 501 in the window now
    # At t=60 the ten from t=0 leave: 491 remain, so nine more fit, not ten.
    assert all(admitted(throttle, 60.0) for _ in range(9))
    assert not admitted(throttle, 60.0)


def test_refused_requests_count_against_the_window() -> None:
    """A client that retries while throttled stays throttled: refused requests are counted."""
    throttle = make(requests_per_minute=5)
    assert all(admitted(throttle, 0.0) for _ in range(5))
    assert not any(admitted(throttle, 30.0) for _ in range(5))
    # The first five have left at t=60, but the five refused at t=30 still fill the window.
    assert not admitted(throttle, 60.0)
    # Waiting a full minute after the last attempt always gets through.
    assert admitted(throttle, 120.0)


# -- batch -----------------------------------------------------------------------------


def test_forty_batch_requests_per_minute_per_client() -> None:
    """40 batch requests within a minute pass; the 41st is refused while plain ones still pass."""
    throttle = make()
    for second in range(10):
        assert all(admitted(throttle, float(second), batch=True) for _ in range(4))
    assert not admitted(throttle, 10.0, batch=True)
    assert throttle.refused_by["batch_per_minute"] == 1
    assert admitted(throttle, 10.0)
    assert admitted(throttle, 60.0, batch=True)  # the four from t=0 have left


def test_batch_requests_count_towards_the_general_limits() -> None:
    """A batch request is also a request: it uses the per-second quota."""
    throttle = make()
    assert all(admitted(throttle, 0.0, batch=True) for _ in range(10))
    assert not admitted(throttle, 0.0)
    assert throttle.refused_by["per_second"] == 1


def test_one_hundred_twenty_batch_requests_per_minute_per_realm() -> None:
    """Three clients may send 40 batch requests each; a fourth client's batch is refused."""
    throttle = make(batch_per_minute_realm=120)
    for index, client in enumerate(("a", "b", "c")):
        for second in range(10):
            at = index * 10 + second
            assert all(admitted(throttle, at, client=client, batch=True) for _ in range(4))
    assert not admitted(throttle, 30.0, client="d", batch=True)
    assert throttle.refused_by["batch_per_minute_realm"] == 1
    assert admitted(throttle, 30.0, client="d")  # plain requests are not batch-limited
    assert admitted(throttle, 30.0, realm=OTHER_REALM, client="d", batch=True)


# -- separation ----------------------------------------------------------------------


def test_limits_are_per_realm_and_client() -> None:
    """Exhausting one (realm, client) leaves other clients and other realms untouched."""
    throttle = make()
    assert all(admitted(throttle, 0.0, client="a") for _ in range(10))
    assert not admitted(throttle, 0.0, client="a")
    assert all(admitted(throttle, 0.0, client="b") for _ in range(10))
    assert all(admitted(throttle, 0.0, realm=OTHER_REALM, client="a") for _ in range(10))


# -- in flight ---------------------------------------------------------------------------


def test_max_in_flight_limits_concurrent_requests() -> None:
    """With max_in_flight=2, a third unreleased request is refused until one is released."""
    throttle = make(max_in_flight=2)
    first = throttle.admit(ctx_at(0.0), REALM, "app", batch=False)
    throttle.admit(ctx_at(0.0), REALM, "app", batch=False)
    with pytest.raises(QBOFault) as refused:
        throttle.admit(ctx_at(0.0), REALM, "app", batch=False)
    assert refused.value.status == 429
    assert throttle.refused_by["in_flight"] == 1
    assert admitted(throttle, 0.0, client="other")  # the slots are per client
    first()
    first()  # releasing twice frees one slot, not two
    throttle.admit(ctx_at(0.0), REALM, "app", batch=False)
    with pytest.raises(QBOFault):
        throttle.admit(ctx_at(0.0), REALM, "app", batch=False)


def test_without_max_in_flight_concurrency_is_unlimited() -> None:
    """With max_in_flight unset, unreleased requests are limited only by the rate windows."""
    throttle = make()
    for _ in range(10):
        throttle.admit(ctx_at(0.0), REALM, "app", batch=False)
    assert throttle.snapshot()["clients"][0]["in_flight"] == 10


# -- the fault ------------------------------------------------------------------------


def test_the_429_fault_is_the_json_throttle_exceeded_fault_by_default() -> None:
    """A refusal raises the 3001 ThrottleExceeded SERVICE fault, JSON, with no Retry-After."""
    throttle = make(requests_per_second=0)
    with pytest.raises(QBOFault) as caught:
        throttle.admit(ctx_at(0.0), REALM, "app", batch=False)
    fault = caught.value
    assert fault.status == 429
    assert fault.fault_type == "SERVICE"
    assert fault.as_xml is False
    assert fault.headers == ()
    assert fault.body() == {
        "Error": [
            {
                "Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                "Detail": "The request limit was reached.  Try again later",
                "code": "3001",
            }
        ],
        "type": "SERVICE",
    }


def test_xml_format_and_retry_after_shape_the_fault() -> None:
    """throttle_format="xml" forces an XML body and retry_after adds whole-second Retry-After."""
    fault = throttle_fault(attrs.evolve(EmulatorSettings(), throttle_format="xml", retry_after=1.5))
    assert fault.as_xml is True
    assert fault.headers == (("Retry-After", "2"),)
    assert throttle_fault(attrs.evolve(EmulatorSettings(), retry_after=60)).headers == (
        ("Retry-After", "60"),
    )


# -- switches and inspection ------------------------------------------------------------


def test_throttle_off_admits_everything_and_counts_nothing() -> None:
    """With throttle=False every request is admitted and no window is kept."""
    throttle = make(throttle=False, max_in_flight=1)
    assert all(admitted(throttle, 0.0, batch=True) for _ in range(1_000))
    throttle.admit(ctx_at(0.0), REALM, "app", batch=False)
    throttle.admit(ctx_at(0.0), REALM, "app", batch=False)
    snapshot = throttle.snapshot()
    assert snapshot["enabled"] is False
    assert snapshot["admitted"] == 0
    assert snapshot["clients"] == []


def test_snapshot_reports_windows_and_slides_them_to_now() -> None:
    """`snapshot` counts each client's windows, and with `now` drops what has left them."""
    throttle = make()
    for _ in range(3):
        assert admitted(throttle, 0.0, batch=True)
    assert admitted(throttle, 0.5)
    snapshot = throttle.snapshot()
    assert snapshot["admitted"] == 4
    assert snapshot["refused"] == 0
    assert snapshot["limits"]["requests_per_second"] == 10
    assert snapshot["clients"] == [
        {
            "realm_id": REALM,
            "client_id": "app",
            "last_second": 4,
            "last_minute": 4,
            "batch_last_minute": 3,
            "in_flight": 0,
        }
    ]
    assert snapshot["realms"] == [{"realm_id": REALM, "batch_last_minute": 3}]
    later = throttle.snapshot(T0 + timedelta(seconds=1.2))
    assert later["clients"][0]["last_second"] == 1
    assert later["clients"][0]["last_minute"] == 4
    assert throttle.snapshot(T0 + timedelta(seconds=61))["realms"][0]["batch_last_minute"] == 0


def test_reset_forgets_every_window_and_counter() -> None:
    """After `reset`, an exhausted client is admitted again and the counters are zero."""
    throttle = make()
    assert all(admitted(throttle, 0.0) for _ in range(10))
    assert not admitted(throttle, 0.0)
    throttle.reset()
    assert throttle.snapshot()["refused"] == 0
    assert throttle.snapshot()["clients"] == []
    assert admitted(throttle, 0.0)


def test_a_long_burst_at_one_instant_is_counted_exactly() -> None:
    """Same-instant requests, merged into one window entry, are each still counted."""
    throttle = make(requests_per_second=100_000, requests_per_minute=100_000)
    assert all(admitted(throttle, 0.0) for _ in range(50_000))
    assert throttle.snapshot()["clients"][0]["last_minute"] == 50_000


# -- through the emulator -------------------------------------------------------------------


async def send_all(
    emulator: QBOEmulator, count: int, rest: str = "/customer/1", body: Any = None
) -> list[HttpResponse]:
    """Send `count` identical data-API requests at the current instant of the FakeClock."""
    realm = emulator.realm_ids[0]
    token = emulator.control.mint_tokens(realm)["access_token"]
    request = HttpRequest(
        method="GET" if body is None else "POST",
        url=f"http://emulator.invalid/v3/company/{realm}{rest}",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        },
        body=b"" if body is None else json.dumps(body).encode(),
    )
    return [await emulator.handle(request) for _ in range(count)]


async def test_the_eleventh_request_in_a_second_gets_the_json_429() -> None:
    """Through the emulator, the 11th request in one instant gets QBO's 429 3001 JSON fault."""
    emulator = QBOEmulator(EmulatorSettings(), clock=FakeClock())
    responses = await send_all(emulator, 11)
    assert [r.status for r in responses] == [200] * 10 + [429]
    refused = responses[-1]
    assert refused.content_type == "application/json"
    assert "Retry-After" not in refused.headers
    body = json.loads(refused.body)
    assert body["Fault"] == {
        "Error": [
            {
                "Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                "Detail": "The request limit was reached.  Try again later",
                "code": "3001",
            }
        ],
        "type": "SERVICE",
    }
    assert "time" in body


async def test_the_xml_429_carries_retry_after_when_configured() -> None:
    """With throttle_format="xml" and retry_after, the 429 is XML and has Retry-After."""
    settings = EmulatorSettings(throttle_format="xml", retry_after=60, requests_per_second=1)
    emulator = QBOEmulator(settings, clock=FakeClock())
    refused = (await send_all(emulator, 2))[-1]
    assert refused.status == 429
    assert refused.content_type == "application/xml"
    assert refused.headers.get("Retry-After") == "60"
    assert b'<Fault type="SERVICE"><Error code="3001">' in refused.body
    assert b"<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429" in refused.body


async def test_advancing_the_clock_lets_requests_through_again() -> None:
    """After a full second on the FakeClock a throttled client is admitted again."""
    clock = FakeClock()
    emulator = QBOEmulator(EmulatorSettings(), clock=clock)
    assert [r.status for r in await send_all(emulator, 11)][-1] == 429
    clock.advance(1.0)
    assert [r.status for r in await send_all(emulator, 2)] == [200, 200]
    assert emulator.control.state()["throttle"]["refused"] == 1


async def test_batch_requests_meet_the_batch_limit() -> None:
    """POST /batch is counted as a batch request: the second one over a limit of 1 is a 429."""
    emulator = QBOEmulator(EmulatorSettings(batch_per_minute=1), clock=FakeClock())
    batch = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Customer"}]}
    responses = await send_all(emulator, 2, "/batch", batch)
    assert [r.status for r in responses] == [200, 429]
    assert (await send_all(emulator, 1))[0].status == 200  # plain requests still pass
    assert emulator.throttle.refused_by["batch_per_minute"] == 1


async def test_the_control_api_is_never_throttled() -> None:
    """Control requests do not count: many in one instant all succeed and leave no window."""
    emulator = QBOEmulator(EmulatorSettings(), clock=FakeClock())
    request = HttpRequest(method="GET", url="http://emulator.invalid/_emulator/state")
    statuses = [(await emulator.handle(request)).status for _ in range(30)]
    assert statuses == [200] * 30
    assert emulator.throttle.snapshot()["clients"] == []
