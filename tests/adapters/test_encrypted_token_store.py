"""`EncryptedTokenStore`: the TokenStore contract around memory and SQLite, plus what
encryption adds: ciphertext at rest, key rotation, and a wrong key that changes nothing."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from cryptography.fernet import Fernet

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


# -- what the errors say ---------------------------------------------------------------------

_UNREADABLE = (
    "the stored {field} cannot be decrypted with any of the {keys} configured keys (a key "
    "missing from the rotation, or the value was not written by EncryptedTokenStore); nothing "
    "was changed"
)
_MISPLACED = (
    "the stored {field} decrypts, but was sealed for another realm or field: it was copied or "
    "tampered with; nothing was changed"
)


async def test_an_undecryptable_token_is_named_with_the_key_count_and_no_cause() -> None:
    """The error names the field, the realm and how many keys were tried, and chains no
    cryptography error (which could carry the ciphertext)."""
    inner = MemoryTokenStore()
    await EncryptedTokenStore(inner, keys=[KEY_A]).save("r1", _tokens("a"), expected_version=None)
    with pytest.raises(EncryptionKeyError) as caught:
        await EncryptedTokenStore(inner, keys=[KEY_B, EncryptedTokenStore.generate_key()]).load(
            "r1"
        )
    assert str(caught.value) == _UNREADABLE.format(field="access_token", keys=2) + " [realm=r1]"
    assert (caught.value.realm_id, caught.value.field) == ("r1", "keys")
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


async def test_a_refresh_token_that_cannot_be_decrypted_is_named() -> None:
    """A readable access token with an unreadable refresh token names the refresh token."""
    inner = MemoryTokenStore()
    store = EncryptedTokenStore(inner, keys=[KEY_A])
    await store.save("r1", _tokens("a"), expected_version=None)
    stored = await inner.load("r1")
    assert stored is not None
    other = MemoryTokenStore()
    await EncryptedTokenStore(other, keys=[KEY_B]).save("r1", _tokens("b"), expected_version=None)
    foreign = (await other.load("r1") or stored).tokens.refresh_token
    await inner.save(
        "r1",
        attrs.evolve(stored.tokens, refresh_token=foreign),
        expected_version=stored.version,
    )
    with pytest.raises(EncryptionKeyError) as caught:
        await store.load("r1")
    assert str(caught.value) == _UNREADABLE.format(field="refresh_token", keys=1) + " [realm=r1]"


async def test_ciphertexts_swapped_between_fields_are_refused() -> None:
    """The access and refresh ciphertexts swapped decrypt, but each was sealed for its field."""
    inner = MemoryTokenStore()
    store = EncryptedTokenStore(inner, keys=[KEY_A])
    await store.save("r1", _tokens("a"), expected_version=None)
    stored = await inner.load("r1")
    assert stored is not None
    swapped = attrs.evolve(
        stored.tokens,
        access_token=stored.tokens.refresh_token,
        refresh_token=stored.tokens.access_token,
    )
    await inner.save("r1", swapped, expected_version=stored.version)
    with pytest.raises(EncryptionKeyError) as caught:
        await store.load("r1")
    assert str(caught.value) == _MISPLACED.format(field="access_token") + " [realm=r1]"
    assert (caught.value.realm_id, caught.value.field) == ("r1", "keys")


@pytest.mark.parametrize(
    "plain",
    [
        b"not json",
        b'["qbo-token/1", "r1", "access_token"]',
        b'["qbo-token/2", "r1", "access_token", "secret"]',
        b'["qbo-token/1", "r1", "access_token", 5]',
        b'{"a": 1, "b": 2, "c": 3, "d": 4}',
    ],
    ids=["not-json", "three-items", "other-format", "secret-not-text", "an-object"],
)
async def test_a_value_sealed_with_the_key_but_not_by_the_store_is_refused(plain: bytes) -> None:
    """Fernet text under the right key that is not this store's sealed token is refused."""
    inner = MemoryTokenStore()
    store = EncryptedTokenStore(inner, keys=[KEY_A])
    sealed = await store.save("r1", _tokens("a"), expected_version=None)
    stored = await inner.load("r1")
    assert stored is not None
    forged = Fernet(KEY_A).encrypt(plain).decode("ascii")
    await inner.save(
        "r1", attrs.evolve(stored.tokens, access_token=forged), expected_version=sealed.version
    )
    with pytest.raises(EncryptionKeyError, match="sealed for another realm or field"):
        await store.load("r1")


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ([], "EncryptedTokenStore needs a sequence of one or more Fernet keys, newest first"),
        (
            [KEY_A, "short"],
            "encryption key #2 is not a Fernet key (32 url-safe base64-encoded bytes; see "
            "EncryptedTokenStore.generate_key())",
        ),
        (
            [None],
            "encryption key #1 is not a Fernet key (32 url-safe base64-encoded bytes; see "
            "EncryptedTokenStore.generate_key())",
        ),
        (KEY_A.encode("ascii"), "EncryptedTokenStore needs a sequence of one or more"),
    ],
    ids=["none", "second-malformed", "not-text", "bare-bytes"],
)
def test_bad_keys_say_which_and_why(keys: Any, message: str) -> None:
    """A refused key list says what a key must be and which key (counting from 1) is wrong."""
    with pytest.raises(ConfigurationError) as caught:
        EncryptedTokenStore(MemoryTokenStore(), keys=keys)
    assert str(caught.value).startswith(message)


async def test_keys_may_be_bytes() -> None:
    """Keys given as bytes work as their text does."""
    inner = MemoryTokenStore()
    saved = await EncryptedTokenStore(inner, keys=[KEY_A.encode("ascii")]).save(
        "r1", _tokens("a"), expected_version=None
    )
    assert await EncryptedTokenStore(inner, keys=[KEY_A]).load("r1") == saved


# -- delete's compare-and-set ----------------------------------------------------------------


class _AlwaysChanging(MemoryTokenStore):
    """An inner store whose tokens change between every check and delete."""

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    async def load(self, realm_id: str) -> VersionedTokenSet | None:
        self.loads += 1
        return await super().load(realm_id)

    async def delete(self, realm_id: str, *, expected_version: int | None = None) -> bool:
        raise ConflictError("changed", expected=expected_version, actual=99, realm_id=realm_id)


async def test_an_unguarded_delete_gives_up_after_ten_changes() -> None:
    """An unguarded delete re-checks a value that keeps changing ten times, then raises
    ConflictError holding no versions, and deletes nothing."""
    inner = _AlwaysChanging()
    store = EncryptedTokenStore(inner, keys=[KEY_A])
    await store.save("r1", _tokens("a"), expected_version=None)
    with pytest.raises(ConflictError) as caught:
        await store.delete("r1")
    assert inner.loads == 10
    assert (
        str(caught.value)
        == "token delete expected version None, but the store holds None [realm=r1]"
    )
    assert (caught.value.expected, caught.value.actual, caught.value.realm_id) == (None, None, "r1")
    assert await inner.load("r1") is not None


async def test_a_guarded_delete_that_loses_the_race_raises_at_once() -> None:
    """A delete naming a version raises the inner store's conflict on its first loss."""
    inner = _AlwaysChanging()
    store = EncryptedTokenStore(inner, keys=[KEY_A])
    saved = await store.save("r1", _tokens("a"), expected_version=None)
    with pytest.raises(ConflictError, match=r"^changed \[realm=r1\]$"):
        await store.delete("r1", expected_version=saved.version)
    assert inner.loads == 1  # one check, one try


async def test_a_delete_naming_another_version_conflicts_with_both() -> None:
    """A delete expecting a version the store does not hold raises ConflictError naming both."""
    store = EncryptedTokenStore(MemoryTokenStore(), keys=[KEY_A])
    saved = await store.save("r1", _tokens("a"), expected_version=None)
    with pytest.raises(ConflictError) as caught:
        await store.delete("r1", expected_version=saved.version + 5)
    assert str(caught.value) == (
        f"token delete expected version {saved.version + 5}, but the store holds {saved.version}"
        " [realm=r1]"
    )
    assert (caught.value.expected, caught.value.actual, caught.value.realm_id) == (
        saved.version + 5,
        saved.version,
        "r1",
    )
    assert await store.delete("r1", expected_version=saved.version) is True
    assert await store.delete("r1") is False


class _ReplacedAfterCheck(MemoryTokenStore):
    """An inner store where another writer replaces the tokens right after the first load."""

    def __init__(self, replacement: TokenSet) -> None:
        super().__init__()
        self._replacement: TokenSet | None = replacement

    async def load(self, realm_id: str) -> VersionedTokenSet | None:
        found = await super().load(realm_id)
        if found is not None and self._replacement is not None:
            replacement, self._replacement = self._replacement, None
            await super().save(realm_id, replacement, expected_version=found.version)
        return found


async def test_an_unguarded_delete_never_removes_what_replaced_the_checked_value() -> None:
    """A delete deletes only the version it checked: tokens replaced after the check (here
    by ones no key reads) are checked in turn, refused, and left in place."""
    unreadable = _tokens("plain")
    inner = _ReplacedAfterCheck(unreadable)
    store = EncryptedTokenStore(inner, keys=[KEY_A])
    await store.save("r1", _tokens("a"), expected_version=None)
    with pytest.raises(EncryptionKeyError):
        await store.delete("r1")
    left = await inner.load("r1")
    assert left is not None
    assert left.tokens == unreadable
