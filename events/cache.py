"""Each bucket's notification rules, cached per process, so that the write path decides
"does this change cause an event" without a metadata round-trip.

As lifecycle/expiry.py's RulesCache: entries live CACHE_TTL seconds and a change on this
process voids its entry at once, so a configuration reaches the other replicas' write
paths within CACHE_TTL (the underlying get_bucket_config is itself cached in Redis when
there is one). A bucket without a configuration caches its absence too.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import gateway.xml.notification  # noqa: F401  (registers NotificationConfiguration's codec)
from events.config import NOTIFICATION, NotificationConfiguration, NotificationRule
from gateway.xml.codec import parse
from lifecycle.expiry import ConfigReader

CACHE_TTL = 1.0
CACHE_LIMIT = 4096


class NotificationCache:
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
        self._entries: dict[str, tuple[float, tuple[NotificationRule, ...]]] = {}

    async def get(self, bucket: str) -> tuple[NotificationRule, ...]:
        """The bucket's rules (empty without a configuration)."""
        now = self.monotonic()
        cached = self._entries.get(bucket)
        if cached is not None and cached[0] > now:
            return cached[1]
        document = await self.meta.get_bucket_config(bucket, NOTIFICATION)
        rules = load_rules(document)
        if len(self._entries) >= self.limit:
            self._entries.clear()
        self._entries[bucket] = (now + self.ttl, rules)
        return rules

    def forget(self, bucket: str) -> None:
        self._entries.pop(bucket, None)


def load_rules(document: str | None) -> tuple[NotificationRule, ...]:
    """The rules of a stored configuration document (its XML)."""
    if not document:
        return ()
    return parse(NotificationConfiguration, document.encode()).rules
