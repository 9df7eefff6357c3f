"""The wire protocol, sans I/O: build QBO requests and decode every answer QBO gives.

- `qbo_core.wire.requests`: `build_*` functions, one per operation.
- `qbo_core.wire.responses`: `decode_*` functions, one per kind of answer.
- `qbo_core.wire.faults`: every fault dialect → the most specific `QBOError`.
- `qbo_core.wire.jsonio`: JSON with exact `Decimal` numbers.
"""
