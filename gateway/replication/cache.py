"""Each bucket's replication rules, cached per process, so that the write path decides
"does a rule cover this change" without a metadata round-trip.

A BucketConfigCache (gateway/meta/config_cache.py), like the notification and lifecycle
rules: entries live CACHE_TTL seconds, a change on this process voids its entry at once,
and a bucket without a configuration caches its absence too.
"""

from __future__ import annotations

import gateway.xml.replication  # noqa: F401  (registers ReplicationConfiguration's codec)
from gateway.meta.config_cache import BucketConfigCache
from gateway.s3.replication import REPLICATION, ReplicationConfiguration, Rule
from gateway.xml.codec import parse


class ReplicationCache(BucketConfigCache[tuple[Rule, ...]]):
    """Each bucket's replication rules (empty without a configuration)."""

    name = REPLICATION

    def load(self, document: str | None) -> tuple[Rule, ...]:
        """The rules of a stored configuration document (its XML)."""
        if not document:
            return ()
        return parse(ReplicationConfiguration, document.encode()).rules
