"""SQL adapters through SQLAlchemy Core, async: SQLite (aiosqlite) or PostgreSQL (asyncpg).

`SqlTokenStore` keeps OAuth tokens with atomic compare-and-set, on an `AsyncEngine` the
container owns. PostgreSQL needs the `postgres` extra (asyncpg).
"""

from qbo_adapters.sql.token_store import SqlTokenStore

__all__ = ["SqlTokenStore"]
