"""What every entity class shares: the kept unknown fields, a short repr, `MetaData`.

`EntityPart` is the base of every typed class here (entities, their lines, their nested
objects). Its `extra` mapping holds each JSON key the class does not model, exactly as it
arrived, plus each modelled key that arrived as JSON `null` (a typed `None` means *absent*,
so a `null` has to live somewhere else to be written back). `RawEntity` carries the entities
without a typed class, as their JSON data.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar

import attrs

__all__ = ["EntityBase", "EntityPart", "MetaData", "RawEntity", "freeze_json", "thaw_json"]


def thaw_json(value: Any) -> Any:
    """A deep copy of a JSON value in plain `dict`s and `list`s (the form `json.dumps` takes)."""
    if isinstance(value, Mapping):
        return {key: thaw_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [thaw_json(item) for item in value]
    return value


def freeze_json(value: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only deep copy of a JSON object, sharing nothing with `value`."""
    return MappingProxyType(thaw_json(value))


def _shown(value: object) -> bool:
    return value is not None and value != () and value != {}


@attrs.frozen(kw_only=True, repr=False)
class EntityPart:
    """The base of every typed entity class: keeps what it does not model in `extra`."""

    #: The fields shown by `repr` (all set fields when empty).
    _REPR_FIELDS: ClassVar[tuple[str, ...]] = ()

    #: JSON keys this class does not model, and modelled keys that arrived as `null`,
    #: written back unchanged. A typed field that is set wins over the same key here.
    extra: Mapping[str, Any] = attrs.field(factory=dict, converter=freeze_json, hash=False)

    def __repr__(self) -> str:
        names = self._REPR_FIELDS or tuple(
            field.name for field in attrs.fields(type(self)) if field.name != "extra"
        )
        shown = [f"{name}={getattr(self, name)!r}" for name in names if _shown(getattr(self, name))]
        return f"{type(self).__name__}({', '.join(shown)})"


@attrs.frozen(kw_only=True, repr=False)
class MetaData(EntityPart):
    """When QBO created and last changed an object; aware datetimes in the company's offset."""

    create_time: datetime | None = None
    last_updated_time: datetime | None = None


@attrs.frozen(kw_only=True, repr=False)
class EntityBase(EntityPart):
    """The fields every typed entity has. `None` means the key was absent from the JSON."""

    #: The QBO entity name (`"Customer"`), as in URLs, queries and response envelopes.
    ENTITY_TYPE: ClassVar[str] = ""

    id: str | None = None
    sync_token: str | None = None
    meta: MetaData | None = None
    domain: str | None = None
    sparse: bool | None = None


@attrs.frozen(kw_only=True, repr=False)
class RawEntity:
    """An entity this package has no typed class for (Estimate, Attachable, TaxCode, ...).

    `data` is its JSON object, kept as it arrived and written back unchanged.
    """

    entity_type: str
    data: Mapping[str, Any] = attrs.field(converter=freeze_json, hash=False)

    @property
    def id(self) -> str | None:
        """The `Id`, when the data holds one as a string."""
        value = self.data.get("Id")
        return value if isinstance(value, str) else None

    @property
    def sync_token(self) -> str | None:
        """The `SyncToken`, when the data holds one as a string."""
        value = self.data.get("SyncToken")
        return value if isinstance(value, str) else None

    def __repr__(self) -> str:
        return f"RawEntity(entity_type={self.entity_type!r}, id={self.id!r})"
