"""The `Mirror` contract suite, for every mirror adapter (yours included).

Subclass `MirrorContract` in a test module as `Test<YourMirror>(MirrorContract)` and
implement `make_mirror`::

    class TestMemoryMirror(MirrorContract):
        @contextlib.asynccontextmanager
        async def make_mirror(self) -> AsyncIterator[Mirror]:
            yield MemoryMirror()

The entities used are a typed `Customer` and a raw `Estimate` (exact decimals, quotes,
backslashes and non-ASCII text), so both decoding paths of `get` are held.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import ClassVar

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from qbo_adapters.testing._machine import AsyncAdapterMachine, ContractSuite
from qbo_core.dtos import EntitySummary, MirrorProgress, SyncCursor, SyncPosition
from qbo_core.entities import Customer, MetaData, QBOEntity, RawEntity
from qbo_core.ports.mirror import Mirror
from qbo_core.wire.canonical import entity_checksum

__all__ = ["MirrorContract"]

_REALMS = ("9130350000000001", "9130350000000002")
_TYPES = ("Customer", "Estimate")
_IDS = ("1", "2", "10", "101")
_EPOCH = datetime(2031, 1, 1, tzinfo=UTC)


def _customer(entity_id: str, version: int) -> Customer:
    return Customer(
        id=entity_id,
        sync_token=str(version),
        display_name=f"Cust 'ü' \\ {entity_id} v{version}",
        meta=MetaData(last_updated_time=_EPOCH + timedelta(minutes=version)),
    )


def _estimate(entity_id: str, version: int) -> RawEntity:
    return RawEntity(
        entity_type="Estimate",
        data={
            "Id": entity_id,
            "SyncToken": str(version),
            "TotalAmt": Decimal("12.50") + version,
            "PrivateNote": f'say "hi" \\ {version} ✓',
            "Line": [{"Amount": Decimal("1.10"), "DetailType": "SalesItemLineDetail"}],
            "MetaData": {"LastUpdatedTime": f"2031-01-01T00:{version % 60:02d}:00-07:00"},
        },
    )


def _entity(entity_type: str, entity_id: str, version: int) -> QBOEntity:
    return (
        _customer(entity_id, version)
        if entity_type == "Customer"
        else _estimate(entity_id, version)
    )


def _progress(step: int) -> MirrorProgress:
    when = _EPOCH + timedelta(seconds=step)
    if step % 2:
        return MirrorProgress(
            full=True, completed={"Customer": when}, current="Estimate", current_time=when
        )
    return MirrorProgress(cursor=SyncCursor(positions={"Customer": SyncPosition(since=when)}))


class MirrorContract(ContractSuite):
    """What every `Mirror` promises. Subclass and implement `make_mirror`."""

    def make_mirror(self) -> contextlib.AbstractAsyncContextManager[Mirror]:
        """An async context manager yielding a fresh, empty mirror."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement make_mirror() to run the Mirror "
            "contract: return an async context manager (e.g. via "
            "contextlib.asynccontextmanager) that yields a new, empty mirror"
        )

    async def test_ping_answers_and_changes_nothing(self) -> None:
        """`ping` returns on a working mirror, empty or not, and leaves what it holds."""
        async with self.make_mirror() as mirror:
            await mirror.ping()
            await mirror.apply(_REALMS[0], upserts=[_customer("1", 0)])
            await mirror.ping()
            assert await mirror.ids(_REALMS[0], "Customer") == {"1"}

    async def test_an_empty_mirror_holds_nothing(self) -> None:
        """A fresh mirror has no realms, progress, rows or summaries."""
        async with self.make_mirror() as mirror:
            assert await mirror.realms() == ()
            assert await mirror.progress(_REALMS[0]) is None
            assert await mirror.summary(_REALMS[0]) == {}
            assert await mirror.ids(_REALMS[0], "Customer") == frozenset()
            assert await mirror.get(_REALMS[0], "Customer", "1") is None

    async def test_upserted_entities_come_back_equal_and_typed(self) -> None:
        """`get` returns what was stored: a typed class where one exists, else a RawEntity."""
        async with self.make_mirror() as mirror:
            customer, estimate = _customer("1", 3), _estimate("1", 4)
            await mirror.apply(_REALMS[0], upserts=[customer, estimate])
            got = await mirror.get(_REALMS[0], "Customer", "1")
            assert type(got) is Customer
            assert got == customer
            raw = await mirror.get(_REALMS[0], "Estimate", "1")
            assert type(raw) is RawEntity
            assert raw == estimate

    async def test_an_upsert_replaces_the_row_with_the_same_key(self) -> None:
        """A second upsert of one (type, Id) replaces the first; other keys stay."""
        async with self.make_mirror() as mirror:
            await mirror.apply(_REALMS[0], upserts=[_customer("1", 0), _customer("2", 0)])
            await mirror.apply(_REALMS[0], upserts=[_customer("1", 1)])
            assert await mirror.get(_REALMS[0], "Customer", "1") == _customer("1", 1)
            assert await mirror.get(_REALMS[0], "Customer", "2") == _customer("2", 0)
            assert (await mirror.summary(_REALMS[0]))["Customer"].count == 2

    async def test_the_last_of_repeated_upserts_in_one_apply_wins(self) -> None:
        """Upserts of one key within one apply are applied in order: the last one stays."""
        async with self.make_mirror() as mirror:
            versions = [_customer("1", 1), _customer("1", 2), _customer("1", 3)]
            await mirror.apply(_REALMS[0], upserts=versions)
            assert await mirror.get(_REALMS[0], "Customer", "1") == versions[-1]

    async def test_deletions_remove_rows_and_ignore_absent_ones(self) -> None:
        """A deletion removes its row; one of a row not held (any type, any realm) is ignored."""
        async with self.make_mirror() as mirror:
            await mirror.apply(_REALMS[0], upserts=[_customer("1", 0), _estimate("1", 0)])
            await mirror.apply(
                _REALMS[0],
                deletions=[("Customer", "1"), ("Customer", "404"), ("Invoice", "1")],
            )
            await mirror.apply(_REALMS[1], deletions=[("Estimate", "1")])
            assert await mirror.get(_REALMS[0], "Customer", "1") is None
            assert await mirror.get(_REALMS[0], "Estimate", "1") == _estimate("1", 0)

    async def test_an_upsert_and_a_deletion_of_one_key_in_one_apply_deletes_it(self) -> None:
        """Upserts are applied before deletions."""
        async with self.make_mirror() as mirror:
            await mirror.apply(
                _REALMS[0], upserts=[_customer("1", 0)], deletions=[("Customer", "1")]
            )
            assert await mirror.ids(_REALMS[0], "Customer") == frozenset()

    async def test_progress_is_stored_replaced_and_kept_when_not_given(self) -> None:
        """`progress` round-trips exactly, is replaced by a later one, kept by an apply
        without one, and is per realm."""
        async with self.make_mirror() as mirror:
            await mirror.apply(_REALMS[0], progress=_progress(1))
            assert await mirror.progress(_REALMS[0]) == _progress(1)
            await mirror.apply(_REALMS[0], upserts=[_customer("1", 0)])
            assert await mirror.progress(_REALMS[0]) == _progress(1)
            await mirror.apply(_REALMS[0], progress=_progress(2))
            assert await mirror.progress(_REALMS[0]) == _progress(2)
            assert await mirror.progress(_REALMS[1]) is None

    async def test_summary_is_the_checksum_of_the_entities_held(self) -> None:
        """Per type: the count, and `entity_checksum` of the entities `get` returns."""
        async with self.make_mirror() as mirror:
            customers = [_customer(entity_id, 1) for entity_id in _IDS]
            estimates = [_estimate("2", 5)]
            await mirror.apply(_REALMS[0], upserts=[*customers, *estimates])
            summary = await mirror.summary(_REALMS[0])
            assert dict(summary) == {
                "Customer": EntitySummary(count=4, checksum=entity_checksum(customers)),
                "Estimate": EntitySummary(count=1, checksum=entity_checksum(estimates)),
            }
            await mirror.apply(_REALMS[0], deletions=[("Estimate", "2")])
            assert set(await mirror.summary(_REALMS[0])) == {"Customer"}

    async def test_an_entity_without_an_id_fails_the_whole_apply(self) -> None:
        """`ValueError`, and nothing of the apply is kept: not its other rows, deletions or
        progress."""
        async with self.make_mirror() as mirror:
            await mirror.apply(_REALMS[0], upserts=[_customer("1", 0)], progress=_progress(2))
            nameless = Customer(display_name="no id")
            with pytest.raises(ValueError, match="Id"):
                await mirror.apply(
                    _REALMS[0],
                    upserts=[_customer("2", 0), nameless],
                    deletions=[("Customer", "1")],
                    progress=_progress(3),
                )
            assert await mirror.ids(_REALMS[0], "Customer") == {"1"}
            assert await mirror.progress(_REALMS[0]) == _progress(2)

    async def test_realms_are_listed_and_dropped_independently(self) -> None:
        """`realms` lists realms with rows or progress; `drop_realm` empties one, no other."""
        async with self.make_mirror() as mirror:
            await mirror.apply(_REALMS[0], upserts=[_customer("1", 0)])
            await mirror.apply(_REALMS[1], progress=_progress(1))
            assert await mirror.realms() == tuple(sorted(_REALMS))
            await mirror.drop_realm(_REALMS[0])
            await mirror.drop_realm("123")  # unknown: ignored
            assert await mirror.realms() == (_REALMS[1],)
            assert await mirror.summary(_REALMS[0]) == {}
            assert await mirror.progress(_REALMS[1]) == _progress(1)

    async def test_many_rows_in_one_apply(self) -> None:
        """A page's worth of rows (1,000) goes in one apply and is summed exactly."""
        async with self.make_mirror() as mirror:
            customers = [_customer(str(index), index) for index in range(1, 1001)]
            await mirror.apply(_REALMS[0], upserts=customers)
            summary = await mirror.summary(_REALMS[0])
            assert summary["Customer"] == EntitySummary(
                count=1000, checksum=entity_checksum(customers)
            )

    def test_behaves_like_a_dictionary_of_entities(self) -> None:
        """Under random applies and drops, the mirror agrees with a plain model."""

        class Machine(_MirrorMachine):
            contract = self

        self.run_machine(Machine)


_Key = tuple[str, str, str]  # realm, entity type, Id

_KEYS = st.tuples(st.sampled_from(_REALMS), st.sampled_from(_TYPES), st.sampled_from(_IDS))


class _MirrorMachine(AsyncAdapterMachine[Mirror]):
    """Random applies and drops checked against a dict of (realm, type, Id) -> version."""

    contract: ClassVar[MirrorContract]

    def __init__(self) -> None:
        self.factory = lambda: self.contract.make_mirror()
        super().__init__()
        self.model: dict[_Key, int] = {}
        self.progress: dict[str, MirrorProgress] = {}

    @rule(
        realm=st.sampled_from(_REALMS),
        upserts=st.lists(
            st.tuples(st.sampled_from(_TYPES), st.sampled_from(_IDS), st.integers(0, 50)),
            max_size=6,
        ),
        deletions=st.lists(st.tuples(st.sampled_from(_TYPES), st.sampled_from(_IDS)), max_size=3),
        step=st.none() | st.integers(0, 9),
    )
    def apply(
        self,
        realm: str,
        upserts: Sequence[tuple[str, str, int]],
        deletions: Sequence[tuple[str, str]],
        step: int | None,
    ) -> None:
        entities = [_entity(kind, entity_id, version) for kind, entity_id, version in upserts]
        progress = None if step is None else _progress(step)
        self.run(
            self.adapter.apply(realm, upserts=entities, deletions=deletions, progress=progress)
        )
        for kind, entity_id, version in upserts:
            self.model[(realm, kind, entity_id)] = version
        for kind, entity_id in deletions:
            self.model.pop((realm, kind, entity_id), None)
        if progress is not None:
            self.progress[realm] = progress

    @rule(realm=st.sampled_from(_REALMS))
    def drop_realm(self, realm: str) -> None:
        self.run(self.adapter.drop_realm(realm))
        self.model = {key: value for key, value in self.model.items() if key[0] != realm}
        self.progress.pop(realm, None)

    @rule(key=_KEYS)
    def get(self, key: _Key) -> None:
        realm, kind, entity_id = key
        version = self.model.get(key)
        expected = None if version is None else _entity(kind, entity_id, version)
        assert self.run(self.adapter.get(realm, kind, entity_id)) == expected

    @invariant()
    def agrees_with_the_model(self) -> None:
        held_realms = {key[0] for key in self.model} | set(self.progress)
        assert self.run(self.adapter.realms()) == tuple(sorted(held_realms))
        for realm in _REALMS:
            assert self.run(self.adapter.progress(realm)) == self.progress.get(realm)
            expected: dict[str, EntitySummary] = {}
            for kind in _TYPES:
                rows = [
                    _entity(kind, key[2], version)
                    for key, version in self.model.items()
                    if key[:2] == (realm, kind)
                ]
                ids = self.run(self.adapter.ids(realm, kind))
                assert ids == {entity.id for entity in rows}
                if rows:
                    expected[kind] = EntitySummary(count=len(rows), checksum=entity_checksum(rows))
            assert dict(self.run(self.adapter.summary(realm))) == expected
