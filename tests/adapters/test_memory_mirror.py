"""`MemoryMirror` against the `Mirror` contract, plus what only it promises: its refusal
message, and a repr that counts realms."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from qbo_adapters.memory.mirror import MemoryMirror
from qbo_adapters.testing.mirror import MirrorContract
from qbo_core.dtos import MirrorProgress
from qbo_core.entities import Customer, Invoice
from qbo_core.ports.mirror import Mirror

REALM = "9130350000000001"


class TestMemoryMirror(MirrorContract):
    """The contract against the in-process mirror."""

    @contextlib.asynccontextmanager
    async def make_mirror(self) -> AsyncIterator[Mirror]:
        yield MemoryMirror()


async def test_an_entity_without_an_id_is_refused_naming_its_type() -> None:
    """The ValueError says which entity type lacked its Id."""
    mirror = MemoryMirror()
    with pytest.raises(ValueError, match=r"^a Customer without an Id cannot be mirrored$"):
        await mirror.apply(REALM, upserts=[Invoice(id="1"), Customer(display_name="no id")])
    assert await mirror.realms() == ()


async def test_repr_counts_the_realms_holding_rows() -> None:
    """The repr says how many realms hold rows, and shows none of them."""
    mirror = MemoryMirror()
    assert repr(mirror) == "MemoryMirror(realms=0)"
    await mirror.apply(REALM, upserts=[Customer(id="1", display_name="A")])
    await mirror.apply("2", upserts=[Customer(id="1", display_name="B")])
    await mirror.apply("3", progress=MirrorProgress())
    assert repr(mirror) == "MemoryMirror(realms=2)"
    await mirror.apply(REALM, deletions=[("Customer", "1")])
    assert repr(mirror) == "MemoryMirror(realms=1)"
