"""The composition root: the typed facade `QBO`, the container, settings loading and the CLI."""

from qbo_container.container import QBOContainer, build_container, shutdown
from qbo_container.facade import QBO
from qbo_container.settings import load_settings

__all__ = [
    "QBO",
    "QBOContainer",
    "build_container",
    "load_settings",
    "shutdown",
]
