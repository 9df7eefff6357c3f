"""References in a write: each `...Ref` checked against the company and given its name.

`resolve_refs` checks every reference under an object points at a live object of the
right kind (2500 when missing, 610 when inactive, 6000 for an account of the wrong type)
and sets the `name` it carries to its target's current name; `ref_to` builds a reference
to a stored object. Where each reference points is `books.REF_TARGETS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qbo_adapters.emulator.books import (
    ACCOUNT_TYPES_FOR_REF,
    CONTROL_ACCOUNTS,
    NAME_LISTS,
    PSEUDO_TAX_CODES,
    REF_TARGETS,
    TAX_CODE_REFS,
    ref_display,
)
from qbo_adapters.emulator.entity_faults import business, invalid_reference
from qbo_adapters.emulator.entity_spec import Lookup, Obj
from qbo_adapters.emulator.faults import not_found

__all__ = ["ref_target", "ref_to", "resolve_refs"]


def ref_target(holder: str, key: str, ref: Mapping[str, Any]) -> str | None:
    """The entity a `...Ref` under `key` inside a `holder` object points at (None: unchecked)."""
    if key == "ParentRef":
        return holder if holder in NAME_LISTS else None
    if key == "EntityRef":
        kind = ref.get("type")
        return kind.capitalize() if isinstance(kind, str) and kind else None
    return REF_TARGETS.get(key)


def resolve_refs(holder: str, node: Any, lookup: Lookup) -> None:
    """Check every `...Ref` under `node` points at a live object; fill in its `name`.

    A missing target is 2500; an inactive name-list target is 610, QBO's "Something you're
    trying to use has been made inactive".
    """
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("Ref") and isinstance(value, dict):
                _resolve_ref(holder, key, value, lookup)
            elif key != "LinkedTxn" and isinstance(value, dict | list):
                resolve_refs(holder, value, lookup)
    elif isinstance(node, list):
        for value in node:
            resolve_refs(holder, value, lookup)


def _resolve_ref(holder: str, key: str, ref: Obj, lookup: Lookup) -> None:
    target = ref_target(holder, key, ref)
    if target is None:
        return
    value = ref.get("value")
    if not isinstance(value, str) or not value:
        raise invalid_reference(key, value)
    if key in TAX_CODE_REFS and value in PSEUDO_TAX_CODES:
        return
    obj = lookup.get(target, value)
    if obj is None:
        raise invalid_reference(key, value)
    if obj.get("Active") is False:
        raise not_found()
    if target == "Account":
        _check_account_type(key, obj)
    if key not in TAX_CODE_REFS and (key != "ParentRef" or "name" in ref):
        name = ref_display(obj)
        if name is not None:
            ref["name"] = name


def _check_account_type(key: str, account: Obj) -> None:
    """Refuse an account of the wrong kind for `key` (QBO's business error 6000).

    Bank, credit-card, A/P, A/R and deposit references take only their kind of account;
    every other account reference (lines, items, a purchase's payment account) may not
    name A/R or A/P. QBO accepts a journal line on A/R or A/P when it names the customer
    or vendor; the emulator does not carry journal entries into those balances, so it
    refuses them too (a documented limitation).
    """
    account_type = str(account.get("AccountType"))
    allowed = ACCOUNT_TYPES_FOR_REF.get(key)
    if allowed is not None:
        if account_type not in allowed:
            raise business(
                f"Invalid account type: {key} needs {' or '.join(sorted(allowed))}, "
                f"not {account_type}",
                element=key,
            )
        return
    problem = CONTROL_ACCOUNTS.get(account_type)
    if problem is not None:
        raise business(problem, element=key)


def ref_to(lookup: Lookup, entity: str, obj_id: str) -> Obj:
    """A reference to a stored object, with its name."""
    ref: Obj = {"value": obj_id}
    obj = lookup.get(entity, obj_id)
    name = ref_display(obj) if obj is not None else None
    if name is not None:
        ref["name"] = name
    return ref
