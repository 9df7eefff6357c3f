"""The health monitor's adapter probes against a real Redis: a reachable cache is up with
its round trip, an unreachable one is down with the adapter's own error, and the realm's
state follows."""

from __future__ import annotations

from qbo_adapters.redis import RedisCache
from qbo_core.dtos import HealthState
from qbo_core.ports.cache import Cache
from tests.adapters.redis_server import redis_client, unreachable_client
from tests.core.test_health import HealthWorld


class CachePing:
    """A `Cache` made `Pingable`: one read of a key nobody writes."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    async def ping(self) -> None:
        await self.cache.get("0", "health-ping")


async def test_a_real_redis_cache_is_up_and_an_unreachable_one_down() -> None:
    """The same adapter class, once on the test Redis and once on a port nobody listens on:
    the first is up, the second down with `StoreUnavailableError`, and the realm UNHEALTHY."""
    world = HealthWorld()
    await world.connect()
    unreachable = unreachable_client()
    async with redis_client() as (client, prefix):
        monitor = world.monitor(
            probes={
                "cache": CachePing(RedisCache(client, world.clock, prefix=prefix)),
                "old_cache": CachePing(RedisCache(unreachable, world.clock, prefix=prefix)),
            }
        )

        health = await monitor.get_business_health_details("biz-1", realm_id=world.realm)

    await unreachable.aclose()
    assert health.adapters["cache"].up
    assert health.adapters["cache"].error is None
    down = health.adapters["old_cache"]
    assert not down.up
    assert down.error is not None
    assert down.error.startswith("StoreUnavailableError")
    assert health.state is HealthState.UNHEALTHY
    assert health.reasons[0].startswith("adapter old_cache is down: StoreUnavailableError")
