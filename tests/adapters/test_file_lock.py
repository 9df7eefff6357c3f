"""`FileLock` against the `Lock` contract, plus real processes sharing it on one host."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import multiprocessing
import os
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import filelock
import pytest

from qbo_adapters.file.lock import FileLock
from qbo_adapters.memory.clock import FakeClock, SystemClock
from qbo_adapters.testing.lock import LockContract
from qbo_core.errors import LockTimeoutError, StoreUnavailableError
from qbo_core.ports.lock import Lease, Lock


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


# -- the adapter's own promises, on the fake clock --------------------------------------


def _stem(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


def _names_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


async def _until_asleep_or_done(clock: FakeClock, task: asyncio.Task[object]) -> None:
    """Let `task` run (its file work is in a thread) until it sleeps on `clock` or ends."""
    while clock.pending_sleepers == 0:
        if task.done():
            return
        await asyncio.sleep(0)


def test_poll_interval_must_be_a_positive_finite_number(tmp_path: Path) -> None:
    """A zero, negative, NaN or infinite `poll_interval` is refused, naming the value."""
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match=r"^poll_interval must be positive seconds, got "):
            FileLock(tmp_path, FakeClock(), poll_interval=bad)
    with pytest.raises(ValueError, match=r", got -1\.5$"):
        FileLock(tmp_path, FakeClock(), poll_interval=-1.5)
    FileLock(tmp_path, FakeClock(), poll_interval=1e-9)


async def test_invalid_durations_name_the_argument_and_value(tmp_path: Path) -> None:
    """`lease`, `wait` and `lease_seconds` errors say which argument and what was given."""
    lock = FileLock(tmp_path, FakeClock())
    with pytest.raises(ValueError, match=r"^lease must be a positive number of seconds, got 0$"):
        await lock.acquire("realm-1", lease=0, wait=0)
    with pytest.raises(ValueError, match=r"^wait must be zero or positive, got -2$"):
        await lock.acquire("realm-1", lease=10, wait=-2)
    lease = await lock.acquire("realm-1", lease=10, wait=0)
    with pytest.raises(
        ValueError, match=r"^lease_seconds must be a positive number of seconds, got inf$"
    ):
        await lock.extend(lease, lease_seconds=math.inf)


def test_repr_names_the_directory(tmp_path: Path) -> None:
    """The adapter shows which directory it keeps its lock files in."""
    assert repr(FileLock(tmp_path / "locks", FakeClock())) == (
        f"FileLock(directory={str(tmp_path / 'locks')!r})"
    )


async def test_ping_of_a_missing_directory_names_it_and_creates_nothing(tmp_path: Path) -> None:
    """`ping` on a missing directory raises `StoreUnavailableError` naming it, making nothing."""
    missing = tmp_path / "locks"
    with pytest.raises(StoreUnavailableError) as caught:
        await FileLock(missing, FakeClock()).ping()
    assert str(caught.value) == (
        f"lock directory {str(missing)!r} is missing, not a directory, or not writable"
    )
    assert caught.value.backend == "file"
    assert not missing.exists()


async def test_ping_of_a_file_in_place_of_the_directory_fails(tmp_path: Path) -> None:
    """`ping` on a path that is a file (even an executable one), or below one, raises
    `StoreUnavailableError`."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    blocker.chmod(0o755)
    for path in (blocker, blocker / "locks"):
        with pytest.raises(StoreUnavailableError):
            await FileLock(path, FakeClock()).ping()


async def test_ping_of_a_path_the_os_refuses_fails(tmp_path: Path) -> None:
    """`ping` on a path the OS cannot look up (a name over 255 bytes) raises
    `StoreUnavailableError` rather than the `OSError`."""
    with pytest.raises(StoreUnavailableError):
        await FileLock(tmp_path / ("x" * 300), FakeClock()).ping()


@pytest.mark.parametrize("denied", [os.W_OK, os.X_OK], ids=["no write", "no search"])
async def test_ping_of_a_directory_it_may_not_make_files_in_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, denied: int
) -> None:
    """Making a file in a directory takes both write and search (x) permission: `ping`
    raises when the OS refuses either. The tests run as root, whom the OS never refuses,
    so `os.access` answers as it would for another user on a 0o555 or 0o666 directory."""
    real_access = os.access

    def access(path: Any, mode: int, **options: Any) -> bool:
        return False if mode & denied else real_access(path, mode, **options)

    monkeypatch.setattr(os, "access", access)
    with pytest.raises(StoreUnavailableError):
        await FileLock(tmp_path, FakeClock()).ping()


async def test_ping_of_an_existing_directory_passes(tmp_path: Path) -> None:
    """`ping` returns on a directory that exists and may be written, and leaves it empty."""
    await FileLock(tmp_path, FakeClock()).ping()
    assert _names_in(tmp_path) == []


async def test_lease_file_holds_the_token_and_expiry_under_the_names_hash(tmp_path: Path) -> None:
    """The lease lives in `<sha256 of name>.lease` as JSON token and `expires_at`, beside
    its `.lock` file, in a directory made on first use; release removes the lease file."""
    directory = tmp_path / "made" / "on-use"
    lock = FileLock(directory, FakeClock())
    lease = await lock.acquire("realm:1/..", lease=10, wait=0)
    stem = _stem("realm:1/..")
    assert _names_in(directory) == [f"{stem}.lease", f"{stem}.lock"]
    assert json.loads((directory / f"{stem}.lease").read_text(encoding="utf-8")) == {
        "token": lease.token,
        "expires_at": lease.expires_at,
    }
    assert len(lease.token) == 32
    assert await lock.release(lease) is True
    assert not (directory / f"{stem}.lease").exists()


async def test_extend_rewrites_the_lease_file(tmp_path: Path) -> None:
    """An extended lease's new expiry is what the lease file holds, for other processes."""
    clock = FakeClock()
    lock = FileLock(tmp_path, clock)
    lease = await lock.acquire("realm-1", lease=10, wait=0)
    await clock.sleep(4)
    extended = await lock.extend(lease, lease_seconds=30)
    assert extended.expires_at == clock.now().timestamp() + 30
    assert json.loads((tmp_path / f"{_stem('realm-1')}.lease").read_text()) == {
        "token": lease.token,
        "expires_at": extended.expires_at,
    }


async def test_a_name_that_is_not_valid_unicode_still_locks(tmp_path: Path) -> None:
    """A name with a lone surrogate is hashed as is (surrogatepass), not refused."""
    lock = FileLock(tmp_path, FakeClock())
    name = "realm-\ud800"
    lease = await lock.acquire(name, lease=10, wait=0)
    assert (tmp_path / f"{_stem(name)}.lease").exists()
    assert await lock.release(lease) is True


async def test_a_stale_lease_file_from_a_dead_holder_is_taken_over(tmp_path: Path) -> None:
    """A lease file whose `expires_at` is now or past is free: a new holder replaces it."""
    clock = FakeClock()
    now = clock.now().timestamp()
    lease_file = tmp_path / f"{_stem('realm-1')}.lease"
    lease_file.write_text(json.dumps({"token": "dead", "expires_at": now}))
    lock = FileLock(tmp_path, clock)
    lease = await lock.acquire("realm-1", lease=10, wait=0)
    assert json.loads(lease_file.read_text())["token"] == lease.token
    lease_file.write_text(json.dumps({"token": "alive", "expires_at": now + 0.5}))
    with pytest.raises(LockTimeoutError):
        await lock.acquire("realm-1", lease=10, wait=0)


async def test_a_live_lease_of_another_holder_is_not_released_or_extended(tmp_path: Path) -> None:
    """Releasing or extending a lease whose token is not the file's changes nothing."""
    clock = FakeClock()
    lock = FileLock(tmp_path, clock)
    lease = await lock.acquire("realm-1", lease=10, wait=0)
    lease_file = tmp_path / f"{_stem('realm-1')}.lease"
    before = lease_file.read_text()
    impostor = Lease(name="realm-1", token="0" * 32, expires_at=lease.expires_at)
    assert await lock.release(impostor) is False
    with pytest.raises(LockTimeoutError):
        await lock.extend(impostor, lease_seconds=30)
    assert lease_file.read_text() == before


async def test_release_of_a_lock_never_taken_returns_false(tmp_path: Path) -> None:
    """Releasing a lease on a name that has no lease file returns `False`."""
    lock = FileLock(tmp_path, FakeClock())
    never = Lease(name="realm-1", token="0" * 32, expires_at=1e12)
    assert await lock.release(never) is False


async def test_extend_of_a_lost_lease_names_the_lock(tmp_path: Path) -> None:
    """Extending an expired lease raises `LockTimeoutError` naming it, having waited 0."""
    clock = FakeClock()
    lock = FileLock(tmp_path, clock)
    lease = await lock.acquire("realm-1", lease=10, wait=0)
    await clock.sleep(10)
    with pytest.raises(
        LockTimeoutError, match=r"^lease on lock 'realm-1' was lost before it could be extended$"
    ) as caught:
        await lock.extend(lease, lease_seconds=10)
    assert caught.value.name == "realm-1"
    assert caught.value.waited == 0.0


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b'{"token": "t"}',
        b'["t", 1e12]',
        b'{"token": "t", "expires_at": "later"}',
        b'{"token": "t", "expires_at": null}',
        b"\xff\xfe",
    ],
)
async def test_an_unreadable_lease_file_counts_as_no_lease(tmp_path: Path, content: bytes) -> None:
    """Bad JSON, a missing or mistyped field, or bytes not UTF-8: the name is free."""
    (tmp_path / f"{_stem('realm-1')}.lease").write_bytes(content)
    lock = FileLock(tmp_path, FakeClock())
    lease = await lock.acquire("realm-1", lease=10, wait=0)
    assert await lock.release(lease) is True


async def test_a_waiter_wakes_at_the_holders_expiry(tmp_path: Path) -> None:
    """A waiter whose poll interval is longer than the lease left takes it at its expiry."""
    clock = FakeClock()
    lock = FileLock(tmp_path, clock, poll_interval=100)
    await lock.acquire("realm-1", lease=10, wait=0)
    start = clock.monotonic()
    lease = await lock.acquire("realm-1", lease=5, wait=30)
    assert clock.monotonic() - start == 10
    assert lease.expires_at == clock.now().timestamp() + 5


@pytest.mark.parametrize(("poll_interval", "given"), [(2.0, True), (0.05, False)])
async def test_a_waiter_polls_every_poll_interval(
    tmp_path: Path, poll_interval: float, given: bool
) -> None:
    """A waiter looks again after `poll_interval` seconds (0.05 by default) and takes a
    lock freed meanwhile."""
    clock = FakeClock(auto_advance=False)
    if given:
        lock = FileLock(tmp_path, clock, poll_interval=poll_interval)
    else:
        lock = FileLock(tmp_path, clock)
    held = await lock.acquire("realm-1", lease=60, wait=0)
    waiter = asyncio.get_running_loop().create_task(lock.acquire("realm-1", lease=5, wait=30))
    await _until_asleep_or_done(clock, waiter)
    assert await lock.release(held) is True
    clock.advance(poll_interval * 0.75)
    await _until_asleep_or_done(clock, waiter)
    assert not waiter.done()
    clock.advance(poll_interval * 0.25)
    await _until_asleep_or_done(clock, waiter)
    taken = waiter.done()
    waiter.cancel()  # a waiter still asleep would otherwise outlive the test
    assert taken
    assert waiter.result().token != held.token


async def test_a_waiter_gives_up_at_exactly_its_wait(tmp_path: Path) -> None:
    """Polls never overshoot the wait; the error names the lock and the seconds waited."""
    clock = FakeClock()
    lock = FileLock(tmp_path, clock, poll_interval=4)
    await lock.acquire("realm-1", lease=60, wait=0)
    start = clock.monotonic()
    with pytest.raises(
        LockTimeoutError, match=r"^lock 'realm-1' still held after waiting 10s$"
    ) as caught:
        await lock.acquire("realm-1", lease=5, wait=10)
    assert caught.value.waited == 10
    assert caught.value.name == "realm-1"
    assert clock.monotonic() - start == 10


async def test_a_cancelled_acquire_gives_back_a_lock_it_took(tmp_path: Path) -> None:
    """Cancelled while its file work runs, `acquire` releases what that work took."""
    lock = FileLock(tmp_path, FakeClock())
    attempt = asyncio.get_running_loop().create_task(lock.acquire("realm-1", lease=60, wait=0))
    await asyncio.sleep(0)  # into the worker thread
    attempt.cancel()
    with pytest.raises(asyncio.CancelledError):
        await attempt
    assert not (tmp_path / f"{_stem('realm-1')}.lease").exists()
    await lock.acquire("realm-1", lease=60, wait=0)


async def test_a_busy_os_lock_is_store_unavailable(tmp_path: Path) -> None:
    """An OS lock held elsewhere past `os_lock_timeout` raises `StoreUnavailableError`."""
    lock = FileLock(tmp_path, FakeClock(), os_lock_timeout=0.01)
    with (
        filelock.FileLock(tmp_path / f"{_stem('realm-1')}.lock"),
        pytest.raises(
            StoreUnavailableError, match=r"^lock file for 'realm-1' stayed busy for 0\.01s$"
        ) as caught,
    ):
        await lock.acquire("realm-1", lease=10, wait=0)
    assert caught.value.backend == "file"
    assert isinstance(caught.value.__cause__, filelock.Timeout)


async def test_an_unusable_directory_names_the_os_error(tmp_path: Path) -> None:
    """The error for a directory that cannot be made says which OS error stopped it."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(
        StoreUnavailableError, match=r"^lock directory unusable: NotADirectoryError$"
    ):
        await FileLock(blocker / "locks", FakeClock()).acquire("realm-1", lease=10, wait=0)


async def test_a_failed_write_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lease write that fails at the rename removes its temporary file and leaves the
    old lease; the temporary file is a hidden one beside the lease file (same filesystem)."""
    renames: list[tuple[Path, Path]] = []

    def failing_replace(source: str, target: str | os.PathLike[str]) -> None:
        renames.append((Path(source), Path(target)))
        raise OSError(28, "No space left on device")

    lock = FileLock(tmp_path, FakeClock())
    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(StoreUnavailableError, match=r"^lock directory unusable: OSError$"):
        await lock.acquire("realm-1", lease=10, wait=0)
    ((source, target),) = renames
    assert source.parent == tmp_path
    assert source.name.startswith(".lease-")
    assert target == tmp_path / f"{_stem('realm-1')}.lease"
    assert _names_in(tmp_path) == [f"{_stem('realm-1')}.lock"]


async def test_a_failed_cleanup_keeps_the_write_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the temporary file cannot be removed either, the error raised is still the
    write's own (an `OSError` from the rename), not the cleanup's."""

    def failing_replace(source: str, target: str | os.PathLike[str]) -> None:
        raise OSError(28, "No space left on device")

    def failing_unlink(path: str | os.PathLike[str]) -> None:
        raise PermissionError(13, "Permission denied")

    lock = FileLock(tmp_path, FakeClock())
    monkeypatch.setattr(os, "replace", failing_replace)
    monkeypatch.setattr(os, "unlink", failing_unlink)
    with pytest.raises(StoreUnavailableError, match=r"^lock directory unusable: OSError$"):
        await lock.acquire("realm-1", lease=10, wait=0)


async def test_the_os_lock_waits_ten_seconds_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unless told otherwise, a busy OS lock is waited for 10 seconds before giving up."""
    timeouts: list[float] = []
    real = filelock.FileLock

    def recording(path: Path, *, timeout: float) -> filelock.BaseFileLock:
        timeouts.append(timeout)
        return real(path, timeout=timeout)

    monkeypatch.setattr(filelock, "FileLock", recording)
    await FileLock(tmp_path, FakeClock()).acquire("realm-1", lease=10, wait=0)
    assert timeouts == [10.0]


async def test_a_cancelled_acquire_whose_file_work_failed_is_still_cancelled(
    tmp_path: Path,
) -> None:
    """Cancelled while its file work runs into an OS error, `acquire` raises the
    cancellation, not that error: the caller who left asked for nothing more."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    lock = FileLock(blocker / "locks", FakeClock())
    attempt = asyncio.get_running_loop().create_task(lock.acquire("realm-1", lease=60, wait=0))
    await asyncio.sleep(0)  # into the worker thread
    attempt.cancel()
    with pytest.raises(asyncio.CancelledError):
        await attempt
