"""`report_rows`: a report's nested `Rows` flattened, depth first, never raising.

Each test feeds the walk a `Rows` object as QBO nests it (sections of `Header`, `Rows`,
`Summary` and `group`, data rows of `ColData` at the leaves) and reads back the flat rows:
their kind, cells, the titles of the sections around them (`path`) and their `group`.
"""

from __future__ import annotations

from typing import Any, Literal

import pytest

from qbo_core.results import ReportCell, ReportRow
from qbo_core.wire.reports import report_rows


def cells(*values: str) -> dict[str, Any]:
    """A `ColData` / `Header` / `Summary` object with one cell per value."""
    return {"ColData": [{"value": value} for value in values]}


def row(
    kind: Literal["Header", "Data", "Summary"],
    values: tuple[str, ...],
    path: tuple[str, ...],
    group: str | None,
) -> ReportRow:
    return ReportRow(
        kind=kind,
        cells=tuple(ReportCell(value=value) for value in values),
        path=path,
        group=group,
    )


def test_sections_give_header_rows_then_summary_depth_first() -> None:
    """A section yields its header row, its rows (nested sections walked in place), then its
    summary row; each row carries the titles of the sections around it and the innermost
    section's group."""
    rows = {
        "Row": [
            {
                "type": "Section",
                "group": "Income",
                "Header": cells("Income", ""),
                "Rows": {
                    "Row": [
                        cells("Services", "10.00"),
                        {
                            "Header": cells("Products", ""),
                            "Rows": {"Row": [cells("Widgets", "2.00")]},
                            "Summary": cells("Total Products", "2.00"),
                        },
                    ]
                },
                "Summary": cells("Total Income", "12.00"),
            },
            {"group": "NetIncome", "Summary": cells("Net Income", "12.00")},
        ]
    }
    assert report_rows(rows) == (
        row("Header", ("Income", ""), ("Income",), "Income"),
        row("Data", ("Services", "10.00"), ("Income",), "Income"),
        row("Header", ("Products", ""), ("Income", "Products"), "Income"),
        row("Data", ("Widgets", "2.00"), ("Income", "Products"), "Income"),
        row("Summary", ("Total Products", "2.00"), ("Income", "Products"), "Income"),
        row("Summary", ("Total Income", "12.00"), ("Income",), "Income"),
        row("Summary", ("Net Income", "12.00"), ("NetIncome",), "NetIncome"),
    )


def test_a_top_level_data_row_has_no_path_and_no_group() -> None:
    """A data row outside any section sits at the empty path with no group."""
    assert report_rows({"Row": [cells("Income", "10.00")]}) == (
        row("Data", ("Income", "10.00"), (), None),
    )


def test_a_rows_own_group_wins_over_its_sections() -> None:
    """A row's own `group` (made text) replaces the section's for it and whatever it holds."""
    rows = {
        "Row": [
            {
                "group": "Outer",
                "Header": cells("Outer"),
                "Rows": {
                    "Row": [
                        {**cells("a"), "group": 7},
                        {"group": None, **cells("b")},
                        {"group": "Inner", "Rows": {"Row": [cells("c")]}},
                    ]
                },
            }
        ]
    }
    assert [(r.kind, r.group, r.path) for r in report_rows(rows)] == [
        ("Header", "Outer", ("Outer",)),
        ("Data", "7", ("Outer",)),
        ("Data", "Outer", ("Outer",)),
        ("Data", "Inner", ("Outer", "Inner")),
    ]


def test_a_section_without_a_header_is_titled_by_its_group_or_nothing() -> None:
    """Without a header row a section's title in the path is its group, else empty text;
    no header row is yielded for it."""
    rows = {
        "Row": [
            {"group": "GrossProfit", "Rows": {"Row": [cells("x")]}},
            {"Rows": {"Row": [cells("y")]}, "Summary": cells("Total")},
            {"Header": {"ColData": []}, "Rows": {"Row": [cells("z")]}},
        ]
    }
    assert report_rows(rows) == (
        row("Data", ("x",), ("GrossProfit",), "GrossProfit"),
        row("Data", ("y",), ("",), None),
        row("Summary", ("Total",), ("",), None),
        row("Data", ("z",), ("",), None),
    )


def test_a_section_title_is_its_headers_first_cell() -> None:
    """The title a section adds to the path is the value of its header's first cell."""
    rows = {"Row": [{"Header": cells("First", "Second"), "Rows": {"Row": [cells("x")]}}]}
    assert [r.path for r in report_rows(rows)] == [("First",), ("First",)]


def test_a_data_row_is_a_leaf_even_with_section_keys() -> None:
    """A row with `ColData` is a data row: any `Header`, `Rows` or `Summary` it holds is not
    walked."""
    data = {
        **cells("leaf"),
        "Header": cells("H"),
        "Rows": {"Row": [cells("inner")]},
        "Summary": cells("S"),
    }
    assert report_rows({"Row": [data, cells("next")]}) == (
        row("Data", ("leaf",), (), None),
        row("Data", ("next",), (), None),
    )


def test_cells_read_value_and_id_as_text() -> None:
    """A cell's value and id are text (numbers made text); a missing value is empty, a
    missing or null id is `None`; entries that are not objects are skipped."""
    data = {
        "ColData": [
            {"value": "Invoice", "id": "130"},
            {"value": 5, "id": 7},
            {"id": None},
            "junk",
            {},
        ]
    }
    (found,) = report_rows({"Row": [data]})
    assert found.cells == (
        ReportCell(value="Invoice", id="130"),
        ReportCell(value="5", id="7"),
        ReportCell(value="", id=None),
        ReportCell(value="", id=None),
    )


def test_coldata_that_is_not_a_list_gives_a_row_without_cells() -> None:
    """A data row whose `ColData` is not a list is kept, with no cells."""
    assert report_rows({"Row": [{"ColData": {"value": "x"}}]}) == (row("Data", (), (), None),)


def test_rows_that_are_not_objects_are_skipped_and_the_walk_goes_on() -> None:
    """A row entry that is not an object is skipped; the rows after it still count."""
    rows = {"Row": ["junk", None, 3, cells("kept"), ["x"], cells("also")]}
    assert [r.cells[0].value for r in report_rows(rows)] == ["kept", "also"]


@pytest.mark.parametrize(
    "rows",
    [None, "Rows", [cells("x")], {}, {"Row": None}, {"Row": {"ColData": []}}, {"row": []}],
)
def test_rows_not_shaped_like_rows_give_nothing(rows: object) -> None:
    """A `Rows` that is not an object holding a `Row` list yields no row, and does not raise."""
    assert report_rows(rows) == ()


def test_a_header_or_summary_that_is_not_an_object_is_no_row() -> None:
    """A section's header or summary that is not an object (or has no cells) yields no row;
    its inner rows are still walked."""
    rows = {
        "Row": [
            {"Header": ["x"], "Rows": {"Row": [cells("a")]}, "Summary": "Total"},
            {"Header": cells("H"), "Rows": "junk", "Summary": {"ColData": "x"}},
        ]
    }
    assert report_rows(rows) == (
        row("Data", ("a",), ("",), None),
        row("Header", ("H",), ("H",), None),
    )
