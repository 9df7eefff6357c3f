"""`qbo emulator`: a real process serving the emulator over HTTP until interrupted."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import aiohttp

QBO = str(Path(sys.executable).with_name("qbo"))


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
                f"{base}/_emulator/tokens", json={"realm_id": realm_ids[1]}
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
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert b"--realms" in err
    assert b"Traceback" not in err
