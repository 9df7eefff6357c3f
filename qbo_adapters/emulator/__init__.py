"""A faithful QuickBooks Online emulator: one sans-I/O handler behind two doors.

`QBOEmulator.handle(HttpRequest) -> HttpResponse` serves the data API, OAuth 2 and a
control API on in-memory, seeded company data. `EmulatorTransport` is the in-process
door (an `HttpTransport`, no sockets); `qbo emulator` serves the same handler over HTTP.
"""

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.server import HandlerServer, serve_emulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.transport import EmulatorTransport

__all__ = [
    "EmulatorSettings",
    "EmulatorTransport",
    "HandlerServer",
    "QBOEmulator",
    "serve_emulator",
]
