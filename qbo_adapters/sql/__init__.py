"""SQL adapters through SQLAlchemy Core, async: SQLite (aiosqlite) or PostgreSQL (asyncpg).

`SqlTokenStore` keeps OAuth tokens with atomic compare-and-set, `SqlStateStore` the
single-use OAuth `state` and `SqlMirror` a local copy of QBO companies, all on an
`AsyncEngine` the container owns, each creating and upgrading its tables on first use.
PostgreSQL needs the `postgres` extra (asyncpg).
"""

from qbo_adapters.sql.mirror import SqlMirror
from qbo_adapters.sql.state_store import SqlStateStore
from qbo_adapters.sql.token_store import SqlTokenStore

__all__ = ["SqlMirror", "SqlStateStore", "SqlTokenStore"]
