"""How entities meet QBO's JSON: the cattrs hooks of the entity converter.

Entity classes hold no serialization logic; this module holds all of it.
`qbo_core.wire.entities` builds its converter from `qbo_core.converter.make_converter`
plus `register_entity_hooks`, so the core's converter never imports the entities.

Keys. An attribute's JSON key is its name in PascalCase (`display_name` -> `DisplayName`,
`vendor_1099` -> `Vendor1099`), except: `meta` -> `MetaData`, `domain` and `sparse` stay
lower-case, `uri` -> `URI`, `ssn` -> `SSN`, `ap_account_ref` / `ar_account_ref` /
`cc_account_ref` -> `APAccountRef` / `ARAccountRef` / `CCAccountRef`, a `Ref`'s keys are
lower-case (`value`, `name`, `type`), and a line's `detail` is keyed by its detail type
(`SalesItemLineDetail`; `DescriptionLineDetail` for a `DescriptionOnly` line).

Unknown and null keys. Every key a class does not model goes to its `extra` mapping as it
arrived; so does every modelled key whose value is JSON `null` (a typed `None` means the key
was absent). Writing, the typed fields that are set come first, then each `extra` key not
already written: absent stays absent, `null` stays `null`, unknown data is never lost.

Values, reading:

- money, quantities and rates (`Decimal` fields): a JSON number (`int`, or `Decimal` as
  `qbo_core.wire` parses them), a `float` (taken by its shortest repr, so `54.1` is
  `Decimal("54.1")`), or a numeric string (`"12.50"`, as QBO itself accepts in requests).
  Booleans, NaN, infinities and other strings are refused.
- dates: `YYYY-MM-DD` text only. Datetimes: ISO-8601 text with a UTC offset, which is kept
  (naive ones are refused).
- strings, booleans and integers are strict: `"5"` is not an integer, `1` is not a boolean.

Values, writing: `Decimal` objects (never floats) for the wire's JSON writer, dates as
`YYYY-MM-DD`, datetimes as `2025-02-24T10:33:39-07:00` (milliseconds or microseconds only
when present). A `Z` suffix read is written back as `+00:00`.

Wrong shapes raise cattrs' validation errors carrying the JSON key or index of each
problem, which `qbo_core.wire.entities` turns into a `DecodeError` naming each path
(`$.Line[2].SalesItemLineDetail.UnitPrice`).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    IterableValidationError,
    IterableValidationNote,
)

from qbo_core.entities import base, lines, names, parts, transactions
from qbo_core.entities.base import EntityPart, RawEntity, thaw_json
from qbo_core.entities.lines import DescriptionOnlyLine, Line, LineBase, LinkedTxnLine, RawLine
from qbo_core.entities.parts import Ref

__all__ = ["qbo_key", "register_entity_hooks"]

Load = Callable[[Any], Any]
Dump = Callable[[Any], Any]

_IRREGULAR_KEYS = {
    "meta": "MetaData",
    "domain": "domain",
    "sparse": "sparse",
    "uri": "URI",
    "ssn": "SSN",
    "ap_account_ref": "APAccountRef",
    "ar_account_ref": "ARAccountRef",
    "cc_account_ref": "CCAccountRef",
}
_LOWER_CASE_KEYS: frozenset[type] = frozenset({Ref})
_DETAIL_KEYS: Mapping[type, str] = {DescriptionOnlyLine: "DescriptionLineDetail"}
_DETAIL_TYPE = "DetailType"


def qbo_key(cls: type, name: str) -> str:
    """The JSON key of attribute `name` of entity class `cls`."""
    if cls in _LOWER_CASE_KEYS:
        return name
    if name == "detail" and issubclass(cls, LineBase) and cls.DETAIL_TYPE is not None:
        return _DETAIL_KEYS.get(cls, cls.DETAIL_TYPE)
    if name in _IRREGULAR_KEYS:
        return _IRREGULAR_KEYS[name]
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


# --------------------------------------------------------------------- scalars


def _kind(value: object) -> str:
    if value is None:
        return "null"
    for types_, name in (
        (bool, "a boolean"),
        (str, "a string"),
        (int | float | Decimal, "a number"),
        (Mapping, "an object"),
        (list | tuple, "a list"),
    ):
        if isinstance(value, types_):
            return name
    return type(value).__name__


def _same(value: Any) -> Any:
    return value


def _load_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise TypeError(f"expected a string, got {_kind(value)}")


def _load_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError(f"expected true or false, got {_kind(value)}")


def _load_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError(f"expected an integer, got {_kind(value)}")


_NUMERIC = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _load_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        if not _NUMERIC.fullmatch(value):
            raise ValueError(f"expected a number, got the string {value[:40]!r}")
        return Decimal(value)
    else:
        raise TypeError(f"expected a number, got {_kind(value)}")
    if not number.is_finite():
        raise ValueError(f"expected a finite number, got {value}")
    return number


def _dump_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot write the non-finite decimal {value}")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"expected a Decimal, got {type(value).__name__}")


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _load_date(value: Any) -> date:
    if not isinstance(value, str):
        raise TypeError(f"expected a date string (YYYY-MM-DD), got {_kind(value)}")
    if _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"not a date (YYYY-MM-DD): {value[:40]!r}")


def _dump_date(value: Any) -> str:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"expected a date, got {type(value).__name__}")
    return value.isoformat()


def _load_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO-8601 datetime string, got {_kind(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not an ISO-8601 datetime: {value[:40]!r}") from None
    if parsed.utcoffset() is None:
        raise ValueError(f"datetime {value[:40]!r} has no UTC offset")
    return parsed


def _dump_datetime(value: Any) -> str:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    if value.utcoffset() is None:
        raise ValueError(f"cannot write the naive datetime {value.isoformat()}; add a tzinfo")
    if not value.microsecond:
        spec = "seconds"
    elif value.microsecond % 1000 == 0:
        spec = "milliseconds"
    else:
        spec = "microseconds"
    return value.isoformat(timespec=spec)


_SCALARS: Mapping[type, tuple[Load, Dump]] = {
    str: (_load_str, _same),
    bool: (_load_bool, _same),
    int: (_load_int, _same),
    Decimal: (_load_decimal, _dump_decimal),
    date: (_load_date, _dump_date),
    datetime: (_load_datetime, _dump_datetime),
}


# --------------------------------------------------------------------- lists and objects


def _at_key(exc: Exception, cls: type, key: str, hint: Any) -> Exception:
    exc.add_note(
        AttributeValidationNote(
            f"Structuring class {cls.__qualname__} @ attribute {key}", key, hint
        )
    )
    return exc


def _list_codec(load_item: Load, dump_item: Dump, hint: Any) -> tuple[Load, Dump]:
    def load(value: Any) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            raise TypeError(f"expected a list, got {_kind(value)}")
        items: list[Any] = []
        errors: list[Exception] = []
        for index, item in enumerate(value):
            try:
                items.append(load_item(item))
            except Exception as exc:  # every problem is reported with its path
                exc.add_note(IterableValidationNote(f"Structuring @ index {index}", index, hint))
                errors.append(exc)
        if errors:
            raise IterableValidationError("While structuring a list", errors, tuple)
        return tuple(items)

    def dump(value: Any) -> list[Any]:
        return [dump_item(item) for item in value]

    return load, dump


def _field_codec(conv: cattrs.Converter, hint: Any) -> tuple[Load, Dump]:
    """How to read and write one attribute declared as `hint` (`X | None`)."""
    if hint != Line and typing.get_origin(hint) in (typing.Union, types.UnionType):
        rest = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(rest) != 1:
            raise TypeError(f"entity attributes must be `X | None`, not {hint!r}")
        hint = rest[0]
    if hint in _SCALARS:
        return _SCALARS[hint]
    if typing.get_origin(hint) is tuple:
        item, ellipsis = typing.get_args(hint)
        assert ellipsis is Ellipsis, hint
        return _list_codec(*_field_codec(conv, item), item)
    if hint == Line or (isinstance(hint, type) and attrs.has(hint)):

        def load(value: Any) -> Any:
            return conv.structure(value, hint)

        return load, conv.unstructure
    raise TypeError(f"no entity codec for {hint!r}")  # a class bug


@attrs.frozen
class _Field:
    name: str
    key: str
    hint: Any
    required: bool
    load: Load
    dump: Dump


class _ObjectCodec:
    """Reads and writes one entity class, keeping unknown and null keys in `extra`."""

    def __init__(self, conv: cattrs.Converter, cls: type[EntityPart]) -> None:
        hints = typing.get_type_hints(cls)
        self.cls = cls
        self.fields = tuple(
            _Field(
                field.name,
                qbo_key(cls, field.name),
                hints[field.name],
                field.default is attrs.NOTHING,
                *_field_codec(conv, hints[field.name]),
            )
            for field in attrs.fields(cls)
            if field.name != "extra"
        )
        self.by_key = {field.key: field for field in self.fields}
        if len(self.by_key) != len(self.fields):  # a class bug
            raise TypeError(f"{cls.__name__} maps two attributes to one JSON key")
        self.detail_type = cls.DETAIL_TYPE if issubclass(cls, LineBase) else None

    def load(self, data: Any, _: Any = None) -> EntityPart:
        if not isinstance(data, Mapping):
            raise TypeError(f"expected an object, got {_kind(data)}")
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        errors: list[Exception] = []
        for key, raw in data.items():
            field = self.by_key.get(key)
            if field is None:
                if key == _DETAIL_TYPE and self.detail_type is not None:
                    if raw != self.detail_type:
                        error = ValueError(f"expected {self.detail_type!r}, got {raw!r}")
                        errors.append(_at_key(error, self.cls, key, str))
                    continue
                extra[key] = raw
            elif raw is None:
                extra[key] = None
            else:
                try:
                    values[field.name] = field.load(raw)
                except Exception as exc:  # every problem is reported with its path
                    errors.append(_at_key(exc, self.cls, key, field.hint))
        for field in self.fields:
            if field.required and data.get(field.key) is None:
                errors.append(_at_key(KeyError(field.key), self.cls, field.key, field.hint))
        if errors:
            raise ClassValidationError(f"While structuring {self.cls.__name__}", errors, self.cls)
        return self.cls(**values, extra=extra)

    def dump(self, obj: EntityPart) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.detail_type is not None:
            data[_DETAIL_TYPE] = self.detail_type
        for field in self.fields:
            value = getattr(obj, field.name)
            if value is not None:
                data[field.key] = field.dump(value)
        for key, value in obj.extra.items():
            if key not in data:
                data[key] = thaw_json(value)
        return data


# --------------------------------------------------------------------- lines


def _line_classes() -> dict[str, type[LineBase]]:
    return {
        cls.DETAIL_TYPE: cls
        for cls in typing.get_args(Line)
        if issubclass(cls, LineBase) and cls.DETAIL_TYPE is not None
    }


def _line_loader(conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    by_detail_type = _line_classes()

    def load_line(data: Any, _: Any) -> LineBase | RawLine:
        if not isinstance(data, Mapping):
            raise TypeError(f"expected an object, got {_kind(data)}")
        if _DETAIL_TYPE not in data:
            return conv.structure(data, LinkedTxnLine)
        detail_type = data[_DETAIL_TYPE]
        cls = by_detail_type.get(detail_type) if isinstance(detail_type, str) else None
        if cls is None:
            return RawLine(data=data)
        return conv.structure(data, cls)

    return load_line


# --------------------------------------------------------------------- registration


def _entity_classes() -> list[type[EntityPart]]:
    """Every class the modules of this package export (the abstract bases included)."""
    return [
        exported
        for module in (base, parts, lines, names, transactions)
        for exported in (getattr(module, name) for name in module.__all__)
        if isinstance(exported, type)
        and issubclass(exported, EntityPart)
        and exported is not EntityPart
    ]


def _dump_raw(obj: RawLine | RawEntity) -> dict[str, Any]:
    data: dict[str, Any] = thaw_json(obj.data)
    return data


def _load_raw_line(data: Any, _: Any) -> RawLine:
    if not isinstance(data, Mapping):
        raise TypeError(f"expected an object, got {_kind(data)}")
    return RawLine(data=data)


def register_entity_hooks(conv: cattrs.Converter) -> None:
    """Teach `conv` every class of `qbo_core.entities` (called by `qbo_core.wire.entities`)."""
    for cls in _entity_classes():
        codec = _ObjectCodec(conv, cls)
        conv.register_structure_hook(cls, codec.load)
        conv.register_unstructure_hook(cls, codec.dump)
    conv.register_structure_hook(RawLine, _load_raw_line)
    conv.register_unstructure_hook(RawLine, _dump_raw)
    conv.register_unstructure_hook(RawEntity, _dump_raw)
    conv.register_structure_hook_func(lambda type_: type_ == Line, _line_loader(conv))
