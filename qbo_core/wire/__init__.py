"""The wire protocol, sans I/O: build QBO requests and decode every answer QBO gives.

- `qbo_core.wire.requests`: `build_*` functions, one per operation.
- `qbo_core.wire.responses`: `decode_*` functions, one per kind of answer.
- `qbo_core.wire.entities`: entities to and from QBO's JSON (`decode_entity`,
  `decode_entity_as`, `encode_entity`); `qbo_core.wire.entity_hooks` holds the rules.
- `qbo_core.wire.reports`: a report's nested rows, flattened.
- `qbo_core.wire.faults`: every fault dialect → the most specific `QBOError`.
- `qbo_core.wire.jsonio`: JSON with exact `Decimal` numbers.
- `qbo_core.wire.canonical`: one canonical JSON form per entity, and the order-independent
  checksum a `Mirror`'s summary and QBO's entities are compared by.
"""
