"""Each bucket's notification rules, cached per process, so that the write path decides
"does this change cause an event" without a metadata round-trip.

A BucketConfigCache (gateway/meta/config_cache.py), like lifecycle's RulesCache: entries
live CACHE_TTL seconds and a change on this process voids its entry at once, so a
configuration reaches the other replicas' write paths within CACHE_TTL (the underlying
get_bucket_config is itself cached in Redis when there is one). A bucket without a
configuration caches its absence too.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import gateway.xml.notification  # noqa: F401  (registers NotificationConfiguration's codec)
from events.config import NOTIFICATION, NotificationConfiguration, NotificationRule
from gateway.meta.config_cache import CACHE_LIMIT, CACHE_TTL, BucketConfigCache, ConfigReader
from gateway.xml.codec import parse


class NotificationCache(BucketConfigCache[tuple[NotificationRule, ...]]):
    """Each bucket's notification rules (empty without a configuration)."""

    def __init__(
        self,
        meta: ConfigReader,
        *,
        ttl: float = CACHE_TTL,
        limit: int = CACHE_LIMIT,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(meta, NOTIFICATION, load_rules, ttl=ttl, limit=limit, monotonic=monotonic)


def load_rules(document: str | None) -> tuple[NotificationRule, ...]:
    """The rules of a stored configuration document (its XML)."""
    if not document:
        return ()
    return parse(NotificationConfiguration, document.encode()).rules
