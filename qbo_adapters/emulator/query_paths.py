"""Reading a query's property paths out of JSON-like entities, a column at a time.

Names match case-insensitively at every level (`Metadata.lastupdatedtime` reads
`MetaData.LastUpdatedTime`). A path that passes through a list reads every element
(`AttachableRef.EntityRef.Type`) and yields a `Many`. A missing property, or one
below a null or a scalar, reads as `MISSING`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any, Final

__all__ = ["MISSING", "Many", "Path", "reference_of"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


#: What reading an absent property gives.
MISSING: Final[Any] = _Missing()
_UNSEEN: Final = object()
_NOT_A_DICT: Final = object()


class Many:
    """The values a path reached through a list (nulls left out)."""

    __slots__ = ("values",)

    def __init__(self, values: list[Any]) -> None:
        self.values = values


class _Key:
    """One path segment, looked up case-insensitively.

    `spelling` is the last spelling found in the data, tried first; other spellings are
    resolved once per distinct key set.
    """

    __slots__ = ("lowered", "resolved", "spelling")

    def __init__(self, name: str) -> None:
        self.spelling = name
        self.lowered = name.lower()
        self.resolved: dict[tuple[Any, ...], Any] = {}

    def read(self, mapping: Mapping[Any, Any]) -> Any:
        value = mapping.get(self.spelling, MISSING)
        if value is not MISSING:
            return value
        keys = tuple(mapping)
        found = self.resolved.get(keys, _UNSEEN)
        if found is _UNSEEN:
            lowered = self.lowered
            found = next((k for k in keys if isinstance(k, str) and k.lower() == lowered), None)
            if len(self.resolved) >= 4096:
                self.resolved.clear()
            self.resolved[keys] = found
        if found is None:
            return MISSING
        self.spelling = found
        return mapping[found]


_VALUE_KEY = _Key("value")


def reference_of(mapping: Mapping[Any, Any]) -> Any:
    """A reference object's `value` (`CustomerRef` → its Id), or `MISSING`."""
    return _VALUE_KEY.read(mapping)


class Path:
    """A dotted property path (`MetaData.LastUpdatedTime`) read from many entities."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.keys = [_Key(segment) for segment in path.split(".")]

    def column(self, entities: Sequence[Mapping[str, Any]]) -> list[Any]:
        """The path's value in each entity: a value (null included), `MISSING`, or `Many`.

        Plain dicts spelt as the query spells them take the fast path; anything else
        (other spellings, lists, other mappings) is resolved one entity at a time.
        """
        values: list[Any] = list(entities)
        for level, key in enumerate(self.keys):
            spelling = key.spelling
            above = values
            if set(map(type, above)) == {dict}:
                try:  # every value a dict holding the key: all in C
                    values = list(map(itemgetter(spelling), above))
                    continue
                except KeyError:
                    pass
            values = [
                value.get(spelling, MISSING) if type(value) is dict else _NOT_A_DICT
                for value in above
            ]
            if MISSING in values or _NOT_A_DICT in values:
                for index, value in enumerate(values):
                    if value is MISSING or value is _NOT_A_DICT:
                        values[index] = self._step(above[index], level)
        return values

    def read(self, entity: Mapping[str, Any]) -> Any:
        """The path's value in one entity (as `column` gives it)."""
        return self._walk(entity, 0)

    def _step(self, value: Any, level: int) -> Any:
        if type(value) is Many:
            return value
        if type(value) is list:
            return Many(self._gather(value, level))
        if isinstance(value, Mapping):
            return self.keys[level].read(value)
        return MISSING

    def _walk(self, value: Any, level: int) -> Any:
        for index in range(level, len(self.keys)):
            if type(value) is dict or isinstance(value, Mapping):
                value = self.keys[index].read(value)
            elif type(value) is list:
                return Many(self._gather(value, index))
            else:
                return MISSING
        return value

    def _gather(self, items: list[Any], level: int) -> list[Any]:
        found: list[Any] = []
        for item in items:
            value = self._walk(item, level)
            if type(value) is Many:
                found.extend(value.values)
            elif type(value) is list:
                found.extend(element for element in value if element is not None)
            elif value is not MISSING and value is not None:
                found.append(value)
        return found
