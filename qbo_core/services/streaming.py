"""Streaming a query: every page of it, one page in memory at a time.

`query_all(caller, Query.select(Invoice))` is an async iterator of `Invoice`s over every
page; `query_pages(...)` yields the `QueryPage`s themselves (with QBO's `time` and
`start_position`). Both take a `Query` from `qbo_core.query` and write the paging clauses
themselves: `STARTPOSITION` from 1, then 1 + the rows already read, `MAXRESULTS
page_size` (at most 1000, QBO's cap). A page shorter than `page_size` is the last one.

Decisions:

- **Order.** QBO documents no order for a query without ORDERBY, and offset paging over an
  unordered result may repeat or skip rows between pages. A query with no ORDERBY is
  therefore sent with `ORDERBY Id` (ids are unique, so the order is total). A caller who
  wants another order gives it, ideally ending with a unique key. (An Intuit email of
  November 2025 announced that Id would stop being sortable, UNCONFIRMED; should QBO
  refuse it, pass your own ORDERBY.)
- **A moving target.** Offset paging reads a live result: a row deleted (or, under an
  ORDERBY on a changing property, updated) between two pages shifts the rows after it by
  one, and one row is then skipped. For a consistent copy of a company use incremental
  sync (`qbo_core.services.incremental`), which pages by `MetaData.LastUpdatedTime`
  instead and catches whatever changed meanwhile.
- **Refused**: a query that already carries `STARTPOSITION` or `MAXRESULTS` (the pages
  are this module's to write; `ValueError`), a `COUNT(*)` query (it has no rows;
  `ValueError`), a string statement (`TypeError`: build it with `Query`, whose clauses can
  be read and written safely), a `page_size` outside 1..1000 (`ValueError`).

The caller is anything with `QBORawClient.query`'s shape minus the `auth` argument
(`QueryCaller`): `SmartSyncService`, or a raw client bound to one realm.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, TypeVar, cast, overload

from qbo_core.entities import QBOEntity, TypedEntity
from qbo_core.query import MAX_MAX_RESULTS, Query
from qbo_core.results import QueryPage

__all__ = ["QueryCaller", "query_all", "query_pages"]

E = TypeVar("E", bound=QBOEntity)
T = TypeVar("T", bound=TypedEntity)


class QueryCaller(Protocol):
    """Sends one query statement for one company and answers with one page.

    `QBORawClient.query` without its `auth` argument: a query built from a typed class
    (`Query.select(Customer)`) answers with a page of that class. Raises what the raw
    client raises (`QBOError` subclasses).
    """

    @overload
    async def query(self, statement: Query[T]) -> QueryPage[T]: ...
    @overload
    async def query(self, statement: str | Query[QBOEntity]) -> QueryPage[QBOEntity]: ...


def check_page_size(page_size: int) -> int:
    """`page_size` if it is a whole number in 1..1000, else `ValueError`/`TypeError`."""
    if not isinstance(page_size, int) or isinstance(page_size, bool):
        raise TypeError(f"page_size must be an int, got {type(page_size).__name__}")
    if not 1 <= page_size <= MAX_MAX_RESULTS:
        raise ValueError(f"page_size must be 1..{MAX_MAX_RESULTS} (QBO's cap), got {page_size}")
    return page_size


def _pageable(query: Query[E]) -> Query[E]:
    if not isinstance(query, Query):
        raise TypeError(
            f"query_all takes a Query (qbo_core.query), not a {type(query).__name__}: "
            "build the statement with Query.select(...) so its paging can be written safely"
        )
    if query.count_only:
        raise ValueError("a SELECT COUNT(*) query has no rows to stream; use count()")
    if query.start is not None or query.limit is not None:
        raise ValueError(
            "the query already carries STARTPOSITION or MAXRESULTS: streaming writes the "
            "paging itself (pass page_size instead)"
        )
    return query if query.order else query.order_by("Id")


def query_pages(
    caller: QueryCaller, query: Query[E], *, page_size: int = MAX_MAX_RESULTS
) -> AsyncIterator[QueryPage[E]]:
    """Every page of `query`, in order, each fetched when the previous one was consumed.

    The last page is the first one shorter than `page_size` (possibly empty: a result of
    exactly `page_size` rows ends with an empty page). What is refused (see the module)
    is refused here, at the call, before anything is sent.
    """
    return _pages(caller, _pageable(query), check_page_size(page_size))


async def _pages(caller: QueryCaller, query: Query[E], size: int) -> AsyncIterator[QueryPage[E]]:
    start = 1
    while True:
        statement = query.start_position(start).max_results(size)
        # The decoder built the page from the query's own class: its items are `E`.
        page = cast("QueryPage[E]", await caller.query(statement))
        yield page
        if len(page) < size:
            return
        start += len(page)


def query_all(
    caller: QueryCaller, query: Query[E], *, page_size: int = MAX_MAX_RESULTS
) -> AsyncIterator[E]:
    """Every entity `query` matches, page by page, holding one page in memory.

    `query_all(caller, Query.select(Invoice))` yields `Invoice`s; a query built from a
    name yields `QBOEntity`s. A refused query raises at the call; an error from a page is
    raised where the iteration is.
    """
    return _items(query_pages(caller, query, page_size=page_size))


async def _items(pages: AsyncIterator[QueryPage[E]]) -> AsyncIterator[E]:
    async for page in pages:
        for item in page.items:
            yield item
