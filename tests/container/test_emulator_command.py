"""`qbo emulator`: a real process serving the emulator over HTTP until interrupted."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp import web

QBO = str(Path(sys.executable).with_name("qbo"))


def _env(**settings: str) -> dict[str, str]:
    """The process environment without QBO_* variables, plus `settings`."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("QBO_")}
    return env | settings


@asynccontextmanager
async def _serving(*args: str, env: dict[str, str]) -> AsyncIterator[list[str]]:
    """Run `qbo emulator *args`, yield its banner lines, then SIGINT it and expect exit 0."""
    process = await asyncio.create_subprocess_exec(
        QBO,
        "emulator",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None
    try:
        yield await _read_banner(process.stdout)
    finally:
        process.send_signal(signal.SIGINT)
        status = await asyncio.wait_for(process.wait(), timeout=30)
    assert status == 0


def _line(banner: list[str], label: str) -> str:
    return next(line for line in banner if line.strip().startswith(label)).split(":", 1)[1].strip()


def _control(banner: list[str]) -> dict[str, str]:
    """The header that carries the control token the banner printed."""
    return {"X-Emulator-Token": _line(banner, "control token").split()[0]}


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [QBO, "emulator", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )


async def _read_banner(stream: asyncio.StreamReader) -> list[str]:
    lines: list[str] = []
    while True:
        line = (await asyncio.wait_for(stream.readline(), timeout=30)).decode()
        if not line:
            return lines
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl-C"):
            return lines


async def test_emulator_command_serves_until_interrupted() -> None:
    """The command prints its URL, realms and credentials, serves the API (unthrottled with
    --no-throttle), and exits 0 on SIGINT."""
    process = await asyncio.create_subprocess_exec(
        QBO,
        "emulator",
        "--port",
        "0",
        "--seed",
        "4",
        "--realms",
        "2",
        "--client-id",
        "cli-id",
        "--client-secret",
        "cli-secret",
        "--auto-consent",
        "--no-throttle",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(),
    )
    assert process.stdout is not None
    try:
        banner = await _read_banner(process.stdout)
        text = "\n".join(banner)
        base = banner[0].rsplit(" ", 1)[1]
        assert base.startswith("http://127.0.0.1:")
        realms = next(line for line in banner if "realm ids" in line).split(":", 1)[1]
        realm_ids = [r.strip() for r in realms.split(",")]
        assert len(realm_ids) == 2
        assert "cli-id" in text
        assert "cli-secret" in text
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{base}/_emulator/tokens",
                json={"realm_id": realm_ids[1]},
                headers=_control(banner),
            ) as minted:
                token = (await minted.json())["access_token"]
            statuses = []
            for _ in range(15):  # more than the 10 per second a throttled emulator allows
                async with session.get(
                    f"{base}/v3/company/{realm_ids[1]}/companyinfo/{realm_ids[1]}",
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                ) as response:
                    statuses.append(response.status)
                    assert "CompanyInfo" in json.loads(await response.read())
            assert statuses == [200] * 15
    finally:
        process.send_signal(signal.SIGINT)
        status = await asyncio.wait_for(process.wait(), timeout=30)
    assert status == 0


async def test_emulator_command_rejects_bad_arguments() -> None:
    """Nonsense such as zero realms exits 2 with a one-line reason and no traceback."""
    process = await asyncio.create_subprocess_exec(
        QBO,
        "emulator",
        "--realms",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(),
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert b"--realms" in err
    assert b"Traceback" not in err


async def test_emulator_command_honours_the_emulator_settings_from_the_environment() -> None:
    """QBO_EMULATOR__* variables shape what is served: a medium company per realm, two
    realms, throttling off."""
    env = _env(
        QBO_EMULATOR__SIZE="medium", QBO_EMULATOR__REALMS="2", QBO_EMULATOR__THROTTLE="false"
    )
    async with _serving("--port", "0", env=env) as banner:
        assert _line(banner, "company size").startswith("medium")
        assert _line(banner, "throttling") == "off"
        base = banner[0].rsplit(" ", 1)[1]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/_emulator/state", headers=_control(banner)) as answer:
                state = await answer.json()
            realm = state["realms"][0]["realm_id"]
            async with session.post(
                f"{base}/_emulator/tokens", json={"realm_id": realm}, headers=_control(banner)
            ) as minted:
                token = (await minted.json())["access_token"]
            statuses = []
            for _ in range(15):
                async with session.get(
                    f"{base}/v3/company/{realm}/companyinfo/{realm}",
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                ) as response:
                    statuses.append(response.status)
    assert len(state["realms"]) == 2
    assert sum(state["realms"][0]["entities"].values()) > 2000  # small is ~300
    assert statuses == [200] * 15


async def test_emulator_flags_win_over_settings() -> None:
    """A flag overrides the same setting from the environment."""
    env = _env(QBO_EMULATOR__SIZE="medium", QBO_EMULATOR__SEED="5")
    async with _serving("--size", "empty", "--seed", "9", env=env) as banner:
        assert _line(banner, "company size") == "empty (seed 9)"
        assert _line(banner, "throttling") == "on"


def test_a_bad_emulator_setting_is_one_line_and_exit_2() -> None:
    """QBO_EMULATOR__SIZE=huge is refused in one line naming emulator.size, nothing served."""
    result = _run(env=_env(QBO_EMULATOR__SIZE="huge"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "emulator.size" in result.stderr


def test_a_port_above_65535_is_one_line_and_exit_2() -> None:
    """`qbo emulator --port 99999` says what a port is, with no OverflowError traceback."""
    result = _run("--port", "99999", env=_env())
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_address_in_use_is_one_line_and_exit_2() -> None:
    """Binding a port another socket listens on ends in one line and exit 2."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run("--port", str(port), env=_env())
    assert result.returncode == 2
    assert (
        result.stderr
        == f"qbo emulator: cannot listen on 127.0.0.1:{port}: address already in use\n"
    )


def test_an_address_not_on_this_machine_is_one_line_and_exit_2() -> None:
    """A well-formed address that is not local (TEST-NET-3) cannot be bound: one line, exit 2."""
    result = _run("--host", "203.0.113.7", env=_env())
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("qbo emulator: cannot listen on 203.0.113.7:0")


async def test_emulator_command_guards_the_control_api_with_the_printed_token() -> None:
    """The control API answers 401 without the banner's token and 200 with it."""
    async with _serving("--size", "empty", env=_env()) as banner:
        base = banner[0].rsplit(" ", 1)[1]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/_emulator/state") as refused:
                assert refused.status == 401
            async with session.get(f"{base}/_emulator/state", headers=_control(banner)) as ok:
                assert ok.status == 200


async def test_emulator_command_runs_on_a_fake_clock_from_the_now_date() -> None:
    """`--now` anchors the data and starts `--fake-clock`, which only the control API moves;
    both are in the banner."""
    async with _serving(
        "--size", "empty", "--now", "2025-03-04", "--fake-clock", env=_env()
    ) as banner:
        assert _line(banner, "data as of").startswith("2025-03-04 00:00 UTC")
        assert _line(banner, "clock").startswith("fake")
        base = banner[0].rsplit(" ", 1)[1]
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{base}/_emulator/clock/advance", json={"seconds": 90}, headers=_control(banner)
            ) as advanced:
                assert (await advanced.json())["now"] == "2025-03-04T00:01:30+00:00"
            async with session.get(f"{base}/_emulator/state", headers=_control(banner)) as state:
                body = await state.json()
    assert body["anchor"] == "2025-03-04T00:00:00+00:00"
    assert body["now"] == "2025-03-04T00:01:30+00:00"


async def test_emulator_command_sends_webhooks_signed_with_the_environments_verifier() -> None:
    """`--webhook-url` with the verifier in QBO_EMULATOR_WEBHOOK_VERIFIER: a customer
    created over HTTP reaches a loopback receiver as a signed CloudEvent; the banner says
    webhooks are on and neither it nor stderr shows the verifier."""
    verifier = "cli-webhook-verifier-3f9a"
    arrived: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        arrived.put_nowait((request.headers.get("intuit-signature", ""), await request.read()))
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hooks", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hooks"
    process = await asyncio.create_subprocess_exec(
        QBO,
        "emulator",
        "--size",
        "empty",
        "--webhook-url",
        url,
        "--webhook-format",
        "cloudevents",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(QBO_EMULATOR_WEBHOOK_VERIFIER=verifier),
    )
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        banner = await _read_banner(process.stdout)
        assert _line(banner, "webhooks").startswith(f"POST {url} (cloudevents format")
        assert verifier not in "\n".join(banner)
        base = banner[0].rsplit(" ", 1)[1]
        realm = _line(banner, "realm ids").split(",")[0].strip()
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{base}/_emulator/tokens", json={"realm_id": realm}, headers=_control(banner)
            ) as minted:
                token = (await minted.json())["access_token"]
            async with session.post(
                f"{base}/v3/company/{realm}/customer",
                json={"DisplayName": "From the CLI"},
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            ) as created:
                customer_id = (await created.json())["Customer"]["Id"]
        signature, body = await asyncio.wait_for(arrived.get(), timeout=30)
        expected = base64.b64encode(hmac.new(verifier.encode(), body, hashlib.sha256).digest())
        assert signature == expected.decode()
        (event,) = json.loads(body)
        assert (event["type"], event["intuitentityid"]) == ("qbo.customer.created.v1", customer_id)
    finally:
        process.send_signal(signal.SIGINT)
        status = await asyncio.wait_for(process.wait(), timeout=30)
        await runner.cleanup()
    assert status == 0
    rest = await process.stdout.read() + await process.stderr.read()
    assert verifier.encode() not in rest
