"""The emulator's query evaluation: matching, ordering, paging and QBO's response shape."""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbo_adapters.emulator.query import (
    OrderKey,
    QueryFault,
    default_order_for,
    execute,
    hides_inactive,
    parse,
    quote,
    to_response,
)
from tests.shared_fixtures import RECORDED

Entity = dict[str, Any]


def run(text: str, entities: Sequence[Mapping[str, Any]], **options: Any) -> list[str]:
    """The Ids `text` returns from `entities`, in order."""
    return [str(item["Id"]) for item in execute(parse(text), entities, **options).items]


def where(condition: str, entities: Sequence[Mapping[str, Any]]) -> list[str]:
    """The Ids matching one WHERE condition, by Id."""
    return run(f"SELECT * FROM Thing WHERE {condition} MAXRESULTS 1000", entities)


def fault_of(text: str, entities: Sequence[Mapping[str, Any]], **options: Any) -> QueryFault:
    with pytest.raises(QueryFault) as caught:
        execute(parse(text), entities, **options)
    return caught.value


# --------------------------------------------------------------------------- recorded

# Entity name as QBO writes it → (file holding every such entity QBO listed, interaction).
SOURCES = {
    "Customer": ("all/customers.json", 1),
    "Vendor": ("get/inactive_vendors.json", 0),
    "Employee": ("all/employees_including_active.json", 1),
    "SalesReceipt": ("all/sales_receipts.json", 0),
}


@pytest.fixture
def recorded() -> Path:
    if not RECORDED.is_dir():
        pytest.skip(f"recorded QBO traffic not found at {RECORDED} (../shared is absent)")
    return RECORDED


def recorded_exchanges(root: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """(file, query, QueryResponse) for every query QBO answered in the recordings."""
    found = []
    for pattern in ("all/*.json", "get/*.json", "misc/ampersand.json", "batch/basic.json"):
        for path in sorted(root.glob(pattern)):
            name = path.relative_to(root).as_posix()
            for interaction in json.loads(path.read_text())["interactions"]:
                request, body = interaction["request"], json.loads(interaction["response"]["body"])
                for text in parse_qs(urlsplit(request["uri"]).query).get("query", []):
                    found.append((name, text, body["QueryResponse"]))
                if "BatchItemRequest" in (request["body"] or ""):
                    items = json.loads(request["body"])["BatchItemRequest"]
                    answers = {answer["bId"]: answer for answer in body["BatchItemResponse"]}
                    for item in items:
                        if "Query" in item:
                            found.append(
                                (name, item["Query"], answers[item["bId"]]["QueryResponse"])
                            )
    return found


def recorded_entities(root: Path, entity: str) -> list[Entity]:
    name, index = SOURCES[entity]
    interaction = json.loads((root / name).read_text())["interactions"][index]
    entities: list[Entity] = json.loads(interaction["response"]["body"])["QueryResponse"][entity]
    return entities


def replay(root: Path, text: str) -> dict[str, Any]:
    """The emulator's QueryResponse for `text` over the recorded entities of its type."""
    query = parse(text)
    entity = next(name for name in SOURCES if name.lower() == query.entity.lower())
    result = execute(
        query,
        recorded_entities(root, entity),
        default_order=default_order_for(entity),
        hide_inactive=hides_inactive(entity),
    )
    return to_response(query, result, entity)


def ids_and_paging(response: Mapping[str, Any]) -> dict[str, Any]:
    """A QueryResponse reduced to its keys, the Ids it lists, and its paging numbers."""
    return {
        key: [item["Id"] for item in value] if isinstance(value, list) else value
        for key, value in response.items()
    }


@pytest.mark.fixtures
def test_recorded_queries_replay_as_qbo_answered(recorded: Path) -> None:
    """Every recorded query, run over the recorded entities, lists QBO's Ids in QBO's order
    with QBO's keys, startPosition, maxResults and totalCount (default orders and the
    hidden inactive vendor included)."""
    exchanges = recorded_exchanges(recorded)
    assert len(exchanges) >= 15
    for name, text, answer in exchanges:
        assert ids_and_paging(replay(recorded, text)) == ids_and_paging(answer), (name, text)


@pytest.mark.fixtures
def test_recorded_full_listing_is_reproduced_exactly(recorded: Path) -> None:
    """`SELECT * FROM Customer MAXRESULTS 1000` gives back QBO's recorded response, byte for
    byte once decoded."""
    body = json.loads(
        json.loads((recorded / "all/customers.json").read_text())["interactions"][1]["response"][
            "body"
        ]
    )
    assert (
        replay(recorded, "SELECT * FROM Customer MAXRESULTS 1000 STARTPOSITION 1")
        == body["QueryResponse"]
    )


@pytest.mark.fixtures
def test_recorded_vendors_sort_case_sensitively(recorded: Path) -> None:
    """Vendors come back "PG&E" before "Pam Seitz", the code-point order QBO used."""
    names = [
        item["DisplayName"]
        for item in execute(
            parse("SELECT * FROM Vendor WHERE Active IN (true, false) MAXRESULTS 1000"),
            recorded_entities(recorded, "Vendor"),
            default_order=default_order_for("Vendor"),
        ).items
    ]
    assert names.index("PG&E") + 1 == names.index("Pam Seitz")


# --------------------------------------------------------------------------- response shape


PEOPLE: list[Entity] = [
    {"Id": "3", "DisplayName": "Cara", "Balance": 5, "Active": True},
    {"Id": "10", "DisplayName": "Abe", "Balance": 12.5, "Active": False},
    {"Id": "9", "DisplayName": "Bea", "Balance": 0, "Active": True},
]


def test_page_response_shape() -> None:
    """A page is `{entity: [...], "startPosition": n, "maxResults": <count returned>}`."""
    query = parse("SELECT * FROM Customer STARTPOSITION 2 MAXRESULTS 5")
    assert to_response(query, execute(query, PEOPLE), "Customer") == {
        "Customer": [PEOPLE[2], PEOPLE[1]],
        "startPosition": 2,
        "maxResults": 2,
    }


def test_empty_page_is_an_empty_object() -> None:
    """A page past the last match, or with no match, is `{}`."""
    for text in ("SELECT * FROM Customer STARTPOSITION 4", "SELECT * FROM Customer WHERE Id = '7'"):
        query = parse(text)
        assert to_response(query, execute(query, PEOPLE), "Customer") == {}


def test_count_response_ignores_paging() -> None:
    """COUNT(*) answers `{"totalCount": n}` with every match, whatever the paging."""
    query = parse("SELECT COUNT(*) FROM Customer WHERE Balance >= 0 STARTPOSITION 3 MAXRESULTS 1")
    result = execute(query, PEOPLE)
    assert (result.total, result.items) == (3, ())
    assert to_response(query, result, "Customer") == {"totalCount": 3}


def test_total_counts_matches_before_paging() -> None:
    """`total` is every match while `items` is only the requested page."""
    result = execute(parse("SELECT * FROM Customer MAXRESULTS 1"), PEOPLE)
    assert (result.total, len(result.items)) == (3, 1)


def test_items_are_the_callers_mappings() -> None:
    """SELECT * hands back the stored mappings themselves, not copies."""
    result = execute(parse("SELECT * FROM Customer WHERE Id = '3'"), PEOPLE)
    assert result.items[0] is PEOPLE[0]


def test_projection_keeps_named_fields_in_entity_order_and_marks_sparse() -> None:
    """A property list returns only those properties, in the entity's order, plus sparse."""
    entity = {
        "Id": "4",
        "SyncToken": "0",
        "MetaData": {"CreateTime": "2020-01-01T00:00:00-08:00", "LastUpdatedTime": "x"},
        "DisplayName": "Dee",
        "Tags": [{"value": "1"}],
    }
    result = execute(
        parse("SELECT displayname, Metadata.createtime, Id, Tags.value, Nope FROM Customer"),
        [entity],
    )
    assert result.items == (
        {
            "Id": "4",
            "MetaData": {"CreateTime": "2020-01-01T00:00:00-08:00"},
            "DisplayName": "Dee",
            "Tags": [{"value": "1"}],
            "sparse": True,
        },
    )
    assert list(result.items[0]) == ["Id", "MetaData", "DisplayName", "Tags", "sparse"]


# --------------------------------------------------------------------------- matching

THINGS: list[Entity] = [
    {"Id": "1", "Name": "Amy's Bird", "Balance": 639.0, "Active": True, "Code": "1008"},
    {"Id": "2", "Name": "AMY'S BIRD", "Balance": 100, "Active": False, "Code": "999"},
    {"Id": "3", "Name": "bill", "Balance": "100.00", "Active": True, "Code": "A12"},
    {"Id": "4", "Name": None, "Active": True},
    {"Id": "5", "Name": " ", "Balance": Decimal("0.1"), "Active": True},
]


@pytest.mark.parametrize(
    ("condition", "ids"),
    [
        ("Name = 'amy\\'s bird'", ["1", "2"]),
        ("name != 'Amy\\'s Bird'", ["3", "5"]),
        ("Name < 'B'", ["1", "2", "5"]),
        ("Name >= 'b'", ["3"]),
        ("Balance > '100'", ["1"]),
        ("Balance >= 100", ["1", "2", "3"]),
        ("Balance = 100.0", ["2", "3"]),
        ("Balance < 0.2", ["5"]),
        ("Balance = '0.1'", ["5"]),
        ("Active = true", ["1", "3", "4", "5"]),
        ("Active = 'FALSE'", ["2"]),
        ("Active != true", ["2"]),
        ("Active IN (true, false)", ["1", "2", "3", "4", "5"]),
        ("Code > '1000'", ["1", "3"]),
        ("Code = 1008.00", ["1"]),
        ("Code < 1000", ["2"]),
        ("Code IN ('a12', '999', 'x')", ["2", "3"]),
        ("Code IN (1008, 'A12', 7, 8)", ["1", "3"]),
        ("Missing = 'x'", []),
        ("Missing != 'x'", []),
    ],
)
def test_comparison_rules(condition: str, ids: list[str]) -> None:
    """Strings compare case-insensitively, numbers numerically (quoted or stored as text,
    other text against a number as text), booleans as booleans; a missing or null property
    never matches."""
    assert where(condition, THINGS) == ids


@pytest.mark.parametrize(
    ("condition", "ids"),
    [
        ("Name = ' '", ["4", "5", "6"]),
        ("Name != ' '", ["1", "2", "3"]),
        ("Name IN (' ', 'bill')", ["3", "4", "5", "6"]),
        ("Balance = ' '", ["4", "6"]),
        ("Balance != ' '", ["1", "2", "3", "5"]),
    ],
)
def test_null_literal_matches_missing_null_and_blank(condition: str, ids: list[str]) -> None:
    """`= ' '` matches a missing, null or blank property and `!= ' '` a present one."""
    assert where(condition, [*THINGS, {"Id": "6"}]) == ids


@pytest.mark.parametrize(
    ("pattern", "ids"),
    [
        ("amy%", ["1", "2"]),
        ("%BIRD", ["1", "2"]),
        ("%y's%", ["1", "2"]),
        ("a%s%d", ["1", "2"]),
        ("bill", ["3"]),
        ("b_ll", []),
        ("%", ["1", "2", "3", "5", "6", "7"]),
        ("%.%", ["6"]),
        ("[a]%", ["7"]),
        ("%1008%", ["1"]),
    ],
)
def test_like_wildcard_is_percent_only(pattern: str, ids: list[str]) -> None:
    """LIKE treats `%` as any run of characters and every other character (`_`, `.`, `[`)
    literally, case-insensitively."""
    extra: list[Entity] = [{"Id": "6", "Name": "a.b"}, {"Id": "7", "Name": "[A]ny"}]
    things = [*THINGS, *extra]
    field = "Code" if pattern == "%1008%" else "Name"
    assert where(f"{field} LIKE {quote(pattern)}", things) == ids


def test_like_matches_numbers_and_booleans_as_json_text() -> None:
    """A stored number or boolean is matched by LIKE in its JSON text form."""
    assert where("Balance LIKE '639%'", THINGS) == ["1"]
    assert where("Active LIKE 'fal%'", THINGS) == ["2"]


REFS: list[Entity] = [
    {"Id": "1", "CustomerRef": {"value": "3", "name": "Amy"}},
    {"Id": "2", "CustomerRef": {"value": "12", "name": "Bo"}},
    {"Id": "3", "customerref": {"Value": "3"}},
    {"Id": "4"},
]


@pytest.mark.parametrize(
    ("condition", "ids"),
    [
        ("CustomerRef = '3'", ["1", "3"]),
        ("CustomerRef IN ('12', '3')", ["1", "2", "3"]),
        ("CustomerRef > '4'", ["2"]),
        ("CustomerRef != 3", ["2"]),
    ],
)
def test_reference_compares_its_value(condition: str, ids: list[str]) -> None:
    """A reference property compares by its `value`, whatever the key spelling."""
    assert where(condition, REFS) == ids


def test_path_through_a_list_matches_any_element() -> None:
    """`AttachableRef.EntityRef.Type` matches when any list element's type matches."""
    attachables: list[Entity] = [
        {"Id": "1", "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": "95"}}]},
        {
            "Id": "2",
            "AttachableRef": [
                {"EntityRef": {"type": "Bill", "value": "7"}},
                {"EntityRef": {"type": "purchase", "value": "611"}},
            ],
        },
        {"Id": "3", "AttachableRef": []},
    ]
    assert where("AttachableRef.EntityRef.Type = 'Purchase'", attachables) == ["2"]
    assert where("AttachableRef.EntityRef IN ('95', '611')", attachables) == ["1", "2"]
    assert where("AttachableRef.EntityRef.Type = ' '", attachables) == ["3"]


def test_property_names_match_case_insensitively_at_every_level() -> None:
    """`metadata.LASTUPDATEDTIME` reads `MetaData.LastUpdatedTime`, spelt any way per row."""
    rows = [
        {"Id": "1", "MetaData": {"LastUpdatedTime": "2020-09-29T05:58:16-07:00"}},
        {"Id": "2", "metadata": {"lastupdatedtime": "2020-09-30T05:58:16-07:00"}},
    ]
    assert where("metadata.LASTUPDATEDTIME > '2020-09-29T06:00:00-07:00'", rows) == ["2"]


def test_entities_may_be_any_mapping() -> None:
    """Read-only mappings work the same as dicts."""
    rows = [MappingProxyType({"Id": "1", "Info": MappingProxyType({"Kind": "x"})})]
    assert where("Info.Kind = 'X'", rows) == ["1"]


TIMES: list[Entity] = [
    {"Id": "1", "When": "2020-09-28T23:59:59-07:00", "Day": "2020-09-28"},
    {"Id": "2", "When": "2020-09-29T00:00:00-07:00", "Day": "2020-09-29"},
    {"Id": "3", "When": "2020-09-29T23:30:00-07:00", "Day": "2020-09-30"},
    {"Id": "4", "When": "2020-09-30T06:00:00Z", "Day": "2021-01-01"},
    {"Id": "5", "When": "2020-09-29T12:00:00.123-07:00", "Day": "not a date"},
]


@pytest.mark.parametrize(
    ("condition", "ids"),
    [
        ("When >= '2020-09-29'", ["2", "3", "4", "5"]),
        ("When = '2020-09-29'", ["2", "3", "5"]),
        ("When < '2020-09-29'", ["1"]),
        ("When > '2020-09-30T06:00:00+00:00'", ["3"]),
        ("When >= '2020-09-30T06:00:00+00:00'", ["3", "4"]),
        ("When = '2020-09-29T07:00:00Z'", ["2"]),
        ("When > '2020-09-29T12:00:00-07:00'", ["3", "4", "5"]),
        ("When < '2020-09-29T00:00:01'", ["1", "2"]),
        ("Day > '2020-09-29T10:00:00-07:00'", ["3", "4", "5"]),
        ("Day <= '2020-09-30'", ["1", "2", "3"]),
        ("Day = CURRENT_DATE", ["3"]),
        ("When IN ('2020-09-28', '2020-09-30T06:00:00Z', '2020-12-25')", ["1", "4"]),
    ],
)
def test_time_comparisons(condition: str, ids: list[str]) -> None:
    """Datetimes compare as instants; a date against a datetime compares the datetime's own
    calendar date; a datetime without offset compares wall clocks; CURRENT_DATE is today;
    a stored non-time compares as text."""
    result = execute(
        parse(f"SELECT * FROM Thing WHERE {condition}"), TIMES, today=dt.date(2020, 9, 30)
    )
    assert [item["Id"] for item in result.items] == ids


ALIKE: list[Entity] = [
    {"Id": str(n), "When": f"2020-09-{day:02d}T{hour:02d}:{minute:02d}:00-07:00"}
    for n, (day, hour, minute) in enumerate(
        [(28, 23, 59), (29, 0, 0), (29, 10, 30), (29, 23, 30), (30, 0, 0), (30, 6, 15)], 1
    )
]
ODD: Entity = {"Id": "99", "When": "2020-09-29T17:30:00.5Z"}


@pytest.mark.parametrize(
    "condition",
    [
        "When >= '2020-09-29'",
        "When = '2020-09-29'",
        "When < '2020-09-30'",
        "When > '2020-09-29T10:30:00-07:00'",
        "When <= '2020-09-29T10:30:00-07:00'",
        "When = '2020-09-29T17:30:00Z'",
        "When > '2020-09-29T17:30:00+00:00'",
        "When < '2020-09-30T12:45+05:30'",
        "When >= '2020-09-29T10:30+05:30'",
        "When != '2020-09-29T10:30:00'",
    ],
)
def test_time_columns_laid_out_alike_match_as_any_other(condition: str) -> None:
    """A column of identically laid out times (compared as text in C) matches exactly as
    the same times do in a mixed column (compared value by value as instants)."""
    alike = where(condition, ALIKE)
    mixed = [n for n in where(condition, [*ALIKE, ODD]) if n != "99"]
    assert alike == mixed


@pytest.mark.parametrize("direction", ["", "DESC"])
def test_time_columns_laid_out_alike_sort_as_any_other(direction: str) -> None:
    """Identically laid out times sort as text exactly as mixed ones sort as instants."""
    shuffled = [ALIKE[index] for index in (3, 0, 5, 1, 4, 2)]
    alike = run(f"SELECT * FROM Thing ORDERBY When {direction}", shuffled)
    mixed = run(f"SELECT * FROM Thing ORDERBY When {direction}", [*shuffled, ODD])
    assert alike == [n for n in mixed if n != "99"]
    assert alike == (
        ["1", "2", "3", "4", "5", "6"] if not direction else ["6", "5", "4", "3", "2", "1"]
    )


def test_same_layout_with_different_offsets_compares_instants() -> None:
    """Times laid out alike but with different offsets still compare and sort as instants."""
    rows = [
        {"Id": "1", "When": "2020-09-29T10:00:00-07:00"},  # 17:00Z
        {"Id": "2", "When": "2020-09-29T09:30:00-08:00"},  # 17:30Z
        {"Id": "3", "When": "2020-09-29T22:00:00+05:30"},  # 16:30Z
    ]
    assert run("SELECT * FROM Thing ORDERBY When", rows) == ["3", "1", "2"]
    assert where("When > '2020-09-29T10:00:00-07:00'", rows) == ["2"]


def test_date_column_against_datetime_literal() -> None:
    """A column of dates compares with a datetime literal by the literal's own date."""
    days = [{"Id": str(n), "TxnDate": f"2020-09-{27 + n}"} for n in range(1, 4)]
    assert where("TxnDate >= '2020-09-29T23:00:00-07:00'", days) == ["2", "3"]
    assert where("TxnDate = '2020-09-30T01:00:00+09:00'", days) == ["3"]


def test_current_date_without_today_is_a_caller_error() -> None:
    """A query using CURRENT_DATE needs `today`; without it execute raises ValueError."""
    with pytest.raises(ValueError, match="CURRENT_DATE"):
        execute(parse("SELECT * FROM Invoice WHERE TxnDate < CURRENT_DATE"), TIMES)


def test_long_ids_compare_exactly() -> None:
    """18-digit Ids compare digit for digit, not as rounded floats."""
    rows = [{"Id": "100000000004062174"}, {"Id": "100000000004062175"}]
    assert where("Id = '100000000004062175'", rows) == ["100000000004062175"]
    assert where("Id IN ('100000000004062174', '1', '2')", rows) == ["100000000004062174"]


def test_conditions_are_anded() -> None:
    """Every condition must hold."""
    assert where("Active = true AND Name LIKE '%i%' AND Balance > 1", THINGS) == ["1", "3"]


# --------------------------------------------------------------------------- 4001 / 4002


def test_unknown_property_is_4001_naming_it_and_the_entity() -> None:
    """With known_fields, an unknown WHERE property is QBO's 4001 "not found for Entity"."""
    fault = fault_of(
        "SELECT * FROM purchase WHERE NoSuchField = '1'",
        THINGS,
        known_fields=["Id", "Name"],
        entity_name="Purchase",
    )
    assert (fault.code, fault.message, fault.detail) == (
        "4001",
        "Invalid query",
        "QueryValidationError: Property NoSuchField not found for Entity Purchase",
    )


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM Customer ORDERBY Nope",
        "SELECT Id, Nope FROM Customer",
        "SELECT * FROM Customer WHERE MetaDataX.CreateTime = '1'",
    ],
)
def test_unknown_property_anywhere_is_4001(text: str) -> None:
    """Unknown properties in the select list, WHERE and ORDERBY are all 4001."""
    fault = fault_of(text, THINGS, known_fields=["Id", "MetaData"])
    assert fault.code == "4001"
    assert "not found for Entity Customer" in fault.detail


def test_known_fields_admit_nested_paths_and_any_case() -> None:
    """A known name admits itself in any case and every dotted path below it."""
    rows = [{"Id": "1", "MetaData": {"CreateTime": "2020-01-01"}}]
    text = "SELECT * FROM Thing WHERE metadata.CreateTime = '2020-01-01' ORDERBY ID"
    assert run(text, rows, known_fields=["Id", "MetaData"]) == ["1"]
    assert run(text, rows, known_fields=["id", "MetaData.CreateTime"]) == ["1"]


def test_object_that_is_not_a_reference_is_not_queryable() -> None:
    """Comparing an object without `value` (an address) is QBO's 4001 "not queryable"."""
    rows = [{"Id": "1", "BillAddr": {"City": "Tucson"}}]
    for text in (
        "SELECT * FROM Customer WHERE BillAddr = 'Tucson'",
        "SELECT * FROM Customer ORDERBY BillAddr",
    ):
        fault = fault_of(text, rows)
        assert (fault.code, fault.detail) == (
            "4001",
            "QueryValidationError: property 'BillAddr' is not queryable",
        )


@pytest.mark.parametrize(
    ("condition", "kind"),
    [
        ("Balance > 'abc'", "number"),
        ("Balance = true", "number"),
        ("Active = 'yes'", "boolean"),
        ("Active = 1", "boolean"),
    ],
)
def test_uncomparable_literal_is_4002(condition: str, kind: str) -> None:
    """A literal that cannot be read as the stored number or boolean is 4002."""
    fault = fault_of(f"SELECT * FROM Customer WHERE {condition}", THINGS[:1])
    assert (fault.code, fault.message) == ("4002", "Error processing query")
    assert fault.detail.startswith(f"QueryProcessingError: cannot compare {kind} property")


def test_4002_only_from_values_earlier_conditions_kept() -> None:
    """Conditions run in order, so a row already filtered out cannot cause a 4002."""
    rows: list[Entity] = [
        {"Id": "1", "Kind": "text", "Size": "big"},
        {"Id": "2", "Kind": "num", "Size": 5},
    ]
    assert where("Kind = 'text' AND Size = 'big'", rows) == ["1"]


# --------------------------------------------------------------------------- ordering


ORDERED: list[Entity] = [
    {"Id": "10", "Name": "b", "Score": 2, "When": "2020-01-01T10:00:00-07:00"},
    {"Id": "9", "Name": "B", "Score": None, "When": "2020-01-01T16:00:00Z"},
    {"Id": "100", "Name": "a", "Score": 2, "When": "2020-01-01T08:00:00-08:00"},
    {"Id": "2", "Score": 1, "When": "2019-12-31T23:00:00-08:00"},
]


@pytest.mark.parametrize(
    ("order", "ids"),
    [
        ("", ["2", "9", "10", "100"]),
        ("ORDERBY Id DESC", ["100", "10", "9", "2"]),
        ("ORDERBY Name", ["2", "9", "100", "10"]),
        ("ORDERBY Name DESC", ["10", "100", "9", "2"]),
        ("ORDERBY Score", ["9", "2", "10", "100"]),
        ("ORDERBY Score DESC", ["10", "100", "2", "9"]),
        ("ORDERBY Score DESC, Name", ["100", "10", "2", "9"]),
        ("ORDER BY Score, Id DESC", ["9", "2", "100", "10"]),
        ("ORDERBY When", ["2", "9", "100", "10"]),
        ("ORDERBY when DESC", ["10", "9", "100", "2"]),
    ],
)
def test_orderby_rules(order: str, ids: list[str]) -> None:
    """Keys apply in turn; missing sorts first ascending and last descending; Ids sort as
    numbers, times as instants, text by code point; ties keep input order."""
    assert run(f"SELECT * FROM Thing {order}", ORDERED) == ids


def test_ties_keep_input_order() -> None:
    """Entities with equal keys come out in the order they came in, both directions."""
    rows = [{"Id": str(n), "Group": n % 2} for n in range(1, 9)]
    assert run("SELECT * FROM Thing ORDERBY Group", rows) == [
        "2",
        "4",
        "6",
        "8",
        "1",
        "3",
        "5",
        "7",
    ]
    assert run("SELECT * FROM Thing ORDERBY Group DESC", rows) == [
        "1", "3", "5", "7", "2", "4", "6", "8",
    ]  # fmt: skip


def test_default_order_applies_without_orderby() -> None:
    """Without ORDERBY the caller's default order is used, and ORDERBY overrides it."""
    name_order = [OrderKey(field="Name")]
    assert run("SELECT * FROM Thing", ORDERED, default_order=name_order) == ["2", "9", "100", "10"]
    assert run("SELECT * FROM Thing ORDERBY Id", ORDERED, default_order=name_order) == [
        "2", "9", "10", "100",
    ]  # fmt: skip


def test_default_orders_per_entity() -> None:
    """QBO's recorded default orders: full name, display name, newest change first."""
    assert default_order_for("customer") == (OrderKey(field="FullyQualifiedName"),)
    assert default_order_for("Vendor") == (OrderKey(field="DisplayName"),)
    assert default_order_for("SalesReceipt") == (
        OrderKey(field="MetaData.LastUpdatedTime", descending=True),
    )
    assert default_order_for("CompanyInfo") == ()


def test_hidden_inactive_unless_active_is_named() -> None:
    """hide_inactive drops Active=false entities unless a condition names Active."""
    assert run("SELECT * FROM Vendor", PEOPLE, hide_inactive=True) == ["3", "9"]
    both = "SELECT * FROM Vendor WHERE active IN (true, false)"
    assert run(both, PEOPLE, hide_inactive=True) == ["3", "9", "10"]
    assert hides_inactive("vendor")
    assert not hides_inactive("Invoice")


def test_paging_walks_the_ordered_matches() -> None:
    """Successive STARTPOSITION pages cover the ordered matches once each."""
    rows = [{"Id": str(n), "Key": (n * 7) % 23} for n in range(1, 60)]
    everything = run("SELECT * FROM Thing ORDERBY Key DESC MAXRESULTS 1000", rows)
    pages = [
        run(f"SELECT * FROM Thing ORDERBY Key DESC STARTPOSITION {start} MAXRESULTS 4", rows)
        for start in range(1, 60, 4)
    ]
    assert [item for page in pages for item in page] == everything


def test_top_of_a_large_set_matches_a_full_sort() -> None:
    """A small page from many rows (the partial-sort path) equals the full sort's head."""
    rows: list[Entity] = [{"Id": str(n), "Key": (n * 7919) % 1000} for n in range(1, 3001)]
    full = run("SELECT * FROM Thing ORDERBY Key MAXRESULTS 1000", rows)
    head = run("SELECT * FROM Thing ORDERBY Key MAXRESULTS 10", rows)
    tail = run("SELECT * FROM Thing ORDERBY Key DESC MAXRESULTS 10", rows)
    assert head == full[:10]
    expected_tail = sorted(rows, key=lambda row: row["Key"], reverse=True)[:10]
    assert tail == [row["Id"] for row in expected_tail]


# --------------------------------------------------------------------------- properties

# Text that never reads as a number or a time (no digits), and never the null literal.
NO_DIGITS = st.text(
    alphabet=st.one_of(
        st.sampled_from(["'", "\\", "a", "B", " ", "\u00df", "\u2019", "\U0001f600"]),
        st.characters(blacklist_categories=("Nd", "Cs"), blacklist_characters="%"),
    ),
    max_size=6,
).filter(lambda text: text != " ")
OFFSETS = [dt.timezone(dt.timedelta(hours=h)) for h in (-8, -7, 0)] + [
    dt.timezone(dt.timedelta(hours=5, minutes=30))
]
DATES = st.dates(dt.date(2019, 12, 30), dt.date(2020, 1, 3))
DATETIMES = st.builds(
    lambda day, minutes, zone: (
        dt.datetime.combine(day, dt.time(), zone) + dt.timedelta(minutes=minutes)
    ),
    DATES,
    st.integers(0, 24 * 60 - 1).map(lambda m: m - m % 30),
    st.sampled_from(OFFSETS),
)
COMPARISONS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le}
COMPARISONS |= {">": operator.gt, ">=": operator.ge}


def like(pattern: str, value: str) -> bool:
    """`%`-only wildcard matching, written plainly for the model."""
    parts, text = pattern.casefold().split("%"), value.casefold()
    if len(parts) == 1:
        return text == parts[0]
    if not text.startswith(parts[0]):
        return False
    position = len(parts[0])
    for middle in parts[1:-1]:
        found = text.find(middle, position)
        if found < 0:
            return False
        position = found + len(middle)
    return len(text) - len(parts[-1]) >= position and text.endswith(parts[-1])


def when(text: str) -> dt.date:
    return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)


def same_time(op: Callable[[Any, Any], bool], stored: str, literal: str) -> bool:
    left, right = when(stored), when(literal)
    if isinstance(left, dt.datetime) and isinstance(right, dt.datetime):
        return op(left, right)
    as_date = [value.date() if isinstance(value, dt.datetime) else value for value in (left, right)]
    return op(*as_date)


@st.composite
def condition_and_model(draw: st.DrawFn) -> tuple[str, str, Callable[[Entity], bool]]:
    """A WHERE condition on one kind of property, and a plain predicate for it.

    Returns (property, condition text, predicate over an entity).
    """
    kind = draw(st.sampled_from(["text", "number", "boolean", "date", "time", "reference"]))
    if kind == "text":
        op = draw(st.sampled_from([*COMPARISONS, "LIKE", "IN"]))
        if op == "IN":
            values = draw(st.lists(NO_DIGITS, min_size=1, max_size=4))
            folded = {value.casefold() for value in values}
            return (
                "Name",
                f"Name IN ({', '.join(map(quote, values))})",
                lambda e: e["Name"].casefold() in folded,
            )
        if op == "LIKE":
            pattern = "%".join(draw(st.lists(NO_DIGITS, min_size=1, max_size=4)))
            return "Name", f"Name LIKE {quote(pattern)}", lambda e: like(pattern, e["Name"])
        value = draw(NO_DIGITS)
        compare = COMPARISONS[op]
        return (
            "Name",
            f"Name {op} {quote(value)}",
            lambda e: compare(e["Name"].casefold(), value.casefold()),
        )
    if kind == "number":
        op = draw(st.sampled_from(list(COMPARISONS)))
        number = draw(st.decimals(-1000, 1000, places=2))
        literal = f"{number:f}" if draw(st.booleans()) else quote(f"{number:f}")
        compare = COMPARISONS[op]

        def numeric(entity: Entity) -> bool:
            stored = entity["Balance"]
            if isinstance(stored, float):
                return bool(compare(stored, float(number)))
            return bool(compare(Decimal(stored), number))

        return "Balance", f"Balance {op} {literal}", numeric
    if kind == "boolean":
        op = draw(st.sampled_from(["=", "!="]))
        truth = draw(st.booleans())
        literal = draw(st.sampled_from([str(truth).lower(), quote(str(truth).upper())]))
        compare = COMPARISONS[op]
        return "Active", f"Active {op} {literal}", lambda e: compare(e["Active"], truth)
    if kind in ("date", "time"):
        field = "TxnDate" if kind == "date" else "MetaData.LastUpdatedTime"
        op = draw(st.sampled_from(list(COMPARISONS)))
        literal = draw(st.one_of(DATES, DATETIMES)).isoformat()
        compare = COMPARISONS[op]
        if kind == "date":
            return (
                field,
                f"{field} {op} {quote(literal)}",
                lambda e: same_time(compare, e["TxnDate"], literal),
            )
        return (
            field,
            f"{field} {op} {quote(literal)}",
            lambda e: same_time(compare, e["MetaData"]["LastUpdatedTime"], literal),
        )
    op = draw(st.sampled_from(["=", "!=", "<", ">", "IN"]))
    numbers = draw(st.lists(st.integers(1, 30), min_size=1, max_size=3))
    if op == "IN":
        listed = ", ".join(quote(str(n)) for n in numbers)
        return (
            "CustomerRef",
            f"CustomerRef IN ({listed})",
            lambda e: int(e["CustomerRef"]["value"]) in numbers,
        )
    compare = COMPARISONS[op]
    return (
        "CustomerRef",
        f"CustomerRef {op} '{numbers[0]}'",
        lambda e: compare(int(e["CustomerRef"]["value"]), numbers[0]),
    )


ENTITY = st.fixed_dictionaries(
    {},
    optional={
        "Name": NO_DIGITS,
        "Balance": st.one_of(
            st.integers(-1000, 1000),
            st.decimals(-1000, 1000, places=2).map(float),
        ),
        "Active": st.booleans(),
        "TxnDate": DATES.map(dt.date.isoformat),
        "MetaData": st.fixed_dictionaries(
            {"LastUpdatedTime": DATETIMES.map(dt.datetime.isoformat)}
        ),
        "CustomerRef": st.fixed_dictionaries(
            {"value": st.integers(1, 30).map(str), "name": NO_DIGITS}
        ),
    },
)


def has(entity: Entity, field: str) -> bool:
    return field.split(".")[0] in entity


@given(
    st.lists(condition_and_model(), min_size=1, max_size=2),
    st.lists(ENTITY, max_size=15),
    st.randoms(),
)
def test_where_matches_a_plain_python_filter(
    conditions: list[tuple[str, str, Callable[[Entity], bool]]],
    bodies: list[Entity],
    random: Any,
) -> None:
    """For generated conditions over generated entities, the matches equal a plain filter."""
    ids = list(range(1, len(bodies) + 1))
    random.shuffle(ids)
    entities = [{"Id": str(n), **body} for n, body in zip(ids, bodies, strict=True)]
    text = " AND ".join(condition for _, condition, _ in conditions)
    expected = [
        entity
        for entity in entities
        if all(has(entity, field) and model(entity) for field, _, model in conditions)
    ]
    expected.sort(key=lambda entity: int(entity["Id"]))
    result = execute(parse(f"SELECT * FROM Thing WHERE {text} MAXRESULTS 1000"), entities)
    assert result.total == len(expected)
    assert [item["Id"] for item in result.items] == [entity["Id"] for entity in expected]


@given(
    st.lists(
        st.fixed_dictionaries(
            {}, optional={"Name": NO_DIGITS, "Score": st.one_of(st.none(), st.integers(0, 3))}
        ),
        max_size=20,
    ),
    st.integers(1, 25),
    st.integers(1, 8),
)
def test_orderby_matches_python_stable_sorts(bodies: list[Entity], start: int, size: int) -> None:
    """`ORDERBY Score DESC, Name` pages equal Python's stable sorts with missing values
    first ascending and last descending."""
    entities = [{"Id": str(n), **body} for n, body in enumerate(bodies, start=1)]
    by_name = sorted(entities, key=lambda e: (e.get("Name") is not None, e.get("Name") or ""))
    scored = [e for e in by_name if e.get("Score") is not None]
    unscored = [e for e in by_name if e.get("Score") is None]
    expected = sorted(scored, key=lambda e: e["Score"], reverse=True) + unscored
    text = f"SELECT * FROM Thing ORDERBY Score DESC, Name STARTPOSITION {start} MAXRESULTS {size}"
    page = [item["Id"] for item in execute(parse(text), entities).items]
    assert page == [e["Id"] for e in expected[start - 1 : start - 1 + size]]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("TotalAmt > '100'", ["2", "4"]),
        ("TotalAmt >= '100'", ["1", "2", "4"]),
        ("TotalAmt = '100'", ["1"]),
        ("TotalAmt < '100.5'", ["1", "3"]),
    ],
)
def test_a_column_of_whole_and_fractional_amounts_compares_as_numbers(
    condition: str, expected: list[str]
) -> None:
    """Whole amounts are stored as integers and the others as decimals (as QBO writes
    them); a column holding both kinds compares every value as the number it is."""
    rows = [
        {"Id": "1", "TotalAmt": 100},
        {"Id": "2", "TotalAmt": 100.5},
        {"Id": "3", "TotalAmt": 99.99},
        {"Id": "4", "TotalAmt": 250},
    ]
    assert where(condition, rows) == expected


@given(
    stored=st.lists(
        st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 12, 31)).map(
            lambda moment: moment.replace(microsecond=0)
        ),
        min_size=1,
        max_size=20,
    ),
    literal=st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 12, 31)),
    offsets=st.lists(st.sampled_from([-8, -7, 0, 5]), min_size=1, max_size=20),
    literal_offset=st.sampled_from([-8, -7, 0, 5]),
    operator_=st.sampled_from(["<", "<=", ">", ">=", "="]),
)
def test_times_in_several_offsets_compare_as_instants(
    stored: list[dt.datetime],
    literal: dt.datetime,
    offsets: list[int],
    literal_offset: int,
    operator_: str,
) -> None:
    """A column of times in mixed offsets (Pacific winter and summer, say) against a
    literal in any offset keeps exactly the rows whose instants compare true."""

    def aware(moment: dt.datetime, hours: int) -> dt.datetime:
        return moment.replace(tzinfo=dt.timezone(dt.timedelta(hours=hours)))

    moments = [aware(m, offsets[i % len(offsets)]) for i, m in enumerate(stored)]
    rows = [
        {"Id": str(i + 1), "MetaData": {"LastUpdatedTime": m.isoformat()}}
        for i, m in enumerate(moments)
    ]
    bound = aware(literal.replace(microsecond=0), literal_offset)
    compare = {
        "<": operator.lt,
        "<=": operator.le,
        ">": operator.gt,
        ">=": operator.ge,
        "=": operator.eq,
    }[operator_]
    expected = sorted((str(i + 1) for i, m in enumerate(moments) if compare(m, bound)), key=int)
    condition = f"MetaData.LastUpdatedTime {operator_} '{bound.isoformat()}'"
    assert where(condition, rows) == expected
