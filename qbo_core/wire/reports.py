"""A QBO report's nested `Rows` flattened into `ReportRow`s: a pure function.

QBO nests sections (`{"Header", "Rows", "Summary", "group"}`) inside sections, with data
rows (`{"ColData"}`) at the leaves. `report_rows` walks them depth first: a section's
header row, then its rows, then its summary row, each with the titles of the sections it
sits in (`path`) and the innermost section's `group`. Whatever the structure holds, the
walk yields rows or skips what is not shaped like one; it never raises.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from qbo_core.results import ReportCell, ReportRow

__all__ = ["report_rows"]


def report_rows(rows: object) -> tuple[ReportRow, ...]:
    """Every row of a report's `Rows` object, flattened (see the module docstring)."""
    return tuple(_walk(rows, (), None))


def _cells(data: object) -> tuple[ReportCell, ...]:
    if not isinstance(data, Mapping):
        return ()
    cells = data.get("ColData")
    if not isinstance(cells, list):
        return ()
    return tuple(
        ReportCell(
            value=str(cell.get("value", "")),
            id=str(cell["id"]) if cell.get("id") is not None else None,
        )
        for cell in cells
        if isinstance(cell, Mapping)
    )


def _walk(rows: object, path: tuple[str, ...], group: str | None) -> Iterator[ReportRow]:
    if not isinstance(rows, Mapping):
        return
    items = rows.get("Row")
    if not isinstance(items, list):
        return
    for row in items:
        if not isinstance(row, Mapping):
            continue
        own_group = str(row["group"]) if row.get("group") is not None else group
        if "ColData" in row:
            yield ReportRow(kind="Data", cells=_cells(row), path=path, group=own_group)
            continue
        header = _cells(row.get("Header"))
        title = header[0].value if header else (own_group or "")
        inner = (*path, title)
        if header:
            yield ReportRow(kind="Header", cells=header, path=inner, group=own_group)
        yield from _walk(row.get("Rows"), inner, own_group)
        summary = _cells(row.get("Summary"))
        if summary:
            yield ReportRow(kind="Summary", cells=summary, path=inner, group=own_group)
