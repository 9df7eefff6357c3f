"""The emulator's query parser: QBO's grammar, its 4000/4001 faults, escapes and case."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbo_adapters.emulator.query import (
    Condition,
    Operator,
    OrderKey,
    Query,
    QueryFault,
    Selection,
    Value,
    parse,
    quote,
)
from tests.shared_fixtures import RECORDED

QUERY_FILES = ["all/*.json", "get/*.json", "misc/ampersand.json", "batch/basic.json"]


def recorded_queries(root: Path) -> list[tuple[str, str]]:
    """Every query statement in the recorded traffic, with the file it came from."""
    found: list[tuple[str, str]] = []
    for pattern in QUERY_FILES:
        for path in sorted(root.glob(pattern)):
            for interaction in json.loads(path.read_text())["interactions"]:
                request = interaction["request"]
                statements = parse_qs(urlsplit(request["uri"]).query).get("query", [])
                if request["method"] == "POST" and request["body"]:
                    items = json.loads(request["body"]).get("BatchItemRequest", [])
                    statements += [item["Query"] for item in items if "Query" in item]
                found += [(path.relative_to(root).as_posix(), text) for text in statements]
    return found


@pytest.fixture
def recorded() -> Path:
    if not RECORDED.is_dir():
        pytest.skip(f"recorded QBO traffic not found at {RECORDED} (../shared is absent)")
    return RECORDED


def fault_of(text: str) -> QueryFault:
    with pytest.raises(QueryFault) as caught:
        parse(text)
    return caught.value


# --------------------------------------------------------------------------- recorded


@pytest.mark.fixtures
def test_every_recorded_query_parses(recorded: Path) -> None:
    """Each of the 20 queries QBO answered in the recorded traffic parses without a fault."""
    queries = recorded_queries(recorded)
    assert len(queries) >= 15
    for _, text in queries:
        parse(text)


@pytest.mark.fixtures
def test_recorded_paged_in_query_parses_to_its_parts(recorded: Path) -> None:
    """The recorded IN/paging query keeps its IN lists, booleans and both paging clauses."""
    texts = [text for name, text in recorded_queries(recorded) if name == "all/alt_select.json"]
    assert parse(texts[0]) == Query(
        entity="Customer",
        selection=Selection.COUNT,
        conditions=(
            Condition(
                field="Id",
                operator=Operator.IN,
                values=tuple(Value.string(str(n)) for n in range(5, 11)),
            ),
        ),
    )
    paged = parse(texts[2])
    assert paged.conditions[1] == Condition(
        field="Active", operator=Operator.IN, values=(Value.boolean(True), Value.boolean(False))
    )
    assert (paged.start_position, paged.max_results) == (3, 2)


@pytest.mark.fixtures
def test_recorded_escaped_quote_and_ampersand_read_back(recorded: Path) -> None:
    """`\\'` in a recorded query is an apostrophe and `&` is an ordinary character."""
    values = {
        name: parse(text).conditions[0].values[0].text
        for name, text in recorded_queries(recorded)
        if name in ("get/display_name.json", "misc/ampersand.json")
    }
    assert values == {
        "get/display_name.json": "Amy's Bird Sanctuary",
        "misc/ampersand.json": "Robertson & Associates",
    }


@pytest.mark.fixtures
def test_recorded_batch_query_compares_a_quoted_number(recorded: Path) -> None:
    """The batch item's `TotalAmt > '300.00'` parses with the number kept as quoted text."""
    (text,) = [text for name, text in recorded_queries(recorded) if name == "batch/basic.json"]
    assert parse(text).conditions == (
        Condition(field="TotalAmt", operator=Operator.GT, values=(Value.string("300.00"),)),
    )


# --------------------------------------------------------------------------- grammar


def test_select_star_defaults() -> None:
    """Without paging clauses a query starts at 1 and returns at most 100."""
    assert parse("SELECT * FROM Customer") == Query(entity="Customer")


def test_keywords_are_case_insensitive_and_names_kept_as_written() -> None:
    """Keywords match in any case; entity and property names come back as written."""
    query = parse("sElEcT * fRoM cUsToMeR wHeRe dIsPlAyNaMe = 'x' OrDeRbY bAlAnCe dEsC")
    assert query.entity == "cUsToMeR"
    assert query.conditions[0].field == "dIsPlAyNaMe"
    assert query.order == (OrderKey(field="bAlAnCe", descending=True),)


def test_order_by_two_words_equals_orderby() -> None:
    """`ORDER BY` (which QBO's parser also expects) means the same as `ORDERBY`."""
    assert parse("SELECT * FROM Item ORDER BY Name ASC, Id") == parse(
        "SELECT * FROM Item ORDERBY Name, Id ASC"
    )


def test_multiple_order_keys_with_directions() -> None:
    """ORDERBY takes a comma list, each key ASC (default) or DESC."""
    assert parse("SELECT * FROM Bill ORDERBY TxnDate DESC, DocNumber, Id ASC").order == (
        OrderKey(field="TxnDate", descending=True),
        OrderKey(field="DocNumber"),
        OrderKey(field="Id"),
    )


def test_whitespace_and_newlines_anywhere() -> None:
    """Tabs, CR/LF and runs of spaces separate tokens anywhere, inside COUNT(*) included."""
    text = "\n\tSELECT\r\n COUNT ( * )\nFROM\tInvoice\r\nWHERE  Balance>0\nAND\nId IN('1' ,'2')\n"
    query = parse(text)
    assert query.selection is Selection.COUNT
    assert [c.operator for c in query.conditions] == [Operator.GT, Operator.IN]


def test_paging_clauses_in_either_order() -> None:
    """STARTPOSITION and MAXRESULTS may come in either order (recorded traffic has both)."""
    first = parse("SELECT * FROM Vendor STARTPOSITION 6 MAXRESULTS 5")
    second = parse("SELECT * FROM Vendor MAXRESULTS 5 STARTPOSITION 6")
    assert first == second
    assert (first.start_position, first.max_results) == (6, 5)


def test_startposition_zero_means_one() -> None:
    """STARTPOSITION 0 is accepted (QBO let it through) and treated as 1."""
    assert parse("SELECT * FROM Invoice STARTPOSITION 0 MAXRESULTS 500").start_position == 1


def test_maxresults_bounds_are_inclusive() -> None:
    """MAXRESULTS 1 and 1000 are both accepted."""
    assert parse("SELECT * FROM Item MAXRESULTS 1").max_results == 1
    assert parse("SELECT * FROM Item MAXRESULTS 1000").max_results == 1000


def test_field_list_selection_with_nested_names() -> None:
    """A property list, dotted names included, selects those properties."""
    query = parse("select Id, MetaData.LastUpdatedTime,DisplayName from Customer")
    assert query.selection is Selection.FIELDS
    assert query.fields == ("Id", "MetaData.LastUpdatedTime", "DisplayName")


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("'abc'", Value.string("abc")),
        ("12", Value.number("12")),
        ("-3.50", Value.number("-3.50")),
        ("TRUE", Value.boolean(True)),
        ("false", Value.boolean(False)),
        ("current_date", Value.current_date()),
        ("' '", Value.string(" ")),
        ("''", Value.string("")),
    ],
)
def test_value_kinds(literal: str, expected: Value) -> None:
    """Strings, signed integers and decimals, booleans and CURRENT_DATE parse to their kind."""
    assert parse(f"SELECT * FROM Invoice WHERE TxnDate = {literal}").conditions[0].values == (
        expected,
    )


@pytest.mark.parametrize(
    ("symbol", "operator"),
    [
        ("=", Operator.EQ),
        ("!=", Operator.NE),
        ("<", Operator.LT),
        ("<=", Operator.LE),
        (">", Operator.GT),
        (">=", Operator.GE),
        ("like", Operator.LIKE),
    ],
)
def test_operators(symbol: str, operator: Operator) -> None:
    """Each comparison operator parses; symbols need no surrounding spaces."""
    expected = Condition(field="DocNumber", operator=operator, values=(Value.string("1"),))
    assert parse(f"SELECT * FROM Invoice WHERE DocNumber {symbol} '1'").conditions[0] == expected
    if not symbol.isalpha():
        tight = parse(f"SELECT * FROM Invoice WHERE DocNumber{symbol}'1'")
        assert tight.conditions[0] == expected


def test_nested_and_list_paths_are_one_field() -> None:
    """A dotted path through objects and lists is one property name."""
    query = parse("SELECT Id FROM Attachable WHERE AttachableRef.EntityRef.Type = 'Invoice'")
    assert query.conditions[0].field == "AttachableRef.EntityRef.Type"


# --------------------------------------------------------------------------- escapes


@pytest.mark.parametrize(
    ("written", "value"),
    [
        (r"'Adam\'s Candy Shop'", "Adam's Candy Shop"),
        (r"'back\\slash'", "back\\slash"),
        (r"'\\\''", "\\'"),
        (r"'a\nb'", "a\\nb"),
        ("'Bob\u2019s \U0001f354 Joint'", "Bob\u2019s \U0001f354 Joint"),
        ("'line\nbreak'", "line\nbreak"),
        ("'%_[.*]$^'", "%_[.*]$^"),
    ],
)
def test_string_escapes_and_unicode(written: str, value: str) -> None:
    """`\\'` is a quote, `\\\\` a backslash, other backslashes stay; any Unicode is kept."""
    assert parse(f"SELECT * FROM Vendor WHERE DisplayName = {written}").conditions[0].values == (
        Value.string(value),
    )


def test_quote_escapes_quotes_and_backslashes() -> None:
    """`quote` wraps in single quotes and backslash-escapes quotes and backslashes."""
    assert quote("Amy's \\ Bird") == "'Amy\\'s \\\\ Bird'"


@given(st.text())
def test_quote_round_trips_any_text(value: str) -> None:
    """Any text written with `quote` parses back to exactly that text."""
    query = parse(f"SELECT * FROM Customer WHERE DisplayName = {quote(value)}")
    assert query.conditions[0].values == (Value.string(value),)


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_quote_round_trips_in_lists(values: list[str]) -> None:
    """Quoted texts in an IN list parse back to the same texts in the same order."""
    listed = ", ".join(map(quote, values))
    query = parse(f"SELECT * FROM Customer WHERE DisplayName IN ({listed})")
    assert [value.text for value in query.conditions[0].values] == values


# --------------------------------------------------------------------------- 4000


EXPECTED_AFTER_CONDITION = (
    "Was expecting one of:\n"
    "    <EOF> \n"
    "    <AND> ...\n"
    '    "maxresults" ...\n'
    '    "order" ...\n'
    '    "orderby" ...\n'
    '    "startposition" ...\n'
    "    "
)


def test_unescaped_quote_fails_at_the_stray_word_as_qbo_reports() -> None:
    """An unescaped `'` fails at the word after it, with QBO's line, column and layout."""
    fault = fault_of(
        "select * from vendor where DisplayName = 'Cutlery 'R Us' startposition 1 maxresults 10"
    )
    assert (fault.code, fault.message) == ("4000", "Error parsing query")
    assert fault.detail == (
        'QueryParserError: Encountered " <IDENTIFIER> "R "" at line 1, column 52.\n'
        + EXPECTED_AFTER_CONDITION
    )


def test_unescaped_quote_in_a_name_reports_its_column() -> None:
    """`'Aido's  LLC'` fails at `s`, column 48, as QBO answered quickbooks-ruby #471."""
    detail = fault_of("SELECT * FROM Vendor WHERE DisplayName = 'Aido's  LLC'").detail
    assert detail.startswith(
        'QueryParserError: Encountered " <IDENTIFIER> "s "" at line 1, column 48.'
    )


def test_doubled_quote_is_not_an_escape() -> None:
    """SQL's `''` ends the string, so the rest is a second, unexpected string token."""
    detail = fault_of("SELECT * FROM Vendor WHERE DisplayName = 'Peet''s'").detail
    assert detail.startswith(
        'QueryParserError: Encountered " <STRING> "\\\'s\\\' "" at line 1, column 48.'
    )


def test_empty_query_expects_select_at_line_zero() -> None:
    """An empty statement fails at line 0, column 0 expecting "select", as QBO reports."""
    assert fault_of("").detail == (
        'QueryParserError: Encountered "<EOF>" at line 0, column 0.\n'
        'Was expecting:\n    "select" ...\n    '
    )


def test_position_counts_lines_and_columns() -> None:
    """Line and column are 1-based and count CR, LF and CRLF line breaks."""
    detail = fault_of("SELECT *\r\nFROM Customer\nWHERE\r  Name == 'x'").detail
    assert detail.startswith('QueryParserError: Encountered " "=" "= "" at line 4, column 9.')


def test_keyword_in_the_wrong_place_is_shown_as_a_keyword() -> None:
    """A misplaced keyword is reported by its quoted name and the text as written."""
    detail = fault_of("SELECT * FROM WHERE").detail
    assert detail.startswith(
        'QueryParserError: Encountered " "where" "WHERE "" at line 1, column 15.'
    )
    assert detail.endswith("Was expecting:\n    <IDENTIFIER> ...\n    ")


def test_unexpected_end_after_where() -> None:
    """A WHERE with no condition fails at the end of input, expecting a property name."""
    detail = fault_of("SELECT * FROM Customer WHERE").detail
    assert detail.startswith('QueryParserError: Encountered "<EOF>" at line 1, column 28.')


def test_lexical_error_names_the_character_and_its_code() -> None:
    """A character that starts no token is a lexical error giving the character and code."""
    assert fault_of("SELECT * FROM Account WHERE AccountSubType = %").detail == (
        "QueryParserError: Invalid content. Lexical error at line 1, column 46.  "
        'Encountered: "%" (37), after : ""'
    )


def test_non_ascii_character_outside_a_string_is_escaped_in_the_message() -> None:
    """A curly quote used as a string quote is a lexical error showing it as `\\u2019`."""
    assert fault_of("SELECT * FROM Vendor WHERE DisplayName = \u2019Bob\u2019").detail == (
        "QueryParserError: Invalid content. Lexical error at line 1, column 42.  "
        'Encountered: "\\u2019" (8217), after : ""'
    )


def test_unterminated_string_reports_end_of_input() -> None:
    """A string that never closes fails at the end with the text after its quote."""
    assert fault_of("SELECT * FROM Vendor WHERE DisplayName = 'abc").detail == (
        "QueryParserError: Invalid content. Lexical error at line 1, column 45.  "
        'Encountered: <EOF> after : "\\\'abc"'
    )


def test_lexical_error_after_a_parse_error_is_not_reached() -> None:
    """Tokens are read as the parser goes, so an earlier misplaced token is what fails."""
    assert (
        'Encountered " <IDENTIFIER> "R ""'
        in fault_of("select * from vendor where DisplayName = 'Cutlery 'R Us'").detail
    )


def test_string_token_with_emoji_is_escaped_as_utf16() -> None:
    """A misplaced string's image is escaped like Java: quotes and each UTF-16 unit."""
    detail = fault_of("SELECT * FROM Vendor 'a😀'").detail
    assert '" <STRING> "\\\'a\\ud83d\\ude00\\\' "" at line 1, column 22.' in detail


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM Customer WHERE Name = 'a' OR Name = 'b'",
        "SELECT * FROM Customer JOIN Invoice",
        "SELECT * FROM Customer WHERE (Name = 'a')",
        "SELECT * FROM Customer WHERE Name = 'a' AND",
        "SELECT * FROM Customer WHERE NOT Name = 'a'",
        "SELECT * FROM Customer WHERE Name NOT IN ('a')",
        "SELECT * FROM Customer WHERE Name IN ()",
        "SELECT * FROM Customer WHERE Name IN ('a',)",
        "SELECT * FROM Customer WHERE Name = Other",
        "SELECT * FROM Customer WHERE 'a' = Name",
        "SELECT * FROM Customer ORDER Name",
        "SELECT * FROM Customer ORDERBY",
        "SELECT * FROM Customer MAXRESULTS 10 MAXRESULTS 10",
        "SELECT * FROM Customer MAXRESULTS 1.5",
        "SELECT * FROM Customer MAXRESULTS '10'",
        "SELECT * FROM Customer STARTPOSITION 1 ORDERBY Id",
        "SELECT Id, * FROM Customer",
        "SELECT *, FROM Item",
        "SELECT *, * FROM Item",
        "SELECT * Sku FROM Item",
        "SELECT Id Name FROM Customer",
        "SELECT COUNT(Id) FROM Customer",
        "SELECT * FROM Customer.Name",
        "SELECT * FROM Customer;",
        "SELECT * FROM Customer WHERE Name <> 'a'",
        "SELECT * FROM Customer WHERE Name == 'a'",
        "SELECT * FROM Customer WHERE Name = - 5",
        "SELECT * FROM Customer, Vendor",
        "DELETE FROM Customer",
    ],
)
def test_unsupported_syntax_is_a_parse_error(text: str) -> None:
    """OR, JOIN, NOT, stray parentheses and other SQL QBO lacks are 4000 with a position."""
    fault = fault_of(text)
    assert (fault.code, fault.message) == ("4000", "Error parsing query")
    assert fault.detail.startswith("QueryParserError: ")
    assert " at line 1, column " in fault.detail


# --------------------------------------------------------------------------- 4001


def test_maxresults_over_1000_is_invalid_with_qbo_text() -> None:
    """MAXRESULTS 1500 is 4001 with QBO's exact detail."""
    fault = fault_of("SELECT * FROM Customer MAXRESULTS 1500")
    assert (fault.code, fault.message, fault.detail) == (
        "4001",
        "Invalid query",
        "QueryValidationError: value 1500 is too large. Max allowed value is 1000.",
    )


def test_huge_maxresults_is_invalid_not_a_crash() -> None:
    """A MAXRESULTS with thousands of digits is an ordinary 4001."""
    digits = "9" * 5000
    assert fault_of(f"SELECT * FROM Customer MAXRESULTS {digits}").detail == (
        f"QueryValidationError: value {digits} is too large. Max allowed value is 1000."
    )


@pytest.mark.parametrize(
    ("clause", "detail"),
    [
        ("MAXRESULTS 0", "value 0 is too small. Min allowed value is 1."),
        ("MAXRESULTS -5", "value -5 is too small. Min allowed value is 1."),
        ("STARTPOSITION -1", "value -1 is too small. Min allowed value is 0."),
    ],
)
def test_paging_below_minimum_is_invalid(clause: str, detail: str) -> None:
    """MAXRESULTS below 1 and STARTPOSITION below 0 are 4001."""
    fault = fault_of(f"SELECT * FROM Customer {clause}")
    assert (fault.code, fault.detail) == ("4001", f"QueryValidationError: {detail}")


@pytest.mark.parametrize("operator", ["!=", "<", "<=", ">", ">=", "LIKE"])
def test_id_takes_only_equals_and_in(operator: str) -> None:
    """Any operator but = and IN on Id (in any case) is 4001 naming the operator."""
    fault = fault_of(f"SELECT * FROM Customer WHERE iD {operator} '5'")
    assert fault.code == "4001"
    assert fault.detail == (
        f"QueryValidationError: Operator {operator} is not supported for property iD. Use = or IN."
    )


def test_id_equals_and_in_are_valid() -> None:
    """`Id = '5'` and `ID IN (...)` parse into an = and an IN condition, field kept as written."""
    query = parse("SELECT * FROM Customer WHERE Id = '5' AND ID IN ('1', '2')")
    assert query == Query(
        entity="Customer",
        conditions=(
            Condition(field="Id", operator=Operator.EQ, values=(Value.string("5"),)),
            Condition(
                field="ID", operator=Operator.IN, values=(Value.string("1"), Value.string("2"))
            ),
        ),
    )


@pytest.mark.parametrize("value", ["5", "true", "CURRENT_DATE"])
def test_like_needs_a_string(value: str) -> None:
    """LIKE with an unquoted value is 4001."""
    fault = fault_of(f"SELECT * FROM Customer WHERE DisplayName LIKE {value}")
    assert fault.code == "4001"
    assert fault.detail.startswith("QueryValidationError: LIKE needs a quoted string")


def test_parse_errors_win_over_validation_errors() -> None:
    """A statement with both a bad MAXRESULTS and a syntax error gets the 4000."""
    assert fault_of("SELECT * FROM Customer MAXRESULTS 5000 oops").code == "4000"


# --------------------------------------------------------------------------- robustness

QUERY_WORDS = [
    "SELECT", "select", "*", "COUNT", "(", ")", ",", "FROM", "Customer", "WHERE", "AND",
    "OR", "Id", "Name", "MetaData.LastUpdatedTime", "=", "!=", "<", "<=", ">", ">=", "IN",
    "LIKE", "'5'", "'a\\'b'", "'", "\\", "5", "-1", "1.5", "99999999999999999999999", "true",
    "FALSE", "CURRENT_DATE", "ORDER", "BY", "ORDERBY", "ASC", "DESC", "STARTPOSITION",
    "MAXRESULTS", "1000", "1001", "0", "%", "\u2019", "\U0001f600", "\n", ".", "-", "''",
]  # fmt: skip


def outcome(text: str) -> Query | QueryFault:
    """What parsing `text` gives: a query, or the QueryFault it raised."""
    try:
        return parse(text)
    except QueryFault as fault:
        return fault


@given(st.text())
def test_parser_raises_only_query_faults_on_any_text(text: str) -> None:
    """Arbitrary text either parses or raises a 4000/4001 QueryFault, nothing else."""
    result = outcome(text)
    if isinstance(result, QueryFault):
        assert result.code in ("4000", "4001")
        assert result.detail.startswith(("QueryParserError: ", "QueryValidationError: "))


@given(st.lists(st.sampled_from(QUERY_WORDS), max_size=25), st.sampled_from([" ", "", "\t"]))
def test_parser_raises_only_query_faults_on_token_soup(words: list[str], glue: str) -> None:
    """Shuffled query words reach deep into the grammar and still only raise QueryFault."""
    result = outcome(glue.join(words))
    if isinstance(result, QueryFault):
        assert result.code in ("4000", "4001")
    else:
        assert 1 <= result.max_results <= 1000
        assert result.start_position >= 1
