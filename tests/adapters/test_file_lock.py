"""`FileLock` against the `Lock` contract, plus real processes sharing it on one host."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from qbo_adapters.file.lock import FileLock
from qbo_adapters.memory.clock import FakeClock, SystemClock
from qbo_adapters.testing.lock import LockContract
from qbo_core.errors import LockTimeoutError, StoreUnavailableError
from qbo_core.ports.lock import Lock


class TestFileLock(LockContract):
    # Real round trips: the state machine runs fewer examples, each with the profile's steps.
    state_machine_examples = 50

    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path

    @contextlib.asynccontextmanager
    async def make_lock(self, clock: FakeClock) -> AsyncIterator[Lock]:
        # The state machine makes many locks from one test: a fresh folder for each.
        yield FileLock(tempfile.mkdtemp(dir=self.directory), clock)


def _read_counter(path: str) -> int:
    return int(Path(path).read_text()) if Path(path).exists() else 0


def _write_text(path: str, text: str) -> None:
    Path(path).write_text(text)


def _corrupt_lease_files(directory: Path) -> None:
    (lease_file,) = directory.glob("*.lease")
    lease_file.write_text("{not json")


def _count_under_lock(directory: str, counter: str, rounds: int) -> None:
    """In a child process: `rounds` times, take the lock and add one to the counter file."""

    async def run() -> None:
        lock = FileLock(directory, SystemClock(), poll_interval=0.005)
        for _ in range(rounds):
            lease = await lock.acquire("realm-1", lease=30, wait=60)
            value = _read_counter(counter)
            await asyncio.sleep(0)  # a gap another holder would fall into
            _write_text(counter, str(value + 1))
            assert await lock.release(lease)

    asyncio.run(run())


def test_processes_on_one_host_hold_the_lock_one_at_a_time(tmp_path: Path) -> None:
    """Four OS processes incrementing one file under the lock lose no increment."""
    context = multiprocessing.get_context("spawn")
    counter = tmp_path / "counter"
    workers = [
        context.Process(target=_count_under_lock, args=(str(tmp_path / "locks"), str(counter), 25))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert counter.read_text() == "100"


def _hold_and_hang(directory: str, ready: str) -> None:
    """In a child process: take a 2-second lease, say so, then hang until killed."""

    async def run() -> None:
        await FileLock(directory, SystemClock()).acquire("realm-1", lease=2, wait=0)
        _write_text(ready, "held")
        await asyncio.sleep(3600)

    asyncio.run(run())


async def test_a_killed_holders_lease_runs_out(tmp_path: Path) -> None:
    """A holder killed with SIGKILL blocks others until its lease ends, and not after."""
    context = multiprocessing.get_context("spawn")
    ready = tmp_path / "ready"
    holder = context.Process(target=_hold_and_hang, args=(str(tmp_path / "locks"), str(ready)))
    holder.start()
    try:
        for _ in range(600):
            if ready.exists():
                break
            await asyncio.sleep(0.05)
        assert holder.pid is not None
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(timeout=10)
        lock = FileLock(tmp_path / "locks", SystemClock(), poll_interval=0.01)
        with pytest.raises(LockTimeoutError):
            await lock.acquire("realm-1", lease=5, wait=0)
        lease = await lock.acquire("realm-1", lease=5, wait=10)
        assert await lock.release(lease) is True
    finally:
        holder.kill()
        holder.join(timeout=10)


async def test_two_adapters_on_one_directory_exclude_each_other(tmp_path: Path) -> None:
    """Two adapters on one directory (two workers) see each other's leases."""
    clock = FakeClock(auto_advance=False)
    first, second = FileLock(tmp_path, clock), FileLock(tmp_path, clock)
    lease = await first.acquire("realm:1/..", lease=10, wait=0)
    with pytest.raises(LockTimeoutError):
        await second.acquire("realm:1/..", lease=10, wait=0)
    assert await second.release(lease) is True


async def test_a_corrupt_lease_file_counts_as_free(tmp_path: Path) -> None:
    """A lease file that cannot be read does not lock a name forever."""
    clock = FakeClock(auto_advance=False)
    lock = FileLock(tmp_path, clock)
    await lock.acquire("realm-1", lease=10, wait=0)
    _corrupt_lease_files(tmp_path)
    await lock.acquire("realm-1", lease=10, wait=0)


async def test_an_unusable_directory_is_store_unavailable(tmp_path: Path) -> None:
    """A lock directory that cannot be created raises `StoreUnavailableError` (backend "file")."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    lock = FileLock(blocker / "locks", FakeClock())
    with pytest.raises(StoreUnavailableError) as caught:
        await lock.acquire("realm-1", lease=10, wait=0)
    assert caught.value.backend == "file"
    assert isinstance(caught.value.__cause__, OSError)
