"""What `SmartSyncService` keeps in the `Cache` port: results as bytes, and back. Pure.

Entities are written with the entity codec (`encode_entity`, which keeps unknown keys
and exact decimals) inside a small JSON envelope, and read back with `decode_entity` /
`decode_entity_as`, so a cached answer is the same object a fresh one would be:

- an entity (read, company info): ``{"t": "<EntityType>", "d": {...}}``;
- an entity read, as the response body it was decoded from (`dump_entity_body`):
  ``{"t": "<EntityType>", "k": "<envelope key>", "b": {"<key>": {...}, "time": ...}}``,
  the body's bytes put in as they came (no encoding of the entity on the way in), read
  back through the same `decode_entity` / `decode_entity_as`;
- a query page: ``{"t": type or null, "i": [{...}, ...], "s": start, "m": max, "c": total}``;
- a count: ``{"n": 12}``;
- a report: the report's JSON as QBO sent it (`Report.raw`), decoded again on the way out.

Every `load_*` raises `DecodeError` for bytes it cannot read (a format from another
version, a corrupted entry): the caller treats that as a miss.

`load_entity` remembers what it made of the last few hundred entries it decoded (up to
`_MEMO_MAX_BYTES` each), keyed by the exact bytes and the class asked for: bytes equal to
ones already decoded give the entity decoded then (entities are frozen). The cache port
still decides every hit: the bytes are those it returned just now, so an entry that
expired, was invalidated or was overwritten (in any process) is never answered from here;
this saves the decoding only, the most of a hit's CPU.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar, overload

from qbo_core.entities import QBOEntity, TypedEntity, entity_type_of
from qbo_core.errors import DecodeError, QBOError
from qbo_core.http import HttpResponse
from qbo_core.results import QueryPage, Report
from qbo_core.wire.entities import decode_entity, decode_entity_as, encode_entity
from qbo_core.wire.jsonio import dumps, loads
from qbo_core.wire.responses import decode_report

__all__ = [
    "dump_count",
    "dump_entity",
    "dump_entity_body",
    "dump_page",
    "dump_report",
    "load_count",
    "load_entity",
    "load_page",
    "load_report",
]

T = TypeVar("T", bound=TypedEntity)
E = TypeVar("E", bound=QBOEntity)


def _object(raw: bytes) -> Mapping[str, Any]:
    try:
        value = loads(raw)
    except (ValueError, RecursionError) as exc:
        raise DecodeError("a cached value is not JSON") from exc
    if not isinstance(value, Mapping):
        raise DecodeError("a cached value is not a JSON object")
    return value


def _entity(entity_type: object, data: object, cls: type[E] | None) -> QBOEntity:
    if not isinstance(entity_type, str) or not isinstance(data, Mapping):
        raise DecodeError("a cached entity has no type or no object")
    if cls is None:
        return decode_entity(entity_type, data)
    return decode_entity_as(cls, entity_type, data)


def dump_entity(entity: QBOEntity) -> bytes:
    return dumps({"t": entity_type_of(entity), "d": encode_entity(entity)})


def dump_entity_body(entity_type: str, key: str, body: bytes) -> bytes | None:
    """The cache value of an entity read from `body`, the response it was decoded from
    (`entity_type` the entity's type, `key` the envelope key it was under), without
    encoding the entity again; `None` when `body` is not plainly UTF-8 JSON text of an
    object (then `dump_entity` is the way). The body is put in as it is: it was parsed
    already, and `load_entity` parses it again and decodes the entity from it as the raw
    client did."""
    # UTF-8 JSON holds no NUL byte (control characters are escaped inside strings); a
    # UTF-16 or UTF-32 body, which `json.loads` would read too, does.
    if body.lstrip()[:1] != b"{" or b"\x00" in body:
        return None
    return b"".join((_body_header(entity_type, key), body, b"}"))


@functools.lru_cache(maxsize=256)
def _body_header(entity_type: str, key: str) -> bytes:
    """What goes before the body in `dump_entity_body` (a few names: remembered)."""
    return b'{"t":%s,"k":%s,"b":' % (json.dumps(entity_type).encode(), json.dumps(key).encode())


@overload
def load_entity(raw: bytes, cls: type[E]) -> E: ...
@overload
def load_entity(raw: bytes, cls: None = None) -> QBOEntity: ...
def load_entity(raw: bytes, cls: type[E] | None = None) -> QBOEntity:
    """The cached entity: an instance of `cls` exactly when given, else of whichever class
    models its type (as `decode_entity`). Equal bytes decoded lately give the same (frozen)
    entity again (see the module docstring)."""
    if type(raw) is bytes and len(raw) <= _MEMO_MAX_BYTES:
        return _load_entity_memo(raw, cls)  # type: ignore[arg-type]  # classes hash
    return _load_entity(raw, cls)


#: The most entities `load_entity` remembers, and the longest entry it remembers.
_MEMO_ENTRIES = 512
_MEMO_MAX_BYTES = 16 * 1024


def _load_entity(raw: bytes, cls: type[E] | None) -> QBOEntity:
    value = _object(raw)
    entity_type, data = value.get("t"), value.get("d")
    if data is None and "b" in value:  # a response body (`dump_entity_body`)
        body, key = value["b"], value.get("k")
        data = body.get(key) if isinstance(body, Mapping) and isinstance(key, str) else None
    if not isinstance(entity_type, str) or not isinstance(data, Mapping):
        raise DecodeError("a cached entity has no type or no object")
    if cls is None:
        return decode_entity(entity_type, data)
    return decode_entity_as(cls, entity_type, data)


# Bytes and classes hash by value and identity; a `DecodeError` is raised, never kept.
@functools.lru_cache(maxsize=_MEMO_ENTRIES)
def _load_entity_memo(raw: bytes, cls: type[Any] | None) -> QBOEntity:
    return _load_entity(raw, cls)


def dump_page(page: QueryPage[QBOEntity]) -> bytes:
    return dumps(
        {
            "t": page.entity_type,
            "i": [encode_entity(item) for item in page.items],
            "s": page.start_position,
            "m": page.max_results,
            "c": page.total_count,
            "w": None if page.time is None else page.time.isoformat(),
        }
    )


def _optional_time(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise DecodeError("a cached page has a malformed time")
    return when


def _optional_int(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise DecodeError("a cached page has a malformed number")
    return value


def load_page(raw: bytes, cls: type[T] | None = None) -> QueryPage[QBOEntity]:
    """The cached page; its items are instances of `cls` exactly when given."""
    value = _object(raw)
    entity_type, items = value.get("t"), value.get("i")
    if not isinstance(items, list) or (items and not isinstance(entity_type, str)):
        raise DecodeError("a cached page has no item list")
    max_results = _optional_int(value.get("m"))
    return QueryPage(
        entity_type=entity_type if isinstance(entity_type, str) else None,
        items=tuple(_entity(entity_type, item, cls) for item in items),
        start_position=_optional_int(value.get("s")),
        max_results=max_results if max_results is not None else len(items),
        total_count=_optional_int(value.get("c")),
        time=_optional_time(value.get("w")),
    )


def dump_count(count: int) -> bytes:
    return dumps({"n": count})


def load_count(raw: bytes) -> int:
    count = _optional_int(_object(raw).get("n"))
    if count is None:
        raise DecodeError("a cached count has no number")
    return count


def dump_report(report: Report) -> bytes:
    return dumps(dict(report.raw))


def load_report(raw: bytes) -> Report:
    """The cached report, decoded as a fresh 200 answer holding `raw` would be."""
    try:
        return decode_report(HttpResponse(status=200, body=raw))
    except DecodeError:
        raise
    except QBOError as exc:  # a fault where a report was: unreadable, like any other entry
        raise DecodeError("a cached report is a QBO fault, not a report") from exc
