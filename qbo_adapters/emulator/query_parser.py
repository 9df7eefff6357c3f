"""Parse a QBO query statement into a `Query`, refusing what QBO refuses.

Grammar (keywords, entity and property names case-insensitive)::

    query     := SELECT selection FROM entity [WHERE cond (AND cond)*]
                 [(ORDERBY | ORDER BY) key ("," key)*] [paging]
    selection := "*" ("," field)* | COUNT "(" "*" ")" | field ("," field)*
    cond      := field ("=" | "!=" | "<" | "<=" | ">" | ">=" | LIKE) value
               | field IN "(" value ("," value)* ")"
    key       := field [ASC | DESC]
    paging    := STARTPOSITION n [MAXRESULTS n] | MAXRESULTS n [STARTPOSITION n]
    value     := 'string' | number | TRUE | FALSE | CURRENT_DATE

Decisions, with their evidence:

- `*` may be followed by more property names, `SELECT *, Sku FROM Item`: that is how
  clients ask for what `SELECT *` leaves out (facts file section 11; the issue's
  python-quickbooks `Item.all()` sends it). Names before `*` are a parse error.
- `ORDER BY` is accepted as well as `ORDERBY`: QBO's own parse errors list both `"order"`
  and `"orderby"` among the tokens it expects after a condition (node-quickbooks #56,
  quickbooks-ruby #471).
- `!=` is accepted: Intuit's docs name it among the operators Id does not support, and
  users run `Balance != '0.00'` (QuickBooks-V3-PHP-SDK #460).
- OR, JOIN, NOT and parentheses other than IN lists and `COUNT(*)` are parse errors
  (4000). QBO's grammar has an `<OR>` token but Intuit documents OR as unsupported.
- `'` inside a string is written `\\'` and a backslash `\\\\`; a doubled `''` ends the
  string (so `'Peet''s'` is a parse error, as QBO answers).
- Validation (4001, "Invalid query"), after the whole statement parsed:
  `MAXRESULTS` above 1000 (`value 1500 is too large. Max allowed value is 1000.`,
  quickbooks-ruby #24) or below 1; `STARTPOSITION` below 0; an operator other than `=`
  or `IN` on `Id` (Intuit's query docs); LIKE with a non-string value.
- Bounds of the emulator's own (QBO documents none), so that one statement cannot hold
  the server: a statement over `MAX_QUERY_LENGTH` characters (100,000) or an IN list
  over `MAX_IN_VALUES` values (1000) is 4001, the IN list refused as soon as its
  1001st value comes.
- `STARTPOSITION 0` is accepted and means 1: a real `StartPosition 0 MaxResults 500`
  query got past validation to a 4002 (QuickBooks-V3-DotNET-SDK #111).
- A 4000 detail reproduces QBO's (JavaCC's) layout: the token met, its line and column
  (the end of input is placed at the last character; an empty statement at line 0,
  column 0, as QBO reported), and the tokens that could have come next, sorted by name.
  That list leaves out what QBO lists but the emulator refuses (`<OR>`, `"iterator"`).
"""

from __future__ import annotations

from collections.abc import Iterable

from qbo_adapters.emulator.query_lexer import (
    Kind,
    QueryFault,
    Token,
    iter_tokens,
    java_escape,
    position,
)
from qbo_adapters.emulator.query_model import (
    DEFAULT_MAX_RESULTS,
    MAX_IN_VALUES,
    MAX_MAX_RESULTS,
    MAX_QUERY_LENGTH,
    Condition,
    Operator,
    OrderKey,
    Query,
    Selection,
    Value,
    ValueKind,
)

__all__ = ["parse", "quote"]

_COMPARISONS: dict[Kind, Operator] = {
    Kind.EQ: Operator.EQ,
    Kind.NE: Operator.NE,
    Kind.LT: Operator.LT,
    Kind.LE: Operator.LE,
    Kind.GT: Operator.GT,
    Kind.GE: Operator.GE,
    Kind.LIKE: Operator.LIKE,
}
_OPERATORS = frozenset(_COMPARISONS) | {Kind.IN}
_VALUES = frozenset(
    {Kind.STRING, Kind.INTEGER, Kind.DECIMAL, Kind.TRUE, Kind.FALSE, Kind.CURRENT_DATE}
)
_PAGING = frozenset({Kind.STARTPOSITION, Kind.MAXRESULTS})
_AFTER_ENTITY = frozenset({Kind.EOF, Kind.WHERE, Kind.ORDER, Kind.ORDERBY}) | _PAGING
_AFTER_CONDITION = frozenset({Kind.EOF, Kind.AND, Kind.ORDER, Kind.ORDERBY}) | _PAGING
_AFTER_KEY = frozenset({Kind.EOF, Kind.COMMA, Kind.ASC, Kind.DESC}) | _PAGING
_AFTER_DIRECTION = frozenset({Kind.EOF, Kind.COMMA}) | _PAGING


def quote(value: str) -> str:
    """`value` as a query string literal: quoted, with `\\` and `'` escaped by a backslash.

    `parse` reads it back as exactly `value`, whatever characters it holds.
    """
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def parse(text: str) -> Query:
    """Parse and validate one query statement.

    Raises `QueryFault` 4000 when `text` does not parse (with QBO's line/column and the
    tokens that could have come next) and 4001 when it parses but is invalid (see the
    module docstring). Never raises anything else.
    """
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryFault.invalid(
            f"query is {len(text)} characters long. Max allowed length is {MAX_QUERY_LENGTH}."
        )
    return _Parser(text).query()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.source = iter_tokens(text)
        self.tokens: list[Token] = []
        self.at = 0

    # ------------------------------------------------------------------ plumbing

    def peek(self) -> Token:
        while len(self.tokens) <= self.at:
            self.tokens.append(next(self.source))
        return self.tokens[self.at]

    def take(self, *kinds: Kind) -> Token:
        token = self.peek()
        if token.kind not in kinds:
            raise self.unexpected(kinds)
        self.at += 1
        return token

    def unexpected(self, expected: Iterable[Kind]) -> QueryFault:
        token = self.peek()
        if token.kind is Kind.EOF:
            if self.text:
                line, column = position(self.text, len(self.text) - 1)
            else:
                line, column = 0, 0
            seen = "<EOF>"
        else:
            line, column = position(self.text, token.offset)
            seen = f' {token.kind.value} "{java_escape(token.image)} "'
        kinds = sorted(set(expected), key=lambda kind: (kind is not Kind.EOF, kind.sort_name))
        lines = "".join(
            f"{kind.value} \n    " if kind is Kind.EOF else f"{kind.value} ...\n    "
            for kind in kinds
        )
        heading = "Was expecting:" if len(kinds) == 1 else "Was expecting one of:"
        return QueryFault.parse_error(
            f'Encountered "{seen}" at line {line}, column {column}.\n{heading}\n    {lines}'
        )

    # ------------------------------------------------------------------ grammar

    def query(self) -> Query:
        self.take(Kind.SELECT)
        selection, fields = self.selection()
        self.take(Kind.FROM)
        entity = self.take(Kind.IDENTIFIER)
        if "." in entity.image:
            self.at -= 1
            raise self.unexpected([Kind.IDENTIFIER])
        conditions: list[tuple[Condition, Token]] = []
        order: list[OrderKey] = []
        paging: dict[Kind, Token] = {}
        kind = self.take(*_AFTER_ENTITY).kind
        if kind is Kind.WHERE:
            conditions.append(self.condition())
            while (kind := self.take(*_AFTER_CONDITION).kind) is Kind.AND:
                conditions.append(self.condition())
        if kind in (Kind.ORDER, Kind.ORDERBY):
            if kind is Kind.ORDER:
                self.take(Kind.BY)
            order.append(self.order_key())
            while (kind := self.take(*_AFTER_DIRECTION).kind) is Kind.COMMA:
                order.append(self.order_key())
        while kind in _PAGING:
            paging[kind] = self.take(Kind.INTEGER)
            kind = self.take(Kind.EOF, *(_PAGING - paging.keys())).kind
        start, limit = self.validate(conditions, paging)
        return Query(
            entity=entity.image,
            selection=selection,
            fields=fields,
            conditions=tuple(condition for condition, _ in conditions),
            order=tuple(order),
            start_position=start,
            max_results=limit,
        )

    def selection(self) -> tuple[Selection, tuple[str, ...]]:
        token = self.take(Kind.STAR, Kind.COUNT, Kind.IDENTIFIER)
        if token.kind is Kind.STAR:
            extra: list[str] = []
            while self.take(Kind.COMMA, Kind.FROM).kind is Kind.COMMA:
                extra.append(self.take(Kind.IDENTIFIER).image)
            self.at -= 1  # FROM is the caller's
            return Selection.ALL, tuple(extra)
        if token.kind is Kind.COUNT:
            self.take(Kind.LPAREN)
            self.take(Kind.STAR)
            self.take(Kind.RPAREN)
            return Selection.COUNT, ()
        fields = [token.image]
        while self.peek().kind is Kind.COMMA:
            self.at += 1
            fields.append(self.take(Kind.IDENTIFIER).image)
        if self.peek().kind is not Kind.FROM:
            raise self.unexpected([Kind.COMMA, Kind.FROM])
        return Selection.FIELDS, tuple(fields)

    def condition(self) -> tuple[Condition, Token]:
        field = self.take(Kind.IDENTIFIER)
        operator_token = self.take(*_OPERATORS)
        if operator_token.kind is Kind.IN:
            self.take(Kind.LPAREN)
            values = [self.value()]
            while self.take(Kind.COMMA, Kind.RPAREN).kind is Kind.COMMA:
                if len(values) >= MAX_IN_VALUES:  # refused before the rest is even read
                    raise QueryFault.invalid(
                        f"IN list of {field.image} is too long. Max allowed number of "
                        f"values is {MAX_IN_VALUES}."
                    )
                values.append(self.value())
            operator = Operator.IN
        else:
            values = [self.value()]
            operator = _COMPARISONS[operator_token.kind]
        condition = Condition(field=field.image, operator=operator, values=tuple(values))
        return condition, operator_token

    def value(self) -> Value:
        token = self.take(*_VALUES)
        if token.kind is Kind.STRING:
            return Value.string(token.text)
        if token.kind in (Kind.INTEGER, Kind.DECIMAL):
            return Value.number(token.image)
        if token.kind is Kind.CURRENT_DATE:
            return Value.current_date()
        return Value.boolean(token.kind is Kind.TRUE)

    def order_key(self) -> OrderKey:
        field = self.take(Kind.IDENTIFIER).image
        following = self.take(*_AFTER_KEY)
        if following.kind in (Kind.ASC, Kind.DESC):
            return OrderKey(field=field, descending=following.kind is Kind.DESC)
        self.at -= 1
        return OrderKey(field=field)

    # ------------------------------------------------------------------ validation

    def validate(
        self, conditions: list[tuple[Condition, Token]], paging: dict[Kind, Token]
    ) -> tuple[int, int]:
        for condition, operator_token in conditions:
            if condition.field.lower() == "id" and condition.operator not in (
                Operator.EQ,
                Operator.IN,
            ):
                raise QueryFault.invalid(
                    f"Operator {operator_token.image.upper()} is not supported for property "
                    f"{condition.field}. Use = or IN."
                )
            if (
                condition.operator is Operator.LIKE
                and condition.values[0].kind is not ValueKind.STRING
            ):
                raise QueryFault.invalid(
                    f"LIKE needs a quoted string value for property {condition.field}, "
                    f"got {condition.values[0].text}"
                )
        start = _bounded(paging.get(Kind.STARTPOSITION), 1, low=0, high=None)
        limit = _bounded(
            paging.get(Kind.MAXRESULTS), DEFAULT_MAX_RESULTS, low=1, high=MAX_MAX_RESULTS
        )
        return max(start, 1), limit


def _bounded(token: Token | None, default: int, *, low: int, high: int | None) -> int:
    if token is None:
        return default
    digits = token.image.lstrip("-")
    negative = token.image.startswith("-")
    # Past 18 digits the exact value no longer matters (and int() of thousands refuses).
    value = int(token.image) if len(digits) <= 18 else (-(10**18) if negative else 10**18)
    if value < low:
        raise QueryFault.invalid(f"value {token.image} is too small. Min allowed value is {low}.")
    if high is not None and value > high:
        raise QueryFault.invalid(f"value {token.image} is too large. Max allowed value is {high}.")
    return value
