"""`canonical_json` and `entity_checksum`: one form per entity, a checksum per set."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from qbo_core.entities import Customer, RawEntity
from qbo_core.wire.canonical import EMPTY_CHECKSUM, canonical_json, entity_checksum


def test_key_order_does_not_change_the_canonical_form() -> None:
    """Two raw entities whose keys arrived in different orders have one canonical form,
    sorted at every level, compact, with decimals' exact digits."""
    a = RawEntity(entity_type="Estimate", data={"Id": "1", "B": {"y": 1, "x": Decimal("1.50")}})
    b = RawEntity(entity_type="Estimate", data={"B": {"x": Decimal("1.50"), "y": 1}, "Id": "1"})
    assert canonical_json(a) == canonical_json(b) == b'{"B":{"x":1.50,"y":1},"Id":"1"}'


@given(st.permutations([Customer(id=str(i), display_name=f"C{i}") for i in range(6)]))
def test_the_checksum_ignores_order(entities: list[Customer]) -> None:
    """Any order of the same entities gives the same checksum."""
    assert entity_checksum(entities) == entity_checksum(sorted(entities, key=lambda c: c.id or ""))


def test_the_checksum_tells_contents_ids_and_duplicates_apart() -> None:
    """A changed field, a changed id or a row held twice changes the checksum; none is empty."""
    one = Customer(id="1", display_name="A")
    base = entity_checksum([one])
    assert entity_checksum([]) == EMPTY_CHECKSUM
    assert base != EMPTY_CHECKSUM
    assert entity_checksum([Customer(id="1", display_name="B")]) != base
    assert entity_checksum([Customer(id="2", display_name="A")]) != base
    assert entity_checksum([one, one]) != base
    assert len(base) == 64
