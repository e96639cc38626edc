"""Buckets' website configurations per process, read as briefly as their access values.

The website endpoint reads a bucket's configuration on every request: like
gateway.access.AccessCache, an entry lives `ttl` seconds (0 with shared metadata, where
every replica reads the store and Redis keeps it coherent), is forgotten at once when
this process changes it (Put/DeleteBucketWebsite), and is never trusted for a bucket
record that changed (a bucket deleted and created again).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache

import gateway.xml.website  # noqa: F401  (registers WebsiteConfiguration's parser)
from gateway.meta.base import Bucket, MetaStore
from gateway.s3.website import WEBSITE, WebsiteConfiguration
from gateway.xml.codec import parse


@lru_cache(maxsize=1024)
def _parsed(document: str) -> WebsiteConfiguration:
    return parse(WebsiteConfiguration, document.encode())


class WebsiteCache:
    def __init__(
        self, meta: MetaStore, *, ttl: float = 0.5, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._meta = meta
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, Bucket, WebsiteConfiguration | None]] = {}

    async def get(self, bucket: Bucket) -> WebsiteConfiguration | None:
        now = self._clock()
        hit = self._entries.get(bucket.name)
        if hit is not None and now - hit[0] < self._ttl and hit[1] == bucket:
            return hit[2]
        document = await self._meta.get_bucket_config(bucket.name, WEBSITE)
        value = None if document is None else _parsed(document)
        if self._ttl > 0:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[bucket.name] = (now, bucket, value)
        return value

    def forget(self, bucket: str) -> None:
        self._entries.pop(bucket, None)
