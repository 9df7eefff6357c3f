"""`EncryptedTokenStore`: the TokenStore contract around memory and SQLite, plus what
encryption adds: ciphertext at rest, key rotation, and a wrong key that changes nothing."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from qbo_adapters.crypto.token_store import EncryptedTokenStore
from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.token_store import MemoryTokenStore
from qbo_adapters.sql.token_store import SqlTokenStore
from qbo_adapters.testing.token_store import TokenStoreContract
from qbo_core.dtos import TokenSet, VersionedTokenSet
from qbo_core.errors import ConfigurationError, ConflictError, EncryptionKeyError
from qbo_core.ports.token_store import TokenStore
from tests.adapters.sql_databases import disposing, sqlite_engine, sqlite_file

KEY_A = EncryptedTokenStore.generate_key()
KEY_B = EncryptedTokenStore.generate_key()


class TestEncryptedMemoryTokenStore(TokenStoreContract):
    """The contract through encryption, around a fresh in-memory store."""

    @contextlib.asynccontextmanager
    async def make_token_store(self, clock: FakeClock) -> AsyncIterator[TokenStore]:
        yield EncryptedTokenStore(MemoryTokenStore(), keys=[KEY_A])


class TestEncryptedSqliteTokenStore(TokenStoreContract):
    """The contract through encryption, around a fresh SQLite store (two keys, rotated)."""

    # Real round trips: the state machine runs fewer examples, each with the profile's steps.
    state_machine_examples = 50

    @contextlib.asynccontextmanager
    async def make_token_store(self, clock: FakeClock) -> AsyncIterator[TokenStore]:
        async with sqlite_file() as path:
            engine = sqlite_engine(path)
            async with disposing(engine):
                yield EncryptedTokenStore(SqlTokenStore(engine), keys=[KEY_B, KEY_A])


def _tokens(label: str) -> TokenSet:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return TokenSet(
        access_token=f"access-secret-{label}",
        refresh_token=f"refresh-secret-{label}",
        access_token_expires_at=start + timedelta(hours=1),
        refresh_token_expires_at=start + timedelta(days=100),
        scope="com.intuit.quickbooks.accounting",
    )


def _all_bytes_under(directory: Path) -> bytes:
    """Every file's bytes in `directory`, joined (the database and any journal)."""
    return b"".join(file.read_bytes() for file in sorted(directory.iterdir()))


# -- ciphertext at rest --------------------------------------------------------------------


async def test_the_inner_store_holds_no_token() -> None:
    """What reaches the inner store has neither token in it; the rest stays readable."""
    inner = MemoryTokenStore()
    tokens = _tokens("at-rest")
    await EncryptedTokenStore(inner, keys=[KEY_A]).save("r1", tokens, expected_version=None)
    stored = await inner.load("r1")
    assert stored is not None
    for secret in (tokens.access_token, tokens.refresh_token, "secret"):
        assert secret not in stored.tokens.access_token
        assert secret not in stored.tokens.refresh_token
    assert stored.tokens.scope == tokens.scope
    assert stored.tokens.access_token_expires_at == tokens.access_token_expires_at


async def test_the_sqlite_file_holds_no_token(tmp_path: Path) -> None:
    """The bytes of the SQLite file (and its journal) never contain a token."""
    path = tmp_path / "tokens.sqlite3"
    engine = sqlite_engine(path)
    async with disposing(engine):
        store = EncryptedTokenStore(SqlTokenStore(engine), keys=[KEY_A])
        saved = await store.save("r1", _tokens("one"), expected_version=None)
        await store.save("r1", _tokens("two"), expected_version=saved.version)
    on_disk = _all_bytes_under(tmp_path)
    assert b"secret" not in on_disk
    assert b"com.intuit.quickbooks.accounting" in on_disk  # the file was read, not empty


# -- key rotation --------------------------------------------------------------------------


async def test_keys_rotate_newest_first() -> None:
    """Tokens written with key A load with [B, A]; a save then re-encrypts with B, which
    [B] alone reads and [A] alone does not."""
    inner = MemoryTokenStore()
    first = await EncryptedTokenStore(inner, keys=[KEY_A]).save(
        "r1", _tokens("a"), expected_version=None
    )
    rotated = EncryptedTokenStore(inner, keys=[KEY_B, KEY_A])
    assert await rotated.load("r1") == first
    second = await rotated.save("r1", _tokens("b"), expected_version=first.version)
    assert await EncryptedTokenStore(inner, keys=[KEY_B]).load("r1") == second
    with pytest.raises(EncryptionKeyError):
        await EncryptedTokenStore(inner, keys=[KEY_A]).load("r1")


# -- a wrong key changes nothing -----------------------------------------------------------


@pytest.fixture
async def written_with_a() -> tuple[MemoryTokenStore, VersionedTokenSet]:
    """An inner store holding realm r1's tokens (version 2) encrypted with key A."""
    inner = MemoryTokenStore()
    store = EncryptedTokenStore(inner, keys=[KEY_A])
    first = await store.save("r1", _tokens("a1"), expected_version=None)
    await store.save("r1", _tokens("a2"), expected_version=first.version)
    stored = await inner.load("r1")
    assert stored is not None
    return inner, stored


async def test_a_wrong_key_cannot_load(
    written_with_a: tuple[MemoryTokenStore, VersionedTokenSet],
) -> None:
    """Loading with a key that did not encrypt the tokens raises EncryptionKeyError, a
    ConfigurationError naming the realm and no token or key."""
    inner, _ = written_with_a
    with pytest.raises(EncryptionKeyError) as caught:
        await EncryptedTokenStore(inner, keys=[KEY_B]).load("r1")
    assert isinstance(caught.value, ConfigurationError)
    assert caught.value.realm_id == "r1"
    shown = str(caught.value) + repr(caught.value)
    assert "secret" not in shown
    assert KEY_A not in shown
    assert KEY_B not in shown


async def test_a_wrong_key_never_overwrites(
    written_with_a: tuple[MemoryTokenStore, VersionedTokenSet],
) -> None:
    """A save with a wrong key naming the stored version raises EncryptionKeyError, and
    one expecting absence conflicts: either way the stored ciphertext is untouched."""
    inner, before = written_with_a
    wrong = EncryptedTokenStore(inner, keys=[KEY_B])
    with pytest.raises(EncryptionKeyError):
        await wrong.save("r1", _tokens("b"), expected_version=before.version)
    with pytest.raises(ConflictError):
        await wrong.save("r1", _tokens("b"), expected_version=None)
    assert await inner.load("r1") == before


async def test_a_wrong_key_never_deletes(
    written_with_a: tuple[MemoryTokenStore, VersionedTokenSet],
) -> None:
    """A delete with a wrong key, guarded or not, raises EncryptionKeyError and removes
    nothing; the right key still reads the tokens afterwards."""
    inner, before = written_with_a
    wrong = EncryptedTokenStore(inner, keys=[KEY_B])
    with pytest.raises(EncryptionKeyError):
        await wrong.delete("r1")
    with pytest.raises(EncryptionKeyError):
        await wrong.delete("r1", expected_version=before.version)
    assert await inner.load("r1") == before
    loaded = await EncryptedTokenStore(inner, keys=[KEY_A]).load("r1")
    assert loaded is not None
    assert loaded.tokens.access_token == "access-secret-a2"


async def test_ciphertext_moved_to_another_realm_is_refused() -> None:
    """Tokens copied under another realm decrypt with the right key, but are refused
    because each ciphertext is sealed for its realm."""
    inner = MemoryTokenStore()
    store = EncryptedTokenStore(inner, keys=[KEY_A])
    await store.save("r1", _tokens("a"), expected_version=None)
    stored = await inner.load("r1")
    assert stored is not None
    await inner.save("r2", stored.tokens, expected_version=None)
    with pytest.raises(EncryptionKeyError, match="another realm"):
        await store.load("r2")


async def test_a_plaintext_value_in_the_inner_store_is_refused() -> None:
    """A token written unencrypted into the inner store is refused, not handed out."""
    inner = MemoryTokenStore()
    await inner.save("r1", _tokens("plain"), expected_version=None)
    with pytest.raises(EncryptionKeyError):
        await EncryptedTokenStore(inner, keys=[KEY_A]).load("r1")


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "keys",
    [[], ["not-a-key"], [KEY_A, "short"], KEY_A],
    ids=["none", "malformed", "second-malformed", "a-bare-string"],
)
def test_bad_keys_are_a_configuration_error(keys: list[str]) -> None:
    """No keys, a malformed key, or one key given as a bare string is refused at
    construction with ConfigurationError naming the `keys` field and no key text."""
    with pytest.raises(ConfigurationError) as caught:
        EncryptedTokenStore(MemoryTokenStore(), keys=keys)
    assert caught.value.field == "keys"
    assert KEY_A not in str(caught.value)


async def test_repr_shows_the_inner_store_and_key_count_only() -> None:
    """The repr names the inner store and how many keys there are: no key, no token."""
    store = EncryptedTokenStore(MemoryTokenStore(), keys=[KEY_B, KEY_A])
    await store.save("r1", _tokens("a"), expected_version=None)
    assert repr(store) == "EncryptedTokenStore(inner=MemoryTokenStore(realms=1), keys=2)"
