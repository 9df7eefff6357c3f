"""`FileLock`: the `Lock` port for the processes of one host, on lock files in a directory."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import filelock

from qbo_core.errors import LockTimeoutError, StoreUnavailableError
from qbo_core.ports.clock import Clock
from qbo_core.ports.lock import Lease

__all__ = ["FileLock"]


class FileLock:
    """Leases kept in small files under `directory`, each change made under an OS file lock.

    For every name there are two files, named by the SHA-256 of the name (any text is
    a safe name): `<hash>.lock`, which `filelock` locks only for the few milliseconds
    a read-decide-write takes, and `<hash>.lease`, which holds the current holder's
    token and `expires_at`. The lease, not the OS lock, is what is held: a holder
    whose process dies keeps it until `expires_at` and no longer, and a process that
    dies inside a read-decide-write drops the OS lock with it (the kernel releases
    it), while the lease file is only ever replaced whole (write, then rename).

    Expiry follows the ports' time rule: the `expires_at` written is
    `clock.now().timestamp() + lease`, compared with the caller's wall time, so every
    process on the host agrees. A waiting `acquire` polls every `poll_interval`
    seconds (on the clock) or at the holder's expiry if that comes sooner; a
    cancelled `acquire` that had already taken the lock gives it back.

    File work runs in a worker thread, off the event loop. A directory that cannot be
    created or written, or an OS lock still busy after `os_lock_timeout` seconds,
    raises `StoreUnavailableError`. An unreadable lease file counts as no lease.
    `ping` checks that the directory exists and is writable, creating nothing.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        clock: Clock,
        *,
        poll_interval: float = 0.05,
        os_lock_timeout: float = 10.0,
    ) -> None:
        if not (poll_interval > 0 and math.isfinite(poll_interval)):
            raise ValueError(f"poll_interval must be positive seconds, got {poll_interval!r}")
        self._directory = Path(directory)
        self._clock = clock
        self._poll_interval = poll_interval
        self._os_lock_timeout = os_lock_timeout

    async def ping(self) -> None:
        # Whether the directory exists and this process may create files in it: a look at
        # its metadata, with nothing created (not even the directory, which `acquire` makes).
        if not await asyncio.to_thread(self._usable):
            raise StoreUnavailableError(
                f"lock directory {str(self._directory)!r} is missing, not a directory, or "
                "not writable",
                backend="file",
            )

    async def acquire(self, name: str, *, lease: float, wait: float) -> Lease:
        _check_lease(lease, "lease")
        if not wait >= 0:  # also refuses NaN
            raise ValueError(f"wait must be zero or positive, got {wait!r}")
        started = self._clock.monotonic()
        deadline = started + wait
        while True:
            taken, held_until, now = await self._try_acquire(name, lease)
            if taken is not None:
                return taken
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                waited = self._clock.monotonic() - started
                raise LockTimeoutError(
                    f"lock {name!r} still held after waiting {waited:g}s", name=name, waited=waited
                )
            await self._clock.sleep(min(remaining, held_until - now, self._poll_interval))

    async def release(self, lease: Lease) -> bool:
        return await asyncio.to_thread(self._release_sync, lease)

    async def extend(self, lease: Lease, *, lease_seconds: float) -> Lease:
        _check_lease(lease_seconds, "lease_seconds")
        extended = await asyncio.to_thread(self._extend_sync, lease, lease_seconds)
        if extended is None:
            raise LockTimeoutError(
                f"lease on lock {lease.name!r} was lost before it could be extended",
                name=lease.name,
                waited=0.0,
            )
        return extended

    def __repr__(self) -> str:
        return f"FileLock(directory={str(self._directory)!r})"

    # -- internals ----------------------------------------------------------------

    async def _try_acquire(self, name: str, lease: float) -> tuple[Lease | None, float, float]:
        """(the new lease, 0, now) when taken, else (None, the holder's `expires_at`, now)."""
        call = asyncio.ensure_future(asyncio.to_thread(self._acquire_sync, name, lease))
        try:
            return await asyncio.shield(call)
        except asyncio.CancelledError:
            # The thread runs on: give back a lock it took for a caller who left.
            with contextlib.suppress(Exception):  # already leaving
                taken = (await call)[0]
                if taken is not None:
                    await self.release(taken)
            raise

    def _usable(self) -> bool:
        """Whether the directory exists and files can be made in it (in a worker thread)."""
        try:
            return self._directory.is_dir() and os.access(self._directory, os.W_OK | os.X_OK)
        except OSError:
            return False

    # Each of these runs in a worker thread and reads the clock under the OS lock, so
    # that the time it judges by is never older than the last change it can see.

    def _acquire_sync(self, name: str, lease: float) -> tuple[Lease | None, float, float]:
        with self._locked(name) as lease_file:
            now = self._clock.now().timestamp()
            held = _read(lease_file)
            if held is not None and held[1] > now:
                return None, held[1], now
            taken = Lease(name=name, token=secrets.token_hex(16), expires_at=now + lease)
            _write(lease_file, taken.token, taken.expires_at)
            return taken, 0.0, now

    def _release_sync(self, lease: Lease) -> bool:
        with self._locked(lease.name) as lease_file:
            held = _read(lease_file)
            if not _is_live(held, lease.token, self._clock.now().timestamp()):
                return False
            lease_file.unlink()
            return True

    def _extend_sync(self, lease: Lease, lease_seconds: float) -> Lease | None:
        with self._locked(lease.name) as lease_file:
            now = self._clock.now().timestamp()
            if not _is_live(_read(lease_file), lease.token, now):
                return None
            extended = Lease(name=lease.name, token=lease.token, expires_at=now + lease_seconds)
            _write(lease_file, extended.token, extended.expires_at)
            return extended

    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[Path]:
        """Hold the OS lock of `name`; yield its lease file. OS failures become ours."""
        stem = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            with filelock.FileLock(self._directory / f"{stem}.lock", timeout=self._os_lock_timeout):
                yield self._directory / f"{stem}.lease"
        except filelock.Timeout as exc:
            raise StoreUnavailableError(
                f"lock file for {name!r} stayed busy for {self._os_lock_timeout:g}s", backend="file"
            ) from exc
        except OSError as exc:
            raise StoreUnavailableError(
                f"lock directory unusable: {type(exc).__name__}", backend="file"
            ) from exc


def _read(lease_file: Path) -> tuple[str, float] | None:
    """The (token, expires_at) in `lease_file`, or `None` if absent or unreadable."""
    try:
        data = json.loads(lease_file.read_text(encoding="utf-8"))
        return str(data["token"]), float(data["expires_at"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return None


def _is_live(held: tuple[str, float] | None, token: str, now: float) -> bool:
    return held is not None and held[0] == token and held[1] > now


def _write(lease_file: Path, token: str, expires_at: float) -> None:
    """Replace `lease_file` whole: a crash leaves the old lease or the new, never half."""
    fd, temporary = tempfile.mkstemp(dir=lease_file.parent, prefix=".lease-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"token": token, "expires_at": expires_at}, handle)
        os.replace(temporary, lease_file)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _check_lease(seconds: float, what: str) -> None:
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"{what} must be a positive number of seconds, got {seconds!r}")
