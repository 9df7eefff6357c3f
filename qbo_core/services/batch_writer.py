"""Writing many operations through QBO's batch endpoint, at most 30 to a request.

`write_batch(caller, items)` cuts `items` into batches of `size` (at most
`config.batch_max_items`, 30), sends them one after another, and answers one
`BatchItemResult` per item, in the order the items were given, whatever order QBO
answered in (Intuit says execution order "should not be assumed"; results are matched
by `bId`). An item QBO refused carries its error (`result.error`, a `QBOError`); the
others carry the entity, the deletion or the page.

bIds: an item with an empty `bid` gets one (`"<position in the input>"`, e.g. `"7"`,
unless some given bid already is that text, then a suffix is added); two items with the
same bid raise `ValueError` before anything is sent, since QBO could not tell their
answers apart.

Budgets are the caller's business: `SmartSyncService` applies the batch rate limits
(40/min per realm and app, 120/min per realm) in its own `batch`. A request that fails as
a whole (throttling, a 5xx, a transport error, after the caller's own retries) raises;
the results of the batches already sent are then in the error's `written` attribute
(`BatchWriteError`), so nothing written is forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import attrs

from qbo_core.config import QBOConfig
from qbo_core.errors import DecodeError, QBOError
from qbo_core.results import BatchItem, BatchItemResult

__all__ = ["BatchCaller", "BatchWriteError", "write_batch"]


class BatchCaller(Protocol):
    """Sends one batch request (at most 30 items) for one company.

    `QBORawClient.batch` without its `auth` argument: one result per item, each with its
    own error if QBO refused it; a request that fails as a whole raises `QBOError`.
    """

    async def batch(self, items: Sequence[BatchItem]) -> tuple[BatchItemResult, ...]: ...


class BatchWriteError(QBOError):
    """A batch request failed as a whole after `written` results had been received.

    `written` holds the results of the items of every earlier batch (in input order);
    the items after them were not confirmed (the failed batch may or may not have been
    applied: see `__cause__`, the caller's error).
    """

    def __init__(self, message: str, *, written: Sequence[BatchItemResult], cause: QBOError):
        super().__init__(
            message,
            status=cause.status,
            codes=cause.codes,
            intuit_tid=cause.intuit_tid,
            realm_id=cause.realm_id,
            retry_after=cause.retry_after,
        )
        self.written = tuple(written)


def _with_bids(items: Iterable[BatchItem]) -> list[BatchItem]:
    listed = list(items)
    given = [item.bid for item in listed if item.bid]
    seen: set[str] = set()
    for bid in given:
        if bid in seen:
            raise ValueError(f"two batch items share the bId {bid!r}: each bId must be unique")
        seen.add(bid)
    named: list[BatchItem] = []
    for position, item in enumerate(listed):
        if item.bid:
            named.append(item)
            continue
        # "<position>" or "<position>-<n>": never another item's, so only given bIds clash
        bid, suffix = str(position), 0
        while bid in seen:
            suffix += 1
            bid = f"{position}-{suffix}"
        named.append(attrs.evolve(item, bid=bid))
    return named


async def write_batch(
    caller: BatchCaller,
    items: Iterable[BatchItem],
    *,
    size: int | None = None,
    config: QBOConfig | None = None,
) -> list[BatchItemResult]:
    """Send `items` in batches of `size` (default and maximum: `config.batch_max_items`).

    Returns one result per item, in input order. Raises `ValueError` for duplicate bIds
    or a bad `size`, `BatchWriteError` when a request fails as a whole, and `DecodeError`
    when QBO's answer lacks an item's bId or names one not sent.
    """
    config = config or QBOConfig()
    limit = config.batch_max_items
    size = limit if size is None else size
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= limit:
        raise ValueError(f"size must be 1..{limit} (QBO's batch cap), got {size!r}")
    named = _with_bids(items)
    results: list[BatchItemResult] = []
    for start in range(0, len(named), size):
        chunk = named[start : start + size]
        try:
            answered = await caller.batch(chunk)
        except QBOError as error:
            raise BatchWriteError(
                f"batch of items {start + 1}..{start + len(chunk)} of {len(named)} failed: "
                f"{error.message}",
                written=results,
                cause=error,
            ) from error
        by_bid = {result.bid: result for result in answered}
        missing = [item.bid for item in chunk if item.bid not in by_bid]
        unknown = sorted(set(by_bid) - {item.bid for item in chunk})
        if missing or unknown:
            raise DecodeError(
                f"QBO's batch answer does not match its request: missing bIds {missing}, "
                f"unknown bIds {unknown}"
            )
        results.extend(by_bid[item.bid] for item in chunk)
    return results
