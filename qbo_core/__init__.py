"""The core of qbo-infra: ports, value types, configuration and errors. No I/O here.

The core imports only the standard library, attrs, cattrs and backoff; adapters
(`qbo_adapters`) do the I/O and the container (`qbo_container`) wires them.
"""

from qbo_core.config import QBOConfig
from qbo_core.dtos import (
    IntegrationStatus,
    QBOEvent,
    QBOIntegrationDTO,
    RateLimit,
    TokenSet,
    VersionedTokenSet,
)
from qbo_core.errors import QBOError
from qbo_core.http import Headers, HttpRequest, HttpResponse

__all__ = [
    "Headers",
    "HttpRequest",
    "HttpResponse",
    "IntegrationStatus",
    "QBOConfig",
    "QBOError",
    "QBOEvent",
    "QBOIntegrationDTO",
    "RateLimit",
    "TokenSet",
    "VersionedTokenSet",
]
