"""The `TokenStore` port: durable, versioned OAuth tokens per realm."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from qbo_core.dtos import TokenSet, VersionedTokenSet


@runtime_checkable
class TokenStore(Protocol):
    """Holds the current `TokenSet` of each realm, with compare-and-set writes.

    Intuit rotates refresh tokens and may invalidate the old one at once, so a
    writer that saves tokens older than what is stored would cut the connection.
    Every save therefore names the version it replaces; a stale writer gets
    `ConflictError` instead of overwriting a newer rotation.

    Versions are positive integers: the first save makes version 1, and each
    successful save adds one. A deleted realm starts again from "absent".
    """

    async def ping(self) -> None:
        """Return once the backend has answered one round trip; otherwise raise.

        Raises `StoreUnavailableError` when the backend cannot be reached or fails to
        answer (the same translation as every other method). Cheap and free of side
        effects: nothing is read or written beyond what the round trip needs, so a
        readiness probe may call it as often as it likes. An in-process adapter,
        having no backend to reach, returns at once.
        """
        ...

    async def load(self, realm_id: str) -> VersionedTokenSet | None:
        """The stored tokens and their version, or `None` when nothing is stored."""
        ...

    async def save(
        self, realm_id: str, tokens: TokenSet, *, expected_version: int | None
    ) -> VersionedTokenSet:
        """Store `tokens` if the current version is `expected_version`; return what was stored.

        `expected_version=None` means "only if nothing is stored". On success the new
        version is the old one plus one (1 for a first save). Atomic with respect to
        every other caller of the same store, in any process.

        Raises `ConflictError` (with `expected` and `actual`) when the stored version
        differs; nothing is written then.
        """
        ...

    async def delete(self, realm_id: str, *, expected_version: int | None = None) -> bool:
        """Remove the realm's tokens; return whether something was removed.

        With `expected_version`, remove only if that is the stored version, and raise
        `ConflictError` if another is stored. Deleting an absent realm returns `False`.
        """
        ...
