"""Size "empty": CompanyInfo, Preferences, a small chart of accounts, two tax codes (with
their tax rates and agency) and QBO's default payment methods.

What a new QBO company starts with, for tests that build their own data: the chart holds
the accounts a write needs by default (checking, A/R, Undeposited Funds, inventory, A/P,
a credit card, income, discounts, cost of goods, supplies, opening balance equity), all
created a day before `now` (written in the company's time zone, with that instant's
offset); nothing else. The seed does not change it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Final

from qbo_adapters.emulator.books import CANONICAL_ENTITY_NAMES, classification_of
from qbo_adapters.emulator.datagen import words
from qbo_adapters.emulator.datagen.company import (
    PAYMENT_METHODS,
    GeneratedCompany,
    Obj,
    tax_agency,
    tax_code,
    tax_rate,
)

__all__ = ["EMPTY", "empty_company"]

EMPTY: Final = "empty"

#: The roles (`words.BASE_CHART`) of the accounts an empty company holds.
_ROLES: Final = frozenset(
    {
        "bank:checking",
        "ar",
        "uf",
        "inventory",
        "ap",
        "cc",
        "income:services",
        "income:products",
        "cogs",
        "expense:supplies",
        "equity:opening",
    }
)


def empty_company(*, seed: int, realm_id: str, now: datetime, zone: tzinfo) -> GeneratedCompany:
    """The empty company of `realm_id` (`now` is timezone-aware), its times written in `zone`
    with the offset of their own instant (`company_time`: `-08:00` in a Pacific winter,
    `-07:00` in summer)."""
    created = (now - timedelta(days=1)).astimezone(zone).isoformat(timespec="seconds")
    meta = {"CreateTime": created, "LastUpdatedTime": created}

    def envelope(obj: Obj, obj_id: str) -> Obj:
        obj.update(
            {
                "domain": "QBO",
                "sparse": False,
                "Id": obj_id,
                "SyncToken": "0",
                "MetaData": dict(meta),
            }
        )
        return obj

    accounts: list[Obj] = []
    for role, name, account_type, sub_type, parent in words.BASE_CHART:
        wanted = role in _ROLES or sub_type == "DiscountsRefundsGiven"
        if not wanted or parent:
            continue
        account: Obj = {
            "Name": name,
            "SubAccount": False,
            "FullyQualifiedName": name,
            "Active": True,
            "Classification": classification_of(account_type),
            "AccountType": account_type,
            "AccountSubType": sub_type,
            "CurrentBalance": 0,
            "CurrentBalanceWithSubAccounts": 0,
            "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
        }
        accounts.append(envelope(account, str(len(accounts) + 1)))
    by_sub_type = {acct["AccountSubType"]: acct["Id"] for acct in accounts}
    tax_codes = [
        envelope(tax_code(n, name), str(n))
        for n, name in enumerate(("California", "San Mateo County"), start=1)
    ]
    agencies = [envelope(tax_agency("California Department of Tax and Fee Administration"), "1")]
    tax_rates = [
        envelope(tax_rate(name, "1", rate, created), str(n))
        for n, (name, rate) in enumerate((("California", 7.25), ("San Mateo County", 2.5)), 1)
    ]
    methods = [
        envelope({"Name": name, "Active": True, "Type": kind}, str(n))
        for n, (name, kind) in enumerate(PAYMENT_METHODS, start=1)
    ]
    company_info: Obj = {
        "CompanyName": "Emulator Company",
        "LegalName": "Emulator Company LLC",
        "CompanyAddr": {"Id": "1", "Line1": "1 Main St.", "City": "Mountain View"},
        "Country": "US",
        "FiscalYearStartMonth": "January",
        "SupportedLanguages": "en",
        "DefaultTimeZone": "America/Los_Angeles",
        "NameValue": [],
    }
    preferences: Obj = {
        "SalesFormsPrefs": {"CustomTxnNumbers": False, "AllowDeposit": True},
        "VendorAndPurchasesPrefs": {},
        "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}},
        "OtherPrefs": {
            "NameValue": [
                {"Name": "UndepositedFundsAccountId", "Value": by_sub_type["UndepositedFunds"]},
                {"Name": "ARAccountId", "Value": by_sub_type["AccountsReceivable"]},
                {"Name": "APAccountId", "Value": by_sub_type["AccountsPayable"]},
            ]
        },
    }
    entities: dict[str, list[Obj]] = {name: [] for name in CANONICAL_ENTITY_NAMES}
    entities["Account"] = accounts
    entities["TaxCode"] = tax_codes
    entities["TaxRate"] = tax_rates
    entities["TaxAgency"] = agencies
    entities["PaymentMethod"] = methods
    return GeneratedCompany(
        realm_id=realm_id,
        seed=seed,
        size=None,
        now=now,
        company_info=envelope(company_info, "1"),
        preferences=envelope(preferences, "1"),
        entities=entities,
    )
