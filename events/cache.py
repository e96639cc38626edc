"""Each bucket's notification rules, cached per process, so that the write path decides
"does this change cause an event" without a metadata round-trip.

A BucketConfigCache (gateway/meta/config_cache.py), like lifecycle's RulesCache: entries
live CACHE_TTL seconds and a change on this process voids its entry at once, so a
configuration reaches the other replicas' write paths within CACHE_TTL (the underlying
get_bucket_config is itself cached in Redis when there is one). A bucket without a
configuration caches its absence too.
"""

from __future__ import annotations

import gateway.xml.notification  # noqa: F401  (registers NotificationConfiguration's codec)
from events.config import NOTIFICATION, NotificationConfiguration, NotificationRule
from gateway.meta.config_cache import BucketConfigCache
from gateway.xml.codec import parse


class NotificationCache(BucketConfigCache[tuple[NotificationRule, ...]]):
    """Each bucket's notification rules (empty without a configuration)."""

    name = NOTIFICATION

    def load(self, document: str | None) -> tuple[NotificationRule, ...]:
        """The rules of a stored configuration document (its XML)."""
        if not document:
            return ()
        return parse(NotificationConfiguration, document.encode()).rules
