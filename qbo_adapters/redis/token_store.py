"""`RedisTokenStore`: the `TokenStore` port in Redis, compare-and-set by a Lua script."""

from __future__ import annotations

import json

import redis.asyncio

from qbo_adapters.redis._common import DEFAULT_PREFIX, check_client, encode, redis_errors
from qbo_core.converter import structure, unstructure
from qbo_core.dtos import TokenSet, VersionedTokenSet
from qbo_core.errors import ConflictError, DecodeError

__all__ = ["RedisTokenStore"]

# KEYS[1] the realm's hash; ARGV expected version ('' = absent), tokens JSON.
# Returns {1, new version} or {0, actual version ('' = absent)}.
_SAVE = """
local actual = redis.call('HGET', KEYS[1], 'version') or ''
if actual ~= ARGV[1] then
  return {0, actual}
end
local version = (tonumber(actual) or 0) + 1
redis.call('HSET', KEYS[1], 'version', tostring(version), 'tokens', ARGV[2])
return {1, tostring(version)}
"""

# KEYS[1] the realm's hash; ARGV expected version ('' = any).
# Returns {1, removed version}, {0, ''} when absent, or {-1, actual version}.
_DELETE = """
local actual = redis.call('HGET', KEYS[1], 'version')
if not actual then
  return {0, ''}
end
if ARGV[1] ~= '' and actual ~= ARGV[1] then
  return {-1, actual}
end
redis.call('DEL', KEYS[1])
return {1, actual}
"""


class RedisTokenStore:
    """Each realm's tokens in one Redis hash (`version`, `tokens` as JSON), no expiry.

    `save` and a guarded `delete` are single Lua scripts, so the compare-and-set on
    the version is atomic across every process and host using the same Redis. Tokens
    are written by the core's converter (datetimes as ISO-8601 with their offset).
    Redis holds them in clear: wrap the store in an encrypting one where that matters.

    The client is borrowed and must return bytes. Keys are `{prefix}tokens:{realm}`,
    the realm percent-encoded. Redis errors become `StoreUnavailableError`.
    """

    def __init__(self, client: redis.asyncio.Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        check_client(client)
        self._client = client
        self._prefix = prefix
        self._save = client.register_script(_SAVE)
        self._delete = client.register_script(_DELETE)

    async def ping(self) -> None:
        with redis_errors("token store ping"):
            await self._client.ping()

    async def load(self, realm_id: str) -> VersionedTokenSet | None:
        with redis_errors("token load"):
            version, data = await self._client.hmget(self._key(realm_id), ["version", "tokens"])
        if version is None or data is None:
            return None
        try:
            plain = json.loads(data)
        except ValueError as exc:
            raise DecodeError(
                "the tokens stored in Redis are not JSON; nothing was changed", realm_id=realm_id
            ) from exc
        tokens = structure(plain, TokenSet)
        return VersionedTokenSet(tokens=tokens, version=int(version))

    async def save(
        self, realm_id: str, tokens: TokenSet, *, expected_version: int | None
    ) -> VersionedTokenSet:
        data = json.dumps(unstructure(tokens), separators=(",", ":"))
        expected = "" if expected_version is None else str(expected_version)
        with redis_errors("token save"):
            stored, version = await self._save(keys=[self._key(realm_id)], args=[expected, data])
        if not stored:
            raise _conflict("save", realm_id, expected_version, _version(version))
        return VersionedTokenSet(tokens=tokens, version=int(version))

    async def delete(self, realm_id: str, *, expected_version: int | None = None) -> bool:
        expected = "" if expected_version is None else str(expected_version)
        with redis_errors("token delete"):
            outcome, version = await self._delete(keys=[self._key(realm_id)], args=[expected])
        if outcome == -1:
            raise _conflict("delete", realm_id, expected_version, _version(version))
        return bool(outcome)

    def __repr__(self) -> str:
        return f"RedisTokenStore(prefix={self._prefix!r})"

    def _key(self, realm_id: str) -> str:
        return f"{self._prefix}tokens:{encode(realm_id)}"


def _version(reply: bytes) -> int | None:
    return int(reply) if reply else None


def _conflict(
    operation: str, realm_id: str, expected: int | None, actual: int | None
) -> ConflictError:
    return ConflictError(
        f"token {operation} expected version {expected}, but the store holds {actual}",
        expected=expected,
        actual=actual,
        realm_id=realm_id,
    )
