"""`MemoryTokenStore`: the TokenStore contract, plus what is specific to memory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.token_store import MemoryTokenStore
from qbo_adapters.testing.token_store import TokenStoreContract
from qbo_core.dtos import TokenSet
from qbo_core.errors import ConflictError
from qbo_core.ports.token_store import TokenStore


class TestMemoryTokenStore(TokenStoreContract):
    """The contract against a fresh in-memory store."""

    @contextlib.asynccontextmanager
    async def make_token_store(self, clock: FakeClock) -> AsyncIterator[TokenStore]:
        yield MemoryTokenStore()


def _tokens(label: str) -> TokenSet:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return TokenSet(
        access_token=f"access-secret-{label}",
        refresh_token=f"refresh-secret-{label}",
        access_token_expires_at=start + timedelta(hours=1),
        refresh_token_expires_at=start + timedelta(days=100),
    )


async def test_conflict_names_the_realm_and_never_a_token() -> None:
    """A ConflictError carries the realm id, and neither its text nor its repr holds a token."""
    store = MemoryTokenStore()
    await store.save("9130350000000001", _tokens("kept"), expected_version=None)
    with pytest.raises(ConflictError) as caught:
        await store.save("9130350000000001", _tokens("lost"), expected_version=None)
    assert caught.value.realm_id == "9130350000000001"
    shown = str(caught.value) + repr(caught.value)
    assert "9130350000000001" in shown
    assert "secret" not in shown


async def test_stores_are_independent() -> None:
    """Two MemoryTokenStore instances never share tokens."""
    first, second = MemoryTokenStore(), MemoryTokenStore()
    await first.save("r1", _tokens("a"), expected_version=None)
    assert await second.load("r1") is None


async def test_repr_counts_realms_without_tokens() -> None:
    """The store's repr says how many realms it holds and shows no token."""
    store = MemoryTokenStore()
    await store.save("r1", _tokens("a"), expected_version=None)
    await store.save("r2", _tokens("b"), expected_version=None)
    assert repr(store) == "MemoryTokenStore(realms=2)"


async def test_save_conflict_says_what_it_expected_and_found() -> None:
    """A lost save names the operation, the expected and the stored version, and the realm."""
    store = MemoryTokenStore()
    await store.save("9130350000000001", _tokens("kept"), expected_version=None)
    with pytest.raises(ConflictError) as caught:
        await store.save("9130350000000001", _tokens("lost"), expected_version=None)
    assert (caught.value.expected, caught.value.actual) == (None, 1)
    assert str(caught.value) == (
        "token save expected version None, but the store holds 1 [realm=9130350000000001]"
    )


async def test_delete_conflict_names_the_realm_and_the_versions() -> None:
    """A delete at a stale version keeps the tokens and raises a conflict naming the realm."""
    store = MemoryTokenStore()
    await store.save("9130350000000001", _tokens("a"), expected_version=None)
    await store.save("9130350000000001", _tokens("b"), expected_version=1)
    with pytest.raises(ConflictError) as caught:
        await store.delete("9130350000000001", expected_version=1)
    assert caught.value.realm_id == "9130350000000001"
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert str(caught.value) == (
        "token delete expected version 1, but the store holds 2 [realm=9130350000000001]"
    )
    stored = await store.load("9130350000000001")
    assert stored is not None
    assert stored.version == 2
