"""One canonical JSON form per entity, and an order-independent checksum over a set of them.

Both sides of a comparison use these: a `Mirror` computes its `EntitySummary` from what it
stores, and a test or an operator computes one from what QBO (or the emulator) answers,
so the two can be compared without moving the entities.

- `canonical_json(entity)`: the entity's QBO JSON (`encode_entity`: unknown keys, nulls and
  exact decimals kept) written with object keys sorted (by code point, at every level),
  no whitespace, UTF-8, `Decimal`s with exactly their digits. Equal entities give equal
  bytes, whatever order their keys arrived in.
- `entity_checksum(entities)`: the sum, modulo 2**256, of SHA-256(`Id` UTF-8, a NUL byte,
  `canonical_json`) read as a big-endian integer, over every entity; written as 64
  lower-case hex digits. A sum is order-independent (any order of rows gives it) and,
  unlike XOR, a row held twice does not cancel out. An empty set's checksum is 64 zeros.
- `rows_checksum(rows)`: the same from `(id, canonical JSON bytes)` pairs, for a store
  that keeps the bytes and should not decode every row to sum them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from qbo_core.entities import QBOEntity
from qbo_core.wire.entities import encode_entity
from qbo_core.wire.jsonio import dumps

__all__ = ["EMPTY_CHECKSUM", "canonical_json", "entity_checksum", "rows_checksum"]

_MODULUS = 1 << 256

#: The checksum of no entities.
EMPTY_CHECKSUM = "0" * 64


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [_sorted(item) for item in value]
    return value


def canonical_json(entity: QBOEntity) -> bytes:
    """`entity`'s QBO JSON in canonical form (see the module): sorted keys, compact, UTF-8."""
    return dumps(_sorted(encode_entity(entity)))


def _row_digest(entity_id: str, body: bytes) -> int:
    return int.from_bytes(hashlib.sha256(entity_id.encode() + b"\x00" + body).digest(), "big")


def rows_checksum(rows: Iterable[tuple[str, bytes]]) -> str:
    """The checksum of rows given as `(Id, canonical_json bytes)` pairs (see the module)."""
    total = 0
    for entity_id, body in rows:
        total = (total + _row_digest(entity_id, body)) % _MODULUS
    return f"{total:064x}"


def entity_checksum(entities: Iterable[QBOEntity]) -> str:
    """The order-independent checksum of `entities` (see the module). Each needs an `Id`;
    one without raises `ValueError`."""

    def rows() -> Iterable[tuple[str, bytes]]:
        for entity in entities:
            if entity.id is None:
                raise ValueError("an entity without an Id has no place in a checksum")
            yield entity.id, canonical_json(entity)

    return rows_checksum(rows())
