"""`EmulatorProcess`: the emulator's HTTP door in a child process, as Intuit is a remote
server.

Why a process of its own: QBO counts a request against its rate windows when it
arrives. An emulator served on the client's own event loop counts it when that loop
gets round to reading it, which is late by however long the client's own work (decoding
a 1,000-row page, writing it to a mirror) held the loop: 255 ms, measured in `qbo demo
--size medium`. Requests the rate limiter granted 1.1 s apart then reach the emulator
less than 1 s apart, and it answers 429 where Intuit would not have. In a child process
the emulator reads requests as they come, on a core of its own.

    async with EmulatorProcess(EmulatorSettings(size="medium", realms=2)) as remote:
        remote.base_url, remote.realm_ids, remote.control_token
        errors = await remote.internal_errors()

The child is `python -m qbo_adapters.emulator.child` (a plain subprocess: unlike
`multiprocessing`'s spawn, it never re-imports the caller's `__main__`). It reads its
settings from stdin, answers one JSON line on stdout when it serves (or why it could
not), then takes one command per line (`errors`, `stop`). It ignores SIGINT (Ctrl-C in
a terminal reaches the whole process group; the parent decides when the emulator
stops) and exits when its stdin closes, so an interrupted or crashed parent leaves no
emulator behind. A child that cannot start raises `EmulatorStartError` in the parent
with the child's one-line reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import pickle
import secrets
import signal
import sys
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from qbo_adapters.emulator.settings import EmulatorSettings

__all__ = ["EmulatorProcess", "EmulatorStartError"]

#: Seconds the child may take to generate its companies and bind its port.
DEFAULT_START_TIMEOUT = 600.0

#: Seconds the child is given to close its server before it is killed.
STOP_TIMEOUT = 10.0


class EmulatorStartError(RuntimeError):
    """The emulator's child process did not come up; the message says why."""


class EmulatorProcess:
    """`async with`: the emulator served over HTTP from a child process (module docstring).

    After entry: `base_url` (the door, e.g. `http://127.0.0.1:41234`), `control_token`
    (the control API's `X-Emulator-Token`) and `realm_ids`. `internal_errors()` asks the
    child for the emulator's bugs met so far (their one-line descriptions). Exit stops
    the child, and kills it if it has not stopped within `STOP_TIMEOUT` seconds.
    """

    def __init__(
        self,
        settings: EmulatorSettings,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        start_timeout: float = DEFAULT_START_TIMEOUT,
    ) -> None:
        self._settings = settings
        self._host = host
        self._port = port
        self._start_timeout = start_timeout
        self._process: asyncio.subprocess.Process | None = None
        self._ready: dict[str, Any] | None = None

    @property
    def base_url(self) -> str:
        return str(self._started()["base_url"])

    @property
    def control_token(self) -> str:
        return str(self._started()["control_token"])

    @property
    def realm_ids(self) -> tuple[str, ...]:
        return tuple(self._started()["realm_ids"])

    def _started(self) -> dict[str, Any]:
        if self._ready is None:
            raise RuntimeError("the emulator process is not running (use `async with`)")
        return self._ready

    async def internal_errors(self) -> Sequence[str]:
        """The emulator's internal errors so far, newest last (empty: none)."""
        self._started()
        answer = await self._ask("errors")
        return tuple(str(error) for error in answer["errors"])

    async def _ask(self, command: str) -> dict[str, Any]:
        process = self._process
        assert process is not None
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(command.encode() + b"\n")
        await process.stdin.drain()
        line = await process.stdout.readline()
        if not line:
            raise EmulatorStartError("the emulator process exited")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def __aenter__(self) -> EmulatorProcess:
        if self._process is not None:
            raise RuntimeError("an EmulatorProcess is entered once")
        process = self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            __name__,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            payload = pickle.dumps((self._settings, self._host, self._port))
            process.stdin.write(len(payload).to_bytes(8, "big") + payload)
            await process.stdin.drain()
            line = await asyncio.wait_for(process.stdout.readline(), self._start_timeout)
        except BaseException:
            await self._stop()
            raise
        answer = json.loads(line) if line else {"error": "its process exited before it served"}
        if "error" in answer:
            await self._stop()
            raise EmulatorStartError(f"the emulator could not start: {answer['error']}")
        self._ready = answer
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()

    async def _stop(self) -> None:
        process, self._ready = self._process, None
        if process is None or process.returncode is not None:
            return
        assert process.stdin is not None
        with contextlib.suppress(OSError, RuntimeError):
            process.stdin.write(b"stop\n")
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            self._kill(process)
            await process.wait()
        except asyncio.CancelledError:
            self._kill(process)
            raise

    @staticmethod
    def _kill(process: asyncio.subprocess.Process) -> None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()


# The child ------------------------------------------------------------------------------


def _answer(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


async def _serve_child() -> None:
    from qbo_adapters.emulator.app import QBOEmulator
    from qbo_adapters.emulator.server import serve_emulator

    stdin = sys.stdin.buffer
    size = int.from_bytes(stdin.read(8), "big")
    settings, host, port = pickle.loads(stdin.read(size))  # noqa: S301 (our own parent)
    token = secrets.token_urlsafe(32)
    try:
        emulator = QBOEmulator(settings)
        server = await serve_emulator(emulator, host=host, port=port, control_token=token)
    except Exception as exc:  # one line to the parent, then exit
        _answer({"error": f"{type(exc).__name__}: {exc}"})
        return
    loop = asyncio.get_running_loop()
    try:
        _answer(
            {"base_url": server.base_url, "control_token": token, "realm_ids": emulator.realm_ids}
        )
        while True:
            command = (await loop.run_in_executor(None, stdin.readline)).strip()
            if command == b"errors":
                _answer({"errors": [str(error) for error in emulator.internal_errors]})
            else:  # "stop", or EOF: the parent is gone
                return
    finally:
        await server.close()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_serve_child())
