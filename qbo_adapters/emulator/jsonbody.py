"""Request bodies as JSON, with a bound on how deeply they nest.

QBO documents no nesting limit (its JSON reader, Jackson, stops at 1000 levels); no real
QBO body nests more than a handful. The emulator's own code walks bodies recursively
(copies, coercion), so it refuses anything deeper than `MAX_DEPTH` levels up front, in
the caller's documented fault (2010 for the data API, 400 for control and revoke),
instead of failing later with a `RecursionError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

__all__ = ["MAX_DEPTH", "JsonTooDeep", "loads_bounded", "too_deep"]

#: The deepest nesting of arrays and objects a request body may have.
MAX_DEPTH: Final = 64


class JsonTooDeep(ValueError):
    """A JSON document nests arrays and objects deeper than `MAX_DEPTH`."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"JSON nests deeper than {limit} levels")
        self.limit = limit


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` (decoded JSON) nests lists and dicts deeper than `limit` (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def loads_bounded(
    text: str | bytes,
    *,
    limit: int = MAX_DEPTH,
    parse_float: Callable[[str], Any] | None = None,
    parse_constant: Callable[[str], Any] | None = None,
) -> Any:
    """`json.loads(text)`; `ValueError` (`JsonTooDeep` for nesting past `limit`) when it
    is not JSON, `UnicodeDecodeError` for bytes that are not UTF-8."""
    try:
        value = json.loads(text, parse_float=parse_float, parse_constant=parse_constant)
    except RecursionError:
        raise JsonTooDeep(limit) from None
    if too_deep(value, limit):
        raise JsonTooDeep(limit)
    return value
