"""The entities' public face: what a write does to an entity, without the store's state.

`normalize` is the entry point: references checked and named (`entity_refs`), then the
spec's normalizer fills the server's defaults and computed fields. The rest lives in
small modules, along these seams:

- `entity_spec`: `EntitySpec`, the kinds, and the `Lookup` a normalizer reads;
- `entity_registry`: `REGISTRY` (each entity's URL name, kind, accepted properties, what a
  create requires, void styles, normalizer), the entities the emulator does not hold;
- `entity_coercion`: request bodies made clean or a 2010/2020 fault; `entity_numbers`:
  numbers and money; `entity_faults`: the faults a write raises;
- `entity_refs`: references checked against the company and named;
- `entity_name_lists`: Customer, Vendor, Employee, Account, Item, Class, Department, Term;
- `entity_lines`: transaction lines; `entity_transactions`: the transactions and voids;
- `books`: canonical names, account classification, reference tables, posting rules.
"""

from __future__ import annotations

from qbo_adapters.emulator.entity_coercion import check_required, coerce_body
from qbo_adapters.emulator.entity_faults import bad_value
from qbo_adapters.emulator.entity_numbers import (
    MAX_AMOUNT_CENTS,
    money,
    number_out,
    to_cents,
    to_decimal,
)
from qbo_adapters.emulator.entity_refs import resolve_refs
from qbo_adapters.emulator.entity_registry import (
    ATTACHABLE_FIELDS,
    OTHER_QBO_ENTITIES,
    REGISTRY,
    other_entity,
    spec_for_name,
    spec_for_url,
)
from qbo_adapters.emulator.entity_spec import (
    NAME_LIST,
    READ_ONLY,
    TRANSACTION,
    EntityKind,
    EntitySpec,
    Lookup,
    Obj,
)

__all__ = [
    "ATTACHABLE_FIELDS",
    "MAX_AMOUNT_CENTS",
    "NAME_LIST",
    "OTHER_QBO_ENTITIES",
    "READ_ONLY",
    "REGISTRY",
    "TRANSACTION",
    "EntityKind",
    "EntitySpec",
    "Lookup",
    "bad_value",
    "check_required",
    "coerce_body",
    "money",
    "normalize",
    "number_out",
    "other_entity",
    "spec_for_name",
    "spec_for_url",
    "to_cents",
    "to_decimal",
]


def normalize(
    spec: EntitySpec, fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup
) -> Obj:
    """The fields to store for a write: defaults filled, computed fields set, refs checked.

    `fields` is the merged candidate without the envelope (it is modified: pass a copy).
    `previous` is the stored version (None on create) and `obj_id` its Id. Server-owned
    fields (balances, totals, FullyQualifiedName, server links) come from `previous` or are
    computed; whatever the client sent for them is overwritten, as QBO does.
    """
    resolve_refs(spec.name, fields, lookup)
    if spec.normalizer is None:
        return fields
    return spec.normalizer(fields, previous, obj_id, lookup)
