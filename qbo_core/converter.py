"""The one cattrs converter: core value types to JSON-ready data and back.

DTOs and the configuration hold no serialization logic; this module owns all of
it. `unstructure` turns an object into plain data (`dict`, `list`, `str`, `int`,
`float`, `bool`, `None`) that `json.dumps` accepts as it is; `structure` builds
the object back and raises `DecodeError` naming every failing field path
(`$.tokens.access_token_expires_at`) when the data does not fit.

Wire formats:

- `datetime`: ISO-8601 text with its UTC offset (`2025-02-24T10:33:39-07:00`);
  an offset that is not a whole number of minutes is written as UTC instead.
  A datetime without an offset is refused in both directions: it would be read
  back in whatever zone the reader happens to run.
- `Decimal`: its exact text (`"12.50"`), never a float; non-finite values are refused.
- enums: their value. Tuples and sets: lists. Mappings: dicts.
- `int`, `float`, `str`, `bool` are strict: `"5"` is not an int, `1` is not a bool,
  and a string is never taken for a sequence of characters.
- `object` (as in `QBOEvent.attributes`): plain JSON values only.

QBO entities are not this converter's: their JSON is QBO's wire format, read and written
by `qbo_core.wire.entities` with a converter built from `make_converter()` plus the
hooks in `qbo_core.wire.entity_hooks` (so this module imports no entity).
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable, Mapping, MutableMapping, MutableSequence, Sequence, Set
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeAlias, TypeVar

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory, list_structure_factory
from cattrs.errors import ForbiddenExtraKeysError, StructureHandlerNotFoundError
from cattrs.gen import make_dict_structure_fn, mapping_structure_factory

from qbo_core.errors import DecodeError, QBOError

__all__ = ["converter", "make_converter", "structure", "unstructure"]

T = TypeVar("T")


# --------------------------------------------------------------------- scalars


def _structure_str(value: object, _: type) -> str:
    if isinstance(value, str):
        return value
    raise TypeError(f"expected a string, got {_kind(value)}")


def _structure_int(value: object, _: type) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError(f"expected an integer, got {_kind(value)}")


def _structure_float(value: object, _: type) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number):
            return number
        raise ValueError("expected a finite number")
    raise TypeError(f"expected a number, got {_kind(value)}")


def _structure_bool(value: object, _: type) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError(f"expected true or false, got {_kind(value)}")


def _unstructure_datetime(value: datetime) -> str:
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"cannot serialize a naive datetime ({value.isoformat()}); add a tzinfo")
    if offset % timedelta(minutes=1):
        # ISO-8601 offsets are whole minutes (and Python misreads some finer ones):
        # write the same instant in UTC instead.
        try:
            value = value.astimezone(UTC)
        except OverflowError:
            raise ValueError(f"cannot serialize {value.isoformat()}: out of range in UTC") from None
    return value.isoformat()


def _structure_datetime(value: object, _: type) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO-8601 datetime string, got {_kind(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not an ISO-8601 datetime: {value!r}") from None
    if parsed.utcoffset() is None:
        raise ValueError(f"datetime {value!r} has no UTC offset; naive datetimes are refused")
    return parsed


def _unstructure_decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"cannot serialize the non-finite decimal {value}")
    return str(value)


def _structure_decimal(value: object, _: type) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"expected a decimal number as a string, got {_kind(value)}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"expected a finite decimal number, got {value!r}")
    return number


# --------------------------------------------------------------------- plain values


def _is_object(type_: Any) -> bool:
    return type_ is object


def _structure_plain(value: object, _: type) -> object:
    _check_plain(value)
    return value


def _unstructure_plain(conv: cattrs.Converter, value: object) -> object:
    # Declared `object`: unstructure by what the value actually is.
    return value if type(value) is object else conv.unstructure(value)


def _check_plain(value: object) -> None:
    if value is None or isinstance(value, str | int | bool):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("expected a finite number")
        return
    if isinstance(value, list):
        for item in value:
            _check_plain(item)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"expected string keys, got {_kind(key)}")
            _check_plain(item)
        return
    raise TypeError(f"expected a plain JSON value, got {_kind(value)}")


# --------------------------------------------------------------------- containers
#
# cattrs' own hooks would iterate a string as a list of characters, or fail with
# an obscure message on a list where an object belongs; these guards check the
# shape first and then hand over to them.

StructureHook: TypeAlias = Callable[[Any, Any], Any]


def _is_list_or_tuple(type_: Any) -> bool:
    origin = typing.get_origin(type_)
    if origin in (list, Sequence, MutableSequence):
        return True
    args = typing.get_args(type_)
    return origin is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_mapping(type_: Any) -> bool:
    return typing.get_origin(type_) in (dict, Mapping, MutableMapping)


def _is_attrs_class(type_: Any) -> bool:
    return isinstance(type_, type) and attrs.has(type_)


def _list_or_tuple_factory(type_: Any, conv: cattrs.Converter) -> StructureHook:
    if typing.get_origin(type_) is tuple:
        return _guard(homogenous_tuple_structure_factory(type_, conv), _is_list, "a list")
    return _guard(list_structure_factory(type_, conv), _is_list, "a list")


def _mapping_factory(type_: Any, conv: cattrs.Converter) -> StructureHook:
    return _guard(mapping_structure_factory(type_, conv), _is_object_like, "an object")


def _attrs_factory(type_: Any, conv: cattrs.Converter) -> StructureHook:
    return _guard(make_dict_structure_fn(type_, conv), _is_object_like, "an object")


def _is_list(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


def _is_object_like(value: object) -> bool:
    return isinstance(value, Mapping)


def _guard(inner: StructureHook, accepts: Callable[[object], bool], shape: str) -> StructureHook:
    def structure_checked(value: Any, type_: Any) -> Any:
        if not accepts(value):
            raise TypeError(f"expected {shape}, got {_kind(value)}")
        return inner(value, type_)

    return structure_checked


# --------------------------------------------------------------------- assembly


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def make_converter() -> cattrs.Converter:
    """A new converter configured for every core type; `converter` is the shared one."""
    conv = cattrs.Converter(
        detailed_validation=True,
        unstruct_collection_overrides={Sequence: list, Set: list, Mapping: dict},
    )
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_unstructure_hook(datetime, _unstructure_datetime)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(Decimal, _unstructure_decimal)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_structure_hook_func(_is_object, _structure_plain)
    conv.register_unstructure_hook_func(_is_object, lambda value: _unstructure_plain(conv, value))
    conv.register_structure_hook_factory(
        _is_list_or_tuple, lambda type_: _list_or_tuple_factory(type_, conv)
    )
    conv.register_structure_hook_factory(_is_mapping, lambda type_: _mapping_factory(type_, conv))
    conv.register_structure_hook_factory(_is_attrs_class, lambda type_: _attrs_factory(type_, conv))
    return conv


converter: cattrs.Converter = make_converter()


def unstructure(obj: object) -> Any:
    """`obj` as plain data that `json.dumps` accepts.

    Raises `ValueError` for values with no faithful form (a naive datetime, a NaN decimal).
    """
    return converter.unstructure(obj)


def structure(data: object, cls: type[T], *, using: cattrs.Converter | None = None) -> T:
    """Build a `cls` from plain data (as `json.loads` returns it), with `using` (a converter
    from `make_converter()`, extended) or else the shared `converter`.

    Raises `DecodeError` whose message lists each failing path and why
    (`expected a string, got int @ $.access_token`). `QBOError`s raised on the way
    pass through unchanged, and so does
    cattrs' `StructureHandlerNotFoundError` for a type the converter cannot build.
    """
    try:
        return (converter if using is None else using).structure(data, cls)
    except (QBOError, StructureHandlerNotFoundError):
        raise  # already a core error, or a type no hook exists for (a programming error)
    except Exception as exc:
        problems = "; ".join(_describe(exc))
        raise DecodeError(f"cannot read {_type_name(cls)}: {problems}") from exc


def _describe(exc: BaseException) -> list[str]:
    if isinstance(exc, cattrs.BaseValidationError):
        return cattrs.transform_error(exc, format_exception=_format_problem)
    return [f"{_format_problem(exc, None)} @ $"]


def _format_problem(exc: BaseException, _: object) -> str:
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, ForbiddenExtraKeysError):
        return f"unexpected fields ({', '.join(sorted(exc.extra_fields))})"
    if isinstance(exc, QBOError):
        return exc.message
    return str(exc) or type(exc).__name__


def _type_name(cls: object) -> str:
    # A class by its name; a generic alias (`list[str]`, not a class since Python 3.11) as
    # it reads.
    return cls.__name__ if isinstance(cls, type) else repr(cls)
