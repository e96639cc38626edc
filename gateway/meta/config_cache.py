"""A bucket configuration document per bucket, parsed, cached per process.

The write and read paths ask for a bucket's lifecycle rules (x-amz-expiration) and its
notification rules (does this change cause an event) on every request; a metadata lookup
each would double their cost. Entries live `ttl` seconds (the underlying
get_bucket_config is itself cached in Redis when there is one), a change made through
this process voids its entry at once (`forget`), and a bucket without the document caches
its absence too. `fresh=True` reads the store and refreshes the entry (the lifecycle
worker).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar, Generic, Protocol, TypeVar

T = TypeVar("T")

CACHE_TTL = 1.0
CACHE_LIMIT = 4096


class ConfigReader(Protocol):
    """What the cache needs of a MetaStore."""

    async def get_bucket_config(self, bucket: str, name: str) -> str | None: ...


class BucketConfigCache(ABC, Generic[T]):
    """Bucket -> `load(document)` of its configuration document `name`, for `ttl` seconds.
    A subclass names its document and says how to load it."""

    name: ClassVar[str]  # the document's name in get_bucket_config

    @abstractmethod
    def load(self, document: str | None) -> T:
        """The cached value of a stored document (None: the bucket has none)."""

    def __init__(
        self,
        meta: ConfigReader,
        *,
        ttl: float = CACHE_TTL,
        limit: int = CACHE_LIMIT,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.meta = meta
        self.ttl = ttl
        self.limit = limit
        self.monotonic = monotonic
        self._entries: dict[str, tuple[float, T]] = {}

    async def get(self, bucket: str, *, fresh: bool = False) -> T:
        now = self.monotonic()
        cached = None if fresh else self._entries.get(bucket)
        if cached is not None and cached[0] > now:
            return cached[1]
        value = self.load(await self.meta.get_bucket_config(bucket, self.name))
        if len(self._entries) >= self.limit:
            self._entries.clear()
        self._entries[bucket] = (now + self.ttl, value)
        return value

    def forget(self, bucket: str) -> None:
        """This process changed the document: read it again next time."""
        self._entries.pop(bucket, None)
