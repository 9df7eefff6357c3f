"""The query builder: every value stays inside its literal, names are checked, QBO's rules
hold, and the emulator's parser reads back exactly the query that was built."""

from __future__ import annotations

import datetime as dt
import doctest
import enum
import json
import re
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import qbo_core.query
from qbo_adapters.emulator import query as emulator
from qbo_adapters.emulator.query import Value, execute, parse
from qbo_core.entities import QBOEntity, Vendor
from qbo_core.query import Condition, Field, Operator, OrderKey, Query, QueryValue
from tests.shared_fixtures import RECORDED

QUERY_FILES = ["all/*.json", "get/*.json", "misc/ampersand.json", "batch/basic.json"]

#: Words QBO's grammar reads as keywords (the emulator's lexer list, plus "iterator").
RESERVED = {
    "and", "asc", "by", "count", "desc", "false", "from", "in", "iterator", "like",
    "maxresults", "or", "order", "orderby", "select", "startposition", "true", "where",
}  # fmt: skip

INJECTIONS = [
    "' OR 1=1 --",
    "x' OR Id = '1",
    "\\' AND Active = false",
    "\\",
    "\\\\",
    "'",
    "''",
    "a\\'b",
    "' ORDERBY Id DESC MAXRESULTS 1000 --",
    "'); DROP TABLE Customer; --",
    "' AND DisplayName LIKE '%",
    " ",
    "",
    "Cutlery 'R Us",
    "emoji \U0001f600 and \u2019 curly",
]
#: Arbitrary text that often holds the characters that matter to the grammar.
TEXT = st.one_of(
    st.sampled_from(INJECTIONS),
    st.text(
        alphabet=st.one_of(
            st.sampled_from(list("'\\%_ ()=,;-*\n\r\t\"")),
            st.characters(codec="utf-8", exclude_characters="\x00"),
        ),
        max_size=40,
    ),
)
NAMES = st.from_regex(
    re.compile(r"[A-Za-z][A-Za-z0-9]{0,8}(?:\.[A-Za-z][A-Za-z0-9]{0,8}){0,2}", re.ASCII),
    fullmatch=True,
).filter(lambda name: name.lower() not in RESERVED and name.lower() != "id")
COMPARISONS = {
    Operator.EQ: lambda field, value: field == value,
    Operator.NE: lambda field, value: field != value,
    Operator.LT: lambda field, value: field < value,
    Operator.LE: lambda field, value: field <= value,
    Operator.GT: lambda field, value: field > value,
    Operator.GE: lambda field, value: field >= value,
}
#: Zones with offsets in whole seconds (old zone rules have seconds; none has less).
AWARE_ZONES = st.one_of(
    st.timezones(),
    st.builds(
        dt.timezone,
        st.integers(-(24 * 3600) + 1, 24 * 3600 - 1).map(lambda s: dt.timedelta(seconds=s)),
    ),
)
AWARE_DATETIMES = st.datetimes(
    min_value=dt.datetime(2, 1, 1), max_value=dt.datetime(9998, 12, 31), timezones=AWARE_ZONES
).map(lambda moment: moment.replace(microsecond=0))


def one_condition(query: Query[QBOEntity]) -> emulator.Condition:
    """The only condition of `query` as the emulator parses it (fails on any other count)."""
    (condition,) = parse(query.build()).conditions
    return condition


def single_literal(value: QueryValue) -> Value:
    """`value` written by the builder and read back by the emulator's parser."""
    condition = one_condition(Query.select("Customer").where(Field("Amount") == value))
    assert condition.field == "Amount"
    assert condition.operator is emulator.Operator.EQ
    (literal,) = condition.values
    return literal


def recorded_statements(root: Path) -> list[str]:
    """Every query statement sent in the recorded traffic (URL queries and batch items)."""
    found: list[str] = []
    for pattern in QUERY_FILES:
        for path in sorted(root.glob(pattern)):
            for interaction in json.loads(path.read_text())["interactions"]:
                request = interaction["request"]
                found += parse_qs(urlsplit(request["uri"]).query).get("query", [])
                if request["method"] == "POST" and request["body"]:
                    items = json.loads(request["body"]).get("BatchItemRequest", [])
                    found += [item["Query"] for item in items if "Query" in item]
    return found


def _message(make: Callable[[], object], error: type[Exception]) -> str:
    """The text of the `error` that `make()` raises (failing if it raises none)."""
    with pytest.raises(error) as caught:
        make()
    return str(caught.value)


@pytest.fixture
def recorded() -> Path:
    if not RECORDED.is_dir():
        pytest.skip(f"recorded QBO traffic not found at {RECORDED} (../shared is absent)")
    return RECORDED


# --------------------------------------------------------------------------- recorded


@pytest.mark.fixtures
def test_builder_writes_every_recorded_query(recorded: Path) -> None:
    """Each query QBO answered in the recorded traffic is built, and parses identically."""
    ids = Field("Id").in_([5, 6, 7, 8, 9, 10])
    active = Field("Active").in_([True, False])
    built = [
        Query.count("Customer").where(ids),
        *(
            Query.select("Customer").where(ids, active).max_results(2).start_position(start)
            for start in (1, 3, 5, 7)
        ),
        Query.count("Customer"),
        Query.select("Customer").max_results(1000).start_position(1),
        Query.count("Vendor"),
        *(Query.select("Vendor").max_results(5).start_position(start) for start in range(1, 27, 5)),
        Query.count("Employee").where(active),
        Query.select("Employee").where(active).max_results(1000).start_position(1),
        Query.select("SalesReceipt").max_results(1000).start_position(1),
        Query.select("Vendor").where(active),
        Query.select("Customer").where(Field("DisplayName") == "Amy's Bird Sanctuary"),
        Query.select("Vendor").where(Field("DisplayName") == "Robertson & Associates"),
        Query.select("SalesReceipt").where(Field("TotalAmt") > Decimal("300.00")),
    ]
    statements = recorded_statements(recorded)
    assert len(statements) >= 15
    assert {parse(query.build()) for query in built} == {parse(text) for text in statements}


def test_escaped_apostrophe_is_written_as_qbo_documents() -> None:
    """An apostrophe is written `\\'`, the form QBO's docs and recorded traffic use."""
    query = Query.select("Vendor").where(Field("DisplayName") == "Cutlery 'R Us")
    assert query.build() == "SELECT * FROM Vendor WHERE DisplayName = 'Cutlery \\'R Us'"


def test_full_statement_layout() -> None:
    """Projection, conditions, keys and paging are written in QBO's clause order."""
    query = (
        Query.select("Invoice")
        .fields("Id", "MetaData.LastUpdatedTime")
        .where(Field("Balance") != 0, Field("TxnDate") >= dt.date(2026, 1, 2))
        .where(Field("CustomerRef") == "12")
        .order_by("TxnDate", descending=True)
        .order_by("DocNumber")
        .start_position(21)
        .max_results(10)
    )
    assert query.build() == (
        "SELECT Id, MetaData.LastUpdatedTime FROM Invoice"
        " WHERE Balance != '0' AND TxnDate >= '2026-01-02' AND CustomerRef = '12'"
        " ORDERBY TxnDate DESC, DocNumber ASC STARTPOSITION 21 MAXRESULTS 10"
    )
    assert str(query) == query.build()


def test_count_query_with_paging_and_order() -> None:
    """COUNT(*) is written as such, and the emulator reads it as a count selection."""
    parsed = parse(Query.count("Invoice").order_by("Id").max_results(1).build())
    assert parsed.selection is emulator.Selection.COUNT
    assert parsed.order == (emulator.OrderKey(field="Id"),)
    assert parsed.max_results == 1


def test_module_examples_hold() -> None:
    """The examples in the module docstring print what they claim."""
    result = doctest.testmod(qbo_core.query)
    assert result.attempted >= 5
    assert result.failed == 0


# --------------------------------------------------------------------------- values stay put


@given(TEXT)
def test_any_string_is_exactly_one_literal(text: str) -> None:
    """Whatever a string holds, the parsed query has one condition whose value is it."""
    query = Query.select("Customer").where(Field("DisplayName") == text)
    assert parse(query.build()) == emulator.Query(
        entity="Customer",
        conditions=(
            emulator.Condition(
                field="DisplayName", operator=emulator.Operator.EQ, values=(Value.string(text),)
            ),
        ),
    )


@given(st.lists(TEXT, min_size=1, max_size=6))
def test_any_strings_in_an_in_list_stay_one_list(texts: list[str]) -> None:
    """An IN list of arbitrary strings is read back as exactly those strings, in order."""
    condition = one_condition(Query.select("Customer").where(Field("DisplayName").in_(texts)))
    assert condition.operator is emulator.Operator.IN
    assert condition.values == tuple(map(Value.string, texts))


@given(
    st.lists(st.tuples(NAMES, st.sampled_from(list(Operator)), TEXT), max_size=5),
    st.lists(st.tuples(NAMES, st.booleans()), max_size=3),
    st.none() | st.integers(1, 10**9),
    st.none() | st.integers(1, 1000),
)
def test_any_query_parses_to_exactly_what_was_built(
    conditions: list[tuple[str, Operator, str]],
    keys: list[tuple[str, bool]],
    start: int | None,
    limit: int | None,
) -> None:
    """No value ever adds or removes a condition or clause: the parse equals the build."""
    built: list[Condition] = []
    expected: list[emulator.Condition] = []
    values: tuple[Value, ...]
    for name, operator, text in conditions:
        if operator is Operator.IN:
            built.append(Field(name).in_([text, text + "'"]))
            values = (Value.string(text), Value.string(text + "'"))
        elif operator is Operator.LIKE:
            built.append(Field(name).like(text))
            values = (Value.string(text),)
        else:
            built.append(COMPARISONS[operator](Field(name), text))
            values = (Value.string(text),)
        expected.append(
            emulator.Condition(
                field=name, operator=emulator.Operator(operator.value), values=values
            )
        )
    query = Query.select("Bill")
    if built:
        query = query.where(*built)
    for name, descending in keys:
        query = query.order_by(name, descending=descending)
    if start is not None:
        query = query.start_position(start)
    if limit is not None:
        query = query.max_results(limit)
    assert parse(query.build()) == emulator.Query(
        entity="Bill",
        conditions=tuple(expected),
        order=tuple(emulator.OrderKey(field=n, descending=d) for n, d in keys),
        start_position=start or 1,
        max_results=limit or emulator.DEFAULT_MAX_RESULTS,
    )


@given(TEXT.filter(lambda text: "%" not in text))
def test_like_helpers_wrap_text_in_wildcards(text: str) -> None:
    """startswith/endswith/contains send `text%`, `%text`, `%text%` as one LIKE literal."""
    field = Field("DisplayName")
    patterns = [
        one_condition(Query.select("Customer").where(condition)).values
        for condition in (field.startswith(text), field.endswith(text), field.contains(text))
    ]
    assert patterns == [
        (Value.string(text + "%"),),
        (Value.string("%" + text),),
        (Value.string("%" + text + "%"),),
    ]


@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_ints_are_quoted_plain_decimals(number: int) -> None:
    """An int is written as its quoted decimal digits."""
    assert single_literal(number) == Value.string(str(number))


@given(
    st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=2),
        st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**20), max_value=10**20),
        st.builds(Decimal, st.from_regex(r"-?[0-9]{1,5}E[+-][0-9]{1,2}", fullmatch=True)),
    )
)
def test_decimals_keep_their_value_and_digits(number: Decimal) -> None:
    """A Decimal is written in plain notation (no exponent) with its value unchanged."""
    literal = single_literal(number)
    assert literal.kind is emulator.ValueKind.STRING
    assert re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", literal.text)
    assert Decimal(literal.text) == number
    if number.as_tuple().exponent < 0:  # type: ignore[operator]
        assert Decimal(literal.text).as_tuple() == number.as_tuple()


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_finite_floats_are_written_exactly(number: float) -> None:
    """A finite float is written so that reading the text back gives the same float."""
    literal = single_literal(number)
    assert re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", literal.text)
    assert float(literal.text) == number


@given(st.dates())
def test_dates_are_quoted_iso(day: dt.date) -> None:
    """A date is written `'YYYY-MM-DD'`."""
    assert single_literal(day) == Value.string(day.isoformat())
    assert dt.date.fromisoformat(single_literal(day).text) == day


@given(AWARE_DATETIMES)
def test_aware_datetimes_keep_their_instant(moment: dt.datetime) -> None:
    """An aware datetime is written to the second with an offset, naming the same instant."""
    text = single_literal(moment).text
    assert re.fullmatch(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}", text
    )
    # Compared in UTC: Python calls a time in a gap or fold unequal to any other zone's.
    assert dt.datetime.fromisoformat(text).astimezone(dt.UTC) == moment.astimezone(dt.UTC)


def test_datetime_keeps_its_own_offset() -> None:
    """A whole-minute offset is written as is, as QBO writes its own times."""
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    assert single_literal(moment) == Value.string("2026-01-02T03:04:05-07:00")


def test_offset_with_seconds_is_written_in_utc() -> None:
    """An offset that is not whole minutes (old zone rules) is converted to UTC."""
    zone = dt.timezone(dt.timedelta(hours=-4, minutes=-56, seconds=-2))
    moment = dt.datetime(1800, 1, 1, tzinfo=zone)
    assert single_literal(moment) == Value.string("1800-01-01T04:56:02+00:00")


@given(st.booleans())
def test_booleans_are_bare_keywords(flag: bool) -> None:
    """A bool is written `true` or `false`, not quoted and not as a number."""
    assert single_literal(flag) == Value.boolean(flag)


def test_enums_are_written_by_value() -> None:
    """Enum members are written as their value would be (str, int, or null)."""

    class Status(enum.StrEnum):
        PAID = "Pa'id"

    class Level(enum.IntEnum):
        TOP = 3

    class Nothing(enum.Enum):
        NONE = None

    assert single_literal(Status.PAID) == Value.string("Pa'id")
    assert single_literal(Level.TOP) == Value.string("3")
    assert single_literal(Nothing.NONE) == Value.string(" ")


def test_null_is_qbo_one_space_literal() -> None:
    """None, is_null() and is_not_null() write QBO's null `' '` with = and !=."""
    field = Field("Email")
    assert str(field == None) == "Email = ' '"  # noqa: E711 - the operator is the API
    assert str(field.is_null()) == "Email = ' '"
    assert str(field.is_not_null()) == "Email != ' '"
    assert str(field.in_(["a", None])) == "Email IN ('a', ' ')"


def test_built_injection_finds_only_the_exact_name() -> None:
    """Run by the emulator, an injection-looking name matches only itself, not every row."""
    vendors = [
        {"Id": "1", "DisplayName": "x' OR DisplayName != '"},
        {"Id": "2", "DisplayName": "Robertson & Associates"},
        {"Id": "3", "DisplayName": "Cutlery 'R Us\\"},
    ]
    found = {
        name: [
            item["Id"]
            for item in execute(
                parse(Query.select("Vendor").where(Field("DisplayName") == name).build()),
                vendors,
            ).items
        ]
        for name in ("x' OR DisplayName != '", "Cutlery 'R Us\\", "' OR 1=1 --")
    }
    assert found == {"x' OR DisplayName != '": ["1"], "Cutlery 'R Us\\": ["3"], "' OR 1=1 --": []}


# --------------------------------------------------------------------------- names


@given(st.one_of(NAMES, st.text(max_size=12)))
def test_a_name_is_accepted_only_when_it_reads_back_as_one_identifier(name: str) -> None:
    """Field, order and projection names either raise ValueError or parse back as written."""
    try:
        query = Query.select("Customer").fields(name).where(Field(name) == "x").order_by(name)
    except ValueError:
        assert not re.fullmatch(
            r"[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*", name, re.ASCII
        ) or (name.lower() in RESERVED | {"id"})
        return
    parsed = parse(query.build())
    assert parsed.fields == (name,)
    assert [condition.field for condition in parsed.conditions] == [name]
    assert parsed.order == (emulator.OrderKey(field=name),)


@pytest.mark.parametrize(
    "entity",
    ["Customer; DROP", "a b", "", "1Customer", "Customer.Name", "Cust-omer", "Select",
     "wHeRe", "Custömer", "Customer\n", "Customer'", "Cust_omer"],
)  # fmt: skip
def test_bad_entity_names_are_refused(entity: str) -> None:
    """An entity that is not letters and digits starting with a letter (or is a keyword)
    raises ValueError for select and count alike."""
    with pytest.raises(ValueError, match="entity"):
        Query.select(entity)
    with pytest.raises(ValueError, match="entity"):
        Query.count(entity)


@pytest.mark.parametrize(
    "name",
    ["a b", "", "Name;", "a..b", ".a", "a.", "Display Name", "Name'", "order", "OR",
     "1a", "a_b", "Name--", "Name=1", "Na\u0308me"],
)  # fmt: skip
def test_bad_property_names_are_refused_everywhere(name: str) -> None:
    """A bad property name raises ValueError in a Field, an ORDERBY key and a projection."""
    with pytest.raises(ValueError, match="property"):
        Field(name)
    with pytest.raises(ValueError, match="property"):
        Query.select("Customer").order_by(name)
    with pytest.raises(ValueError, match="property"):
        Query.select("Customer").fields(name)


def test_non_string_names_are_type_errors() -> None:
    """A name that is not a str raises TypeError instead of being converted."""
    with pytest.raises(TypeError, match="entity must be a str"):
        Query.select(5)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="property must be a str"):
        Field(None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- QBO's rules


@pytest.mark.parametrize("name", ["Id", "id", "ID"])
@pytest.mark.parametrize(
    "make",
    [
        lambda f: f > 1,
        lambda f: f >= 1,
        lambda f: f < 1,
        lambda f: f <= 1,
        lambda f: f != 1,
        lambda f: f.like("1%"),
        lambda f: f.startswith("1"),
    ],
)
def test_id_allows_only_equals_and_in(name: str, make: Any) -> None:
    """Any operator but = and IN on Id (in any case) raises ValueError naming Id's rule."""
    with pytest.raises(ValueError, match="only = and IN on Id"):
        make(Field(name))


def test_id_equals_and_in_are_allowed() -> None:
    """= and IN on Id build, as Intuit documents; a dotted `CustomerRef.Id`-like path is no Id."""
    assert str(Field("Id") == "5") == "Id = '5'"
    assert str(Field("Id").in_(["5", 6])) == "Id IN ('5', '6')"
    assert str(Field("Line.Id") > 5) == "Line.Id > '5'"


@pytest.mark.parametrize("limit", [0, -1, 1001, 10**6])
def test_max_results_outside_1_to_1000_is_refused(limit: int) -> None:
    """MAXRESULTS must be 1..1000 (QBO answers 4001 past 1000)."""
    with pytest.raises(ValueError, match=r"max_results must be 1\.\.1000"):
        Query.select("Customer").max_results(limit)


@pytest.mark.parametrize("start", [0, -5])
def test_start_position_below_1_is_refused(start: int) -> None:
    """STARTPOSITION is 1-based: 0 and below raise ValueError."""
    with pytest.raises(ValueError, match="start_position"):
        Query.select("Customer").start_position(start)


@pytest.mark.parametrize("bad", [True, 1.0, "1"])
def test_paging_takes_ints_only(bad: Any) -> None:
    """A bool, float or str as a paging number raises TypeError."""
    with pytest.raises(TypeError, match="must be an int"):
        Query.select("Customer").max_results(bad)
    with pytest.raises(TypeError, match="must be an int"):
        Query.select("Customer").start_position(bad)


def test_paging_bounds_are_accepted() -> None:
    """1 and 1000 are valid MAXRESULTS; 1 is a valid STARTPOSITION."""
    query = Query.select("Customer").start_position(1).max_results(1000)
    assert parse(query.build()).max_results == 1000
    assert query.max_results(1).build().endswith("MAXRESULTS 1")


# --------------------------------------------------------------------------- bad values


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (dt.datetime(2026, 1, 2, 3, 4, 5), "timezone-aware"),
        (dt.datetime(2026, 1, 2, 3, 4, 5, 1, tzinfo=dt.UTC), "microsecond"),
        (float("nan"), "not a finite number"),
        (float("inf"), "not a finite number"),
        (float("-inf"), "not a finite number"),
        (Decimal("NaN"), "not a finite number"),
        (Decimal("sNaN"), "not a finite number"),
        (Decimal("-Infinity"), "not a finite number"),
        (Decimal("1E+1000"), "at most 1000 digits"),
        (Decimal("1E-1001"), "at most 1000 digits"),
        (10**1000, "at most 1000 digits"),
        ("a\x00b", "NUL"),
        ("a\ud800b", "surrogate"),
    ],
)
def test_unsendable_values_raise_value_error_naming_the_property(
    value: QueryValue, message: str
) -> None:
    """Values QBO cannot be sent or would misread raise ValueError naming the property."""
    with pytest.raises(ValueError, match=f"property Amount: .*{message}"):
        _ = Field("Amount") == value


@pytest.mark.parametrize("value", [[1], {"a": 1}, b"bytes", object(), dt.time(1, 2), 1j])
def test_values_of_other_types_raise_type_error(value: Any) -> None:
    """A value of a type the builder cannot write raises TypeError naming the property."""
    with pytest.raises(TypeError, match="property Amount: cannot compare with"):
        _ = Field("Amount") == value


def test_nested_enum_value_is_refused() -> None:
    """An enum whose value is another enum raises TypeError instead of writing its repr."""

    class Inner(enum.Enum):
        A = "a"

    class Outer(enum.Enum):
        B = Inner.A

    with pytest.raises(TypeError, match="another enum"):
        _ = Field("Amount") == Outer.B


def test_comparing_two_fields_is_refused() -> None:
    """QBO compares a property with a literal only: Field == Field raises TypeError."""
    with pytest.raises(TypeError, match="not with property Other"):
        _ = Field("Amount") == Field("Other")


@pytest.mark.parametrize("make", [lambda f: f < None, lambda f: f >= None])
def test_null_only_with_equality_and_in(make: Any) -> None:
    """None with an ordering operator raises ValueError."""
    with pytest.raises(ValueError, match="null"):
        make(Field("Amount"))


@pytest.mark.parametrize("helper", ["startswith", "endswith", "contains"])
def test_like_helpers_refuse_percent(helper: str) -> None:
    """Text holding `%` raises ValueError in the helpers (QBO has no escape for it)."""
    with pytest.raises(ValueError, match="cannot hold '%'"):
        getattr(Field("DisplayName"), helper)("100%")


def test_like_takes_a_raw_pattern_and_only_strings() -> None:
    """like() sends `%` and `_` as written and refuses a non-str pattern."""
    assert str(Field("Name").like("A_b%")) == "Name LIKE 'A_b%'"
    with pytest.raises(TypeError, match="LIKE needs a str"):
        Field("Name").like(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs a str"):
        Field("Name").contains(5)  # type: ignore[arg-type]


def test_in_needs_a_non_empty_list_not_a_string() -> None:
    """in_() refuses a bare str (it would split it) and an empty list."""
    with pytest.raises(TypeError, match="not a str"):
        Field("Name").in_("abc")
    with pytest.raises(ValueError, match="at least one value"):
        Field("Name").in_([])


# --------------------------------------------------------------------------- AND only, immutable


def test_conditions_refuse_truth_so_and_or_cannot_drop_one() -> None:
    """`a and b`, chained comparisons and `|` raise TypeError instead of losing a condition."""
    first, second = Field("A") == 1, Field("B") == 2
    with pytest.raises(TypeError, match="no truth value"):
        _ = first and second
    with pytest.raises(TypeError, match="no truth value"):
        _ = 1 < Field("A") < 3
    with pytest.raises(TypeError):
        _ = first | second  # type: ignore[operator]


def test_where_takes_conditions_only() -> None:
    """A raw string or a bool passed to where() raises TypeError: no text reaches the statement."""
    with pytest.raises(TypeError, match="where\\(\\) takes Conditions"):
        Query.select("Customer").where("DisplayName = 'x' OR 1=1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="where\\(\\) takes Conditions"):
        Query.select("Customer").where(True)  # type: ignore[arg-type]


def test_empty_builder_calls_are_refused() -> None:
    """where(), order_by() and fields() with nothing raise ValueError."""
    query = Query.select("Customer")
    with pytest.raises(ValueError, match="where"):
        query.where()
    with pytest.raises(ValueError, match="order_by"):
        query.order_by()
    with pytest.raises(ValueError, match="fields"):
        query.fields()


def test_count_cannot_have_a_projection() -> None:
    """fields() on a COUNT(*) query raises ValueError."""
    with pytest.raises(ValueError, match="COUNT"):
        Query.count("Customer").fields("Id")


def test_direct_construction_is_checked_too() -> None:
    """Condition, OrderKey and Query made directly run the same checks as the builder."""
    with pytest.raises(ValueError, match="only = and IN on Id"):
        Condition(field="Id", operator=Operator.GT, values=(1,))
    with pytest.raises(ValueError, match="takes one value"):
        Condition(field="Name", operator=Operator.EQ, values=("a", "b"))
    with pytest.raises(ValueError, match="property"):
        OrderKey(field="Name DESC, Id")
    with pytest.raises(ValueError, match="entity"):
        Query(entity="Customer WHERE 1=1")
    with pytest.raises(ValueError, match="max_results"):
        Query(entity="Customer", limit=5000)


def test_each_method_returns_a_new_query() -> None:
    """Builder methods leave the original query unchanged, and queries are frozen."""
    base = Query.select("Customer")
    refined = base.where(Field("Active") == True).order_by("DisplayName")  # noqa: E712
    assert base.build() == "SELECT * FROM Customer"
    assert refined.build() == "SELECT * FROM Customer WHERE Active = true ORDERBY DisplayName ASC"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        base.entity = "Vendor"  # type: ignore[misc]


# --------------------------------------------------------------------------- exact writing


def test_booleans_are_written_in_lower_case() -> None:
    """`True` and `False` are written `true` and `false`, the case QBO documents."""
    assert str(Field("Active") == True) == "Active = true"  # noqa: E712 - the operator is the API
    assert str(Field("Active") == False) == "Active = false"  # noqa: E712
    assert str(Field("Active").in_([True, False])) == "Active IN (true, false)"


def test_an_enum_with_a_value_is_not_null() -> None:
    """An enum member whose value is not None may be ordered; only a None-valued one is null."""

    class Level(enum.IntEnum):
        TOP = 3

    class Nothing(enum.Enum):
        NONE = None

    assert str(Field("Level") > Level.TOP) == "Level > '3'"
    assert str(Field("Level") <= Level.TOP) == "Level <= '3'"
    with pytest.raises(ValueError, match="null"):
        _ = Field("Level") > Nothing.NONE


def test_a_string_enum_is_quoted_and_escaped_as_a_string() -> None:
    """A str enum member is written as its value, quoted and escaped like any string."""

    class Status(enum.StrEnum):
        PAID = "Pa'id"

    assert str(Field("Status") == Status.PAID) == "Status = 'Pa\\'id'"


def test_numbers_of_exactly_1000_digits_are_written() -> None:
    """1000 digits before the point, or 1000 after it, are allowed (ints and Decimals)."""
    largest = 10**1000 - 1
    assert str(Field("Amount") == largest) == f"Amount = '{largest}'"
    assert str(Field("Amount") == -largest) == f"Amount = '-{largest}'"
    assert str(Field("Amount") == Decimal(largest)) == f"Amount = '{largest}'"
    tiny = "0." + "0" * 999 + "1"
    assert str(Field("Amount") == Decimal(tiny)) == f"Amount = '{tiny}'"
    assert str(Field("Amount") == Decimal("-" + tiny)) == f"Amount = '-{tiny}'"


@pytest.mark.parametrize(
    "value",
    [10**1000, -(10**1000), Decimal(10**1000), Decimal(-(10**1000)), Decimal("1E-1001")],
)
def test_numbers_past_1000_digits_are_refused(value: int | Decimal) -> None:
    """1001 digits before the point, or 1001 after it, raise ValueError, whatever the sign."""
    assert _message(lambda: Field("Amount") == value, ValueError) == (
        "property Amount: a number may have at most 1000 digits before and after the point"
    )


@pytest.mark.parametrize(
    ("minutes", "written"),
    [(5 * 60 + 45, "+05:45"), (-(9 * 60 + 30), "-09:30"), (1, "+00:01"), (14 * 60, "+14:00")],
)
def test_whole_minute_offsets_are_kept(minutes: int, written: str) -> None:
    """Any whole-minute offset (+05:45 Nepal, -09:30 Marquesas) is written as is, not in UTC."""
    zone = dt.timezone(dt.timedelta(minutes=minutes))
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=zone)
    assert str(Field("TxnDate") == moment) == f"TxnDate = '2026-01-02T03:04:05{written}'"


def test_float_is_written_by_its_shortest_repr() -> None:
    """A float is written as its shortest repr in plain notation (`0.1`, `1e-07` as digits)."""
    assert str(Field("Amount") == 0.1) == "Amount = '0.1'"
    assert str(Field("Amount") == 1e-07) == "Amount = '0.0000001'"
    assert str(Field("Amount") == -2.5e3) == "Amount = '-2500.0'"


def test_typed_entity_classes_make_typed_queries() -> None:
    """select/count of a typed class keep the class and write its QBO name."""
    selected = Query.select(Vendor)
    counted = Query.count(Vendor)
    assert (selected.entity, selected.entity_class) == ("Vendor", Vendor)
    assert selected.count_only is False
    assert (counted.entity, counted.entity_class) == ("Vendor", Vendor)
    assert counted.count_only is True
    assert str(counted) == "SELECT COUNT(*) FROM Vendor"
    assert Query.select("Vendor").entity_class is None
    assert Query.count("Vendor").count_only is True


def test_a_projection_keeps_the_names_added_before() -> None:
    """fields() adds to the properties already selected, in order."""
    query = Query.select("Customer").fields("Id").fields("DisplayName", "Balance")
    assert query.build() == "SELECT Id, DisplayName, Balance FROM Customer"


# --------------------------------------------------------------------------- error messages


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Field("Amount") == dt.datetime(2026, 1, 2, 3, 4, 5),
            "property Amount: a datetime must be timezone-aware (QBO compares instants)",
        ),
        (
            lambda: Field("Amount") == dt.datetime(2026, 1, 2, 3, 4, 5, 1, tzinfo=dt.UTC),
            "property Amount: QBO times are whole seconds; a datetime with microseconds "
            "would be truncated (use .replace(microsecond=0))",
        ),
        (
            lambda: (
                Field("Amount")
                == dt.datetime.max.replace(
                    microsecond=0, tzinfo=dt.timezone(dt.timedelta(seconds=-1))
                )
            ),
            "property Amount: the datetime is out of range in UTC",
        ),
        (lambda: Field("Amount") == float("nan"), "property Amount: nan is not a finite number"),
        (lambda: Field("Amount") == float("-inf"), "property Amount: -inf is not a finite number"),
        (
            lambda: Field("Amount") == Decimal("NaN"),
            "property Amount: NaN is not a finite number",
        ),
        (
            lambda: Field("Amount") == Decimal("-Infinity"),
            "property Amount: -Infinity is not a finite number",
        ),
        (
            lambda: Field("Name") == "a\x00b",
            "property Name: a string value cannot hold NUL (U+0000)",
        ),
        (
            lambda: Field("Name") == "a\ud800b",
            "property Name: a string value cannot hold a lone surrogate "
            "(it cannot be encoded as UTF-8)",
        ),
        (
            lambda: Condition(field="Name", operator=Operator.IN, values=()),
            "property Name: IN needs at least one value",
        ),
        (
            lambda: Condition(field="Name", operator=Operator.EQ, values=("a", "b")),
            "property Name: = takes one value",
        ),
        (
            lambda: Field("Id") > 5,
            "property Id: QBO supports only = and IN on Id, not >",
        ),
        (
            lambda: Field("Amount") < None,
            "property Amount: null (None) works only with =, != and IN, not <",
        ),
        (
            lambda: Field("Name").contains("100%"),
            "property Name: contains text cannot hold '%': QBO's LIKE has no escape for its "
            "wildcard; use like() to write the pattern yourself",
        ),
        (
            lambda: Query.select("Customer").where(),
            "where() needs at least one condition",
        ),
        (
            lambda: Query.select("Customer").order_by(),
            "order_by() needs at least one property name",
        ),
        (
            lambda: Query.select("Customer").fields(),
            "fields() needs at least one property name",
        ),
        (
            lambda: Query.count("Customer").fields("Id"),
            "a COUNT(*) query cannot also select properties",
        ),
        (
            lambda: Query.select("Customer").max_results(1001),
            "max_results must be 1..1000, got 1001",
        ),
        (
            lambda: Query.select("Customer").max_results(0),
            "max_results must be 1..1000, got 0",
        ),
        (
            lambda: Query.select("Customer").start_position(0),
            "start_position (1-based) must be >= 1, got 0",
        ),
        (
            lambda: Query(entity="Customer", entity_class=Vendor),
            "entity 'Customer' is not the name of Vendor",
        ),
        (
            lambda: Query.select("Customer.Name"),
            "entity 'Customer.Name' is not a valid QBO name: "
            "ASCII letters and digits, starting with a letter",
        ),
        (
            lambda: Field("Name;"),
            "property 'Name;' is not a valid QBO name: ASCII letters and digits starting "
            "with a letter, dot-separated segments allowed",
        ),
        (
            lambda: Query.select("Where"),
            "entity 'Where' is a reserved word of QBO's query language",
        ),
        (
            lambda: Field("OrderBy"),
            "property 'OrderBy' is a reserved word of QBO's query language",
        ),
    ],
)
def test_value_errors_say_what_is_wrong_and_where(make: Callable[[], object], message: str) -> None:
    """Each refused name, value or clause raises ValueError with a message that names the
    property (or entity, or clause) and the rule it breaks."""
    assert _message(make, ValueError) == message


class _Unwritable(enum.Enum):
    A = "a"


class _NestedEnum(enum.Enum):
    B = _Unwritable.A


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Query.select(5), "entity must be a str, got int"),  # type: ignore[call-overload]
        (lambda: Field(None), "property must be a str, got NoneType"),  # type: ignore[arg-type]
        (
            lambda: Field("Amount") == [1],
            "property Amount: cannot compare with a list; use str, bool, int, Decimal, float, "
            "date, aware datetime, an enum or None",
        ),
        (
            lambda: Field("Amount") == _NestedEnum.B,
            "property Amount: an enum's value must not be another enum",
        ),
        (
            lambda: Condition(field="Name", operator="=", values=("a",)),  # type: ignore[arg-type]
            "property Name: operator must be an Operator",
        ),
        (lambda: Field("Name").like(5), "property Name: LIKE needs a str pattern"),  # type: ignore[arg-type]
        (lambda: Field("Name").startswith(5), "property Name: startswith needs a str"),  # type: ignore[arg-type]
        (lambda: Field("Name").endswith(5), "property Name: endswith needs a str"),  # type: ignore[arg-type]
        (
            lambda: Field("Name").in_("abc"),
            "property Name: in_() takes a list of values, not a str",
        ),
        (
            lambda: Field("Amount") == Field("Other"),
            "property Amount: QBO compares a property with a literal, not with property Other",
        ),
        (
            lambda: Query.select("Customer").where("x"),  # type: ignore[arg-type]
            "where() takes Conditions (e.g. Field('Name') == 'x'), got str",
        ),
        (
            lambda: Query(entity="Customer", order=("Name",)),  # type: ignore[arg-type]
            "order must hold OrderKeys, got str",
        ),
        (
            lambda: Query.select("Customer").max_results(True),
            "max_results must be an int, got bool",
        ),
        (
            lambda: Query.select("Customer").start_position(1.0),  # type: ignore[arg-type]
            "start_position (1-based) must be an int, got float",
        ),
        (
            lambda: bool(Field("A") == 1),
            "a Condition has no truth value: QBO has no OR, and `and` would drop a "
            "condition; pass several conditions to Query.where() to AND them",
        ),
    ],
)
def test_type_errors_say_what_was_given(make: Callable[[], object], message: str) -> None:
    """Each value of a type the builder cannot use raises TypeError naming the property
    (where there is one) and the type it got."""
    assert _message(make, TypeError) == message


def test_startswith_and_endswith_name_themselves_when_refusing_percent() -> None:
    """startswith and endswith name themselves when refusing `%` (as contains does)."""
    assert _message(lambda: Field("Name").startswith("%"), ValueError).startswith(
        "property Name: startswith text cannot hold '%'"
    )
    assert _message(lambda: Field("Name").endswith("%"), ValueError).startswith(
        "property Name: endswith text cannot hold '%'"
    )


def test_a_long_bad_name_is_shown_cut_to_60_characters() -> None:
    """An invalid name is shown whole up to 60 characters of repr, else cut to 57 plus `...`,
    and still raises ValueError (never TypeError)."""
    fits = "a" * 57 + " "  # repr: 60 characters
    assert _message(lambda: Field(fits), ValueError) == (
        f"property {fits!r} is not a valid QBO name: ASCII letters and digits starting "
        "with a letter, dot-separated segments allowed"
    )
    too_long = "a" * 58 + " "  # repr: 61 characters
    assert _message(lambda: Query.select(too_long), ValueError) == (
        f"entity {too_long!r:.57}... is not a valid QBO name: "
        "ASCII letters and digits, starting with a letter"
    )


def test_ordering_operators_write_their_value() -> None:
    """`<`, `<=`, `>` and `>=` write the value given, each with its own operator."""
    amount = Field("Balance")
    assert [str(amount < 5), str(amount <= 5), str(amount > 5), str(amount >= 5)] == [
        "Balance < '5'",
        "Balance <= '5'",
        "Balance > '5'",
        "Balance >= '5'",
    ]


def test_an_offset_with_seconds_goes_to_utc_whatever_the_local_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An offset that is not whole minutes is converted to UTC, never to the host's zone."""
    monkeypatch.setenv("TZ", "NPT-5:45")  # a POSIX zone string: UTC+05:45, no tz database
    time.tzset()
    try:
        zone = dt.timezone(dt.timedelta(hours=-4, minutes=-56, seconds=-2))
        moment = dt.datetime(1900, 1, 1, tzinfo=zone)
        assert str(Field("TxnDate") == moment) == "TxnDate = '1900-01-01T04:56:02+00:00'"
    finally:
        monkeypatch.undo()
        time.tzset()
