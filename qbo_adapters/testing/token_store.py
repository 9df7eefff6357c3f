"""The `TokenStore` contract suite, for every token store adapter (yours included).

Subclass `TokenStoreContract` in a test module as `Test<YourStore>(TokenStoreContract)`
and implement `make_token_store`::

    class TestMemoryTokenStore(TokenStoreContract):
        @contextlib.asynccontextmanager
        async def make_token_store(self, clock: FakeClock) -> AsyncIterator[TokenStore]:
            yield MemoryTokenStore()

Token strings in the suite are non-empty text without NUL characters (which
PostgreSQL's text type refuses); datetimes carry microseconds and various UTC
offsets, and must load back as the same instants (any offset, aware).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta, timezone
from typing import ClassVar

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.testing._machine import AsyncAdapterMachine, ContractSuite
from qbo_core.dtos import TokenSet, VersionedTokenSet
from qbo_core.errors import ConflictError
from qbo_core.ports.token_store import TokenStore

__all__ = ["TokenStoreContract", "token_sets"]

_REALMS = ("9130350000000001", "9130350000000002", "realm:with:colons")
_OFFSETS = (
    UTC,
    timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=-8)),
    timezone(timedelta(hours=13, minutes=45)),
)


def _token_text() -> st.SearchStrategy[str]:
    return st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=60)


def _instants() -> st.SearchStrategy[datetime]:
    return st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from(_OFFSETS),
    )


def token_sets() -> st.SearchStrategy[TokenSet]:
    """Arbitrary valid `TokenSet`s: every field varied, optional ones sometimes `None`."""
    return st.builds(
        TokenSet,
        access_token=_token_text(),
        refresh_token=_token_text(),
        access_token_expires_at=_instants(),
        refresh_token_expires_at=_instants(),
        refresh_token_hard_expires_at=st.none() | _instants(),
        token_type=st.sampled_from(["bearer", "Bearer"]),
        scope=st.none() | st.sampled_from(["com.intuit.quickbooks.accounting", "openid email"]),
        realm_id=st.none() | st.sampled_from(_REALMS),
    )


def _tokens(label: str, *, at: datetime | None = None) -> TokenSet:
    start = at or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    return TokenSet(
        access_token=f"access-{label}",
        refresh_token=f"refresh-{label}",
        access_token_expires_at=start + timedelta(hours=1),
        refresh_token_expires_at=start + timedelta(days=100),
    )


def _assert_same_tokens(loaded: TokenSet, original: TokenSet) -> None:
    assert loaded == original  # datetimes compare as instants
    for name in (
        "access_token_expires_at",
        "refresh_token_expires_at",
        "refresh_token_hard_expires_at",
    ):
        value = getattr(loaded, name)
        assert value is None or value.utcoffset() is not None, f"{name} came back naive"


class TokenStoreContract(ContractSuite):
    """Contract tests for the `TokenStore` port; subclass and implement `make_token_store`."""

    def make_token_store(
        self, clock: FakeClock
    ) -> contextlib.AbstractAsyncContextManager[TokenStore]:
        """An async context manager yielding a fresh, empty token store (time on `clock`)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement make_token_store(clock) to run the "
            "TokenStore contract: return an async context manager (e.g. via "
            "contextlib.asynccontextmanager) that yields a new, empty store"
        )

    async def test_ping_answers_and_changes_nothing(self) -> None:
        """`ping` returns on a working store, fresh or holding tokens, and stores nothing."""
        tokens = _tokens("a")
        async with self.make_token_store(FakeClock()) as store:
            await store.ping()
            assert await store.load("r1") is None
            saved = await store.save("r1", tokens, expected_version=None)
            await store.ping()
            assert await store.load("r1") == saved

    async def test_load_of_unknown_realm_returns_none(self) -> None:
        """Loading a realm nothing was saved for returns None."""
        async with self.make_token_store(FakeClock()) as store:
            assert await store.load("unknown") is None

    async def test_first_save_makes_version_one(self) -> None:
        """A first save with expected_version=None stores the tokens as version 1."""
        tokens = _tokens("a")
        async with self.make_token_store(FakeClock()) as store:
            saved = await store.save("r1", tokens, expected_version=None)
            assert saved == VersionedTokenSet(tokens=tokens, version=1)
            assert await store.load("r1") == saved

    async def test_first_save_naming_a_version_conflicts(self) -> None:
        """Saving with a version when nothing is stored raises ConflictError and stores nothing."""
        async with self.make_token_store(FakeClock()) as store:
            with pytest.raises(ConflictError) as caught:
                await store.save("r1", _tokens("a"), expected_version=1)
            assert (caught.value.expected, caught.value.actual) == (1, None)
            assert await store.load("r1") is None

    async def test_each_save_adds_one_to_the_version(self) -> None:
        """Successive saves, each naming the current version, produce versions 1, 2, 3, ..."""
        async with self.make_token_store(FakeClock()) as store:
            expected: int | None = None
            for number in range(1, 6):
                saved = await store.save("r1", _tokens(str(number)), expected_version=expected)
                assert saved.version == number
                assert await store.load("r1") == saved
                expected = saved.version

    async def test_stale_writer_gets_conflict_and_changes_nothing(self) -> None:
        """A save naming an old version raises ConflictError and keeps the newer tokens."""
        async with self.make_token_store(FakeClock()) as store:
            await store.save("r1", _tokens("v1"), expected_version=None)
            newest = await store.save("r1", _tokens("v2"), expected_version=1)
            with pytest.raises(ConflictError) as caught:
                await store.save("r1", _tokens("stale"), expected_version=1)
            assert (caught.value.expected, caught.value.actual) == (1, 2)
            assert await store.load("r1") == newest

    async def test_save_expecting_absence_conflicts_when_tokens_exist(self) -> None:
        """A save expecting absence when tokens exist raises ConflictError and keeps them."""
        async with self.make_token_store(FakeClock()) as store:
            first = await store.save("r1", _tokens("first"), expected_version=None)
            with pytest.raises(ConflictError) as caught:
                await store.save("r1", _tokens("second"), expected_version=None)
            assert (caught.value.expected, caught.value.actual) == (None, 1)
            assert await store.load("r1") == first

    async def test_save_naming_a_future_version_conflicts(self) -> None:
        """A save naming a version newer than the stored one raises ConflictError."""
        async with self.make_token_store(FakeClock()) as store:
            first = await store.save("r1", _tokens("first"), expected_version=None)
            with pytest.raises(ConflictError) as caught:
                await store.save("r1", _tokens("second"), expected_version=2)
            assert (caught.value.expected, caught.value.actual) == (2, 1)
            assert await store.load("r1") == first

    async def test_delete_removes_and_reports(self) -> None:
        """Delete returns True and removes stored tokens; deleting again returns False."""
        async with self.make_token_store(FakeClock()) as store:
            await store.save("r1", _tokens("a"), expected_version=None)
            assert await store.delete("r1") is True
            assert await store.load("r1") is None
            assert await store.delete("r1") is False

    async def test_delete_of_unknown_realm_returns_false(self) -> None:
        """Deleting a realm with nothing stored returns False, with or without a version."""
        async with self.make_token_store(FakeClock()) as store:
            assert await store.delete("unknown") is False
            assert await store.delete("unknown", expected_version=3) is False

    async def test_delete_with_matching_version_removes(self) -> None:
        """Delete naming the stored version removes the tokens."""
        async with self.make_token_store(FakeClock()) as store:
            await store.save("r1", _tokens("a"), expected_version=None)
            await store.save("r1", _tokens("b"), expected_version=1)
            assert await store.delete("r1", expected_version=2) is True
            assert await store.load("r1") is None

    async def test_delete_with_other_version_conflicts_and_keeps(self) -> None:
        """Delete naming another version raises ConflictError and removes nothing."""
        async with self.make_token_store(FakeClock()) as store:
            await store.save("r1", _tokens("a"), expected_version=None)
            current = await store.save("r1", _tokens("b"), expected_version=1)
            with pytest.raises(ConflictError) as caught:
                await store.delete("r1", expected_version=1)
            assert (caught.value.expected, caught.value.actual) == (1, 2)
            assert await store.load("r1") == current

    async def test_versions_restart_after_delete(self) -> None:
        """After a delete the realm is absent: the next save expects None and makes version 1."""
        async with self.make_token_store(FakeClock()) as store:
            await store.save("r1", _tokens("a"), expected_version=None)
            await store.save("r1", _tokens("b"), expected_version=1)
            await store.delete("r1")
            again = await store.save("r1", _tokens("c"), expected_version=None)
            assert again.version == 1
            assert await store.load("r1") == again

    async def test_realms_are_independent(self) -> None:
        """Saving, conflicting and deleting in one realm never affects another."""
        async with self.make_token_store(FakeClock()) as store:
            one = await store.save("r1", _tokens("one"), expected_version=None)
            two = await store.save("r2", _tokens("two"), expected_version=None)
            two = await store.save("r2", _tokens("two-b"), expected_version=two.version)
            with pytest.raises(ConflictError):
                await store.save("r1", _tokens("x"), expected_version=2)
            assert await store.load("r1") == one
            assert await store.delete("r1") is True
            assert await store.load("r2") == two
            assert two.version == 2

    async def test_concurrent_writers_from_one_version_exactly_one_wins(self) -> None:
        """Of many concurrent saves naming one version, exactly one succeeds; the rest conflict."""
        async with self.make_token_store(FakeClock()) as store:
            await store.save("r1", _tokens("base"), expected_version=None)
            candidates = [_tokens(f"writer-{index}") for index in range(20)]
            outcomes = await asyncio.gather(
                *(store.save("r1", tokens, expected_version=1) for tokens in candidates),
                return_exceptions=True,
            )
            winners = [item for item in outcomes if isinstance(item, VersionedTokenSet)]
            losers = [item for item in outcomes if isinstance(item, ConflictError)]
            assert len(winners) == 1
            assert len(losers) == len(candidates) - 1
            assert all(loser.expected == 1 and loser.actual == 2 for loser in losers)
            assert winners[0].version == 2
            assert winners[0].tokens in candidates
            assert await store.load("r1") == winners[0]

    async def test_concurrent_first_saves_exactly_one_wins(self) -> None:
        """Of many concurrent first saves (expected_version=None), exactly one succeeds."""
        async with self.make_token_store(FakeClock()) as store:
            candidates = [_tokens(f"first-{index}") for index in range(10)]
            outcomes = await asyncio.gather(
                *(store.save("r1", tokens, expected_version=None) for tokens in candidates),
                return_exceptions=True,
            )
            winners = [item for item in outcomes if isinstance(item, VersionedTokenSet)]
            assert len(winners) == 1
            assert sum(isinstance(item, ConflictError) for item in outcomes) == 9
            assert await store.load("r1") == winners[0]

    async def test_every_field_round_trips(self) -> None:
        """Every TokenSet field loads back equal, microseconds and instants kept across offsets."""
        full = TokenSet(
            access_token="eyJhbGciOiJSUzI1NiJ9.payload.signature-ünïcode",  # noqa: S106
            refresh_token="AB11" + "x" * 400,
            access_token_expires_at=datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC),
            refresh_token_expires_at=datetime(
                2026, 6, 1, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-7))
            ),
            refresh_token_hard_expires_at=datetime(
                2031, 1, 1, 0, 0, 0, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))
            ),
            token_type="bearer",  # noqa: S106 - the OAuth token type
            scope="com.intuit.quickbooks.accounting openid",
            realm_id="9130350000000001",
            reauthorization_required_at=datetime(2026, 4, 1, 1, 2, 3, 4, tzinfo=UTC),
            revoked_at=datetime(2026, 4, 2, 5, 6, 7, 8, tzinfo=timezone(timedelta(hours=-8))),
        )
        minimal = _tokens("minimal")
        async with self.make_token_store(FakeClock()) as store:
            for realm_id, tokens in (("full", full), ("minimal", minimal)):
                await store.save(realm_id, tokens, expected_version=None)
                loaded = await store.load(realm_id)
                assert loaded is not None
                assert loaded.version == 1
                _assert_same_tokens(loaded.tokens, tokens)
            minimal_loaded = await store.load("minimal")
            assert minimal_loaded is not None
            assert minimal_loaded.tokens.refresh_token_hard_expires_at is None
            assert minimal_loaded.tokens.scope is None
            assert minimal_loaded.tokens.realm_id is None

    def test_behaves_like_a_versioned_dictionary(self) -> None:
        """Under random saves, deletes and races, the store agrees with a plain model."""

        class Machine(_TokenStoreMachine):
            contract = self

        self.run_machine(Machine)


class _TokenStoreMachine(AsyncAdapterMachine[TokenStore]):
    """Random token store operations checked against a dict of (tokens, version) by realm."""

    contract: ClassVar[TokenStoreContract]

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.factory = lambda: self.contract.make_token_store(self.clock)
        super().__init__()
        self.model: dict[str, VersionedTokenSet] = {}

    def version_of(self, realm_id: str) -> int | None:
        current = self.model.get(realm_id)
        return current.version if current is not None else None

    @rule(
        realm_id=st.sampled_from(_REALMS),
        tokens=token_sets(),
        use_current=st.booleans(),
        other=st.none() | st.integers(min_value=1, max_value=6),
    )
    def save(self, realm_id: str, tokens: TokenSet, use_current: bool, other: int | None) -> None:
        expected = self.version_of(realm_id) if use_current else other
        actual = self.version_of(realm_id)
        if expected == actual:
            saved = self.run(self.adapter.save(realm_id, tokens, expected_version=expected))
            assert saved.version == (actual or 0) + 1
            _assert_same_tokens(saved.tokens, tokens)
            self.model[realm_id] = VersionedTokenSet(tokens=tokens, version=saved.version)
        else:
            with pytest.raises(ConflictError) as caught:
                self.run(self.adapter.save(realm_id, tokens, expected_version=expected))
            assert (caught.value.expected, caught.value.actual) == (expected, actual)

    @rule(
        realm_id=st.sampled_from(_REALMS),
        tokens=st.lists(token_sets(), min_size=2, max_size=4),
    )
    def race(self, realm_id: str, tokens: list[TokenSet]) -> None:
        expected = self.version_of(realm_id)

        async def all_saves() -> list[VersionedTokenSet | BaseException]:
            return await asyncio.gather(
                *(self.adapter.save(realm_id, item, expected_version=expected) for item in tokens),
                return_exceptions=True,
            )

        outcomes = self.run(all_saves())
        winners = [item for item in outcomes if isinstance(item, VersionedTokenSet)]
        assert len(winners) == 1
        assert sum(isinstance(item, ConflictError) for item in outcomes) == len(tokens) - 1
        self.model[realm_id] = winners[0]

    @rule(
        realm_id=st.sampled_from(_REALMS),
        guarded=st.booleans(),
        use_current=st.booleans(),
        other=st.integers(min_value=1, max_value=6),
    )
    def delete(self, realm_id: str, guarded: bool, use_current: bool, other: int) -> None:
        actual = self.version_of(realm_id)
        expected = (actual if use_current else other) if guarded else None
        if actual is not None and expected is not None and expected != actual:
            with pytest.raises(ConflictError) as caught:
                self.run(self.adapter.delete(realm_id, expected_version=expected))
            assert (caught.value.expected, caught.value.actual) == (expected, actual)
        else:
            removed = self.run(self.adapter.delete(realm_id, expected_version=expected))
            assert removed == (actual is not None)
            self.model.pop(realm_id, None)

    @invariant()
    def loads_agree_with_model(self) -> None:
        for realm_id in _REALMS:
            loaded = self.run(self.adapter.load(realm_id))
            expected = self.model.get(realm_id)
            if expected is None:
                assert loaded is None, realm_id
            else:
                assert loaded is not None, realm_id
                assert loaded.version == expected.version
                _assert_same_tokens(loaded.tokens, expected.tokens)
