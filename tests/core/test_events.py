"""Event kinds: named constants in one module, each a distinct dotted name."""

from __future__ import annotations

import re
from pathlib import Path

from qbo_core import events

ROOT = Path(__file__).resolve().parents[2]


def test_every_kind_is_a_distinct_dotted_name_listed_in_all_kinds() -> None:
    """Each constant is `family.name` in lower case, none repeats, ALL_KINDS lists them all."""
    constants = {name: getattr(events, name) for name in events.__all__ if name != "ALL_KINDS"}
    assert set(constants.values()) == set(events.ALL_KINDS)
    assert len(events.ALL_KINDS) == len(set(events.ALL_KINDS))
    for kind in events.ALL_KINDS:
        assert re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", kind), kind


def test_no_package_emits_a_kind_as_a_literal_string() -> None:
    """Code in the packages builds QBOEvent(kind=<constant>), never kind="<literal>" (the
    contract suites in qbo_adapters.testing feed sinks arbitrary kinds as test data)."""
    literal = re.compile(r"QBOEvent\(\s*kind=[\"']")
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("qbo_core", "qbo_adapters", "qbo_container")
        for path in (ROOT / package).rglob("*.py")
        if "testing" not in path.parts and literal.search(path.read_text())
    ]
    assert offenders == []
    assert "kind=HTTP_REQUEST" in (ROOT / "qbo_core/services/raw_client.py").read_text()
