"""Each bucket's replication rules, cached per process, so that the write path decides
"does a rule cover this change" without a metadata round-trip.

A BucketConfigCache (gateway/meta/config_cache.py), like the notification and lifecycle
rules: entries live CACHE_TTL seconds, a change on this process voids its entry at once,
and a bucket without a configuration caches its absence too.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import gateway.xml.replication  # noqa: F401  (registers ReplicationConfiguration's codec)
from gateway.meta.config_cache import CACHE_LIMIT, CACHE_TTL, BucketConfigCache, ConfigReader
from gateway.s3.replication import REPLICATION, ReplicationConfiguration, Rule
from gateway.xml.codec import parse


class ReplicationCache(BucketConfigCache[tuple[Rule, ...]]):
    """Each bucket's replication rules (empty without a configuration)."""

    def __init__(
        self,
        meta: ConfigReader,
        *,
        ttl: float = CACHE_TTL,
        limit: int = CACHE_LIMIT,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(meta, REPLICATION, load_rules, ttl=ttl, limit=limit, monotonic=monotonic)


def load_rules(document: str | None) -> tuple[Rule, ...]:
    """The rules of a stored configuration document (its XML)."""
    if not document:
        return ()
    return parse(ReplicationConfiguration, document.encode()).rules
