"""`canonical_json` and `entity_checksum`: one form per entity, a checksum per set."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbo_core.entities import Customer, RawEntity
from qbo_core.wire.canonical import (
    EMPTY_CHECKSUM,
    canonical_json,
    entity_checksum,
    rows_checksum,
)


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


def _digest(entity_id: str, body: bytes) -> int:
    """SHA-256 of the Id, a NUL byte and the canonical JSON, as a big-endian integer."""
    return int.from_bytes(hashlib.sha256(entity_id.encode() + b"\x00" + body).digest(), "big")


def test_canonical_json_sorts_by_code_point_inside_lists_and_writes_utf8() -> None:
    """Keys are sorted by code point (upper case before lower, non-ASCII last) in every
    object, objects inside lists included; list order is kept; text is UTF-8, unescaped."""
    entity = RawEntity(
        entity_type="Estimate",
        data={
            "b": 1,
            "\u00e9": "caf\u00e9",
            "Z": [{"y": True, "x": None}, {"d": [], "c": {}}],
            "a": "1",
        },
    )
    assert canonical_json(entity) == (
        b'{"Z":[{"x":null,"y":true},{"c":{},"d":[]}],"a":"1","b":1,"\xc3\xa9":"caf\xc3\xa9"}'
    )


def test_canonical_json_of_a_typed_entity_is_its_qbo_json_sorted() -> None:
    """A typed entity's canonical form is its QBO JSON (PascalCase keys) with keys sorted."""
    entity = Customer(id="7", sync_token="0", display_name="Ada", balance=Decimal("10.50"))
    assert canonical_json(entity) == (
        b'{"Balance":10.50,"DisplayName":"Ada","Id":"7","SyncToken":"0"}'
    )


def test_the_checksum_is_the_sum_of_sha256_of_id_nul_and_canonical_json() -> None:
    """One entity's checksum is SHA-256(Id, NUL, canonical JSON) as 64 lower-case hex digits;
    a set's is the sum of those."""
    one = Customer(id="1", display_name="A")
    two = Customer(id="2", display_name="B")
    first, second = _digest("1", canonical_json(one)), _digest("2", canonical_json(two))
    assert entity_checksum([one]) == f"{first:064x}"
    assert entity_checksum([one, two]) == f"{(first + second) % 2**256:064x}"
    assert rows_checksum([("1", canonical_json(one))]) == entity_checksum([one])


def test_the_checksum_sum_wraps_at_2_to_the_256() -> None:
    """The sum is taken modulo 2**256, so the checksum stays 64 hex digits when it overflows."""
    rows = [("1", b"{}"), ("4", b"{}")]
    total = _digest("1", b"{}") + _digest("4", b"{}")
    assert total >= 2**256  # the case this test is about
    assert rows_checksum(rows) == f"{total - 2**256:064x}"
    assert rows_checksum([]) == EMPTY_CHECKSUM == "0" * 64


def test_an_entity_without_an_id_has_no_checksum() -> None:
    """Summing an entity that has no `Id` raises `ValueError` saying so."""
    with pytest.raises(ValueError, match=r"^an entity without an Id has no place in a checksum$"):
        entity_checksum([Customer(id="1", display_name="A"), Customer(display_name="B")])
