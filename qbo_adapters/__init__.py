"""Adapters for the core's ports, one folder per technology, so each extra maps to one folder.

- `qbo_adapters.memory`: in-process adapters and fakes (standard library only).
- `qbo_adapters.aiohttp`: the HTTP transport to Intuit.
- `qbo_adapters.emulator`: a stateful fake QuickBooks Online behind two doors.
- `qbo_adapters.sql`: the token store on SQLAlchemy Core (SQLite or PostgreSQL).
- `qbo_adapters.crypto`: `EncryptedTokenStore`, encryption at rest around any token store.
- `qbo_adapters.prometheus`: `PrometheusEventSink` and a `/metrics` handler (the
  `prometheus` extra).
- `qbo_adapters.testing`: the ports' contract suites, for your own adapters too.

Every adapter translates its library's exceptions into `qbo_core.errors` at the edge and
borrows long-lived resources (sessions, clients, engines) that the container owns. Importing
this package imports nothing else: import the folder you use.
"""

__all__: list[str] = []
