"""Bytes on the wire, as core-owned value types.

`HttpRequest` and `HttpResponse` are what crosses the `HttpTransport` port. They
know nothing of any HTTP library: an adapter turns them into its library's calls
and back. Bodies are always `bytes`; headers are case-insensitive and may repeat.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TypeAlias, overload

import attrs

HeaderInput: TypeAlias = "Headers | Mapping[str, str] | Iterable[tuple[str, str]]"

#: The largest response body read or parsed, in bytes, counted after decompression: the
#: default and the ceiling of `QBOConfig.max_response_bytes` and of `AiohttpTransport`'s
#: cap, and the limit of the wire decoders. QBO's largest answers (1,000-entity pages,
#: big reports) are a few tens of MiB.
MAX_RESPONSE_BYTES = 200 * 1024 * 1024

_SENSITIVE_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})


@attrs.frozen(init=False, repr=False)
class Headers:
    """An immutable, ordered, case-insensitive list of header fields.

    Lookups ignore case; iteration keeps the original names and order. A name may
    appear more than once (`get_all` returns every value).
    """

    items: tuple[tuple[str, str], ...]

    def __init__(self, source: HeaderInput = ()) -> None:
        if isinstance(source, Headers):
            pairs = source.items
        elif isinstance(source, Mapping):
            pairs = tuple((str(k), str(v)) for k, v in source.items())
        else:
            pairs = tuple((str(k), str(v)) for k, v in source)
        self.__attrs_init__(pairs)

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...
    @overload
    def get(self, name: str, default: str | None) -> str | None: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of `name` (any case), or `default` when absent (typed `str`
        when the default is one)."""
        wanted = name.lower()
        for key, value in self.items:
            if key.lower() == wanted:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of `name` (any case), in order; empty when absent."""
        wanted = name.lower()
        return [value for key, value in self.items if key.lower() == wanted]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def with_header(self, name: str, value: str) -> Headers:
        """A copy with every `name` field replaced by one field `name: value`."""
        wanted = name.lower()
        kept = [(k, v) for k, v in self.items if k.lower() != wanted]
        return Headers([*kept, (name, value)])

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{k!r}: {'<redacted>' if k.lower() in _SENSITIVE_HEADERS else repr(v)}"
            for k, v in self.items
        )
        return f"Headers({{{shown}}})"


def _upper(value: str) -> str:
    return value.upper()


def _check_timeout(
    _: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be positive seconds or None, got {value!r}")


@attrs.frozen(kw_only=True, repr=False)
class HttpRequest:
    """One HTTP request: method, absolute URL, headers, body bytes and a total timeout.

    `timeout` is the whole-request budget in seconds (`None`: the transport's default).
    The repr never shows the body or credential headers.
    """

    method: str = attrs.field(converter=_upper)
    url: str
    headers: Headers = attrs.field(factory=Headers, converter=Headers)
    body: bytes = b""
    timeout: float | None = attrs.field(default=None, validator=_check_timeout)

    def __repr__(self) -> str:
        return f"HttpRequest({self.method} {self.url}, {len(self.body)} bytes)"


@attrs.frozen(kw_only=True, repr=False)
class HttpResponse:
    """One HTTP response as received: status, headers and the raw body bytes."""

    status: int
    headers: Headers = attrs.field(factory=Headers, converter=Headers)
    body: bytes = b""

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased (`""` when absent)."""
        raw = self.headers.get("content-type") or ""
        return raw.split(";", 1)[0].strip().lower()

    def __repr__(self) -> str:
        return (
            f"HttpResponse({self.status}, {self.content_type or 'no type'}, {len(self.body)} bytes)"
        )
