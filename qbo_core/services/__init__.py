"""The services: orchestration over the ports (no I/O of their own)."""

from qbo_core.services.auth import QBOAuthService
from qbo_core.services.raw_client import QBORawClient
from qbo_core.services.retry import RetryPolicy
from qbo_core.services.setup import QBOSetupService
from qbo_core.services.smart_sync import (
    Permits,
    ReadCoalescer,
    SmartSyncService,
    UnlimitedPermits,
)

__all__ = [
    "Permits",
    "QBOAuthService",
    "QBORawClient",
    "QBOSetupService",
    "ReadCoalescer",
    "RetryPolicy",
    "SmartSyncService",
    "UnlimitedPermits",
]
