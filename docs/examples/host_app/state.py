"""The typed keys of what the app keeps in `app[...]`."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from host_app.database import HostDatabase
from host_app.jobs import SyncJob, WebhookInbox
from host_app.settings import AppSettings
from qbo_adapters.aiohttp import WebhookHandler
from qbo_adapters.sql import SqlMirror
from qbo_container import QBO

__all__ = [
    "DATABASE",
    "EMULATOR_URL",
    "ENGINE",
    "INBOX",
    "MIRROR",
    "QBO_KEY",
    "SETTINGS",
    "SYNC_JOB",
    "WEBHOOKS",
]

SETTINGS = web.AppKey("settings", AppSettings)
DATABASE = web.AppKey("database", HostDatabase)
#: The typed facade, opened at startup and closed at shutdown (see `app.qbo_context`).
QBO_KEY = web.AppKey("qbo", QBO)
ENGINE = web.AppKey("mirror_engine", AsyncEngine)
MIRROR = web.AppKey("mirror", SqlMirror)
SYNC_JOB = web.AppKey("sync_job", SyncJob)
INBOX = web.AppKey("webhook_inbox", WebhookInbox)
WEBHOOKS = web.AppKey("webhook_handler", WebhookHandler)
#: Where a browser reaches the embedded emulator's consent page ("" otherwise).
EMULATOR_URL = web.AppKey("emulator_url", str)
