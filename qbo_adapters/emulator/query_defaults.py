"""What QBO does per entity type when a query does not say: order, inactive objects,
`totalCount` on a page, and properties `SELECT *` leaves out.

Order and inactive objects come from recorded sandbox traffic
(`../shared/fixtures/qbo-recorded`, 2020-09-29), `totalCount` and `Sku` from the facts
file (section 11, responses recorded 2024-2026); where a rule is extended to entity types
that were not recorded, the docstring says so.
"""

from __future__ import annotations

from qbo_adapters.emulator.query_model import OrderKey

__all__ = ["carries_total_count", "default_order_for", "hides_inactive", "left_out_of_star"]

_BY_FULL_NAME = ("Customer", "Account", "Item", "Class", "Department")
_BY_DISPLAY_NAME = ("Vendor", "Employee")
_TRANSACTIONS = (
    "Bill",
    "BillPayment",
    "CreditMemo",
    "Deposit",
    "Estimate",
    "Invoice",
    "JournalEntry",
    "Payment",
    "Purchase",
    "PurchaseOrder",
    "RefundReceipt",
    "SalesReceipt",
    "TimeActivity",
    "Transfer",
    "VendorCredit",
)
_DEFAULT_ORDERS: dict[str, tuple[OrderKey, ...]] = {
    **{name.lower(): (OrderKey(field="FullyQualifiedName"),) for name in _BY_FULL_NAME},
    **{name.lower(): (OrderKey(field="DisplayName"),) for name in _BY_DISPLAY_NAME},
    **{
        name.lower(): (OrderKey(field="MetaData.LastUpdatedTime", descending=True),)
        for name in _TRANSACTIONS
    },
}
_NAME_LISTS = frozenset(
    name.lower()
    for name in (
        "Account",
        "Class",
        "Customer",
        "Department",
        "Employee",
        "Item",
        "PaymentMethod",
        "Term",
        "Vendor",
    )
)


def default_order_for(entity: str) -> tuple[OrderKey, ...]:
    """The order QBO returns `entity` in when a query has no ORDERBY (case-sensitive).

    Recorded: Customer by FullyQualifiedName, so sub-customers follow their parent
    (`all/customers.json`); Vendor and Employee by DisplayName (`all/vendors_by_5.json`,
    `all/employees_including_active.json`); SalesReceipt by MetaData.LastUpdatedTime,
    newest first (`all/sales_receipts.json`, `batch/basic.json`). Extended, not
    recorded: Account, Item, Class, Department like Customer; the other transactions like
    SalesReceipt. Any other entity: `()`, which `execute` reads as by Id.
    """
    return _DEFAULT_ORDERS.get(entity.lower(), ())


_WITH_TOTAL_COUNT = frozenset(
    name.lower()
    for name in ("Bill", "BillPayment", "Deposit", "Invoice", "JournalEntry", "PurchaseOrder")
)


def carries_total_count(entity: str) -> bool:
    """Whether a page of `entity` rows carries `totalCount` beside `startPosition` and
    `maxResults` (a `COUNT(*)` answer always does; an empty page never).

    Facts file section 11: QBO sends it for Invoice, Bill, BillPayment, Deposit,
    JournalEntry and PurchaseOrder queries and not for Customer, Vendor, Item, Account,
    Payment, Purchase, Estimate or CreditMemo; the 2020 recordings agree for Customer and
    Vendor (`all/customers.json`, `all/vendors_by_5.json`) and show none for SalesReceipt
    and Employee (`all/sales_receipts.json`, `all/employees_including_active.json`).
    Entities no source names are left without it.
    """
    return entity.lower() in _WITH_TOTAL_COUNT


_LEFT_OUT_OF_STAR: dict[str, frozenset[str]] = {"item": frozenset({"sku"})}


def left_out_of_star(entity: str) -> frozenset[str]:
    """The properties of `entity` (lower-case) that `SELECT *` leaves out unless the
    select list names them after the star (`SELECT *, Sku FROM Item`).

    Facts file section 11: `SELECT *, Sku FROM Item` is how clients get `Sku`, which
    `SELECT *` leaves out. Only Item's `Sku` is known; reads by Id, CDC and write
    responses carry it as stored.
    """
    return _LEFT_OUT_OF_STAR.get(entity.lower(), frozenset())


def hides_inactive(entity: str) -> bool:
    """Whether QBO leaves inactive `entity` objects out of a query whose WHERE does not
    name `Active`.

    Recorded for Vendor: `SELECT COUNT(*) FROM Vendor` counted 26 while
    `... WHERE Active IN (true, false)` listed 27, the 27th inactive
    (`all/vendors_by_5.json`, `get/inactive_vendors.json`). Extended to the other name
    lists, which are deactivated the same way (Account, Class, Customer, Department,
    Employee, Item, PaymentMethod, Term).
    """
    return entity.lower() in _NAME_LISTS
