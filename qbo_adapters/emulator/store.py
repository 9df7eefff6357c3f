"""`Company`: one realm's data in memory, kept consistent on every write.

Objects are JSON-ready dicts, held by entity and Id (`objects["Customer"]["5"]`); reads and
writes touch a bounded number of them. Ids are numeric strings: one sequence per
name-list entity and one shared by every transaction type, as QBO numbers them.

What a write keeps consistent (`validate_integrity` checks the same rules):

- **open balances**: an invoice's `Balance` is its `TotalAmt` less the payments applied to
  it (payment lines linking it), a credit memo's likewise (`RemainingCredit` follows), a
  bill's less its bill payments. Creating, changing, voiding or deleting a payment moves
  them; each document lists its payments in `LinkedTxn` (bills name `BillPaymentCheck` or
  `BillPaymentCreditCard`). A payment applies only to its own customer's documents, and
  never more than their open balance.
- **name balances**: `Customer.Balance` = open invoices - open credit memos - unapplied
  payments; `BalanceWithJobs` adds the jobs' (sub-customers'); `Vendor.Balance` = open
  bills. A balance change bumps the name's `LastUpdatedTime` but not its `SyncToken`, as
  QBO does (`all/customers.json`: Amy's Bird Sanctuary changed when her invoice was deleted).
- **the ledger**: each transaction's postings (`books.transaction_postings`)
  move the balance-sheet accounts' `CurrentBalance` and their parents'
  `CurrentBalanceWithSubAccounts`.
- **links**: an invoice made from an estimate closes it (the estimate lists the invoice),
  a bill made from a purchase order likewise (`POStatus` "Closed");
  a deposit takes payments and sales receipts held in Undeposited Funds, once each, for
  their full amount, and a deposited sales receipt lists its deposit.
- **names**: `DisplayName` unique across Customer, Vendor and Employee (case-insensitive,
  6240); names unique within Account, Item, Class, Department (by FullyQualifiedName)
  and Term. A rename reaches every reference's `name` and every child's
  FullyQualifiedName.

What QBO refuses here (codes chosen where QBO's answer is UNCONFIRMED, all 400):

- deleting a document with payments applied, a closed estimate or a billed purchase
  order: 800 "Cannot delete object" (Intuit's error table: "due to existing
  dependencies"); voiding an invoice with payments applied: 6000 business validation
  (QBO's UI would unlink them; the API's answer is unknown);
- changing, voiding or deleting a deposited payment or sales receipt: 6540 "Deposited
  Transaction cannot be changed" (documented code, applied to any change of its amount,
  account, void or delete);
- deactivating a customer or vendor with an open balance: 6000;
- deleting a name-list or read-only entity, voiding a non-voidable one, writing a
  read-only one: 500 "Unsupported Operation" with Detail "Operation Delete is not
  supported." (the wording QBO uses for operations an entity lacks).

Deleted objects leave a tombstone (Id and deletion time) for change data capture; the
requestid replay memory keeps the last 10,000 responses per realm.

Every change a data-API write makes (the object written, and each object whose
balance or link it moved) is recorded in one place, `Company._record`: the change log
change data capture reads (`updated`, `tombstones`), and a `Change` for each function in
`Company.observers` (the webhook dispatcher, `webhooks.py`). `load` / `unload` put data
in and take it out without telling the observers (seeding, not a change a client made).
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any, Final, Literal

import attrs

from qbo_adapters.emulator.books import (
    NAME_BALANCE_RULES,
    TXN_TYPES,
    default_accounts,
    ref_display,
    ref_value,
    stored_cents,
    transaction_postings,
)
from qbo_adapters.emulator.context import meta_time
from qbo_adapters.emulator.datagen import EMPTY, SIZES, generate_company
from qbo_adapters.emulator.entities import (
    ATTACHABLE_FIELDS,
    REGISTRY,
    EntitySpec,
    check_required,
    coerce_body,
    money,
    normalize,
)
from qbo_adapters.emulator.entity_extras import modified_by
from qbo_adapters.emulator.entity_faults import business
from qbo_adapters.emulator.entity_refs import ref_target
from qbo_adapters.emulator.entity_spec import Obj
from qbo_adapters.emulator.entity_transactions import applied_cents, voided
from qbo_adapters.emulator.faults import (
    QBOFault,
    invalid_id,
    not_found,
    required_param,
    stale_object,
)
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_core.http import HttpResponse

__all__ = [
    "REPLAY_CAPACITY",
    "Change",
    "ChangeObserver",
    "Company",
    "ReplayMemory",
    "Tombstone",
    "cannot_delete",
    "deposited_fault",
    "operation_not_supported",
]

#: How many requestid responses a realm remembers; the oldest is forgotten first.
REPLAY_CAPACITY: Final = 10_000

Key = tuple[str, str]
Tombstone = tuple[str, datetime]

#: What a write did to one object, in the words of Intuit's webhooks.
ChangeOperation = Literal["Create", "Update", "Delete", "Merge", "Void", "Emailed"]


@attrs.frozen(kw_only=True)
class Change:
    """One object changed by a data-API write: what `Company.observers` are told."""

    realm_id: str
    entity: str
    id: str
    operation: ChangeOperation
    at: datetime


#: A function told of every `Change` (called synchronously, inside the write).
ChangeObserver = Callable[[Change], None]

_ENVELOPE: Final = frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse", "status"})
_PEOPLE: Final = frozenset({"Customer", "Vendor", "Employee"})
_BY_FULL_NAME: Final = frozenset({"Account", "Item", "Class", "Department"})
_BY_NAME: Final = frozenset({"Term", "PaymentMethod"})
_PAYER_LINKS: Final = frozenset(
    {"Payment", "BillPaymentCheck", "BillPaymentCreditCard", "Invoice", "Bill"}
)
_OPEN_DOCUMENTS: Final = frozenset({"Invoice", "CreditMemo", "Bill"})
#: Properties that never hold a reference (skipped when looking for them).
_NO_REFS: Final = frozenset(
    {"MetaData", "LineEx", "LinkedTxn", "CustomField", "BillAddr", "ShipAddr", "TxnTaxDetail"}
)
#: Item fields that decide what a transaction using the item posts.
_POSTING_FIELDS: Final = (
    "Type",
    "IncomeAccountRef",
    "ExpenseAccountRef",
    "AssetAccountRef",
    "PurchaseCost",
)
_CURRENCY_NAMES: Final = {
    "USD": "United States Dollar",
    "CAD": "Canadian Dollar",
    "GBP": "British Pound Sterling",
    "EUR": "Euro",
    "AUD": "Australian Dollar",
}


def operation_not_supported(operation: str) -> QBOFault:
    """An operation the entity does not have (delete a Customer, void a Bill...)."""
    return QBOFault.single(
        "500", "Unsupported Operation", f"Operation {operation} is not supported."
    )


def cannot_delete() -> QBOFault:
    """800: the object has dependants (payments applied, an invoice made from it)."""
    return QBOFault.single(
        "800",
        "Cannot delete object",
        "The object can't be deleted due to existing dependencies. Delete those dependencies "
        "first.",
    )


def deposited_fault() -> QBOFault:
    """6540: a deposited payment or sales receipt cannot be changed."""
    return QBOFault.single(
        "6540",
        "Deposited Transaction cannot be changed",
        "Deposited Transaction cannot be changed: This transaction has been deposited. "
        "If you want to change or delete it, you must edit the deposit it appears on and "
        "remove it first.",
    )


class ReplayMemory:
    """requestid -> the first response to it, for one realm; at most `capacity` kept."""

    def __init__(self, capacity: int = REPLAY_CAPACITY) -> None:
        self.capacity = capacity
        self._responses: OrderedDict[str, HttpResponse] = OrderedDict()

    def get(self, request_id: str) -> HttpResponse | None:
        """The remembered response, or None."""
        return self._responses.get(request_id)

    def remember(self, request_id: str, response: HttpResponse) -> None:
        """Keep the first response to `request_id`; forget the oldest beyond capacity."""
        if request_id in self._responses:
            return
        self._responses[request_id] = response
        while len(self._responses) > self.capacity:
            self._responses.popitem(last=False)

    def __len__(self) -> int:
        return len(self._responses)


def _parse_time(text: Any) -> datetime:
    if isinstance(text, str):
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    return datetime(1970, 1, 1, tzinfo=UTC)


def _fields(obj: Mapping[str, Any]) -> Obj:
    return {key: value for key, value in obj.items() if key not in _ENVELOPE}


class Company:
    """One realm: its objects, indexes, tombstones and requestid memory.

    Write methods (`save`, `delete`, `void`, `update_preferences`) take the request body
    (already JSON-decoded) and the request time, and return the stored object; they raise
    `QBOFault` for anything QBO would refuse, leaving the company unchanged.
    """

    def __init__(
        self,
        *,
        realm_id: str,
        zone: tzinfo,
        settings: EmulatorSettings,
        company_info: Obj,
        preferences: Obj,
        entities: Mapping[str, Iterable[Obj]],
        now: datetime,
    ) -> None:
        self.realm_id = realm_id
        self.zone = zone
        self.settings = settings
        self.now = now
        self.company_info = company_info
        self.preferences = preferences
        self.objects: dict[str, dict[str, Obj]] = {}
        self.updated: dict[str, dict[str, datetime]] = {}
        self.tombstones: dict[str, dict[str, datetime]] = {}
        self.replay = ReplayMemory(REPLAY_CAPACITY)
        self.observers: list[ChangeObserver] = []
        self._next_ids: dict[str, int] = {}
        self._names: dict[tuple[str, str], Key] = {}
        self._doc_numbers: dict[str, int] = {}
        self._deposited: dict[Key, str] = {}
        self._holders: dict[Key, set[Key]] | None = None
        self._postings: dict[Key, list[tuple[str, int]]] = {}
        self._keys_seen: dict[str, set[str]] = {}
        self._defaults: dict[str, str] | None = None
        # Attachments (`attachments.py`): each Attachable's file bytes by its Id, and the
        # temporary download links handed out: token -> (Attachable Id, expiry).
        self.attachment_files: dict[str, bytes] = {}
        self.download_links: dict[str, tuple[str, datetime]] = {}
        for name in REGISTRY:
            if name not in ("CompanyInfo", "Preferences"):
                self.objects.setdefault(name, {})
        for entity, objs in entities.items():
            for obj in objs:
                self.load(entity, obj)

    # -- building ------------------------------------------------------------

    @classmethod
    def generate(
        cls,
        *,
        realm_id: str,
        seed: int,
        size: str,
        now: datetime,
        zone: tzinfo,
        settings: EmulatorSettings,
    ) -> Company:
        """A company from the seeded generator (size "empty", "small", "medium" or "large")."""
        if size != EMPTY and size not in SIZES:
            raise ValueError(f"unknown company size {size!r}")
        generated = generate_company(
            seed=seed,
            size=size,  # type: ignore[arg-type]
            realm_id=realm_id,
            now=now,
            time_zone=zone,
        )
        return cls(
            realm_id=realm_id,
            zone=zone,
            settings=settings,
            company_info=generated.company_info,
            preferences=generated.preferences,
            entities=generated.entities,
            now=now,
        )

    def load(self, entity: str, obj: Obj) -> None:
        """Put `obj` in the store as it is: indexed, with no bookkeeping.

        For generated data and for tests that seed a recorded object; the caller answers
        for its consistency. A later write to it is kept consistent from then on.
        """
        obj_id = str(obj["Id"])
        if entity == "Account":
            self._defaults = None
        replaced = self.objects.get(entity, {}).get(obj_id)
        if replaced is not None:
            self._unindex_name(entity, replaced)
            if self._holders is not None:
                self._remove_holder_refs(entity, obj_id, replaced)
        self.objects.setdefault(entity, {})[obj_id] = obj
        self.updated.setdefault(entity, {})[obj_id] = _parse_time(
            (obj.get("MetaData") or {}).get("LastUpdatedTime")
        )
        self._keys_seen.setdefault(entity, set()).update(obj)
        sequence = self._sequence(entity)
        if obj_id.isdigit():
            self._next_ids[sequence] = max(self._next_ids.get(sequence, 1), int(obj_id) + 1)
        self._index_name(entity, obj)
        doc = obj.get("DocNumber")
        if isinstance(doc, str) and doc.isdigit() and len(doc) < 15:
            self._doc_numbers[entity] = max(self._doc_numbers.get(entity, 0), int(doc))
        if entity == "Deposit":
            for source in self._deposit_sources(obj):
                self._deposited[source] = obj_id
        if self._holders is not None:
            self._add_holder_refs(entity, obj_id, obj)

    # -- reads ----------------------------------------------------------------

    def get(self, entity: str, obj_id: str) -> Obj | None:
        """The stored object, or None (also for an unknown entity)."""
        return self.objects.get(entity, {}).get(obj_id)

    def all(self, entity: str) -> Iterable[Obj]:
        """Every stored object of `entity`, in insertion order."""
        return self.objects.get(entity, {}).values()

    def entity_names(self) -> list[str]:
        """The entity types this company holds (a type with no objects included)."""
        return list(self.objects)

    def counts(self) -> dict[str, int]:
        """Objects per entity type (deleted ones excluded)."""
        return {entity: len(objs) for entity, objs in self.objects.items()}

    def snapshot(self) -> dict[str, list[Obj]]:
        """Every entity's objects, as `validate_integrity` takes them (Attachables, which
        it does not check, left out)."""
        return {
            entity: list(objs.values())
            for entity, objs in self.objects.items()
            if entity != "Attachable"
        }

    def known_fields(self, entity: str) -> set[str]:
        """Properties a query may name: the registry's plus any an object carries."""
        spec = REGISTRY.get(entity)
        if spec is not None:
            known = set(spec.known)
        else:
            known = set(ATTACHABLE_FIELDS) if entity == "Attachable" else set()
        return known | self._keys_seen.get(entity, set())

    def changed_since(self, entity: str, since: datetime) -> tuple[list[Obj], list[Tombstone]]:
        """Objects changed at or after `since` (by LastUpdatedTime, then Id) and the
        (Id, deletion time) of objects deleted since, oldest first."""
        times = self.updated.get(entity, {})
        changed = sorted(
            (
                (when, int(obj_id) if obj_id.isdigit() else 0, obj_id)
                for obj_id, when in times.items()
                if when >= since
            ),
        )
        objects = self.objects.get(entity, {})
        deleted = sorted(
            (when, obj_id)
            for obj_id, when in self.tombstones.get(entity, {}).items()
            if when >= since
        )
        return (
            [objects[obj_id] for _, _, obj_id in changed if obj_id in objects],
            [(obj_id, when) for when, obj_id in deleted],
        )

    # -- for reports and attachments (`reports.py`, `attachments.py`) -------------

    def posted(self, entity: str, obj: Mapping[str, Any]) -> list[tuple[str, int]]:
        """What transaction `obj` posts to the ledger: (account Id, cents, debit positive),
        exactly what moved the accounts' `CurrentBalance` (postings frozen before an item
        changed included)."""
        frozen = self._postings.get((entity, str(obj.get("Id"))))
        return list(frozen) if frozen is not None else self._postings_of(entity, obj)

    def unload(self, entity: str, obj_id: str, now: datetime) -> Obj | None:
        """Take out an object put in with `load`, leaving a tombstone for change data
        capture; no other bookkeeping. Returns it, or None when there was none."""
        obj = self.objects.get(entity, {}).pop(obj_id, None)
        if obj is None:
            return None
        self.updated.get(entity, {}).pop(obj_id, None)
        self.tombstones.setdefault(entity, {})[obj_id] = now
        self._unindex_name(entity, obj)
        if self._holders is not None:
            self._remove_holder_refs(entity, obj_id, obj)
        return obj

    # -- Lookup (what entities.normalize reads) ---------------------------------

    def today_text(self) -> str:
        return self.now.astimezone(self.zone).date().isoformat()

    def home_currency(self) -> Obj:
        prefs = self.preferences.get("CurrencyPrefs")
        code = ref_value(prefs, "HomeCurrency") or "USD"
        return {"value": code, "name": _CURRENCY_NAMES.get(code, code)}

    def next_doc_number(self, entity: str) -> str:
        return str(max(self._doc_numbers.get(entity, 1000), 1000) + 1)

    def default_account_id(self, role: str) -> str | None:
        accounts = self.objects.get("Account", {})
        if role == "discount":
            sales = self.preferences.get("SalesFormsPrefs")
            wanted = sales.get("DefaultDiscountAccount") if isinstance(sales, Mapping) else None
            if isinstance(wanted, str) and wanted in accounts:
                return wanted
            for acct_id, acct in accounts.items():
                if acct.get("AccountSubType") == "DiscountsRefundsGiven":
                    return acct_id
            return None
        pref = {"ar": "ARAccountId", "ap": "APAccountId", "uf": "UndepositedFundsAccountId"}
        wanted = self._other_pref(pref.get(role, ""))
        if wanted is not None and wanted in accounts:
            return wanted
        return self._ledger_defaults().get(role) or None

    def default_tax_code_id(self) -> str | None:
        for code in self.objects.get("TaxCode", {}).values():
            if code.get("Taxable") is True and code.get("Active") is not False:
                return str(code["Id"])
        return None

    def default_term_id(self, kind: str) -> str | None:
        section = "SalesFormsPrefs" if kind == "sales" else "VendorAndPurchasesPrefs"
        term = ref_value(self.preferences.get(section), "DefaultTerms")
        return term if term is not None and term in self.objects.get("Term", {}) else None

    def default_item_id(self) -> str | None:
        items = self.objects.get("Item", {})
        wanted = self._other_pref("SalesFormsPrefs.DefaultItem")
        if wanted is not None and wanted in items and items[wanted].get("Active") is not False:
            return wanted
        for item in items.values():
            if item.get("Type") == "Service" and item.get("Active") is not False:
                return str(item["Id"])
        return None

    def sales_custom_fields(self) -> list[Obj]:
        prefs = self.preferences.get("SalesFormsPrefs")
        groups = prefs.get("CustomField") if isinstance(prefs, Mapping) else None
        used: dict[str, bool] = {}
        names: dict[str, str] = {}
        for group in groups if isinstance(groups, list) else ():
            fields = group.get("CustomField") if isinstance(group, Mapping) else None
            for field in fields if isinstance(fields, list) else ():
                name = str(field.get("Name", ""))
                if name.startswith("SalesFormsPrefs.UseSalesCustom"):
                    used[name[-1]] = field.get("BooleanValue") is True
                elif name.startswith("SalesFormsPrefs.SalesCustomName"):
                    names[name[-1]] = str(field.get("StringValue", ""))
        return [
            {"DefinitionId": n, "Name": names[n], "Type": "StringType"}
            for n in sorted(names)
            if used.get(n) and names[n]
        ]

    def name_owner(self, entity: str, name: str) -> tuple[str, str] | None:
        return self._names.get((self._scope(entity), name.casefold()))

    def _other_pref(self, name: str) -> str | None:
        other = self.preferences.get("OtherPrefs")
        values = other.get("NameValue") if isinstance(other, Mapping) else None
        for pair in values if isinstance(values, list) else ():
            if isinstance(pair, Mapping) and pair.get("Name") == name:
                value = pair.get("Value")
                return str(value) if value is not None else None
        return None

    # -- writes ------------------------------------------------------------------

    def save(self, entity: str, body: Any, now: datetime) -> Obj:
        """Create (no `Id`), full update, or sparse update (`"sparse": true`)."""
        spec = self._writable(entity, "Create")
        clean = coerce_body(spec, body)
        obj_id = clean.get("Id")
        previous: Obj | None = None
        sent = {k: v for k, v in _fields(clean).items() if v is not None}  # null: not sent
        if obj_id is None or obj_id == "":
            fields = sent
            obj_id = None
        else:
            if not spec.updatable:
                raise operation_not_supported("Update")
            previous = self._current(entity, str(obj_id))
            self._check_token(previous, clean)
            if clean.get("sparse") is True:
                fields = {**_fields(previous), **sent}
            else:
                fields = sent
                for key in spec.keep_on_full_update:
                    if key not in fields and key in previous:
                        fields[key] = previous[key]
        fields = copy.deepcopy({k: v for k, v in fields.items() if v is not None})
        check_required(spec, fields)
        self.now = now
        new_fields = normalize(spec, fields, previous, obj_id, self)
        if previous is not None:
            self._refuse_if_deposited(entity, previous, new_fields)
        return self._commit(spec, obj_id, previous, new_fields, now)

    def delete(self, entity: str, body: Any, now: datetime) -> Obj:
        """Delete a transaction; returns `{"domain","status":"Deleted","Id"}`."""
        spec = self._spec(entity, "Delete")
        if not spec.is_transaction:
            raise operation_not_supported("Delete")
        clean = coerce_body(spec, body)
        obj_id = clean.get("Id")
        if obj_id is None or obj_id == "":
            raise required_param("Id")
        previous = self._current(entity, str(obj_id))
        self._check_token(previous, clean)
        self._refuse_if_deposited(entity, previous, None)
        applied = entity in _OPEN_DOCUMENTS and applied_cents(previous) != 0
        linked = entity in ("Invoice", "Bill", "Estimate", "PurchaseOrder")
        if applied or (linked and self._server_links(previous)):
            raise cannot_delete()
        key = (entity, previous["Id"])
        self._check_links(entity, previous, None)
        self._effects(entity, key, previous, None, now)
        del self.objects[entity][key[1]]
        self._record(entity, key[1], "Delete", now)
        self._unindex_name(entity, previous)
        return {"domain": "QBO", "status": "Deleted", "Id": key[1]}

    def void(self, entity: str, body: Any, now: datetime) -> Obj:
        """Void an Invoice, SalesReceipt, Payment or BillPayment (a repeat is a no-op)."""
        spec = self._spec(entity, "Void")
        if not spec.voidable:
            raise operation_not_supported("Void")
        clean = coerce_body(spec, body)
        obj_id = clean.get("Id")
        if obj_id is None or obj_id == "":
            raise required_param("Id")
        previous = self._current(entity, str(obj_id))
        self._check_token(previous, clean)
        self._refuse_if_deposited(entity, previous, None)
        applied = entity == "Invoice" and applied_cents(previous) != 0
        if applied or (entity == "Invoice" and self._server_links(previous, {"Payment"})):
            raise business("This transaction has payments applied; delete or void them first")
        return self._commit(
            spec, previous["Id"], previous, voided(entity, _fields(previous)), now, "Void"
        )

    def update_preferences(self, body: Any, now: datetime) -> Obj:
        """Merge sections of Preferences (sparse or not: omitted sections are kept)."""
        spec = REGISTRY["Preferences"]
        clean = coerce_body(spec, body)
        self._check_token(self.preferences, clean)
        merged = copy.deepcopy(self.preferences)
        changed = False
        for key, value in _fields(clean).items():
            if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
                section = {**merged[key], **value}
                changed = changed or section != merged[key]
                merged[key] = section
            elif merged.get(key) != value:
                merged[key] = value
                changed = True
        if changed:
            merged["SyncToken"] = str(int(str(self.preferences.get("SyncToken", "0"))) + 1)
            meta = dict(merged.get("MetaData") or {})
            meta["LastUpdatedTime"] = meta_time(now, self.zone)
            meta.setdefault("CreateTime", meta["LastUpdatedTime"])
            merged["MetaData"] = meta
            self.preferences = merged
            self._record("Preferences", str(merged.get("Id", "1")), "Update", now)
        return self.preferences

    # -- write plumbing -------------------------------------------------------------

    def _spec(self, entity: str, operation: str) -> EntitySpec:
        spec = REGISTRY.get(entity)
        if spec is None:
            raise operation_not_supported(operation)
        return spec

    def _writable(self, entity: str, operation: str) -> EntitySpec:
        spec = self._spec(entity, operation)
        if spec.kind == "read_only":
            raise operation_not_supported(operation)
        return spec

    def _current(self, entity: str, obj_id: str) -> Obj:
        if not obj_id.isdigit():
            raise invalid_id(obj_id)
        obj = self.get(entity, obj_id.lstrip("0") or "0")
        if obj is None:
            raise not_found()
        return obj

    @staticmethod
    def _check_token(previous: Mapping[str, Any], clean: Mapping[str, Any]) -> None:
        token = clean.get("SyncToken")
        if token is None or token == "":
            raise required_param("SyncToken")
        if str(token) != str(previous.get("SyncToken")):
            raise stale_object()

    def _sequence(self, entity: str) -> str:
        spec = REGISTRY.get(entity)
        return "<transactions>" if spec is not None and spec.is_transaction else entity

    def _allocate_id(self, entity: str) -> str:
        sequence = self._sequence(entity)
        value = self._next_ids.get(sequence, 1)
        self._next_ids[sequence] = value + 1
        return str(value)

    def _commit(
        self,
        spec: EntitySpec,
        obj_id: str | None,
        previous: Obj | None,
        new_fields: Obj,
        now: datetime,
        operation: ChangeOperation = "Update",
    ) -> Obj:
        entity = spec.name
        if previous is not None and _fields(previous) == new_fields:
            return previous  # nothing changed: QBO keeps the SyncToken (deactivate/employee)
        self._check_links(entity, previous, new_fields)
        stamp = meta_time(now, self.zone)
        if previous is None:
            obj_id = self._allocate_id(entity)
            meta: dict[str, Any] = {"CreateTime": stamp, "LastUpdatedTime": stamp}
            version = "0"
        else:
            obj_id = str(previous["Id"])
            meta = {**(previous.get("MetaData") or {}), "LastUpdatedTime": stamp}
            version = str(int(str(previous.get("SyncToken", "0"))) + 1)
        if spec.is_transaction:  # who changed it, between the two times as QBO orders it
            meta = {
                "CreateTime": meta["CreateTime"],
                "LastModifiedByRef": modified_by(self.realm_id),
                "LastUpdatedTime": stamp,
            }
        obj: Obj = {
            "domain": "QBO",
            "sparse": False,
            "Id": obj_id,
            "SyncToken": version,
            "MetaData": meta,
            **new_fields,
        }
        key = (entity, obj_id)
        if entity == "Account":
            self._defaults = None
        if previous is not None:
            self._unindex_name(entity, previous)
            if entity == "Item" and any(
                previous.get(field) != obj.get(field) for field in _POSTING_FIELDS
            ):
                self._freeze_postings(key)
        self.objects.setdefault(entity, {})[obj_id] = obj
        self._record(entity, obj_id, "Create" if previous is None else operation, now)
        self._keys_seen.setdefault(entity, set()).update(obj)
        self._index_name(entity, obj)
        doc = obj.get("DocNumber")
        if isinstance(doc, str) and doc.isdigit() and len(doc) < 15:
            self._doc_numbers[entity] = max(self._doc_numbers.get(entity, 0), int(doc))
        self._effects(entity, key, previous, obj, now)
        return obj

    # -- names -------------------------------------------------------------------

    @staticmethod
    def _scope(entity: str) -> str:
        return "<people>" if entity in _PEOPLE else entity

    @staticmethod
    def _name_of(entity: str, obj: Mapping[str, Any]) -> str | None:
        if entity in _PEOPLE:
            value = obj.get("DisplayName")
        elif entity in _BY_FULL_NAME:
            value = obj.get("FullyQualifiedName", obj.get("Name"))
        elif entity in _BY_NAME:
            value = obj.get("Name")
        elif entity == "TaxAgency":
            value = obj.get("DisplayName")
        else:
            return None
        return value if isinstance(value, str) else None

    def _index_name(self, entity: str, obj: Mapping[str, Any]) -> None:
        name = self._name_of(entity, obj)
        if name is not None:
            self._names[(self._scope(entity), name.casefold())] = (entity, str(obj["Id"]))

    def _unindex_name(self, entity: str, obj: Mapping[str, Any]) -> None:
        name = self._name_of(entity, obj)
        if name is None:
            return
        key = (self._scope(entity), name.casefold())
        if self._names.get(key) == (entity, str(obj["Id"])):
            del self._names[key]

    # -- checks before a write ------------------------------------------------------

    @staticmethod
    def _server_links(obj: Mapping[str, Any], types: Iterable[str] | None = None) -> bool:
        """Whether `obj` lists payments (or, for an estimate, invoices) made against it."""
        wanted = set(types) if types is not None else _PAYER_LINKS
        links = obj.get("LinkedTxn")
        return isinstance(links, list) and any(
            isinstance(link, Mapping) and link.get("TxnType") in wanted for link in links
        )

    def _refuse_if_deposited(self, entity: str, previous: Obj, fields: Obj | None) -> None:
        key = (entity, str(previous["Id"]))
        if key not in self._deposited:
            return
        if fields is None:
            raise deposited_fault()
        if ref_value(fields, "DepositToAccountRef") != ref_value(previous, "DepositToAccountRef"):
            raise deposited_fault()
        if stored_cents(fields.get("TotalAmt")) != stored_cents(previous.get("TotalAmt")):
            raise deposited_fault()

    def _check_links(self, entity: str, previous: Obj | None, new: Obj | None) -> None:
        """Refuse links QBO refuses, before anything changes."""
        old_links = {
            (str(link.get("TxnType")), str(link.get("TxnId")))
            for link in (previous or {}).get("LinkedTxn") or ()
            if isinstance(link, Mapping)
        }
        for link in (new or {}).get("LinkedTxn") or ():
            if not isinstance(link, Mapping):
                continue
            pair = (str(link.get("TxnType")), str(link.get("TxnId")))
            target = TXN_TYPES.get(pair[0])
            if target is not None and pair not in old_links and self.get(target, pair[1]) is None:
                raise not_found()
        if entity in ("Payment", "BillPayment"):
            self._check_applications(entity, previous, new)
        elif entity == "Bill":
            old = self._linked_ids(previous, "PurchaseOrder")
            for po_id in self._linked_ids(new, "PurchaseOrder") - old:
                order = self.get("PurchaseOrder", po_id)
                if order is None:
                    raise not_found()
                if ref_value(order, "VendorRef") != ref_value(new, "VendorRef"):
                    raise business("The purchase order is for another vendor", element="LinkedTxn")
        if entity == "Invoice":
            old = self._linked_ids(previous, "Estimate")
            for est_id in self._linked_ids(new, "Estimate") - old:
                estimate = self.get("Estimate", est_id)
                if estimate is None:
                    raise not_found()
                if ref_value(estimate, "CustomerRef") != ref_value(new, "CustomerRef"):
                    raise business("The estimate is for another customer", element="LinkedTxn")
            if (
                previous is not None
                and new is not None
                and self._server_links(previous, {"Payment"})
                and ref_value(previous, "CustomerRef") != ref_value(new, "CustomerRef")
            ):
                raise business("An invoice with payments applied cannot change customer")
        elif entity in ("Bill", "CreditMemo") and previous is not None and new is not None:
            owner = "VendorRef" if entity == "Bill" else "CustomerRef"
            if applied_cents(previous) and ref_value(previous, owner) != ref_value(new, owner):
                raise business(f"A {entity.lower()} with payments applied cannot change owner")
        elif entity == "Deposit":
            self._check_deposit(previous, new)

    def _applications(self, entity: str, obj: Mapping[str, Any] | None) -> dict[Key, int]:
        out: dict[Key, int] = {}
        if obj is None:
            return out
        for line in obj.get("Line") or ():
            if not isinstance(line, Mapping):
                continue
            links = line.get("LinkedTxn")
            if not isinstance(links, list) or not links or not isinstance(links[0], Mapping):
                continue
            target = TXN_TYPES.get(str(links[0].get("TxnType")))
            if target is None:
                continue
            key = (target, str(links[0].get("TxnId")))
            out[key] = out.get(key, 0) + stored_cents(line.get("Amount"))
        return out

    def _check_applications(self, entity: str, previous: Obj | None, new: Obj | None) -> None:
        old = self._applications(entity, previous)
        fresh = self._applications(entity, new)
        owner_key = "CustomerRef" if entity == "Payment" else "VendorRef"
        owner = ref_value(new, owner_key)
        for key, amount in fresh.items():
            doc = self.get(*key)
            if doc is None:
                raise not_found()
            if ref_value(doc, owner_key) != owner:
                raise business(
                    f"{key[0]} {key[1]} belongs to another {owner_key[:-3].lower()}",
                    element="Line.LinkedTxn",
                )
            available = stored_cents(doc.get("Balance")) + old.get(key, 0)
            if amount > available:
                raise business(
                    f"The amount applied to {key[0]} {key[1]} exceeds its open balance "
                    f"({money(available):.2f})",
                    element="Line.Amount",
                )

    def _linked_ids(self, obj: Mapping[str, Any] | None, txn_type: str) -> set[str]:
        if obj is None:
            return set()
        links = obj.get("LinkedTxn")
        if not isinstance(links, list):
            return set()
        return {
            str(link.get("TxnId"))
            for link in links
            if isinstance(link, Mapping) and link.get("TxnType") == txn_type
        }

    @staticmethod
    def _deposit_sources(obj: Mapping[str, Any] | None) -> dict[Key, int]:
        out: dict[Key, int] = {}
        if obj is None:
            return out
        for line in obj.get("Line") or ():
            links = line.get("LinkedTxn") if isinstance(line, Mapping) else None
            if isinstance(links, list) and links and isinstance(links[0], Mapping):
                txn_type = links[0].get("TxnType")
                if txn_type in ("Payment", "SalesReceipt"):
                    key = (str(txn_type), str(links[0].get("TxnId")))
                    out[key] = stored_cents(line.get("Amount"))
        return out

    def _check_deposit(self, previous: Obj | None, new: Obj | None) -> None:
        old = self._deposit_sources(previous)
        own_id = str(previous["Id"]) if previous is not None else None
        undeposited = self.default_account_id("uf")
        for key, amount in self._deposit_sources(new).items():
            source = self.get(*key)
            if source is None:
                raise not_found()
            holder = self._deposited.get(key)
            if holder is not None and holder != own_id:
                raise business(f"{key[0]} {key[1]} is already deposited", element="Line.LinkedTxn")
            if key not in old and ref_value(source, "DepositToAccountRef") != undeposited:
                raise business(
                    f"{key[0]} {key[1]} is not held in Undeposited Funds",
                    element="Line.LinkedTxn",
                )
            if amount != stored_cents(source.get("TotalAmt")):
                raise business(
                    f"The deposit line must carry the full amount of {key[0]} {key[1]}",
                    element="Line.Amount",
                )

    # -- effects after a write --------------------------------------------------------

    def _effects(
        self, entity: str, key: Key, previous: Obj | None, new: Obj | None, now: datetime
    ) -> None:
        """Everything a write moves elsewhere; `new` None means deleted."""
        if entity in ("Payment", "BillPayment"):
            self._apply_payments(entity, key[1], previous, new, now)
        if entity == "Invoice":
            self._link_offers("Estimate", "Invoice", key[1], previous, new, now)
        if entity == "Bill":
            self._link_offers("PurchaseOrder", "Bill", key[1], previous, new, now)
        if entity == "Deposit":
            self._link_deposits(key[1], previous, new, now)
        self._contribute(entity, previous, new, now)
        self._post(entity, key, previous, new)
        spec = REGISTRY.get(entity)
        if spec is not None and spec.is_name_list:
            self._name_list_effects(entity, key, previous, new, now)
        if self._holders is not None:
            if previous is not None:
                self._remove_holder_refs(entity, key[1], previous)
            if new is not None:
                self._add_holder_refs(entity, key[1], new)

    def _touch(self, entity: str, obj: Obj, now: datetime) -> None:
        meta = obj.get("MetaData")
        if isinstance(meta, dict):
            meta["LastUpdatedTime"] = meta_time(now, self.zone)
        self._record(entity, str(obj["Id"]), "Update", now)

    def _record(self, entity: str, obj_id: str, operation: ChangeOperation, now: datetime) -> None:
        """The one place a write's change is recorded: the change log CDC reads, then
        every observer (a raising observer is a bug and propagates)."""
        if operation == "Delete":
            self.updated.get(entity, {}).pop(obj_id, None)
            self.tombstones.setdefault(entity, {})[obj_id] = now
        elif entity != "Preferences":  # CDC reads Preferences' own MetaData
            self.updated.setdefault(entity, {})[obj_id] = now
        if self.observers:
            change = Change(
                realm_id=self.realm_id, entity=entity, id=obj_id, operation=operation, at=now
            )
            for observer in self.observers:
                observer(change)

    def _apply_payments(
        self,
        entity: str,
        payer_id: str,
        previous: Obj | None,
        new: Obj | None,
        now: datetime,
    ) -> None:
        old = self._applications(entity, previous)
        fresh = self._applications(entity, new)
        if entity == "Payment":
            link_type = "Payment"
            link_types = {"Payment"}
        else:
            pay_type = (new or previous or {}).get("PayType")
            link_type = "BillPaymentCreditCard" if pay_type == "CreditCard" else "BillPaymentCheck"
            link_types = {"BillPaymentCheck", "BillPaymentCreditCard"}
        for doc_key in sorted(set(old) | set(fresh)):
            doc = self.get(*doc_key)
            if doc is None:
                continue
            before = copy.deepcopy(doc)
            delta = fresh.get(doc_key, 0) - old.get(doc_key, 0)
            if delta:
                balance = stored_cents(doc.get("Balance")) - delta
                doc["Balance"] = money(balance)
                if doc_key[0] == "CreditMemo":
                    doc["RemainingCredit"] = money(balance)
            if doc_key[0] in ("Invoice", "Bill"):
                links = [
                    link
                    for link in doc.get("LinkedTxn") or []
                    if not (
                        isinstance(link, Mapping)
                        and link.get("TxnType") in link_types
                        and link.get("TxnId") == payer_id
                    )
                ]
                if doc_key in fresh:
                    links.append({"TxnId": payer_id, "TxnType": link_type})
                doc["LinkedTxn"] = links
            if doc != before:
                self._touch(doc_key[0], doc, now)
                self._contribute(doc_key[0], before, doc, now)

    def _link_offers(
        self,
        offer: str,
        document: str,
        doc_id: str,
        previous: Obj | None,
        new: Obj | None,
        now: datetime,
    ) -> None:
        """An invoice linking an estimate, or a bill a purchase order, closes it and is
        listed on it; unlinked (or deleted), the estimate is Pending and the order Open."""
        status, closed, reopened = (
            ("TxnStatus", "Closed", "Pending")
            if offer == "Estimate"
            else ("POStatus", "Closed", "Open")
        )
        old = self._linked_ids(previous, offer)
        fresh = self._linked_ids(new, offer)
        for offer_id in old ^ fresh:
            obj = self.get(offer, offer_id)
            if obj is None:
                continue
            if _relink(obj, document, doc_id, linked=offer_id in fresh):
                obj[status] = closed
            elif obj.get(status) == closed:
                obj[status] = reopened
            self._touch(offer, obj, now)

    def _link_deposits(
        self, deposit_id: str, previous: Obj | None, new: Obj | None, now: datetime
    ) -> None:
        old = self._deposit_sources(previous)
        fresh = self._deposit_sources(new)
        for key in set(old) - set(fresh):
            if self._deposited.get(key) == deposit_id:
                del self._deposited[key]
        for key in fresh:
            self._deposited[key] = deposit_id
        for key in set(old) ^ set(fresh):
            if key[0] != "SalesReceipt":
                continue
            receipt = self.get(*key)
            if receipt is None:
                continue
            _relink(receipt, "Deposit", deposit_id, linked=key in fresh)
            self._touch("SalesReceipt", receipt, now)

    @staticmethod
    def _contribution(entity: str, obj: Mapping[str, Any] | None) -> tuple[str, str, int] | None:
        if obj is None:
            return None
        rule = NAME_BALANCE_RULES.get(entity)
        if rule is None:
            return None
        owner, sign, field = rule
        owner_id = ref_value(obj, f"{owner}Ref")
        if owner_id is None:
            return None
        return owner, owner_id, sign * stored_cents(obj.get(field))

    def _contribute(
        self,
        entity: str,
        previous: Mapping[str, Any] | None,
        new: Mapping[str, Any] | None,
        now: datetime,
    ) -> None:
        changes: dict[Key, int] = {}
        old = self._contribution(entity, previous)
        fresh = self._contribution(entity, new)
        if old is not None:
            changes[(old[0], old[1])] = changes.get((old[0], old[1]), 0) - old[2]
        if fresh is not None:
            changes[(fresh[0], fresh[1])] = changes.get((fresh[0], fresh[1]), 0) + fresh[2]
        for (owner, owner_id), delta in changes.items():
            if delta:
                self._move_name_balance(owner, owner_id, delta, now)

    def _move_name_balance(self, owner: str, owner_id: str, delta: int, now: datetime) -> None:
        obj = self.get(owner, owner_id)
        if obj is None:
            return
        obj["Balance"] = money(stored_cents(obj.get("Balance")) + delta)
        if owner == "Customer":
            node: Obj | None = obj
            depth = 0
            while node is not None and depth < 100:
                node["BalanceWithJobs"] = money(stored_cents(node.get("BalanceWithJobs")) + delta)
                self._touch("Customer", node, now)
                parent = ref_value(node, "ParentRef")
                node = self.get("Customer", parent) if parent is not None else None
                depth += 1
        else:
            self._touch(owner, obj, now)

    def _ledger_defaults(self) -> dict[str, str]:
        """The A/R, A/P and Undeposited Funds accounts postings default to: the first of
        each by Id, as `books.default_accounts` picks them (cached until an account changes)."""
        if self._defaults is None:
            self._defaults = default_accounts(self.objects.get("Account", {}))
        return self._defaults

    def _postings_of(self, entity: str, obj: Mapping[str, Any] | None) -> list[tuple[str, int]]:
        if obj is None:
            return []
        return transaction_postings(entity, obj, self.objects, self._ledger_defaults())

    def _freeze_postings(self, item: Key) -> None:
        """Remember, before an item's accounts or cost change, what the transactions using
        it posted: a later change to one of them reverses exactly that (QBO does not
        re-post history when an item changes)."""
        for holder in list(self._holder_index().get(item, ())):
            spec = REGISTRY.get(holder[0])
            if spec is None or not spec.is_transaction or holder in self._postings:
                continue
            obj = self.get(*holder)
            if obj is not None:
                self._postings[holder] = self._postings_of(holder[0], obj)

    def _post(self, entity: str, key: Key, previous: Obj | None, new: Obj | None) -> None:
        spec = REGISTRY.get(entity)
        if spec is None or not spec.is_transaction:
            return
        old = self._postings.pop(key, None)
        if old is None:
            old = self._postings_of(entity, previous)
        fresh = self._postings_of(entity, new)
        if new is not None:
            self._postings[key] = fresh
        totals: dict[str, int] = {}
        for account_id, amount in old:
            totals[account_id] = totals.get(account_id, 0) - amount
        for account_id, amount in fresh:
            totals[account_id] = totals.get(account_id, 0) + amount
        for account_id, delta in totals.items():
            if delta:
                self._move_account(account_id, delta)

    def _move_account(self, account_id: str, debit: int) -> None:
        account = self.get("Account", account_id)
        if account is None:
            return
        classification = account.get("Classification")
        if classification == "Asset":
            delta = debit
        elif classification in ("Liability", "Equity"):
            delta = -debit
        else:
            return
        account["CurrentBalance"] = money(stored_cents(account.get("CurrentBalance")) + delta)
        node: Obj | None = account
        depth = 0
        while node is not None and depth < 100:
            node["CurrentBalanceWithSubAccounts"] = money(
                stored_cents(node.get("CurrentBalanceWithSubAccounts")) + delta
            )
            parent = ref_value(node, "ParentRef")
            node = self.get("Account", parent) if parent is not None else None
            depth += 1

    # -- name lists: hierarchy and names in references ------------------------------

    def _name_list_effects(
        self, entity: str, key: Key, previous: Obj | None, new: Obj | None, now: datetime
    ) -> None:
        if previous is None or new is None:
            return
        old_parent = ref_value(previous, "ParentRef")
        new_parent = ref_value(new, "ParentRef")
        if old_parent != new_parent:
            if entity == "Customer":
                amount = stored_cents(new.get("BalanceWithJobs"))
                self._move_tree("Customer", old_parent, -amount, "BalanceWithJobs", now)
                self._move_tree("Customer", new_parent, amount, "BalanceWithJobs", now)
            elif entity == "Account":
                amount = stored_cents(new.get("CurrentBalanceWithSubAccounts"))
                self._move_tree(
                    "Account", old_parent, -amount, "CurrentBalanceWithSubAccounts", None
                )
                self._move_tree(
                    "Account", new_parent, amount, "CurrentBalanceWithSubAccounts", None
                )
        if ref_display(previous) != ref_display(new):
            self._rename(entity, key[1], new)
            self._cascade_children(entity, new, 0)

    def _move_tree(
        self, entity: str, start: str | None, delta: int, field: str, now: datetime | None
    ) -> None:
        node = self.get(entity, start) if start is not None else None
        depth = 0
        while node is not None and delta and depth < 100:
            node[field] = money(stored_cents(node.get(field)) + delta)
            if now is not None:
                self._touch(entity, node, now)
            parent = ref_value(node, "ParentRef")
            node = self.get(entity, parent) if parent is not None else None
            depth += 1

    def _cascade_children(self, entity: str, parent: Obj, depth: int) -> None:
        if depth > 20 or entity not in ("Customer", "Account", "Item", "Class", "Department"):
            return
        parent_id = str(parent["Id"])
        base_key = "DisplayName" if entity == "Customer" else "Name"
        for child in list(self.objects.get(entity, {}).values()):
            if ref_value(child, "ParentRef") != parent_id:
                continue
            full = f"{parent.get('FullyQualifiedName')}:{child.get(base_key)}"
            if child.get("FullyQualifiedName") == full:
                continue
            self._unindex_name(entity, child)
            child["FullyQualifiedName"] = full
            if entity in ("Customer", "Item") and "Level" in child:
                level = parent.get("Level")
                child["Level"] = (level if isinstance(level, int) else 0) + 1
            self._index_name(entity, child)
            self._rename(entity, str(child["Id"]), child)
            self._cascade_children(entity, child, depth + 1)

    @staticmethod
    def _refs_of(holder: str, obj: Obj) -> set[Key]:
        """Every (entity, Id) a `...Ref` anywhere in `obj` points at."""
        found: set[Key] = set()
        stack: list[Any] = [obj]
        while stack:
            node = stack.pop()
            if type(node) is dict:
                for key, value in node.items():
                    kind = type(value)
                    if key in _NO_REFS:
                        continue
                    if kind is dict:
                        if key.endswith("Ref"):
                            target = ref_target(holder, key, value)
                            ref_id = value.get("value")
                            if target is not None and type(ref_id) is str:
                                found.add((target, ref_id))
                        else:
                            stack.append(value)
                    elif kind is list:
                        stack.append(value)
            elif type(node) is list:
                stack.extend(item for item in node if type(item) in (dict, list))
        return found

    def _add_holder_refs(self, entity: str, obj_id: str, obj: Obj) -> None:
        holders = self._holders
        assert holders is not None
        me = (entity, obj_id)
        for target in self._refs_of(entity, obj):
            bucket = holders.get(target)
            if bucket is None:
                holders[target] = {me}
            else:
                bucket.add(me)

    def _remove_holder_refs(self, entity: str, obj_id: str, obj: Obj) -> None:
        assert self._holders is not None
        for target in self._refs_of(entity, obj):
            holders = self._holders.get(target)
            if holders is not None:
                holders.discard((entity, obj_id))

    def _holder_index(self) -> dict[Key, set[Key]]:
        """Who references whom; built on the first rename (a walk over every object:
        about 1.5 s for a "large" company), kept up to date on every write after."""
        if self._holders is None:
            self._holders = {}
            for entity, objs in self.objects.items():
                for obj_id, obj in objs.items():
                    self._add_holder_refs(entity, obj_id, obj)
        return self._holders

    def _rename(self, entity: str, obj_id: str, obj: Obj) -> None:
        """Give every reference to (`entity`, `obj_id`) that carries a name the new one."""
        name = ref_display(obj)
        if name is None:
            return
        for holder_entity, holder_id in list(self._holder_index().get((entity, obj_id), ())):
            holder = self.get(holder_entity, holder_id)
            if holder is not None:
                self._patch_names(holder_entity, holder, entity, obj_id, name)

    def _patch_names(self, holder: str, node: Any, entity: str, obj_id: str, name: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith("Ref") and isinstance(value, dict):
                    if (
                        "name" in value
                        and value.get("value") == obj_id
                        and ref_target(holder, key, value) == entity
                    ):
                        value["name"] = name
                elif isinstance(value, dict | list):
                    self._patch_names(holder, value, entity, obj_id, name)
        elif isinstance(node, list):
            for value in node:
                self._patch_names(holder, value, entity, obj_id, name)


def _relink(obj: Obj, txn_type: str, txn_id: str, *, linked: bool) -> bool:
    """Add (`linked`) or remove `obj`'s LinkedTxn to `txn_type` `txn_id`, keeping the others;
    drop the key when no link is left. Returns whether any link remains."""
    links = [
        link
        for link in obj.get("LinkedTxn") or []
        if not (
            isinstance(link, Mapping)
            and link.get("TxnType") == txn_type
            and link.get("TxnId") == txn_id
        )
    ]
    if linked:
        links.append({"TxnId": txn_id, "TxnType": txn_type})
    if links:
        obj["LinkedTxn"] = links
    else:
        obj.pop("LinkedTxn", None)
    return bool(links)
