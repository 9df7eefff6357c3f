"""The composition root: the dependency-injector container, settings loading and the CLI."""

from qbo_container.container import QBOContainer, build_container, raw_client, shutdown, transport
from qbo_container.settings import load_settings

__all__ = [
    "QBOContainer",
    "build_container",
    "load_settings",
    "raw_client",
    "shutdown",
    "transport",
]
