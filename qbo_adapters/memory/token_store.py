"""`MemoryTokenStore`: the `TokenStore` port in one process's memory."""

from __future__ import annotations

from qbo_core.dtos import TokenSet, VersionedTokenSet
from qbo_core.errors import ConflictError

__all__ = ["MemoryTokenStore"]


class MemoryTokenStore:
    """Versioned tokens per realm in a dict, with compare-and-set writes.

    Every method checks and writes without awaiting in between, so the
    compare-and-set is atomic among all tasks of one event loop. It is not shared
    between processes and forgets everything when the process ends: use it for
    tests, demos and single-process hosts that re-authorize on restart.
    """

    def __init__(self) -> None:
        self._stored: dict[str, VersionedTokenSet] = {}

    async def ping(self) -> None:
        return None  # the tokens live in this process: nothing to reach

    async def load(self, realm_id: str) -> VersionedTokenSet | None:
        return self._stored.get(realm_id)

    async def save(
        self, realm_id: str, tokens: TokenSet, *, expected_version: int | None
    ) -> VersionedTokenSet:
        current = self._stored.get(realm_id)
        actual = current.version if current is not None else None
        if actual != expected_version:
            raise _conflict("save", realm_id, expected_version, actual)
        saved = VersionedTokenSet(tokens=tokens, version=(actual or 0) + 1)
        self._stored[realm_id] = saved
        return saved

    async def delete(self, realm_id: str, *, expected_version: int | None = None) -> bool:
        current = self._stored.get(realm_id)
        if current is None:
            return False
        if expected_version is not None and current.version != expected_version:
            raise _conflict("delete", realm_id, expected_version, current.version)
        del self._stored[realm_id]
        return True

    def __repr__(self) -> str:
        return f"MemoryTokenStore(realms={len(self._stored)})"


def _conflict(
    operation: str, realm_id: str, expected: int | None, actual: int | None
) -> ConflictError:
    return ConflictError(
        f"token {operation} expected version {expected}, but the store holds {actual}",
        expected=expected,
        actual=actual,
        realm_id=realm_id,
    )
