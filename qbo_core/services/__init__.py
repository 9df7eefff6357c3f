"""The services: orchestration over the ports (no I/O of their own)."""

from qbo_core.services.auth import QBOAuthService
from qbo_core.services.batch_writer import BatchCaller, BatchWriteError, write_batch
from qbo_core.services.health import (
    HealthRecorder,
    HealthThresholds,
    Pingable,
    QBOHealthMonitor,
)
from qbo_core.services.incremental import ChangeCaller, changes_since
from qbo_core.services.mirror_sync import DEFAULT_MIRROR_ENTITIES, MirrorSync, compare_summaries
from qbo_core.services.rate_limiter import RateLimiter
from qbo_core.services.raw_client import QBORawClient
from qbo_core.services.retry import RetryPolicy
from qbo_core.services.setup import QBOSetupService
from qbo_core.services.smart_sync import (
    Permits,
    ReadCoalescer,
    SmartSyncService,
    UnlimitedPermits,
)
from qbo_core.services.streaming import QueryCaller, query_all, query_pages
from qbo_core.services.webhooks import (
    ReconcileResult,
    WebhookReceipt,
    WebhookReceiver,
    reconcile,
)

__all__ = [
    "DEFAULT_MIRROR_ENTITIES",
    "BatchCaller",
    "BatchWriteError",
    "ChangeCaller",
    "HealthRecorder",
    "HealthThresholds",
    "MirrorSync",
    "Permits",
    "Pingable",
    "QBOAuthService",
    "QBOHealthMonitor",
    "QBORawClient",
    "QBOSetupService",
    "QueryCaller",
    "RateLimiter",
    "ReadCoalescer",
    "ReconcileResult",
    "RetryPolicy",
    "SmartSyncService",
    "UnlimitedPermits",
    "WebhookReceipt",
    "WebhookReceiver",
    "changes_since",
    "compare_summaries",
    "query_all",
    "query_pages",
    "reconcile",
    "write_batch",
]
