"""Entities in and out of QBO's JSON: `decode_entity`, `decode_entity_as`, `encode_entity`.

The entity converter is `qbo_core.converter.make_converter()` plus the hooks of
`qbo_core.wire.entity_hooks` (key renames, kept unknown and null keys, lenient numbers);
`qbo_core.wire.entity_hooks` documents exactly what is read and written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import cattrs

from qbo_core.converter import make_converter, structure
from qbo_core.entities.base import EntityPart, RawEntity, thaw_json
from qbo_core.entities.kinds import ENTITY_CLASSES, QBOEntity
from qbo_core.errors import DecodeError
from qbo_core.wire.entity_hooks import register_entity_hooks

__all__ = [
    "decode_entity",
    "decode_entity_as",
    "decode_part",
    "encode_entity",
    "encode_part",
    "entity_converter",
    "make_entity_converter",
]

E = TypeVar("E", bound=QBOEntity)
P = TypeVar("P", bound=EntityPart)


def make_entity_converter() -> cattrs.Converter:
    """A new converter with the core hooks and every entity class's hooks."""
    conv = make_converter()
    register_entity_hooks(conv)
    return conv


#: The converter that reads and writes every class of `qbo_core.entities`.
entity_converter: cattrs.Converter = make_entity_converter()


def decode_entity(entity_type: str, data: Mapping[str, Any]) -> QBOEntity:
    """The entity named `entity_type` (QBO's spelling: `"Invoice"`) from its JSON object.

    Returns an instance of `ENTITY_CLASSES[entity_type]`, or a `RawEntity` for any other
    name. `data` is as `qbo_core.wire` parses it (fractional numbers as `Decimal`); it is
    copied, never kept. Raises `DecodeError` naming the path of each value of the wrong
    type (`... @ $.Line[0].Amount`); see `qbo_core.wire.entity_hooks` for what is accepted.
    """
    cls = ENTITY_CLASSES.get(entity_type)
    if cls is not None:
        return structure(data, cls, using=entity_converter)
    return _raw(entity_type, data)


def decode_entity_as(cls: type[E], entity_type: str, data: Mapping[str, Any]) -> E:
    """The entity named `entity_type` from its JSON object, as an instance of `cls` exactly.

    `cls` is `ENTITY_CLASSES[entity_type]` (the typed form) or `RawEntity` (the raw form,
    whatever the name). Any other pairing raises `DecodeError` rather than return an
    object of another class than the one asked for.
    """
    entity = _raw(entity_type, data) if cls is RawEntity else decode_entity(entity_type, data)
    if type(entity) is not cls or not isinstance(entity, cls):
        raise DecodeError(f"cannot read {entity_type} as a {cls.__name__}")
    return entity


def _raw(entity_type: str, data: Mapping[str, Any]) -> RawEntity:
    value: object = data  # callers without a type checker pass anything
    if not isinstance(value, Mapping):
        kind = "null" if value is None else type(value).__name__
        raise DecodeError(f"cannot read {entity_type}: expected an object, got {kind} @ $")
    return RawEntity(entity_type=entity_type, data=value)


def encode_entity(entity: QBOEntity) -> dict[str, Any]:
    """`entity` as the JSON object QBO expects: a fresh dict, numbers as `Decimal`s.

    What was decoded is written back unchanged: unknown keys, `null`s and absent keys
    included. Raises `ValueError` for values JSON cannot hold (a naive datetime, a NaN)
    and `TypeError` for an attribute holding the wrong type.
    """
    if isinstance(entity, RawEntity):
        data: dict[str, Any] = thaw_json(entity.data)
        return data
    if type(entity) not in ENTITY_CLASSES.values():
        raise TypeError(f"not a QBO entity: {type(entity).__name__}")
    encoded: dict[str, Any] = entity_converter.unstructure(entity)
    return encoded


def decode_part(data: object, cls: type[P]) -> P:
    """Any entity class (a line, a detail, an address, `MetaData`...) from its JSON.

    Raises `DecodeError` naming each failing path, like `decode_entity`.
    """
    return structure(data, cls, using=entity_converter)


def encode_part(part: EntityPart) -> dict[str, Any]:
    """Any entity class as QBO's JSON: a fresh dict, numbers as `Decimal`s."""
    encoded: dict[str, Any] = entity_converter.unstructure(part)
    return encoded
