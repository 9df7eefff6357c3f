"""What the Redis adapters share: key encoding, the error edge, the client check, GC TTLs."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import redis.exceptions

from qbo_core.errors import ConfigurationError, StoreUnavailableError

__all__ = [
    "DEFAULT_GC_GRACE",
    "DEFAULT_PREFIX",
    "check_client",
    "encode",
    "gc_milliseconds",
    "redis_errors",
    "wall",
]

#: The key prefix every Redis adapter uses unless told otherwise.
DEFAULT_PREFIX = "qbo:"

#: Seconds a key outlives its wall-clock expiry before Redis collects it (clock skew room).
DEFAULT_GC_GRACE = 300.0


def encode(text: str) -> str:
    """`text` as a key segment: percent-encoded, so `:`, `*`, spaces and unicode never collide.

    Every character but ASCII letters, digits and `_.-~` is escaped, so the segment never
    holds the `:` separator or a `{` hash tag, and distinct texts give distinct segments.
    """
    return quote(text, safe="", errors="surrogatepass")


def wall(seconds: float) -> str:
    """Epoch seconds as the text a Lua script reads back to the very same double."""
    return repr(float(seconds))


def gc_milliseconds(lifetime: float, grace: float) -> int:
    """The native TTL for a key living `lifetime` seconds: garbage collection only."""
    return max(1, math.ceil((lifetime + grace) * 1000))


def check_client(client: Any) -> None:
    """Refuse a client that decodes replies to `str`: values here are bytes."""
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", {})
    if kwargs.get("decode_responses"):
        raise ConfigurationError(
            "the Redis client must return bytes: build it with decode_responses=False",
            field="decode_responses",
        )


@contextmanager
def redis_errors(operation: str) -> Iterator[None]:
    """Turn redis-py's errors raised inside into `StoreUnavailableError` (the adapter edge)."""
    try:
        yield
    except redis.exceptions.TimeoutError as exc:
        raise StoreUnavailableError(
            f"Redis did not answer in time ({operation}); it may have been applied",
            backend="redis",
        ) from exc
    except redis.exceptions.ConnectionError as exc:
        raise StoreUnavailableError(
            f"could not reach Redis ({operation})", backend="redis", detail=type(exc).__name__
        ) from exc
    except redis.exceptions.RedisError as exc:
        raise StoreUnavailableError(
            f"Redis refused {operation}: {type(exc).__name__}", backend="redis"
        ) from exc
