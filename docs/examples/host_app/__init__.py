"""An example host application: an aiohttp web app that injects qbo-infra's container.

Copy it as a starting point. It connects its businesses' QuickBooks companies through
OAuth, receives Intuit's webhooks, mirrors every connected company into SQLite in a
background job, and reports each business's connection health. See README.md beside it;
run it with `PYTHONPATH=docs/examples python -m host_app` from the repository's root.
"""

from host_app.app import create_app
from host_app.database import Business, HostDatabase
from host_app.settings import AppSettings

__all__ = ["AppSettings", "Business", "HostDatabase", "create_app"]
