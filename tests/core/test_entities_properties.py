"""Hypothesis round trips: any entity, encoded and sent through JSON text, reads back equal.

The strategies are built from the classes themselves (their attrs fields and type hints),
so a new field is covered the day it is added. Every object gets unknown keys and `null`s
for some of its absent fields, at every level: entity, lines, details, addresses, refs.
"""

from __future__ import annotations

import typing
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from qbo_core.entities import (
    ENTITY_CLASSES,
    Customer,
    EntityPart,
    Invoice,
    Line,
    LineBase,
    LinkedTxnLine,
    MetaData,
    RawEntity,
    RawLine,
    entity_type_of,
)
from qbo_core.wire.entities import decode_entity, decode_part, encode_entity, encode_part
from qbo_core.wire.entity_hooks import qbo_key
from tests.core.corpus import exact_json, parse

MAX_DEPTH = 4

OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
DECIMALS = st.decimals(allow_nan=False, allow_infinity=False)
SCALARS: dict[Any, st.SearchStrategy[Any]] = {
    str: st.text(max_size=8),
    bool: st.booleans(),
    int: st.integers(-(10**12), 10**12),
    Decimal: DECIMALS | st.integers(-(10**9), 10**9).map(Decimal),
    date: st.dates(),
    datetime: st.datetimes(timezones=OFFSETS),
}
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | DECIMALS | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
LINE_CLASSES = [cls for cls in typing.get_args(Line) if cls is not RawLine]
KNOWN_DETAIL_TYPES = {cls.DETAIL_TYPE for cls in LINE_CLASSES}


def modelled_keys(cls: type[EntityPart]) -> set[str]:
    keys = {qbo_key(cls, field.name) for field in attrs.fields(cls) if field.name != "extra"}
    if issubclass(cls, LineBase):
        keys.add("DetailType")  # chosen by the class (absent for LinkedTxnLine)
    return keys


def unknown_fields(cls: type[EntityPart]) -> st.SearchStrategy[dict[str, Any]]:
    reserved = modelled_keys(cls)
    keys = st.text(min_size=1, max_size=10).filter(lambda key: key not in reserved)
    return st.dictionaries(keys, JSON_VALUES, max_size=2)


def values_of(hint: Any, depth: int) -> st.SearchStrategy[Any]:
    """Values of an attribute declared as `hint` (without its `| None`)."""
    if hint in SCALARS:
        return SCALARS[hint]
    if hint == Line:
        return lines(depth)
    if typing.get_origin(hint) is tuple:
        (item, _) = typing.get_args(hint)
        return st.lists(values_of(item, depth), max_size=2).map(tuple)
    assert isinstance(hint, type), hint
    assert issubclass(hint, EntityPart), hint
    return instances(hint, depth + 1)


@st.composite
def instances(draw: st.DrawFn, cls: type[EntityPart], depth: int = 0) -> EntityPart:
    """An instance of `cls` with random fields, unknown keys and nulls for some absent keys."""
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    nullable: list[str] = []
    for field in attrs.fields(cls):
        if field.name == "extra":
            continue
        hint = hints[field.name]
        if field.default is not attrs.NOTHING:
            (hint,) = (arg for arg in typing.get_args(hint) if arg is not type(None))
        present = field.default is attrs.NOTHING or (depth < MAX_DEPTH and draw(st.booleans()))
        if present:
            values[field.name] = draw(values_of(hint, depth))
        else:
            nullable.append(qbo_key(cls, field.name))
    extra = draw(unknown_fields(cls))
    for key in draw(st.lists(st.sampled_from(nullable), unique=True)) if nullable else []:
        extra[key] = None
    return cls(**values, extra=extra)


def raw_lines() -> st.SearchStrategy[RawLine]:
    detail_types = st.none() | st.text(max_size=12).filter(lambda t: t not in KNOWN_DETAIL_TYPES)
    return st.builds(
        lambda detail_type, rest: RawLine(data={**rest, "DetailType": detail_type}),
        detail_types,
        st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=3),
    )


def lines(depth: int) -> st.SearchStrategy[Any]:
    # Group lines hold lines: stop nesting them past the depth limit.
    classes = [
        cls for cls in LINE_CLASSES if depth < MAX_DEPTH or cls.DETAIL_TYPE != "GroupLineDetail"
    ]
    return st.one_of(*(instances(cls, depth + 1) for cls in classes), raw_lines())


TYPED_ENTITIES = st.sampled_from(sorted(ENTITY_CLASSES)).flatmap(
    lambda name: instances(ENTITY_CLASSES[name])
)
RAW_ENTITIES = st.builds(
    RawEntity,
    entity_type=st.sampled_from(["Estimate", "Attachable", "TaxCode", "Preferences", "Bogus"]),
    data=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4),
)


def through_json(data: dict[str, Any]) -> Any:
    """`data` written as exact JSON text and parsed back the way the wire module parses."""
    return parse(exact_json(data))


@given(TYPED_ENTITIES)
def test_typed_entities_round_trip_through_json_text(entity: Any) -> None:
    """A typed entity, written as JSON text and read back, is equal and encodes the same."""
    encoded = encode_entity(entity)
    back = decode_entity(entity_type_of(entity), through_json(encoded))
    assert back == entity
    assert exact_json(encode_entity(back)) == exact_json(encoded)


@given(RAW_ENTITIES)
def test_raw_entities_round_trip_through_json_text(entity: RawEntity) -> None:
    """An entity without a typed class comes back as an equal `RawEntity`."""
    back = decode_entity(entity.entity_type, through_json(encode_entity(entity)))
    assert isinstance(back, RawEntity)
    assert back == entity


@given(st.lists(lines(0), max_size=4))
def test_lines_of_every_detail_type_round_trip(line_list: list[Any]) -> None:
    """Lines of every kind, unknown ones included, keep their class and data through JSON."""
    invoice = Invoice(line=tuple(line_list))
    back = decode_entity("Invoice", through_json(encode_entity(invoice)))
    assert isinstance(back, Invoice)
    assert back.line == invoice.line
    assert [type(line) for line in back.line or ()] == [type(line) for line in line_list]


@given(instances(LinkedTxnLine))
def test_lines_without_detail_type_are_linked_txn_lines(line: LinkedTxnLine) -> None:
    """A line with no `DetailType` is written without one and read back as a `LinkedTxnLine`."""
    data = encode_part(line)
    assert "DetailType" not in data
    line_type: Any = Line  # a union, which `structure`'s `type[T]` cannot spell
    assert decode_part(through_json(data), line_type) == line


@given(st.datetimes(timezones=OFFSETS))
def test_metadata_times_keep_their_offset(moment: datetime) -> None:
    """A MetaData time comes back with the same instant and the same UTC offset."""
    customer = Customer(meta=MetaData(create_time=moment, last_updated_time=moment))
    back = decode_entity("Customer", through_json(encode_entity(customer)))
    assert isinstance(back, Customer)
    assert back.meta is not None
    assert back.meta.create_time is not None
    assert back.meta.create_time == moment
    assert back.meta.create_time.utcoffset() == moment.utcoffset()
