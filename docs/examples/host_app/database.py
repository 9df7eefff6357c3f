"""The host's own data: its businesses, in memory.

`HostDatabase` stands in for the host's real database: the library never owns a host
model. The app reads a business's name and its company's realm id from here and passes
them to the library as plain arguments; after a connection it records the realm id.
"""

from __future__ import annotations

import attrs

__all__ = ["Business", "HostDatabase"]


@attrs.define(kw_only=True)
class Business:
    """One of the host's businesses: its name, and its QBO company once connected."""

    name: str
    realm_id: str | None = None


class HostDatabase:
    """The host's businesses by id, in memory (a real host has its own tables)."""

    def __init__(self, businesses: dict[str, Business] | None = None) -> None:
        self.businesses: dict[str, Business] = (
            dict(businesses)
            if businesses is not None
            else {
                "acme": Business(name="Acme Plumbing"),
                "globex": Business(name="Globex Bakery"),
            }
        )

    def get(self, business_id: str) -> Business | None:
        return self.businesses.get(business_id)

    def connected(self) -> list[tuple[str, Business]]:
        """The businesses whose company is connected, by id."""
        return [(key, b) for key, b in sorted(self.businesses.items()) if b.realm_id is not None]

    def business_of(self, realm_id: str) -> str | None:
        """The business connected to QBO company `realm_id`, if any."""
        for key, business in self.businesses.items():
            if business.realm_id == realm_id:
                return key
        return None
