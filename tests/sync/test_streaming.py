"""`query_all` / `query_pages`: every row of a query, page by page, against the emulator."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from qbo_core.entities import Customer, QBOEntity
from qbo_core.query import Field, Query
from qbo_core.services import query_all, query_pages
from tests.sync.fake_qbo import FakeQBO
from tests.sync.world import SyncWorld


@pytest.fixture
def world() -> SyncWorld:
    return SyncWorld()


async def _collect(items: AsyncIterator[QBOEntity]) -> list[QBOEntity]:
    return [item async for item in items]


async def test_query_all_yields_every_customer_once_typed(world: SyncWorld) -> None:
    """Paging by 7 reads every customer exactly once, as typed `Customer`s, in Id order."""
    expected = sorted((c["Id"] for c in world.company.all("Customer")), key=lambda text: int(text))
    assert len(expected) > 20
    found: list[Customer] = [
        c async for c in query_all(world.client, Query.select(Customer), page_size=7)
    ]
    assert all(type(c) is Customer for c in found)
    assert [c.id for c in found] == expected
    # One request per page, the last one short.
    assert world.requests("/query") == len(expected) // 7 + 1


async def test_pages_write_startposition_and_orderby_id(world: SyncWorld) -> None:
    """The pages are STARTPOSITION 1, 1+n, ... MAXRESULTS n, ordered by Id when unordered."""
    pages = [
        page async for page in query_pages(world.client, Query.select("Customer"), page_size=10)
    ]
    assert [page.start_position for page in pages if page.items] == [
        1 + 10 * i for i in range(len([p for p in pages if p.items]))
    ]
    assert all(len(page) == 10 for page in pages[:-1])
    assert len(pages[-1]) < 10
    assert all(page.time is not None for page in pages)
    assert world.client.statements == [
        f"SELECT * FROM Customer ORDERBY Id ASC STARTPOSITION {1 + 10 * i} MAXRESULTS 10"
        for i in range(len(pages))
    ]


async def test_given_order_and_conditions_are_kept(world: SyncWorld) -> None:
    """A query's own ORDERBY and WHERE are sent as given; paging adds only its clauses."""
    query = (
        Query.select(Customer)
        .where(Field("Active") == True)  # noqa: E712
        .order_by("DisplayName", descending=True)
    )
    found = [c.display_name or "" async for c in query_all(world.client, query, page_size=5)]
    active = [c["DisplayName"] for c in world.company.all("Customer") if c.get("Active", True)]
    assert sorted(found, reverse=True) == found
    assert sorted(found) == sorted(active)


async def test_a_result_of_exactly_one_page_ends_with_an_empty_page(world: SyncWorld) -> None:
    """When the rows fill the last page exactly, one more (empty) page confirms the end."""
    total = len(list(world.company.all("Customer")))
    pages = [p async for p in query_pages(world.client, Query.select(Customer), page_size=total)]
    assert [len(p) for p in pages] == [total, 0]


@pytest.mark.parametrize(
    ("query", "error", "words"),
    [
        (Query.select(Customer).max_results(10), ValueError, "STARTPOSITION or MAXRESULTS"),
        (Query.select(Customer).start_position(3), ValueError, "STARTPOSITION or MAXRESULTS"),
        (Query.count(Customer), ValueError, "COUNT"),
        ("SELECT * FROM Customer", TypeError, "takes a Query"),
    ],
)
def test_refused_queries_raise_at_the_call(
    world: SyncWorld, query: object, error: type[Exception], words: str
) -> None:
    """Paging clauses, COUNT and raw strings are refused before any request is sent."""
    with pytest.raises(error, match=words):
        query_all(world.client, query)  # type: ignore[arg-type]
    assert world.requests("/query") == 0


@pytest.mark.parametrize("size", [0, 1001, -5])
def test_page_size_outside_qbo_cap_is_refused(world: SyncWorld, size: int) -> None:
    """page_size is 1..1000: QBO answers 4001 past 1000."""
    with pytest.raises(ValueError, match=r"1\.\.1000"):
        query_pages(world.client, Query.select(Customer), page_size=size)


# --------------------------------------------------------------------------------------
# Against FakeQBO: the statements themselves, and the refusals' whole messages.


def _customers(count: int) -> FakeQBO:
    qbo = FakeQBO(datetime(2031, 6, 1, tzinfo=UTC))
    qbo.entities = [Customer(id=str(i), display_name=f"C{i}") for i in range(1, count + 1)]
    return qbo


async def test_the_default_page_is_qbos_cap_of_1000_rows() -> None:
    """Without page_size, each page asks MAXRESULTS 1000, the next one starting after the
    rows read."""
    qbo = _customers(1000)
    found = [c.id async for c in query_all(qbo, Query.select(Customer))]
    assert len(found) == 1000
    assert qbo.statements == [
        "SELECT * FROM Customer ORDERBY Id ASC STARTPOSITION 1 MAXRESULTS 1000",
        "SELECT * FROM Customer ORDERBY Id ASC STARTPOSITION 1001 MAXRESULTS 1000",
    ]


async def test_a_query_with_its_own_order_is_sent_without_orderby_id() -> None:
    """A query that names its order is paged in that order alone: no Id is added."""
    qbo = _customers(3)
    query = Query.select(Customer).order_by("Id", descending=True)
    assert [c.id async for c in query_all(qbo, query, page_size=2)] == ["3", "2", "1"]
    assert qbo.statements == [
        "SELECT * FROM Customer ORDERBY Id DESC STARTPOSITION 1 MAXRESULTS 2",
        "SELECT * FROM Customer ORDERBY Id DESC STARTPOSITION 3 MAXRESULTS 2",
    ]


@pytest.mark.parametrize("size", [1, 1000])
async def test_page_sizes_at_the_ends_of_the_range_are_taken(size: int) -> None:
    """1 and 1000 are both valid page sizes."""
    qbo = _customers(2)
    pages = [len(page) async for page in query_pages(qbo, Query.select(Customer), page_size=size)]
    assert pages == ([1, 1, 0] if size == 1 else [2])


@pytest.mark.parametrize(
    ("size", "error", "message"),
    [
        ("10", TypeError, "page_size must be an int, got str"),
        (10.0, TypeError, "page_size must be an int, got float"),
        (True, TypeError, "page_size must be an int, got bool"),
        (0, ValueError, "page_size must be 1..1000 (QBO's cap), got 0"),
        (1001, ValueError, "page_size must be 1..1000 (QBO's cap), got 1001"),
    ],
)
def test_a_bad_page_size_is_refused_saying_why(
    size: object, error: type[Exception], message: str
) -> None:
    """A page size that is not an int (a bool is not one) or is outside 1..1000."""
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        query_pages(_customers(1), Query.select(Customer), page_size=size)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "error", "message"),
    [
        (
            Query.select(Customer).max_results(10),
            ValueError,
            "the query already carries STARTPOSITION or MAXRESULTS: streaming writes the "
            "paging itself (pass page_size instead)",
        ),
        (
            Query.count(Customer),
            ValueError,
            "a SELECT COUNT(*) query has no rows to stream; use count()",
        ),
        (
            "SELECT * FROM Customer",
            TypeError,
            "query_all takes a Query (qbo_core.query), not a str: build the statement with "
            "Query.select(...) so its paging can be written safely",
        ),
    ],
)
def test_a_refused_query_says_why(query: object, error: type[Exception], message: str) -> None:
    """Each refusal's whole message: what was wrong, and what to do instead."""
    qbo = _customers(1)
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        query_all(qbo, query)  # type: ignore[arg-type]
    assert qbo.statements == []
