"""`MemoryMirror`: the `Mirror` port in one process's memory, for tests and demos."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from qbo_core.dtos import EntitySummary, MirrorProgress
from qbo_core.entities import QBOEntity, entity_type_of
from qbo_core.wire.canonical import canonical_json, rows_checksum
from qbo_core.wire.entities import decode_entity
from qbo_core.wire.jsonio import loads

__all__ = ["MemoryMirror"]


class MemoryMirror:
    """Realms of entities in dicts: realm -> entity type -> Id -> canonical JSON bytes.

    Each row is held as its canonical JSON, as the SQL mirror holds it, so `get` returns
    a fresh entity decoded from it (equal to the one stored) and `summary` sums the very
    bytes it holds. `apply` checks and encodes everything before it changes anything,
    and awaits nothing in between, so it is all or nothing and atomic for the tasks of
    one event loop. Nothing is shared between processes.
    """

    def __init__(self) -> None:
        self._rows: dict[str, dict[str, dict[str, bytes]]] = {}
        self._progress: dict[str, MirrorProgress] = {}

    async def ping(self) -> None:
        return None  # the rows live in this process: nothing to reach

    async def apply(
        self,
        realm_id: str,
        *,
        upserts: Sequence[QBOEntity] = (),
        deletions: Sequence[tuple[str, str]] = (),
        progress: MirrorProgress | None = None,
    ) -> None:
        encoded: list[tuple[str, str, bytes]] = []
        for entity in upserts:
            entity_id = entity.id
            if entity_id is None:
                raise ValueError(f"a {entity_type_of(entity)} without an Id cannot be mirrored")
            encoded.append((entity_type_of(entity), entity_id, canonical_json(entity)))
        realm = self._rows.setdefault(realm_id, {})
        for entity_type, entity_id, body in encoded:
            realm.setdefault(entity_type, {})[entity_id] = body
        for entity_type, entity_id in deletions:
            rows = realm.get(entity_type)
            if rows is not None:
                rows.pop(entity_id, None)
                if not rows:
                    del realm[entity_type]
        if not realm:
            del self._rows[realm_id]
        if progress is not None:
            self._progress[realm_id] = progress

    async def progress(self, realm_id: str) -> MirrorProgress | None:
        return self._progress.get(realm_id)

    async def summary(self, realm_id: str) -> Mapping[str, EntitySummary]:
        return {
            entity_type: EntitySummary(count=len(rows), checksum=rows_checksum(rows.items()))
            for entity_type, rows in sorted(self._rows.get(realm_id, {}).items())
        }

    async def ids(self, realm_id: str, entity_type: str) -> frozenset[str]:
        return frozenset(self._rows.get(realm_id, {}).get(entity_type, {}))

    async def get(self, realm_id: str, entity_type: str, entity_id: str) -> QBOEntity | None:
        body = self._rows.get(realm_id, {}).get(entity_type, {}).get(entity_id)
        return None if body is None else decode_entity(entity_type, loads(body))

    async def realms(self) -> tuple[str, ...]:
        return tuple(sorted(set(self._rows) | set(self._progress)))

    async def drop_realm(self, realm_id: str) -> None:
        self._rows.pop(realm_id, None)
        self._progress.pop(realm_id, None)

    def __repr__(self) -> str:
        return f"MemoryMirror(realms={len(self._rows)})"
