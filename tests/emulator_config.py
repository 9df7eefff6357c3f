"""The client side's `QBOConfig` for an emulator: every OAuth endpoint on its base URL.

One place for what the auth, setup, smart sync and worker-process tests each need: the
emulator's own paths (`qbo_adapters.emulator.oauth`), so a test never spells a route.
"""

from __future__ import annotations

from typing import Any

from qbo_adapters.emulator.oauth import AUTHORIZE_PATH, REVOKE_PATH, TOKEN_PATH, USERINFO_PATH
from qbo_core.config import QBOConfig

DISCOVERY_PATH = "/.well-known/openid_sandbox_configuration"


def emulator_config(
    base_url: str, *, client_id: str, client_secret: str, **changes: Any
) -> QBOConfig:
    """A `QBOConfig` whose API and OAuth endpoints are the emulator's at `base_url`;
    `changes` override or add any setting (`redirect_uri=...`)."""
    values: dict[str, Any] = {
        "client_id": client_id,
        "client_secret": client_secret,
        "api_base_url": base_url,
        "authorization_endpoint": base_url + AUTHORIZE_PATH,
        "token_endpoint": base_url + TOKEN_PATH,
        "revocation_endpoint": base_url + REVOKE_PATH,
        "userinfo_endpoint": base_url + USERINFO_PATH,
        "discovery_url": base_url + DISCOVERY_PATH,
    }
    values.update(changes)
    return QBOConfig(**values)
