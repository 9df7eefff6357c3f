"""`RetryPolicy`: how often and how long `SmartSyncService` tries one call again.

The waits come from `backoff`'s generators: `backoff.expo` (``base * factor ** n``, capped
at `cap`) with full jitter (a uniform draw in ``[0, that]``, AWS's "Full Jitter"), so
many workers that failed together do not come back together. The service sleeps them
on the `Clock` port, so a fake clock makes every retry test instant and exact.

Which errors are retried is the service's decision (see `SmartSyncService`); the policy
only bounds how many attempts and how much time one call may take:

- `max_attempts`: sends of one call, the first included (a 429 and a 401 count too);
- `max_elapsed`: seconds from the first attempt. A retry whose wait would end past it
  is not made; the last error is raised instead. A 429's wait (Retry-After, or
  `throttle_wait` when QBO sends none) counts the same way.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import attrs
import backoff

__all__ = ["RetryPolicy"]


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a positive number of seconds, got {value!r}")


def _at_least_one(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be a whole number >= 1, got {value!r}")


def _growth(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value >= 1):
        raise ValueError(f"{attribute.name} must be >= 1, got {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """Attempts and waits for one call (see the module docstring).

    Defaults: 5 attempts within 300 s; waits drawn from [0, 0.5 s], [0, 1 s], [0, 2 s],
    ... up to [0, 30 s]; 60 s assumed for a 429 without Retry-After (Intuit's advice).
    `rng` draws the jitter (a seeded `random.Random` makes the waits reproducible);
    `None` uses `backoff.full_jitter`, on the `random` module.
    """

    max_attempts: int = attrs.field(default=5, validator=_at_least_one)
    max_elapsed: float = attrs.field(default=300.0, converter=float, validator=_positive)
    base: float = attrs.field(default=0.5, converter=float, validator=_positive)
    factor: float = attrs.field(default=2.0, converter=float, validator=_growth)
    cap: float = attrs.field(default=30.0, converter=float, validator=_positive)
    throttle_wait: float = attrs.field(default=60.0, converter=float, validator=_positive)
    rng: random.Random | None = attrs.field(default=None, eq=False, repr=False)

    def waits(self) -> Iterator[float]:
        """The waits before the 2nd, 3rd, ... attempt: endless; the caller stops.

        Each is ``jitter(min(cap, base * factor ** n))`` for n = 0, 1, 2, ...
        """
        ceilings = backoff.expo(base=self.factor, factor=self.base, max_value=self.cap)
        next(ceilings)  # backoff's generators are primed with one `next` (they yield None)
        rng = self.rng
        for ceiling in ceilings:
            yield rng.uniform(0.0, ceiling) if rng is not None else backoff.full_jitter(ceiling)

    def ceilings(self) -> Iterator[float]:
        """The upper bounds of the waits `waits` draws from, in order (for tests and docs)."""
        ceilings = backoff.expo(base=self.factor, factor=self.base, max_value=self.cap)
        next(ceilings)
        yield from ceilings
