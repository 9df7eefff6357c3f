"""The services: orchestration over the ports (no I/O of their own)."""

from qbo_core.services.auth import QBOAuthService
from qbo_core.services.rate_limiter import RateLimiter
from qbo_core.services.raw_client import QBORawClient
from qbo_core.services.setup import QBOSetupService

__all__ = ["QBOAuthService", "QBORawClient", "QBOSetupService", "RateLimiter"]
