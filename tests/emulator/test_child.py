"""`EmulatorProcess`: the HTTP door served from a child process (`emulator/child.py`)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket

import aiohttp
import pytest

from qbo_adapters.emulator.child import EmulatorProcess, EmulatorStartError
from qbo_adapters.emulator.settings import EmulatorSettings


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_it_serves_the_emulator_over_http_from_another_process() -> None:
    """Entered, the child serves the companies it generated: the realm ids it reports are
    the ones its control API lists, its control token opens that API, and the process is
    not this one; on exit the child is gone."""
    settings = EmulatorSettings(size="small", realms=2, seed=3)
    async with EmulatorProcess(settings) as remote:
        assert remote.base_url.startswith("http://127.0.0.1:")
        assert len(remote.realm_ids) == 2
        process = remote._process
        assert process is not None
        assert process.pid != os.getpid()
        async with aiohttp.ClientSession() as session:
            async with session.get(
                f"{remote.base_url}/_emulator/state",
                headers={"X-Emulator-Token": remote.control_token},
            ) as response:
                assert response.status == 200
                state = await response.json()
            async with session.get(f"{remote.base_url}/_emulator/state") as refused:
                assert refused.status in (401, 403)
        assert sorted(realm["realm_id"] for realm in state["realms"]) == sorted(remote.realm_ids)
        assert await remote.internal_errors() == ()
        pid = process.pid
    assert process.returncode is not None
    assert not _alive(pid)
    with pytest.raises(RuntimeError, match="not running"):
        _ = remote.base_url


async def test_a_child_that_cannot_start_raises_with_its_reason() -> None:
    """A port already taken: `EmulatorStartError` naming the child's error, no child left."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = EmulatorProcess(EmulatorSettings(size="empty"), port=port)
        with pytest.raises(EmulatorStartError, match="could not start: OSError"):
            await process.__aenter__()
    assert process._process is not None
    assert process._process.returncode is not None


async def test_the_child_ignores_sigint_and_exits_when_its_parent_goes() -> None:
    """Ctrl-C reaches the whole process group; the child leaves stopping to the parent.
    When the parent's end of its stdin closes (the parent died), the child exits."""
    async with EmulatorProcess(EmulatorSettings(size="empty")) as remote:
        process = remote._process
        assert process is not None
        process.send_signal(signal.SIGINT)
        assert await remote.internal_errors() == ()  # a round trip after the signal
        assert process.returncode is None
        assert process.stdin is not None
        process.stdin.close()  # as if the parent had died
        await asyncio.wait_for(process.wait(), 10)
        assert process.returncode == 0


async def test_it_is_entered_once() -> None:
    """A second `async with` on one instance is refused."""
    remote = EmulatorProcess(EmulatorSettings(size="empty"))
    async with remote:
        with pytest.raises(RuntimeError, match="entered once"):
            await remote.__aenter__()
