"""Concurrent cache misses for one key share one lookup.

When a short-lived cache entry (credentials, a bucket's access documents) expires while
dozens of requests for the same key are in flight, each of them would otherwise read the
store (and open the sealed secret) again: a burst of identical reads every expiry. Here
the first miss starts the lookup and the others await its result.

Only for caches that already accept answers up to their TTL old: a waiter may get a
result read up to one lookup's duration before it asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Coalescer(Generic[K, V]):
    """One lookup in flight per key; every concurrent caller gets its result."""

    def __init__(self) -> None:
        self._inflight: dict[K, asyncio.Future[V]] = {}

    async def run(self, key: K, lookup: Callable[[], Awaitable[V]]) -> V:
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(lookup())
            self._inflight[key] = future
            future.add_done_callback(lambda done: self._done(key, done))
        # shield: a caller that goes away (client disconnect) must not cancel the lookup
        # the others are waiting for.
        return await asyncio.shield(future)

    def _done(self, key: K, future: asyncio.Future[V]) -> None:
        if self._inflight.get(key) is future:
            del self._inflight[key]
        if not future.cancelled():
            future.exception()  # retrieved: every waiter may have gone away

    def forget(self, key: K | None = None) -> None:
        """Let the next caller start a new lookup (a change made through this process)."""
        if key is None:
            self._inflight.clear()
        else:
            self._inflight.pop(key, None)
