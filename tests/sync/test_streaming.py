"""`query_all` / `query_pages`: every row of a query, page by page, against the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from qbo_core.entities import Customer, QBOEntity
from qbo_core.query import Field, Query
from qbo_core.services import query_all, query_pages
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
