"""The books: the emulator's accounting knowledge, in one place.

Every other module reads it (the store, the entity rules, the generator, its integrity
checker, the reports); it reads no other emulator module. What it holds:

- **canonical entity names**: `NAME_LISTS`, `TAX_CODES`, `TRANSACTIONS` and their union
  `CANONICAL_ENTITY_NAMES` (the entities a company holds, in the generator's order);
  `SALES_FORMS`;
- **account classification**: `ACCOUNT_TYPES` in the order QBO lists them, the
  `Classification` of each (`classification_of`), a default `AccountSubType` per type and
  the type each known sub-type belongs to; the classification groups reports use;
- **reference tables**: where each `...Ref` points (`REF_TARGETS`), the US pseudo tax
  codes, the account types an account reference may name, the control accounts nothing
  but customers' and vendors' documents may post to, `LinkedTxn.TxnType` values
  (`TXN_TYPES`) and the links the server keeps (`SERVER_LINKS`); `ref_value` and
  `ref_display` read a reference and the name one carries;
- **posting rules** (`POSTING_RULES`, `transaction_postings`, `ledger_balances`): what
  each transaction debits and credits, in cents, debit positive. An invoice debits A/R
  and credits each item's income account; inventory items also move `Qty x PurchaseCost`
  from the item's asset account to its expense (cost of goods) account. A sales receipt
  debits its deposit account instead of A/R; a credit memo reverses an invoice; a payment
  debits its deposit account and credits A/R. A bill credits A/P and debits each line's
  account (an inventory item's asset account, another item's expense account); a bill
  payment debits A/P and credits the bank or card; a purchase credits its payment
  account; a deposit debits its bank and credits the account each line came from; a
  journal entry posts its lines. A refund receipt credits its `DepositToAccountRef` and
  reverses a sale's lines (debits income, takes inventory back); a vendor credit debits
  A/P and credits each line's account; a transfer debits `ToAccountRef` and credits
  `FromAccountRef`; a credit card payment debits the card (`CreditCardAccountRef`) and
  credits the bank (`BankAccountRef`). Estimates, purchase orders and time activity post
  nothing (`NON_POSTING`). A rule's missing A/R, A/P or
  Undeposited Funds account is the company's default (`default_accounts`);
  `NAME_BALANCE_RULES` says which documents move a customer's or vendor's balance.

How to add an entity (say `VendorCredit`):

1. here: its name in `TRANSACTIONS` (or `NAME_LISTS`), its `LinkedTxn.TxnType` in
   `TXN_TYPES` if documents link it, server-kept links in `SERVER_LINKS`, and its posting
   rule in `POSTING_RULES` (a function `(obj, index, defaults) -> postings`; its place in
   the dict is where reports list it within a day). One that posts nothing
   (PurchaseOrder) gets no rule and a place in `NON_POSTING`. If it moves a customer's
   or vendor's balance, an entry in `NAME_BALANCE_RULES`;
2. `entity_registry.py`: one `_spec(...)` with the properties QBO accepts and what a
   create requires, and its name out of `OTHER_QBO_ENTITIES`; its normalizer (the
   server's defaults and computed fields) in `entity_transactions.py`'s
   `TRANSACTION_NORMALIZERS` (or `entity_name_lists.py`'s `NAME_LIST_NORMALIZERS`), lines
   through `entity_lines.py`;
3. `datagen/`: the generator's entries for each size (`generator.py`) and any consistency
   rule the checker should hold (`integrity.py`).

The store, CDC, batch, queries and reports then serve it with no further change (a
document that payments apply to, like a bill, also needs the store's application
bookkeeping: `store.py`'s `_OPEN_DOCUMENTS` and `_applications`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

__all__ = [
    "ACCOUNT_TYPES",
    "ACCOUNT_TYPES_FOR_REF",
    "BALANCE_SHEET",
    "CANONICAL_ENTITY_NAMES",
    "CONTROL_ACCOUNTS",
    "NAME_BALANCE_RULES",
    "NAME_LISTS",
    "NATURAL_DEBIT",
    "NON_POSTING",
    "POSTING_ENTITIES",
    "POSTING_RULES",
    "PROFIT_AND_LOSS",
    "PSEUDO_TAX_CODES",
    "REF_TARGETS",
    "SALES_FORMS",
    "SERVER_LINKS",
    "TAX_CODES",
    "TAX_CODE_REFS",
    "TRANSACTIONS",
    "TXN_TYPES",
    "Entities",
    "Index",
    "Posting",
    "PostingRule",
    "cents",
    "classification_of",
    "default_accounts",
    "default_sub_type",
    "ledger_balances",
    "ref_display",
    "ref_value",
    "stored_cents",
    "transaction_postings",
    "type_of_sub_type",
]

Obj = Mapping[str, Any]
#: Entity name -> its objects (a generated company, or a store's objects by list).
Entities = Mapping[str, Sequence[Mapping[str, Any]]]
#: Entity name -> Id -> object.
Index = Mapping[str, Mapping[str, Obj]]
#: (account Id, cents), debit positive.
Posting = tuple[str, int]

# --------------------------------------------------------------------------- entity names

#: Name lists: deactivated, never deleted.
NAME_LISTS: Final = (
    "Account",
    "Customer",
    "Vendor",
    "Employee",
    "Item",
    "Class",
    "Department",
    "Term",
    "PaymentMethod",
)
#: The sales-tax lists a company holds: TaxCode and TaxRate are read-only (QBO creates them
#: through its TaxService), a TaxAgency can be created and read.
TAX_CODES: Final = ("TaxCode", "TaxRate", "TaxAgency")
#: Transactions: deleted (some voided); Ids from one sequence shared by all of them.
TRANSACTIONS: Final = (
    "Invoice",
    "Payment",
    "Bill",
    "BillPayment",
    "SalesReceipt",
    "Estimate",
    "CreditMemo",
    "JournalEntry",
    "Purchase",
    "Deposit",
    "PurchaseOrder",
    "VendorCredit",
    "RefundReceipt",
    "Transfer",
    "CreditCardPayment",
    "TimeActivity",
)
#: Transactions that post nothing to the ledger: an estimate and a purchase order are
#: offers, not yet sales or purchases; time activity is a record of hours (billing it makes
#: an invoice).
NON_POSTING: Final = frozenset({"Estimate", "PurchaseOrder", "TimeActivity"})
#: Every entity a company holds objects of (CompanyInfo and Preferences aside).
CANONICAL_ENTITY_NAMES: Final = (*NAME_LISTS, *TAX_CODES, *TRANSACTIONS)
SALES_FORMS: Final = ("Invoice", "SalesReceipt", "Estimate", "CreditMemo", "RefundReceipt")

# --------------------------------------------------------------------------- accounts

#: Account types in the order QBO lists them (General Ledger, and within each section).
ACCOUNT_TYPES: Final = (
    "Bank",
    "Accounts Receivable",
    "Other Current Asset",
    "Fixed Asset",
    "Other Asset",
    "Accounts Payable",
    "Credit Card",
    "Other Current Liability",
    "Long Term Liability",
    "Equity",
    "Income",
    "Cost of Goods Sold",
    "Expense",
    "Other Income",
    "Other Expense",
)
_CLASSIFICATION: Final = {
    "Bank": "Asset",
    "Accounts Receivable": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Other Current Liability": "Liability",
    "Long Term Liability": "Liability",
    "Equity": "Equity",
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Expense": "Expense",
    "Other Expense": "Expense",
    "Cost of Goods Sold": "Expense",
}
_DEFAULT_SUBTYPE: Final = {
    "Bank": "Checking",
    "Accounts Receivable": "AccountsReceivable",
    "Other Current Asset": "OtherCurrentAssets",
    "Fixed Asset": "OtherFixedAssets",
    "Other Asset": "OtherLongTermAssets",
    "Accounts Payable": "AccountsPayable",
    "Credit Card": "CreditCard",
    "Other Current Liability": "OtherCurrentLiabilities",
    "Long Term Liability": "OtherLongTermLiabilities",
    "Equity": "OpeningBalanceEquity",
    "Income": "ServiceFeeIncome",
    "Other Income": "OtherMiscellaneousIncome",
    "Expense": "OtherMiscellaneousServiceCost",
    "Other Expense": "OtherMiscellaneousExpense",
    "Cost of Goods Sold": "SuppliesMaterialsCogs",
}
_TYPE_OF_SUBTYPE: Final = {
    **{sub: atype for atype, sub in _DEFAULT_SUBTYPE.items()},
    "Savings": "Bank",
    "MoneyMarket": "Bank",
    "CashOnHand": "Bank",
    "UndepositedFunds": "Other Current Asset",
    "Inventory": "Other Current Asset",
    "PrepaidExpenses": "Other Current Asset",
    "Vehicles": "Fixed Asset",
    "AccumulatedDepreciation": "Fixed Asset",
    "FurnitureAndFixtures": "Fixed Asset",
    "Machinery": "Fixed Asset",
    "LoanPayable": "Other Current Liability",
    "SalesTaxPayable": "Other Current Liability",
    "PayrollTaxPayable": "Other Current Liability",
    "NotesPayable": "Long Term Liability",
    "OwnersEquity": "Equity",
    "RetainedEarnings": "Equity",
    "PartnerContributions": "Equity",
    "OwnerContributions": "Equity",
    "SalesOfProductIncome": "Income",
    "DiscountsRefundsGiven": "Income",
    "InterestEarned": "Other Income",
    "AdvertisingPromotional": "Expense",
    "OfficeGeneralAdministrativeExpenses": "Expense",
    "Insurance": "Expense",
    "RentOrLeaseOfBuildings": "Expense",
    "Utilities": "Expense",
    "Travel": "Expense",
    "SuppliesMaterials": "Expense",
    "LegalProfessionalFees": "Expense",
    "PayrollExpenses": "Expense",
    "Auto": "Expense",
    "Depreciation": "Other Expense",
    "PenaltiesSettlements": "Other Expense",
    "CostOfLabor": "Cost of Goods Sold",
    "SuppliesMaterialsCogs": "Cost of Goods Sold",
}
#: Classifications whose debits show positive (assets, expenses).
NATURAL_DEBIT: Final = frozenset({"Asset", "Expense"})
BALANCE_SHEET: Final = frozenset({"Asset", "Liability", "Equity"})
PROFIT_AND_LOSS: Final = frozenset({"Revenue", "Expense"})


def classification_of(account_type: str) -> str | None:
    """The `Classification` QBO gives an `AccountType` ("Asset", ...); None for an unknown type."""
    return _CLASSIFICATION.get(account_type)


def default_sub_type(account_type: str) -> str:
    """The `AccountSubType` an account of a known `account_type` gets when none is sent."""
    return _DEFAULT_SUBTYPE[account_type]


def type_of_sub_type(sub_type: str) -> str | None:
    """The `AccountType` a known `AccountSubType` belongs to; None for an unknown one."""
    return _TYPE_OF_SUBTYPE.get(sub_type)


# --------------------------------------------------------------------------- references

#: Where each `...Ref` key points (`ParentRef` points at the holder's own type and
#: `EntityRef` at its `type`). Refs not listed (CurrencyRef, ShipMethodRef,
#: SalesRepRef...) are kept as sent.
REF_TARGETS: Final = {
    "CustomerRef": "Customer",
    "VendorRef": "Vendor",
    "EmployeeRef": "Employee",
    "ItemRef": "Item",
    "AccountRef": "Account",
    "DepositToAccountRef": "Account",
    "FromAccountRef": "Account",
    "ToAccountRef": "Account",
    "CreditCardAccountRef": "Account",
    "APAccountRef": "Account",
    "ARAccountRef": "Account",
    "IncomeAccountRef": "Account",
    "ExpenseAccountRef": "Account",
    "AssetAccountRef": "Account",
    "BankAccountRef": "Account",
    "CCAccountRef": "Account",
    "DiscountAccountRef": "Account",
    "ClassRef": "Class",
    "DepartmentRef": "Department",
    "SalesTermRef": "Term",
    "TermRef": "Term",
    "PrefVendorRef": "Vendor",
    "DefaultTaxCodeRef": "TaxCode",
    "TaxCodeRef": "TaxCode",
    "TxnTaxCodeRef": "TaxCode",
    "TaxRateRef": "TaxRate",
    "AgencyRef": "TaxAgency",
    "PaymentMethodRef": "PaymentMethod",
}
TAX_CODE_REFS: Final = frozenset({"DefaultTaxCodeRef", "TaxCodeRef", "TxnTaxCodeRef"})
#: US pseudo tax codes used on lines; they are not TaxCode objects.
PSEUDO_TAX_CODES: Final = frozenset({"TAX", "NON"})

#: Account references that must name one kind of account.
ACCOUNT_TYPES_FOR_REF: Final[dict[str, frozenset[str]]] = {
    "APAccountRef": frozenset({"Accounts Payable"}),
    "ARAccountRef": frozenset({"Accounts Receivable"}),
    "BankAccountRef": frozenset({"Bank"}),
    "CCAccountRef": frozenset({"Credit Card"}),
    "CreditCardAccountRef": frozenset({"Credit Card"}),
    "DepositToAccountRef": frozenset({"Bank", "Other Current Asset"}),
}

#: The control accounts: their balances are the sums of customers' (A/R) and vendors' (A/P)
#: open documents, which the store keeps in step, so nothing else may post to them. The
#: value is QBO's words when something tries.
CONTROL_ACCOUNTS: Final = {
    "Accounts Receivable": "When you use Accounts Receivable, you must choose a customer "
    "in the Name field.",
    "Accounts Payable": "When you use Accounts Payable, you must choose a vendor in the "
    "Name field.",
}

#: `LinkedTxn.TxnType` values and the entity each names.
TXN_TYPES: Final = {
    "Invoice": "Invoice",
    "Payment": "Payment",
    "Estimate": "Estimate",
    "CreditMemo": "CreditMemo",
    "SalesReceipt": "SalesReceipt",
    "Deposit": "Deposit",
    "Bill": "Bill",
    "BillPaymentCheck": "BillPayment",
    "BillPaymentCreditCard": "BillPayment",
    "JournalEntry": "JournalEntry",
    "Purchase": "Purchase",
    "PurchaseOrder": "PurchaseOrder",
    "VendorCredit": "VendorCredit",
    "RefundReceipt": "RefundReceipt",
    "Transfer": "Transfer",
    "CreditCardPayment": "CreditCardPayment",
    "TimeActivity": "TimeActivity",
}

#: Links the server keeps on a document (a client cannot set or remove them).
SERVER_LINKS: Final[dict[str, frozenset[str]]] = {
    "Invoice": frozenset({"Payment"}),
    "Bill": frozenset({"BillPaymentCheck", "BillPaymentCreditCard"}),
    "Estimate": frozenset({"Invoice"}),
    "SalesReceipt": frozenset({"Deposit"}),
    "PurchaseOrder": frozenset({"Bill"}),
}


def ref_value(obj: Mapping[str, Any] | None, key: str) -> str | None:
    """The Id a reference `obj[key]` names (`{"value": "5"}` -> "5"); None when absent."""
    if not isinstance(obj, Mapping):
        return None
    ref = obj.get(key)
    if isinstance(ref, Mapping) and isinstance(ref.get("value"), str):
        return str(ref["value"])
    return None


def ref_display(target: Mapping[str, Any]) -> str | None:
    """The `name` a reference to `target` carries: FullyQualifiedName, DisplayName, Name."""
    for key in ("FullyQualifiedName", "DisplayName", "Name"):
        value = target.get(key)
        if isinstance(value, str):
            return value
    return None


# --------------------------------------------------------------------------- postings


def cents(value: Any) -> int:
    """A money amount as integer cents (QBO sends numbers like 100.0 or 87.5)."""
    return round(float(value) * 100)


def stored_cents(value: Any) -> int:
    """A stored amount (a JSON number) as integer cents; 0 for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return round(value * 100)


def _ref(obj: Mapping[str, Any] | None, key: str) -> str:
    return ref_value(obj, key) or ""


def _sales_lines(obj: Obj, items: Mapping[str, Obj], sign: int, out: list[Posting]) -> None:
    """Credit income (`sign` +1) or debit it (-1, a credit memo) for each sales line."""
    for line in obj.get("Line") or ():
        detail_type = line.get("DetailType")
        if detail_type == "SalesItemLineDetail":
            detail = line.get("SalesItemLineDetail") or {}
            item = items.get(_ref(detail, "ItemRef"))
            amount = cents(line.get("Amount", 0))
            out.append((_ref(item, "IncomeAccountRef"), -sign * amount))
            if item is not None and item.get("Type") == "Inventory":
                cost = round(float(detail.get("Qty", 0)) * cents(item.get("PurchaseCost", 0)))
                out.append((_ref(item, "ExpenseAccountRef"), sign * cost))
                out.append((_ref(item, "AssetAccountRef"), -sign * cost))
        elif detail_type == "DiscountLineDetail":
            detail = line.get("DiscountLineDetail") or {}
            out.append((_ref(detail, "DiscountAccountRef"), sign * cents(line["Amount"])))


def _expense_lines(obj: Obj, items: Mapping[str, Obj], sign: int, out: list[Posting]) -> None:
    """Debit (`sign` +1) each expense line's account: the account, or the item's account."""
    for line in obj.get("Line") or ():
        amount = cents(line.get("Amount", 0))
        detail_type = line.get("DetailType")
        if detail_type == "AccountBasedExpenseLineDetail":
            detail = line.get("AccountBasedExpenseLineDetail") or {}
            out.append((_ref(detail, "AccountRef"), sign * amount))
        elif detail_type == "ItemBasedExpenseLineDetail":
            detail = line.get("ItemBasedExpenseLineDetail") or {}
            item = items.get(_ref(detail, "ItemRef"))
            if item is not None and item.get("Type") == "Inventory":
                out.append((_ref(item, "AssetAccountRef"), sign * amount))
            else:
                out.append((_ref(item, "ExpenseAccountRef"), sign * amount))


#: A transaction's postings, given the company (entity -> Id -> object) and the default
#: accounts (`default_accounts`).
PostingRule = Callable[[Obj, Index, Mapping[str, str]], list[Posting]]


def _journal_entry(obj: Obj, index: Index, defaults: Mapping[str, str]) -> list[Posting]:
    out: list[Posting] = []
    for line in obj.get("Line") or ():
        detail = line.get("JournalEntryLineDetail") or {}
        amount = cents(line.get("Amount", 0))
        if detail.get("PostingType") == "Credit":
            amount = -amount
        out.append((_ref(detail, "AccountRef"), amount))
    return out


def _invoice(obj: Obj, index: Index, defaults: Mapping[str, str]) -> list[Posting]:
    out = [(_ref(obj, "ARAccountRef") or defaults["ar"], cents(obj.get("TotalAmt", 0)))]
    _sales_lines(obj, index.get("Item", {}), 1, out)
    return out


def _sales_receipt(obj: Obj, index: Index, defaults: Mapping[str, str]) -> list[Posting]:
    out = [(_ref(obj, "DepositToAccountRef") or defaults["uf"], cents(obj.get("TotalAmt", 0)))]
    _sales_lines(obj, index.get("Item", {}), 1, out)
    return out


def _credit_memo(obj: Obj, index: Index, defaults: Mapping[str, str]) -> list[Posting]:
    out = [(_ref(obj, "ARAccountRef") or defaults["ar"], -cents(obj.get("TotalAmt", 0)))]
    _sales_lines(obj, index.get("Item", {}), -1, out)
    return out


def _payment(obj: Obj, index: Index, defaults: Mapping[str, str]) -> list[Posting]:
    total = cents(obj.get("TotalAmt", 0))
    return [
        (_ref(obj, "DepositToAccountRef") or defaults["uf"], total),
        (_ref(obj, "ARAccountRef") or defaults["ar"], -total),
    ]


def _bill(obj: Obj, index: Index, defaults: Mapping[str, str]) -> list[Posting]:
    out = [(_ref(obj, "APAccountRef") or defaults["ap"], -cents(obj.get("TotalAmt", 0)))]
    _expense_lines(obj, index.get("Item", {}), 1, out)
    return out


def _bill_payment(obj: Obj, index: Index, defaults: Mapping[str, str]) -> list[Posting]:
    total = cents(obj.get("TotalAmt", 0))
    if obj.get("PayType") == "CreditCard":
        paid_from = _ref(obj.get("CreditCardPayment"), "CCAccountRef")
    else:
        paid_from = _ref(obj.get("CheckPayment"), "BankAccountRef")
    return [(_ref(obj, "APAccountRef") or defaults["ap"], total), (paid_from, -total)]


def _purchase(obj: Obj, index: Index, defaults: Mapping[str, str]) -> list[Posting]:
    sign = -1 if obj.get("Credit") is True else 1
    out = [(_ref(obj, "AccountRef"), -sign * cents(obj.get("TotalAmt", 0)))]
    _expense_lines(obj, index.get("Item", {}), sign, out)
    return out


def _deposit(obj: Obj, index: Index, defaults: Mapping[str, str]) -> list[Posting]:
    out = [(_ref(obj, "DepositToAccountRef"), cents(obj.get("TotalAmt", 0)))]
    for line in obj.get("Line") or ():
        amount = cents(line.get("Amount", 0))
        links = line.get("LinkedTxn") or ()
        if links:
            link = links[0]
            source_type = TXN_TYPES.get(str(link.get("TxnType", "")), "")
            source = index.get(source_type, {}).get(str(link.get("TxnId", "")))
            out.append((_ref(source, "DepositToAccountRef") or defaults["uf"], -amount))
        else:
            detail = line.get("DepositLineDetail") or {}
            out.append((_ref(detail, "AccountRef"), -amount))
    return out


def _refund_receipt(obj: Obj, index: Index, defaults: Mapping[str, str]) -> list[Posting]:
    out = [(_ref(obj, "DepositToAccountRef"), -cents(obj.get("TotalAmt", 0)))]
    _sales_lines(obj, index.get("Item", {}), -1, out)
    return out


def _vendor_credit(obj: Obj, index: Index, defaults: Mapping[str, str]) -> list[Posting]:
    out = [(_ref(obj, "APAccountRef") or defaults["ap"], cents(obj.get("TotalAmt", 0)))]
    _expense_lines(obj, index.get("Item", {}), -1, out)
    return out


def _transfer(obj: Obj, index: Index, defaults: Mapping[str, str]) -> list[Posting]:
    amount = cents(obj.get("Amount", 0))
    return [(_ref(obj, "ToAccountRef"), amount), (_ref(obj, "FromAccountRef"), -amount)]


def _credit_card_payment(obj: Obj, index: Index, defaults: Mapping[str, str]) -> list[Posting]:
    amount = cents(obj.get("Amount", 0))
    return [(_ref(obj, "CreditCardAccountRef"), amount), (_ref(obj, "BankAccountRef"), -amount)]


#: What a transaction adds to its customer's or vendor's `Balance`: (the name's entity,
#: sign, the field whose amount it adds). Open invoices raise a customer's balance; open
#: credit memos and unapplied payments lower it; open bills raise a vendor's.
NAME_BALANCE_RULES: Final[dict[str, tuple[str, int, str]]] = {
    "Invoice": ("Customer", 1, "Balance"),
    "CreditMemo": ("Customer", -1, "Balance"),
    "Payment": ("Customer", -1, "UnappliedAmt"),
    "Bill": ("Vendor", 1, "Balance"),
    "VendorCredit": ("Vendor", -1, "Balance"),
}

#: Each posting transaction's rule, in the order reports list a day's transactions.
POSTING_RULES: Final[dict[str, PostingRule]] = {
    "JournalEntry": _journal_entry,
    "Invoice": _invoice,
    "SalesReceipt": _sales_receipt,
    "CreditMemo": _credit_memo,
    "RefundReceipt": _refund_receipt,
    "Payment": _payment,
    "Bill": _bill,
    "VendorCredit": _vendor_credit,
    "BillPayment": _bill_payment,
    "Purchase": _purchase,
    "Deposit": _deposit,
    "Transfer": _transfer,
    "CreditCardPayment": _credit_card_payment,
}
#: The transactions that post, in the order reports list a day's transactions.
POSTING_ENTITIES: Final = tuple(POSTING_RULES)


def transaction_postings(
    entity: str, obj: Obj, index: Index, defaults: Mapping[str, str]
) -> list[Posting]:
    """The (account Id, cents, debit positive) postings of one transaction; [] for an
    entity that posts nothing (an estimate). `index` is the company by entity and Id,
    `defaults` the accounts `default_accounts` picks."""
    rule = POSTING_RULES.get(entity)
    return [] if rule is None else rule(obj, index, defaults)


def default_accounts(accounts: Mapping[str, Obj]) -> dict[str, str]:
    """The A/R (`"ar"`), A/P (`"ap"`) and Undeposited Funds (`"uf"`) accounts postings
    default to: the first of each in `accounts` (Id -> Account); "" when there is none."""
    defaults = {"ar": "", "ap": "", "uf": ""}
    for acct_id, acct in accounts.items():
        if not defaults["ar"] and acct.get("AccountType") == "Accounts Receivable":
            defaults["ar"] = acct_id
        if not defaults["ap"] and acct.get("AccountType") == "Accounts Payable":
            defaults["ap"] = acct_id
        if not defaults["uf"] and acct.get("AccountSubType") == "UndepositedFunds":
            defaults["uf"] = acct_id
    return defaults


def ledger_balances(entities: Entities) -> dict[str, int]:
    """Each account's posted balance in cents, debit positive, from all transactions.

    Accounts nothing posts to are absent. A balance-sheet account's `CurrentBalance` is this
    value for assets and its negation for liabilities and equity.
    """
    index = {etype: {str(obj.get("Id")): obj for obj in objs} for etype, objs in entities.items()}
    defaults = default_accounts(index.get("Account", {}))
    balances: dict[str, int] = defaultdict(int)
    for etype in TRANSACTIONS:
        for obj in entities.get(etype, ()):
            for account_id, amount in transaction_postings(etype, obj, index, defaults):
                balances[account_id] += amount
    return dict(balances)
