"""The company generator: determinism, sizes, consistency, and QBO's JSON shapes."""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbo_adapters.emulator import books
from qbo_adapters.emulator.datagen import (
    CANONICAL_ENTITY_NAMES,
    SIZES,
    CompanySize,
    GeneratedCompany,
    SizeName,
    generate_company,
    validate_integrity,
)
from tests.shared_fixtures import RECORDED as FIXTURES

NOW = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
REALM = "9341453123456789"
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}-0[78]:00$")
TRANSACTIONS = books.TRANSACTIONS

# Top-level keys the generator uses that the recordings happen not to show, each documented
# on the entity's page of Intuit's v3 API reference (and seen on sibling sales forms).
# Fields QBO sends today that the 2020-2022 recordings predate (`entity_extras` has their
# shapes): V4IDPseudonym, IsProject, ClientEntityId, FreeFormAddress, ShipFromAddr.
DOCUMENTED_EXTRAS: dict[str, set[str]] = {
    "Customer": {"V4IDPseudonym", "IsProject", "ClientEntityId"},
    "Vendor": {"V4IDPseudonym"},
    "Employee": {"PrimaryAddr", "PrimaryEmailAddr"},
    "Account": {"ParentRef"},
    "Invoice": {
        "SalesTermRef",
        "BillEmail",
        "CustomerMemo",
        "DeliveryInfo",
        "DepartmentRef",
        "FreeFormAddress",
    },
    "SalesReceipt": {"DepartmentRef"},
    "Estimate": {"DepartmentRef", "FreeFormAddress", "ShipFromAddr"},
}
# Same for the detail of a sales line (class tracking per line; the item's income account).
DOCUMENTED_DETAIL_EXTRAS = {"ClassRef", "ItemAccountRef"}
# And for a sales line (newer QBO answers carry `CustomExtensions: []`).
DOCUMENTED_LINE_EXTRAS = {"CustomExtensions"}


@functools.cache
def company(size: SizeName = "small", seed: int = 1, realm: str = REALM) -> GeneratedCompany:
    return generate_company(seed=seed, size=size, realm_id=realm, now=NOW)


def digest(generated: GeneratedCompany) -> str:
    return hashlib.sha256(generated.to_json().encode()).hexdigest()


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def walk(node: Any) -> Iterator[Any]:
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from walk(child)


# ---------------------------------------------------------------- determinism


def test_same_inputs_give_byte_identical_json() -> None:
    """Generating twice with the same seed, size, realm and time gives the same JSON bytes."""
    first = generate_company(seed=42, size="small", realm_id=REALM, now=NOW)
    second = generate_company(seed=42, size="small", realm_id=REALM, now=NOW)
    assert digest(first) == digest(second)


def test_medium_is_reproducible_too() -> None:
    """A medium company, regenerated, hashes the same as the first generation."""
    again = generate_company(seed=1, size="medium", realm_id=REALM, now=NOW)
    assert digest(again) == digest(company("medium"))


def test_another_seed_gives_another_company() -> None:
    """Changing only the seed changes the output."""
    assert digest(company("small", seed=1)) != digest(company("small", seed=2))


def test_another_realm_gives_another_company() -> None:
    """Two realms generated from the same seed differ."""
    assert digest(company("small", realm="1111")) != digest(company("small", realm="2222"))


# ---------------------------------------------------------------- sizes


@pytest.mark.parametrize(("size", "low", "high"), [("small", 305, 375), ("medium", 4_800, 5_800)])
def test_sizes_hit_their_targets(size: SizeName, low: int, high: int) -> None:
    """Small holds about 340 objects and medium about 5,300 (within 10%)."""
    assert low <= company(size).object_count() <= high


def test_transactions_dominate_at_medium_size() -> None:
    """In a medium company most objects are transactions."""
    counts = company("medium").counts()
    transactions = sum(counts[name] for name in TRANSACTIONS)
    assert transactions > 0.8 * sum(counts.values())


def test_every_canonical_entity_is_generated() -> None:
    """The entities mapping has exactly the canonical names, none of them empty."""
    counts = company("small").counts()
    assert tuple(counts) == CANONICAL_ENTITY_NAMES
    assert all(counts.values())


def test_custom_size_is_honoured() -> None:
    """A `CompanySize` fixes the counts of documents and name lists."""
    size = CompanySize(
        name="tiny",
        customers=4,
        vendors=2,
        employees=0,
        items=3,
        classes=0,
        departments=0,
        chart=0,
        invoices=6,
        estimates=0,
        sales_receipts=2,
        credit_memos=1,
        bills=3,
        purchases=2,
        journal_entries=0,
    )
    generated = generate_company(seed=3, size=size, realm_id=REALM, now=NOW)
    counts = generated.counts()
    assert (counts["Customer"], counts["Invoice"], counts["Bill"]) == (4, 6, 3)
    assert counts["Employee"] == counts["Class"] == counts["Estimate"] == 0
    assert validate_integrity(generated, now=NOW) == []


# ---------------------------------------------------------------- consistency


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**63), realm=st.sampled_from(["1", "4620816365"]))
def test_small_companies_are_consistent(seed: int, realm: str) -> None:
    """For any seed, a small company passes every integrity rule."""
    generated = generate_company(seed=seed, size="small", realm_id=realm, now=NOW)
    assert validate_integrity(generated, now=NOW) == []


def test_medium_company_is_consistent() -> None:
    """A medium company passes every integrity rule, including the account balances."""
    assert validate_integrity(company("medium"), now=NOW) == []


def test_validate_accepts_a_plain_mapping() -> None:
    """`validate_integrity` also takes the entities mapping an emulator store holds."""
    assert validate_integrity(company("small").entities) == []


def test_display_names_are_unique_across_people_and_companies() -> None:
    """No DisplayName repeats across customers, vendors and employees (QBO error 6240)."""
    entities = company("medium").entities
    names = [
        o["DisplayName"].casefold() for t in ("Customer", "Vendor", "Employee") for o in entities[t]
    ]
    assert len(names) == len(set(names))


def test_customer_balance_is_open_invoices_less_open_credits() -> None:
    """Each customer's Balance sums its invoices' open balances less its open credit memos."""
    entities = company("medium").entities
    owed: dict[str, float] = {}
    for etype, sign in (("Invoice", 1), ("CreditMemo", -1)):
        for doc in entities[etype]:
            key = doc["CustomerRef"]["value"]
            owed[key] = owed.get(key, 0.0) + sign * doc["Balance"]
    for customer in entities["Customer"]:
        assert customer["Balance"] == pytest.approx(owed.get(customer["Id"], 0.0), abs=0.005)


def test_invoices_are_open_partly_paid_and_paid() -> None:
    """A medium company has open, partially paid and fully paid invoices."""
    invoices = company("medium").entities["Invoice"]
    states = {
        "open": sum(1 for i in invoices if i["Balance"] == i["TotalAmt"]),
        "partial": sum(1 for i in invoices if 0 < i["Balance"] < i["TotalAmt"]),
        "paid": sum(1 for i in invoices if i["Balance"] == 0),
    }
    assert states["paid"] > states["open"] > 0
    assert states["partial"] > 0


def test_payments_link_invoices_of_their_own_customer() -> None:
    """Every payment line links an invoice or credit memo of the paying customer."""
    entities = company("medium").entities
    owners = {
        (etype, doc["Id"]): doc["CustomerRef"]["value"]
        for etype in ("Invoice", "CreditMemo")
        for doc in entities[etype]
    }
    for payment in entities["Payment"]:
        for line in payment["Line"]:
            link = line["LinkedTxn"][0]
            assert owners[(link["TxnType"], link["TxnId"])] == payment["CustomerRef"]["value"]


def test_journal_entries_balance() -> None:
    """Each journal entry's debits equal its credits."""
    for entry in company("medium").entities["JournalEntry"]:
        sides = {"Debit": 0, "Credit": 0}
        for line in entry["Line"]:
            sides[line["JournalEntryLineDetail"]["PostingType"]] += round(line["Amount"] * 100)
        assert sides["Debit"] == sides["Credit"]


def test_no_sub_object_is_shared() -> None:
    """No dict or list appears twice in the output, so a store can mutate objects safely."""
    generated = company("small")
    seen: set[int] = set()
    for node in walk([generated.entities, generated.company_info, generated.preferences]):
        if isinstance(node, (dict, list)):
            assert id(node) not in seen
            seen.add(id(node))


# ---------------------------------------------------------------- wire shape


def test_every_object_has_the_qbo_envelope() -> None:
    """Each object has a numeric string Id and SyncToken, domain QBO, sparse false, MetaData."""
    for objs in company("small").entities.values():
        for obj in objs:
            assert obj["Id"].isdigit()
            assert obj["SyncToken"].isdigit()
            assert obj["domain"] == "QBO"
            assert obj["sparse"] is False
            assert TIME_RE.match(obj["MetaData"]["CreateTime"])
            assert TIME_RE.match(obj["MetaData"]["LastUpdatedTime"])


def test_times_lie_in_the_two_years_before_now() -> None:
    """MetaData times fall within the 731 days before `now`, never after it."""
    earliest = NOW - timedelta(days=731)
    for objs in company("medium").entities.values():
        for obj in objs:
            for key in ("CreateTime", "LastUpdatedTime"):
                moment = datetime.fromisoformat(obj["MetaData"][key])
                assert earliest <= moment <= NOW


def test_transaction_dates_follow_create_time() -> None:
    """A transaction's TxnDate is the local date of its CreateTime."""
    for etype in TRANSACTIONS:
        for obj in company("small").entities[etype]:
            assert obj["TxnDate"] == obj["MetaData"]["CreateTime"][:10]


def test_times_carry_the_offset_of_their_instant_in_the_companys_zone() -> None:
    """Times are written in the requested zone with each instant's own offset (daylight
    saving included), convert back to moments before `now`, and both offsets occur."""
    zone = ZoneInfo("America/New_York")
    generated = generate_company(
        seed=5, size="small", realm_id=REALM, now=NOW, time_zone="America/New_York"
    )
    created = [o["MetaData"]["CreateTime"] for o in generated.entities["Invoice"]]
    moments = [datetime.fromisoformat(text) for text in created]
    assert max(moments) <= NOW
    for moment in moments:
        assert moment.utcoffset() == moment.astimezone(zone).utcoffset()
    assert {text[-6:] for text in created} == {"-05:00", "-04:00"}


def test_money_is_numbers_and_refs_are_strings() -> None:
    """TotalAmt and Balance are JSON numbers; ref values and TxnIds are strings."""
    for etype in ("Invoice", "Bill", "Payment"):
        for obj in company("small").entities[etype]:
            assert json_type(obj["TotalAmt"]) == "number"
            for node in walk(obj):
                if not isinstance(node, dict):
                    continue
                for key, value in node.items():
                    if key.endswith("Ref"):
                        assert isinstance(value["value"], str)
                if "TxnId" in node:
                    assert isinstance(node["TxnId"], str)
                    assert node["TxnId"].isdigit()


def test_company_info_and_preferences_look_like_qbo() -> None:
    """CompanyInfo has Id "1", names, addresses and a US country; Preferences has its groups."""
    generated = company("small")
    info = generated.company_info
    assert info["Id"] == "1"
    assert info["Country"] == "US"
    assert info["domain"] == "QBO"
    for key in ("CompanyName", "LegalName", "CompanyAddr", "FiscalYearStartMonth", "NameValue"):
        assert key in info
    prefs = generated.preferences
    for key in ("AccountingInfoPrefs", "SalesFormsPrefs", "CurrencyPrefs", "OtherPrefs"):
        assert key in prefs
    term_ids = {t["Id"] for t in generated.entities["Term"]}
    assert prefs["SalesFormsPrefs"]["DefaultTerms"]["value"] in term_ids


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": "huge"}, "unknown size"),
        ({"now": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"time_zone": "Pacific/Atlantis"}, "time zone"),
        ({"realm_id": ""}, "realm_id"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, Any], message: str) -> None:
    """An unknown size, a naive `now`, an unknown zone or an empty realm raise ValueError."""
    arguments: dict[str, Any] = {"seed": 1, "size": "small", "realm_id": REALM, "now": NOW}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        generate_company(**arguments)


# ---------------------------------------------------------------- the validator notices


def _first(
    entities: dict[str, list[dict[str, Any]]], etype: str, test: Callable[[Any], bool]
) -> Any:
    return next(obj for obj in entities[etype] if test(obj))


def _paid_invoice(e: dict[str, list[dict[str, Any]]]) -> None:
    _first(e, "Invoice", lambda o: o["Balance"] == 0)["Balance"] = 1.0


def _clash_names(e: dict[str, list[dict[str, Any]]]) -> None:
    e["Vendor"][0]["DisplayName"] = e["Customer"][0]["DisplayName"].upper()


def _unbalance_entry(e: dict[str, list[dict[str, Any]]]) -> None:
    e["JournalEntry"][0]["Line"][0]["Amount"] += 1


def _dangling_customer(e: dict[str, list[dict[str, Any]]]) -> None:
    e["Invoice"][0]["CustomerRef"]["value"] = "999999"


def _bad_line(e: dict[str, list[dict[str, Any]]]) -> None:
    e["Invoice"][0]["Line"][0]["SalesItemLineDetail"]["Qty"] += 1


def _bank_balance(e: dict[str, list[dict[str, Any]]]) -> None:
    _first(e, "Account", lambda o: o["AccountType"] == "Bank")["CurrentBalance"] += 10


def _late_date(e: dict[str, list[dict[str, Any]]]) -> None:
    e["Bill"][0]["TxnDate"] = "2030-01-01"


def _stale_ref_name(e: dict[str, list[dict[str, Any]]]) -> None:
    e["Bill"][0]["VendorRef"]["name"] = "Somebody Else"


def _unlinked_payment(e: dict[str, list[dict[str, Any]]]) -> None:
    _first(e, "Invoice", lambda o: o["LinkedTxn"])["LinkedTxn"] = []


def _double_deposit(e: dict[str, list[dict[str, Any]]]) -> None:
    deposit = _first(e, "Deposit", lambda o: "LinkedTxn" in o["Line"][0])
    deposit["Line"].append(copy.deepcopy(deposit["Line"][0]))
    deposit["TotalAmt"] = round(deposit["TotalAmt"] + deposit["Line"][0]["Amount"], 2)


def _duplicate_id(e: dict[str, list[dict[str, Any]]]) -> None:
    e["Item"][1]["Id"] = e["Item"][0]["Id"]


@pytest.mark.parametrize(
    ("corrupt", "expected"),
    [
        (_paid_invoice, "Balance"),
        (_clash_names, "6240"),
        (_unbalance_entry, "debits"),
        (_dangling_customer, "missing Customer"),
        (_bad_line, "Qty x UnitPrice"),
        (_bank_balance, "CurrentBalance"),
        (_late_date, "after its CreateTime"),
        (_stale_ref_name, "name 'Somebody Else'"),
        (_unlinked_payment, "LinkedTxn does not list"),
        (_double_deposit, "deposited twice"),
        (_duplicate_id, "duplicate Id"),
    ],
)
def test_validator_reports_each_kind_of_corruption(
    corrupt: Callable[[dict[str, list[dict[str, Any]]]], None], expected: str
) -> None:
    """Breaking one rule on a consistent company makes `validate_integrity` name it."""
    entities = copy.deepcopy(company("small").entities)
    corrupt(entities)
    problems = validate_integrity(entities, now=NOW)
    assert any(expected in problem for problem in problems), problems


def test_validator_reports_times_after_now() -> None:
    """Given `now`, a MetaData time later than it is a problem."""
    problems = validate_integrity(company("small"), now=NOW - timedelta(days=30))
    assert any("after now" in problem for problem in problems)


# ---------------------------------------------------------------- recorded shapes


def _recorded() -> dict[str, list[dict[str, Any]]]:
    if not FIXTURES.is_dir():
        pytest.skip(f"recorded QBO traffic not found at {FIXTURES}")
    return _load_recorded()


@functools.cache
def _load_recorded() -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                values = value if isinstance(value, list) else [value]
                for item in values:
                    if (
                        key in CANONICAL_ENTITY_NAMES
                        and isinstance(item, dict)
                        and "MetaData" in item
                        and "status" not in item
                    ):
                        found.setdefault(key, []).append(item)
                collect(value)
        elif isinstance(node, list):
            for item in node:
                collect(item)

    for path in sorted(FIXTURES.rglob("*.json")):
        for interaction in json.loads(path.read_text())["interactions"]:
            try:
                collect(json.loads(interaction["response"]["body"]))
            except (ValueError, TypeError):
                continue
    return found


RECORDED_TYPES = (
    "Customer",
    "Vendor",
    "Employee",
    "Account",
    "Invoice",
    "SalesReceipt",
    "Estimate",
)


@pytest.mark.fixtures
@pytest.mark.parametrize("etype", RECORDED_TYPES)
def test_top_level_keys_and_types_match_recorded_qbo(etype: str) -> None:
    """Generated objects use only keys QBO sends for the type, with the JSON types QBO uses."""
    recorded = _recorded()[etype]
    known: dict[str, set[str]] = {}
    for obj in recorded:
        for key, value in obj.items():
            known.setdefault(key, set()).add(json_type(value))
    allowed = set(known) | DOCUMENTED_EXTRAS.get(etype, set())
    for obj in company("medium").entities[etype]:
        assert set(obj) <= allowed, sorted(set(obj) - allowed)
        for key, value in obj.items():
            if key in known:
                assert json_type(value) in known[key], (key, value)


@pytest.mark.fixtures
@pytest.mark.parametrize("etype", ["Invoice", "SalesReceipt", "Estimate"])
def test_sales_lines_match_recorded_lines(etype: str) -> None:
    """Sales-form lines and their item details use the keys and types of recorded lines.

    Invoices, sales receipts and estimates share QBO's `Line` type, so their recorded lines are
    pooled.
    """
    recorded = _recorded()
    lines = [
        line
        for t in ("Invoice", "SalesReceipt", "Estimate")
        for o in recorded[t]
        for line in o["Line"]
    ]
    line_keys = {key for line in lines for key in line}
    detail_types: dict[str, set[str]] = {}
    for line in lines:
        for key, value in line.get("SalesItemLineDetail", {}).items():
            detail_types.setdefault(key, set()).add(json_type(value))
    for obj in company("medium").entities[etype]:
        for line in obj["Line"]:
            assert set(line) <= line_keys | DOCUMENTED_LINE_EXTRAS
            detail = line.get("SalesItemLineDetail", {})
            assert set(detail) <= set(detail_types) | DOCUMENTED_DETAIL_EXTRAS
            for key, value in detail.items():
                if key in detail_types:
                    assert json_type(value) in detail_types[key]


@pytest.mark.fixtures
def test_metadata_times_are_formatted_like_recorded_ones() -> None:
    """Generated MetaData times have the recorded format: seconds, no milliseconds, an offset."""
    pattern = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
    recorded = _recorded()["Customer"][0]["MetaData"]["CreateTime"]
    assert pattern.match(recorded)
    assert pattern.match(company("small").entities["Customer"][0]["MetaData"]["CreateTime"])


def test_sizes_table_names_the_three_presets() -> None:
    """The presets are small, medium and large, each growing in every document count."""
    assert list(SIZES) == ["small", "medium", "large"]
    small, medium, large = SIZES.values()
    assert small.invoices < medium.invoices < large.invoices
    assert small.customers < medium.customers < large.customers
