"""Consistency rules of a QuickBooks Online company, as checks over its entities.

`validate_integrity` returns human-readable problems (an empty list when the company is
consistent). It reads only what QBO itself would return, so it works on the generator's output
and on an emulator's store after writes. The rules, each one a QBO behaviour:

- every object: numeric string `Id` unique per entity type, numeric string `SyncToken`,
  `domain` "QBO", `sparse` false, `MetaData` times like `2024-05-01T09:30:00-07:00` with
  `LastUpdatedTime >= CreateTime`; Ids increase with `CreateTime` (creation order);
- `DisplayName` unique across Customer, Vendor and Employee (QBO error 6240), case-insensitive;
  names unique within Account (by FullyQualifiedName), Item, Class, Department and Term;
- every `...Ref` and `LinkedTxn` points at an existing object; with `ref_names`, the `name` it
  carries is the target's current FullyQualifiedName (else DisplayName, else Name);
- line arithmetic: `Amount = Qty x UnitPrice`; sales forms total their item lines (less
  discounts, plus tax) and carry a matching sub-total line; bills, purchases, purchase
  orders, vendor credits, deposits and bill payments total their lines; journal entries
  balance; payments total invoice lines less credit-memo lines plus `UnappliedAmt`;
- open balances: `Invoice.Balance = TotalAmt - payments applied`, likewise Bill (bill payments)
  and CreditMemo (credit applied, = `RemainingCredit`); a VendorCredit's `Balance` is its
  `TotalAmt`, a sales or refund receipt's 0; links are two-way (an invoice lists the
  payments that pay it, a bill its bill payments, a closed estimate its invoice, a billed
  purchase order its bill, which is the same vendor's); payments apply only to the same
  customer's documents, bill payments to the same vendor's bills;
- `Customer.Balance = open invoice balances - open credit memo balances` (own documents),
  `BalanceWithJobs = Balance + the jobs' BalanceWithJobs`; `Vendor.Balance = open bill
  balances - open vendor credits`; inactive customers and vendors have a zero balance;
- deposits: each linked payment or sales receipt sat in Undeposited Funds, is deposited once,
  for its full amount, and a deposited sales receipt lists the deposit;
- with `chronology`: `TxnDate` is not after the local date of `CreateTime`, `DueDate` not before
  `TxnDate`, and a payment, bill payment or deposit is not dated before what it settles;
- with `ledger`: each transaction posts balanced debits and credits (the posting rules of
  `books`), each balance-sheet account's `CurrentBalance` equals its postings (QBO reports 0
  for income and expense accounts), `CurrentBalanceWithSubAccounts` adds the sub-accounts,
  and the receivable and payable accounts agree with the customer and vendor balances.

Entity names, account classification, reference tables and posting rules are `books`'s.
"""

from __future__ import annotations

import gc
import itertools
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from qbo_adapters.emulator.books import (
    CANONICAL_ENTITY_NAMES,
    PSEUDO_TAX_CODES,
    REF_TARGETS,
    SALES_FORMS,
    TRANSACTIONS,
    TXN_TYPES,
    Entities,
    cents,
    classification_of,
    default_accounts,
    ref_display,
    ref_value,
    transaction_postings,
)

if TYPE_CHECKING:
    from qbo_adapters.emulator.datagen.company import GeneratedCompany

__all__ = ["MAX_PROBLEMS", "validate_integrity"]

Obj = Mapping[str, Any]

MAX_PROBLEMS: Final = 200

_TIME_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
_DATE_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.dropped = 0

    def add(self, message: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(message)
        else:
            self.dropped += 1

    def result(self) -> list[str]:
        if self.dropped:
            return [*self.items, f"... and {self.dropped} more problems"]
        return list(self.items)


def _entities_of(company: GeneratedCompany | Entities) -> Entities:
    if isinstance(company, Mapping):
        return company
    return company.entities


def _by_id(entities: Entities) -> dict[str, dict[str, Obj]]:
    return {etype: {str(obj.get("Id")): obj for obj in objs} for etype, objs in entities.items()}


def _ref_value(obj: Obj | None, key: str) -> str:
    return ref_value(obj, key) or ""


def _linked(line: Obj) -> Iterator[tuple[str, str]]:
    for link in line.get("LinkedTxn") or ():
        yield str(link.get("TxnType", "")), str(link.get("TxnId", ""))


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not _TIME_RE.match(value):
        return None
    return datetime.fromisoformat(value)


class _Checker:
    def __init__(
        self,
        entities: Entities,
        *,
        ledger: bool,
        ref_names: bool,
        chronology: bool,
        now: datetime | None,
    ) -> None:
        self.entities = entities
        self.index = _by_id(entities)
        self.ledger = ledger
        self.ref_names = ref_names
        self.chronology = chronology
        self.now = now
        self.problems = _Problems()
        self.created: dict[tuple[str, str], datetime] = {}

    def add(self, message: str) -> None:
        self.problems.add(message)

    # -- every object ------------------------------------------------------

    def check_envelopes(self) -> None:
        for etype, objs in self.entities.items():
            if etype not in CANONICAL_ENTITY_NAMES:
                self.add(f"unknown entity type {etype!r}")
                continue
            seen: set[str] = set()
            order: list[tuple[int, datetime, str]] = []
            for obj in objs:
                self._check_envelope(etype, obj, seen, order)
            if self.chronology:
                order.sort()
                for (_, t1, id1), (_, t2, id2) in itertools.pairwise(order):
                    if t2 < t1:
                        self.add(
                            f"{etype} {id2} was created before {etype} {id1} but has the larger Id"
                        )

    def _check_envelope(
        self, etype: str, obj: Obj, seen: set[str], order: list[tuple[int, datetime, str]]
    ) -> None:
        obj_id = obj.get("Id")
        label = f"{etype} {obj_id}"
        if not isinstance(obj_id, str) or not obj_id.isdigit():
            self.add(f"{label}: Id must be a numeric string")
            return
        if obj_id in seen:
            self.add(f"{label}: duplicate Id")
        seen.add(obj_id)
        token = obj.get("SyncToken")
        if not isinstance(token, str) or not token.isdigit():
            self.add(f"{label}: SyncToken must be a numeric string")
        if obj.get("domain") != "QBO":
            self.add(f"{label}: domain must be 'QBO'")
        if obj.get("sparse") is not False:
            self.add(f"{label}: sparse must be false")
        meta = obj.get("MetaData") or {}
        created = _parse_time(meta.get("CreateTime"))
        updated = _parse_time(meta.get("LastUpdatedTime"))
        if created is None or updated is None:
            self.add(f"{label}: MetaData times must look like 2024-05-01T09:30:00-07:00")
            return
        self.created[(etype, obj_id)] = created
        order.append((int(obj_id), created, obj_id))
        if updated < created:
            self.add(f"{label}: LastUpdatedTime is before CreateTime")
        if self.now is not None and (created > self.now or updated > self.now):
            self.add(f"{label}: MetaData time after now")

    # -- names -------------------------------------------------------------

    def check_names(self) -> None:
        owners: dict[str, str] = {}
        for etype in ("Customer", "Vendor", "Employee"):
            for obj in self.entities.get(etype, ()):
                name = obj.get("DisplayName")
                if not isinstance(name, str) or not name.strip():
                    self.add(f"{etype} {obj.get('Id')}: missing DisplayName")
                    continue
                key = name.casefold()
                if key in owners:
                    self.add(
                        f"{etype} {obj.get('Id')}: DisplayName {name!r} already used by "
                        f"{owners[key]} (QBO error 6240)"
                    )
                else:
                    owners[key] = f"{etype} {obj.get('Id')}"
        for etype, field in (
            ("Account", "FullyQualifiedName"),
            ("Item", "FullyQualifiedName"),
            ("Class", "FullyQualifiedName"),
            ("Department", "FullyQualifiedName"),
            ("Term", "Name"),
            ("TaxCode", "Name"),
        ):
            names: set[str] = set()
            for obj in self.entities.get(etype, ()):
                value = obj.get(field, obj.get("Name"))
                if not isinstance(value, str):
                    self.add(f"{etype} {obj.get('Id')}: missing {field}")
                    continue
                if value.casefold() in names:
                    self.add(f"{etype} {obj.get('Id')}: duplicate name {value!r}")
                names.add(value.casefold())

    # -- references --------------------------------------------------------

    def check_refs(self) -> None:
        for etype, objs in self.entities.items():
            for obj in objs:
                self._walk(obj, etype, f"{etype} {obj.get('Id')}", obj)

    def _walk(self, node: Any, etype: str, label: str, parent: Obj) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key.endswith("Ref") and isinstance(value, Mapping):
                    self._check_ref(key, value, etype, label, node)
                elif key == "LinkedTxn" and isinstance(value, list):
                    for link in value:
                        self._check_link(link, label)
                elif isinstance(value, (Mapping, list)):
                    self._walk(value, etype, label, node)
        elif isinstance(node, list):
            for value in node:
                self._walk(value, etype, label, parent)

    def _check_ref(self, key: str, ref: Obj, etype: str, label: str, holder: Obj) -> None:
        if key == "ParentRef":
            target_type = etype
        elif key == "EntityRef":
            target_type = str(ref.get("type") or holder.get("Type") or "").capitalize()
        else:
            target_type = REF_TARGETS.get(key, "")
        if not target_type:
            return
        value = ref.get("value")
        if target_type == "TaxCode" and value in PSEUDO_TAX_CODES:
            return
        target = self.index.get(target_type, {}).get(str(value))
        if target is None:
            self.add(f"{label}: {key} points at missing {target_type} {value!r}")
            return
        if self.ref_names and "name" in ref and ref["name"] != ref_display(target):
            self.add(
                f"{label}: {key} name {ref['name']!r} is not {target_type} {value}'s "
                f"name {ref_display(target)!r}"
            )

    def _check_link(self, link: Any, label: str) -> None:
        if not isinstance(link, Mapping):
            self.add(f"{label}: LinkedTxn entry is not an object")
            return
        target_type = TXN_TYPES.get(str(link.get("TxnType")))
        if target_type is None:
            return
        if str(link.get("TxnId")) not in self.index.get(target_type, {}):
            self.add(f"{label}: LinkedTxn points at missing {target_type} {link.get('TxnId')!r}")

    # -- line arithmetic ---------------------------------------------------

    def _check_qty_price(self, label: str, line: Obj, detail: Obj) -> None:
        if "Qty" in detail and "UnitPrice" in detail:
            expected = round(float(detail["Qty"]) * float(detail["UnitPrice"]) * 100)
            if abs(expected - cents(line.get("Amount", 0))) > 1:
                self.add(f"{label}: line {line.get('Id')} Amount is not Qty x UnitPrice")

    def check_lines(self) -> None:
        for etype in SALES_FORMS:
            for obj in self.entities.get(etype, ()):
                self._check_sales_lines(f"{etype} {obj.get('Id')}", obj)
        for etype in ("Bill", "Purchase", "PurchaseOrder", "VendorCredit"):
            for obj in self.entities.get(etype, ()):
                label = f"{etype} {obj.get('Id')}"
                total = 0
                for line in obj.get("Line") or ():
                    total += cents(line.get("Amount", 0))
                    detail = line.get("ItemBasedExpenseLineDetail")
                    if isinstance(detail, Mapping):
                        self._check_qty_price(label, line, detail)
                if total != cents(obj.get("TotalAmt", 0)):
                    self.add(f"{label}: TotalAmt is not the sum of its lines")
        for etype in ("Deposit", "BillPayment"):
            for obj in self.entities.get(etype, ()):
                total = sum(cents(line.get("Amount", 0)) for line in obj.get("Line") or ())
                if total != cents(obj.get("TotalAmt", 0)):
                    self.add(f"{etype} {obj.get('Id')}: TotalAmt is not the sum of its lines")
        for obj in self.entities.get("JournalEntry", ()):
            debit = credit = 0
            for line in obj.get("Line") or ():
                detail = line.get("JournalEntryLineDetail") or {}
                if detail.get("PostingType") == "Debit":
                    debit += cents(line.get("Amount", 0))
                elif detail.get("PostingType") == "Credit":
                    credit += cents(line.get("Amount", 0))
                else:
                    self.add(f"JournalEntry {obj.get('Id')}: line without PostingType")
            if debit != credit:
                self.add(f"JournalEntry {obj.get('Id')}: debits {debit} != credits {credit}")
        for obj in self.entities.get("Payment", ()):
            total = cents(obj.get("UnappliedAmt", 0))
            for line in obj.get("Line") or ():
                for txn_type, _ in _linked(line):
                    if txn_type == "Invoice":
                        total += cents(line.get("Amount", 0))
                    elif txn_type == "CreditMemo":
                        total -= cents(line.get("Amount", 0))
                    break
            if total != cents(obj.get("TotalAmt", 0)):
                self.add(
                    f"Payment {obj.get('Id')}: TotalAmt is not invoices less credits "
                    "plus UnappliedAmt"
                )

    def _check_sales_lines(self, label: str, obj: Obj) -> None:
        items = 0
        discounts = 0
        for line in obj.get("Line") or ():
            detail_type = line.get("DetailType")
            amount = cents(line.get("Amount", 0))
            if detail_type == "SalesItemLineDetail":
                items += amount
                self._check_qty_price(label, line, line.get("SalesItemLineDetail") or {})
            elif detail_type == "SubTotalLineDetail":
                if amount != items:
                    self.add(f"{label}: sub-total line is not the sum of the item lines")
            elif detail_type == "DiscountLineDetail":
                discounts += amount
        tax = cents((obj.get("TxnTaxDetail") or {}).get("TotalTax", 0))
        if cents(obj.get("TotalAmt", 0)) != items - discounts + tax:
            self.add(f"{label}: TotalAmt is not item lines less discounts plus tax")

    # -- open balances and links ------------------------------------------

    def _applied(self, payer: str, target: str, owner_ref: str) -> dict[str, int]:
        applied: dict[str, int] = defaultdict(int)
        targets = self.index.get(target, {})
        target_types = {k for k, v in TXN_TYPES.items() if v == target}
        for obj in self.entities.get(payer, ()):
            label = f"{payer} {obj.get('Id')}"
            owner = _ref_value(obj, owner_ref)
            for line in obj.get("Line") or ():
                for txn_type, txn_id in _linked(line):
                    if txn_type not in target_types:
                        continue
                    applied[txn_id] += cents(line.get("Amount", 0))
                    doc = targets.get(txn_id)
                    if doc is not None and _ref_value(doc, owner_ref) != owner:
                        self.add(f"{label}: applies to {target} {txn_id} of another {owner_ref}")
        return applied

    def _check_backlinks(self, payer: str, doc_type: str, link_types: frozenset[str]) -> None:
        """Each `doc_type` lists (in its own LinkedTxn) exactly the `payer`s that link to it."""
        forward: dict[str, set[str]] = defaultdict(set)
        for obj in self.entities.get(payer, ()):
            for line in obj.get("Line") or ():
                for txn_type, txn_id in _linked(line):
                    if TXN_TYPES.get(txn_type) == doc_type:
                        forward[txn_id].add(str(obj.get("Id")))
        for doc in self.entities.get(doc_type, ()):
            back = {
                str(link.get("TxnId"))
                for link in doc.get("LinkedTxn") or ()
                if link.get("TxnType") in link_types
            }
            doc_id = str(doc.get("Id"))
            if back != forward.get(doc_id, set()):
                self.add(f"{doc_type} {doc_id}: LinkedTxn does not list the {payer}s applied to it")

    def check_balances(self) -> None:
        paid = self._applied("Payment", "Invoice", "CustomerRef")
        credited = self._applied("Payment", "CreditMemo", "CustomerRef")
        bill_paid = self._applied("BillPayment", "Bill", "VendorRef")
        for etype, applied in (("Invoice", paid), ("CreditMemo", credited), ("Bill", bill_paid)):
            for obj in self.entities.get(etype, ()):
                obj_id = str(obj.get("Id"))
                balance = cents(obj.get("Balance", 0))
                expected = cents(obj.get("TotalAmt", 0)) - applied.get(obj_id, 0)
                if balance != expected:
                    self.add(
                        f"{etype} {obj_id}: Balance {balance / 100:.2f} is not TotalAmt less "
                        f"amounts applied ({expected / 100:.2f})"
                    )
                if expected < 0:
                    self.add(f"{etype} {obj_id}: more applied than its TotalAmt")
                remaining = obj.get("RemainingCredit", obj.get("Balance", 0))
                if etype == "CreditMemo" and cents(remaining) != balance:
                    self.add(f"CreditMemo {obj_id}: RemainingCredit differs from Balance")
        self._check_backlinks("Payment", "Invoice", frozenset({"Payment"}))
        self._check_backlinks(
            "BillPayment", "Bill", frozenset({"BillPaymentCheck", "BillPaymentCreditCard"})
        )
        for etype in ("SalesReceipt", "RefundReceipt"):
            for obj in self.entities.get(etype, ()):
                if cents(obj.get("Balance", 0)) != 0:
                    self.add(f"{etype} {obj.get('Id')}: Balance must be 0")
        for obj in self.entities.get("VendorCredit", ()):
            if cents(obj.get("Balance", 0)) != cents(obj.get("TotalAmt", 0)):
                self.add(f"VendorCredit {obj.get('Id')}: Balance is not TotalAmt")
        self._check_estimates()
        self._check_purchase_orders()
        self._check_name_balances()
        self._check_deposits()

    def _check_estimates(self) -> None:
        invoices = self.index.get("Invoice", {})
        for est in self.entities.get("Estimate", ()):
            est_id = str(est.get("Id"))
            for link in est.get("LinkedTxn") or ():
                if link.get("TxnType") != "Invoice":
                    continue
                inv = invoices.get(str(link.get("TxnId")))
                if inv is None:
                    continue
                back = {
                    str(x.get("TxnId"))
                    for x in inv.get("LinkedTxn") or ()
                    if x.get("TxnType") == "Estimate"
                }
                if est_id not in back:
                    self.add(f"Estimate {est_id}: Invoice {inv.get('Id')} does not link back")
                if _ref_value(inv, "CustomerRef") != _ref_value(est, "CustomerRef"):
                    self.add(f"Estimate {est_id}: invoiced to another customer")

    def _check_purchase_orders(self) -> None:
        bills = self.index.get("Bill", {})
        orders = self.index.get("PurchaseOrder", {})
        for order in self.entities.get("PurchaseOrder", ()):
            order_id = str(order.get("Id"))
            for link in order.get("LinkedTxn") or ():
                bill = bills.get(str(link.get("TxnId"))) if link.get("TxnType") == "Bill" else None
                if bill is None:
                    continue
                back = {
                    str(x.get("TxnId"))
                    for x in bill.get("LinkedTxn") or ()
                    if x.get("TxnType") == "PurchaseOrder"
                }
                if order_id not in back:
                    self.add(f"PurchaseOrder {order_id}: Bill {bill.get('Id')} does not link back")
                if _ref_value(bill, "VendorRef") != _ref_value(order, "VendorRef"):
                    self.add(f"PurchaseOrder {order_id}: billed to another vendor")
                if order.get("POStatus") != "Closed":
                    self.add(f"PurchaseOrder {order_id}: billed but not Closed")
        for bill in self.entities.get("Bill", ()):
            for link in bill.get("LinkedTxn") or ():
                if link.get("TxnType") != "PurchaseOrder":
                    continue
                listed = orders.get(str(link.get("TxnId")))
                if listed is not None and str(bill.get("Id")) not in {
                    str(x.get("TxnId"))
                    for x in listed.get("LinkedTxn") or ()
                    if x.get("TxnType") == "Bill"
                }:
                    self.add(
                        f"Bill {bill.get('Id')}: PurchaseOrder {listed.get('Id')} does not list it"
                    )

    def _check_name_balances(self) -> None:
        own: dict[str, int] = defaultdict(int)
        for etype, sign in (("Invoice", 1), ("CreditMemo", -1)):
            for obj in self.entities.get(etype, ()):
                own[_ref_value(obj, "CustomerRef")] += sign * cents(obj.get("Balance", 0))
        customers = self.index.get("Customer", {})
        children: dict[str, list[str]] = defaultdict(list)
        for cust_id, cust in customers.items():
            parent = _ref_value(cust, "ParentRef")
            if parent:
                children[parent].append(cust_id)
                parent_obj = customers.get(parent)
                if parent_obj is not None:
                    fqn = f"{parent_obj.get('FullyQualifiedName')}:{cust.get('DisplayName')}"
                    if cust.get("FullyQualifiedName") != fqn:
                        self.add(f"Customer {cust_id}: FullyQualifiedName is not Parent:Child")
                    if cust.get("Level") != int(parent_obj.get("Level", 0)) + 1:
                        self.add(f"Customer {cust_id}: Level is not its parent's plus one")

        def with_jobs(cust_id: str, depth: int = 0) -> int:
            if depth > 10:
                return 0
            base = cents(customers[cust_id].get("Balance", 0))
            return base + sum(with_jobs(child, depth + 1) for child in children.get(cust_id, ()))

        for cust_id, cust in customers.items():
            balance = cents(cust.get("Balance", 0))
            if balance != own.get(cust_id, 0):
                self.add(
                    f"Customer {cust_id}: Balance {balance / 100:.2f} is not its open invoices "
                    f"less open credits ({own.get(cust_id, 0) / 100:.2f})"
                )
            if "BalanceWithJobs" in cust and cents(cust["BalanceWithJobs"]) != with_jobs(cust_id):
                self.add(f"Customer {cust_id}: BalanceWithJobs is not Balance plus its jobs'")
            if cust.get("Active") is False and balance != 0:
                self.add(f"Customer {cust_id}: inactive with a non-zero balance")
        owed: dict[str, int] = defaultdict(int)
        for etype, sign in (("Bill", 1), ("VendorCredit", -1)):
            for obj in self.entities.get(etype, ()):
                owed[_ref_value(obj, "VendorRef")] += sign * cents(obj.get("Balance", 0))
        for vendor in self.entities.get("Vendor", ()):
            vendor_id = str(vendor.get("Id"))
            balance = cents(vendor.get("Balance", 0))
            if balance != owed.get(vendor_id, 0):
                self.add(
                    f"Vendor {vendor_id}: Balance {balance / 100:.2f} is not its open bills "
                    f"less open vendor credits ({owed.get(vendor_id, 0) / 100:.2f})"
                )
            if vendor.get("Active") is False and balance != 0:
                self.add(f"Vendor {vendor_id}: inactive with a non-zero balance")

    def _check_deposits(self) -> None:
        accounts = self.index.get("Account", {})
        deposited: dict[tuple[str, str], str] = {}
        for dep in self.entities.get("Deposit", ()):
            dep_id = str(dep.get("Id"))
            target = accounts.get(_ref_value(dep, "DepositToAccountRef"))
            if target is not None and target.get("AccountSubType") == "UndepositedFunds":
                self.add(f"Deposit {dep_id}: deposits into Undeposited Funds")
            for line in dep.get("Line") or ():
                for txn_type, txn_id in _linked(line):
                    source_type = TXN_TYPES.get(txn_type)
                    if source_type not in ("Payment", "SalesReceipt"):
                        continue
                    key = (source_type, txn_id)
                    if key in deposited:
                        self.add(f"Deposit {dep_id}: {source_type} {txn_id} deposited twice")
                    deposited[key] = dep_id
                    source = self.index.get(source_type, {}).get(txn_id)
                    if source is None:
                        continue
                    held = accounts.get(_ref_value(source, "DepositToAccountRef"))
                    if held is None or held.get("AccountSubType") != "UndepositedFunds":
                        self.add(
                            f"Deposit {dep_id}: {source_type} {txn_id} was not held in "
                            "Undeposited Funds"
                        )
                    if cents(line.get("Amount", 0)) != cents(source.get("TotalAmt", 0)):
                        self.add(f"Deposit {dep_id}: amount differs from {source_type} {txn_id}")
        for receipt in self.entities.get("SalesReceipt", ()):
            links = {
                str(x.get("TxnId"))
                for x in receipt.get("LinkedTxn") or ()
                if x.get("TxnType") == "Deposit"
            }
            actual = deposited.get(("SalesReceipt", str(receipt.get("Id"))))
            if links != ({actual} if actual else set()):
                self.add(f"SalesReceipt {receipt.get('Id')}: LinkedTxn does not name its deposit")

    # -- dates -------------------------------------------------------------

    def check_dates(self) -> None:
        txn_dates: dict[tuple[str, str], str] = {}
        for etype in TRANSACTIONS:
            for obj in self.entities.get(etype, ()):
                obj_id = str(obj.get("Id"))
                label = f"{etype} {obj_id}"
                txn_date = obj.get("TxnDate")
                if not isinstance(txn_date, str) or not _DATE_RE.match(txn_date):
                    self.add(f"{label}: TxnDate must be YYYY-MM-DD")
                    continue
                txn_dates[(etype, obj_id)] = txn_date
                created = self.created.get((etype, obj_id))
                if created is not None and txn_date > created.date().isoformat():
                    self.add(f"{label}: TxnDate {txn_date} is after its CreateTime")
                due = obj.get("DueDate")
                if due is not None and (not isinstance(due, str) or due < txn_date):
                    self.add(f"{label}: DueDate is before TxnDate")
        for etype in ("Payment", "BillPayment", "Deposit"):
            for obj in self.entities.get(etype, ()):
                own = txn_dates.get((etype, str(obj.get("Id"))))
                if own is None:
                    continue
                for line in obj.get("Line") or ():
                    for txn_type, txn_id in _linked(line):
                        target = TXN_TYPES.get(txn_type, "")
                        settled = txn_dates.get((target, txn_id))
                        if settled is not None and settled > own:
                            self.add(f"{etype} {obj.get('Id')}: dated before {target} {txn_id}")

    # -- ledger ------------------------------------------------------------

    def check_ledger(self) -> None:
        defaults = default_accounts(self.index.get("Account", {}))
        balances: dict[str, int] = defaultdict(int)
        accounts = self.index.get("Account", {})
        for etype in TRANSACTIONS:
            for obj in self.entities.get(etype, ()):
                postings = transaction_postings(etype, obj, self.index, defaults)
                if sum(amount for _, amount in postings) != 0:
                    self.add(f"{etype} {obj.get('Id')}: postings do not balance")
                for account_id, amount in postings:
                    if amount and account_id not in accounts:
                        self.add(f"{etype} {obj.get('Id')}: posts to missing account")
                        break
                    balances[account_id] += amount
        children: dict[str, list[str]] = defaultdict(list)
        for acct_id, acct in accounts.items():
            parent = _ref_value(acct, "ParentRef")
            if parent:
                children[parent].append(acct_id)

        def expected(acct_id: str) -> int:
            acct = accounts[acct_id]
            classification = acct.get("Classification")
            if classification in ("Asset",):
                return balances.get(acct_id, 0)
            if classification in ("Liability", "Equity"):
                return -balances.get(acct_id, 0)
            return 0

        def with_subs(acct_id: str, depth: int = 0) -> int:
            if depth > 10:
                return 0
            return expected(acct_id) + sum(
                with_subs(child, depth + 1) for child in children.get(acct_id, ())
            )

        for acct_id, acct in accounts.items():
            account_type = acct.get("AccountType")
            if classification_of(str(account_type)) != acct.get("Classification"):
                self.add(f"Account {acct_id}: Classification does not match {account_type}")
            if cents(acct.get("CurrentBalance", 0)) != expected(acct_id):
                self.add(
                    f"Account {acct_id} ({acct.get('Name')}): CurrentBalance "
                    f"{cents(acct.get('CurrentBalance', 0)) / 100:.2f} is not its postings "
                    f"({expected(acct_id) / 100:.2f})"
                )
            if "CurrentBalanceWithSubAccounts" in acct and cents(
                acct["CurrentBalanceWithSubAccounts"]
            ) != with_subs(acct_id):
                self.add(f"Account {acct_id}: CurrentBalanceWithSubAccounts is not the sum")
        receivable = sum(
            expected(a)
            for a, acct in accounts.items()
            if acct.get("AccountType") == "Accounts Receivable"
        )
        customers = sum(cents(c.get("Balance", 0)) for c in self.entities.get("Customer", ()))
        if receivable != customers:
            self.add("A/R accounts do not equal the sum of customer balances")
        payable = sum(
            expected(a)
            for a, acct in accounts.items()
            if acct.get("AccountType") == "Accounts Payable"
        )
        vendors = sum(cents(v.get("Balance", 0)) for v in self.entities.get("Vendor", ()))
        if payable != vendors:
            self.add("A/P accounts do not equal the sum of vendor balances")


def validate_integrity(
    company: GeneratedCompany | Entities,
    *,
    ledger: bool = True,
    ref_names: bool = True,
    chronology: bool = True,
    now: datetime | None = None,
) -> list[str]:
    """Problems that make `company` inconsistent as QBO data; empty when it is consistent.

    `company` is a `GeneratedCompany` or a mapping from entity name to its objects. Turn off
    `ledger` (account balances), `ref_names` (names carried in refs) or `chronology` (dates and
    creation order) for stores that do not maintain them. With `now`, no `MetaData` time may
    be later. At most `MAX_PROBLEMS` messages are listed, then a count of the rest.
    """
    checker = _Checker(
        _entities_of(company),
        ledger=ledger,
        ref_names=ref_names,
        chronology=chronology,
        now=now,
    )
    collecting = gc.isenabled()
    gc.disable()  # many short-lived, acyclic allocations over a large heap (see datagen)
    try:
        checker.check_envelopes()
        checker.check_names()
        checker.check_refs()
        checker.check_lines()
        checker.check_balances()
        if checker.chronology:
            checker.check_dates()
        if checker.ledger:
            checker.check_ledger()
    finally:
        if collecting:
            gc.enable()
    return checker.problems.result()
