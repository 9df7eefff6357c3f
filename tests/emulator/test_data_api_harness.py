"""The data-API test harness's own behaviour (`tests/emulator/harness.py`)."""

from __future__ import annotations

from tests.emulator.harness import shape_problems


def test_shape_problems_reports_keys_and_types_but_not_values() -> None:
    """The shape comparison flags a missing key and a changed type, never a changed value."""
    expected = {"Id": "1", "Amount": 1.5, "Line": [{"x": True}], "Ref": {"value": "2"}}
    assert (
        shape_problems(
            expected, {"Id": "9", "Amount": 2, "Line": [{"x": False}], "Ref": {"value": "3"}}
        )
        == []
    )
    problems = shape_problems(expected, {"Id": 1, "Line": [], "Ref": {"value": "2", "n": 1}})
    assert problems == [
        "$: missing keys ['Amount']",
        "$.Id: expected string, got number",
        "$.Line: expected 1 items, got 0",
        "$.Ref: unexpected keys ['n']",
    ]
