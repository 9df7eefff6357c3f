"""The control API under `/_emulator/`, end to end through `QBOEmulator.handle`."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

import pytest

from qbo_adapters.emulator.app import InternalError, QBOEmulator
from qbo_adapters.emulator.chaos import Effect, FaultRule, Route
from qbo_adapters.emulator.control import ControlError
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.memory.clock import FakeClock
from qbo_core.http import HttpRequest, HttpResponse

BASE = "http://emulator.invalid"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> QBOEmulator:
    return QBOEmulator(EmulatorSettings(), clock=clock)


@pytest.fixture
def realm(emulator: QBOEmulator) -> str:
    return emulator.realm_ids[0]


async def call(
    emulator: QBOEmulator,
    method: str,
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    data = raw if raw is not None else b"" if body is None else json.dumps(body).encode()
    return await emulator.handle(
        HttpRequest(
            method=method,
            url=f"{BASE}{path}",
            headers={"Content-Type": "application/json", **(headers or {})},
            body=data,
        )
    )


def payload(response: HttpResponse) -> Any:
    assert response.content_type == "application/json", response
    return json.loads(response.body)


async def data_get(emulator: QBOEmulator, realm: str, token: str, rest: str) -> HttpResponse:
    return await call(
        emulator,
        "GET",
        f"/v3/company/{realm}{rest}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )


# -- state, reset, seed ----------------------------------------------------------------------


async def test_state_reports_realms_clock_settings_throttle_and_errors(
    emulator: QBOEmulator, clock: FakeClock, realm: str
) -> None:
    """`GET /state` lists each realm's entity counts, the clock, settings, throttle, errors."""
    state = payload(await call(emulator, "GET", "/_emulator/state"))
    assert state["now"] == clock.now().isoformat()
    assert state["clock"] == "FakeClock"
    assert [r["realm_id"] for r in state["realms"]] == [realm]
    assert state["realms"][0]["entities"] == emulator.companies[realm].counts()
    assert state["realms"][0]["entities"]["Customer"] > 0
    assert state["settings"]["requests_per_second"] == 10
    assert state["settings"]["client_id"] == "emulator-client"
    assert "client_secret" not in state["settings"]
    assert "emulator-secret" not in json.dumps(state)
    assert state["throttle"]["limits"]["requests_per_minute"] == 500
    assert state["internal_errors"] == 0
    assert state["faults"] == 0


async def test_state_counts_internal_errors(emulator: QBOEmulator) -> None:
    """Internal errors the emulator kept show up in the state's count and messages."""
    emulator.internal_errors.append(
        InternalError.of(RuntimeError("boom"), method="GET", path="/v3/company/1/x")
    )
    state = payload(await call(emulator, "GET", "/_emulator/state"))
    assert state["internal_errors"] == 1
    assert state["internal_error_messages"] == ["RuntimeError: boom (GET /v3/company/1/x)"]


async def test_reset_regenerates_everything_under_a_new_seed(
    emulator: QBOEmulator, realm: str
) -> None:
    """`POST /reset {"seed"}` re-seeds the companies and forgets faults and data changes."""
    emulator.control.add_fault({"effect": "reset"})
    response = await call(emulator, "POST", "/_emulator/reset", {"seed": 5})
    assert payload(response) == {"reset": True, "seed": 5}
    assert emulator.settings.seed == 5
    assert emulator.realm_ids != [realm]
    assert emulator.chaos.rules() == []
    same = QBOEmulator(EmulatorSettings(seed=5), clock=FakeClock())
    new_realm = emulator.realm_ids[0]
    assert emulator.companies[new_realm].snapshot() == same.companies[new_realm].snapshot()


async def test_reset_without_a_seed_keeps_the_seed(emulator: QBOEmulator, realm: str) -> None:
    """`POST /reset` with an empty body regenerates under the current seed."""
    emulator.companies[realm].objects["Customer"].clear()
    assert payload(await call(emulator, "POST", "/_emulator/reset")) == {"reset": True, "seed": 0}
    assert emulator.realm_ids == [realm]
    assert emulator.companies[realm].counts()["Customer"] > 0


async def test_seed_restarts_the_random_draws_and_keeps_the_data(
    emulator: QBOEmulator, realm: str
) -> None:
    """After `POST /seed {"seed": n}`, two emulators draw the same tids; data and rules stay."""
    other = QBOEmulator(EmulatorSettings(seed=99), clock=FakeClock())
    rule_id = emulator.control.add_fault({"route": {"path": "/nowhere"}, "effect": "reset"})
    for target in (emulator, other):
        assert payload(await call(target, "POST", "/_emulator/seed", {"seed": 42})) == {"seed": 42}
    first = await call(emulator, "GET", "/_emulator/state")
    second = await call(other, "GET", "/_emulator/state")
    assert first.headers.get("intuit_tid") == second.headers.get("intuit_tid")
    assert emulator.realm_ids == [realm]
    assert [r["id"] for r in emulator.control.faults()] == [rule_id]


async def test_seed_requires_a_whole_number(emulator: QBOEmulator) -> None:
    """`POST /seed` without an integer seed is a 400 naming the parameter."""
    for body in ({}, {"seed": "7"}, {"seed": True}):
        response = await call(emulator, "POST", "/_emulator/seed", body)
        assert response.status == 400
        assert payload(response)["error"] == "invalid_parameter"
        assert "seed" in payload(response)["detail"]


# -- faults ----------------------------------------------------------------------------------


async def test_faults_can_be_added_listed_removed_and_cleared(emulator: QBOEmulator) -> None:
    """POST adds (201 with the id), GET lists, DELETE by id removes one, DELETE clears."""
    added = await call(
        emulator,
        "POST",
        "/_emulator/faults",
        {"route": {"method": "POST"}, "trigger": {"next": 2}, "effect": {"kind": "timeout"}},
    )
    assert added.status == 201
    first = payload(added)
    assert first["matched"] == 0
    assert first["trigger"] == {"next": 2}
    assert first["effect"] == {"kind": "timeout"}
    second = payload(await call(emulator, "POST", "/_emulator/faults", {"effect": "reset"}))
    listed = payload(await call(emulator, "GET", "/_emulator/faults"))["faults"]
    assert [f["id"] for f in listed] == [first["id"], second["id"]]
    one = payload(await call(emulator, "GET", f"/_emulator/faults/{first['id']}"))
    assert one == first

    removed = await call(emulator, "DELETE", f"/_emulator/faults/{first['id']}")
    assert payload(removed) == {"removed": 1}
    assert [s.id for s in emulator.chaos.rules()] == [second["id"]]
    gone = await call(emulator, "DELETE", f"/_emulator/faults/{first['id']}")
    assert gone.status == 404
    assert payload(gone)["error"] == "unknown_fault"

    assert payload(await call(emulator, "DELETE", "/_emulator/faults")) == {"removed": 1}
    assert emulator.chaos.rules() == []


async def test_an_invalid_fault_rule_is_a_400_naming_the_field(emulator: QBOEmulator) -> None:
    """A rule the injector cannot build is refused with the validation message."""
    response = await call(
        emulator, "POST", "/_emulator/faults", {"trigger": {"probability": 2}, "effect": "reset"}
    )
    assert response.status == 400
    assert payload(response) == {
        "error": "invalid_rule",
        "detail": "trigger.probability: must be between 0 and 1, got 2.0",
    }
    assert emulator.chaos.rules() == []


async def test_fault_history_lists_injections_newest_last(
    emulator: QBOEmulator, realm: str
) -> None:
    """`GET /faults/history` shows what was injected where, newest last, up to `limit`."""
    rule_id = emulator.control.add_fault({"trigger": {"every": 1}, "effect": "status"})
    for entity in ("customer", "vendor", "item"):
        await call(emulator, "GET", f"/v3/company/{realm}/{entity}/1")
    history = payload(await call(emulator, "GET", "/_emulator/faults/history?limit=2"))
    assert [(h["rule_id"], h["path"], h["kind"], h["status"]) for h in history["injections"]] == [
        (rule_id, f"/v3/company/{realm}/vendor/1", "status", 503),
        (rule_id, f"/v3/company/{realm}/item/1", "status", 503),
    ]
    assert history["injections"][0]["ordinal"] == 2


async def test_control_routes_are_never_faulted(emulator: QBOEmulator) -> None:
    """Even a catch-all "refuse" rule leaves the control API reachable to remove it."""
    emulator.control.add_fault({"effect": "refuse"})
    response = await call(emulator, "DELETE", "/_emulator/faults")
    assert payload(response) == {"removed": 1}


async def test_python_methods_mirror_the_endpoints(emulator: QBOEmulator) -> None:
    """`emulator.control` offers the same operations as Python methods, errors included."""
    control = emulator.control
    rule_id = control.add_fault(FaultRule(route=Route(method="GET"), effect=Effect(kind="reset")))
    assert control.fault(rule_id)["route"]["method"] == "GET"
    with pytest.raises(ControlError) as bad:
        control.add_fault({"effect": "melt"})
    assert (bad.value.status, bad.value.error) == (400, "invalid_rule")
    with pytest.raises(ControlError) as missing:
        control.remove_fault("fault-999")
    assert missing.value.status == 404
    emulator.reset()
    assert control.faults() == []  # a kept reference acts on the reset emulator
    control.add_fault({"effect": "reset"})
    assert len(emulator.chaos.rules()) == 1


# -- clock ------------------------------------------------------------------------------------


async def test_clock_advance_moves_a_fake_clock(emulator: QBOEmulator, clock: FakeClock) -> None:
    """`POST /clock/advance {"seconds": x}` moves the FakeClock by exactly x seconds."""
    before = clock.now()
    response = await call(emulator, "POST", "/_emulator/clock/advance", {"seconds": 90.5})
    assert (clock.now() - before).total_seconds() == 90.5
    assert payload(response) == {"now": clock.now().isoformat()}


async def test_clock_advance_refuses_bad_amounts(emulator: QBOEmulator, clock: FakeClock) -> None:
    """A negative, missing or non-numeric amount is a 400 and the clock stays put."""
    for body in ({"seconds": -1}, {}, {"seconds": "5"}):
        response = await call(emulator, "POST", "/_emulator/clock/advance", body)
        assert response.status == 400
        assert "seconds" in payload(response)["detail"]
    assert clock.elapsed == 0


async def test_clock_advance_on_a_real_clock_is_a_409() -> None:
    """An emulator on the system clock answers 409 with a message saying why."""
    emulator = QBOEmulator(EmulatorSettings())
    response = await call(emulator, "POST", "/_emulator/clock/advance", {"seconds": 1})
    assert response.status == 409
    body = payload(response)
    assert body["error"] == "clock_not_fake"
    assert "SystemClock" in body["detail"]
    assert "FakeClock" in body["detail"]


# -- tokens ------------------------------------------------------------------------------------


async def test_minted_tokens_open_the_data_api(emulator: QBOEmulator, realm: str) -> None:
    """`POST /tokens {"realm_id"}` returns token JSON whose access token reads the realm."""
    response = await call(emulator, "POST", "/_emulator/tokens", {"realm_id": realm})
    assert response.status == 201
    tokens = payload(response)
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 3600
    read = await data_get(emulator, realm, tokens["access_token"], "/customer/1")
    assert read.status == 200
    assert payload(read)["Customer"]["Id"] == "1"


async def test_minting_for_an_unknown_realm_is_a_404(emulator: QBOEmulator) -> None:
    """Tokens cannot be minted for a realm the emulator does not hold."""
    response = await call(emulator, "POST", "/_emulator/tokens", {"realm_id": "123"})
    assert response.status == 404
    assert payload(response)["error"] == "unknown_realm"
    missing = await call(emulator, "POST", "/_emulator/tokens", {})
    assert missing.status == 400


async def test_expiring_access_tokens_gets_a_401(emulator: QBOEmulator, realm: str) -> None:
    """After `POST /tokens/expire {"which": "access"}` the access token gets QBO's 401."""
    tokens = emulator.control.mint_tokens(realm)
    response = await call(
        emulator, "POST", "/_emulator/tokens/expire", {"realm_id": realm, "which": "access"}
    )
    assert payload(response) == {"expired": "access", "realm_id": realm, "count": 1}
    read = await data_get(emulator, realm, tokens["access_token"], "/customer/1")
    assert read.status == 401
    assert json.loads(read.body)["fault"]["error"][0]["code"] == "3200"


async def _refresh(emulator: QBOEmulator, refresh_token: str) -> HttpResponse:
    basic = base64.b64encode(b"emulator-client:emulator-secret").decode()
    return await emulator.handle(
        HttpRequest(
            method="POST",
            url=f"{BASE}/oauth2/v1/tokens/bearer",
            headers={
                "Authorization": f"Basic {basic}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            body=urlencode(
                {"grant_type": "refresh_token", "refresh_token": refresh_token}
            ).encode(),
        )
    )


async def test_expiring_refresh_tokens_makes_refresh_fail(
    emulator: QBOEmulator, realm: str
) -> None:
    """After `POST /tokens/expire {"which": "refresh"}` a refresh gets `invalid_grant`."""
    tokens = emulator.control.mint_tokens(realm)
    assert (await _refresh(emulator, tokens["refresh_token"])).status == 200
    response = await call(emulator, "POST", "/_emulator/tokens/expire", {"which": "refresh"})
    assert payload(response)["count"] == 1
    refused = await _refresh(emulator, tokens["refresh_token"])
    assert refused.status == 400
    assert json.loads(refused.body)["error"] == "invalid_grant"


async def test_expire_rejects_an_unknown_kind(emulator: QBOEmulator) -> None:
    """`which` must be "access" or "refresh"."""
    response = await call(emulator, "POST", "/_emulator/tokens/expire", {"which": "id"})
    assert response.status == 400
    assert "which" in payload(response)["detail"]


async def test_revoking_kills_every_token_of_the_grant(emulator: QBOEmulator, realm: str) -> None:
    """After `POST /tokens/revoke` both the access and the refresh token are dead."""
    tokens = emulator.control.mint_tokens(realm)
    response = await call(emulator, "POST", "/_emulator/tokens/revoke", {"realm_id": realm})
    assert payload(response) == {"revoked": 1, "realm_id": realm}
    assert (await data_get(emulator, realm, tokens["access_token"], "/customer/1")).status == 401
    assert (await _refresh(emulator, tokens["refresh_token"])).status == 400


# -- request log and inspection ---------------------------------------------------------------


async def test_the_request_log_is_served_newest_last(emulator: QBOEmulator, realm: str) -> None:
    """`GET /requests?limit=n` returns the last n requests in order, with status and tid."""
    await call(emulator, "GET", "/_emulator/state")
    await call(emulator, "GET", f"/v3/company/{realm}/customer/1?minorversion=75")
    await call(emulator, "GET", "/nowhere")
    response = await call(emulator, "GET", "/_emulator/requests?limit=2")
    entries = payload(response)["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", f"/v3/company/{realm}/customer/1", 401),
        ("GET", "/nowhere", 404),
    ]
    assert entries[0]["query"] == "minorversion=75"
    assert entries[0]["realm_id"] == realm
    assert entries[0]["intuit_tid"].startswith("1-")
    everything = payload(await call(emulator, "GET", "/_emulator/requests"))["requests"]
    assert len(everything) == 4  # the previous /requests call is logged too


async def test_a_bad_limit_is_a_400(emulator: QBOEmulator) -> None:
    """`limit` must be a whole number of at least 1."""
    for limit in ("0", "-3", "ten"):
        response = await call(emulator, "GET", f"/_emulator/requests?limit={limit}")
        assert response.status == 400
        assert "limit" in payload(response)["detail"]


async def test_an_object_can_be_inspected_as_stored(emulator: QBOEmulator, realm: str) -> None:
    """`GET /realms/{realm}/{Entity}/{id}` returns the stored object (entity in any case)."""
    stored = emulator.companies[realm].get("Customer", "1")
    response = await call(emulator, "GET", f"/_emulator/realms/{realm}/Customer/1")
    assert payload(response) == stored
    lower = await call(emulator, "GET", f"/_emulator/realms/{realm}/customer/1")
    assert payload(lower) == stored
    info = await call(emulator, "GET", f"/_emulator/realms/{realm}/CompanyInfo/1")
    assert payload(info) == emulator.companies[realm].company_info


async def test_inspecting_unknown_things_is_a_404(emulator: QBOEmulator, realm: str) -> None:
    """An unknown realm, entity or Id is a 404 that says which."""
    cases = {
        f"/_emulator/realms/{realm}/Customer/999999": "unknown_object",
        f"/_emulator/realms/{realm}/Spaceship/1": "unknown_object",
        "/_emulator/realms/123/Customer/1": "unknown_realm",
    }
    for path, error in cases.items():
        response = await call(emulator, "GET", path)
        assert response.status == 404, path
        assert payload(response)["error"] == error


# -- errors ------------------------------------------------------------------------------------


async def test_an_unknown_control_path_is_a_404(emulator: QBOEmulator) -> None:
    """A path under /_emulator/ that serves nothing is a JSON 404."""
    response = await call(emulator, "GET", "/_emulator/teleport")
    assert response.status == 404
    assert payload(response)["error"] == "not_found"


async def test_a_wrong_method_is_a_405_with_allow(emulator: QBOEmulator) -> None:
    """A known path with the wrong method is a 405 whose Allow header lists the right ones."""
    response = await call(emulator, "PUT", "/_emulator/faults")
    assert response.status == 405
    assert response.headers.get("Allow") == "DELETE, GET, POST"
    assert payload(response)["error"] == "method_not_allowed"


async def test_a_body_that_is_not_a_json_object_is_a_400(emulator: QBOEmulator) -> None:
    """A body that is not JSON, or not an object, is refused as invalid_json."""
    for raw in (b"{nope", b"[1, 2]"):
        response = await call(emulator, "POST", "/_emulator/faults", raw=raw)
        assert response.status == 400
        assert payload(response)["error"] == "invalid_json"
