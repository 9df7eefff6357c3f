"""`python -m host_app` (with `docs/examples` on `PYTHONPATH`): serve the example app.

Settings: `HOST_APP_*` (see `host_app.settings`) and qbo-infra's `QBO_*` variables.
With no `QBO_*` set it runs against the embedded QBO emulator.
"""

from __future__ import annotations

import logging
import os

from aiohttp import web

from host_app.app import create_app
from host_app.settings import AppSettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # qbo-infra logs an event per request at INFO (the `events` settings); keep the
    # app's own lines readable. HOST_APP_QBO_LOG_LEVEL=INFO shows them.
    logging.getLogger("qbo").setLevel(os.environ.get("HOST_APP_QBO_LOG_LEVEL", "WARNING"))
    settings = AppSettings.from_environ()
    web.run_app(create_app(settings), host=settings.host, port=settings.port)


if __name__ == "__main__":
    main()
