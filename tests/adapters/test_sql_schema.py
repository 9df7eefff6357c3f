"""What the SQL adapters share (`qbo_adapters.sql._schema`) beyond each store's own tests:
the schema is brought up to date once per store, not on every statement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.sql.state_store import SqlStateStore
from qbo_adapters.sql.token_store import SqlTokenStore
from tests.adapters.sql_databases import disposing, sqlite_engine


async def test_the_schema_is_checked_on_first_use_only(tmp_path: Path) -> None:
    """The first call of a store migrates (or checks) its tables; every later call runs just
    its own statements, with no look at `qbo_schema_versions`."""
    engine = sqlite_engine(tmp_path / "qbo.sqlite3")
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    async with disposing(engine):
        sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
        tokens = SqlTokenStore(engine)
        states = SqlStateStore(engine, FakeClock())
        await tokens.load("r1")
        await states.take("state")
        assert any("qbo_schema_versions" in statement for statement in statements)
        statements.clear()
        assert await tokens.load("r1") is None
        assert await states.take("state") is None
    assert len(statements) == 2
    assert not any("qbo_schema_versions" in statement for statement in statements)
