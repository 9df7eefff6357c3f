"""Deterministic generator of realistic QuickBooks Online companies, for the emulator.

`generate_company(seed=, size=, realm_id=, now=)` returns a `GeneratedCompany`: every object
shaped as QBO's v3 JSON API returns it (string `Id` and `SyncToken`, money as numbers,
`domain` "QBO", `sparse` false, `MetaData` times without milliseconds and with the offset
their instant has in the company's time zone, daylight saving included: `company_time`),
plus `CompanyInfo` and `Preferences`. The emulator loads `entities` into its store as they
are. Size "empty" is built by `empty.py`; the presets below by this module.

Determinism: all randomness comes from one `random.Random` seeded with a SHA-256 of
(seed, realm_id, size); equal inputs (and `now`, `time_zone`) give byte-identical
`to_json()`, whatever PYTHONHASHSEED is. Different realms with the same seed differ.
Speed: the large preset takes about 2.5 s on one unloaded core (`benchmarks/bench_datagen.py`);
Python's cyclic garbage collector is paused during the build.

What a company holds (the mix, per size; exact counts vary a little by seed):

============  ======  =======  ========
entity         small   medium     large
============  ======  =======  ========
Account           45       60        90
Term               5        5         5
TaxCode            2        2         2
Class              3        6        12
Department         2        4         8
Item              12       60       500
Customer          30      350     6,000
Vendor            12      110     1,500
Employee           5       20       150
Invoice           44    1,135    25,200
Payment          ~42   ~1,065   ~23,600
SalesReceipt      12      380     8,100
Estimate           9      170     3,600
CreditMemo         3       45     1,000
Bill              17      520    11,700
BillPayment      ~17     ~480   ~10,450
Purchase          15      365     7,650
Deposit          ~50     ~229      ~724
JournalEntry       6       41       261
total           ~329   ~5,074  ~100,624
============  ======  =======  ========

Payments, bill payments and deposits follow from the documents: an invoice is paid in full
(most), in part, in two instalments or not at all, at a delay around its terms; a payment
past `now` is not made, so recent invoices are open. A customer's payments within two days
merge into one payment over several invoices; credit memos are applied on the customer's next
payment (a payment line linking the credit memo) or stay open. About two thirds of payments
and sales receipts go to Undeposited Funds and are swept into bank deposits (about six per
deposit, every one to fourteen days); savings earn monthly interest, a deposit of its own
`DepositLineDetail` line.
Bills and bill payments mirror invoices and payments. Journal entries: one opening-balance
entry, then payroll, depreciation, loan payments, credit-card payments, owner's draws and
transfers to savings, sampled down to the size's budget.

Consistency (checked by `integrity.validate_integrity`): references resolve, line amounts are
Qty x UnitPrice, totals add up, open balances follow the payments applied, customer and vendor
balances sum their open documents, journal entries balance, balance-sheet accounts carry the
balances their postings give, and DisplayNames are unique across customers, vendors and
employees. Ids are numeric strings in creation order: one sequence per name-list entity and
one shared by all transactions (as in QBO). Times lie in the two years before `now`; a
transaction's `TxnDate` is the local date of its `CreateTime`.

`CompanyInfo.Country` is "US", as QBO sends it (addresses may say "USA").

The second round (payment methods, tax rates and agencies, purchase orders, vendor credits,
refund receipts, transfers, credit card payments, time activity) is `more_entities.py`'s,
with its own counts.

Known simplifications: no sales tax (lines use the `NON` tax code, `TotalTax` 0); US dollars
only; no Attachable objects; vendor credits are never applied in bill payments; inventory
costs at the item's `PurchaseCost`, not FIFO.
"""

from __future__ import annotations

import bisect
import functools
import gc
import hashlib
import math
import random
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any, Final, Literal, TypeVar

from qbo_adapters.emulator.books import (
    CANONICAL_ENTITY_NAMES,
    NAME_LISTS,
    TAX_CODES,
    classification_of,
)
from qbo_adapters.emulator.company_time import (
    DEFAULT_TIME_ZONE,
    UtcOffsets,
    company_zone,
    offset_text,
)
from qbo_adapters.emulator.datagen import words
from qbo_adapters.emulator.datagen.company import CompanySize, GeneratedCompany, Obj, tax_code
from qbo_adapters.emulator.datagen.empty import EMPTY, empty_company
from qbo_adapters.emulator.datagen.more_entities import add_more_entities
from qbo_adapters.emulator.entity_extras import (
    SALES_DECORATED,
    free_form_address,
    modified_by,
    pseudonym,
    purchase_ex,
    ship_from_address,
    with_account_ref,
)
from qbo_adapters.emulator.entity_numbers import money

__all__ = ["SIZES", "SizeName", "generate_company"]

T = TypeVar("T")
SizeName = Literal["empty", "small", "medium", "large"]

DAY: Final = 86_400
HISTORY_DAYS: Final = 730


SIZES: Final = {
    "small": CompanySize(
        name="small",
        customers=30,
        vendors=12,
        employees=5,
        items=12,
        classes=3,
        departments=2,
        chart=0,
        invoices=44,
        estimates=9,
        sales_receipts=12,
        credit_memos=3,
        bills=17,
        purchases=15,
        journal_entries=5,
    ),
    "medium": CompanySize(
        name="medium",
        customers=350,
        vendors=110,
        employees=20,
        items=60,
        classes=6,
        departments=4,
        chart=1,
        invoices=1_135,
        estimates=170,
        sales_receipts=380,
        credit_memos=45,
        bills=520,
        purchases=365,
        journal_entries=40,
    ),
    "large": CompanySize(
        name="large",
        customers=6_000,
        vendors=1_500,
        employees=150,
        items=500,
        classes=12,
        departments=8,
        chart=2,
        invoices=25_200,
        estimates=3_600,
        sales_receipts=8_100,
        credit_memos=1_000,
        bills=11_700,
        purchases=7_650,
        journal_entries=260,
    ),
}


def generate_company(
    *,
    seed: int,
    size: SizeName | CompanySize,
    realm_id: str,
    now: datetime,
    time_zone: str | tzinfo = DEFAULT_TIME_ZONE,
) -> GeneratedCompany:
    """A realistic QBO company whose history ends at `now` (an aware datetime), its times
    written in `time_zone` (an IANA name or a `tzinfo`) with each instant's own offset.

    Raises `ValueError` for an unknown size name, a naive `now`, an empty `realm_id` or an
    unknown time zone name.
    """
    spec: CompanySize | None
    if isinstance(size, str):
        if size not in SIZES and size != EMPTY:
            raise ValueError(f"unknown size {size!r}; expected one of {[EMPTY, *SIZES]}")
        spec = SIZES.get(size)
    else:
        spec = size
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if not isinstance(realm_id, str) or not realm_id:
        raise ValueError("realm_id must be a non-empty string")
    zone = company_zone(time_zone) if isinstance(time_zone, str) else time_zone
    if spec is None:
        return empty_company(seed=seed, realm_id=realm_id, now=now, zone=zone)
    digest = hashlib.sha256(f"{seed}\x00{realm_id}\x00{spec!r}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:16], "big"))  # test data, not secrets
    builder = _Builder(rng, spec, int(now.timestamp()), zone)
    builder.modified_by = modified_by(realm_id)
    # The build allocates about ten dicts per object and none of them forms a cycle: the
    # cyclic collector's passes would only double the time, so it sleeps meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        entities, company_info, preferences = builder.build()
    finally:
        if collecting:
            gc.enable()
    return GeneratedCompany(
        realm_id=realm_id,
        seed=seed,
        size=spec,
        now=now,
        company_info=company_info,
        preferences=preferences,
        entities=entities,
    )


# ---------------------------------------------------------------- internal records


class _Named:
    """A name-list object being built: its dict plus what the generator tracks about it."""

    __slots__ = (
        "accounts",
        "addr",
        "balance",
        "email",
        "id",
        "kids",
        "last_use",
        "name",
        "obj",
        "parent",
        "refs",
        "ship",
        "stocks",
        "term",
        "ts",
    )

    def __init__(self, obj: Obj, ts: int, name: str) -> None:
        self.obj = obj
        self.ts = ts
        self.id: str = obj["Id"]
        self.name = name  # the name refs carry (FullyQualifiedName or DisplayName)
        self.refs: list[Obj] = []
        self.last_use = ts
        self.balance = 0
        self.addr: Obj | None = None
        self.ship: Obj | None = None
        self.email: str | None = None
        self.parent: _Named | None = None
        self.kids = 0
        self.term: _Named | None = None
        self.accounts: list[Obj] = []
        self.stocks = False  # a vendor that sells the company its products


class _Item:
    __slots__ = (
        "asset_id",
        "cogs_id",
        "cost",
        "desc",
        "id",
        "income_id",
        "kind",
        "last_use",
        "name",
        "named",
        "price",
        "qty",
        "start_qty",
        "ts",
    )

    def __init__(self, named: _Named, kind: str, price: int, cost: int, desc: str) -> None:
        self.named = named
        self.id = named.id
        self.name = named.name
        self.ts = named.ts
        self.kind = kind
        self.price = price
        self.cost = cost
        self.desc = desc
        self.qty = 0
        self.start_qty = 0
        self.last_use = named.ts
        obj = named.obj
        self.income_id: str = obj["IncomeAccountRef"]["value"]
        self.cogs_id: str = obj.get("ExpenseAccountRef", {}).get("value", "")
        self.asset_id: str = obj.get("AssetAccountRef", {}).get("value", "")


class _Txn:
    """A transaction: its dict, creation time, later touches (LastUpdatedTime, SyncToken)."""

    __slots__ = ("balance", "docseq", "etype", "last", "obj", "owner", "seq", "sync", "total", "ts")

    def __init__(self, etype: str, ts: int, obj: Obj, seq: int, docseq: str) -> None:
        self.etype = etype
        self.ts = ts
        self.obj = obj
        self.seq = seq
        self.docseq = docseq
        self.last = ts
        self.sync = 0
        self.total = 0
        self.balance = 0
        self.owner: _Named | None = None

    def touch(self, ts: int) -> None:
        self.sync += 1
        self.last = max(self.last, ts)


class _Settle:
    """A payment (or bill payment) being assembled from scheduled instalments."""

    __slots__ = ("credits", "docs", "owner", "ts")

    def __init__(self, ts: int, owner: _Named) -> None:
        self.ts = ts
        self.owner = owner
        self.docs: list[tuple[_Txn, int]] = []
        self.credits: list[tuple[_Txn, int]] = []


def _usd() -> Obj:
    return {"value": "USD", "name": "United States Dollar"}


# Vendor kinds' expense roles -> chart roles to try, in order.
_VENDOR_POOLS: Final = {
    "supplies": ("expense:supplies",),
    "materials": ("expense:materials", "cogs", "expense:supplies"),
    "rental": ("expense:rental",),
    "office": ("expense:office",),
    "telephone": ("expense:telephone", "expense:utilities"),
    "utilities": ("expense:utilities",),
    "insurance": ("expense:insurance",),
    "rent": ("expense:rent",),
    "professional": ("expense:professional",),
    "auto": ("expense:auto",),
    "advertising": ("expense:advertising",),
    "shipping": ("expense:shipping", "expense:office"),
    "repairs": ("expense:repairs",),
    "software": ("expense:software", "expense:dues", "expense:office"),
    "disposal": ("expense:disposal", "expense:repairs"),
    "meals": ("expense:meals",),
    "travel": ("expense:travel",),
    "contractor": ("cogs", "expense:professional"),
}

_CLASS_NAMES: Final = (
    "Residential", "Commercial", "Retail", "Wholesale", "Online", "Government", "Nonprofit",
    "Events", "Service Contracts", "Installations", "Repairs", "Consulting", "Education",
    "Hospitality", "Healthcare",
)  # fmt: skip

_DEPARTMENT_NAMES: Final = (
    "Main Office", "North", "South", "East", "West", "Downtown", "Warehouse", "Online Store",
    "Satellite Office", "Field Operations",
)  # fmt: skip

_TERMS: Final = (
    ("Due on receipt", 0, 0, 0),
    ("Net 15", 15, 0, 0),
    ("Net 30", 30, 0, 0),
    ("Net 60", 60, 0, 0),
    ("2% 10 Net 30", 30, 2, 10),
)


class _Builder:
    def __init__(self, rng: random.Random, size: CompanySize, now_ts: int, zone: tzinfo) -> None:
        self.rng = rng
        self.size = size
        self.now = now_ts - 1  # nothing is created at `now` itself
        self.zone = zone
        self.start = self.now - HISTORY_DAYS * DAY
        # Times run a little past `now` (due dates are dates, not times); outside the
        # table the zone itself answers.
        self.off = UtcOffsets(zone, self.start - 2 * DAY, self.now + 2 * DAY)
        self.suffixes: dict[int, str] = {}
        self.setup_end = self.start + 3 * DAY
        self.used_names: set[str] = set()
        self.addr_ids = 0
        self.txns: list[_Txn] = []
        self.fixups: list[tuple[Obj, str, Obj, str]] = []
        self.date_cache: dict[int, str] = {}
        self.roles: dict[str, list[Obj]] = {}
        self.accounts: list[Obj] = []
        self.acct_by_name: dict[str, Obj] = {}
        self.names: dict[str, list[_Named]] = {}
        self.pending: list[tuple[int, int, _Txn, int]] = []
        self.ledger: dict[str, int] = {}
        self.modified_by: Obj = {}

    # -- basics ------------------------------------------------------------

    def below(self, n: int) -> int:
        """0 <= x < n (cheaper than `randrange`, which this runs hundreds of thousands of)."""
        return int(self.rng.random() * n)

    def randint(self, lo: int, hi: int) -> int:
        return lo + int(self.rng.random() * (hi - lo + 1))

    def choice(self, seq: Sequence[T]) -> T:
        return seq[int(self.rng.random() * len(seq))]

    def fmt(self, ts: int) -> str:
        """A MetaData time: local wall time, no milliseconds, the offset of that instant."""
        offset = self.off(ts)
        suffix = self.suffixes.get(offset)
        if suffix is None:
            suffix = self.suffixes[offset] = offset_text(offset)
        day, seconds = divmod(ts + offset, DAY)
        hours, rest = divmod(seconds, 3600)
        return f"{self.date(day)}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}{suffix}"

    def day(self, ts: int) -> int:
        """The local date of `ts`, as days since 1970-01-01."""
        return (ts + self.off(ts)) // DAY

    def date(self, day: int) -> str:
        text = self.date_cache.get(day)
        if text is None:
            text = time.strftime("%Y-%m-%d", time.gmtime(day * DAY))
            self.date_cache[day] = text
        return text

    def biz_time(self, lo: int, hi: int) -> int:
        """A time in [lo, hi], during local business hours when the range allows."""
        if hi <= lo:
            return lo
        x = self.randint(lo, hi)
        t = self.day(x) * DAY - self.off(x) + self.randint(7 * 3600 + 1800, 18 * 3600 + 1800)
        return t if lo <= t <= hi else x

    def meta(self, created: int, updated: int) -> Obj:
        text = self.fmt(created)
        return {
            "CreateTime": text,
            "LastUpdatedTime": text if updated == created else self.fmt(updated),
        }

    def post(self, account_id: str, amount: int) -> None:
        """Post cents to an account, debit positive (the same rules as `ledger_balances`)."""
        self.ledger[account_id] = self.ledger.get(account_id, 0) + amount

    def envelope(self, obj: Obj, obj_id: str) -> None:
        obj["domain"] = "QBO"
        obj["sparse"] = False
        obj["Id"] = obj_id
        obj["SyncToken"] = "0"
        obj["MetaData"] = {}  # filled in later; here for QBO's key order

    def spread_times(self, count: int, early_share: float, latest: int) -> list[int]:
        """Sorted creation times: `early_share` during setup, the rest over the history."""
        rng = self.rng
        out = []
        for i in range(count):
            if i == 0 or rng.random() < early_share:
                out.append(self.biz_time(self.start + 3600, self.setup_end))
            else:
                out.append(self.biz_time(self.start + 3600, latest))
        out.sort()
        return out

    def unique(self, make: Callable[[], str], namespace: set[str]) -> str:
        """A name from `make` not yet in `namespace` (case-insensitive), then reserved."""
        for _ in range(40):
            candidate = make()
            if candidate.casefold() not in namespace:
                namespace.add(candidate.casefold())
                return candidate
        base = make()
        n = 2
        while f"{base} {n}".casefold() in namespace:
            n += 1
        namespace.add(f"{base} {n}".casefold())
        return f"{base} {n}"

    def ref(self, named: _Named, **extra: str) -> Obj:
        ref = {"value": named.id, "name": named.name, **extra}
        named.refs.append(ref)
        return ref

    @staticmethod
    def acct_ref(acct: Obj) -> Obj:
        return {"value": acct["Id"], "name": acct["FullyQualifiedName"]}

    def pool(self, *roles: str) -> list[Obj]:
        for role in roles:
            if role in self.roles:
                return self.roles[role]
        return self.roles["expense:supplies"]

    def phone(self, area: str) -> Obj:
        return {"FreeFormNumber": f"({area}) 555-{self.randint(1000, 9999):04d}"}

    def address(self, near: tuple[Any, ...] | None = None, exact: bool = False) -> tuple[Obj, str]:
        rng = self.rng
        if near is not None and (exact or rng.random() < 0.5):
            city = near
        else:
            city = self.choice(words.CITIES)
        self.addr_ids += 1
        street = f"{self.randint(1, 9999)} {self.choice(words.STREET_NAMES)} "
        street += self.choice(words.STREET_SUFFIXES)
        addr = {
            "Id": str(self.addr_ids),
            "Line1": street,
            "City": city[0],
            "CountrySubDivisionCode": city[1],
            "PostalCode": f"{city[2]}{self.randint(1, 99):02d}",
            "Lat": f"{city[3] + rng.uniform(-0.08, 0.08):.7f}",
            "Long": f"{city[4] + rng.uniform(-0.08, 0.08):.7f}",
        }
        return addr, city[5]

    def person(self) -> tuple[str, str]:
        return self.choice(words.GIVEN_NAMES), self.choice(words.FAMILY_NAMES)

    def person_name(self, given: str, family: str) -> str:
        """ "Given Family", sometimes with a middle initial (which also resolves clashes)."""
        if self.rng.random() < 0.7:
            return f"{given} {family}"
        return f"{given} {self.choice(words.MIDDLE_INITIALS)} {family}"

    def business_name(self, kinds: tuple[str, ...]) -> str:
        """A word, a kind of business and maybe a suffix: "Harbor Dental LLC"."""
        parts = (
            self.choice(words.COMPANY_WORDS),
            self.choice(kinds),
            self.choice(words.COMPANY_SUFFIXES),
        )
        return " ".join(part for part in parts if part)

    def job_name(self, parent: _Named, job: str, street: str) -> str:
        """A sub-customer (job) name: "Harbor Remodel" or a site address."""
        if self.rng.random() < 0.5:
            return f"{parent.obj['DisplayName'].split(' ')[0]} {job}"
        return street.replace(".", "")

    def edits(self, created: int, latest: int | None = None) -> tuple[int, int]:
        """(LastUpdatedTime, SyncToken) after zero to two later edits."""
        rng = self.rng
        latest = self.now if latest is None else latest
        if rng.random() < 0.75 or latest <= created:
            return created, 0
        return self.biz_time(created + 60, latest), self.choice((1, 1, 2))

    # -- build -------------------------------------------------------------

    def build(self) -> tuple[dict[str, list[Obj]], Obj, Obj]:
        self.company_profile()
        self.make_accounts()
        self.make_terms_and_tax_codes()
        self.make_classes_and_departments()
        self.make_items()
        self.make_customers()
        self.make_vendors()
        self.make_employees()
        self.make_estimates_and_invoices()
        self.make_credit_memos()
        self.make_payments()
        self.make_sales_receipts()
        self.make_deposits()
        self.make_bills_and_payments()
        self.make_purchases()
        self.make_journal_entries()
        self.make_interest_deposits()
        add_more_entities(self)
        entities = self.finish()
        company_info = self.company_info()
        addr = company_info["CompanyAddr"]
        for etype in ("Estimate", "CreditMemo"):
            for obj in entities[etype]:
                ship_from = ship_from_address(addr, addr["Id"])
                if ship_from is not None:
                    obj["ShipFromAddr"] = ship_from
        return entities, company_info, self.preferences()

    def company_profile(self) -> None:
        self.industry = self.choice(words.INDUSTRIES)
        # Cities whose winter offset is one the zone has in winter or summer (Pacific:
        # -08:00 and -07:00, the Pacific and Mountain cities).
        year = datetime.fromtimestamp(self.now, UTC).year
        offsets = {
            offset_text(self.off(int(datetime(year, month, 15, tzinfo=UTC).timestamp())))
            for month in (1, 7)
        }
        local = [c for c in words.CITIES if c[6] in offsets]
        self.city = self.choice(local or list(words.CITIES))
        word = self.choice(words.COMPANY_WORDS)
        self.company_name = f"{word} {self.choice(self.industry.words)}"
        suffix = self.choice(("", "", "LLC", "Inc.", "Co."))
        self.legal_name = f"{self.company_name} {suffix or 'LLC'}"
        if suffix:
            self.company_name = self.legal_name
        self.used_names.add(self.company_name.casefold())
        self.custom_field = self.choice(("Crew #", "PO Number", "Project", "Sales Rep"))
        self.fiscal_month = self.choice(("January",) * 8 + ("April", "July", "October"))
        self.company_domain = re.sub(r"[^a-z0-9]", "", self.company_name.lower()) + ".com"

    # -- name lists ---------------------------------------------------------

    def make_accounts(self) -> None:
        rows = list(words.BASE_CHART)
        if self.size.chart >= 1:
            rows += words.EXTRA_CHART_MEDIUM
        if self.size.chart >= 2:
            rows += words.EXTRA_CHART_LARGE
        records = []
        for n, (role, name, atype, subtype, parent_name) in enumerate(rows, start=1):
            ts = self.start + 600 + 40 * n
            obj: Obj = {"Name": name, "SubAccount": bool(parent_name)}
            fqn = name
            if parent_name:
                parent = self.acct_by_name[parent_name]
                obj["ParentRef"] = {"value": parent["Id"]}
                fqn = f"{parent['FullyQualifiedName']}:{name}"
            obj.update(
                {
                    "FullyQualifiedName": fqn,
                    "Active": True,
                    "Classification": classification_of(atype),
                    "AccountType": atype,
                    "AccountSubType": subtype,
                    "CurrentBalance": 0,
                    "CurrentBalanceWithSubAccounts": 0,
                    "CurrencyRef": _usd(),
                }
            )
            self.envelope(obj, str(n))
            updated, sync = self.edits(ts)
            obj["SyncToken"] = str(sync)
            obj["MetaData"] = self.meta(ts, updated)
            self.accounts.append(obj)
            self.acct_by_name[name] = obj
            if role:
                self.roles.setdefault(role, []).append(obj)
            records.append(_Named(obj, ts, fqn))
        self.names["Account"] = records
        self.ar = self.roles["ar"][0]
        self.uf = self.roles["uf"][0]
        self.checking = self.roles["bank:checking"][0]
        self.savings = self.roles["bank:savings"][0]
        self.expense_roles = sorted(r for r in self.roles if r.startswith("expense:"))

    def simple_list(self, etype: str, rows: list[Obj], ts0: int) -> list[_Named]:
        records = []
        for n, obj in enumerate(rows, start=1):
            ts = ts0 + 30 * n
            self.envelope(obj, str(n))
            obj["MetaData"] = self.meta(ts, ts)
            records.append(_Named(obj, ts, str(obj.get("FullyQualifiedName", obj["Name"]))))
        self.names[etype] = records
        return records

    def make_terms_and_tax_codes(self) -> None:
        rows = [
            {
                "Name": name,
                "Active": True,
                "Type": "STANDARD",
                "DiscountPercent": discount,
                "DueDays": due,
                "DiscountDays": discount_days,
            }
            for name, due, discount, discount_days in _TERMS
        ]
        self.terms = self.simple_list("Term", rows, self.start + 300)
        self.net30 = self.terms[2]
        self.terms_by_id = {named.id: named for named in self.terms}
        state = self.city[1]
        county = f"{self.city[0]} County"
        tax_rows = []
        for n, name in enumerate((f"{state} Sales Tax", county), start=1):
            tax_rows.append(tax_code(n, name))
        self.tax_codes = self.simple_list("TaxCode", tax_rows, self.start + 500)

    def make_classes_and_departments(self) -> None:
        rng = self.rng
        class_names = rng.sample(_CLASS_NAMES, min(self.size.classes, len(_CLASS_NAMES)))
        class_names += [f"Program {n}" for n in range(len(class_names), self.size.classes)]
        rows = [
            {"Name": n, "SubClass": False, "FullyQualifiedName": n, "Active": True}
            for n in class_names
        ]
        self.classes = self.simple_list("Class", rows, self.start + 4000)
        self.class_by_id = {named.id: named for named in self.classes}
        dept_names = rng.sample(_DEPARTMENT_NAMES, min(self.size.departments, 10))
        dept_names += [f"Location {n}" for n in range(len(dept_names), self.size.departments)]
        rows = [
            {"Name": n, "SubDepartment": False, "FullyQualifiedName": n, "Active": True}
            for n in dept_names
        ]
        self.departments = self.simple_list("Department", rows, self.start + 5000)

    def make_items(self) -> None:
        rng = self.rng
        industry = self.industry
        catalog: list[tuple[str, str, str, int, int]] = []
        for name, desc, lo, hi in industry.services:
            catalog.append(("Service", name, desc, lo, hi))
        for n, (name, desc, lo, hi) in enumerate(industry.products):
            catalog.append(("Inventory" if n % 5 < 3 else "NonInventory", name, desc, lo, hi))
        rng.shuffle(catalog)
        namespace: set[str] = set()
        specs = []
        for n in range(self.size.items):
            kind, name, desc, lo, hi = catalog[n % len(catalog)]
            if n >= len(catalog):
                round_ = n // len(catalog)
                modifier = words.ITEM_MODIFIERS[(round_ - 1) % len(words.ITEM_MODIFIERS)]
                name = f"{modifier} {name}"
                desc = f"{desc}, {modifier.lower()}"
                scale = 0.7 + 0.15 * ((round_ - 1) % 5)
                lo, hi = int(lo * scale), int(hi * scale)
            name = self.unique(functools.partial(str, name), namespace)
            specs.append((kind, name, desc, lo, max(hi, lo + 1)))
        times = self.spread_times(len(specs), 0.7, self.now - 60 * DAY)
        services = self.roles["income:services"]
        products = self.roles["income:products"]
        cogs = self.roles["cogs"][0]
        inventory = self.roles["inventory"][0]
        self.items: list[_Item] = []
        records = []
        for n, ((kind, name, desc, lo, hi), ts) in enumerate(zip(specs, times, strict=True), 1):
            price = self.randint(lo, hi)
            price = (price // 100) * 100 if kind == "Service" else (price // 50) * 50 + 49
            price = max(price, 99)
            cost = round(price * rng.uniform(0.35, 0.65)) if kind != "Service" else 0
            obj: Obj = {
                "Name": name,
                "Description": desc,
                "Active": True,
                "FullyQualifiedName": name,
                "Taxable": kind != "Service",
                "UnitPrice": money(price),
                "Type": kind,
                "IncomeAccountRef": self.acct_ref(
                    self.choice(services if kind == "Service" else products)
                ),
            }
            if kind == "Service":
                obj["PurchaseCost"] = 0
                obj["TrackQtyOnHand"] = False
            else:
                obj["PurchaseDesc"] = desc
                obj["PurchaseCost"] = money(cost)
                obj["ExpenseAccountRef"] = self.acct_ref(cogs)
                if kind == "Inventory":
                    obj["AssetAccountRef"] = self.acct_ref(inventory)
                    obj["TrackQtyOnHand"] = True
                    obj["QtyOnHand"] = 0
                    obj["InvStartDate"] = self.date(self.day(ts))
                else:
                    obj["TrackQtyOnHand"] = False
            self.envelope(obj, str(n))
            named = _Named(obj, ts, name)
            item = _Item(named, kind, price, cost, desc)
            if kind == "Inventory" and ts <= self.setup_end:
                item.qty = item.start_qty = self.randint(10, 120)
            self.items.append(item)
            records.append(named)
        self.names["Item"] = records
        self.item_ts = [item.ts for item in self.items]
        # Spending follows what the business charges: a bakery buys less than a contractor.
        prices = sorted(item.price for item in self.items)
        self.spend = math.log(min(3.0, max(0.3, prices[len(prices) // 2] / 10_000)))
        self.item_by_id = {item.id: item for item in self.items}
        self.buyable = [item for item in self.items if item.kind != "Service"]
        self.buyable_ts = [item.ts for item in self.buyable]

    def contact(self, obj: Obj, area: str, email: str | None, web: str | None) -> None:
        rng = self.rng
        if rng.random() < 0.85:
            obj["PrimaryPhone"] = self.phone(area)
        if rng.random() < 0.15:
            obj["Mobile"] = self.phone(area)
        if rng.random() < 0.08:
            obj["Fax"] = self.phone(area)
        if email:
            obj["PrimaryEmailAddr"] = {"Address": email}
        if web:
            obj["WebAddr"] = {"URI": f"http://www.{web}"}

    def make_customers(self) -> None:
        rng = self.rng
        times = self.spread_times(self.size.customers, 0.2, self.now - 3 * DAY)
        records: list[_Named] = []
        companies: list[_Named] = []
        for n, ts in enumerate(times, start=1):
            obj: Obj = {"Taxable": rng.random() < 0.4}
            addr, area = self.address(self.city)
            given, family = self.person()
            parent = None
            if companies and n > 5 and rng.random() < 0.06:
                parent = self.choice(companies)
                if parent.kids >= 3:
                    parent = None
            company_name = None
            web = None
            if parent is not None:
                job = self.choice(words.JOB_WORDS)
                display = self.unique(
                    functools.partial(self.job_name, parent, job, addr["Line1"]),
                    self.used_names,
                )
                given = parent.obj.get("GivenName", given)
                family = parent.obj.get("FamilyName", family)
                company_name = parent.obj.get("CompanyName")
                email = parent.email
            elif rng.random() < 0.6:
                company_name = self.unique(
                    functools.partial(self.business_name, words.CUSTOMER_KINDS), self.used_names
                )
                display = company_name
                web = re.sub(r"[^a-z0-9]", "", company_name.lower()) + ".com"
                email = f"{given.lower()}@{web}" if rng.random() < 0.8 else None
                if rng.random() < 0.6:
                    web = None
            else:
                display = self.unique(
                    functools.partial(self.person_name, given, family), self.used_names
                )
                mail_domain = self.choice(words.MAIL_DOMAINS)
                email = (
                    f"{given.lower()}.{family.lower()}{self.randint(1, 99)}@{mail_domain}"
                    if rng.random() < 0.75
                    else None
                )
            if rng.random() < 0.9:
                obj["BillAddr"] = addr
                if rng.random() < 0.75:
                    obj["ShipAddr"] = dict(addr)
            obj["Job"] = parent is not None
            obj["BillWithParent"] = parent is not None and rng.random() < 0.3
            if parent is not None:
                obj["ParentRef"] = {"value": parent.id}
                obj["Level"] = 1
            obj["Balance"] = 0
            obj["BalanceWithJobs"] = 0
            obj["CurrencyRef"] = _usd()
            obj["PreferredDeliveryMethod"] = self.choice(
                ("Print", "Print", "Email", "Email", "None")
            )
            self.envelope(obj, str(n))
            obj["GivenName"] = given
            obj["FamilyName"] = family
            fqn = display if parent is None else f"{parent.name}:{display}"
            obj["FullyQualifiedName"] = fqn
            if company_name:
                obj["CompanyName"] = company_name
            obj["DisplayName"] = display
            obj["PrintOnCheckName"] = company_name or display
            obj["Active"] = True
            self.contact(obj, area, email, web)
            if obj["Taxable"]:
                obj["DefaultTaxCodeRef"] = {"value": self.tax_codes[0].id}
            named = _Named(obj, ts, fqn)
            named.addr = obj.get("BillAddr")
            named.ship = obj.get("ShipAddr")
            named.email = email
            named.parent = parent
            if parent is not None:
                parent.kids += 1
            elif company_name:
                companies.append(named)
            records.append(named)
        self.customers = records
        self.customer_ts = [c.ts for c in records]
        self.names["Customer"] = records

    def make_vendors(self) -> None:
        rng = self.rng
        times = self.spread_times(self.size.vendors, 0.35, self.now - 10 * DAY)
        records: list[_Named] = []
        for n, ts in enumerate(times, start=1):
            obj: Obj = {}
            email: str | None
            web: str | None
            addr, area = self.address(self.city)
            if rng.random() < 0.8:
                if rng.random() < 0.3:
                    addr["Country"] = "USA"
                obj["BillAddr"] = addr
            obj["Balance"] = 0
            if rng.random() < 0.4:
                obj["AcctNum"] = str(self.randint(10_000, 99_999_999))
            individual = n > 1 and rng.random() < 0.15
            obj["Vendor1099"] = individual and rng.random() < 0.7
            obj["CurrencyRef"] = _usd()
            self.envelope(obj, str(n))
            given, family = self.person()
            if individual:
                display = self.unique(
                    functools.partial(self.person_name, given, family), self.used_names
                )
                kind_role = "contractor"
                if rng.random() < 0.2:
                    obj["Title"] = self.choice(("Mr.", "Ms.", "Mrs.", "Dr."))
                obj["GivenName"] = given
                if rng.random() < 0.3:
                    obj["MiddleName"] = self.choice(words.MIDDLE_INITIALS)
                obj["FamilyName"] = family
                if rng.random() < 0.1:
                    obj["Suffix"] = self.choice(("Jr.", "Sr.", "III"))
                email = f"{given.lower()}.{family.lower()}@{self.choice(words.MAIL_DOMAINS)}"
                web = None
            else:
                # The first vendor is a wholesaler, so the stock gets restocked.
                kind, kind_role = (
                    ("Wholesale", "materials") if n == 1 else self.choice(words.VENDOR_KINDS)
                )
                display = self.unique(
                    functools.partial(self.business_name, (kind,)), self.used_names
                )
                if rng.random() < 0.5:
                    obj["GivenName"] = given
                    obj["FamilyName"] = family
                obj["CompanyName"] = display
                slug = re.sub(r"[^a-z0-9]", "", display.lower())
                email = f"billing@{slug}.com" if rng.random() < 0.6 else None
                web = f"{slug}.com" if rng.random() < 0.4 else None
            obj["DisplayName"] = display
            obj["PrintOnCheckName"] = display
            obj["Active"] = True
            self.contact(obj, area, email, web)
            if obj["Vendor1099"] or rng.random() < 0.1:
                obj["TaxIdentifier"] = f"XXXXXX{self.randint(0, 9999):04d}"
            named = _Named(obj, ts, display)
            if rng.random() < 0.4:
                named.term = self.choice(self.terms)
                obj["TermRef"] = {"value": named.term.id}
            named.accounts = self.pool(*_VENDOR_POOLS[kind_role])
            named.stocks = kind_role in ("materials", "supplies")
            records.append(named)
        self.vendors = records
        self.vendor_ts = [v.ts for v in records]
        self.names["Vendor"] = records

    def make_employees(self) -> None:
        rng = self.rng
        times = self.spread_times(self.size.employees, 0.3, self.now - 20 * DAY)
        records: list[_Named] = []
        for n, ts in enumerate(times, start=1):
            given, family = self.person()
            display = self.unique(
                functools.partial(self.person_name, given, family), self.used_names
            )
            obj: Obj = {"BillableTime": False}
            if rng.random() < 0.7:
                year = self.randint(1960, 2002)
                obj["BirthDate"] = f"{year}-{self.randint(1, 12):02d}-{self.randint(1, 28):02d}"
            if rng.random() < 0.8:
                obj["HiredDate"] = self.date(self.day(ts) - self.randint(0, 20))
            self.envelope(obj, str(n))
            obj["GivenName"] = given
            obj["FamilyName"] = family
            obj["DisplayName"] = display
            obj["PrintOnCheckName"] = display
            obj["Active"] = True
            addr, area = self.address(self.city)
            if rng.random() < 0.8:
                obj["PrimaryPhone"] = self.phone(area)
            if rng.random() < 0.5:
                obj["PrimaryEmailAddr"] = {"Address": f"{given.lower()}@{self.company_domain}"}
            if rng.random() < 0.4:
                obj["PrimaryAddr"] = addr
            records.append(_Named(obj, ts, display))
        self.employees = records
        self.employee_ts = [e.ts for e in records]
        self.names["Employee"] = records

    # -- transactions ------------------------------------------------------

    def add_txn(self, etype: str, ts: int, obj: Obj, docseq: str = "") -> _Txn:
        txn = _Txn(etype, ts, obj, len(self.txns), docseq)
        self.txns.append(txn)
        if self.rng.random() < 0.08:
            txn.touch(self.biz_time(ts + 60, min(self.now, ts + 20 * DAY)))
        return txn

    def link(self, txn_type: str, target: Obj, line_id: bool = False) -> Obj:
        link: Obj = {"TxnId": "", "TxnType": txn_type}
        if line_id:
            link["TxnLineId"] = "0"
        self.fixups.append((link, "TxnId", target, "Id"))
        return link

    def txn_time(self) -> int:
        return self.biz_time(self.start + DAY, self.now)

    def pick(self, records: list[_Named], times: list[int], ts: int, skew: float) -> _Named:
        k = bisect.bisect_right(times, ts)
        return records[int(max(k, 1) * self.rng.random() ** skew)]

    def sales_lines(
        self, ts: int, count: int, stock: int, max_qty: int = 8
    ) -> tuple[list[Obj], int]:
        """Item lines and a sub-total line; `stock` -1 sells, +1 takes back, 0 quotes."""
        rng = self.rng
        k = max(bisect.bisect_right(self.item_ts, ts), 1)
        lines: list[Obj] = []
        total = 0
        for n in range(1, count + 1):
            item = self.items[self.below(k)]
            price = item.price
            # Big-ticket items sell one or two at a time.
            most = 1 if price >= 100_000 else 2 if price >= 20_000 else max_qty
            if item.kind == "Service" and price % 2 == 0 and rng.random() < 0.3:
                halves = self.randint(1, 2 * most)
                qty: float = halves / 2 if halves % 2 else halves // 2
                amount = price * halves // 2
            else:
                qty = self.randint(1, most)
                amount = price * int(qty)
            detail: Obj = {
                "ItemRef": self.ref(item.named),
                "UnitPrice": money(price),
                "Qty": qty,
                "TaxCodeRef": {"value": "NON"},
            }
            if self.classes and rng.random() < 0.4:
                detail["ClassRef"] = self.ref(self.choice(self.classes))
            lines.append(
                {
                    "Id": str(n),
                    "LineNum": n,
                    "Description": item.desc,
                    "Amount": money(amount),
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": detail,
                }
            )
            total += amount
            self.move(item, ts, qty, amount, stock)
        lines.append(
            {"Amount": money(total), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
        )
        return lines, total

    def move(self, item: _Item, ts: int, qty: float, amount: int, stock: int) -> None:
        """Book one sales line: income, and for inventory the cost of goods and the stock."""
        item.last_use = max(item.last_use, ts)
        if not stock:
            return
        self.post(item.income_id, stock * amount)
        if item.kind == "Inventory":
            cost = int(qty) * item.cost
            self.post(item.cogs_id, -stock * cost)
            self.post(item.asset_id, stock * cost)
            item.qty += stock * int(qty)

    def line_count(self) -> int:
        return self.choice((1, 1, 1, 2, 2, 2, 3, 3, 4, 5))

    def sales_form(
        self,
        etype: str,
        ts: int,
        cust: _Named | None,
        lines: list[Obj],
        total: int,
        status: str = "",
    ) -> Obj:
        rng = self.rng
        obj: Obj = {}
        if etype == "Invoice":
            obj.update(
                {
                    "AllowIPNPayment": False,
                    "AllowOnlinePayment": False,
                    "AllowOnlineCreditCardPayment": False,
                    "AllowOnlineACHPayment": False,
                }
            )
        elif etype == "CreditMemo":
            obj["RemainingCredit"] = 0
        self.envelope(obj, "")
        field_def: Obj = {"DefinitionId": "1", "Name": self.custom_field, "Type": "StringType"}
        if rng.random() < 0.3:
            field_def["StringValue"] = str(self.randint(1, 99))
        obj["CustomField"] = [field_def]
        obj["DocNumber"] = ""
        obj["TxnDate"] = self.date(self.day(ts))
        obj["CurrencyRef"] = _usd()
        if etype == "Estimate":
            obj["TxnStatus"] = status
            if status == "Closed":
                obj["LinkedTxn"] = []
        if etype == "Invoice":
            obj["LinkedTxn"] = []
        if self.departments and rng.random() < 0.3:
            obj["DepartmentRef"] = self.ref(self.choice(self.departments))
        if etype in SALES_DECORATED:
            for line in lines:
                detail = line.get("SalesItemLineDetail")
                if detail is not None:
                    item = self.item_by_id[detail["ItemRef"]["value"]]
                    account = item.named.obj["IncomeAccountRef"]
                    line["SalesItemLineDetail"] = with_account_ref(detail, account)
                    line["CustomExtensions"] = []
        obj["Line"] = lines
        obj["TxnTaxDetail"] = {"TotalTax": 0}
        if cust is not None:
            obj["CustomerRef"] = self.ref(cust)
            cust.last_use = max(cust.last_use, ts)
            if rng.random() < 0.5:
                obj["CustomerMemo"] = {"value": self.choice(words.CUSTOMER_MEMOS)}
            if cust.addr is not None:
                obj["BillAddr"] = dict(cust.addr)
            if cust.ship is not None:
                obj["ShipAddr"] = dict(cust.ship)
        if etype in SALES_DECORATED:
            obj["FreeFormAddress"] = free_form_address(obj.get("ShipAddr"))
        if etype == "Invoice":
            term = self.net30 if rng.random() < 0.6 else self.choice(self.terms)
            obj["SalesTermRef"] = {"value": term.id}
            obj["DueDate"] = self.date(self.day(ts) + int(term.obj["DueDays"]))
        obj["TotalAmt"] = money(total)
        obj["ApplyTaxAfterDiscount"] = False
        email = cust.email if cust is not None else None
        delivery = cust.obj["PreferredDeliveryMethod"] if cust is not None else "None"
        to_print = delivery == "Print" and etype != "SalesReceipt"
        obj["PrintStatus"] = "NeedToPrint" if to_print else "NotSet"
        if email and delivery == "Email" and etype in ("Invoice", "Estimate"):
            obj["EmailStatus"] = "EmailSent"
            obj["BillEmail"] = {"Address": email}
            obj["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": self.fmt(ts)}
        else:
            obj["EmailStatus"] = "NotSet"
            if email:
                obj["BillEmail"] = {"Address": email}
        if etype != "Estimate":
            obj["Balance"] = money(total) if etype != "SalesReceipt" else 0
        return obj

    def estimate_status(self, ts: int) -> str:
        r = self.rng.random()
        if self.now - ts < 14 * DAY:
            return "Pending" if r < 0.7 else ("Accepted" if r < 0.85 else "Rejected")
        if r < 0.6:
            return "Closed"
        return "Rejected" if r < 0.8 else ("Accepted" if r < 0.9 else "Pending")

    def make_estimates_and_invoices(self) -> None:
        self.invoices: list[_Txn] = []
        converted = 0
        for _ in range(self.size.estimates):
            ts = self.txn_time()
            cust = self.pick(self.customers, self.customer_ts, ts, 1.5)
            lines, total = self.sales_lines(ts, self.line_count(), stock=0)
            status = self.estimate_status(ts)
            inv_ts = self.biz_time(ts + DAY, ts + 20 * DAY)
            if status == "Closed" and (inv_ts > self.now or converted >= self.size.invoices):
                status = "Accepted"
            obj = self.sales_form("Estimate", ts, cust, lines, total, status)
            est = self.add_txn("Estimate", ts, obj, "estimate")
            if status == "Closed":
                converted += 1
                inv = self.invoice(inv_ts, cust, self.copy_lines(lines, inv_ts), total)
                inv.obj["LinkedTxn"].append(self.link("Estimate", obj))
                obj["LinkedTxn"].append(self.link("Invoice", inv.obj))
                est.touch(inv_ts)
        for _ in range(self.size.invoices - converted):
            ts = self.txn_time()
            cust = self.pick(self.customers, self.customer_ts, ts, 1.5)
            lines, total = self.sales_lines(ts, self.line_count(), stock=-1)
            self.invoice(ts, cust, lines, total)

    def copy_lines(self, lines: list[Obj], ts: int) -> list[Obj]:
        """Fresh copies of an estimate's lines for the invoice made from it (which sells)."""
        out = []
        for line in lines:
            copy = dict(line)
            detail = line.get("SalesItemLineDetail")
            if detail is None:
                copy["SubTotalLineDetail"] = {}
            else:
                item = self.item_by_id[detail["ItemRef"]["value"]]
                new = dict(detail)
                new["ItemRef"] = self.ref(item.named)
                new["TaxCodeRef"] = dict(detail["TaxCodeRef"])
                if "ClassRef" in detail:
                    new["ClassRef"] = self.ref(self.class_by_id[detail["ClassRef"]["value"]])
                copy["SalesItemLineDetail"] = new
                self.move(item, ts, detail["Qty"], round(line["Amount"] * 100), -1)
            out.append(copy)
        return out

    def invoice(self, ts: int, cust: _Named, lines: list[Obj], total: int) -> _Txn:
        obj = self.sales_form("Invoice", ts, cust, lines, total)
        self.post(self.ar["Id"], total)
        txn = self.add_txn("Invoice", ts, obj, "sales")
        txn.total = txn.balance = total
        txn.owner = cust
        due_days = int(self.terms_by_id[obj["SalesTermRef"]["value"]].obj["DueDays"])
        self.schedule_payments(txn, due_days)
        self.invoices.append(txn)
        return txn

    def schedule_payments(self, txn: _Txn, due_days: int) -> None:
        """Queue the instalments (time, document, cents) that settle an invoice or a bill."""
        rng = self.rng
        plan: list[tuple[float, int]] = []  # (delay in days, cents)
        r = rng.random()
        center = due_days * 0.85 + 4
        spread = 6 + due_days * 0.25
        if r < 0.05:
            return
        if r < 0.14:
            first = round(txn.total * rng.uniform(0.3, 0.7))
            delay = max(0.2, rng.gauss(center, spread))
            plan.append((delay, first))
            if rng.random() < 0.6:
                plan.append((delay + rng.uniform(10, 40), txn.total - first))
        else:
            plan.append((max(0.2, rng.gauss(center, spread)), txn.total))
        for delay, amount in plan:
            start = txn.ts + int(delay * DAY)
            when = max(self.biz_time(start, start + DAY), txn.ts + 3600)
            if when > self.now or amount <= 0:
                break
            self.pending.append((when, len(self.pending), txn, amount))

    def make_credit_memos(self) -> None:
        self.credit_memos: list[_Txn] = []
        for _ in range(self.size.credit_memos):
            ts = self.txn_time()
            cust = self.pick(self.customers, self.customer_ts, ts, 1.2)
            lines, total = self.sales_lines(ts, self.choice((1, 1, 2)), stock=1, max_qty=2)
            obj = self.sales_form("CreditMemo", ts, cust, lines, total)
            self.post(self.ar["Id"], -total)
            txn = self.add_txn("CreditMemo", ts, obj, "sales")
            txn.total = txn.balance = total
            txn.owner = cust
            self.credit_memos.append(txn)

    def group(self) -> list[_Settle]:
        """Merge each owner's queued instalments within two days into one settlement."""
        by_owner: dict[str, list[tuple[int, int, _Txn, int]]] = {}
        for event in sorted(self.pending, key=lambda e: (e[0], e[1])):
            owner = event[2].owner
            assert owner is not None
            by_owner.setdefault(owner.id, []).append(event)
        self.pending = []
        settles: list[_Settle] = []
        for events in by_owner.values():
            current: _Settle | None = None
            first = 0
            for when, _, doc, amount in events:
                assert doc.owner is not None
                if (
                    current is None
                    or when - first > 2 * DAY
                    or any(d is doc for d, _ in current.docs)
                ):
                    current = _Settle(when, doc.owner)
                    first = when
                    settles.append(current)
                current.ts = max(current.ts, when)
                current.docs.append((doc, amount))
        settles.sort(key=lambda s: (s.ts, int(s.owner.id)))
        return settles

    def apply_credits(self, settles: list[_Settle]) -> None:
        """Apply each credit memo on its customer's next payments (up to three)."""
        per_customer: dict[str, list[_Settle]] = {}
        for settle in settles:
            per_customer.setdefault(settle.owner.id, []).append(settle)
        for cm in self.credit_memos:
            assert cm.owner is not None
            options = per_customer.get(cm.owner.id, [])
            at = bisect.bisect_right([s.ts for s in options], cm.ts)
            for settle in options[at : at + 3]:
                room = sum(a for _, a in settle.docs) - sum(a for _, a in settle.credits)
                amount = min(room, cm.balance)
                if amount > 0:
                    settle.credits.append((cm, amount))
                    cm.balance -= amount
                if cm.balance == 0:
                    break

    def make_payments(self) -> None:
        rng = self.rng
        settles = self.group()
        self.apply_credits(settles)
        credit_open = {id(cm): cm.total for cm in self.credit_memos}
        self.uf_receipts: list[tuple[int, int, str, Obj, int]] = []
        for settle in settles:
            cust = settle.owner
            total = sum(a for _, a in settle.docs) - sum(a for _, a in settle.credits)
            to_uf = rng.random() < 0.65
            obj: Obj = {
                "CustomerRef": self.ref(cust),
                "DepositToAccountRef": {"value": (self.uf if to_uf else self.checking)["Id"]},
                "TotalAmt": money(total),
                "UnappliedAmt": 0,
                "ProcessPayment": False,
            }
            self.envelope(obj, "")
            obj["TxnDate"] = self.date(self.day(settle.ts))
            obj["CurrencyRef"] = _usd()
            if rng.random() < 0.5:
                obj["PaymentRefNum"] = str(self.randint(1000, 99999))
            lines = []
            for doc, amount in settle.docs:
                lines.append(self.payment_line("Invoice", doc, amount, doc.balance))
                doc.balance -= amount
            for cm, amount in settle.credits:
                lines.append(self.payment_line("CreditMemo", cm, amount, credit_open[id(cm)]))
                credit_open[id(cm)] -= amount
            obj["Line"] = lines
            self.post(obj["DepositToAccountRef"]["value"], total)
            self.post(self.ar["Id"], -total)
            txn = self.add_txn("Payment", settle.ts, obj)
            for doc, _ in settle.docs:
                doc.obj["LinkedTxn"].append(self.link("Payment", obj))
                doc.touch(settle.ts)
            for cm, _ in settle.credits:
                cm.touch(settle.ts)
            cust.last_use = max(cust.last_use, settle.ts)
            if to_uf and total > 0:
                self.uf_receipts.append((settle.ts, txn.seq, "Payment", obj, total))

    def payment_line(self, txn_type: str, doc: _Txn, amount: int, open_before: int) -> Obj:
        """A payment line linking `doc`, with the `LineEx` name-values QBO adds."""
        id_value: Obj = {"Name": "txnId", "Value": ""}
        ref_value: Obj = {"Name": "txnReferenceNumber", "Value": ""}
        self.fixups.append((id_value, "Value", doc.obj, "Id"))
        self.fixups.append((ref_value, "Value", doc.obj, "DocNumber"))
        balance_value: Obj = {"Name": "txnOpenBalance", "Value": f"{open_before / 100:.2f}"}
        return {
            "Amount": money(amount),
            "LinkedTxn": [self.link(txn_type, doc.obj)],
            "LineEx": {"any": [self.line_ex(v) for v in (id_value, balance_value, ref_value)]},
        }

    @staticmethod
    def line_ex(value: Obj) -> Obj:
        return {
            "name": "{http://schema.intuit.com/finance/v3}NameValue",
            "declaredType": "com.intuit.schema.finance.v3.NameValue",
            "scope": "javax.xml.bind.JAXBElement$GlobalScope",
            "value": value,
            "nil": False,
            "globalScope": True,
            "typeSubstituted": False,
        }

    def make_sales_receipts(self) -> None:
        rng = self.rng
        self.receipts: list[_Txn] = []
        for _ in range(self.size.sales_receipts):
            ts = self.txn_time()
            cust = (
                self.pick(self.customers, self.customer_ts, ts, 1.3)
                if rng.random() < 0.85
                else None
            )
            lines, total = self.sales_lines(ts, self.line_count(), stock=-1)
            obj = self.sales_form("SalesReceipt", ts, cust, lines, total)
            if rng.random() < 0.3:
                obj["PaymentRefNum"] = str(self.randint(1000, 99999))
            to_uf = rng.random() < 0.7
            obj["DepositToAccountRef"] = self.acct_ref(self.uf if to_uf else self.checking)
            self.post(obj["DepositToAccountRef"]["value"], total)
            txn = self.add_txn("SalesReceipt", ts, obj, "sales")
            if to_uf:
                self.uf_receipts.append((ts, txn.seq, "SalesReceipt", obj, total))

    def make_deposits(self) -> None:
        rng = self.rng
        receipts = sorted(self.uf_receipts, key=lambda r: (r[0], r[1]))
        other_income = self.roles["income:other"]
        # Sweep about six receipts per deposit, at least daily and at most fortnightly.
        per_day = len(receipts) / HISTORY_DAYS
        gap = min(14.0, max(1.0, 6 / per_day)) if per_day else 14.0
        i = 0
        while i < len(receipts):
            first = receipts[i][0]
            when = self.biz_time(first + DAY, first + int(gap * DAY))
            if when > self.now:
                break
            batch = []
            while i < len(receipts) and receipts[i][0] < when:
                batch.append(receipts[i])
                i += 1
            lines: list[Obj] = []
            total = 0
            bank = self.checking if rng.random() < 0.9 else self.savings
            for n, (_, _, txn_type, source, amount) in enumerate(batch, start=1):
                self.post(self.uf["Id"], -amount)
                lines.append(
                    {
                        "Id": str(n),
                        "LineNum": n,
                        "Amount": money(amount),
                        "LinkedTxn": [self.link(txn_type, source, line_id=True)],
                    }
                )
                total += amount
            if rng.random() < 0.05:
                extra = self.randint(100, 5000)
                n = len(lines) + 1
                lines.append(
                    {
                        "Id": str(n),
                        "LineNum": n,
                        "Description": "Interest",
                        "Amount": money(extra),
                        "DetailType": "DepositLineDetail",
                        "DepositLineDetail": {"AccountRef": self.acct_ref(other_income[0])},
                    }
                )
                total += extra
                self.post(other_income[0]["Id"], -extra)
            self.post(bank["Id"], total)
            obj: Obj = {"DepositToAccountRef": self.acct_ref(bank), "TotalAmt": money(total)}
            self.envelope(obj, "")
            obj["TxnDate"] = self.date(self.day(when))
            obj["CurrencyRef"] = _usd()
            obj["Line"] = lines
            obj["TxnTaxDetail"] = {}
            self.add_txn("Deposit", when, obj)
            for _, _, txn_type, source, _ in batch:
                if txn_type == "SalesReceipt":
                    source.setdefault("LinkedTxn", []).append(self.link("Deposit", obj))

    def expense_lines(
        self, ts: int, vendor: _Named | None, count: int, mu: float, restock: bool = True
    ) -> tuple[list[Obj], int]:
        """Expense lines; a stocking vendor's bills also restock items, short ones first."""
        rng = self.rng
        lines: list[Obj] = []
        total = 0
        k = bisect.bisect_right(self.buyable_ts, ts)
        for n in range(1, count + 1):
            line: Obj = {"Id": str(n), "LineNum": n}
            if restock and vendor is not None and vendor.stocks and k and rng.random() < 0.5:
                item = self.buyable[self.below(k)]
                other = self.buyable[self.below(k)]
                if other.qty < item.qty:
                    item = other
                qty = self.randint(5, 40) + min(max(-item.qty, 0), 160)
                amount = item.cost * qty
                line["Description"] = item.desc
                line["Amount"] = money(amount)
                line["DetailType"] = "ItemBasedExpenseLineDetail"
                line["ItemBasedExpenseLineDetail"] = {
                    "ItemRef": self.ref(item.named),
                    "UnitPrice": money(item.cost),
                    "Qty": qty,
                    "BillableStatus": "NotBillable",
                    "TaxCodeRef": {"value": "NON"},
                }
                item.last_use = max(item.last_use, ts)
                if item.kind == "Inventory":
                    item.qty += qty
                    self.post(item.asset_id, amount)
                else:
                    self.post(item.cogs_id, amount)
            else:
                if vendor is not None and vendor.accounts and rng.random() < 0.85:
                    account = self.choice(vendor.accounts)
                else:
                    account = self.choice(self.roles[self.choice(self.expense_roles)])
                amount = max(100, round(rng.lognormvariate(mu + self.spend, 0.9) * 100))
                if rng.random() < 0.4:
                    line["Description"] = account["Name"]
                line["Amount"] = money(amount)
                line["DetailType"] = "AccountBasedExpenseLineDetail"
                detail: Obj = {"AccountRef": self.acct_ref(account)}
                if self.classes and rng.random() < 0.3:
                    detail["ClassRef"] = self.ref(self.choice(self.classes))
                detail["BillableStatus"] = "NotBillable"
                detail["TaxCodeRef"] = {"value": "NON"}
                line["AccountBasedExpenseLineDetail"] = detail
                self.post(account["Id"], amount)
            lines.append(line)
            total += amount
        return lines, total

    def make_bills_and_payments(self) -> None:
        rng = self.rng
        ap = self.roles["ap"][0]
        self.bills: list[_Txn] = []
        for _ in range(self.size.bills):
            ts = self.txn_time()
            vendor = self.pick(self.vendors, self.vendor_ts, ts, 2.0)
            vendor.last_use = max(vendor.last_use, ts)
            term = vendor.term or self.net30
            due_days = int(term.obj["DueDays"])
            lines, total = self.expense_lines(
                ts, vendor, self.choice((1, 1, 1, 2, 2, 3)), 5.4, True
            )
            obj: Obj = {"DueDate": self.date(self.day(ts) + due_days), "Balance": money(total)}
            self.envelope(obj, "")
            if rng.random() < 0.6:
                obj["DocNumber"] = str(self.randint(1000, 999_999))
            obj["TxnDate"] = self.date(self.day(ts))
            obj["CurrencyRef"] = _usd()
            obj["LinkedTxn"] = []
            obj["Line"] = lines
            obj["VendorRef"] = self.ref(vendor)
            if "BillAddr" in vendor.obj:
                obj["VendorAddr"] = dict(vendor.obj["BillAddr"])
            obj["APAccountRef"] = self.acct_ref(ap)
            obj["TotalAmt"] = money(total)
            obj["SalesTermRef"] = {"value": term.id}
            if self.departments and rng.random() < 0.2:
                obj["DepartmentRef"] = self.ref(self.choice(self.departments))
            self.post(ap["Id"], -total)
            txn = self.add_txn("Bill", ts, obj)
            txn.total = txn.balance = total
            txn.owner = vendor
            self.bills.append(txn)
            self.schedule_payments(txn, due_days)
        settles = self.group()
        self.cc_charges: list[tuple[int, str, int]] = []
        cards = self.roles["cc"]
        banks = self.roles["bank:checking"]
        for settle in settles:
            vendor = settle.owner
            total = sum(a for _, a in settle.docs)
            by_card = rng.random() < 0.2
            obj = {"VendorRef": self.ref(vendor)}
            if by_card:
                card = self.choice(cards)
                obj["PayType"] = "CreditCard"
                obj["CreditCardPayment"] = {"CCAccountRef": self.acct_ref(card)}
                self.cc_charges.append((settle.ts, card["Id"], total))
                self.post(card["Id"], -total)
            else:
                bank = banks[0] if rng.random() < 0.8 else self.choice(banks)
                obj["PayType"] = "Check"
                obj["CheckPayment"] = {
                    "BankAccountRef": self.acct_ref(bank),
                    "PrintStatus": self.choice(("NotSet", "NeedToPrint", "PrintComplete")),
                }
                self.post(bank["Id"], -total)
            self.post(ap["Id"], total)
            obj["TotalAmt"] = money(total)
            self.envelope(obj, "")
            if not by_card:
                obj["DocNumber"] = ""
            obj["TxnDate"] = self.date(self.day(settle.ts))
            obj["CurrencyRef"] = _usd()
            obj["Line"] = [
                {"Amount": money(amount), "LinkedTxn": [self.link("Bill", doc.obj)]}
                for doc, amount in settle.docs
            ]
            self.add_txn("BillPayment", settle.ts, obj, "" if by_card else "check")
            link_type = "BillPaymentCreditCard" if by_card else "BillPaymentCheck"
            for doc, amount in settle.docs:
                doc.balance -= amount
                doc.obj["LinkedTxn"].append(self.link(link_type, obj))
                doc.touch(settle.ts)
            vendor.last_use = max(vendor.last_use, settle.ts)

    def make_purchases(self) -> None:
        rng = self.rng
        cards = self.roles["cc"]
        banks = self.roles["bank:checking"]
        for _ in range(self.size.purchases):
            ts = self.txn_time()
            vendor = (
                self.pick(self.vendors, self.vendor_ts, ts, 1.5) if rng.random() < 0.85 else None
            )
            count = self.choice((1, 1, 1, 2))
            lines, total = self.expense_lines(ts, vendor, count, 4.3, restock=False)
            for line in lines:
                del line["LineNum"]  # a purchase's lines carry no LineNum in QBO's answers
            r = rng.random()
            kind = "CreditCard" if r < 0.5 else ("Check" if r < 0.7 else "Cash")
            account = self.choice(cards) if kind == "CreditCard" else self.choice(banks)
            obj: Obj = {"AccountRef": self.acct_ref(account), "PaymentType": kind}
            if vendor is not None:
                obj["EntityRef"] = self.ref(vendor, type="Vendor")
                vendor.last_use = max(vendor.last_use, ts)
            if kind == "CreditCard":
                obj["Credit"] = False
                self.cc_charges.append((ts, account["Id"], total))
            obj["TotalAmt"] = money(total)
            if kind == "Check":
                obj["PrintStatus"] = "NotSet"
            obj["PurchaseEx"] = purchase_ex(kind, obj.get("Credit"))
            self.envelope(obj, "")
            if kind == "Check":
                obj["DocNumber"] = ""
            obj["TxnDate"] = self.date(self.day(ts))
            obj["CurrencyRef"] = _usd()
            if rng.random() < 0.1:
                obj["PrivateNote"] = self.choice(
                    ("Paid at the counter", "Online order", "Receipt on file")
                )
            obj["Line"] = lines
            self.post(account["Id"], -total)
            self.add_txn("Purchase", ts, obj, "check" if kind == "Check" else "")

    def journal_entry(self, ts: int, note: str, postings: list[tuple[Obj, int]]) -> None:
        """A journal entry; `postings` are (account, cents), debit positive."""
        lines = []
        for n, (account, amount) in enumerate(postings):
            self.post(account["Id"], amount)
            lines.append(
                {
                    "Id": str(n),
                    "Description": note,
                    "Amount": money(abs(amount)),
                    "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": {
                        "PostingType": "Debit" if amount > 0 else "Credit",
                        "AccountRef": self.acct_ref(account),
                    },
                }
            )
        obj: Obj = {"Adjustment": False}
        self.envelope(obj, "")
        obj["TxnDate"] = self.date(self.day(ts))
        obj["CurrencyRef"] = _usd()
        obj["PrivateNote"] = note
        obj["Line"] = lines
        obj["TxnTaxDetail"] = {}
        self.add_txn("JournalEntry", ts, obj)

    def make_interest_deposits(self) -> None:
        """Monthly interest on savings: deposits of their own `DepositLineDetail` lines."""
        income = self.roles["income:other"][0]
        scale = max(1.0, self.size.customers / 30) ** 0.5
        for month in range(1, HISTORY_DAYS * 12 // 365 + 1):
            when = self.biz_time(
                self.start + int(month * 30.4 * DAY) - DAY, self.start + int(month * 30.4 * DAY)
            )
            if when > self.now:
                break
            amount = round(self.randint(300, 4_000) * scale)
            line: Obj = {
                "Id": "1",
                "LineNum": 1,
                "Description": "Interest earned",
                "Amount": money(amount),
                "DetailType": "DepositLineDetail",
                "DepositLineDetail": {"AccountRef": self.acct_ref(income)},
            }
            self.post(self.savings["Id"], amount)
            self.post(income["Id"], -amount)
            obj: Obj = {"DepositToAccountRef": self.acct_ref(self.savings)}
            obj["TotalAmt"] = money(amount)
            self.envelope(obj, "")
            obj["TxnDate"] = self.date(self.day(when))
            obj["CurrencyRef"] = _usd()
            obj["Line"] = [line]
            obj["TxnTaxDetail"] = {}
            self.add_txn("Deposit", when, obj)

    def make_journal_entries(self) -> None:
        rng = self.rng
        scale = max(1.0, self.size.customers / 30)
        cash = round(rng.uniform(8_000, 25_000) * scale) * 100
        savings = round(rng.uniform(5_000, 20_000) * scale) * 100
        truck = round(rng.uniform(25_000, 60_000)) * 100
        loan = round(truck * rng.uniform(0.5, 0.8) / 100) * 100
        stock = sum(item.start_qty * item.cost for item in self.items)
        opening: list[tuple[Obj, int]] = [(self.checking, cash), (self.savings, savings)]
        if stock:
            opening.append((self.roles["inventory"][0], stock))
        opening += [
            (self.roles["fixed:cost"][0], truck),
            (self.roles["loan"][0], -loan),
            (self.roles["equity:opening"][0], -(cash + savings + stock + truck - loan)),
        ]
        self.journal_entry(self.start + 2 * 3600, "Opening balances", opening)
        # Recurring candidates, one set a month; sampled down to the budget.
        candidates: list[tuple[int, int, str, Obj | None]] = []
        months = HISTORY_DAYS * 12 // 365
        for month in range(1, months + 1):
            base = self.start + int(month * 30.4 * DAY)
            for kind in ("payroll", "depreciation", "loan", "draw", "savings"):
                when = self.biz_time(base - 5 * DAY, min(base + 5 * DAY, self.now))
                candidates.append((when, len(candidates), kind, None))
            for card in self.roles["cc"]:
                when = self.biz_time(base - 3 * DAY, min(base + 3 * DAY, self.now))
                candidates.append((when, len(candidates), "card", card))
        candidates = [c for c in candidates if c[0] <= self.now]
        budget = self.size.journal_entries
        chosen = rng.sample(candidates, min(budget, len(candidates)))
        for _ in range(budget - len(chosen)):
            chosen.append((self.txn_time(), len(candidates) + len(chosen), "reclass", None))
        chosen.sort(key=lambda c: (c[0], c[1]))
        charge_times: dict[str, list[int]] = {}
        charge_sums: dict[str, list[int]] = {}
        for when_charged, card_id, amount in sorted(self.cc_charges):
            sums = charge_sums.setdefault(card_id, [])
            charge_times.setdefault(card_id, []).append(when_charged)
            sums.append((sums[-1] if sums else 0) + amount)
        paid: dict[str, int] = {}
        expense = self.roles
        for when, _, kind, paid_card in chosen:
            if kind == "payroll":
                staff = max(1, bisect.bisect_right(self.employee_ts, when))
                amount = staff * self.randint(2_500, 5_500) * 100
                self.journal_entry(
                    when,
                    "Payroll",
                    [(expense["expense:payroll"][0], amount), (self.checking, -amount)],
                )
            elif kind == "depreciation":
                amount = truck // 60
                self.journal_entry(
                    when,
                    "Monthly depreciation",
                    [
                        (expense["expense:depreciation"][0], amount),
                        (expense["fixed:depreciation"][0], -amount),
                    ],
                )
            elif kind == "loan":
                principal = loan // 60
                interest = round(loan * rng.uniform(0.003, 0.006))
                self.journal_entry(
                    when,
                    "Loan payment",
                    [
                        (expense["loan"][0], principal),
                        (expense["expense:interest"][0], interest),
                        (self.checking, -(principal + interest)),
                    ],
                )
            elif kind == "draw":
                amount = round(rng.uniform(1_000, 6_000) * scale**0.5) * 100
                self.journal_entry(
                    when,
                    "Owner's draw",
                    [(expense["equity:draw"][0], amount), (self.checking, -amount)],
                )
            elif kind == "savings":
                amount = round(rng.uniform(500, 3_000) * scale**0.5) * 100
                self.journal_entry(
                    when, "Transfer to savings", [(self.savings, amount), (self.checking, -amount)]
                )
            elif kind == "card" and paid_card is not None:
                card = paid_card
                k = bisect.bisect_left(charge_times.get(card["Id"], []), when)
                owed = charge_sums[card["Id"]][k - 1] if k else 0
                owed -= paid.get(card["Id"], 0)
                amount = round(owed * rng.uniform(0.85, 1.0))
                if amount <= 0:
                    continue
                paid[card["Id"]] = paid.get(card["Id"], 0) + amount
                self.journal_entry(
                    when, f"{card['Name']} payment", [(card, amount), (self.checking, -amount)]
                )
            else:
                first, second = rng.sample(self.expense_roles, 2)
                amount = self.randint(50, 2_000) * 100
                self.journal_entry(
                    when,
                    "Reclassification",
                    [(expense[first][0], amount), (expense[second][0], -amount)],
                )

    # -- finish ------------------------------------------------------------

    def finish(self) -> dict[str, list[Obj]]:
        self.txns.sort(key=lambda t: (t.ts, t.seq))
        counters = {"sales": 1000, "estimate": 1000, "check": 1000, "po": 1000}
        entities: dict[str, list[Obj]] = {name: [] for name in CANONICAL_ENTITY_NAMES}
        for n, txn in enumerate(self.txns, start=1):
            obj = txn.obj
            obj["Id"] = str(n)
            if txn.docseq:
                counters[txn.docseq] += 1
                obj["DocNumber"] = str(counters[txn.docseq])
            entities[txn.etype].append(obj)
        for target, key, source, attr in self.fixups:
            target[key] = source.get(attr, "")
        for txn in self.txns:
            obj = txn.obj
            obj["SyncToken"] = str(txn.sync)
            meta = self.meta(txn.ts, txn.last)
            obj["MetaData"] = {
                "CreateTime": meta["CreateTime"],
                "LastModifiedByRef": dict(self.modified_by),
                "LastUpdatedTime": meta["LastUpdatedTime"],
            }
            if txn.etype in ("Invoice", "Bill", "CreditMemo", "VendorCredit"):
                obj["Balance"] = money(txn.balance)
                if txn.etype == "CreditMemo":
                    obj["RemainingCredit"] = money(txn.balance)
                assert txn.owner is not None
                credit = txn.etype in ("CreditMemo", "VendorCredit")
                txn.owner.balance += -txn.balance if credit else txn.balance
        # Name lists: balances, edits, deactivations.
        for cust in self.customers:
            cust.obj["Balance"] = money(cust.balance)
        with_jobs = {id(cust): cust.balance for cust in self.customers}
        for cust in self.customers:
            if cust.parent is not None:
                with_jobs[id(cust.parent)] += cust.balance
        for cust in self.customers:
            cust.obj["BalanceWithJobs"] = money(with_jobs[id(cust)])
        for vendor in self.vendors:
            vendor.obj["Balance"] = money(vendor.balance)
        for etype in ("Customer", "Vendor", "Employee", "Item", "Class", "Department"):
            for named in self.names[etype]:
                self.finish_named(etype, named)
        for item in self.items:
            if item.kind == "Inventory":
                item.named.obj["QtyOnHand"] = item.qty
        for etype in (*NAME_LISTS, *TAX_CODES):
            entities[etype] = [named.obj for named in self.names[etype]]
        balances = self.ledger
        by_id = {acct["Id"]: acct for acct in self.accounts}
        own: dict[str, int] = {}
        for acct in self.accounts:
            posted = balances.get(acct["Id"], 0)
            cls = acct["Classification"]
            own[acct["Id"]] = (
                posted if cls == "Asset" else -posted if cls in ("Liability", "Equity") else 0
            )
        with_subs = dict(own)
        for acct in reversed(self.accounts):  # children come after their parents
            parent = acct.get("ParentRef")
            if parent is not None:
                with_subs[parent["value"]] += with_subs[acct["Id"]]
        for acct_id, acct in by_id.items():
            acct["CurrentBalance"] = money(own[acct_id])
            acct["CurrentBalanceWithSubAccounts"] = money(with_subs[acct_id])
        return entities

    def finish_named(self, etype: str, named: _Named) -> None:
        rng = self.rng
        obj = named.obj
        updated, sync = self.edits(named.ts)
        can_retire = (
            etype in ("Customer", "Vendor", "Item")
            and obj.get("Type") != "Inventory"
            and named.balance == 0
            and named.kids == 0
            and named.parent is None
            and named.last_use < self.now - 60 * DAY
        )
        retire = (can_retire and rng.random() < 0.04) or (
            etype == "Employee" and named.ts < self.now - 90 * DAY and rng.random() < 0.1
        )
        # Retire only what has been idle for a day before `now`, so no time lands after it.
        if retire and max(named.last_use, updated) + DAY < self.now:
            when = self.biz_time(max(named.last_use, updated) + DAY, self.now)
            updated, sync = max(updated, when), sync + 1
            obj["Active"] = False
            key = "Name" if etype == "Item" else "DisplayName"
            obj[key] = f"{obj[key]} (deleted)"
            if "FullyQualifiedName" in obj:
                obj["FullyQualifiedName"] = f"{obj['FullyQualifiedName']} (deleted)"
            named.name = str(obj.get("FullyQualifiedName", obj[key]))
            for ref in named.refs:
                ref["name"] = named.name
        obj["SyncToken"] = str(sync)
        obj["MetaData"] = self.meta(named.ts, updated)
        if etype in ("Customer", "Vendor"):
            obj["V4IDPseudonym"] = pseudonym(self.company_name, etype, named.id)
        if etype == "Customer":
            obj["IsProject"] = False
            obj["ClientEntityId"] = "0"

    # -- singletons ----------------------------------------------------------

    def company_info(self) -> Obj:
        addr, area = self.address(self.city, exact=True)
        created = self.start
        obj: Obj = {
            "CompanyName": self.company_name,
            "LegalName": self.legal_name,
            "CompanyAddr": addr,
            "CustomerCommunicationAddr": dict(addr),
            "LegalAddr": dict(addr),
            "CustomerCommunicationEmailAddr": {"Address": f"billing@{self.company_domain}"},
            "PrimaryPhone": self.phone(area),
            "CompanyStartDate": self.date(self.day(self.start)),
            "FiscalYearStartMonth": self.fiscal_month,
            "Country": "US",
            "Email": {"Address": f"office@{self.company_domain}"},
            "WebAddr": {"URI": f"https://www.{self.company_domain}"},
            "SupportedLanguages": "en",
            "DefaultTimeZone": (
                "America/Phoenix" if self.city[1] == "AZ" else words.TZ_NAMES[self.city[6]]
            ),
            "NameValue": [
                {"Name": "NeoEnabled", "Value": "true"},
                {"Name": "IndustryType", "Value": self.industry.label},
                {"Name": "IndustryCode", "Value": self.industry.code},
                {
                    "Name": "CompanyType",
                    "Value": self.choice(("LLC", "SoleProprietor", "SCorporation")),
                },
                {"Name": "SubscriptionStatus", "Value": "SUBSCRIBED"},
                {
                    "Name": "OfferingSku",
                    "Value": "QuickBooks Online Advanced"
                    if self.size.chart >= 2
                    else "QuickBooks Online Plus",
                },
                {"Name": "PayrollFeature", "Value": "true" if self.size.employees else "false"},
                {"Name": "AccountantFeature", "Value": "false"},
                {"Name": "IsQbdtMigrated", "Value": "false"},
                {"Name": "ItemCategoriesFeature", "Value": "true"},
            ],
        }
        self.envelope(obj, "1")
        updated = self.biz_time(created + DAY, self.now)
        obj["SyncToken"] = str(self.randint(2, 9))
        obj["MetaData"] = self.meta(created, updated)
        return obj

    def preferences(self) -> Obj:
        first_service = next((i for i in self.items if i.kind == "Service"), self.items[0])
        discount = self.acct_by_name["Discounts given"]
        message = f"Thank you for your business with {self.company_name}."
        obj: Obj = {
            "AccountingInfoPrefs": {
                "TrackDepartments": bool(self.departments),
                "DepartmentTerminology": "Location",
                "ClassTrackingPerTxn": False,
                "ClassTrackingPerTxnLine": bool(self.classes),
                "CustomerTerminology": "Customers",
                "FirstMonthOfFiscalYear": self.fiscal_month,
                "UseAccountNumbers": False,
                "TaxYearMonth": self.fiscal_month,
            },
            "ProductAndServicesPrefs": {
                "ForSales": True,
                "ForPurchase": True,
                "QuantityWithPriceAndRate": True,
                "QuantityOnHand": True,
            },
            "SalesFormsPrefs": {
                "CustomField": [
                    {
                        "CustomField": [
                            {
                                "Name": "SalesFormsPrefs.UseSalesCustom1",
                                "Type": "BooleanType",
                                "BooleanValue": True,
                            },
                            {
                                "Name": "SalesFormsPrefs.UseSalesCustom2",
                                "Type": "BooleanType",
                                "BooleanValue": False,
                            },
                            {
                                "Name": "SalesFormsPrefs.UseSalesCustom3",
                                "Type": "BooleanType",
                                "BooleanValue": False,
                            },
                        ]
                    },
                    {
                        "CustomField": [
                            {
                                "Name": "SalesFormsPrefs.SalesCustomName1",
                                "Type": "StringType",
                                "StringValue": self.custom_field,
                            }
                        ]
                    },
                ],
                "AllowDeposit": True,
                "AllowDiscount": True,
                "DefaultDiscountAccount": discount["Id"],
                "AllowEstimates": True,
                "ETransactionEnabledStatus": "NotApplicable",
                "ETransactionAttachPDF": False,
                "ETransactionPaymentEnabled": False,
                "IPNSupportEnabled": False,
                "AllowServiceDate": False,
                "AllowShipping": False,
                "DefaultTerms": {"value": self.net30.id},
                "DefaultCustomerMessage": message,
                "EmailCopyToCompany": False,
                "UsingProgressInvoicing": False,
                "AutoApplyCredit": True,
                "AutoApplyPayments": True,
                "UsingPriceLevels": False,
                "CustomTxnNumbers": False,
            },
            "EmailMessagesPrefs": {
                "InvoiceMessage": {
                    "Subject": f"Invoice [Invoice No.] from {self.company_name}",
                    "Message": f"Dear [Customer Name],\n\nWe appreciate your business. "
                    "Please find your invoice details here.\n\n"
                    f"Have a great day!\n{self.company_name}",
                },
                "EstimateMessage": {
                    "Subject": f"Estimate [Estimate No.] from {self.company_name}",
                    "Message": f"Dear [Customer Name],\n\nPlease review the estimate below.\n\n"
                    f"Have a great day!\n{self.company_name}",
                },
                "SalesReceiptMessage": {
                    "Subject": f"Sales Receipt [Sales Receipt No.] from {self.company_name}",
                    "Message": "Dear [Customer Name],\n\n"
                    "Please review the sales receipt below.\n\n"
                    f"Have a great day!\n{self.company_name}",
                },
                "StatementMessage": {
                    "Subject": f"Statement from {self.company_name}",
                    "Message": f"Dear [Customer Name],\n\nYour statement is attached.\n\n"
                    f"Have a great day!\n{self.company_name}",
                },
            },
            "VendorAndPurchasesPrefs": {
                "TrackingByCustomer": True,
                "BillableExpenseTracking": True,
                "DefaultTerms": {"value": self.net30.id},
                "DefaultMarkup": 0,
            },
            "TimeTrackingPrefs": {
                "UseServices": True,
                "BillCustomers": True,
                "ShowBillRateToAll": False,
                "WorkWeekStartDate": "Monday",
                "MarkTimeEntriesBillable": True,
            },
            "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": True},
            "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}},
            "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
            "OtherPrefs": {
                "NameValue": [
                    {"Name": "SalesFormsPrefs.DefaultCustomerMessage", "Value": message},
                    {"Name": "SalesFormsPrefs.DefaultItem", "Value": first_service.id},
                    {"Name": "DTXCopyMemo", "Value": "false"},
                    {
                        "Name": "UncategorizedAssetAccountId",
                        "Value": self.acct_by_name["Uncategorized Asset"]["Id"],
                    },
                    {"Name": "UndepositedFundsAccountId", "Value": self.uf["Id"]},
                    {"Name": "ARAccountId", "Value": self.ar["Id"]},
                    {"Name": "APAccountId", "Value": self.roles["ap"][0]["Id"]},
                    {"Name": "VendorAndPurchasesPrefs.UseMultipleAPAccounts", "Value": "false"},
                ]
            },
        }
        self.envelope(obj, "1")
        updated = self.biz_time(self.start + DAY, self.now)
        obj["SyncToken"] = str(self.randint(1, 6))
        obj["MetaData"] = self.meta(self.start, updated)
        return obj
