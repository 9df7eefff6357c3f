"""The host application's own settings, from `HOST_APP_*` environment variables.

qbo-infra's settings are not here: the container reads them itself (`QBO_*` variables,
and the TOML file named by `HOST_APP_QBO_FILE`), and refuses keys it does not know, so
the application keeps its own settings apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import attrs

from qbo_core import ConfigurationError
from qbo_core.services.mirror_sync import DEFAULT_MIRROR_ENTITIES

__all__ = ["AppSettings"]

_PREFIX = "HOST_APP_"


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(_PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(
            f"{_PREFIX}{name} must be a number, got {raw!r}", field=_PREFIX + name
        ) from None
    if value <= 0:
        raise ConfigurationError(f"{_PREFIX}{name} must be positive", field=_PREFIX + name)
    return value


@attrs.frozen(kw_only=True)
class AppSettings:
    """Where the app listens and how its sync job runs.

    - `host`, `port`: the address served (`HOST_APP_HOST`, default 127.0.0.1;
      `HOST_APP_PORT`, default 8080);
    - `public_url`: how browsers and Intuit reach the app (`HOST_APP_PUBLIC_URL`, default
      `http://<host>:<port>`); the OAuth redirect URI is `<public_url>/oauth/callback`
      unless `api.redirect_uri` is configured, and the webhook URL to register at Intuit
      is `<public_url>/webhooks/intuit`;
    - `sync_interval`: seconds between two runs of the mirror job
      (`HOST_APP_SYNC_INTERVAL`, default 300);
    - `sync_entities`: the entity types mirrored (`HOST_APP_SYNC_ENTITIES`, comma
      separated; default every type `MirrorSync` mirrors);
    - `data_dir`: where the mirror's SQLite file lives (`HOST_APP_DATA_DIR`, default
      `./host-app-data`);
    - `qbo_file`: a qbo-infra TOML settings file (`HOST_APP_QBO_FILE`, optional).
    """

    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""
    sync_interval: float = 300.0
    sync_entities: tuple[str, ...] = DEFAULT_MIRROR_ENTITIES
    data_dir: Path = Path("host-app-data")
    qbo_file: Path | None = None

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/oauth/callback"

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/webhooks/intuit"

    @property
    def mirror_file(self) -> Path:
        return self.data_dir / "mirror.sqlite3"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> AppSettings:
        """The settings of `environ` (default `os.environ`); `ConfigurationError` naming
        the variable for a bad value."""
        env = os.environ if environ is None else environ
        port = env.get(_PREFIX + "PORT") or "8080"
        if not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ConfigurationError(
                f"{_PREFIX}PORT must be a port number, got {port!r}", field=_PREFIX + "PORT"
            )
        entities = env.get(_PREFIX + "SYNC_ENTITIES")
        qbo_file = env.get(_PREFIX + "QBO_FILE")
        return cls(
            host=env.get(_PREFIX + "HOST") or "127.0.0.1",
            port=int(port),
            public_url=env.get(_PREFIX + "PUBLIC_URL") or "",
            sync_interval=_number(env, "SYNC_INTERVAL", 300.0),
            sync_entities=tuple(name.strip() for name in entities.split(",") if name.strip())
            if entities
            else DEFAULT_MIRROR_ENTITIES,
            data_dir=Path(env.get(_PREFIX + "DATA_DIR") or "host-app-data"),
            qbo_file=Path(qbo_file) if qbo_file else None,
        )
