"""QBO's query language for the emulator: parse a statement, run it, shape the answer.

`parse(text) -> Query` (4000/4001 `QueryFault`s in QBO's words), `execute(query,
entities) -> QueryResult` (filter, order, page; 4001/4002), `to_response(query, result,
entity_name)` (the `QueryResponse` object), and `quote(value)` to write a string literal.
Pure functions, no I/O. The rules and their evidence: `query_parser` (grammar,
validation), `query_where` (matching), `query_values` (numbers, times), `query_order`
(ORDERBY), `query_defaults` (QBO's per-entity order and inactive rule), `query_eval`
(paging, projection, property names).
"""

from __future__ import annotations

from qbo_adapters.emulator.query_defaults import (
    carries_total_count,
    default_order_for,
    hides_inactive,
    left_out_of_star,
)
from qbo_adapters.emulator.query_eval import QueryResult, execute, to_response
from qbo_adapters.emulator.query_lexer import QueryFault
from qbo_adapters.emulator.query_model import (
    DEFAULT_MAX_RESULTS,
    MAX_MAX_RESULTS,
    Condition,
    Operator,
    OrderKey,
    Query,
    Selection,
    Value,
    ValueKind,
)
from qbo_adapters.emulator.query_parser import parse, quote

__all__ = [
    "DEFAULT_MAX_RESULTS",
    "MAX_MAX_RESULTS",
    "Condition",
    "Operator",
    "OrderKey",
    "Query",
    "QueryFault",
    "QueryResult",
    "Selection",
    "Value",
    "ValueKind",
    "carries_total_count",
    "default_order_for",
    "execute",
    "hides_inactive",
    "left_out_of_star",
    "parse",
    "quote",
    "to_response",
]
